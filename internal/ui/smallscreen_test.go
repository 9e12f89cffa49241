package ui

import (
	"context"
	"fmt"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
)

// On a 1024×600 screen (a 1024×560 window under the title bar) Analyse, Save and the dialogs'
// buttons are inside the window, and nothing is laid out with a negative size (the painter
// crashes on one: the assessment screen's minimum width was wider than the pane).
func TestFitsA1024x600Screen(t *testing.T) {
	u, _ := newTestUI(t)
	win := fyne.NewSize(1024, 560)
	u.win.Resize(win)
	inside := func(what string, o fyne.CanvasObject) {
		t.Helper()
		p := fyne.CurrentApp().Driver().AbsolutePositionForObject(o)
		s := o.Size()
		if !o.Visible() || p.X < 0 || p.Y < 0 || p.X+s.Width > win.Width+0.5 || p.Y+s.Height > win.Height+0.5 || s.Width <= 0 {
			t.Errorf("%s at %v size %v is not inside the %v window", what, p, s, win)
		}
	}
	noNegative := func(where string, root fyne.CanvasObject) {
		t.Helper()
		walk(root, func(o fyne.CanvasObject) {
			if s := o.Size(); s.Width < 0 || s.Height < 0 {
				t.Errorf("%s: %T has size %v", where, o, s)
			}
		})
	}
	addPatient(t, u, "Nguyễn Thị Hồng", "BN-1")
	test.Tap(u.screen.(*patientScreen).newBtn)
	a := u.screen.(*assessScreen)
	a.loadFile(clinictest.Fixture("ISIC_0024311.png"))
	u.jobs.Wait()
	test.Tap(a.analyseBtn)
	u.jobs.Wait()
	u.win.Resize(win.AddWidthHeight(0, 1)) // lay out again, as a real window does on its next frame
	u.win.Resize(win)
	inside("Analyse", a.analyseBtn)
	inside("Save", a.saveBtn)
	noNegative("assessment", u.win.Content())
	f := u.settingsForm()
	f.dialog.Show()
	if s := f.dialog.MinSize(); s.Width > win.Width || s.Height > win.Height {
		t.Errorf("Settings needs %v, more than the window", s)
	}
	f.dialog.Hide()
	a.openFile()
	top := u.win.Canvas().Overlays().Top()
	if s := top.Size(); s.Width > win.Width || s.Height > win.Height {
		t.Errorf("the file dialog is %v in a %v window", s, win)
	}
}

// A saved assessment in Vietnamese, whose labels are longer, still fits a 1024-pixel-wide
// window: its four action buttons in a fixed two-column grid made it 1,106 pixels wide.
func TestSavedAssessmentFitsA1024x600ScreenInVietnamese(t *testing.T) {
	u, _ := newTestUI(t)
	f := u.settingsForm()
	f.language.SetSelected("Tiếng Việt")
	u.applySettings(f)
	addPatient(t, u, "Nguyễn Thị Hồng", "BN-1")
	test.Tap(u.screen.(*patientScreen).newBtn)
	a := u.screen.(*assessScreen)
	a.site.SetSelectedIndex(1)
	assess(t, u, a, "ISIC_0024311.png", "")
	u.showAssessment(a.saved.AssessmentID)
	u.jobs.Wait()
	d, ok := u.screen.(*detailScreen)
	if !ok {
		t.Fatalf("opened %T", u.screen)
	}
	win := fyne.NewSize(1024, 560)
	u.win.Resize(win)
	if m := u.win.Content().MinSize(); m.Width > win.Width {
		t.Errorf("the saved assessment needs %v wide, more than the %v window", m.Width, win.Width)
	}
	for _, b := range []*widget.Button{d.referral, d.outcomeBtn, d.report, d.history} {
		p := fyne.CurrentApp().Driver().AbsolutePositionForObject(b)
		if p.X+b.Size().Width > win.Width+0.5 || b.Size().Width <= 0 {
			t.Errorf("%q at %v size %v is outside the window", b.Text, p, b.Size())
		}
	}
}

// dermal --new-assessment PATIENT_ID (the clinic's-day issue's command contract) opens the
// window on a new assessment for that patient.
func TestOpenNewAssessment(t *testing.T) {
	u, _ := newTestUI(t)
	addPatient(t, u, "Nguyễn Thị Hồng", "BN-1")
	p := u.screen.(*patientScreen).patient
	u.show(u.worklist())
	u.OpenNewAssessment(p.ID)
	u.jobs.Wait()
	a, ok := u.screen.(*assessScreen)
	if !ok || a.patient.ID != p.ID {
		t.Fatalf("--new-assessment opened %T", u.screen)
	}
}

// The clinic's-day issue, item 1: opening a new assessment grew the window from 1024×560 to
// 1024×688 (the photo's minimum height), putting Analyse, Save and the status bar below the
// screen. With a photo analysed and the examination shown, in both languages, the window's
// content needs no more than the screen.
func TestNewAssessmentNeedsNoMoreThanA1024x600Screen(t *testing.T) {
	for _, l := range []string{"en", "vi"} {
		u, _ := newTestUI(t)
		if l == "vi" {
			f := u.settingsForm()
			f.language.SetSelected("Tiếng Việt")
			u.applySettings(f)
		}
		win := fyne.NewSize(1024, 560)
		u.win.Resize(win)
		addPatient(t, u, "Nguyễn Thị Hồng", "BN-1")
		test.Tap(u.screen.(*patientScreen).newBtn)
		a := u.screen.(*assessScreen)
		a.loadFile(clinictest.Fixture("ISIC_0024311.png"))
		u.jobs.Wait()
		test.Tap(a.analyseBtn)
		u.jobs.Wait()
		a.exam.setPhotoType(clinic.Dermoscopic)
		test.Tap(a.exam.dermoscopy)
		if s := u.win.Content().MinSize(); s.Width > win.Width || s.Height > win.Height {
			t.Errorf("%s: the new assessment needs %v, more than the %v window", l, s, win)
		}
	}
}

// The clinic's-day issue, item 1, for every screen: in Vietnamese (the longer labels), with
// real content (a saved result with its referral tools, three visits of a lesion, a full
// Today), each screen and each dialog needs no more than a 1024×600 screen's window.
func TestEveryScreenFitsA1024x600ScreenInVietnamese(t *testing.T) {
	u, c := newTestUI(t)
	f := u.settingsForm()
	f.language.SetSelected("Tiếng Việt")
	u.applySettings(f)
	win := fyne.NewSize(1024, 560)
	u.win.Resize(win)
	fits := func(what string) {
		t.Helper()
		u.win.Resize(win)
		if s := u.win.Content().MinSize(); s.Width > win.Width || s.Height > win.Height {
			t.Errorf("%s needs %v, more than the %v window", what, s, win)
		}
	}
	fitsDialog := func(what string, min fyne.Size) {
		t.Helper()
		if min.Width > win.Width || min.Height > win.Height {
			t.Errorf("the %s dialog needs %v, more than the %v window", what, min, win)
		}
	}
	ctx := context.Background()
	addPatient(t, u, "Tôn Nữ Thị Ngọc Hân Phương", "BN-0001-LONG-CODE")
	p := u.screen.(*patientScreen).patient
	photo := clinictest.Photo(t, "ISIC_0024367.png")
	six := 6.0
	first, err := c.Assess(ctx, p.ID, 0, "lower extremity", photo, clinic.Examination{DiameterMM: &six}, clinic.Findings{Notes: "ngứa, chảy máu khi gãi"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.Assess(ctx, p.ID, first.LesionID, "", photo, clinic.Examination{}, clinic.Findings{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 40 {
		addPatient(t, u, fmt.Sprintf("Nguyễn Văn Thành %d", i), fmt.Sprintf("BN-%04d", i+10))
	}
	u.show(u.worklist())
	fits("Today")
	u.openPatient(p.ID)
	u.jobs.Wait()
	fits("the patient")
	ps := u.screen.(*patientScreen)
	newCompareScreen(u, p, ps.lesions[0])
	u.jobs.Wait()
	fits("Compare")
	u.showAssessment(first.AssessmentID)
	u.jobs.Wait()
	d := u.screen.(*detailScreen)
	fits("a saved result")
	r := d.referralDialog()
	fitsDialog("referral letter", r.dialog.MinSize())
	r.dialog.Hide()
	o := d.outcomeDialog()
	fitsDialog("outcome", o.dialog.MinSize())
	o.dialog.Hide()
	sf := u.settingsForm()
	fitsDialog("Settings", sf.dialog.MinSize())
	a := u.auditDialog()
	fitsDialog("audit trail", a.dialog.MinSize())
	a.dialog.Hide()
	s := u.staffDialog()
	fitsDialog("staff accounts", s.dialog.MinSize())
	s.dialog.Hide()
}
