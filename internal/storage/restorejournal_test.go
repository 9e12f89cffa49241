package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A restore killed at any instant (records-trust issue: killed between its two renames, the
// next command made an empty database without accounts) is finished by the next Open: the
// records are the backup's once the journal was written, the old ones before it, never empty;
// the records replaced are kept; nothing is left behind.
func TestRestoreKilledAtEveryStepIsFinishedByTheNextOpen(t *testing.T) {
	for _, step := range []string{"copy half-written", "journal half-written", "journal written", "records moved aside"} {
		t.Run(step, func(t *testing.T) {
			s, path := openTemp(t)
			ctx := context.Background()
			if _, err := s.AddPatient(ctx, Patient{Code: "B1", FullName: "In the backup"}); err != nil {
				t.Fatal(err)
			}
			backup := filepath.Join(t.TempDir(), "backup.db")
			if err := s.Backup(ctx, backup); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AddPatient(ctx, Patient{Code: "A1", FullName: "After the backup"}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			switch step {
			case "copy half-written":
				b, _ := os.ReadFile(backup)
				os.WriteFile(restoringPath(path), b[:len(b)/2], 0o600)
			case "journal half-written":
				copyFile(backup, restoringPath(path))
				os.WriteFile(filepath.Join(filepath.Dir(path), "."+filepath.Base(journalPath(path))+".tmp-123"), []byte(`{"kept":`), 0o600)
			default:
				restoreHook = func(at string) {
					if at == step {
						panic("killed")
					}
				}
				func() {
					defer func() { recover() }()
					Restore(backup, path)
				}()
				restoreHook = nil
			}
			// The next command opens the records.
			s2, err := Open(path, "test")
			if err != nil {
				t.Fatalf("the next start: %v", err)
			}
			defer s2.Close()
			_, errB := s2.PatientByCode(ctx, "B1")
			_, errA := s2.PatientByCode(ctx, "A1")
			restored := step == "journal written" || step == "records moved aside"
			if errB != nil || restored != (errA != nil) {
				t.Errorf("after a kill at %q: the backup's patient %v, the later one %v (restore finished: %v)", step, errB, errA, restored)
			}
			for _, left := range append([]string{restoringPath(path), journalPath(path)}, journalTemps(path)...) {
				if _, err := os.Lstat(left); err == nil {
					t.Errorf("%s left behind", filepath.Base(left))
				}
			}
			kept, _ := filepath.Glob(path + ".before-restore-*")
			if restored && len(kept) != 1 {
				t.Errorf("the replaced records are not kept: %v", kept)
			}
		})
	}
}

// A data folder that has held records never gets new, empty records (open to anyone: no
// accounts) when the records file is gone: Open refuses, naming what it found.
func TestMissingRecordsAreNeverRecreatedEmpty(t *testing.T) {
	s, path := openTemp(t)
	s.Close()
	os.Remove(path)
	_, err := Open(path, "test")
	if !errors.Is(err, ErrRecordsMissing) {
		t.Fatalf("records file gone: %v", err)
	}
	if _, statErr := os.Lstat(path); statErr == nil {
		t.Error("an empty records file was created")
	}
	// A new folder starts records as before.
	fresh := filepath.Join(t.TempDir(), "dermal.db")
	s2, err := Open(fresh, "test")
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
}

// A backup that restore would refuse (here: records whose append-only trigger was dropped) is
// not written without a word: the backup fails, naming the difference, and leaves no file.
func TestBackupThatRestoreWouldRefuseIsNotWritten(t *testing.T) {
	s, _ := openTemp(t)
	if _, err := s.db.Exec(`DROP TRIGGER audit_no_delete`); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "backup.db")
	err := s.Backup(context.Background(), dest)
	if err == nil || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "audit_no_delete") {
		t.Errorf("backup of records without their trigger: %v", err)
	}
	if _, statErr := os.Lstat(dest); statErr == nil {
		t.Error("the refused backup was left on disk")
	}
}

// The records are their owner's alone whatever the folder's mode: a new database is 0600 in a
// 0755 folder (it was 0644: another OS user read the names), an existing 0644 one is made 0600
// at the next open, and a plain backup is 0600.
func TestRecordsAreReadableByTheirOwnerOnly(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX modes")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	path := filepath.Join(dir, "dermal.db")
	s, err := Open(path, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPatient(context.Background(), Patient{Code: "M1", FullName: "Mode"}); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "plain-backup.db")
	if err := s.Backup(context.Background(), backup); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, p := range []string{path, backup} {
		if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
			t.Errorf("%s is %04o", filepath.Base(p), st.Mode().Perm())
		}
	}
	os.Chmod(path, 0o644)
	s, err = Open(path, "test")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("an existing 0644 database is still %04o after opening", st.Mode().Perm())
	}
}
