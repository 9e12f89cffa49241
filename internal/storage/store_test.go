package storage

import (
	"bytes"
	"context"
	"database/sql"
	"dermal/internal/version"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
)

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Nguyễn Thị Hồng": "nguyen thi hong",
		"ĐẶNG  Văn  Lâm":  "dang van lam",
		"  Trần\tQuốc ":   "tran quoc",
		"BN-0042":         "bn-0042",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// testThumb is the thumbnail of a photo file, as the clinic layer makes it from its decode.
func testThumb(t testing.TB, photo []byte) []byte {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(photo))
	if err != nil {
		t.Fatal(err)
	}
	th, err := Thumbnail(img)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dermal.db")
	s, err := Open(path, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestPatientsSearchIgnoresCaseAndDiacritics(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	decomposed := norm.NFD.String("Nguyễn Thị Hồng")
	id, err := s.AddPatient(ctx, Patient{Code: "BN-001", FullName: decomposed, Sex: "F", BirthYear: 1961, Phone: "0912 345 678"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPatient(ctx, Patient{Code: "BN-002", FullName: "Đặng Văn Lâm"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPatient(ctx, Patient{Code: "BN-003", FullName: "Trần Quốc Tuấn"}); err != nil {
		t.Fatal(err)
	}
	p, err := s.PatientByCode(ctx, "BN-001")
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != id || p.FullName != "Nguyễn Thị Hồng" || !norm.NFC.IsNormalString(p.FullName) {
		t.Errorf("stored %q (NFC %v), want the NFC name", p.FullName, norm.NFC.IsNormalString(p.FullName))
	}
	cases := map[string][]string{
		"nguyen thi hong": {"BN-001"},
		"HỒNG":            {"BN-001"},
		"dang":            {"BN-002"},
		"bn-00":           {"BN-001", "BN-002", "BN-003"},
		"345 678":         {"BN-001"},
		"tran lam":        nil,
		"":                {"BN-001", "BN-002", "BN-003"},
	}
	for q, want := range cases {
		got, err := s.SearchPatients(ctx, q, 50)
		if err != nil {
			t.Fatal(err)
		}
		var codes []string
		for _, p := range got {
			codes = append(codes, p.Code)
		}
		if !sameSet(codes, want) {
			t.Errorf("search %q: %v, want %v", q, codes, want)
		}
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

func TestBadPatientsAreRefusedWholly(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if _, err := s.AddPatient(ctx, Patient{Code: "BN-1", FullName: "Lê Thị Mai"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		p    Patient
		want error
	}{
		{"duplicate code", Patient{Code: "BN-1", FullName: "Someone Else"}, ErrDuplicateCode},
		{"duplicate code in another normal form", Patient{Code: norm.NFD.String("BN-1"), FullName: "X"}, ErrDuplicateCode},
		{"empty name", Patient{Code: "BN-2", FullName: "   "}, ErrInvalid},
		{"birth year in the future", Patient{Code: "BN-3", FullName: "A", BirthYear: 2999}, ErrInvalid},
		{"birth year absurd", Patient{Code: "BN-4", FullName: "A", BirthYear: 1200}, ErrInvalid},
		{"1 MB notes", Patient{Code: "BN-5", FullName: "A", Notes: strings.Repeat("x", 1<<20)}, ErrInvalid},
		{"bad sex", Patient{Code: "BN-6", FullName: "A", Sex: "X"}, ErrInvalid},
	}
	for _, tc := range cases {
		if _, err := s.AddPatient(ctx, tc.p); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	all, err := s.SearchPatients(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Errorf("%d patients after refused writes, want 1", len(all))
	}
	var audits int
	if err := s.db.QueryRow(`SELECT count(*) FROM audit`).Scan(&audits); err != nil || audits != 1 {
		t.Errorf("%d audit rows (%v), want 1", audits, err)
	}
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	if _, err := s.AddPatient(ctx, Patient{Code: "K1", FullName: "Phạm Văn Đồng"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(path, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	v, err := s2.SchemaVersion()
	if err != nil || v != len(migrations) {
		t.Fatalf("schema %d (%v), want %d", v, err, len(migrations))
	}
	if p, err := s2.PatientByCode(ctx, "K1"); err != nil || p.FullName != "Phạm Văn Đồng" {
		t.Fatalf("after reopen: %+v %v", p, err)
	}
	if _, err := s2.db.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if _, err := Open(path, "test"); !errors.Is(err, ErrTooNew) {
		t.Errorf("newer schema: %v, want ErrTooNew", err)
	}
}

func TestAuditIsAppendOnly(t *testing.T) {
	s, _ := openTemp(t)
	if _, err := s.AddPatient(context.Background(), Patient{Code: "A1", FullName: "A"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE audit SET actor = 'mallory'`); err == nil {
		t.Error("audit row was updated")
	}
	if _, err := s.db.Exec(`DELETE FROM audit`); err == nil {
		t.Error("audit row was deleted")
	}
}

func TestBlobsAreContentAddressed(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	photo := []byte("\xff\xd8 pretend JPEG bytes")
	var shas []string
	for i := 0; i < 2; i++ {
		shas = append(shas, putBlob(t, s, photo))
	}
	var n int
	s.db.QueryRow(`SELECT count(*) FROM blobs`).Scan(&n)
	if shas[0] != shas[1] || n != 1 {
		t.Errorf("same photo stored %d times under %v", n, shas)
	}
	got, err := s.Blobs().Get(ctx, shas[0])
	if err != nil || string(got) != string(photo) {
		t.Fatalf("get: %q %v", got, err)
	}
	if _, err := s.db.Exec(`UPDATE blobs SET data = X'00'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Blobs().Get(ctx, shas[0]); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("damaged photo not detected: %v", err)
	}
}

// putBlob stores a photo's bytes in a transaction of their own and returns their name.
func putBlob(t *testing.T, s *Store, data []byte) string {
	t.Helper()
	tx, err := s.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	sha, err := s.Blobs().Put(context.Background(), tx, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return sha
}

// A blob read keeps its bytes after the next reads (Blobs.Get scans the driver's own slice
// instead of copying it: this fails if a driver upgrade starts reusing that memory).
func TestBlobReadsKeepTheirBytes(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	photos := [][]byte{bytes.Repeat([]byte("first photo "), 5000), bytes.Repeat([]byte("second photo "), 5000)}
	var shas []string
	for _, p := range photos {
		shas = append(shas, putBlob(t, s, p))
	}
	first, err := s.Blobs().Get(ctx, shas[0])
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.Blobs().Get(ctx, shas[1]); err != nil {
			t.Fatal(err)
		}
		var n int
		s.db.QueryRow(`SELECT count(*) FROM blobs`).Scan(&n)
	}
	if !bytes.Equal(first, photos[0]) {
		t.Error("a photo's bytes changed after later reads: the driver reuses the memory it scans into")
	}
}

func TestAssessmentsAreSavedWhole(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	pid, err := s.AddPatient(ctx, Patient{Code: "P1", FullName: "Võ Thị Sáu"})
	if err != nil {
		t.Fatal(err)
	}
	lid, err := s.AddLesion(ctx, Lesion{PatientID: pid, BodySite: "back", SiteDetail: "left scapula"})
	if err != nil {
		t.Fatal(err)
	}
	photo, err := os.ReadFile("../inference/testdata/fixtures/ISIC_0024311.png")
	if err != nil {
		t.Fatal(err)
	}
	follow := time.Now().AddDate(0, 3, 0)
	good := Assessment{LesionID: lid, Photo: photo, ModelName: "m", ModelSHA256: strings.Repeat("a", 64), ModelCardSHA256: strings.Repeat("e", 64),
		Probabilities: map[string]float64{"nv": 0.9, "mel": 0.1}, RiskTier: "review", Warnings: []string{"blurry"},
		Diagnosis: norm.NFD.String("nốt ruồi"), FollowUp: &follow}
	thumb := testThumb(t, photo)
	id, err := s.SaveAssessment(ctx, pid, good, thumb)
	if err != nil {
		t.Fatal(err)
	}
	counts := func() (blobs, assessments int) {
		s.db.QueryRow(`SELECT count(*) FROM blobs`).Scan(&blobs)
		s.db.QueryRow(`SELECT count(*) FROM assessments`).Scan(&assessments)
		return
	}
	b0, a0 := counts()
	bad := []struct {
		name string
		edit func(*Assessment)
	}{
		{"no photo", func(a *Assessment) { a.Photo = nil }},
		{"unknown lesion", func(a *Assessment) { a.LesionID = 999 }},
		{"1 MB notes", func(a *Assessment) { a.Notes = strings.Repeat("n", 1<<20) }},
		{"absurd follow-up", func(a *Assessment) { f := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC); a.FollowUp = &f }},
		{"no model", func(a *Assessment) { a.ModelSHA256 = "" }},
		{"no model card", func(a *Assessment) { a.ModelCardSHA256 = "" }},
		{"control character in the diagnosis", func(a *Assessment) { a.Diagnosis = "mel\x1b[2J" }},
	}
	for _, tc := range bad {
		a := good
		a.Photo = append([]byte("x"), photo...) // a new photo, so a half-write would add a blob
		tc.edit(&a)
		if _, err := s.SaveAssessment(ctx, pid, a, thumb); err == nil {
			t.Errorf("%s: saved", tc.name)
		}
		if b, n := counts(); b != b0 || n != a0 {
			t.Errorf("%s: left %d blobs and %d assessments, want %d and %d", tc.name, b, n, b0, a0)
		}
	}
	h, err := s.History(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 || h[0].Assessment.ID != id || h[0].Lesion.BodySite != "back" || h[0].Assessment.Diagnosis != "nốt ruồi" ||
		h[0].Assessment.Probabilities["nv"] != 0.9 || h[0].Assessment.FollowUp == nil {
		t.Fatalf("history %+v", h)
	}
	got, err := s.Blobs().Get(ctx, h[0].Assessment.PhotoSHA256)
	if err != nil || !bytes.Equal(got, photo) {
		t.Errorf("stored photo differs from the one captured (%v)", err)
	}
	storedThumb, err := s.Blobs().Get(ctx, h[0].Assessment.ThumbSHA256)
	if err != nil {
		t.Fatal(err)
	}
	if img, _, err := image.Decode(bytes.NewReader(storedThumb)); err != nil || max(img.Bounds().Dx(), img.Bounds().Dy()) != ThumbnailSide {
		t.Errorf("thumbnail: %v %v", img.Bounds(), err)
	}
	if _, err := s.AddLesion(ctx, Lesion{PatientID: pid, BodySite: "elbow"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown body site: %v", err)
	}
}

func TestBackupRestoreAndCorruptFiles(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	if _, err := s.AddPatient(ctx, Patient{Code: "B1", FullName: "Before Backup"}); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := s.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, backup); err == nil {
		t.Error("backup overwrote an existing file")
	}
	if _, err := s.AddPatient(ctx, Patient{Code: "A1", FullName: "After Backup"}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// A damaged or foreign backup is refused and nothing is replaced.
	junk := filepath.Join(t.TempDir(), "junk.db")
	os.WriteFile(junk, []byte("this is a spreadsheet, honest"), 0o644)
	if _, err := Restore(junk, path); !errors.Is(err, ErrCorrupt) {
		t.Errorf("restoring junk: %v", err)
	}
	kept, err := Restore(backup, path)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.PatientByCode(ctx, "B1"); err != nil {
		t.Errorf("restored database lacks the backed-up patient: %v", err)
	}
	if _, err := s2.PatientByCode(ctx, "A1"); err == nil {
		t.Error("restored database has a patient added after the backup")
	}
	old, err := Open(kept, "test")
	if err != nil {
		t.Fatalf("previous database not kept usable at %s: %v", kept, err)
	}
	defer old.Close()
	if _, err := old.PatientByCode(ctx, "A1"); err != nil {
		t.Errorf("kept database lost its data: %v", err)
	}

	// Opening a file that is not a database never overwrites it.
	if _, err := Open(junk, "test"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("opening junk: %v", err)
	}
	if b, _ := os.ReadFile(junk); string(b) != "this is a spreadsheet, honest" {
		t.Error("a foreign file was modified")
	}
	// A database with a damaged page fails the check and stays as it was.
	damaged := filepath.Join(t.TempDir(), "damaged.db")
	data, _ := os.ReadFile(backup)
	pageSize := int(data[16])<<8 | int(data[17])
	for off := pageSize; off < len(data); off += pageSize {
		data[off] = 0xff // not a valid b-tree page type
	}
	os.WriteFile(damaged, data, 0o644)
	before, _ := os.ReadFile(damaged)
	if ds, err := Open(damaged, "test"); err == nil {
		// Opening is fast and reads may start; the full check runs behind, and writes wait for it.
		if err := ds.Verify(); !errors.Is(err, ErrCorrupt) {
			t.Errorf("verifying a damaged database: %v", err)
		}
		if _, err := ds.AddPatient(ctx, Patient{Code: "W", FullName: "Write"}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("writing to a damaged database: %v", err)
		}
		ds.Close()
	} else if !errors.Is(err, ErrCorrupt) {
		t.Errorf("opening a damaged database: %v", err)
	}
	if after, _ := os.ReadFile(damaged); !bytes.Equal(before, after) {
		t.Error("the damaged database was modified")
	}
	// Another program's SQLite database is refused, not migrated.
	foreign := filepath.Join(t.TempDir(), "foreign.db")
	fdb, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	fdb.Exec(`CREATE TABLE invoices (n INTEGER)`)
	fdb.Close()
	if _, err := Open(foreign, "test"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("opening a foreign database: %v", err)
	}
}

func TestDeleteSoftAndHard(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	photo, err := os.ReadFile("../inference/testdata/fixtures/ISIC_0024311.png")
	if err != nil {
		t.Fatal(err)
	}
	shared := append([]byte{}, photo...)
	var ids []PatientID
	for _, code := range []string{"D1", "D2"} {
		pid, err := s.AddPatient(ctx, Patient{Code: code, FullName: "Patient " + code})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, pid)
		own := append(append([]byte{}, photo...), code...)
		for _, p := range [][]byte{own, shared} {
			if _, _, err := s.SaveAssessmentOfNewLesion(ctx, Lesion{PatientID: pid, BodySite: "face"}, Assessment{
				Photo: p, ModelName: "m", ModelSHA256: strings.Repeat("c", 64), ModelCardSHA256: strings.Repeat("e", 64), Probabilities: map[string]float64{"nv": 1}, RiskTier: "routine"}, testThumb(t, photo)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.DeletePatient(ctx, ids[0], false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PatientByCode(ctx, "D1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("soft-deleted patient still found: %v", err)
	}
	if found, _ := s.SearchPatients(ctx, "patient", 10); len(found) != 1 {
		t.Errorf("search shows %d patients after a soft delete, want 1", len(found))
	}
	if err := s.UndeletePatient(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if h, err := s.History(ctx, ids[0]); err != nil || len(h) != 2 {
		t.Fatalf("history after undelete: %d %v", len(h), err)
	}
	// A referred assessment with its outcome goes with the patient (the referrals row
	// references it: the hard delete failed on the foreign key before it removed them).
	h0 := mustHistory(t, s, ids[0])
	if _, err := s.AddReferral(ctx, Referral{AssessmentID: h0[0].Assessment.ID, ReferredTo: "Da liễu"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordOutcome(ctx, h0[0].Assessment.ID, OutcomeHistology, "bcc", time.Now()); err != nil {
		t.Fatal(err)
	}
	var blobsBefore int
	s.db.QueryRow(`SELECT count(*) FROM blobs`).Scan(&blobsBefore)
	if err := s.DeletePatient(ctx, ids[0], true); err != nil {
		t.Fatal(err)
	}
	var blobsAfter, rows int
	s.db.QueryRow(`SELECT count(*) FROM blobs`).Scan(&blobsAfter)
	s.db.QueryRow(`SELECT (SELECT count(*) FROM patients WHERE id = ?1) + (SELECT count(*) FROM lesions WHERE patient_id = ?1)`, ids[0]).Scan(&rows)
	// D1's own photo goes; the photo D2 also has, and the shared thumbnail, stay.
	if rows != 0 || blobsAfter != blobsBefore-1 {
		t.Errorf("after hard delete: %d rows left, blobs %d -> %d", rows, blobsBefore, blobsAfter)
	}
	if h, err := s.History(ctx, ids[1]); err != nil || len(h) != 2 {
		t.Fatalf("other patient's history: %d %v", len(h), err)
	}
	for _, h := range mustHistory(t, s, ids[1]) {
		if _, err := s.Blobs().Get(ctx, h.Assessment.PhotoSHA256); err != nil {
			t.Errorf("other patient's photo lost: %v", err)
		}
	}
}

func mustHistory(t *testing.T, s *Store, id PatientID) []HistoryEntry {
	h, err := s.History(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestMigratesEveryEarlierSchema creates a database at each earlier schema version, writes a
// patient, and opens it with the current code.
func TestMigratesEveryEarlierSchema(t *testing.T) {
	for v := 1; v < len(migrations); v++ {
		path := filepath.Join(t.TempDir(), "old.db")
		full := migrations
		migrations = full[:v]
		s, err := Open(path, "old")
		if err == nil {
			// As that version wrote it: the columns of schema 1, and from schema 3 on the
			// case-folded code key a program of that version filled in itself.
			insert := `INSERT INTO patients (code, full_name, search_key, created_at, updated_at) VALUES ('OLD', 'Từ Phiên Bản Cũ', 'tu phien ban cu old', '', '')`
			if v >= 3 {
				insert = `INSERT INTO patients (code, code_key, full_name, search_key, created_at, updated_at) VALUES ('OLD', 'old', 'Từ Phiên Bản Cũ', 'tu phien ban cu old', '', '')`
			}
			_, err = s.db.Exec(insert)
			s.Close()
		}
		migrations = full
		if err != nil {
			t.Fatalf("schema %d: %v", v, err)
		}
		s, err = Open(path, "new")
		if err != nil {
			t.Fatalf("migrating from %d: %v", v, err)
		}
		if got, _ := s.SchemaVersion(); got != len(migrations) {
			t.Errorf("from %d: now at %d, want %d", v, got, len(migrations))
		}
		// "old" finds "OLD": the migration gave existing codes their case-folded key.
		if p, err := s.PatientByCode(context.Background(), "old"); err != nil || p.FullName != "Từ Phiên Bản Cũ" {
			t.Errorf("from %d: patient %+v %v", v, p, err)
		}
		s.Close()
	}
}

func TestUpdatesAreValidatedAndAudited(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	a, _ := s.AddPatient(ctx, Patient{Code: "U1", FullName: "Lý Thường Kiệt"})
	if _, err := s.AddPatient(ctx, Patient{Code: "U2", FullName: "Other"}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdatePatient(ctx, Patient{ID: a, Code: "U2", FullName: "X"}); !errors.Is(err, ErrDuplicateCode) {
		t.Errorf("taking another patient's code: %v", err)
	}
	if err := s.UpdatePatient(ctx, Patient{ID: a, Code: "U1", FullName: norm.NFD.String("Lý Thường Kiệt"), Phone: "0123"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SearchPatients(ctx, "ly thuong kiet 0123", 5); len(got) != 1 || got[0].FullName != "Lý Thường Kiệt" {
		t.Errorf("after update: %+v", got)
	}
	photo, _ := os.ReadFile("../inference/testdata/fixtures/ISIC_0024311.png")
	_, aid, err := s.SaveAssessmentOfNewLesion(ctx, Lesion{PatientID: a, BodySite: "scalp"}, Assessment{Photo: photo, ModelName: "m",
		ModelSHA256: strings.Repeat("d", 64), ModelCardSHA256: strings.Repeat("e", 64), Probabilities: map[string]float64{"nv": 1}, RiskTier: "routine"}, testThumb(t, photo))
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().AddDate(-2, 0, 0)
	if err := s.RecordFindings(ctx, aid, Findings{FollowUp: &past}); !errors.Is(err, ErrInvalid) {
		t.Errorf("follow-up two years ago: %v", err)
	}
	next := time.Now().AddDate(0, 6, 0)
	if err := s.RecordFindings(ctx, aid, Findings{Diagnosis: "seborrhoeic keratosis", Notes: "stable", FollowUp: &next, GradCAMShown: true}); err != nil {
		t.Fatal(err)
	}
	h := mustHistory(t, s, a)
	if h[0].Assessment.Diagnosis != "seborrhoeic keratosis" || !h[0].Assessment.GradCAMShown || h[0].Assessment.FollowUp == nil {
		t.Errorf("findings not stored: %+v", h[0].Assessment)
	}
	var updates int
	s.db.QueryRow(`SELECT count(*) FROM audit WHERE action = 'update'`).Scan(&updates)
	if updates != 2 {
		t.Errorf("%d update audit rows, want 2", updates)
	}
}

func TestAge(t *testing.T) {
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ born, want int }{{1961, 65}, {2026, 0}, {0, 0}} {
		if got := (Patient{BirthYear: tc.born}).AgeAt(at); got != tc.want {
			t.Errorf("Age(%d) = %d, want %d", tc.born, got, tc.want)
		}
	}
}

// An upgrade keeps the trail an older Dermal wrote (its rows name no version) and every row
// written after it names the version that wrote it.
func TestUpgradeKeepsTheAuditTrailAndStampsTheVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v3.db")
	full := migrations
	migrations = full[:3]
	old, err := Open(path, "old")
	if err == nil {
		// As schema 3 wrote them: a patient and its audit row, with no version column.
		_, err = old.db.Exec(`INSERT INTO patients (code, code_key, full_name, search_key, created_at, updated_at) VALUES ('A1', 'a1', 'Lê Văn Cũ', 'le van cu a1', '', '');
			INSERT INTO audit (at, actor, action, entity, entity_id, detail) VALUES ('2026-11-01T08:00:00Z', 'old', 'create', 'patient', 1, 'A1')`)
		old.Close()
	}
	migrations = full
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, "new")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.AddPatient(context.Background(), Patient{Code: "B2", FullName: "Trần Thị Mới"})
	if err != nil {
		t.Fatal(err)
	}
	trail, err := s.AuditTrail(context.Background(), "patient", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(trail) != 2 {
		t.Fatalf("audit trail has %d rows, want the old one and the new one: %+v", len(trail), trail)
	}
	if trail[0].Actor != "old" || trail[0].Version != "" {
		t.Errorf("the old program's row became %+v", trail[0])
	}
	if trail[1].ID != int64(p) || trail[1].Version != version.String() || trail[1].Version == "" {
		t.Errorf("the new row is %+v, want version %q", trail[1], version.String())
	}
}

// The idle lock is kept with the records: the default until set, then the value set (0:
// never), each change in the audit trail; out of range is refused and changes nothing.
func TestLockMinutesAreTheClinicsSetting(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if m, err := s.LockMinutes(ctx); err != nil || m != DefaultLockMinutes {
		t.Fatalf("before any setting: %d, %v", m, err)
	}
	if err := s.SetLockMinutes(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLockMinutes(ctx, MaxLockMinutes+1); !errors.Is(err, ErrInvalid) {
		t.Errorf("%d minutes: %v", MaxLockMinutes+1, err)
	}
	if m, _ := s.LockMinutes(ctx); m != 0 {
		t.Errorf("after setting never: %d", m)
	}
	var detail string
	s.db.QueryRow(`SELECT detail FROM audit WHERE entity = 'settings' ORDER BY id DESC LIMIT 1`).Scan(&detail)
	if detail != "lock after idle minutes: 5 to 0 (0: never)" {
		t.Errorf("audit row %q", detail)
	}
	// The clinic's profile, changed later, keeps it.
	if err := s.SetClinicProfile(ctx, ClinicProfile{Name: "Trạm"}); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.LockMinutes(ctx); m != 0 {
		t.Errorf("after the profile changed: %d", m)
	}
}

// The scale issue: a command opened within the hour of a passing integrity check does not
// run it again (the command line's option); Open without the option always does, and a
// restore makes the next open check whatever the stamp said.
func TestARecentCheckIsNotRepeated(t *testing.T) {
	s, path := openTemp(t)
	if err := s.Verify(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	hour := Options{CheckedWithin: time.Hour}
	opens := func(o Options) int64 {
		t.Helper()
		before := checkRuns.Load()
		s, err := OpenWith(path, "t", o)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Verify(); err != nil {
			t.Fatal(err)
		}
		s.Close()
		return checkRuns.Load() - before
	}
	if n := opens(hour); n != 0 {
		t.Errorf("opened within the hour of a passing check: %d checks", n)
	}
	if n := opens(Options{}); n != 1 {
		t.Errorf("opened without the option: %d checks, want 1", n)
	}
	if n := opens(Options{CheckedWithin: time.Nanosecond}); n != 1 {
		t.Errorf("a check older than the option allows: %d checks, want 1", n)
	}
	backup := filepath.Join(t.TempDir(), "b.db")
	s2, _ := Open(path, "t")
	if err := s2.Backup(context.Background(), backup); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if _, err := Restore(backup, path); err != nil {
		t.Fatal(err)
	}
	if n := opens(hour); n != 1 {
		t.Errorf("the first open after a restore: %d checks, want 1", n)
	}
}

// The scale issue: the worklist's sections come from SQLite cut at a page, each with its
// total, the most urgent first (results awaiting their outcome: urgent before review, then
// the oldest), and a page after a place goes on from there without repeating an item.
func TestWorklistSectionsAreCutAndCounted(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	photo, err := os.ReadFile("../inference/testdata/fixtures/ISIC_0024311.png")
	if err != nil {
		t.Fatal(err)
	}
	thumb := testThumb(t, photo)
	now := time.Now()
	for i := range 30 {
		pid, err := s.AddPatient(ctx, Patient{Code: fmt.Sprintf("W%02d", i), FullName: "Vũ " + fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		tier := "review"
		if i%3 == 0 {
			tier = "urgent"
		}
		p := append(append([]byte{}, photo...), byte(i))
		if _, _, err := s.SaveAssessmentOfNewLesion(ctx, Lesion{PatientID: pid, BodySite: "back"}, Assessment{Photo: p, ModelName: "m", TakenAt: now.AddDate(0, 0, -i),
			ModelSHA256: strings.Repeat("a", 64), ModelCardSHA256: strings.Repeat("e", 64), Probabilities: map[string]float64{"mel": 0.5, "nv": 0.5}, RiskTier: tier}, thumb); err != nil {
			t.Fatal(err)
		}
	}
	q := WorklistQuery{Today: now.Format("2006-01-02"), Horizon: now.AddDate(0, 0, 7).Format("2006-01-02"), PerSection: 4, Totals: true}
	items, totals, err := s.WorklistSections(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if totals[SectionAwaiting] != 30 || len(items[SectionAwaiting]) != 4 {
		t.Fatalf("awaiting: %d listed of %d; want 4 of 30", len(items[SectionAwaiting]), totals[SectionAwaiting])
	}
	var seen []AssessmentID
	for page := 0; ; page++ {
		for _, it := range items[SectionAwaiting] {
			if len(seen) < 10 && it.RiskTier != "urgent" {
				t.Fatalf("item %d of the list is %s before every urgent one", len(seen), it.RiskTier)
			}
			if slices.Contains(seen, it.Assessment) {
				t.Fatalf("page %d repeats assessment %d", page, it.Assessment)
			}
			seen = append(seen, it.Assessment)
		}
		if len(items[SectionAwaiting]) < 4 || page > 10 {
			break
		}
		last := items[SectionAwaiting][len(items[SectionAwaiting])-1]
		q.After = &WorklistPlace{Section: SectionAwaiting, Order: last.Order, Assessment: last.Assessment}
		if items, totals, err = s.WorklistSections(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != 30 {
		t.Errorf("paging listed %d of 30", len(seen))
	}
	// A deleted patient's lesions leave the worklist and its counts; undeleted, they are back.
	w0, _ := s.PatientByCode(ctx, "W00")
	if err := s.DeletePatient(ctx, w0.ID, false); err != nil {
		t.Fatal(err)
	}
	q.After = nil
	if _, totals, _ = s.WorklistSections(ctx, q); totals[SectionAwaiting] != 29 {
		t.Errorf("after deleting a patient: %d awaiting, want 29", totals[SectionAwaiting])
	}
	if err := s.UndeletePatient(ctx, w0.ID); err != nil {
		t.Fatal(err)
	}
	if _, totals, _ = s.WorklistSections(ctx, q); totals[SectionAwaiting] != 30 {
		t.Errorf("after undeleting: %d awaiting, want 30", totals[SectionAwaiting])
	}
}

// The scale issue: the duplicate check of a new patient finds the same phone through an index
// (it compared every patient's phone in Go: at 100,000 patients, all of them); records from
// before get their phone keys at the upgrade.
func TestSamePhoneIsFoundByItsKey(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if _, err := s.AddPatient(ctx, Patient{Code: "A1", FullName: "Hà Văn Một", Phone: "+84 912 345 678"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPatient(ctx, Patient{Code: "A2", FullName: "Hà Văn Hai", Phone: "0987 000 111"}); err != nil {
		t.Fatal(err)
	}
	// As an upgrade finds them: no keys yet.
	if _, err := s.db.Exec(`UPDATE patients SET phone_key = ''`); err != nil {
		t.Fatal(err)
	}
	tx, _ := s.db.Begin()
	if err := backfills[20](tx); err != nil {
		t.Fatal(err)
	}
	tx.Commit()
	ps, err := s.SimilarPatients(ctx, Patient{FullName: "Người Khác", Phone: "0912-345-678"})
	if err != nil || len(ps) != 1 || ps[0].Code != "A1" {
		t.Fatalf("the same number written otherwise: %v %v", ps, err)
	}
	var plan string
	s.db.QueryRow(`EXPLAIN QUERY PLAN SELECT id FROM patients WHERE phone_key = '0912345678'`).Scan(new(int), new(int), new(int), &plan)
	if !strings.Contains(plan, "patients_phone_key") {
		t.Errorf("the phone is not looked up through its index: %q", plan)
	}
}

// An old visit entered after a newer one (dermal import) does not become the lesion's latest:
// what the newer visit closed stays closed on the worklist.
func TestAnOldVisitEnteredLaterDoesNotReopenTheLesion(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	photo, _ := os.ReadFile("../inference/testdata/fixtures/ISIC_0024311.png")
	thumb := testThumb(t, photo)
	pid, err := s.AddPatient(ctx, Patient{Code: "L1", FullName: "Lâm Văn Một"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	visit := func(l LesionID, daysAgo int, tier string, b byte) (LesionID, AssessmentID) {
		a := Assessment{LesionID: l, Photo: append(append([]byte{}, photo...), b), ModelName: "m", TakenAt: now.AddDate(0, 0, -daysAgo),
			ModelSHA256: strings.Repeat("a", 64), ModelCardSHA256: strings.Repeat("e", 64), Probabilities: map[string]float64{"mel": 0.5, "nv": 0.5}, RiskTier: tier}
		if l == 0 {
			l2, id, err := s.SaveAssessmentOfNewLesion(ctx, Lesion{PatientID: pid, BodySite: "back"}, a, thumb)
			if err != nil {
				t.Fatal(err)
			}
			return l2, id
		}
		id, err := s.SaveAssessment(ctx, pid, a, thumb)
		if err != nil {
			t.Fatal(err)
		}
		return l, id
	}
	l, _ := visit(0, 10, "review", 1)
	visit(l, 1, "routine", 2)
	visit(l, 30, "urgent", 3) // entered last, taken first
	items, totals, err := s.WorklistSections(ctx, WorklistQuery{Today: now.Format("2006-01-02"), Horizon: now.AddDate(0, 0, 7).Format("2006-01-02"), Totals: true})
	if err != nil {
		t.Fatal(err)
	}
	if totals[SectionAwaiting] != 0 || len(items[SectionAwaiting]) != 0 {
		t.Errorf("the old urgent visit entered later reopened the lesion: %+v", items[SectionAwaiting])
	}
}
