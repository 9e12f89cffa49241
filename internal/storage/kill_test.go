package storage

import (
	"bufio"
	"context"
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
)

// The kill -9 fault test of setup, restore and backup (records-trust issue): a child does one of
// them in a loop and is killed with SIGKILL at a random moment, DERMAL_KILL_ROUNDS times each
// (make faults: 60); after each kill the next Open must give records that are whole (set up or
// not at all; the old records or the backup's, never none, never empty), with no plain copy
// left behind. Plain `go test` runs 5 rounds of each.

// killChild runs the loop named by DERMAL_KILL_CHILD ("setup", "restore" or "backup") on path.
func killChild(what, path string) {
	ctx := context.Background()
	fail := func(err error) {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	switch what {
	case "setup":
		s, err := Open(path, "kill-child")
		if err != nil {
			fail(err)
		}
		fmt.Println("READY")
		if _, err := s.SetUp(ctx, Setup{Profile: ClinicProfile{Name: "Trạm"}, RecoveryWrapped: "r", Admin: User{Name: "an", Role: "admin"}, Hash: "$argon2id$h", Wrapped: "w"}); err != nil {
			fail(err)
		}
		fmt.Println("DONE")
		time.Sleep(time.Hour)
	case "restore":
		backups := strings.Split(os.Getenv("DERMAL_KILL_BACKUPS"), ",")
		for i := 0; ; i++ {
			if _, err := Restore(backups[i%2], path); err != nil {
				fail(err)
			}
			fmt.Println("RESTORED", i%2)
		}
	case "backup":
		s, err := Open(path, "kill-child")
		if err != nil {
			fail(err)
		}
		for {
			f, err := PlainTemp(filepath.Dir(path), "backup")
			if err != nil {
				fail(err)
			}
			f.Close()
			os.Remove(f.Name())
			if err := s.Backup(ctx, f.Name()); err != nil {
				fail(err)
			}
			os.Remove(f.Name())
			fmt.Println("BACKED UP")
		}
	}
}

func killRounds() int {
	if n, err := strconv.Atoi(os.Getenv("DERMAL_KILL_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 5
}

// killAfter starts the child and kills it once it printed ready (if given) and a random time
// from minDelay to maxDelay passed; it returns the lines it printed (all of them: a line
// printed before the kill reports something done before it).
func killAfter(t *testing.T, rng *rand.Rand, env []string, ready string, minDelay, maxDelay time.Duration) []string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 4096)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var got []string
	if ready != "" {
		for l := range lines {
			got = append(got, l)
			if strings.HasPrefix(l, "ERR") {
				t.Fatalf("child: %s", l)
			}
			if l == ready {
				break
			}
		}
	}
	time.Sleep(minDelay + time.Duration(rng.Int63n(int64(maxDelay-minDelay))))
	cmd.Process.Signal(syscall.SIGKILL)
	for l := range lines {
		got = append(got, l)
	}
	cmd.Wait()
	for _, l := range got {
		if strings.HasPrefix(l, "ERR") {
			t.Fatalf("child: %s", l)
		}
	}
	return got
}

func noPlainLeftovers(t *testing.T, dir string) {
	t.Helper()
	for _, pat := range []string{".dermal-*.db", "*.restoring", "*.restore-journal*", ".*.restore-journal.tmp-*"} {
		if m, _ := filepath.Glob(filepath.Join(dir, pat)); len(m) > 0 {
			t.Fatalf("left behind after the next start: %v", m)
		}
	}
}

func TestKillDuringSetupRestoreAndBackup(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test skipped in -short mode")
	}
	rounds := killRounds()
	rng := rand.New(rand.NewSource(7))
	ctx := context.Background()
	t.Run("setup", func(t *testing.T) {
		done := 0
		for round := 0; round < rounds; round++ {
			path := filepath.Join(t.TempDir(), "dermal.db")
			lines := killAfter(t, rng, []string{"DERMAL_KILL_CHILD=setup", "DERMAL_KILL_PATH=" + path}, "READY", 0, 1500*time.Microsecond)
			s, err := Open(path, "checker")
			if err != nil {
				t.Fatalf("round %d: reopening: %v", round, err)
			}
			need, _ := s.NeedsSetup(ctx)
			users, _ := s.CountUsers(ctx)
			key, _ := s.RecoveryWrapped(ctx)
			reported := strings.Contains(strings.Join(lines, "\n"), "DONE")
			if need != (users == 0) || need != (key == "") || (reported && need) {
				t.Fatalf("round %d: half a setup: needs setup %v, %d accounts, recovery key %q, setup reported %v", round, need, users, key, reported)
			}
			if !need {
				done++
			}
			s.Close()
		}
		t.Logf("setup: %d kills, %d left set up and %d not at all, none half", rounds, done, rounds-done)
	})
	t.Run("restore", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "dermal.db")
		var backups []string
		for i, code := range []string{"A", "B"} {
			p := filepath.Join(t.TempDir(), "src.db")
			s, err := Open(p, "t")
			if err != nil {
				t.Fatal(err)
			}
			s.AddPatient(ctx, Patient{Code: code, FullName: "Backup " + code})
			b := filepath.Join(t.TempDir(), fmt.Sprintf("backup-%d.db", i))
			if err := s.Backup(ctx, b); err != nil {
				t.Fatal(err)
			}
			s.Close()
			backups = append(backups, b)
		}
		if _, err := Restore(backups[0], path); err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for round := 0; round < rounds; round++ {
			killAfter(t, rng, []string{"DERMAL_KILL_CHILD=restore", "DERMAL_KILL_PATH=" + path, "DERMAL_KILL_BACKUPS=" + strings.Join(backups, ",")}, "", 0, 300*time.Millisecond)
			s, err := Open(path, "checker")
			if err != nil {
				t.Fatalf("round %d: reopening: %v", round, err)
			}
			ps, _ := s.SearchPatients(ctx, "", 10)
			if len(ps) != 1 || (ps[0].Code != "A" && ps[0].Code != "B") {
				t.Fatalf("round %d: the records after the kill hold %v, not one backup's", round, ps)
			}
			seen[ps[0].Code]++
			s.Close()
			noPlainLeftovers(t, dir)
			// The kept copies pile up with every restore; the test keeps the folder small.
			kept, _ := filepath.Glob(path + ".before-restore-*")
			for _, k := range kept {
				os.Remove(k)
			}
		}
		t.Logf("restore: %d kills, the records whole after each (%d times backup A's, %d times B's), none missing", rounds, seen["A"], seen["B"])
	})
	t.Run("backup", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "dermal.db")
		s, err := Open(path, "t")
		if err != nil {
			t.Fatal(err)
		}
		s.AddPatient(ctx, Patient{Code: "K", FullName: "Kept"})
		s.Close()
		for round := 0; round < rounds; round++ {
			killAfter(t, rng, []string{"DERMAL_KILL_CHILD=backup", "DERMAL_KILL_PATH=" + path}, "", 0, 200*time.Millisecond)
			s, err := Open(path, "checker")
			if err != nil {
				t.Fatalf("round %d: reopening: %v", round, err)
			}
			if _, err := s.PatientByCode(ctx, "K"); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			s.Close()
			noPlainLeftovers(t, dir)
		}
		t.Logf("backup: %d kills, no plain copy left after the next start", rounds)
	})
}
