// Package testtool finds the programs some tests drive (Chromium, Xvfb, ImageMagick,
// poppler). A plain `go test ./...` on a machine without them skips those tests, naming
// `make test`, which installs them; `make test` and CI set DERMAL_REQUIRE_TOOLS=1, and there a
// missing tool fails the test instead of hiding it.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// RequireEnv is the variable `make test` sets.
const RequireEnv = "DERMAL_REQUIRE_TOOLS"

// Required reports whether a missing tool must fail the test.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Need returns the path of each tool, or ends the test: a failure under `make test`, a skip
// naming `make test` elsewhere.
func Need(t testing.TB, tools ...string) []string {
	t.Helper()
	var paths []string
	for _, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			if Required() {
				t.Fatalf("%s not found, and %s=1: `make test` installs it (scripts/deps.sh --test)", tool, RequireEnv)
			}
			t.Skipf("%s not installed: `make test` installs it and runs this test", tool)
		}
		paths = append(paths, p)
	}
	return paths
}
