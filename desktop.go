package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/cli"
	"dermal/internal/clinic"
	"dermal/internal/config"
	"dermal/internal/memory"
	"dermal/internal/storage"
	"dermal/internal/ui"
	"dermal/internal/watchdog"
)

// installCrashLog sends the runtime's report of any fatal panic or error, in any goroutine,
// to dataDir/crash.log as well as to standard error.
func installCrashLog(dataDir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dataDir, "crash.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	if err := debug.SetCrashOutput(f, debug.CrashOptions{}); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// runDesktop opens the window and returns the exit code when it closes.
func runDesktop(g cli.Global) (code int) {
	a := app.NewWithID("org.dermal.app")
	prefs := ui.NewSettings(a.Preferences())
	ui.SetLanguage(prefs.Language())

	dataDir := g.DataDir
	if dataDir == "" {
		dataDir = prefs.DataDir()
	}
	if dataDir == "" {
		var err error
		if dataDir, err = config.DefaultDataDir(); err != nil {
			return fail(a, err)
		}
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fail(a, fmt.Errorf("creating the data folder %s: %w", dataDir, err))
	}
	log := openLog(dataDir)
	// A crash must leave a trace for whoever maintains the laptop: a panic in any goroutine
	// (an image decoder, a capture server, a timer) goes to crash.log through the runtime,
	// and one in this goroutine is also caught below.
	if f, err := installCrashLog(dataDir); err != nil {
		log.Error("crash log", "err", err)
	} else {
		defer f.Close()
	}
	defer func() {
		if r := recover(); r != nil {
			crash := filepath.Join(dataDir, "crash.log")
			msg := fmt.Sprintf("%s dermal crashed: %v\n%s\n", time.Now().Format(time.RFC3339), r, debug.Stack())
			f, _ := os.OpenFile(crash, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
			if f != nil {
				f.WriteString(msg)
				f.Close()
			}
			fmt.Fprint(os.Stderr, msg)
			code = 3
		}
	}()

	store, err := clinic.OpenStore(dataDir, actor())
	if err != nil {
		log.Error("opening the records", "err", err)
		return fail(a, err)
	}
	if g.Threads <= 1 {
		g.Threads = prefs.Threads()
	}
	eng, err := g.Engine()
	if err != nil {
		store.Close()
		return fail(a, err)
	}
	defer eng.Close()
	budget := config.Budget(g.MemoryBudgetMB, prefs.BudgetMB())
	debug.SetMemoryLimit(watchdog.GoHeapLimit(budget))
	guard := watchdog.NewGuard(watchdog.Policy{Budget: budget, Costs: watchdog.DefaultCosts}, eng, memory.Read, ui.IdleUnload(prefs), log)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go guard.Watch(ctx, 30*time.Second)

	c := clinic.New(eng, store, guard) // closes the records when the window is done
	defer c.Close()
	// --user with --password-file logs in at start (a kiosk set up by the IT volunteer, the
	// screenshots); otherwise the window opens at its login (or setup) screen.
	if g.User != "" {
		pw, err := cli.ReadSecretFile(g.PasswordFile)
		if err == nil {
			_, err = c.Login(context.Background(), g.User, pw)
		}
		if err != nil {
			log.Error("logging in at start", "user", g.User, "err", err)
			return fail(a, err)
		}
	}
	w := ui.New(a, c, prefs, log)
	if g.OpenPatient > 0 {
		w.OpenPatient(storage.PatientID(g.OpenPatient))
	}
	if g.OpenAssessment > 0 {
		w.OpenAssessment(storage.AssessmentID(g.OpenAssessment))
	}
	if g.NewAssessment > 0 {
		w.OpenNewAssessment(storage.PatientID(g.NewAssessment))
	}
	w.StartStatus(2 * time.Second)
	defer w.Stop()
	log.Info("started", "data", dataDir, "budget_mb", budget/watchdog.MB, "threads", g.Threads)
	if path := os.Getenv("DERMAL_HEAP_PROFILE"); path != "" {
		// Diagnosis of memory use at rest (see BENCHMARKS.md): a heap profile 10 s after start.
		time.AfterFunc(10*time.Second, func() { writeHeapProfile(path, log) })
	}
	a.Lifecycle().SetOnStarted(func() {
		fyne.Do(func() { fitToScreen(w.Window()) })
		if spec := os.Getenv("DERMAL_BENCH_ANALYSES"); spec != "" {
			// The window's memory benchmark (tools/bench -scale): analyses through the
			// window, then the idle unload, each step logged for the bench to read memory.
			go benchAnalyses(w, guard, spec, log)
		}
	})
	w.Window().ShowAndRun()
	log.Info("closed")
	return 0
}

func actor() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "dermal"
}

// openLog logs to dermal.log in the data folder and to standard error.
func openLog(dir string) *slog.Logger {
	var w io.Writer = os.Stderr
	if f, err := os.OpenFile(filepath.Join(dir, "dermal.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err == nil {
		w = io.MultiWriter(os.Stderr, f)
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// fail shows a start-up error in a window (a clinician may have started Dermal from a menu,
// with no terminal to read) and returns exit code 1.
func fail(a fyne.App, err error) int {
	fmt.Fprintln(os.Stderr, "dermal:", err)
	w := a.NewWindow("Dermal")
	msg := widget.NewLabel(lang.L("Dermal could not start.") + "\n\n" + err.Error())
	msg.Wrapping = fyne.TextWrapWord
	w.SetContent(container.NewPadded(msg))
	w.Resize(fyne.NewSize(560, 240))
	w.ShowAndRun()
	return 1
}

func writeHeapProfile(path string, log *slog.Logger) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	// Where the resident memory goes, beside the profile: the Go heap in use and held, and
	// what the runtime has from the system in all (the rest of the process is C: SQLite's
	// allocator, Mesa, ONNX Runtime).
	log.Info("memory", "heap_inuse_mb", m.HeapInuse>>20, "heap_idle_mb", m.HeapIdle>>20, "heap_released_mb", m.HeapReleased>>20,
		"go_sys_mb", m.Sys>>20, "stacks_mb", m.StackSys>>20)
	f, err := os.Create(path)
	if err != nil {
		log.Error("heap profile", "err", err)
		return
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		log.Error("heap profile", "err", err)
	}
}

// benchAnalyses runs the window benchmark's analyses: spec is "N:PHOTO" (patient 1, as
// tools/scaledata makes it). After them it logs "bench analysed", then unloads the model as
// the idle period would and logs "bench unloaded"; tools/bench reads the memory after each.
func benchAnalyses(w *ui.UI, guard *watchdog.Guard, spec string, log *slog.Logger) {
	time.Sleep(2 * time.Second) // the window drawn
	nText, path, ok := strings.Cut(spec, ":")
	n, err := strconv.Atoi(nText)
	if !ok || err != nil || n < 1 {
		log.Error("bench analyses", "err", fmt.Sprintf("DERMAL_BENCH_ANALYSES is %q; want N:PHOTO", spec))
		return
	}
	start := time.Now()
	if err := w.AnalysePhotos(1, path, n); err != nil {
		log.Error("bench analyses", "err", err)
		return
	}
	log.Info("bench analysed", "n", n, "took_ms", time.Since(start).Milliseconds())
	if _, err := guard.UnloadIfIdle(time.Now().Add(365 * 24 * time.Hour)); err != nil {
		log.Error("bench unload", "err", err)
		return
	}
	if path := os.Getenv("DERMAL_HEAP_PROFILE"); path != "" {
		// What the window holds after the analyses (SCALE.md's "where the memory goes").
		writeHeapProfile(path+".unloaded", log)
	}
	log.Info("bench unloaded")
}
