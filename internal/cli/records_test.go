package cli

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"dermal/internal/triage"
)

func TestPatientsAssessHistory(t *testing.T) {
	data := t.TempDir()
	if code, out, stderr := run(t, "--data", data, "patients", "add", "--name", "Nguyễn Thị Hồng", "--code", "BN-7", "--sex", "F", "--birth-year", "1961"); code != 0 || strings.TrimSpace(out) != "1" {
		t.Fatalf("add: exit %d %q %s", code, out, stderr)
	}
	if code, _, stderr := run(t, "--data", data, "patients", "add", "--name", "Other", "--code", "BN-7"); code != 1 || !strings.Contains(stderr, "clinic code") {
		t.Errorf("duplicate code: exit %d %s", code, stderr)
	}
	if code, _, stderr := run(t, "--data", data, "patients", "add", "--name", " ", "--code", "BN-8"); code != 1 || !strings.Contains(stderr, "name is empty") {
		t.Errorf("empty name: exit %d %s", code, stderr)
	}
	if _, out, _ := run(t, "--data", data, "patients", "search", "nguyen thi hong"); !strings.Contains(out, "Nguyễn Thị Hồng") {
		t.Errorf("search: %q", out)
	}
	photo := filepath.Join(fixtures, "ISIC_0024311.png")
	code, out, stderr := run(t, "--data", data, "assess", "--json", "--patient", "BN-7", "--site", "back", photo)
	if code != 0 {
		t.Fatalf("assess: exit %d %s", code, stderr)
	}
	var a AssessOutput
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatal(err)
	}
	if a.AssessmentID == 0 || a.PatientCode != "BN-7" || a.RiskTier == "" || len(a.Probabilities) != 7 {
		t.Fatalf("assess output %+v", a)
	}
	if code, _, _ := run(t, "--data", data, "assess", "--patient", "BN-7", "--site", "back", "records_test.go"); code != 1 {
		t.Errorf("assessing a Go file: exit %d", code)
	}
	if code, _, _ := run(t, "--data", data, "assess", "--patient", "BN-404", photo); code != 1 {
		t.Errorf("unknown patient: exit %d", code)
	}
	if code, _, _ := run(t, "--data", data, "patients", "delete", "1"); code != 0 {
		t.Fatalf("delete: exit %d", code)
	}
	if code, _, _ := run(t, "--data", data, "history", "BN-7"); code != 1 {
		t.Errorf("history of a deleted patient: exit %d", code)
	}
	if code, _, _ := run(t, "--data", data, "patients", "undelete", "1"); code != 0 {
		t.Fatalf("undelete: exit %d", code)
	}
	code, out, stderr = run(t, "--data", data, "history", "--json", "BN-7")
	if code != 0 {
		t.Fatalf("history: exit %d %s", code, stderr)
	}
	var h struct {
		Assessments []HistoryItem
	}
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatal(err)
	}
	if len(h.Assessments) != 1 || h.Assessments[0].AssessmentID != a.AssessmentID || h.Assessments[0].BodySite != "back" ||
		h.Assessments[0].ModelSHA256 != a.Model.SHA256 || h.Assessments[0].RiskTier != a.RiskTier {
		t.Errorf("history %+v, assessed %+v", h.Assessments, a)
	}
}

func TestReportCommand(t *testing.T) {
	data := t.TempDir()
	run(t, "--data", data, "patients", "add", "--name", "Nguyễn Thị Hồng", "--code", "BN-1")
	if code, _, stderr := run(t, "--data", data, "assess", "--patient", "BN-1", "--site", "face", filepath.Join(fixtures, "ISIC_0024311.png")); code != 0 {
		t.Fatalf("assess: %s", stderr)
	}
	out := filepath.Join(t.TempDir(), "r.pdf")
	if code, _, stderr := run(t, "--data", data, "report", "--assessment", "1", "--lang", "vi", "-o", out); code != 0 {
		t.Fatalf("report: exit %d %s", code, stderr)
	}
	if b, err := os.ReadFile(out); err != nil || !strings.HasPrefix(string(b), "%PDF-") {
		t.Errorf("report file: %v", err)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"report", "--assessment", "99", "-o", out}, 1, "assessment 99"},
		{[]string{"report", "--assessment", "1"}, 2, "-o FILE.pdf"},
		{[]string{"report", "--assessment", "1", "--lang", "fr", "-o", out}, 2, "en or vi"},
	} {
		if code, _, stderr := run(t, append([]string{"--data", data}, tc.args...)...); code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d %q", tc.args, code, stderr)
		}
	}
}

// assess's examination flags: the JSON names the photo type, whether the model is validated
// for it, the checklist (items and score) and the diameter; a plain photo's tier comes from
// the checklist; a wrong flag is a usage error naming it, and nothing is stored.
func TestAssessExaminationFlags(t *testing.T) {
	data := t.TempDir()
	run(t, "--data", data, "patients", "add", "--name", "Trần Văn Nam", "--code", "BN-3")
	photo := filepath.Join(fixtures, "ISIC_0024311.png")
	raw := func(args ...string) map[string]any {
		t.Helper()
		code, out, stderr := run(t, append([]string{"--data", data, "assess", "--json", "--patient", "BN-3"}, append(args, photo)...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d %s", args, code, stderr)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := raw("--photo-type", "plain", "--diameter-mm", "7.5", "--seven-point", "size,oozing")
	sp, _ := m["seven_point"].(map[string]any)
	if m["photo_type"] != "plain" || m["model_validated"] != false || m["diameter_mm"] != 7.5 || m["risk_tier"] != "urgent" ||
		m["tier_driver"] != "seven_point" || sp == nil || sp["score"] != 3.0 || len(sp["items"].([]any)) != 2 {
		t.Errorf("plain photo with checklist: %v", m)
	}
	if h, _ := m["headline"].(string); !strings.Contains(h, "Clinical 7-point score 3") || !strings.Contains(h, "refer urgently") {
		t.Errorf("headline %q", h)
	}
	m = raw("--photo-type", "plain")
	if m["risk_tier"] != "cannot_assess" || m["seven_point"] != nil || m["diameter_mm"] != nil {
		t.Errorf("plain photo without checklist: %v", m)
	}
	m = raw()
	if m["photo_type"] != "dermoscopic" || m["model_validated"] != true || m["seven_point"] != nil {
		t.Errorf("default: %v", m)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--photo-type", "phone"}, "--photo-type"},
		{[]string{"--seven-point", "size,itch"}, `"itch"`},
		{[]string{"--diameter-mm", "-2"}, "--diameter-mm"},
		{[]string{"--abcde", "q"}, "--abcde"},
	} {
		code, _, stderr := run(t, append([]string{"--data", data, "assess", "--patient", "BN-3"}, append(tc.args, photo)...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d %q, want 2 naming %s", tc.args, code, stderr, tc.want)
		}
	}
	_, out, _ := run(t, "--data", data, "history", "--json", "BN-3")
	var h struct{ Assessments []HistoryItem }
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatal(err)
	}
	if len(h.Assessments) != 3 || h.Assessments[0].PhotoType != "plain" || *h.Assessments[0].DiameterMM != 7.5 || len(h.Assessments[0].SevenPoint) != 2 {
		t.Errorf("history after three assessments and four refused: %+v", h.Assessments)
	}
}

// dermal followups lists the worklist (JSON fields as documented) and dermal outcome takes an
// urgent result off it.
func TestFollowupsAndOutcome(t *testing.T) {
	data := t.TempDir()
	run(t, "--data", data, "patients", "add", "--name", "Hoàng Văn Thụ", "--code", "BN-9", "--phone", "0912 345 678")
	photo := filepath.Join(fixtures, "ISIC_0024311.png")
	soon := time.Now().AddDate(0, 0, 3).Format("2006-01-02")
	late := time.Now().AddDate(0, 0, 20).Format("2006-01-02")
	for _, args := range [][]string{
		{"--site", "back", "--follow-up", soon},
		{"--site", "face", "--follow-up", late},
		{"--site", "hand", "--photo-type", "plain", "--seven-point", "size,oozing"},
	} {
		if code, _, stderr := run(t, append(append([]string{"--data", data, "assess", "--patient", "BN-9"}, args...), photo)...); code != 0 {
			t.Fatalf("assess %v: %s", args, stderr)
		}
	}
	list := func(args ...string) FollowupsOutput {
		t.Helper()
		code, out, stderr := run(t, append([]string{"--data", data, "followups", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("followups: %s", stderr)
		}
		var f FollowupsOutput
		if err := json.Unmarshal([]byte(out), &f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := list()
	if f.WithinDays != 7 || len(f.Items) != 2 || f.Items[0].Section != "upcoming" || f.Items[0].FollowUp != soon || f.Items[0].DaysLate != -3 ||
		f.Items[0].Phone != "0912 345 678" || f.Items[1].Section != "awaiting_outcome" || f.Items[1].RiskTier != "urgent" {
		t.Errorf("followups: %+v", f)
	}
	if f := list("--within", "30"); len(f.Items) != 3 {
		t.Errorf("within 30 days: %+v", f.Items)
	}
	if code, _, stderr := run(t, "--data", data, "followups", "--within", "-1"); code != 2 || !strings.Contains(stderr, "DAYS") {
		t.Errorf("--within -1: exit %d %s", code, stderr)
	}
	urgent := fmt.Sprint(f.Items[1].AssessmentID)
	if code, _, stderr := run(t, "--data", data, "outcome", "--assessment", urgent, "--source", "gossip", "--diagnosis", "bcc"); code != 1 || !strings.Contains(stderr, "gossip") {
		t.Errorf("outcome from gossip: exit %d %s", code, stderr)
	}
	if code, out, stderr := run(t, "--data", data, "outcome", "--assessment", urgent, "--diagnosis", "nodular BCC"); code != 0 || !strings.Contains(out, "nodular BCC") {
		t.Fatalf("outcome: exit %d %s %s", code, out, stderr)
	}
	if f := list(); len(f.Items) != 1 || f.Items[0].Section != "upcoming" {
		t.Errorf("after the outcome: %+v", f.Items)
	}
	if code, out, _ := run(t, "--data", data, "followups"); code != 0 || !strings.Contains(out, "Due within 7 days:") || !strings.Contains(out, "Hoàng Văn Thụ") {
		t.Errorf("plain followups: %q", out)
	}
	// Paged (the scale issue): --limit 1 page after page gives the whole list in order, each
	// page's "next" the --after of the one after it, the last without one.
	whole := list("--within", "30")
	var paged []FollowupItem
	next := ""
	for range 10 {
		args := []string{"--within", "30", "--limit", "1"}
		if next != "" {
			args = append(args, "--after", next)
		}
		page := list(args...)
		paged = append(paged, page.Items...)
		if next = page.Next; next == "" {
			break
		}
	}
	if len(whole.Items) < 2 || len(paged) != len(whole.Items) {
		t.Fatalf("%d items paged one at a time, %d in the whole list", len(paged), len(whole.Items))
	}
	for i := range paged {
		if paged[i].AssessmentID != whole.Items[i].AssessmentID || paged[i].Section != whole.Items[i].Section {
			t.Errorf("page %d: %+v, want %+v", i, paged[i], whole.Items[i])
		}
	}
	if code, _, stderr := run(t, "--data", data, "followups", "--after", "not-a-page"); code != 2 || !strings.Contains(stderr, "next") {
		t.Errorf("--after not-a-page: exit %d %s", code, stderr)
	}
}

// The referral letter, in both languages: addressee, urgency with its time frame, the
// referring clinic's address and phone, the clinician, the patient's address, phone, BHYT and
// ID numbers; page 2 repeats the identifiers. Writing it records the referral. A letter with
// no clinic address is refused, naming what is missing, and writes nothing.
func TestReferralLetter(t *testing.T) {
	data := t.TempDir()
	run(t, "--data", data, "patients", "add", "--name", "Nguyễn Thị Hồng", "--code", "BN-1", "--sex", "F", "--birth-year", "1961",
		"--phone", "0912 345 678", "--address", "Thôn 3, xã Đồng Tâm", "--insurance", "GD4010123456789", "--id-number", "001161012345")
	photo := filepath.Join(fixtures, "ISIC_0024311.png")
	run(t, "--data", data, "assess", "--patient", "BN-1", "--site", "back", "--photo-type", "plain", "--seven-point", "size,oozing", photo)
	out := filepath.Join(t.TempDir(), "letter.pdf")
	code, _, stderr := run(t, "--data", data, "report", "--assessment", "1", "--referral", "--to", "Khoa Da liễu, Bệnh viện Tỉnh", "--clinician", "BS. Lê Văn An", "-o", out)
	if code != 1 || !strings.Contains(stderr, "address and phone") {
		t.Errorf("letter without the clinic's address: exit %d %s", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused letter left a file")
	}
	if code, _, stderr := run(t, "--data", data, "clinic", "--name", "Trạm Y tế xã Đồng Tâm", "--address", "Xã Đồng Tâm, huyện Mỹ Đức", "--phone", "024 3384 1234"); code != 0 {
		t.Fatalf("clinic: %s", stderr)
	}
	if code, _, stderr := run(t, "--data", data, "report", "--assessment", "1", "--to", "X", "-o", out); code != 2 || !strings.Contains(stderr, "--referral") {
		t.Errorf("--to without --referral: exit %d %s", code, stderr)
	}
	for _, tc := range []struct{ lang, urgency, page2 string }{
		{"en", "Urgent referral — to be seen within 2 weeks", "Reply to the referring clinic"},
		{"vi", "Chuyển tuyến khẩn — khám trong vòng 2 tuần", "Phản hồi cho cơ sở chuyển tuyến"},
	} {
		code, _, stderr := run(t, "--data", data, "report", "--assessment", "1", "--referral", "--to", "Khoa Da liễu, Bệnh viện Tỉnh", "--reason", "Lesion grew in 3 months",
			"--clinician", "BS. Lê Văn An", "--lang", tc.lang, "-o", out)
		if code != 0 {
			t.Fatalf("%s letter: %s", tc.lang, stderr)
		}
		txt := pdftotext(t, out)
		pages := strings.Split(txt, "\f")
		if len(pages) < 2 {
			t.Fatalf("%s: %d pages", tc.lang, len(pages))
		}
		flat := func(s string) string { return strings.Join(strings.Fields(s), " ") }
		p1, p2 := flat(pages[0]), flat(pages[1])
		for _, want := range []string{"Khoa Da liễu, Bệnh viện Tỉnh", tc.urgency, "Lesion grew in 3 months", "Xã Đồng Tâm, huyện Mỹ Đức", "024 3384 1234",
			"BS. Lê Văn An", "Thôn 3, xã Đồng Tâm", "0912 345 678", "GD4010123456789", "001161012345", "Nguyễn Thị Hồng"} {
			if !strings.Contains(p1, want) {
				t.Errorf("%s letter, page 1 lacks %q", tc.lang, want)
			}
		}
		for _, want := range []string{tc.page2, "Nguyễn Thị Hồng", "BN-1", "GD4010123456789", "001161012345"} {
			if !strings.Contains(p2, want) {
				t.Errorf("%s letter, page 2 lacks %q", tc.lang, want)
			}
		}
	}
	// The referral is recorded: the worklist says a letter was made.
	_, js, _ := run(t, "--data", data, "followups", "--json")
	var f FollowupsOutput
	if err := json.Unmarshal([]byte(js), &f); err != nil || len(f.Items) != 1 || !f.Items[0].Referred {
		t.Errorf("after the letter: %+v %v", f.Items, err)
	}
}

// assess --map places the new lesion on the body map; the site and side follow the point.
func TestAssessOnTheBodyMap(t *testing.T) {
	data := t.TempDir()
	run(t, "--data", data, "patients", "add", "--name", "Lý Thị Mai", "--code", "BN-4")
	photo := filepath.Join(fixtures, "ISIC_0024311.png")
	if code, _, stderr := run(t, "--data", data, "assess", "--patient", "BN-4", "--map", "front:0.6,0.45", photo); code != 0 {
		t.Fatalf("assess --map: %s", stderr)
	}
	for _, bad := range []string{"side:0.5,0.5", "front:0.02,0.02", "front:half,0.5"} {
		if code, _, stderr := run(t, "--data", data, "assess", "--patient", "BN-4", "--map", bad, photo); code != 2 || !strings.Contains(stderr, "--map") {
			t.Errorf("--map %s: exit %d %s", bad, code, stderr)
		}
	}
	_, out, _ := run(t, "--data", data, "history", "--json", "BN-4")
	var h struct{ Assessments []HistoryItem }
	json.Unmarshal([]byte(out), &h)
	if len(h.Assessments) != 1 || h.Assessments[0].BodySite != "abdomen" {
		t.Errorf("history %+v", h.Assessments)
	}
}

// dermal audit verify: intact after normal use; after the triggers are dropped and a row is
// edited through raw SQL it names that row and exits 1.
func TestAuditVerifyCommand(t *testing.T) {
	data := t.TempDir()
	run(t, "--data", data, "patients", "add", "--name", "Phan Văn Khải", "--code", "BN-5")
	run(t, "--data", data, "patients", "add", "--name", "Phan Thị Hoa", "--code", "BN-6")
	if code, out, stderr := run(t, "--data", data, "audit", "verify"); code != 0 || !strings.Contains(out, "2 rows, each chained") {
		t.Fatalf("verify: exit %d %q %s", code, out, stderr)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "dermal.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'nobody' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if code, out, stderr := run(t, "--data", data, "audit", "verify"); code != 1 || !strings.Contains(out, "audit row 1") || !strings.Contains(out, "audit_no_update") {
		t.Errorf("after tampering: exit %d %s %s", code, out, stderr)
	}
}

// Backups are age files: a wrong passphrase changes nothing; a passphrase file others can
// read is refused; a plain copy only with --unencrypted; no JPEG, PNG or SQLite signature (or
// patient name) is readable in the encrypted file.
func TestEncryptedBackup(t *testing.T) {
	data := t.TempDir()
	run(t, "--data", data, "patients", "add", "--name", "Nguyễn Thị Hồng", "--code", "BN-1")
	run(t, "--data", data, "assess", "--patient", "BN-1", "--site", "back", filepath.Join(fixtures, "ISIC_0024311.png"))
	dir := t.TempDir()
	pass := filepath.Join(dir, "pass")
	os.WriteFile(pass, []byte("correct horse battery\n"), 0o600)
	open := filepath.Join(dir, "open-pass")
	os.WriteFile(open, []byte("correct horse battery\n"), 0o644)
	wrong := filepath.Join(dir, "wrong")
	os.WriteFile(wrong, []byte("incorrect horse battery\n"), 0o600)
	backup := filepath.Join(dir, "b.db.age")
	if code, _, stderr := run(t, "--data", data, "backup", "--passphrase-file", open, backup); code != 2 || !strings.Contains(stderr, "read by others") {
		t.Errorf("world-readable passphrase file: exit %d %s", code, stderr)
	}
	if code, _, stderr := run(t, "--data", data, "backup", backup); code != 2 || !strings.Contains(stderr, "--passphrase-file") {
		t.Errorf("no passphrase and no terminal: exit %d %s", code, stderr)
	}
	if code, out, stderr := run(t, "--data", data, "backup", "--passphrase-file", pass, backup); code != 0 || !strings.Contains(out, "encrypted") {
		t.Fatalf("backup: exit %d %s", code, stderr)
	}
	raw, _ := os.ReadFile(backup)
	// Signatures long enough that random ciphertext does not hold them by chance: a 3-byte
	// JPEG marker turns up in a 300 kB sealed file about once in 55 runs (300,000 / 2^24),
	// and did in a clean clone's run. The photo is recognised by 32 bytes of its own.
	photo, _ := os.ReadFile(filepath.Join(fixtures, "ISIC_0024311.png"))
	for _, sig := range [][]byte{[]byte("SQLite format 3\x00"), []byte("\x89PNG\r\n\x1a\n"), photo[1000:1032], []byte("Nguyễn Thị Hồng")} {
		if bytes.Contains(raw, sig) {
			t.Errorf("the encrypted backup contains %q", sig)
		}
	}
	if !bytes.HasPrefix(raw, []byte("age-encryption.org/v1\n")) {
		t.Error("the backup is not an age file")
	}
	run(t, "--data", data, "patients", "add", "--name", "Added After", "--code", "BN-2")
	before, _ := os.ReadFile(filepath.Join(data, "dermal.db"))
	if code, _, stderr := run(t, "--data", data, "restore", "--passphrase-file", wrong, backup); code != 1 || !strings.Contains(stderr, "does not open") {
		t.Errorf("wrong passphrase: exit %d %s", code, stderr)
	}
	after, _ := os.ReadFile(filepath.Join(data, "dermal.db"))
	if !bytes.Equal(before, after) {
		t.Error("a restore with the wrong passphrase changed the database")
	}
	if kept, _ := filepath.Glob(filepath.Join(data, "dermal.db.before-restore-*")); len(kept) != 0 {
		t.Errorf("a refused restore kept %v aside", kept)
	}
	if code, _, stderr := run(t, "--data", data, "restore", "--passphrase-file", pass, backup); code != 0 {
		t.Fatalf("restore: %s", stderr)
	}
	if _, out, _ := run(t, "--data", data, "patients", "list"); strings.Contains(out, "Added After") || !strings.Contains(out, "Nguyễn Thị Hồng") {
		t.Errorf("after the restore: %q", out)
	}
	plain := filepath.Join(dir, "plain.db")
	if code, out, _ := run(t, "--data", data, "backup", "--unencrypted", plain); code != 0 || !strings.Contains(out, "UNENCRYPTED") {
		t.Errorf("--unencrypted: exit %d %q", code, out)
	}
}

// Staff accounts on the command line: setup makes the first admin; then every records
// command needs --user and the password (from an owner-only --password-file); a wrong
// password is refused; a clinician cannot manage accounts or restore; audit rows name the user.
func TestSetupUsersAndLogin(t *testing.T) {
	data := t.TempDir()
	dir := t.TempDir()
	file := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content+"\n"), mode)
		return p
	}
	adminPw := file("admin", "admin password", 0o600)
	maiPw := file("mai", "clinician password", 0o600)
	wrongPw := file("wrong", "not the password", 0o600)
	shared := file("shared", "admin password", 0o644)
	run(t, "--data", data, "patients", "add", "--name", "Before Setup", "--code", "OLD-1")
	if code, _, stderr := run(t, "--data", data, "setup", "--clinic", "Trạm Y tế xã Đồng Tâm", "--admin", "admin", "--password-file", adminPw); code != 0 {
		t.Fatalf("setup: %s", stderr)
	}
	if code, _, stderr := run(t, "--data", data, "setup", "--clinic", "Again", "--admin", "x", "--password-file", adminPw); code != 1 || !strings.Contains(stderr, "already set up") {
		t.Errorf("second setup: exit %d %s", code, stderr)
	}
	if code, _, stderr := run(t, "--data", data, "patients", "list"); code != 2 || !strings.Contains(stderr, "--user") {
		t.Errorf("records without --user after setup: exit %d %s", code, stderr)
	}
	if code, _, stderr := run(t, "--data", data, "patients", "list", "--user", "admin", "--password-file", shared); code != 2 || !strings.Contains(stderr, "read by others") {
		t.Errorf("a password file others can read: exit %d %s", code, stderr)
	}
	if code, _, stderr := run(t, "--data", data, "--user", "admin", "--password-file", wrongPw, "patients", "list"); code != 1 || !strings.Contains(stderr, "wrong user name or password") {
		t.Errorf("wrong password: exit %d %s", code, stderr)
	}
	// The existing records survived the setup.
	if code, out, _ := run(t, "--data", data, "--user", "admin", "--password-file", adminPw, "patients", "list"); code != 0 || !strings.Contains(out, "Before Setup") {
		t.Errorf("after setup the old records read %q", out)
	}
	as := func(user, pw string, args ...string) (int, string, string) {
		return run(t, append([]string{"--data", data}, append(args, "--user", user, "--password-file", pw)...)...)
	}
	if code, _, stderr := as("admin", adminPw, "users", "add", "mai", "--full-name", "Trần Thị Mai", "--new-password-file", maiPw); code != 0 {
		t.Fatalf("users add: %s", stderr)
	}
	if code, out, _ := as("admin", adminPw, "users", "list"); code != 0 || !strings.Contains(out, "mai") || !strings.Contains(out, "clinician") {
		t.Errorf("users list: %q", out)
	}
	if code, _, stderr := as("mai", maiPw, "users", "add", "ba", "--new-password-file", maiPw); code != 1 || !strings.Contains(stderr, "administrator") {
		t.Errorf("a clinician adding a user: exit %d %s", code, stderr)
	}
	backup := filepath.Join(dir, "b.db")
	as("admin", adminPw, "backup", "--unencrypted", backup)
	if code, _, stderr := as("mai", maiPw, "restore", backup); code != 1 || !strings.Contains(stderr, "administrator") {
		t.Errorf("a clinician restoring: exit %d %s", code, stderr)
	}
	if code, _, stderr := as("mai", maiPw, "patients", "add", "--name", "Vũ Văn Giáp", "--code", "BN-20"); code != 0 {
		t.Fatalf("clinician adds a patient: %s", stderr)
	}
	if code, _, _ := as("admin", adminPw, "users", "disable", "mai"); code != 0 {
		t.Fatal("disable")
	}
	if code, _, stderr := as("mai", maiPw, "patients", "list"); code != 1 || !strings.Contains(stderr, "wrong user name or password") {
		t.Errorf("a disabled account: exit %d %s", code, stderr)
	}
	if code, out, _ := as("admin", adminPw, "audit", "verify"); code != 0 || !strings.Contains(out, "intact") {
		t.Errorf("audit verify after all that: %q", out)
	}
}

// The triage issue's command-line contract: classify and assess take --photo-type and
// --dermoscopy for every photo named; the JSON carries dermoscopy {"items", "score"} (null when
// not done) and the combined tier with tier_driver "dermoscopy"; history carries it; unknown
// criteria are refused with the list of valid names; a saved "cannot assess" is listed by
// followups in section cannot_assess.
func TestDermoscopyOnTheCommandLine(t *testing.T) {
	data := t.TempDir()
	run(t, "--data", data, "patients", "add", "--name", "Ngô Thị Nhậm", "--code", "BN-12")
	nevus := filepath.Join(fixtures, "ISIC_0024311.png")    // the model: routine
	melanoma := filepath.Join(fixtures, "ISIC_0024367.png") // model 4: melanoma 48%, urgent on its own
	code, out, stderr := run(t, "classify", "--json", "--dermoscopy", "atypical-network,regression", nevus, melanoma)
	if code != 0 {
		t.Fatalf("classify: %s", stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("classify printed %d lines", len(lines))
	}
	for _, l := range lines {
		var r ClassifyResult
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Dermoscopy == nil || r.Dermoscopy.Score != 3 || len(r.Dermoscopy.Items) != 2 || r.RiskTier != "urgent" || r.TierDriver != "dermoscopy" ||
			!strings.HasPrefix(r.Headline, "Dermoscopic 7-point score 3") {
			t.Errorf("%s: %+v", r.File, r)
		}
	}
	if _, out, _ := run(t, "classify", "--json", nevus); !strings.Contains(out, `"dermoscopy":null`) {
		t.Errorf("no checklist must print dermoscopy null: %s", out)
	}
	code, stderr2 := 0, ""
	code, _, stderr2 = run(t, "classify", "--dermoscopy", "atypical-network,pink-veil", nevus)
	if code != 2 || !strings.Contains(stderr2, `"pink-veil"`) || !strings.Contains(stderr2, "irregular-blotches") {
		t.Errorf("unknown criterion: exit %d %q", code, stderr2)
	}
	if code, _, stderr := run(t, "--data", data, "assess", "--patient", "BN-12", "--photo-type", "plain", "--dermoscopy", "none", nevus); code != 2 || !strings.Contains(stderr, "dermatoscope") {
		t.Errorf("dermoscopy with a plain photo: exit %d %q", code, stderr)
	}
	// Checklist 0 beside a model at its urgent tier but below the second reader's bar (model 4:
	// P(mel) 0.48, malignant 0.79; the bar is 0.85 / 0.90): routine, driven by the checklist, and
	// the advice says the model was not confident enough to overrule it. (A model above the bar
	// keeps its urgent tier: internal/triage's table tests; no fixture is that confident.)
	code, out, stderr = run(t, "--data", data, "assess", "--json", "--patient", "BN-12", "--dermoscopy", "none", melanoma)
	var m AssessOutput
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil {
		t.Fatalf("assess: %d %s", code, stderr)
	}
	if m.Dermoscopy == nil || m.Dermoscopy.Score != 0 || m.RiskTier != "routine" || m.TierDriver != "dermoscopy" || !strings.Contains(m.Advice, "not confident enough") {
		t.Errorf("assess with checklist 0 on a melanoma below the second reader's bar: %+v", m.ClassifyResult)
	}
	if m.Probabilities["mel"] >= triage.SecondReaderMelanoma || m.Malignancy >= triage.SecondReaderMalignant {
		t.Errorf("the fixture is above the second reader's bar now (mel %.2f, malignant %.2f): this test no longer tests the path below it", m.Probabilities["mel"], m.Malignancy)
	}
	// A plain photo without a checklist: saved as cannot assess, and on the worklist.
	if code, _, stderr := run(t, "--data", data, "assess", "--patient", "BN-12", "--site", "acral", "--photo-type", "plain", melanoma); code != 0 {
		t.Fatalf("assess plain: %s", stderr)
	}
	_, out, _ = run(t, "--data", data, "history", "--json", "BN-12")
	var h struct{ Assessments []HistoryItem }
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatal(err)
	}
	if len(h.Assessments) != 2 || h.Assessments[0].Dermoscopy == nil || h.Assessments[0].Dermoscopy.Score != 0 || h.Assessments[1].Dermoscopy != nil ||
		h.Assessments[1].RiskTier != "cannot_assess" {
		t.Errorf("history: %+v", h.Assessments)
	}
	_, out, _ = run(t, "--data", data, "followups", "--json")
	var f FollowupsOutput
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		t.Fatal(err)
	}
	var sections []string
	for _, it := range f.Items {
		sections = append(sections, it.Section+":"+it.RiskTier)
	}
	if !slices.Contains(sections, "cannot_assess:cannot_assess") || slices.Contains(sections, "awaiting_outcome:urgent") {
		t.Errorf("followups sections %v", sections)
	}
	if _, out, _ := run(t, "--data", data, "followups"); !strings.Contains(out, "Could not be assessed: assess again:") {
		t.Errorf("plain followups: %s", out)
	}
}

// The referral letter prints the dermoscopic checklist on its own line, in both languages,
// with the headline naming its score.
func TestReferralLetterPrintsTheDermoscopicChecklist(t *testing.T) {
	data := t.TempDir()
	run(t, "--data", data, "patients", "add", "--name", "Hà Văn Sơn", "--code", "BN-2")
	run(t, "--data", data, "clinic", "--name", "Trạm Y tế xã Đồng Tâm", "--address", "Xã Đồng Tâm", "--phone", "024 3384 1234")
	if code, _, stderr := run(t, "--data", data, "assess", "--patient", "BN-2", "--site", "acral", "--dermoscopy", "atypical-network,irregular-streaks",
		filepath.Join(fixtures, "ISIC_0024311.png")); code != 0 {
		t.Fatal(stderr)
	}
	out := filepath.Join(t.TempDir(), "letter.pdf")
	for _, tc := range []struct{ lang, line, headline string }{
		{"en", "Atypical pigment network (2), Irregular streaks (1): 3 / 10", "Dermoscopic 7-point score 3"},
		{"vi", "Mạng sắc tố không điển hình (2), Vệt không đều (1): 3 / 10", "Bảng kiểm soi da 7 điểm: 3 điểm"},
	} {
		if code, _, stderr := run(t, "--data", data, "report", "--assessment", "1", "--referral", "--to", "Khoa Da liễu", "--clinician", "BS. An", "--lang", tc.lang, "-o", out); code != 0 {
			t.Fatal(stderr)
		}
		flat := strings.Join(strings.Fields(pdftotext(t, out)), " ")
		for _, want := range []string{tc.line, tc.headline, map[string]string{"en": "Dermoscopy 7-pt", "vi": "Soi da 7 điểm"}[tc.lang]} {
			if !strings.Contains(flat, want) {
				t.Errorf("%s letter lacks %q", tc.lang, want)
			}
		}
		os.Remove(out)
	}
}

// The clinic's day, item 7: the letter for a follow-up visit says what the first visit
// recorded (its diameter, dermoscopic score and diagnosis), which the follow-up did not repeat.
func TestReferralLetterOfAFollowUpNamesTheFirstVisit(t *testing.T) {
	data := t.TempDir()
	run(t, "--data", data, "patients", "add", "--name", "Tôn Thất Thuyết", "--code", "BN-7")
	run(t, "--data", data, "clinic", "--name", "Trạm Y tế xã Đồng Tâm", "--address", "Xã Đồng Tâm", "--phone", "024 3384 1234")
	photo := filepath.Join(fixtures, "ISIC_0024311.png")
	if code, _, stderr := run(t, "--data", data, "assess", "--patient", "BN-7", "--site", "back", "--diameter-mm", "3.7",
		"--dermoscopy", "atypical-network,irregular-streaks,regression", photo); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := run(t, "--data", data, "assess", "--patient", "BN-7", "--lesion", "1", photo); code != 0 {
		t.Fatal(stderr)
	}
	out := filepath.Join(t.TempDir(), "letter.pdf")
	for _, tc := range []struct{ lang, heading, diameter string }{{"en", "Earlier visits of this lesion", "3.7"}, {"vi", "Các lần khám trước của tổn thương này", "3,7"}} {
		if code, _, stderr := run(t, "--data", data, "report", "--assessment", "2", "--referral", "--to", "Khoa Da liễu", "--clinician", "BS. An", "--lang", tc.lang, "-o", out); code != 0 {
			t.Fatal(stderr)
		}
		flat := strings.Join(strings.Fields(pdftotext(t, out)), " ")
		for _, want := range []string{tc.heading, tc.diameter, ": 4 / 10"} {
			if !strings.Contains(flat, want) {
				t.Errorf("%s letter of the follow-up lacks %q:\n%s", tc.lang, want, flat)
			}
		}
		os.Remove(out)
	}
}
