//go:build !windows

package printing

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With lp on the PATH the PDF goes to it; a failing lp's message comes back; with no lp the
// caller is told there is no print path (and opens the PDF instead).
func TestPrintUsesLp(t *testing.T) {
	dir := t.TempDir()
	pdf := filepath.Join(dir, "letter.pdf")
	os.WriteFile(pdf, []byte("%PDF-1.4"), 0o644)
	log := filepath.Join(dir, "lp.log")
	lp := filepath.Join(dir, "lp")
	os.WriteFile(lp, []byte("#!/bin/sh\necho \"$@\" > "+log+"\n"), 0o755)
	t.Setenv("PATH", dir)
	if err := Print(pdf); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(log); !strings.Contains(string(got), pdf) {
		t.Errorf("lp got %q", got)
	}
	os.WriteFile(lp, []byte("#!/bin/sh\necho 'lp: Error - no default destination available.' >&2\nexit 1\n"), 0o755)
	if err := Print(pdf); err == nil || !strings.Contains(err.Error(), "no default destination") {
		t.Errorf("failing lp: %v", err)
	}
	t.Setenv("PATH", t.TempDir())
	if err := Print(pdf); !errors.Is(err, ErrNoPrintPath) {
		t.Errorf("no lp: %v", err)
	}
	if err := Print(filepath.Join(dir, "missing.pdf")); err == nil || errors.Is(err, ErrNoPrintPath) {
		t.Errorf("missing file: %v", err)
	}
}
