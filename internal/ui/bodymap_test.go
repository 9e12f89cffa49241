package ui

import (
	"context"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
)

// A tap on the patient's back outline starts a new assessment of a new lesion there: the
// body site follows the tap, the lesion is saved with its position and side, and back on the
// patient screen it is a dot in its tier's colour that opens it.
func TestBodyMapPlacement(t *testing.T) {
	u, c := newTestUI(t)
	addPatient(t, u, "Trần Thị Lan", "BN-2")
	ps := u.screen.(*patientScreen)
	ps.back.Resize(fyne.NewSize(120, 260))
	ps.back.tapAt(0.40, 0.30) // upper back, the patient's left seen from behind
	a, ok := u.screen.(*assessScreen)
	if !ok {
		t.Fatalf("a tap on the body map opened %T", u.screen)
	}
	if a.mapPoint == nil || a.siteCodes[a.site.SelectedIndex()] != "back" || a.lesion.Selected != newLesionChoice() {
		t.Fatalf("placed %+v, site %q", a.mapPoint, a.site.Selected)
	}
	// Off the outline nothing moves; on the front outline the site follows.
	a.mapFront.Resize(fyne.NewSize(120, 260))
	a.mapFront.tapAt(0.05, 0.05)
	if a.mapPoint.View != clinic.MapBack {
		t.Errorf("a tap beside the body moved the lesion to %+v", a.mapPoint)
	}
	a.mapBack.Resize(fyne.NewSize(120, 260))
	a.mapBack.tapAt(0.40, 0.30)
	a.loadFile(clinictest.Fixture("ISIC_0024311.png"))
	u.jobs.Wait()
	test.Tap(a.analyseBtn)
	u.jobs.Wait()
	a.exam.setPhotoType(clinic.Dermoscopic)
	test.Tap(a.saveBtn)
	u.jobs.Wait()
	if u.lastError != nil || a.saved == nil {
		t.Fatalf("save: %v", u.lastError)
	}
	e, _, err := c.Entry(context.Background(), a.saved.AssessmentID)
	if err != nil {
		t.Fatal(err)
	}
	if l := e.Lesion; l.BodySite != "back" || l.Side != "left" || l.MapView != "back" || l.MapX < 0.39 || l.MapX > 0.41 {
		t.Errorf("stored lesion %+v", l)
	}
	u.openPatient(e.Lesion.PatientID)
	ps = u.screen.(*patientScreen)
	if len(ps.back.dots) != 1 || len(ps.front.dots) != 0 || ps.back.dots[0].colour != tierColor(e.Assessment.RiskTier) {
		t.Fatalf("dots: back %d, front %d", len(ps.back.dots), len(ps.front.dots))
	}
	ps.back.Resize(fyne.NewSize(120, 260))
	ps.back.tapAt(0.40, 0.30)
	u.jobs.Wait()
	if d, ok := u.screen.(*detailScreen); !ok || d.entry.Assessment.ID != a.saved.AssessmentID {
		t.Errorf("a tap on the dot opened %T", u.screen)
	}
}

// The clinic's day, item 13: on the patient screen at 1366×768 each figure of the body map is
// drawn at least 150 px wide (it was about 70), and the screen still fits 1024×600.
func TestPatientBodyMapIsLargeEnough(t *testing.T) {
	u, _ := newTestUI(t)
	addPatient(t, u, "Ngô Quyền", "BN-60")
	u.win.Resize(fyne.NewSize(1366, 728))
	ps := u.screen.(*patientScreen)
	if _, sz := ps.front.box(ps.front.Size()); sz.Width < 150 {
		t.Errorf("the front figure is %v px wide at 1366×768", sz.Width)
	}
	u.win.Resize(fyne.NewSize(1024, 560))
	if m := u.win.Content().MinSize(); m.Width > 1024 || m.Height > 560 {
		t.Errorf("the patient screen needs %v at 1024×600", m)
	}
}
