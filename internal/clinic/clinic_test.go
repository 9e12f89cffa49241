package clinic_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"dermal/internal/assets"
	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
	"dermal/internal/inference"
	"dermal/internal/storage"
)

func TestAnalyseThenSaveKeepsFindings(t *testing.T) {
	c := clinictest.New(t)
	ctx := context.Background()
	p := clinictest.Patient(t, c, "P1", "Nguyễn Thị Hồng")
	photo := clinictest.Photo(t, "ISIC_0024311.png")
	a, err := c.Analyse(photo)
	if err != nil {
		t.Fatal(err)
	}
	follow := time.Now().AddDate(0, 3, 0).Truncate(24 * time.Hour).UTC()
	r, err := c.Save(ctx, clinic.Visit{PatientID: p.ID, Site: "back", SiteDetail: "left shoulder", Photo: photo, Analysis: a,
		Findings: storage.Findings{Diagnosis: "naevus", Notes: "stable", FollowUp: &follow, GradCAMShown: true}})
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := c.Entry(ctx, r.AssessmentID)
	if err != nil {
		t.Fatal(err)
	}
	got := e.Assessment
	if got.Diagnosis != "naevus" || got.Notes != "stable" || !got.GradCAMShown || got.FollowUp == nil ||
		got.FollowUp.Format("2006-01-02") != follow.Format("2006-01-02") || e.Lesion.SiteDetail != "left shoulder" {
		t.Errorf("stored %+v / %+v", got, e.Lesion)
	}
	if d := clinic.Decide(a, clinic.Examination{}); got.RiskTier != string(d.Tier) || got.TierDriver != string(d.Driver) ||
		got.Probabilities[a.TopLabel()] != a.Probabilities[a.Top] || got.PhotoType != "dermoscopic" || got.SevenPoint != nil || got.DiameterMM != nil {
		t.Errorf("stored result %v %v %v differs from the analysis %v", got.RiskTier, got.TierDriver, got.Probabilities, d)
	}
	// An invalid follow-up stores nothing, not even the new lesion.
	past := time.Now().AddDate(-1, 0, 0)
	if _, err := c.Save(ctx, clinic.Visit{PatientID: p.ID, Site: "face", Photo: photo, Analysis: a,
		Findings: storage.Findings{FollowUp: &past}}); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("past follow-up: %v", err)
	}
	hs, _ := c.History(ctx, p.ID)
	if len(hs) != 1 {
		t.Errorf("%d assessments after a refused save, want 1", len(hs))
	}
}

func TestWriteReportRecordsExportAndHistory(t *testing.T) {
	c := clinictest.New(t)
	ctx := context.Background()
	p := clinictest.Patient(t, c, "P2", "Đặng Văn Lâm")
	first, err := c.Assess(ctx, p.ID, 0, "face", clinictest.Photo(t, "ISIC_0024318.png"), clinic.Examination{}, clinic.Findings{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Assess(ctx, p.ID, first.LesionID, "", clinictest.Photo(t, "ISIC_0024311.png"), clinic.Examination{}, clinic.Findings{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "report.pdf")
	req := clinic.ReportRequest{AssessmentID: second.AssessmentID, History: true, Language: "vi", Clinic: "Trạm Y tế", Printed: time.Now()}
	if err := c.WriteReport(ctx, req, out); err != nil {
		t.Fatal(err)
	}
	txt, err := exec.Command("pdftotext", out, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext (make deps installs poppler-utils): %v", err)
	}
	s := string(txt)
	for _, want := range []string{"Đặng Văn Lâm", "Các lần đánh giá trước", "Mặt"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	trail, err := c.AuditTrail(ctx, "assessment", int64(second.AssessmentID))
	if err != nil {
		t.Fatal(err)
	}
	if last := trail[len(trail)-1]; last.Action != "export" || !strings.Contains(last.Detail, out) {
		t.Errorf("export not audited: %+v", trail)
	}
	// A folder that does not exist: a clear error, no file, no audit row.
	bad := filepath.Join(dir, "missing", "r.pdf")
	if err := c.WriteReport(ctx, req, bad); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("report into a missing folder: %v", err)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Error("a report file appeared despite the error")
	}
	after, _ := c.AuditTrail(ctx, "assessment", int64(second.AssessmentID))
	if len(after) != len(trail) {
		t.Error("a failed export was audited")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left-over files in the report folder: %v", entries)
	}
}

// An assessment made under another model version is not re-analysed with this one: the report
// says so instead of showing a Grad-CAM map for a result this model did not give.
func TestOtherModelVersionIsNotReanalysed(t *testing.T) {
	c := clinictest.New(t)
	ctx := context.Background()
	p := clinictest.Patient(t, c, "P3", "Lê Văn Tám")
	r, err := c.Assess(ctx, p.ID, 0, "hand", clinictest.Photo(t, "ISIC_0024311.png"), clinic.Examination{}, clinic.Findings{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := inference.LoadModel(assets.ModelCardJSON, assets.ModelONNX, assets.OODSubspace)
	if err != nil {
		t.Fatal(err)
	}
	m.Card.Version = "9.9.9"
	eng := inference.NewEngine(m, inference.Options{})
	defer eng.Close()
	newer := clinic.WithEngine(c, eng)
	e, _, _ := c.Entry(ctx, r.AssessmentID)
	if _, an, err := newer.Reanalyse(ctx, e.Assessment); !errors.Is(err, clinic.ErrOtherModel) || an != nil {
		t.Fatalf("re-analysis under another version: %v", err)
	}
	rc, err := newer.ReportCase(ctx, clinic.ReportRequest{AssessmentID: r.AssessmentID, Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if rc.Current.Overlay != nil || rc.Current.Photo == nil || rc.Current.OverlayNote == "" {
		t.Errorf("report of an older assessment: overlay %v, note %q", rc.Current.Overlay != nil, rc.Current.OverlayNote)
	}
}

// Item 3: a restore from inside the app closes the records, replaces them and reopens them;
// the app's next save lands in the restored records, not in the file kept aside.
func TestRestoreFromInsideTheApp(t *testing.T) {
	c := clinictest.New(t)
	ctx := context.Background()
	p := clinictest.Patient(t, c, "R1", "Trần Văn Minh")
	backup := filepath.Join(t.TempDir(), "b.db.age")
	key := clinic.BackupKey{Passphrase: "mười hai chữ cái"}
	if _, err := c.Backup(ctx, backup, &key, false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Backup(ctx, filepath.Join(t.TempDir(), "plain.db"), nil, false); !errors.Is(err, clinic.ErrInvalid) {
		t.Errorf("a backup with no key and no explicit unencrypted: %v", err)
	}
	clinictest.Patient(t, c, "R2", "Only Before The Restore")
	// A wrong passphrase changes nothing: R2 is still there, the records still open.
	if _, err := c.Restore(backup, clinic.BackupKey{Passphrase: "wrong passphrase!"}); !errors.Is(err, clinic.ErrWrongBackupKey) {
		t.Errorf("wrong passphrase: %v", err)
	}
	if _, err := c.PatientByCode(ctx, "R2"); err != nil {
		t.Errorf("after a wrong passphrase, R2: %v", err)
	}
	kept, err := c.Restore(backup, key)
	if err != nil || kept == "" {
		t.Fatalf("restore: kept %q, %v", kept, err)
	}
	if _, err := c.PatientByCode(ctx, "R2"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("R2 after restoring a backup without it: %v", err)
	}
	if _, err := c.Assess(ctx, p.ID, 0, "back", clinictest.Photo(t, "ISIC_0024311.png"), clinic.Examination{}, clinic.Findings{}); err != nil {
		t.Fatal(err)
	}
	hs, err := c.History(ctx, p.ID)
	if err != nil || len(hs) != 1 {
		t.Fatalf("the save after the restore is not in the restored records: %d %v", len(hs), err)
	}
	// A bad backup leaves the records open and as they were.
	if _, err := c.Restore(filepath.Join(t.TempDir(), "missing.db"), key); err == nil {
		t.Error("restoring a missing file succeeded")
	}
	if hs, _ := c.History(ctx, p.ID); len(hs) != 1 {
		t.Error("a failed restore changed the records")
	}
}

// A plain photo's tier comes from the checklist, and the examination is stored with it: the
// photo type, the checklist items, ABCDE and the diameter read back as saved.
func TestPlainPhotoTierFromChecklist(t *testing.T) {
	c := clinictest.New(t)
	ctx := context.Background()
	p := clinictest.Patient(t, c, "P9", "Nguyễn Thị Hồng")
	photo := clinictest.Photo(t, "ISIC_0024311.png")
	none, _ := clinic.NewSevenPoint(nil)
	refer, _ := clinic.NewSevenPoint([]clinic.CheckItem{"shape", "oozing"})
	d := 8.5
	for _, tc := range []struct {
		exam   clinic.Examination
		tier   clinic.Tier
		stored []string
	}{
		{clinic.Examination{PhotoType: clinic.Plain}, clinic.TierCannotAssess, nil},
		{clinic.Examination{PhotoType: clinic.Plain, SevenPoint: none}, clinic.TierRoutine, []string{}},
		{clinic.Examination{PhotoType: clinic.Plain, SevenPoint: refer, ABCDE: []clinic.Sign{"evolving", "asymmetry"}, DiameterMM: &d}, clinic.TierUrgent, []string{"shape", "oozing"}},
	} {
		r, err := c.Assess(ctx, p.ID, 0, "back", photo, tc.exam, clinic.Findings{})
		if err != nil {
			t.Fatal(err)
		}
		e, _, err := c.Entry(ctx, r.AssessmentID)
		if err != nil {
			t.Fatal(err)
		}
		a := e.Assessment
		if a.RiskTier != string(tc.tier) || a.PhotoType != "plain" || !slices.Equal(a.SevenPoint, tc.stored) || (a.SevenPoint == nil) != (tc.stored == nil) {
			t.Errorf("%+v: stored tier %s, photo %s, checklist %#v; want %s, plain, %#v", tc.exam, a.RiskTier, a.PhotoType, a.SevenPoint, tc.tier, tc.stored)
		}
		if tc.exam.DiameterMM != nil && (a.DiameterMM == nil || *a.DiameterMM != d || !slices.Equal(a.ABCDE, []string{"asymmetry", "evolving"})) {
			t.Errorf("diameter %v, ABCDE %v", a.DiameterMM, a.ABCDE)
		}
		if h := clinic.StoredHeadline("en", c.Card(), a); h == "" || strings.Contains(h, "%!") {
			t.Errorf("headline %q", h)
		}
	}
}

// The worklist: a follow-up is overdue, due today or upcoming by the day it is asked on; a
// new assessment of the lesion closes the follow-up; an urgent result waits for its referral
// outcome until one is recorded.
func TestWorklist(t *testing.T) {
	c := clinictest.New(t)
	ctx := context.Background()
	p := clinictest.Patient(t, c, "P7", "Võ Thị Sáu")
	photo := clinictest.Photo(t, "ISIC_0024311.png")
	today := time.Now()
	day := func(n int) *time.Time { d := today.AddDate(0, 0, n); return &d }
	inThree, err := c.Assess(ctx, p.ID, 0, "back", photo, clinic.Examination{}, clinic.Findings{FollowUp: day(3)})
	if err != nil {
		t.Fatal(err)
	}
	dueToday, err := c.Assess(ctx, p.ID, 0, "face", photo, clinic.Examination{}, clinic.Findings{FollowUp: day(0)})
	if err != nil {
		t.Fatal(err)
	}
	refer, _ := clinic.NewSevenPoint([]clinic.CheckItem{"size", "oozing"})
	urgent, err := c.Assess(ctx, p.ID, 0, "hand", photo, clinic.Examination{PhotoType: clinic.Plain, SevenPoint: refer}, clinic.Findings{})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(items []clinic.WorkItem) (out []clinic.AssessmentID) {
		for _, it := range items {
			out = append(out, it.Assessment)
		}
		return out
	}
	w, err := c.Worklist(ctx, today, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(w.Upcoming), []clinic.AssessmentID{inThree.AssessmentID}) || !slices.Equal(ids(w.DueToday), []clinic.AssessmentID{dueToday.AssessmentID}) ||
		len(w.Overdue) != 0 || !slices.Equal(ids(w.Awaiting), []clinic.AssessmentID{urgent.AssessmentID}) {
		t.Errorf("today: overdue %v, today %v, upcoming %v, awaiting %v", ids(w.Overdue), ids(w.DueToday), ids(w.Upcoming), ids(w.Awaiting))
	}
	if w, _ := c.Worklist(ctx, today, 2); len(w.Upcoming) != 0 {
		t.Errorf("a follow-up in 3 days is listed within 2 days: %v", ids(w.Upcoming))
	}
	if w, _ := c.Worklist(ctx, today.AddDate(0, 0, 5), 7); !slices.Equal(ids(w.Overdue), []clinic.AssessmentID{dueToday.AssessmentID, inThree.AssessmentID}) {
		t.Errorf("five days later, overdue %v", ids(w.Overdue))
	}
	// Seen again: the new assessment (no follow-up) closes the lesion's follow-up.
	if _, err := c.Assess(ctx, p.ID, inThree.LesionID, "", photo, clinic.Examination{}, clinic.Findings{}); err != nil {
		t.Fatal(err)
	}
	// The outcome takes the urgent result off the list; a bad outcome is refused.
	if _, err := c.RecordOutcome(ctx, urgent.AssessmentID, "rumour", "bcc", today); !errors.Is(err, clinic.ErrInvalid) {
		t.Errorf("outcome from a rumour: %v", err)
	}
	if _, err := c.RecordOutcome(ctx, urgent.AssessmentID, clinic.OutcomeHistology, "superficial BCC", today.AddDate(0, 0, -30)); !errors.Is(err, clinic.ErrInvalid) {
		t.Errorf("outcome dated before the photo: %v", err)
	}
	r, err := c.RecordOutcome(ctx, urgent.AssessmentID, clinic.OutcomeHistology, "superficial BCC", today)
	if err != nil || !r.HasOutcome() || r.OutcomeDiagnosis != "superficial BCC" {
		t.Fatalf("outcome %+v %v", r, err)
	}
	w, _ = c.Worklist(ctx, today, 7)
	if len(w.Upcoming) != 0 || len(w.Awaiting) != 0 || len(w.DueToday) != 1 {
		t.Errorf("after the visit and the outcome: today %v, upcoming %v, awaiting %v", ids(w.DueToday), ids(w.Upcoming), ids(w.Awaiting))
	}
}

// Merging a patient registered twice moves their lesions and assessments and hides the copy.
func TestMergePatients(t *testing.T) {
	c := clinictest.New(t)
	ctx := context.Background()
	keep := clinictest.Patient(t, c, "P1", "Nguyễn Thị Hồng")
	dup := clinictest.Patient(t, c, "P1b", "Nguyen Thi Hong")
	photo := clinictest.Photo(t, "ISIC_0024311.png")
	for _, p := range []clinic.Patient{keep, dup} {
		if _, err := c.Assess(ctx, p.ID, 0, "back", photo, clinic.Examination{}, clinic.Findings{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.MergePatients(ctx, keep.ID, keep.ID); !errors.Is(err, clinic.ErrInvalid) {
		t.Errorf("merge into self: %v", err)
	}
	if err := c.MergePatients(ctx, keep.ID, dup.ID); err != nil {
		t.Fatal(err)
	}
	if hs, _ := c.History(ctx, keep.ID); len(hs) != 2 {
		t.Errorf("kept patient has %d assessments, want 2", len(hs))
	}
	if _, err := c.Patient(ctx, dup.ID); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("the merged copy is still there: %v", err)
	}
}

// Consent: a patient who refused photos being stored gets none saved; one who refused sharing
// gets no referral letter; the consent and its date are kept.
func TestConsentIsHonoured(t *testing.T) {
	c := clinictest.New(t)
	ctx := context.Background()
	no, yes := false, true
	id, err := c.AddPatient(ctx, storage.Patient{Code: "C1", FullName: "Tạ Thị Mơ", ConsentPhotos: &no, ConsentReferral: &no}, false)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := c.Patient(ctx, id)
	if p.ConsentPhotos == nil || *p.ConsentPhotos || p.ConsentAt == nil {
		t.Fatalf("stored consent %+v", p)
	}
	photo := clinictest.Photo(t, "ISIC_0024311.png")
	if _, err := c.Assess(ctx, id, 0, "back", photo, clinic.Examination{}, clinic.Findings{}); !errors.Is(err, clinic.ErrNoConsent) {
		t.Errorf("saved a photo the patient refused: %v", err)
	}
	if hs, _ := c.History(ctx, id); len(hs) != 0 {
		t.Errorf("%d assessments stored", len(hs))
	}
	p.ConsentPhotos = &yes
	if _, err := c.UpdatePatient(ctx, p); err != nil {
		t.Fatal(err)
	}
	r, err := c.Assess(ctx, id, 0, "back", photo, clinic.Examination{}, clinic.Findings{})
	if err != nil {
		t.Fatal(err)
	}
	c.SetProfile(ctx, clinic.ClinicProfile{Name: "Trạm", Address: "Xã", Phone: "1"})
	err = c.WriteReferral(ctx, clinic.ReferralRequest{AssessmentID: r.AssessmentID, To: "Da liễu", Clinician: "An"}, filepath.Join(t.TempDir(), "l.pdf"))
	if !errors.Is(err, clinic.ErrNoConsent) {
		t.Errorf("a referral letter for a patient who refused sharing: %v", err)
	}
}

// A saved result that assessed nothing (plain photo without a checklist; a photo to retake)
// stays on the worklist under its own heading, however old, until a later assessment of that
// lesion closes it.
func TestCannotAssessStaysOnTheWorklist(t *testing.T) {
	c := clinictest.New(t)
	ctx := context.Background()
	p := clinictest.Patient(t, c, "P8", "Bùi Thị Xuân")
	photo := clinictest.Photo(t, "ISIC_0024367.png") // the model: melanoma, urgent
	plain, err := c.Assess(ctx, p.ID, 0, "back", photo, clinic.Examination{PhotoType: clinic.Plain}, clinic.Findings{})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Decision.Tier != clinic.TierCannotAssess {
		t.Fatalf("plain photo without a checklist: %s", plain.Decision.Tier)
	}
	for _, later := range []int{0, 400} { // today, and more than a year later
		w, err := c.Worklist(ctx, time.Now().AddDate(0, 0, later), 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(w.CannotAssess) != 1 || w.CannotAssess[0].Assessment != plain.AssessmentID || len(w.Awaiting) != 0 {
			t.Errorf("day +%d: cannot assess %+v, awaiting %+v", later, w.CannotAssess, w.Awaiting)
		}
	}
	// Assessed again, as dermoscopic: the urgent result replaces the "cannot assess".
	again, err := c.Assess(ctx, p.ID, plain.LesionID, "", photo, clinic.Examination{PhotoType: clinic.Dermoscopic}, clinic.Findings{})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := c.Worklist(ctx, time.Now(), 7)
	if len(w.CannotAssess) != 0 || len(w.Awaiting) != 1 || w.Awaiting[0].Assessment != again.AssessmentID {
		t.Errorf("after the second assessment: cannot assess %+v, awaiting %+v", w.CannotAssess, w.Awaiting)
	}
}

// The dermoscopic checklist is stored apart from the clinical one and read back; with a plain
// photo it is refused, naming why, and nothing is stored.
func TestDermoscopyIsStoredApart(t *testing.T) {
	c := clinictest.New(t)
	ctx := context.Background()
	p := clinictest.Patient(t, c, "P9", "Lý Thường Kiệt")
	photo := clinictest.Photo(t, "ISIC_0024311.png")
	d, _ := clinic.NewDermoscopy([]clinic.Criterion{clinic.Regression, clinic.BlueWhiteVeil})
	sp, _ := clinic.NewSevenPoint([]clinic.CheckItem{"size"})
	r, err := c.Assess(ctx, p.ID, 0, "acral", photo, clinic.Examination{PhotoType: clinic.Dermoscopic, Dermoscopy: d, SevenPoint: sp}, clinic.Findings{})
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := c.Entry(ctx, r.AssessmentID)
	if err != nil {
		t.Fatal(err)
	}
	a := e.Assessment
	if !slices.Equal(a.Dermoscopy, []string{"blue-white-veil", "regression"}) || !slices.Equal(a.SevenPoint, []string{"size"}) || a.RiskTier != "urgent" || a.TierDriver != "dermoscopy" {
		t.Errorf("stored dermoscopy %v, clinical %v, tier %s by %s", a.Dermoscopy, a.SevenPoint, a.RiskTier, a.TierDriver)
	}
	if h := clinic.StoredHeadline("vi", c.Card(), a); !strings.HasPrefix(h, "Bảng kiểm soi da 7 điểm: 3 điểm") {
		t.Errorf("stored headline %q", h)
	}
	_, err = c.Assess(ctx, p.ID, 0, "acral", photo, clinic.Examination{PhotoType: clinic.Plain, Dermoscopy: d}, clinic.Findings{})
	if !errors.Is(err, clinic.ErrInvalid) || !strings.Contains(err.Error(), "dermatoscope") {
		t.Errorf("dermoscopy with a plain photo: %v", err)
	}
	if hs, _ := c.History(ctx, p.ID); len(hs) != 1 {
		t.Errorf("%d assessments after one refused", len(hs))
	}
}
