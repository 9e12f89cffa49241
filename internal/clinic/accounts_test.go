package clinic_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"dermal/internal/accounts"
	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
)

var cheap = accounts.Params{MemoryKiB: 1024, Time: 1, Threads: 1}

// Setup makes the first admin; wrong passwords are refused and, after three, make the next
// try wait; a clinician cannot restore, merge, delete for good or manage accounts; changes are
// recorded under the user who logged in, and assessments name their clinician.
func TestAccountsAndRoles(t *testing.T) {
	c := clinictest.New(t)
	c.SetHashParams(cheap)
	ctx := context.Background()
	if need, _ := c.NeedsSetup(ctx); !need {
		t.Fatal("new records do not need setup")
	}
	if _, err := c.Setup(ctx, clinic.ClinicProfile{Name: "Trạm Y tế"}, "admin", "Lê Văn An", "short"); !errors.Is(err, clinic.ErrInvalid) {
		t.Errorf("a 5-character admin password: %v", err)
	}
	if _, err := c.Setup(ctx, clinic.ClinicProfile{Name: "Trạm Y tế"}, "admin", "Lê Văn An", "admin password"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Setup(ctx, clinic.ClinicProfile{Name: "Other"}, "x", "", "another password"); !errors.Is(err, clinic.ErrAlreadySetUp) {
		t.Errorf("second setup: %v", err)
	}
	// Before anyone logs in, an admin's action is refused.
	if err := c.AddUser(ctx, "mai", "Trần Thị Mai", clinic.RoleClinician, "clinician password"); !errors.Is(err, clinic.ErrNotAllowed) {
		t.Errorf("adding a user with nobody logged in: %v", err)
	}
	for i := 0; i < 3; i++ {
		if _, err := c.Login(ctx, "admin", "wrong password"); !errors.Is(err, clinic.ErrLogin) {
			t.Fatalf("wrong password %d: %v", i, err)
		}
	}
	if _, err := c.Login(ctx, "admin", "wrong password"); !errors.Is(err, clinic.ErrLogin) {
		t.Fatalf("fourth wrong password: %v", err)
	}
	var wait *clinic.LoginDelayError
	if _, err := c.Login(ctx, "admin", "admin password"); !errors.As(err, &wait) || wait.Wait <= 0 {
		t.Fatalf("after four wrong passwords the right one is let in at once: %v", err)
	}
	if _, err := c.Login(ctx, "nobody", "whatever it is"); !errors.Is(err, clinic.ErrLogin) {
		t.Errorf("unknown user: %v", err)
	}

	// A fresh clinic on the same records, after the wait has passed: simulate by a new admin
	// made through setup on other records instead of sleeping.
	c2 := clinictest.New(t)
	c2.SetHashParams(cheap)
	c2.Setup(ctx, clinic.ClinicProfile{Name: "Trạm"}, "admin", "Lê Văn An", "admin password")
	if _, err := c2.Login(ctx, "admin", "admin password"); err != nil {
		t.Fatal(err)
	}
	if err := c2.AddUser(ctx, "mai", "Trần Thị Mai", clinic.RoleClinician, "clinician password"); err != nil {
		t.Fatal(err)
	}
	if err := c2.AddUser(ctx, "ba", "", "nurse", "some password"); !errors.Is(err, clinic.ErrInvalid) {
		t.Errorf("role nurse: %v", err)
	}
	if _, err := c2.Login(ctx, "mai", "clinician password"); err != nil {
		t.Fatal(err)
	}
	p := clinictest.Patient(t, c2, "P1", "Đỗ Thị Hà")
	r, err := c2.Assess(ctx, p.ID, 0, "back", clinictest.Photo(t, "ISIC_0024311.png"), clinic.Examination{}, clinic.Findings{})
	if err != nil {
		t.Fatal(err)
	}
	if e, _, _ := c2.Entry(ctx, r.AssessmentID); e.Assessment.AssessedBy != "Trần Thị Mai" {
		t.Errorf("assessed by %q", e.Assessment.AssessedBy)
	}
	trail, _ := c2.AuditTrail(ctx, "assessment", int64(r.AssessmentID))
	if len(trail) != 1 || trail[0].Actor != "mai" {
		t.Errorf("the assessment's audit row names %+v", trail)
	}
	for what, err := range map[string]error{
		"add user":    c2.AddUser(ctx, "x", "", clinic.RoleClinician, "a long password"),
		"disable":     c2.SetDisabled(ctx, "admin", true),
		"reset other": c2.SetPassword(ctx, "admin", "a new password"),
		"hard delete": c2.DeletePatient(ctx, p.ID, true),
		"merge":       c2.MergePatients(ctx, p.ID, p.ID+1),
	} {
		if !errors.Is(err, clinic.ErrNotAllowed) {
			t.Errorf("a clinician's %s: %v", what, err)
		}
	}
	if _, err := c2.Restore(filepath.Join(t.TempDir(), "b.db"), clinic.BackupKey{}); !errors.Is(err, clinic.ErrNotAllowed) {
		t.Errorf("a clinician's restore: %v", err)
	}
	if err := c2.SetPassword(ctx, "mai", "my own new password"); err != nil {
		t.Errorf("changing one's own password: %v", err)
	}
	// The admin disables mai: she can no longer log in.
	c2.Login(ctx, "admin", "admin password")
	if err := c2.SetDisabled(ctx, "mai", true); err != nil {
		t.Fatal(err)
	}
	// It says what a wrong password says: "disabled" would confirm the password.
	if _, err := c2.Login(ctx, "mai", "my own new password"); !errors.Is(err, clinic.ErrLogin) {
		t.Errorf("disabled account: %v", err)
	}
	if err := c2.SetDisabled(ctx, "admin", true); !errors.Is(err, clinic.ErrNotAllowed) {
		t.Errorf("an admin disabling themselves: %v", err)
	}
}

// The audit CSV (records-trust issue): every row, not the 500 newest; a UTF-8 byte order mark
// for Excel; cells a spreadsheet would run as formulas written as text; the export itself in
// the trail.
func TestAuditCSVIsSafeAndWhole(t *testing.T) {
	c := clinictest.New(t)
	c.SetHashParams(cheap)
	ctx := context.Background()
	if _, err := c.Setup(ctx, clinic.ClinicProfile{Name: "Trạm Y tế"}, "admin", "Lê Văn An", "admin password"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, "admin", "admin password"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 520; i++ {
		clinictest.Patient(t, c, fmt.Sprintf("=1+%d", i), fmt.Sprintf("Nguyễn Văn %d", i))
	}
	out := filepath.Join(t.TempDir(), "audit.csv")
	n, err := c.ExportAudit(ctx, clinic.AuditFilter{}, out)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	if !bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		t.Error("no UTF-8 byte order mark")
	}
	recs, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
	if err != nil || n < 520 || len(recs) != n+1 {
		t.Fatalf("%d rows exported, %d in the file: %v", n, len(recs)-1, err)
	}
	for _, r := range recs[1:] {
		for _, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Fatalf("a cell a spreadsheet runs: %q", cell)
			}
		}
	}
	trail, _ := c.QueryAudit(ctx, clinic.AuditFilter{Limit: 1})
	if len(trail) != 1 || trail[0].Action != "export" || !strings.Contains(trail[0].Detail, "audit.csv") {
		t.Errorf("the export is not in the trail: %+v", trail)
	}
}

// Twenty wrong passwords at once (records-trust issue: all twenty were checked, the wait
// computed from a stale count): at most FreeFailures+1 reach the password check before the wait
// stops the rest. A disabled account with its right password gets the wrong password's answer,
// and a name no account has leaves an audit row.
func TestParallelLoginsCannotSkipTheWait(t *testing.T) {
	c := clinictest.New(t)
	c.SetHashParams(cheap)
	ctx := context.Background()
	if _, err := c.Setup(ctx, clinic.ClinicProfile{Name: "Trạm Y tế"}, "admin", "Lê Văn An", "admin password"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	checked, delayed := 0, 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Login(ctx, "admin", "not the password")
			var d *clinic.LoginDelayError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.As(err, &d):
				delayed++
			case errors.Is(err, clinic.ErrLogin):
				checked++
			default:
				t.Errorf("login: %v", err)
			}
		}()
	}
	wg.Wait()
	if checked > accounts.FreeFailures+1 || checked+delayed != 20 {
		t.Errorf("%d of 20 parallel wrong passwords were checked (%d made to wait); at most %d may be", checked, delayed, accounts.FreeFailures+1)
	}
	// A disabled account, right password: the same answer as a wrong one.
	c2 := clinictest.New(t)
	c2.SetHashParams(cheap)
	c2.Setup(ctx, clinic.ClinicProfile{Name: "Trạm"}, "admin", "", "admin password")
	c2.Login(ctx, "admin", "admin password")
	if err := c2.AddUser(ctx, "mai", "Trần Thị Mai", clinic.RoleClinician, "clinician password"); err != nil {
		t.Fatal(err)
	}
	if err := c2.SetDisabled(ctx, "mai", true); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Login(ctx, "mai", "clinician password"); !errors.Is(err, clinic.ErrLogin) || strings.Contains(err.Error(), "disabled") {
		t.Errorf("disabled account, right password: %v", err)
	}
	c2.Login(ctx, "admin", "admin password")
	if _, err := c2.Login(ctx, "nobody", "some password"); !errors.Is(err, clinic.ErrLogin) {
		t.Errorf("unknown name: %v", err)
	}
	// A name no account has gets the same waits as a real one: the waits tell nothing.
	var unknownWaited bool
	for i := 0; i < accounts.FreeFailures+1; i++ {
		_, err := c2.Login(ctx, "Nobody", "some password")
		var d *clinic.LoginDelayError
		unknownWaited = unknownWaited || errors.As(err, &d)
	}
	if !unknownWaited {
		t.Errorf("%d wrong logins under an unknown name never had to wait", accounts.FreeFailures+2)
	}
	c2.Login(ctx, "admin", "admin password")
	rows, _ := c2.QueryAudit(ctx, clinic.AuditFilter{})
	found := false
	for _, r := range rows {
		found = found || strings.Contains(r.Detail, `no account named "nobody"`)
	}
	if !found {
		t.Error("a login under an unknown name left no audit row")
	}
}

// A backup's audit row names the file the clinic keeps (the sealed one, not the temporary
// plain copy) and is written only once the backup is complete: a failed one is not recorded as
// made.
func TestBackupAuditNamesTheBackupAndOnlyOnSuccess(t *testing.T) {
	c := clinictest.New(t)
	c.SetHashParams(cheap)
	ctx := context.Background()
	c.Setup(ctx, clinic.ClinicProfile{Name: "Trạm"}, "admin", "", "admin password")
	if _, err := c.Login(ctx, "admin", "admin password"); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "monday.db.age")
	if _, err := c.Backup(ctx, dest, &clinic.BackupKey{Passphrase: "a long backup passphrase"}, false); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "no", "such", "folder", "b.db.age")
	if _, err := c.Backup(ctx, bad, &clinic.BackupKey{Passphrase: "a long backup passphrase"}, false); err == nil {
		t.Fatal("a backup into a folder that does not exist succeeded")
	}
	rows, _ := c.QueryAudit(ctx, clinic.AuditFilter{})
	var backups []string
	for _, r := range rows {
		if r.Entity == "backup" {
			backups = append(backups, r.Detail)
		}
	}
	if len(backups) != 1 || !strings.Contains(backups[0], "monday.db.age") || strings.Contains(backups[0], ".dermal-backup-") {
		t.Errorf("backup rows: %q", backups)
	}
}
