// Package version says which build of Dermal is running: the window's About, `dermal
// --version`, `dermal doctor`, every report and every audit row name it, so a result can be
// traced to the program that made it.
package version

import (
	"runtime/debug"
	"sync"
)

// stamped is set at link time by `make build` and `make dist` from `git describe`
// (-ldflags "-X dermal/internal/version.stamped=..."; scripts/version.sh; the Windows build of
// make dist sets it from a generated init instead, see scripts/dist.sh).
var stamped string

var (
	once   sync.Once
	cached string
)

// String is the version: the stamped one, else (go run, go test) "dev" plus the commit Go
// recorded in the binary, so an unstamped build is never mistaken for a release.
func String() string {
	once.Do(func() {
		cached = stamped
		if cached != "" {
			return
		}
		cached = "dev"
		info, ok := debug.ReadBuildInfo()
		if !ok {
			return
		}
		var rev, modified string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			cached += "+" + rev
			if modified == "true" {
				cached += "-dirty"
			}
		}
	})
	return cached
}
