// Command dermal is an offline skin-lesion triage and case-record app for clinics.
// With no arguments it opens the desktop app; with a command it runs the command line.
package main

import (
	"os"
	"runtime/pprof"

	"dermal/internal/cli"
	_ "dermal/internal/localeenv" // before Fyne reads the locale
)

func main() {
	g, args, err := cli.ParseGlobal(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(2)
	}
	if len(args) == 0 && !g.ShowVersion {
		os.Exit(runDesktop(g))
	}
	if path := os.Getenv("DERMAL_CPU_PROFILE"); path != "" {
		// Diagnosis of a slow command (see SCALE.md): its CPU profile, written when it ends.
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			code := cli.Run(g, args, os.Stdout, os.Stderr)
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	os.Exit(cli.Run(g, args, os.Stdout, os.Stderr))
}
