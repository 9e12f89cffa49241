package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"dermal/internal/config"
	"dermal/internal/inference"
	"dermal/internal/locale"
	"dermal/internal/memory"
	"dermal/internal/version"
	"dermal/internal/watchdog"
)

// runDoctor is the old web app's /health and /memory pages for the command line: it checks
// each part and says what to do about what is wrong. Exit code 1 if anything is.
func runDoctor(env *Env, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: doctor takes no arguments", ErrUsage)
	}
	w := env.Stdout
	var problems []error
	ok := func(name, detail string) { fmt.Fprintf(w, "ok    %-14s %s\n", name, detail) }
	bad := func(name string, err error) {
		fmt.Fprintf(w, "FAIL  %-14s %v\n", name, err)
		problems = append(problems, fmt.Errorf("%s: %w", name, err))
	}
	ok("dermal", "version "+version.String())
	if path, ortVersion, err := inference.RuntimeInfo(env.ORTLib); err != nil {
		bad("onnxruntime", err)
	} else {
		ok("onnxruntime", fmt.Sprintf("version %s at %s", ortVersion, path))
	}
	m, err := env.Model()
	if err != nil {
		bad("model", err)
	} else {
		ok("model", fmt.Sprintf("%s %s, sha256 %s matches its card", m.Card.Name, m.Card.Version, m.Card.SHA256))
		eng := inference.NewEngine(m, inference.Options{LibraryPath: env.ORTLib, Threads: env.Threads})
		if err := eng.Load(); err != nil {
			bad("model session", err)
		} else {
			ok("model session", "loads and is ready")
		}
		if err := eng.Close(); err != nil {
			bad("model session", err)
		}
	}
	if s, err := memory.Read(); err != nil {
		bad("memory", err)
	} else {
		ok("memory", fmt.Sprintf("this process %d MB now, %d MB peak; system %d MB available of %d MB",
			s.RSS>>20, s.PeakRSS>>20, s.Available>>20, s.Total>>20))
	}
	if dir, err := config.DataDir(env.DataDir, ""); err != nil {
		bad("data folder", err)
	} else if st, err := os.Stat(dir); err == nil && st.IsDir() {
		if exposed := othersCanRead(dir); exposed != "" {
			bad("data folder", fmt.Errorf("%s: %s; the records hold patients' names and photos: chmod 700 the folder (and 600 the files), or move the records to a folder of your own", dir, exposed))
		} else {
			ok("data folder", dir+" (only its owner can read it)")
		}
	} else if err == nil {
		bad("data folder", fmt.Errorf("%s exists and is not a folder", dir))
	} else {
		ok("data folder", dir+" (not created yet; made when the first record is saved)")
	}
	if dir, err := config.DataDir(env.DataDir, ""); err == nil {
		state, how := config.VolumeEncryption(dir)
		line := state + ": " + how
		if state == config.VolumeUnencrypted {
			line += " — dermal.db (names, results and photos) is readable to anyone with the disk: put the data folder on an encrypted disk (LUKS, BitLocker)"
		}
		ok("disk encryption", line)
	}
	if err := locale.Check(); err != nil {
		bad("translations", err)
	} else {
		ok("translations", strings.Join(locale.Languages, ", "))
	}
	ok("memory budget", fmt.Sprintf("%d MB (default: min(400 MB, 25%% of RAM); the app's setting may differ)", env.Budget()/watchdog.MB))
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	return nil
}

// othersCanRead says what in the data folder other users of the computer can read or list ("" if
// nothing; always "" where the system has no such modes).
func othersCanRead(dir string) string {
	if runtime.GOOS == "windows" {
		return ""
	}
	var what []string
	if st, err := os.Stat(dir); err == nil && st.Mode().Perm()&0o077 != 0 {
		what = append(what, fmt.Sprintf("the folder's mode is %04o (others can list it)", st.Mode().Perm()))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "dermal.db*"))
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o044 != 0 {
			what = append(what, fmt.Sprintf("%s is %04o (others can read it)", filepath.Base(f), st.Mode().Perm()))
		}
	}
	return strings.Join(what, ", ")
}
