package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// copyFixture copies a fixture photo into dir under name.
func copyFixture(t *testing.T, fixture, dir, name string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, fixture))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// The scale issue's batch entry: a clinic's list from paper, saved from Excel (a BOM,
// Vietnamese names), with old photos and their dates. A dry run imports nothing; the import
// enters every patient and visit under one login with the photos' own dates; run again, it
// enters nothing twice.
func TestImportFromCSV(t *testing.T) {
	data := t.TempDir()
	dir := t.TempDir()
	copyFixture(t, "ISIC_0024311.png", dir, "a1.png")
	copyFixture(t, "ISIC_0024318.png", dir, "a2.png")
	copyFixture(t, "ISIC_0024367.png", dir, "b1.png")
	csvText := "\uFEFFcode,full_name,sex,birth_year,phone,photo,site,taken_at,photo_type,diagnosis,lesion\n" +
		"GIAY-001,Nguyễn Thị Hồng,F,1961,0912 345 678,a1.png,back,2025-03-02,dermoscopic,,nốt ruồi lưng\n" +
		"GIAY-001,Nguyễn Thị Hồng,,,,a2.png,back,2025-09-14,,naevus,nốt ruồi lưng\n" +
		"GIAY-002,Trần Văn Bảy,M,1948,,b1.png,acral,2024-11-30,dermoscopic,,\n" +
		"GIAY-003,Lê Thị Tư,F,1990,,,,,,,\n"
	file := filepath.Join(dir, "benh-nhan.csv")
	os.WriteFile(file, []byte(csvText), 0o600)
	if code, out, stderr := run(t, "--data", data, "import", "--dry-run", file); code != 0 || !strings.Contains(out, "3 patients (3 new") || !strings.Contains(out, "3 visits") {
		t.Fatalf("dry run: exit %d %q %s", code, out, stderr)
	}
	if _, out, _ := run(t, "--data", data, "patients", "list"); strings.Contains(out, "GIAY") {
		t.Fatalf("the dry run imported: %s", out)
	}
	if code, out, stderr := run(t, "--data", data, "import", file); code != 0 || !strings.Contains(out, "3 patients added, 3 visits entered") {
		t.Fatalf("import: exit %d %q %s", code, out, stderr)
	}
	_, js, _ := run(t, "--data", data, "history", "--json", "GIAY-001")
	var h struct {
		Assessments []HistoryItem `json:"assessments"`
	}
	if err := json.Unmarshal([]byte(js), &h); err != nil {
		t.Fatalf("%v: %s", err, js)
	}
	var days []string
	for _, it := range h.Assessments {
		days = append(days, it.TakenAt[:10])
	}
	if len(h.Assessments) != 2 || !strings.Contains(strings.Join(days, " "), "2025-03-02") || !strings.Contains(strings.Join(days, " "), "2025-09-14") {
		t.Fatalf("GIAY-001's visits: %v", days)
	}
	// One lesion seen twice (the same "lesion" label), not two lesions.
	if h.Assessments[0].LesionID != h.Assessments[1].LesionID {
		t.Errorf("the two visits of one labelled lesion are lesions %d and %d", h.Assessments[0].LesionID, h.Assessments[1].LesionID)
	}
	if code, out, _ := run(t, "--data", data, "import", file); code != 0 || !strings.Contains(out, "0 patients added, 0 visits entered (3 were there already)") {
		t.Errorf("the import run again: exit %d %q", code, out)
	}
}

// A file with bad rows imports nothing and names every problem with its line.
func TestImportRefusesABadFileWhole(t *testing.T) {
	data := t.TempDir()
	dir := t.TempDir()
	copyFixture(t, "ISIC_0024311.png", dir, "ok.png")
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a photo"), 0o600)
	future := time.Now().AddDate(0, 1, 0).Format("2006-01-02")
	csvText := "code,full_name,birth_year,photo,site,taken_at\n" +
		"P1,Phạm Văn Một,19x5,,,\n" +
		"P2,Phạm Văn Hai,1970,missing.png,back,2025-01-01\n" +
		"P3,Phạm Văn Ba,1970,ok.png,elbow,2025-01-01\n" +
		"P4,Phạm Văn Bốn,1970,ok.png,back," + future + "\n" +
		"P5,Phạm Văn Năm,1970,notes.txt,back,2025-01-01\n" +
		",Không Mã,1970,,,\n" +
		"P1,Phạm Văn Khác,,,,\n"
	file := filepath.Join(dir, "bad.csv")
	os.WriteFile(file, []byte(csvText), 0o600)
	code, _, stderr := run(t, "--data", data, "import", file)
	if code == 0 {
		t.Fatal("a bad file was imported")
	}
	for _, want := range []string{"line 2: birth_year", "line 3: photo missing.png", "line 4: site \"elbow\"", "line 5: taken_at " + future + " is in the future",
		"line 6: photo notes.txt is not a photo", "line 7: code and full_name are required", "line 8: code P1 is Phạm Văn Một on an earlier line", "nothing was imported"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the message does not say %q:\n%s", want, stderr)
		}
	}
	if _, out, _ := run(t, "--data", data, "patients", "list"); strings.Contains(out, "Phạm") {
		t.Errorf("a bad file imported some rows: %s", out)
	}
	os.WriteFile(file, []byte("code,fullname\nP1,X\n"), 0o600)
	if code, _, stderr := run(t, "--data", data, "import", file); code == 0 || !strings.Contains(stderr, `unknown column "fullname"`) {
		t.Errorf("a misspelt column: exit %d %s", code, stderr)
	}
	// A code already in the records is the same person, or the import is refused.
	run(t, "--data", data, "patients", "add", "--name", "Đỗ Văn Có", "--code", "X1")
	os.WriteFile(file, []byte("code,full_name\nX1,Đỗ Văn Khác\n"), 0o600)
	if code, _, stderr := run(t, "--data", data, "import", file); code == 0 || !strings.Contains(stderr, "code X1 is Đỗ Văn Có in the records") {
		t.Errorf("a code of another person: exit %d %s", code, stderr)
	}
}
