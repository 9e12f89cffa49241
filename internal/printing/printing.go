// Package printing sends a finished PDF to the computer's printer through the system's own
// print path: CUPS's lp on Linux and macOS, the shell's "print" verb on Windows. Where there
// is none it says so (ErrNoPrintPath), and the caller opens the PDF instead.
package printing

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// ErrNoPrintPath means this computer has no print command Dermal knows.
var ErrNoPrintPath = errors.New("no print command on this computer")

// command is the print command for path on this system, or nil.
func command(path string) *exec.Cmd {
	if runtime.GOOS == "windows" {
		ps, err := exec.LookPath("powershell.exe")
		if err != nil {
			return nil
		}
		// The default PDF viewer's print verb: what "Print" in Explorer's menu does.
		quoted := "'" + strings.ReplaceAll(path, "'", "''") + "'"
		return exec.Command(ps, "-NoProfile", "-NonInteractive", "-Command", "Start-Process -FilePath "+quoted+" -Verb Print")
	}
	lp, err := exec.LookPath("lp")
	if err != nil {
		return nil
	}
	return exec.Command(lp, "--", path)
}

// Print sends the PDF at path to the default printer and waits for the system to take it.
func Print(path string) error {
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("printing %s: not a file", path)
	}
	cmd := command(path)
	if cmd == nil {
		return ErrNoPrintPath
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("printing %s: %s", path, msg)
	}
	return nil
}
