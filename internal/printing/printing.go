// Package printing sends a finished PDF to the computer's printer through the system's own
// print path: CUPS's lp on Linux and macOS, the shell's "print" verb on Windows. Where there
// is none it says so (ErrNoPrintPath), and the caller opens the PDF instead. It also opens a
// PDF in the computer's viewer, and says so when there is none (ErrNoViewer) instead of
// failing without a word, as a plain "open this file" does.
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

// ErrNoViewer means no program on this computer opens PDF files.
var ErrNoViewer = errors.New("no program on this computer opens PDF files")

// Open opens the PDF at path in the computer's PDF viewer. It finds out first whether there is
// one (the desktop's association for PDF files): "open this file" with none fails in the
// background, where nobody sees it.
func Open(path string) error {
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("opening %s: not a file", path)
	}
	switch runtime.GOOS {
	case "windows":
		// assoc names the file type registered for .pdf; it fails when none is.
		if err := exec.Command("cmd", "/c", "assoc", ".pdf").Run(); err != nil {
			return ErrNoViewer
		}
		return exec.Command("rundll32", "url.dll,FileProtocolHandler", path).Start()
	case "darwin":
		if out, err := exec.Command("open", path).CombinedOutput(); err != nil {
			return fmt.Errorf("%w (%s)", ErrNoViewer, strings.TrimSpace(string(out)))
		}
		return nil
	}
	open, err := exec.LookPath("xdg-open")
	if err != nil {
		return ErrNoViewer
	}
	if mime, err := exec.LookPath("xdg-mime"); err == nil {
		out, err := exec.Command(mime, "query", "default", "application/pdf").Output()
		if err != nil || strings.TrimSpace(string(out)) == "" {
			return ErrNoViewer
		}
	}
	cmd := exec.Command(open, path)
	if err := cmd.Start(); err != nil {
		return ErrNoViewer
	}
	go cmd.Wait() // the viewer outlives the call; its exit is not this program's business
	return nil
}
