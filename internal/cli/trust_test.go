package cli

import (
	"context"
	"database/sql"
	"dermal/internal/inference"
	"dermal/internal/storage"
	"dermal/internal/testtool"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The repro: once a patient's code equals another patient's id, an assessment named
// by that number must never go to the other person.
func TestPatientCodeThatIsAnotherPatientsIDIsNeverConfused(t *testing.T) {
	data := t.TempDir()
	photo := filepath.Join(fixtures, "ISIC_0024311.png")
	mustRun(t, "--data", data, "patients", "add", "--name", "An Anh", "--code", "BN-1")
	mustRun(t, "--data", data, "patients", "add", "--name", "Binh Bao", "--code", "BN-2") // id 2
	first := assessJSON(t, "--data", data, "assess", "--json", "--patient", "BN-2", "--site", "back", photo)
	mustRun(t, "--data", data, "patients", "add", "--name", "Chi Cuong", "--code", "2") // code "2", id 3
	// By code: Binh, always.
	if a := assessJSON(t, "--data", data, "assess", "--json", "--patient", "BN-2", "--site", "back", photo); a.PatientCode != "BN-2" || a.PatientID != 2 {
		t.Errorf("--patient BN-2 saved for %s (id %d)", a.PatientCode, a.PatientID)
	}
	// "2" is Chi's code and Binh's id: refused, naming both, until it is said which.
	code, _, stderr := run(t, "--data", data, "assess", "--patient", "2", "--site", "back", photo)
	if code != 1 || !strings.Contains(stderr, "Chi Cuong") || !strings.Contains(stderr, "Binh Bao") || !strings.Contains(stderr, "code:2") {
		t.Errorf("ambiguous --patient 2: exit %d %s", code, stderr)
	}
	if a := assessJSON(t, "--data", data, "assess", "--json", "--patient", "code:2", "--site", "back", photo); a.PatientCode != "2" {
		t.Errorf("code:2 went to %s", a.PatientCode)
	}
	if a := assessJSON(t, "--data", data, "assess", "--json", "--patient", "id:2", "--site", "back", photo); a.PatientCode != "BN-2" {
		t.Errorf("id:2 went to %s", a.PatientCode)
	}
	// The report of Binh's first assessment names Binh.
	pdf := filepath.Join(t.TempDir(), "r.pdf")
	mustRun(t, "--data", data, "report", "--assessment", itoaTest(int64(first.AssessmentID)), "--lang", "en", "-o", pdf)
	if txt := pdftotext(t, pdf); !strings.Contains(txt, "Binh Bao") || strings.Contains(txt, "Chi Cuong") {
		t.Errorf("report of Binh's assessment:\n%s", txt)
	}
	// history goes through the same resolution.
	if code, _, stderr := run(t, "--data", data, "history", "2"); code != 1 || !strings.Contains(stderr, "code:2") {
		t.Errorf("ambiguous history 2: exit %d %s", code, stderr)
	}
}

func TestAssessOnAnotherPatientsLesionIsRefused(t *testing.T) {
	data := t.TempDir()
	photo := filepath.Join(fixtures, "ISIC_0024311.png")
	mustRun(t, "--data", data, "patients", "add", "--name", "An Anh", "--code", "A")
	mustRun(t, "--data", data, "patients", "add", "--name", "Binh Bao", "--code", "B")
	l := assessJSON(t, "--data", data, "assess", "--json", "--patient", "B", "--site", "back", photo).LesionID
	code, _, stderr := run(t, "--data", data, "assess", "--patient", "A", "--lesion", itoaTest(int64(l)), photo)
	if code != 1 || !strings.Contains(stderr, "another patient") || !strings.Contains(stderr, "Binh Bao") {
		t.Errorf("assess A on B's lesion: exit %d %s", code, stderr)
	}
	_, out, _ := run(t, "--data", data, "history", "--json", "A")
	if !strings.Contains(out, `"assessments":[]`) {
		t.Errorf("A's history after the refusal: %s", out)
	}
}

func TestSimilarNewPatientIsRefusedUntilConfirmed(t *testing.T) {
	data := t.TempDir()
	mustRun(t, "--data", data, "patients", "add", "--name", "Nguyễn Thị Hồng", "--code", "BN-1", "--birth-year", "1961", "--phone", "0912 345 678")
	for _, args := range [][]string{
		{"--name", "nguyen thi hong", "--code", "BN-9", "--birth-year", "1961"}, // same folded name and year
		{"--name", "Hồng N.", "--code", "BN-9", "--phone", "+84 912-345-678"},   // same phone
	} {
		code, _, stderr := run(t, append([]string{"--data", data, "patients", "add"}, args...)...)
		if code != 1 || !strings.Contains(stderr, "BN-1") || !strings.Contains(stderr, "--allow-similar") {
			t.Errorf("%v: exit %d %s", args, code, stderr)
		}
	}
	mustRun(t, "--data", data, "patients", "add", "--name", "Nguyễn Thị Hồng", "--code", "BN-2", "--birth-year", "1990")
	mustRun(t, "--data", data, "patients", "add", "--allow-similar", "--name", "Nguyễn Thị Hồng", "--code", "BN-3", "--birth-year", "1961")
}

func TestHostileTextIsRefusedAndNeverReachesTheTerminal(t *testing.T) {
	data := t.TempDir()
	for name, value := range map[string]string{
		"terminal escape": "Evil\x1b[2J",
		"bell":            "Ring\a",
		"carriage return": "A\rB",
		"new line":        "A\nB",
		"invalid UTF-8":   "Bad\xff",
		"bidi override":   "Abc\u202Edcb",
		"zero-width":      "Hoa\u200Bng",
	} {
		if code, _, stderr := run(t, "--data", data, "patients", "add", "--name", value, "--code", "X-"+name); code != 1 || !strings.Contains(stderr, "name") {
			t.Errorf("%s: exit %d %s", name, code, stderr)
		}
		if code, _, _ := run(t, "--data", data, "patients", "add", "--name", "Ok", "--code", value); code != 1 {
			t.Errorf("%s in a code: exit %d", name, code)
		}
	}
	// Limits are characters: a 150-character Vietnamese name is ~3 bytes a character.
	long := strings.Repeat("Ễ", 150)
	if code, _, stderr := run(t, "--data", data, "patients", "add", "--name", long, "--code", "L1"); code != 0 {
		t.Errorf("150-character name refused: %s", stderr)
	}
	if code, _, stderr := run(t, "--data", data, "patients", "add", "--name", strings.Repeat("Ễ", 201), "--code", "L2"); code != 1 || !strings.Contains(stderr, "201 characters") {
		t.Errorf("201-character name: exit %d %s", code, stderr)
	}
	// Codes that differ only in case or width are one code.
	for _, c := range []string{"l1", "Ｌ１"} {
		if code, _, stderr := run(t, "--data", data, "patients", "add", "--name", "Other", "--code", c); code != 1 || !strings.Contains(stderr, "clinic code") {
			t.Errorf("code %q beside L1: exit %d %s", c, code, stderr)
		}
	}
	_, out, _ := run(t, "--data", data, "patients", "list")
	if strings.ContainsAny(out, "\x1b\a\r") {
		t.Errorf("list prints control characters: %q", out)
	}
}

func TestRestoreOntoANewLaptopAndTwiceInOneSecond(t *testing.T) {
	data := t.TempDir()
	mustRun(t, "--data", data, "patients", "add", "--name", "Trần Văn Minh", "--code", "R1")
	backup := filepath.Join(t.TempDir(), "b.db")
	mustRun(t, "--data", data, "backup", "--unencrypted", backup)
	// A new laptop: the data folder does not exist yet.
	fresh := filepath.Join(t.TempDir(), "not", "yet")
	mustRun(t, "--data", fresh, "restore", backup)
	if _, out, _ := run(t, "--data", fresh, "patients", "list"); !strings.Contains(out, "Trần Văn Minh") {
		t.Errorf("after restoring onto a new folder: %q", out)
	}
	// Two restores in a row keep both previous databases.
	mustRun(t, "--data", fresh, "patients", "add", "--name", "Only Here", "--code", "R2")
	mustRun(t, "--data", fresh, "restore", backup)
	mustRun(t, "--data", fresh, "restore", backup)
	kept, _ := filepath.Glob(filepath.Join(fresh, "dermal.db.before-restore-*"))
	var dbs []string
	for _, k := range kept {
		if !strings.HasSuffix(k, "-wal") && !strings.HasSuffix(k, "-shm") {
			dbs = append(dbs, k)
		}
	}
	if len(dbs) != 2 {
		t.Fatalf("kept %v, want 2 previous databases", dbs)
	}
	found := false
	for _, k := range dbs {
		b, _ := os.ReadFile(k)
		found = found || strings.Contains(string(b), "Only Here")
	}
	if !found {
		t.Errorf("the records before the first restore are gone")
	}
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, stderr := run(t, args...)
	if code != 0 {
		t.Fatalf("dermal %v: exit %d %s", args, code, stderr)
	}
	return out
}

func assessJSON(t *testing.T, args ...string) AssessOutput {
	t.Helper()
	var a AssessOutput
	if err := json.Unmarshal([]byte(mustRun(t, args...)), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func itoaTest(i int64) string { return strconv.FormatInt(i, 10) }

func pdftotext(t *testing.T, pdf string) string {
	t.Helper()
	tool := testtool.Need(t, "pdftotext")[0]
	out, err := exec.Command(tool, pdf, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// Item 12: an edited card under the shipped model's name is refused; under a name of its own
// it runs, and the records name what really ran (its name and the card's own SHA-256).
func TestEditedModelCardCannotPoseAsTheShippedOne(t *testing.T) {
	dir := t.TempDir()
	ood, err := os.ReadFile("../assets/ood-pca.bin")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "ood-pca.bin"), ood, 0o644)
	shipped, err := os.ReadFile("../assets/model.json")
	if err != nil {
		t.Fatal(err)
	}
	edit := func(name string, f func(map[string]any)) string {
		var c map[string]any
		if err := json.Unmarshal(shipped, &c); err != nil {
			t.Fatal(err)
		}
		f(c)
		b, _ := json.Marshal(c)
		path := filepath.Join(dir, name+".json")
		os.WriteFile(path, b, 0o644)
		return path
	}
	edits := map[string]func(map[string]any){
		"temperature x8": func(c map[string]any) { c["temperature"] = c["temperature"].(float64) * 8 },
		"malignant bias": func(c map[string]any) {
			bias := c["logit_bias"].([]any)
			for i, l := range c["labels"].([]any) {
				if l == "mel" || l == "bcc" || l == "akiec" {
					bias[i] = bias[i].(float64) - 50
				}
			}
		},
		"permuted labels": func(c map[string]any) { l := c["labels"].([]any); l[0], l[4] = l[4], l[0] },
		"OOD threshold":   func(c map[string]any) { c["ood"].(map[string]any)["threshold"] = 99.0 },
	}
	photo := filepath.Join(fixtures, "ISIC_0024311.png")
	for name, f := range edits {
		card := edit("posing", f)
		code, _, stderr := run(t, "--model", "../assets/dermal-int8.onnx", "--card", card, "classify", photo)
		if code != 1 || !strings.Contains(stderr, "shipped") {
			t.Errorf("%s under the shipped name: exit %d %s", name, code, stderr)
		}
	}
	// The shipped card itself, from a file, is the shipped model.
	if code, _, stderr := run(t, "--model", "../assets/dermal-int8.onnx", "--card", "../assets/model.json", "classify", photo); code != 0 {
		t.Errorf("the shipped card from its file: %s", stderr)
	}
	renamed := edit("experiment", func(c map[string]any) { edits["temperature x8"](c); c["name"] = "clinic-experiment" })
	cardBytes, _ := os.ReadFile(renamed)
	data := t.TempDir()
	mustRun(t, "--data", data, "patients", "add", "--name", "Thử Nghiệm", "--code", "E1")
	a := assessJSON(t, "--data", data, "--model", "../assets/dermal-int8.onnx", "--card", renamed, "assess", "--json", "--patient", "E1", photo)
	if a.Model.Name != "clinic-experiment" {
		t.Errorf("assessment names model %+v", a.Model)
	}
	var h struct{ Assessments []HistoryItem }
	json.Unmarshal([]byte(mustRun(t, "--data", data, "history", "--json", "E1")), &h)
	if len(h.Assessments) != 1 || !strings.HasPrefix(h.Assessments[0].Model, "clinic-experiment ") ||
		h.Assessments[0].ModelCard != inference.SHA256Hex(cardBytes) {
		t.Errorf("stored: %+v, want the card's own sha256 %s", h.Assessments, inference.SHA256Hex(cardBytes))
	}
}

// Records an older version's setup left half done (kill -9 after the data key row, before the
// admin's wrapped key) are refused to every records command, naming the cause, and `setup`
// sets them up afresh; the recovery key is printed before anything is stored.
func TestInterruptedSetupIsRefusedThenSetUpAgain(t *testing.T) {
	data := t.TempDir()
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("admin password\n"), 0o600)
	run(t, "--data", data, "patients", "add", "--name", "Before Setup", "--code", "OLD-1")
	s, err := storage.Open(filepath.Join(data, "dermal.db"), "test")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.SetRecoveryWrapped(ctx, "never shown"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(ctx, storage.User{Name: "admin", Role: "admin"}, "$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if code, _, stderr := run(t, "--data", data, "patients", "list"); code == 0 || !strings.Contains(stderr, "setup of these records was interrupted") {
		t.Errorf("half set-up records read without a login: exit %d %s", code, stderr)
	}
	code, out, stderr := run(t, "--data", data, "setup", "--clinic", "Trạm Y tế", "--admin", "admin", "--password-file", pw)
	if code != 0 {
		t.Fatalf("setup again: %s", stderr)
	}
	if k, d := strings.Index(out, "RECOVERY KEY"), strings.Index(out, "set up Trạm Y tế"); k < 0 || d < 0 || k > d {
		t.Errorf("the recovery key is not printed first: %q", out)
	}
	if code, out, stderr := run(t, "--data", data, "--user", "admin", "--password-file", pw, "patients", "list"); code != 0 || !strings.Contains(out, "Before Setup") {
		t.Errorf("after setting up again: exit %d %s %s", code, out, stderr)
	}
}

// An encrypted backup restores onto a new laptop, whose data folder does not exist yet (it
// failed: "open …/.dermal-restore-….db: no such file or directory"); no decrypted copy is left.
func TestEncryptedRestoreOntoANewLaptop(t *testing.T) {
	data := t.TempDir()
	pass := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600)
	mustRun(t, "--data", data, "patients", "add", "--name", "Phan Thị Thu", "--code", "E1")
	backup := filepath.Join(t.TempDir(), "b.db.age")
	mustRun(t, "--data", data, "backup", "--passphrase-file", pass, backup)
	fresh := filepath.Join(t.TempDir(), "new", "laptop")
	if code, _, stderr := run(t, "--data", fresh, "restore", "--passphrase-file", pass, backup); code != 0 {
		t.Fatalf("encrypted restore onto a new folder: %s", stderr)
	}
	if _, out, _ := run(t, "--data", fresh, "patients", "list"); !strings.Contains(out, "Phan Thị Thu") {
		t.Errorf("after the restore: %q", out)
	}
	if left, _ := filepath.Glob(filepath.Join(fresh, ".dermal-*")); len(left) != 0 {
		t.Errorf("plain copies left: %v", left)
	}
}

// Plain copies that a killed backup or restore left beside the records are removed at the next
// start (a full plain copy of the records outlived the kill, readable by others).
func TestPlainLeftoversAreRemovedAtTheNextStart(t *testing.T) {
	data := t.TempDir()
	mustRun(t, "--data", data, "patients", "add", "--name", "Vũ Văn Kiên", "--code", "L1")
	for _, name := range []string{".dermal-backup-123.db", ".dermal-restore-456.db"} {
		os.WriteFile(filepath.Join(data, name), []byte("a plain copy of every record"), 0o644)
	}
	mustRun(t, "--data", data, "patients", "list")
	if left, _ := filepath.Glob(filepath.Join(data, ".dermal-*.db")); len(left) != 0 {
		t.Errorf("left after the next start: %v", left)
	}
}

// The records-trust issue's tampering through sqlite3: an urgent assessment changed to routine
// is named by `dermal verify` (exit 1), and history and the report refuse to show it.
func TestEditedAssessmentIsRefusedWhenShownAndNamedByVerify(t *testing.T) {
	t.Setenv("DERMAL_ANCHOR_DIR", t.TempDir())
	data := t.TempDir()
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("admin password\n"), 0o600)
	if code, _, stderr := run(t, "--data", data, "setup", "--clinic", "Trạm Y tế", "--admin", "admin", "--password-file", pw); code != 0 {
		t.Fatalf("setup: %s", stderr)
	}
	as := func(args ...string) (int, string, string) {
		return run(t, append([]string{"--data", data, "--user", "admin", "--password-file", pw}, args...)...)
	}
	as("patients", "add", "--name", "Đỗ Văn Tâm", "--code", "T1")
	code, out, stderr := as("assess", "--json", "--patient", "T1", filepath.Join(fixtures, "ISIC_0024367.png"))
	if code != 0 || !strings.Contains(out, `"risk_tier":"urgent"`) {
		t.Fatalf("assess: %s %s", out, stderr)
	}
	if code, out, _ := as("backup", "--unencrypted", filepath.Join(t.TempDir(), "b.db")); code != 0 || !strings.Contains(out, "audit trail head: row") {
		t.Errorf("backup does not print the trail's head: %s", out)
	}
	if code, out, stderr := as("verify"); code != 0 {
		t.Fatalf("untouched records: %s %s", out, stderr)
	}
	// The report prints the trail's head too.
	pdf := filepath.Join(t.TempDir(), "r.pdf")
	if code, _, stderr := as("report", "--assessment", "1", "-o", pdf); code != 0 {
		t.Fatal(stderr)
	}
	if txt := pdftotext(t, pdf); !strings.Contains(strings.Join(strings.Fields(txt), " "), "Audit trail: row") {
		t.Error("the report does not print the audit trail's head")
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "dermal.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE assessments SET risk_tier = 'routine'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if code, out, _ := as("verify"); code != 1 || !strings.Contains(out, "assessment 1 no longer matches its seal") {
		t.Errorf("verify after the edit: exit %d %s", code, out)
	}
	if code, _, stderr := as("history", "T1"); code == 0 || !strings.Contains(stderr, "changed outside Dermal") {
		t.Errorf("history of the edited assessment: exit %d %s", code, stderr)
	}
	if code, _, stderr := as("report", "--assessment", "1", "-o", filepath.Join(t.TempDir(), "r.pdf")); code == 0 || !strings.Contains(stderr, "changed outside Dermal") {
		t.Errorf("report of the edited assessment: exit %d %s", code, stderr)
	}
}

// A restore is written into the restored records' own trail (it appeared in neither), by the
// administrator who restored, naming the backup and where the replaced records are kept; the
// trail still verifies.
func TestRestoreIsInTheRestoredTrail(t *testing.T) {
	t.Setenv("DERMAL_ANCHOR_DIR", t.TempDir())
	data := t.TempDir()
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("admin password\n"), 0o600)
	mustRun(t, "--data", data, "setup", "--clinic", "Trạm Y tế", "--admin", "admin", "--password-file", pw)
	as := func(args ...string) (int, string, string) {
		return run(t, append([]string{"--data", data, "--user", "admin", "--password-file", pw}, args...)...)
	}
	as("patients", "add", "--name", "Lâm Văn Bền", "--code", "R9")
	backup := filepath.Join(t.TempDir(), "monday.db")
	if code, _, stderr := as("backup", "--unencrypted", backup); code != 0 {
		t.Fatal(stderr)
	}
	as("patients", "add", "--name", "Later", "--code", "R10")
	if code, _, stderr := as("restore", backup); code != 0 {
		t.Fatalf("restore: %s", stderr)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "dermal.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var actor, detail string
	err = db.QueryRow(`SELECT actor, detail FROM audit WHERE action = 'restore' ORDER BY id DESC LIMIT 1`).Scan(&actor, &detail)
	db.Close()
	if err != nil || actor != "admin" || !strings.Contains(detail, "restored from monday.db") || !strings.Contains(detail, "before-restore") {
		t.Errorf("the restore in the trail: %q %q %v", actor, detail, err)
	}
	if code, out, stderr := as("verify"); code != 0 {
		t.Errorf("verify after the restore: %s %s", out, stderr)
	}
}
