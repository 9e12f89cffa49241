package backupset

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"dermal/internal/backupcrypt"
	"dermal/internal/sealbox"
	"dermal/internal/storage"
)

var testKey, _ = sealbox.KeyFrom(bytes.Repeat([]byte{9}, sealbox.KeySize))

var pass = backupcrypt.Key{Passphrase: "a long backup passphrase"}

func TestMain(m *testing.M) {
	backupcrypt.ScryptWorkFactor = 10
	if path := os.Getenv("DERMAL_BACKUPSET_CHILD"); path != "" {
		backupChild(path, os.Getenv("DERMAL_BACKUPSET_FOLDER"))
		return
	}
	os.Exit(m.Run())
}

func openRecords(t testing.TB, path string) *storage.Store {
	s, err := storage.Open(path, "test")
	if err != nil {
		t.Fatal(err)
	}
	s.SetDataKey(testKey)
	return s
}

// backupChild adds a patient with a photo and backs up into the folder, again and again,
// printing each complete run, until it is killed.
func backupChild(path, folder string) {
	s, err := storage.Open(path, "child")
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	s.SetDataKey(testKey)
	ctx := context.Background()
	for i := 0; ; i++ {
		code := fmt.Sprintf("C%d-%d", os.Getpid(), i)
		if _, err := s.AddPatient(ctx, storage.Patient{Code: code, FullName: "Vũ Thị " + code}); err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		r, err := Backup(ctx, s, folder, pass, testKey.Derive("backup index"))
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		fmt.Println("RUN", r.Run)
	}
}

// kill -9 during backups into a folder (records-trust fault benchmark; make faults runs 60
// rounds): after every kill the folder still restores, to the records of its newest
// complete run; the next backup cleans what the killed one left and adds its run; and no
// plain copy of the records is ever written, beside them or in the folder.
func TestKillDuringFolderBackup(t *testing.T) {
	rounds := 5
	if n, err := strconv.Atoi(os.Getenv("DERMAL_KILL_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "dermal.db")
	folder := filepath.Join(t.TempDir(), "backups")
	s := openRecords(t, path)
	for i := range 50 {
		s.AddPatient(context.Background(), storage.Patient{Code: fmt.Sprintf("B%03d", i), FullName: "Bùi Văn " + fmt.Sprint(i)})
	}
	if _, err := Backup(context.Background(), s, folder, pass, testKey.Derive("backup index")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	exe, _ := os.Executable()
	partials, runs := 0, 0
	for round := range rounds {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), "DERMAL_BACKUPSET_CHILD="+path, "DERMAL_BACKUPSET_FOLDER="+folder)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan []string)
		go func() {
			var lines []string
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines = append(lines, sc.Text())
			}
			done <- lines
		}()
		time.Sleep(time.Duration(rng.Int63n(int64(400 * time.Millisecond))))
		cmd.Process.Signal(syscall.SIGKILL)
		lines := <-done
		cmd.Wait()
		for _, l := range lines {
			if strings.HasPrefix(l, "ERR") {
				t.Fatalf("round %d: child: %s", round, l)
			}
			if strings.HasPrefix(l, "RUN") {
				runs++
			}
		}
		if m, _ := filepath.Glob(filepath.Join(folder, ".*.tmp-*")); len(m) > 0 {
			partials++
		}
		// The folder restores, to its newest complete run, whole.
		built := filepath.Join(t.TempDir(), "built.db")
		if _, err := Build(folder, "", built, pass); err != nil {
			t.Fatalf("round %d: the folder does not restore after the kill: %v", round, err)
		}
		b, err := storage.Open(built, "checker")
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if ps, _ := b.SearchPatients(context.Background(), "B0", 100); len(ps) != 50 {
			t.Fatalf("round %d: the restored records hold %d of the first 50 patients", round, len(ps))
		}
		b.Close()
		// No plain copy beside the records or in the folder.
		for _, d := range []string{dir, folder} {
			entries, _ := os.ReadDir(d)
			for _, e := range entries {
				if head, _ := os.ReadFile(filepath.Join(d, e.Name())); bytes.HasPrefix(head, []byte("SQLite format 3")) && e.Name() != "dermal.db" {
					t.Fatalf("round %d: a plain copy of the records: %s", round, e.Name())
				}
			}
		}
	}
	// The next backup cleans up and goes on.
	s = openRecords(t, path)
	defer s.Close()
	if _, err := Backup(context.Background(), s, folder, pass, testKey.Derive("backup index")); err != nil {
		t.Fatalf("the backup after the kills: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(folder, ".*.tmp-*")); len(m) > 0 {
		t.Errorf("left after the next backup: %v", m)
	}
	t.Logf("folder backup: %d kills (%d left a partial run), %d runs completed, the folder restored whole after each, no plain copy", rounds, partials, runs)
}

// A run's list is bound to its run and to the clinic's key: moved to another run, or read
// with another key, it is refused.
func TestListsAreBoundToTheirRunAndKey(t *testing.T) {
	dir := t.TempDir()
	s := openRecords(t, filepath.Join(dir, "dermal.db"))
	defer s.Close()
	folder := filepath.Join(t.TempDir(), "b")
	idx := testKey.Derive("backup index")
	for range 2 {
		s.AddPatient(context.Background(), storage.Patient{Code: "X" + hex.EncodeToString([]byte(time.Now().String()))[:8], FullName: "X"})
		if _, err := Backup(context.Background(), s, folder, pass, idx); err != nil {
			t.Fatal(err)
		}
	}
	runs, _ := Runs(folder)
	a, _ := os.ReadFile(filepath.Join(folder, runs[0]+namesExt))
	os.WriteFile(filepath.Join(folder, runs[1]+namesExt), a, 0o600)
	if _, err := held(folder, idx); err == nil || !strings.Contains(err.Error(), runs[1]) {
		t.Errorf("a list moved to another run: %v", err)
	}
	other, _ := sealbox.NewKey()
	if _, err := held(folder, other.Derive("backup index")); err == nil {
		t.Error("the lists were read with another clinic's key")
	}
}

// A daily backup into a folder reads only the chunks written since the folder's last run
// (their change tags say which), every seventh run reads every row again, a known-names file
// changed outside Dermal is not trusted, and the folder restores to the records every time.
func TestDailyBackupReadsOnlyWhatChanged(t *testing.T) {
	dir := t.TempDir()
	s := openRecords(t, filepath.Join(dir, "dermal.db"))
	defer s.Close()
	ctx := context.Background()
	folder := filepath.Join(t.TempDir(), "b")
	idx := testKey.Derive("backup index")
	// Set up, with an administrator: the clinic's profile, users and key are chunks that a
	// new patient does not change.
	if _, err := s.SetUp(ctx, storage.Setup{Profile: storage.ClinicProfile{Name: "Trạm"}, RecoveryWrapped: "r", Admin: storage.User{Name: "an", Role: "admin"}, Hash: "$argon2id$h", Wrapped: "w"}); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		s.AddPatient(ctx, storage.Patient{Code: fmt.Sprintf("D%03d", i), FullName: "Đặng Văn " + fmt.Sprint(i)})
	}
	var fullReads []int
	for i := range 9 {
		if i == 8 {
			// The known names changed by hand: refused, every row read.
			p := filepath.Join(folder, knownName)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte(" c-"), []byte(" c-0"), 1), 0o600)
		}
		if _, err := s.AddPatient(ctx, storage.Patient{Code: fmt.Sprintf("N%03d", i), FullName: "Ngô Thị " + fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		r, err := Backup(ctx, s, folder, pass, idx)
		if err != nil {
			t.Fatal(err)
		}
		st := r.Stats
		if st.Chunks < 5 {
			t.Fatalf("run %d: %d chunks", i, st.Chunks)
		}
		if st.ChunksRead == st.Chunks {
			fullReads = append(fullReads, i)
		} else if st.ChunksRead > 2 {
			t.Errorf("run %d read %d of %d chunks after one new patient; want the patients' and the audit's last", i, st.ChunksRead, st.Chunks)
		}
		built := filepath.Join(t.TempDir(), "built.db")
		if _, err := Build(folder, "", built, pass); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		b, err := storage.Open(built, "checker")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := b.SearchPatients(ctx, "N0", 100)
		b.Close()
		if len(got) != i+1 {
			t.Fatalf("run %d: the folder restores %d of the %d new patients", i, len(got), i+1)
		}
	}
	if fmt.Sprint(fullReads) != "[0 7 8]" {
		t.Errorf("runs that read every row: %v; want the first, the eighth (seven after it) and the one after the names were changed", fullReads)
	}
}
