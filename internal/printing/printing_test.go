//go:build !windows

package printing

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// The clinic's day, item 10: with no PDF viewer, Open says so (the window then shows where the
// file is) instead of failing in the background; with one, it is started on the file.
func TestOpenSaysWhenThereIsNoViewer(t *testing.T) {
	dir := t.TempDir()
	pdf := filepath.Join(dir, "letter.pdf")
	os.WriteFile(pdf, []byte("%PDF-1.4"), 0o644)
	t.Setenv("PATH", t.TempDir())
	if err := Open(pdf); !errors.Is(err, ErrNoViewer) {
		t.Errorf("no xdg-open: %v", err)
	}
	bin := t.TempDir()
	t.Setenv("PATH", bin)
	log := filepath.Join(dir, "opened")
	os.WriteFile(filepath.Join(bin, "xdg-open"), []byte("#!/bin/sh\necho \"$@\" > "+log+"\n"), 0o755)
	os.WriteFile(filepath.Join(bin, "xdg-mime"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	if err := Open(pdf); !errors.Is(err, ErrNoViewer) {
		t.Errorf("no application for PDF files: %v", err)
	}
	os.WriteFile(filepath.Join(bin, "xdg-mime"), []byte("#!/bin/sh\necho org.gnome.Evince.desktop\n"), 0o755)
	if err := Open(pdf); err != nil {
		t.Fatalf("with a viewer: %v", err)
	}
	for range 50 {
		if b, _ := os.ReadFile(log); strings.Contains(string(b), pdf) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Error("xdg-open was not started on the PDF")
}
