// Command dermal is an offline skin-lesion triage and case-record app for clinics.
// With no arguments it opens the desktop app; with a command it runs the command line.
package main

import (
	"os"

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
	os.Exit(cli.Run(g, args, os.Stdout, os.Stderr))
}
