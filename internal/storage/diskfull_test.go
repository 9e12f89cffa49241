//go:build linux

package storage

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// With the data disk full, opening and saving say the disk is full — never "the database is
// damaged … restore a backup" (records-trust issue), which would send a clinic to overwrite
// good records. The disk is a 2 MiB tmpfs (needs root, as CI and make test run here).
func TestFullDiskIsNotCalledDamage(t *testing.T) {
	dir := t.TempDir()
	if err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).Run(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (not root?): %v", err)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	path := filepath.Join(dir, "dermal.db")
	s, err := Open(path, "t")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.AddPatient(ctx, Patient{Code: "F1", FullName: "Before the disk filled"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	filler, _ := os.Create(filepath.Join(dir, "filler"))
	buf := make([]byte, 64<<10)
	for {
		if _, err := filler.Write(buf); err != nil {
			break
		}
	}
	filler.Close()
	s, err = Open(path, "t")
	t.Logf("open on a full disk: %v", err)
	if err != nil {
		if errors.Is(err, ErrCorrupt) || !errors.Is(err, ErrDiskFull) {
			t.Fatalf("opening on a full disk: %v", err)
		}
		return
	}
	defer s.Close()
	_, err = s.AddPatient(ctx, Patient{Code: "F2", FullName: "A new patient on a full disk with a long enough name to need a new page"})
	t.Logf("save on a full disk: %v", err)
	if err != nil && (errors.Is(err, ErrCorrupt) || !errors.Is(err, ErrDiskFull)) {
		t.Fatalf("saving on a full disk: %v", err)
	}
	if err := s.Verify(); errors.Is(err, ErrCorrupt) {
		t.Fatalf("the start-up check on a full disk: %v", err)
	}
}
