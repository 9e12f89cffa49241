package ui

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
)

// The ruler: two clicks on the lesion measure it at the dermatoscope's field of view; with a
// ruler in the photo, two clicks on its marks set the scale first. The measured diameter goes
// into the form.
func TestRulerMeasuresTheDiameter(t *testing.T) {
	u, _ := newTestUI(t)
	addPatient(t, u, "Hồ Văn Bảy", "BN-8")
	a := draft(t, u)
	w := a.photo.Image.Bounds().Dx()
	r := a.measureDialog()
	r.view.Resize(fyne.NewSize(600, 450))
	r.fov.SetText("20")
	// Half the photo's width at a 20 mm field of view is 10 mm (to a pixel's rounding).
	r.tapped(image.Pt(0, 10))
	r.tapped(image.Pt(int(float64(w/2)/r.shrink), 10))
	if r.mm == nil || *r.mm < 9.8 || *r.mm > 10.2 {
		t.Fatalf("field of view: %v (%s)", r.mm, r.result.Text)
	}
	r.mode.SetSelected(r.mode.Options[1])
	r.rulerMM.SetText("5")
	for _, p := range []image.Point{{10, 10}, {110, 10}, {10, 50}, {10, 250}} { // 5 mm per 100 shown px; 200 shown px
		r.tapped(p)
	}
	if r.mm == nil || *r.mm < 9.8 || *r.mm > 10.2 {
		t.Fatalf("ruler: %v (%s)", r.mm, r.result.Text)
	}
	r.rulerMM.SetText("0")
	if r.mm != nil || !strings.Contains(r.result.Text, "ruler") {
		t.Errorf("a 0 mm ruler gave %v (%s)", r.mm, r.result.Text)
	}
	r.rulerMM.SetText("5")
	r.dialog.Hide()
	r.dialog.(interface{ Confirm() }).Confirm()
	if got := a.exam.diameter.Text; got != "10.0" {
		t.Errorf("diameter field %q after Use", got)
	}
}

// Compare shows the change in the recorded diameter.
func TestCompareShowsSizeChange(t *testing.T) {
	u, c := newTestUI(t)
	ctx := context.Background()
	addPatient(t, u, "Mai Văn Tư", "BN-10")
	p := u.screen.(*patientScreen).patient
	photo := clinictest.Photo(t, "ISIC_0024311.png")
	six, eight := 6.0, 8.0
	first, err := c.Assess(ctx, p.ID, 0, "back", photo, clinic.Examination{DiameterMM: &six}, clinic.Findings{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Assess(ctx, p.ID, first.LesionID, "", photo, clinic.Examination{DiameterMM: &eight}, clinic.Findings{}); err != nil {
		t.Fatal(err)
	}
	u.openPatient(p.ID)
	ps := u.screen.(*patientScreen)
	cmp := newCompareScreen(u, p, ps.lesions[0])
	u.jobs.Wait()
	if !strings.Contains(cmp.size.Text, "6.0 → 8.0 mm (+2.0 mm, +33%)") {
		t.Errorf("size change %q", cmp.size.Text)
	}
	// The clinic's day, item 7: a third visit left unmeasured; Compare still shows the
	// measured visit's diameter instead of "not measured on both".
	if _, err := c.Assess(ctx, p.ID, first.LesionID, "", photo, clinic.Examination{}, clinic.Findings{}); err != nil {
		t.Fatal(err)
	}
	u.openPatient(p.ID)
	ps = u.screen.(*patientScreen)
	cmp = newCompareScreen(u, p, ps.lesions[0])
	u.jobs.Wait()
	if !strings.Contains(cmp.size.Text, "6.0 mm on") || !strings.Contains(cmp.size.Text, "not measured on") {
		t.Errorf("one side measured: %q", cmp.size.Text)
	}
}

// The assessment screen shows the newest photos of the last photo folder as thumbnails; one
// tap opens one (Fyne's file dialog shows none).
func TestRecentPhotosStrip(t *testing.T) {
	u, _ := newTestUI(t)
	dir := t.TempDir()
	for _, name := range []string{"ISIC_0024311.png", "ISIC_0024318.png"} {
		data, _ := os.ReadFile(clinictest.Fixture(name))
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a photo"), 0o644)
	u.prefs.SetPhotoFolder(dir)
	addPatient(t, u, "Lò Văn Pá", "BN-11")
	u.screen.(*patientScreen).newAssessment(0)
	a := u.screen.(*assessScreen)
	u.jobs.Wait()
	if len(a.recent.thumbs) != 2 {
		t.Fatalf("%d thumbnails, want the 2 photos", len(a.recent.thumbs))
	}
	test.Tap(a.recent.thumbs[0])
	u.jobs.Wait()
	if a.photo == nil {
		t.Errorf("tapping a thumbnail loaded nothing: %v", u.lastError)
	}
	// The next assessment screen takes the thumbnails from the cache: no decode runs.
	if len(u.thumbs) != 2 {
		t.Fatalf("%d thumbnails cached", len(u.thumbs))
	}
	u.show(u.worklist())
	u.openPatient(a.patient.ID)
	u.screen.(*patientScreen).newAssessment(0)
	b := u.screen.(*assessScreen)
	for i, img := range b.recent.images { // set at once, before any background work ran
		if img.Image == nil {
			t.Errorf("thumbnail %d of the second screen was not taken from the cache", i)
		}
	}
}
