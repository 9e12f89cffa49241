// Package cli implements the `dermal` command line: classify, eval and doctor (inference),
// and the case-history commands. It holds no logic of its own beyond parsing, printing and
// exit codes; the work is done by inference/ (and clinic/ for stored cases).
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"dermal/internal/assets"
	"dermal/internal/config"
	"dermal/internal/inference"
	"dermal/internal/memory"
	"dermal/internal/version"
	"dermal/internal/watchdog"
)

// Global flags shared by every command.
type Global struct {
	ORTLib    string
	Threads   int
	ModelPath string // development: score another .onnx (with --card)
	CardPath  string
	DataDir   string
	// MemoryBudgetMB overrides the memory budget (0: settings, else min(400 MB, 25% of RAM)).
	MemoryBudgetMB int
	// OpenAssessment opens the desktop app at this saved assessment (0: the patient list).
	OpenAssessment int64
	// OpenPatient opens the desktop app at this patient (record id; 0: the worklist).
	OpenPatient int64
	// NewAssessment opens the desktop app on a new assessment for this patient (record id).
	NewAssessment int64
	// User and PasswordFile log a command that reads or writes records in, once the clinic
	// has staff accounts (the password from the file, else asked on the terminal).
	User         string
	PasswordFile string
	// ShowVersion: print the version and stop (--version).
	ShowVersion bool
}

// Env is where a command writes, and the parsed global flags.
type Env struct {
	Global
	Stdout io.Writer
	Stderr io.Writer
}

// CommandGoHeapLimit is the Go soft memory limit for command-line use (see Run).
const CommandGoHeapLimit = 48 << 20

// ErrUsage marks a command-line mistake (exit code 2).
var ErrUsage = errors.New("usage")

// Commands lists the subcommands with their one-line help.
var commands = []struct {
	name, help string
	run        func(env *Env, args []string) error
}{
	{"classify", "classify photos: dermal classify [--json] [--gradcam OUT.png] [--class CODE] IMAGE...", runClassify},
	{"eval", "score labelled photos: dermal eval --labels CSV [--split NAME] [--json] DIR", runEval},
	{"doctor", "check the installation: ONNX Runtime, model, memory, data folder", runDoctor},
	{"patients", "patients add --name NAME --code CODE [--sex F|M] [--birth-year YYYY] [--phone P] | list | search QUERY | delete [--hard] ID | undelete ID", runPatients},
	{"assess", "analyse and store: dermal assess [--json] --patient ID_OR_CODE [--site SITE | --lesion ID] IMAGE", runAssess},
	{"history", "a patient's assessments: dermal history [--json] ID_OR_CODE", runHistory},
	{"import", "patients (and their old photos with their dates) from a CSV file, one login, all checked first: dermal import [--dry-run] FILE.csv", runImport},
	{"followups", "the worklist: follow-ups overdue, due today and soon, and referrals awaiting their outcome: dermal followups [--json] [--within DAYS] [--limit N] [--after NEXT]", runFollowups},
	{"outcome", "record a referral's outcome: dermal outcome --assessment ID --diagnosis TEXT [--source specialist|histology] [--date YYYY-MM-DD]", runOutcome},
	{"report", "case report PDF: dermal report --assessment ID [--history] [--lang en|vi] [--clinic NAME] -o FILE.pdf; referral letter: dermal report --assessment ID --referral --to NAME [--reason TEXT] -o FILE.pdf", runReport},
	{"export", "a referral as DICOM files (the photo, the letter, the result) for a USB stick or a hospital's PACS: dermal export --dicom DIR --assessment ID [--lang en|vi]", runExport},
	{"hub", "teleconsultation through the district hub: dermal hub set --url URL --user NAME --password-file F [--ca-cert FILE] | status [--json] | sync [--json] | queue --assessment ID | inbox [--json] | reply --study UID --diagnosis TEXT [--advice TEXT] [--see-within DAYS]", runHub},
	{"audit", "check the hash-chained audit trail: dermal audit verify", runAudit},
	{"verify", "check the records for changes made outside Dermal (schema, audit trail and its seals, every record's seal): dermal verify", runVerify},
	{"setup", "first run: the clinic and its first administrator: dermal setup --clinic NAME --admin USER --password-file F", runSetup},
	{"users", "staff accounts (administrators): dermal users add|list|disable|enable|passwd", runUsers},
	{"clinic", "the clinic's name, address and phone for reports: dermal clinic [--name NAME] [--address ADDRESS] [--phone PHONE]", runClinic},
	{"backup", "encrypted (age) backup of the records, also while the app runs: dermal backup [--passphrase-file F | --recipient AGE1… | --unencrypted] FILE|FOLDER/ (into a folder: the first time everything, then only what changed)", runBackup},
	{"restore", "decrypt and check a backup (a file, or a backup folder's newest run) and put it in place, keeping the current database: dermal restore [--passphrase-file F | --identity FILE] FILE|FOLDER", runRestore},
}

// ParseGlobal reads global flags before the command name. It returns the remaining args.
func ParseGlobal(args []string, stderr io.Writer) (Global, []string, error) {
	var g Global
	fs := flag.NewFlagSet("dermal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&g.ORTLib, "ort-lib", "", "path to the ONNX Runtime library (default: next to the program, or lib/)")
	fs.IntVar(&g.Threads, "threads", 1, "inference threads")
	fs.StringVar(&g.ModelPath, "model", "", "use this .onnx model instead of the built-in one (needs --card)")
	fs.StringVar(&g.CardPath, "card", "", "model card JSON for --model")
	fs.StringVar(&g.DataDir, "data", "", "data folder (default: the user's data folder)")
	fs.Int64Var(&g.OpenAssessment, "open", 0, "desktop app: open this assessment at start")
	fs.Int64Var(&g.OpenPatient, "open-patient", 0, "desktop app: open this patient (record id) at start")
	fs.Int64Var(&g.NewAssessment, "new-assessment", 0, "desktop app: open a new assessment for this patient (record id) at start, after the login")
	fs.IntVar(&g.MemoryBudgetMB, "memory-budget", 0, "memory budget in MB (default: the setting, else min(400, 25% of RAM))")
	fs.BoolVar(&g.ShowVersion, "version", false, "print Dermal's version and exit")
	fs.StringVar(&g.User, "user", "", "the staff account a records command runs as (once the clinic is set up)")
	fs.StringVar(&g.PasswordFile, "password-file", "", "read --user's password from this file (only its owner may read it); default: ask on the terminal")
	fs.Usage = func() { usage(stderr, fs) }
	if err := fs.Parse(args); err != nil {
		return g, nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	return g, fs.Args(), nil
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: dermal [global flags] [command] [flags]\n\nWith no command, dermal opens the desktop app.\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.help)
	}
	fmt.Fprintln(w, "\nglobal flags:")
	fs.PrintDefaults()
}

// Run executes a command line (without the program name) and returns the exit code:
// 0 success, 1 a command failed (or some inputs failed), 2 usage error.
func Run(g Global, args []string, stdout, stderr io.Writer) int {
	env := &Env{Global: g, Stdout: stdout, Stderr: stderr}
	// Commands handle one photo at a time, and their live Go heap stays under ~30 MB; a tight
	// soft limit makes the GC return the full-size decode of a phone photo before the analysis
	// allocates. Measured, 12 MP JPEG with Grad-CAM: peak RSS 145 MB without, 113 MB with.
	debug.SetMemoryLimit(CommandGoHeapLimit)
	if g.ShowVersion {
		fmt.Fprintln(stdout, "Dermal", version.String())
		return 0
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "dermal: no command")
		return 2
	}
	for _, c := range commands {
		if c.name == args[0] {
			rest := args[1:]
			// --user and --password-file may follow the command name too, except where the
			// command has its own: setup's first administrator, and hub set's login on the
			// hub (the staff login then goes before the command name).
			if c.name != "setup" && !(c.name == "hub" && len(rest) > 0 && rest[0] == "set") {
				rest = env.takeLogin(rest)
			}
			err := c.run(env, rest)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, ErrUsage):
				fmt.Fprintln(stderr, "dermal "+c.name+":", err)
				return 2
			default:
				fmt.Fprintln(stderr, "dermal "+c.name+":", err)
				return 1
			}
		}
	}
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	fmt.Fprintf(stderr, "dermal: unknown command %q (commands: %s)\n", args[0], strings.Join(names, ", "))
	return 2
}

// takeLogin moves --user and --password-file from a command's arguments into the global
// flags (scripts write them after the command: dermal history --user mai BN-1).
func (env *Env) takeLogin(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || (name != "user" && name != "password-file") {
			out = append(out, a)
			continue
		}
		if !hasValue && i+1 < len(args) {
			i++
			value = args[i]
		}
		if name == "user" {
			env.User = value
		} else {
			env.PasswordFile = value
		}
	}
	return out
}

// Model returns the model to use: the built-in one, or --model with --card.
func (g Global) Model() (inference.Model, error) {
	if g.ModelPath != "" || g.CardPath != "" {
		if g.ModelPath == "" || g.CardPath == "" {
			return inference.Model{}, fmt.Errorf("%w: --model and --card go together", ErrUsage)
		}
		m, err := inference.LoadModelFiles(g.CardPath, g.ModelPath)
		if err != nil {
			return m, err
		}
		return m, assets.CheckNotPosingAsShipped(m.Card)
	}
	return inference.LoadModelDeferred(assets.ModelCardJSON, assets.ModelONNX, assets.OODSubspace)
}

// Budget is the memory budget of a command: --memory-budget, else the default for this
// computer's memory.
func (g Global) Budget() uint64 { return config.Budget(g.MemoryBudgetMB, 0) }

// guard is the memory watchdog of a command: one decode or analysis at a time within the
// budget. The Go heap limit stays the command's own (CommandGoHeapLimit).
func (g Global) guard(eng *inference.Engine) *watchdog.Guard {
	return watchdog.NewGuard(watchdog.Policy{Budget: g.Budget(), Costs: watchdog.DefaultCosts}, eng, memory.Read, 0,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// Engine builds the inference engine for the chosen model.
func (g Global) Engine() (*inference.Engine, error) {
	m, err := g.Model()
	if err != nil {
		return nil, err
	}
	return inference.NewEngine(m, inference.Options{LibraryPath: g.ORTLib, Threads: g.Threads}), nil
}

func isTerminal(f io.Writer) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
