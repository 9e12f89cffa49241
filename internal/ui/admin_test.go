package ui

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"dermal/internal/clinic"
)

// An administrator adds an account in the window, sees the trail filtered by user and by
// patient, and exports it as CSV; a clinician gets no Administration buttons.
func TestAdminWindowAccountsAndAudit(t *testing.T) {
	u, c := newTestUI(t)
	ctx := context.Background()
	addPatient(t, u, "Nguyễn Thị Hồng", "BN-1")
	s := u.staffDialog()
	test.Type(s.name, "mai")
	test.Type(s.fullName, "Trần Thị Mai")
	test.Type(s.password, "clinician password")
	test.Tap(s.add)
	if u.lastError != nil || len(s.list.Objects) != 2 {
		t.Fatalf("after adding: %d rows, %v", len(s.list.Objects), u.lastError)
	}
	s.dialog.Hide()
	a := u.auditDialog()
	if len(a.rows) == 0 {
		t.Fatal("no audit rows")
	}
	a.patient.SetText("BN-1")
	u.queryAudit(a)
	for _, r := range a.rows {
		if r.Entity != "patient" {
			t.Errorf("the BN-1 filter shows a %s row", r.Entity)
		}
	}
	if len(a.rows) == 0 || !strings.Contains(a.table.Text, "BN-1") {
		t.Errorf("BN-1's rows: %q", a.table.Text)
	}
	a.patient.SetText("")
	a.user.SetText("nobody")
	u.queryAudit(a)
	if len(a.rows) != 0 {
		t.Errorf("rows by nobody: %d", len(a.rows))
	}
	a.user.SetText("admin")
	u.queryAudit(a)
	out := filepath.Join(t.TempDir(), "audit.csv")
	// The export from the window says how many rows went where (the clinic's day, item 13).
	u.exportAudit(a.filter, out)
	if u.lastError != nil || !strings.Contains(u.lastInfo, fmt.Sprintf("%d rows", len(a.rows))) || !strings.Contains(u.lastInfo, out) {
		t.Errorf("after the export: %v %q", u.lastError, u.lastInfo)
	}
	b, _ := os.ReadFile(out)
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\uFEFF"))).ReadAll()
	if err != nil || len(recs) != len(a.rows)+1 || recs[0][2] != "user" || recs[1][2] != "admin" {
		t.Errorf("CSV %v %v", recs, err)
	}
	a.dialog.Hide()
	if _, err := c.Login(ctx, "mai", "clinician password"); err != nil {
		t.Fatal(err)
	}
	if u.isAdmin() {
		t.Error("a clinician is taken for an administrator")
	}
	if _, err := c.QueryAudit(ctx, clinic.AuditFilter{}); err == nil {
		t.Error("a clinician read the audit trail")
	}
}
