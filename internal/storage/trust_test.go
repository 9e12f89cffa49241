package storage

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// holdChild opens the records and keeps them open until its standard input closes: another
// Dermal process (the desktop app) for the restore tests.
func holdChild(path string) {
	s, err := Open(path, "holder")
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	fmt.Println("OPEN")
	bufio.NewReader(os.Stdin).ReadString('\n')
	s.Close()
}

func addN(t *testing.T, s *Store, prefix string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := s.AddPatient(context.Background(), Patient{Code: fmt.Sprintf("%s%d", prefix, i), FullName: "Người Bệnh " + prefix}); err != nil {
			t.Fatal(err)
		}
	}
}

func backupOf(t *testing.T, s *Store) string {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "backup.db")
	if err := s.Backup(context.Background(), dest); err != nil {
		t.Fatal(err)
	}
	return dest
}

// Item 3: a restore under an open store would rename the file it writes into.
func TestRestoreIsRefusedWhileTheRecordsAreOpen(t *testing.T) {
	s, path := openTemp(t)
	addN(t, s, "R", 1)
	backup := backupOf(t, s)
	if _, err := Restore(backup, path); !errors.Is(err, ErrBusy) {
		t.Fatalf("restore under an open store in this process: %v", err)
	}
	s.Close()

	exe, _ := os.Executable()
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "DERMAL_HOLD_CHILD="+path)
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "OPEN" {
		t.Fatalf("holder: %q", line)
	}
	_, err := Restore(backup, path)
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", cmd.Process.Pid)) {
		t.Errorf("restore while process %d holds the records: %v", cmd.Process.Pid, err)
	}
	if kept, _ := filepath.Glob(path + ".before-restore-*"); len(kept) != 0 {
		t.Errorf("a refused restore moved the records: %v", kept)
	}
	stdin.Close()
	cmd.Wait()
	if _, err := Restore(backup, path); err != nil {
		t.Errorf("restore once the holder closed: %v", err)
	}
}

// Item 6: a file with Dermal's table names but another schema is refused, whole.
func TestRestoreComparesTheWholeSchema(t *testing.T) {
	s, path := openTemp(t)
	addN(t, s, "S", 2)
	good := backupOf(t, s)
	s.Close()

	lookalike := filepath.Join(t.TempDir(), "lookalike.db")
	db, err := sql.Open("sqlite", "file:"+lookalike)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`CREATE TABLE patients (id INTEGER PRIMARY KEY, name TEXT)`, `CREATE TABLE audit (x)`,
		`CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, data BLOB)`, `CREATE TABLE lesions (id)`, `CREATE TABLE assessments (id)`,
		fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations))} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	// A real backup with one column added behind Dermal's back.
	altered := filepath.Join(t.TempDir(), "altered.db")
	if err := copyFile(good, altered); err != nil {
		t.Fatal(err)
	}
	db, _ = sql.Open("sqlite", "file:"+altered)
	if _, err := db.Exec(`ALTER TABLE patients ADD COLUMN evil TEXT`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	before, _ := os.ReadFile(path)
	for name, f := range map[string]string{"same table names": lookalike, "an extra column": altered} {
		if _, err := Restore(f, path); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "differ from Dermal's") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("a refused restore changed the records")
	}
	if _, err := Restore(good, path); err != nil {
		t.Errorf("the real backup: %v", err)
	}
}

// tmpfs mounts a small file system (root only: CI and `make test` run as root here).
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes a file until the disk is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			t.Fatal(err)
		}
	}
	f.Close()
	return name
}

// Item 6: a backup that fails leaves nothing behind, so a retry works; a backup that is
// complete but whose audit row cannot be written says so, as a warning, not as a failure.
func TestBackupToAFullDisk(t *testing.T) {
	s, _ := openTemp(t)
	addN(t, s, "F", 20)
	usb := tmpfs(t, "256k")
	filler := fill(t, usb)
	dest := filepath.Join(usb, "backup.db")
	err := s.Backup(context.Background(), dest)
	if err == nil || !strings.Contains(err.Error(), "full") {
		t.Fatalf("backup to a full stick: %v", err)
	}
	if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed backup left %s behind: %v", dest, err)
	}
	os.Remove(filler)
	if err := s.Backup(context.Background(), dest); err != nil {
		t.Fatalf("retry after freeing space: %v", err)
	}

	// The records' own disk is full: the copy elsewhere is complete, the audit row is not.
	home := tmpfs(t, "2m")
	r, err := Open(filepath.Join(home, "dermal.db"), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	addN(t, r, "H", 5)
	fill(t, home)
	dest2 := filepath.Join(t.TempDir(), "backup.db")
	err = r.Backup(context.Background(), dest2)
	var noAudit *AuditNotRecordedError
	if !errors.As(err, &noAudit) {
		t.Fatalf("backup while the records' disk is full: %v", err)
	}
	if err := checkBackup(dest2); err != nil {
		t.Errorf("the backup reported complete is not: %v", err)
	}
}

// Item 7: writers in several processes (here: connections of separate stores, as separate
// processes have) never fail with SQLITE_BUSY, and opening beside them never reports damage.
func TestParallelWritersAndOpensNeverFail(t *testing.T) {
	if testing.Short() {
		t.Skip("parallel writers skipped in -short mode")
	}
	_, path := openTemp(t)
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				s, err := Open(path, "w")
				if err != nil {
					errs <- fmt.Errorf("open %d/%d: %w", w, i, err)
					continue
				}
				ctx := context.Background()
				id, err := s.AddPatient(ctx, Patient{Code: fmt.Sprintf("W%d-%d", w, i), FullName: "Song Song"})
				if err == nil {
					err = s.UpdatePatient(ctx, Patient{ID: id, Code: fmt.Sprintf("W%d-%d", w, i), FullName: "Song Song Hai"})
				}
				if err != nil {
					errs <- fmt.Errorf("write %d/%d: %w", w, i, err)
				}
				s.Close()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 5 {
			t.Error(err)
		}
	}
	if n > 0 {
		t.Errorf("%d of 240 open-and-write rounds failed", n)
	}
}

// Item 8: integrity_check, not quick_check: a damaged index entry is found at start-up.
func TestIndexDamageIsFound(t *testing.T) {
	s, path := openTemp(t)
	if _, err := s.AddPatient(context.Background(), Patient{Code: "IX-1", FullName: "Binh Bao"}); err != nil {
		t.Fatal(err)
	}
	var root int
	s.db.QueryRow(`SELECT rootpage FROM sqlite_schema WHERE name = 'patients_search'`).Scan(&root)
	var pageSize int
	s.db.QueryRow(`PRAGMA page_size`).Scan(&pageSize)
	s.Close() // checkpoints the WAL into the file
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := data[(root-1)*pageSize : root*pageSize]
	i := strings.Index(string(page), "binh bao")
	if i < 0 {
		t.Fatal("search key not found in its index page")
	}
	page[i] = 'x' // the index now says "xinh bao"; the table still says "binh bao"
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path, "test")
	if err == nil {
		err = s2.Verify()
		defer s2.Close()
	}
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "patients_search") {
		t.Errorf("damaged index: %v", err)
	}
}

// Item 8: a read-only data folder is said to be read-only, not damaged.
func TestReadOnlyFolderIsNamedAsSuch(t *testing.T) {
	s, path := openTemp(t)
	addN(t, s, "RO", 1)
	s.Close()
	dir := filepath.Dir(path)
	os.Chmod(path, 0o444)
	os.Chmod(dir, 0o555)
	defer os.Chmod(dir, 0o700)
	var msg string
	if os.Geteuid() != 0 {
		_, err := Open(path, "test")
		if err != nil {
			msg = err.Error()
		}
	} else {
		// Root may write anywhere: open as an ordinary user, from a copy of this test binary
		// that user can run.
		exe, _ := os.Executable()
		bin := filepath.Join(os.TempDir(), fmt.Sprintf("dermal-ro-test-%d", os.Getpid()))
		if err := copyFile(exe, bin); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(bin)
		os.Chmod(bin, 0o755)
		os.Chmod(filepath.Dir(dir), 0o755) // t.TempDir's parent
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = append(os.Environ(), "DERMAL_OPEN_CHILD="+path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, _ := cmd.CombinedOutput()
		msg = string(out)
	}
	if !strings.Contains(msg, "cannot be written") || strings.Contains(msg, "damaged") {
		t.Errorf("opening records in a read-only folder: %q", msg)
	}
}

// openChild opens the records and prints the error (the read-only test's ordinary user).
func openChild(path string) {
	s, err := Open(path, "child")
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	s.Close()
	fmt.Println("OK")
}

// Codes that look identical are one code (records-trust issue: accepted as new patients): a
// U+2010 hyphen, a Cyrillic В, full width; letters that draw nothing are refused outright.
func TestLookAlikeCodesAreOneCode(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if _, err := s.AddPatient(ctx, Patient{Code: "BN-0142", FullName: "Nguyễn Thị Hồng"}); err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"BN\u20100142", "\u0412N-0142", "ＢＮ-０１４２", "bn-O142"} {
		if _, err := s.AddPatient(ctx, Patient{Code: code, FullName: "Someone Else"}); !errors.Is(err, ErrDuplicateCode) {
			t.Errorf("%q (%U) taken as a new code: %v", code, []rune(code), err)
		}
	}
	for _, code := range []string{"BN-0142\u3164", "\u2800BN-0142", "BN\u115F-0142"} {
		if _, err := s.AddPatient(ctx, Patient{Code: code, FullName: "Someone Else"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q with a blank letter: %v", code, err)
		}
	}
	if p, err := s.PatientByCode(ctx, "\u0412N\u20100142"); err != nil || p.Code != "BN-0142" {
		t.Errorf("looking up by a look-alike code: %+v %v", p, err)
	}
}
