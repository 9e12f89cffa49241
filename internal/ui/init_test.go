package ui

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// The window's package draws nothing when the program starts: every command of the command
// line links it, and a window that shows no body map should not hold one. Drawing the body
// figure at start cost each command 22-31 ms and the window 0.9 MB of heap. Go's inittrace
// reports what each package's initialisation allocated; this runs the test binary again with
// it on.
func TestStartingDrawsNothing(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	m := regexp.MustCompile(`init dermal/internal/ui @[0-9.]+ ms, [0-9.]+ ms clock, ([0-9]+) bytes`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no inittrace line for dermal/internal/ui in:\n%s", out)
	}
	// A few small values are fine; a picture is not (the figure alone is 942,000 bytes).
	if b, _ := strconv.Atoi(string(m[1])); b > 64<<10 {
		t.Errorf("initialising the window's package allocated %d bytes; draw pictures when they are first shown", b)
	}
}
