// Package localeenv makes the process's locale environment readable by fyne/lang before Fyne's
// package initialisation reads it. On machines set to the "C" locale (LANG=C.UTF-8 is common on
// servers and minimal installs) Fyne logs "Error parsing user locale C" on every start, also
// for command-line use. Imported blank by main: Go initialises "dermal/..." packages with no
// dependencies before "fyne.io/...", so this runs first.
package localeenv

import (
	"os"
	"strings"
)

func init() { Fix() }

// Fix sets LANGUAGE=en when the effective locale is C/POSIX and no language is chosen, and
// turns a bare "C"/"POSIX" (which makes gettext-style readers ignore LANGUAGE) into C.UTF-8.
// Dermal's own language setting later overrides LANGUAGE.
func Fix() {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		val := os.Getenv(v)
		if val == "" {
			continue
		}
		if val == "C" || val == "POSIX" {
			os.Setenv(v, "C.UTF-8")
			val = "C.UTF-8"
		}
		if strings.HasPrefix(val, "C.") || strings.HasPrefix(val, "POSIX.") {
			if os.Getenv("LANGUAGE") == "" {
				os.Setenv("LANGUAGE", "en")
			}
		}
		return
	}
	if os.Getenv("LANGUAGE") == "" {
		os.Setenv("LANGUAGE", "en")
	}
}
