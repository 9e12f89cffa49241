package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
	"dermal/internal/locale"
)

// The referral loop in the window: write the letter (recorded as a referral), print it
// through the system's print command, then record the histology outcome; the outcome shows
// on the assessment and the lesion leaves the worklist.
func TestReferralLoop(t *testing.T) {
	u, c := newTestUI(t)
	ctx := context.Background()
	addPatient(t, u, "Nguyễn Thị Hồng", "BN-1")
	p := u.screen.(*patientScreen).patient
	if err := c.SetProfile(ctx, clinic.ClinicProfile{Name: "Trạm Y tế xã Đồng Tâm", Address: "Xã Đồng Tâm", Phone: "024 3384 1234"}); err != nil {
		t.Fatal(err)
	}
	refer, _ := clinic.NewSevenPoint([]clinic.CheckItem{"size", "oozing"})
	r, err := c.Assess(ctx, p.ID, 0, "hand", clinictest.Photo(t, "ISIC_0024311.png"), clinic.Examination{PhotoType: clinic.Plain, SevenPoint: refer}, clinic.Findings{})
	if err != nil {
		t.Fatal(err)
	}
	u.showAssessment(r.AssessmentID)
	u.jobs.Wait()
	d := u.screen.(*detailScreen)
	if !strings.Contains(d.outcome.Text, "Not referred") {
		t.Errorf("before: %q", d.outcome.Text)
	}
	// The clinic's day, item 5: an urgent result's referral tools sit right under it, not at
	// the bottom of the panel.
	if d.entry.Assessment.RiskTier != "urgent" || len(d.panel.Objects) < 2 || d.panel.Objects[1] != d.referralBlock {
		t.Errorf("the %s result's referral tools are not right under it", d.entry.Assessment.RiskTier)
	}
	f := d.referralDialog()
	if f.to.Validate() == nil {
		t.Error("an empty addressee is accepted")
	}
	f.dialog.Hide()
	dir := t.TempDir()
	lpLog := filepath.Join(dir, "lp.log")
	os.WriteFile(filepath.Join(dir, "lp"), []byte("#!/bin/sh\necho \"$@\" > "+lpLog+"\n"), 0o755)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	letter := filepath.Join(dir, "letter.pdf")
	d.writeReferral(clinic.ReferralRequest{AssessmentID: r.AssessmentID, To: "Khoa Da liễu", Clinician: "BS. An", Language: "en"}, letter)
	u.jobs.Wait()
	if u.lastError != nil || d.printBtn == nil {
		t.Fatalf("letter: %v", u.lastError)
	}
	test.Tap(d.printBtn)
	if got, _ := os.ReadFile(lpLog); !strings.Contains(string(got), letter) {
		t.Errorf("Print sent %q to lp, want the letter", got)
	}
	if !strings.Contains(d.outcome.Text, "Khoa Da liễu") {
		t.Errorf("after the letter: %q", d.outcome.Text)
	}
	o := d.outcomeDialog()
	o.diagnosis.SetText("nodular basal cell carcinoma")
	d.saveOutcome(o)
	o.dialog.Hide()
	if u.lastError != nil || !strings.Contains(d.outcome.Text, "Histology") || !strings.Contains(d.outcome.Text, "nodular basal cell carcinoma") {
		t.Errorf("after the outcome: %q %v", d.outcome.Text, u.lastError)
	}
	u.show(u.worklist())
	if w := u.screen.(*worklistScreen); len(w.items()) != 0 {
		t.Errorf("worklist after the outcome: %v", w.items())
	}
}

// A photo the laptop refuses says why on the phone in the phone page's language, not the
// window's (a Vietnamese phone got the English reason).
func TestPhoneRefusalInThePhonesLanguage(t *testing.T) {
	u, _ := newTestUI(t)
	addPatient(t, u, "Bùi Thị Xuân", "BN-7")
	u.screen.(*patientScreen).newAssessment(0)
	a := u.screen.(*assessScreen)
	photo, err := os.ReadFile(clinictest.Fixture("ISIC_0024318.png"))
	if err != nil {
		t.Fatal(err)
	}
	broken := photo[:len(photo)/2] // the header reads, the pixels do not
	err = a.receivePhone(&phoneDialog{}, "IMG_2.png", broken, "vi")
	want := locale.T("vi", "This photo file is damaged or incomplete. Copy it again from the camera or take a new photo.")
	if err == nil || err.Error() != want || want == "This photo file is damaged or incomplete. Copy it again from the camera or take a new photo." {
		t.Errorf("refusal on a Vietnamese phone: %v", err)
	}
	if err := a.receivePhone(&phoneDialog{}, "IMG_2.png", broken, "en"); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("refusal on an English phone: %v", err)
	}
}

// The clinic's-day issue, item 3: the referring clinician is the logged-in user; Save letter is
// disabled while a required field is empty; a letter that cannot be written leaves no empty
// file and brings the form back with what was typed.
func TestReferralLetterFormIsFilledAndNothingIsLost(t *testing.T) {
	u, c := newTestUI(t)
	ctx := context.Background()
	addPatient(t, u, "Nguyễn Thị Hồng", "BN-1")
	p := u.screen.(*patientScreen).patient
	r, err := c.Assess(ctx, p.ID, 0, "hand", clinictest.Photo(t, "ISIC_0024367.png"), clinic.Examination{}, clinic.Findings{})
	if err != nil {
		t.Fatal(err)
	}
	u.showAssessment(r.AssessmentID)
	u.jobs.Wait()
	d := u.screen.(*detailScreen)
	u.prefs.SetClinician("Someone Else")
	f := d.referralDialog()
	if f.clinician.Text != "Lê Văn An" {
		t.Errorf("referring clinician %q, want the logged-in user", f.clinician.Text)
	}
	save := dialogButton(t, u, "Save letter…")
	if !save.Disabled() {
		t.Error("Save letter is enabled with no addressee")
	}
	test.Type(f.to, "Khoa Da liễu, Bệnh viện Tỉnh")
	if save.Disabled() {
		t.Error("Save letter is still disabled with every field filled")
	}
	f.dialog.Hide()
	// The clinic has no address yet: the letter is refused. The file dialog had made the file.
	letter := filepath.Join(t.TempDir(), "letter.pdf")
	os.WriteFile(letter, nil, 0o600)
	d.writeReferral(clinic.ReferralRequest{AssessmentID: r.AssessmentID, To: "Khoa Da liễu, Bệnh viện Tỉnh", Reason: "lớn nhanh", Clinician: "Lê Văn An", Language: "en"}, letter)
	u.jobs.Wait()
	if u.lastError == nil {
		t.Fatal("a letter without the clinic's address was written")
	}
	if _, err := os.Stat(letter); err == nil {
		t.Error("the failed letter left an empty file behind")
	}
	found := false
	for _, o := range u.win.Canvas().Overlays().List() {
		walk(o, func(o fyne.CanvasObject) {
			if e, ok := o.(*widget.Entry); ok && e.Text == "Khoa Da liễu, Bệnh viện Tỉnh" {
				found = true
			}
		})
	}
	if !found {
		t.Error("the form did not come back with the addressee typed")
	}
}

// The clinic's day, item 10: Open on a computer with no PDF viewer says so and where the
// file is, instead of doing nothing.
func TestOpeningAPDFWithNoViewerSaysWhereItIs(t *testing.T) {
	u, _ := newTestUI(t)
	pdf := filepath.Join(t.TempDir(), "BN-1-thu-chuyen-tuyen.pdf")
	os.WriteFile(pdf, []byte("%PDF-1.4"), 0o600)
	t.Setenv("PATH", t.TempDir()) // no xdg-open, no viewer
	u.openPDF(pdf)
	if u.lastError != nil || !strings.Contains(u.lastInfo, "No program on this computer opens PDF files") || !strings.Contains(u.lastInfo, pdf) {
		t.Errorf("no viewer: %v %q", u.lastError, u.lastInfo)
	}
}
