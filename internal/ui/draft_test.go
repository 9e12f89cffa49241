package ui

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"github.com/disintegration/imaging"

	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
	"dermal/internal/hostile"
	"dermal/internal/memory"
)

// dialogButton finds a button by its text in the dialog on top of the window.
func dialogButton(t *testing.T, u *UI, text string) *widget.Button {
	t.Helper()
	top := u.win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatalf("no dialog is open (looking for %q)", text)
	}
	var found *widget.Button
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch w := o.(type) {
		case *widget.Button:
			if w.Text == text {
				found = w
			}
		case *fyne.Container:
			for _, c := range w.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.TempWidgetRenderer(t, w).Objects() {
				walk(c)
			}
		}
	}
	walk(top)
	if found == nil {
		t.Fatalf("the dialog has no %q button", text)
	}
	return found
}

// draft opens a new assessment for the first patient and loads a photo and a diagnosis.
func draft(t *testing.T, u *UI) *assessScreen {
	t.Helper()
	u.screen.(*patientScreen).newAssessment(0)
	a := u.screen.(*assessScreen)
	a.loadFile(clinictest.Fixture("ISIC_0024311.png"))
	u.jobs.Wait()
	test.Type(a.diagnosis, "theo dõi")
	return a
}

// Item 9: clicking another patient with an unsaved assessment asks; keeping it keeps it.
func TestUnsavedAssessmentIsNotDroppedByAnotherPatient(t *testing.T) {
	u, _ := newTestUI(t)
	addPatient(t, u, "Bùi Thị Xuân", "BN-1")
	addPatient(t, u, "Lý Thường Kiệt", "BN-2") // opens BN-2
	a := draft(t, u)
	other := -1
	for i, p := range u.patients.items {
		if p.Code == "BN-1" {
			other = i
		}
	}
	u.patients.list.Select(other)
	if u.screen != a {
		t.Fatalf("another patient's click replaced the unsaved assessment with %T", u.screen)
	}
	test.Tap(dialogButton(t, u, "Keep editing"))
	if u.screen != a || a.photo == nil || a.diagnosis.Text != "theo dõi" {
		t.Fatal("the draft did not survive 'Keep editing'")
	}
	u.patients.list.Select(other)
	test.Tap(dialogButton(t, u, "Discard"))
	if ps, ok := u.screen.(*patientScreen); !ok || ps.patient.Code != "BN-1" {
		t.Fatalf("after Discard: %T", u.screen)
	}
}

// Item 9: changing the language in Settings with an unsaved assessment asks too; other
// settings do not close the screen at all.
func TestUnsavedAssessmentSurvivesSettings(t *testing.T) {
	u, _ := newTestUI(t)
	addPatient(t, u, "Bùi Thị Xuân", "BN-1")
	a := draft(t, u)
	f := u.settingsForm()
	f.budget.SetText("350")
	u.applySettings(f)
	if u.screen != a {
		t.Fatal("saving the memory budget closed the unsaved assessment")
	}
	f = u.settingsForm()
	f.language.SetSelected("Tiếng Việt")
	u.applySettings(f)
	if u.screen != a {
		t.Fatal("a language change replaced the unsaved assessment without asking")
	}
	test.Tap(dialogButton(t, u, "Keep editing"))
	if u.screen != a || u.lang != "en" || u.prefs.Language() != "en" {
		t.Fatalf("after Keep editing: screen %T, language %s / %s", u.screen, u.lang, u.prefs.Language())
	}
}

// Item 9: Ctrl+S typed inside a text field saves, and the window says "Saved".
func TestCtrlSInATextFieldSaves(t *testing.T) {
	u, c := newTestUI(t)
	addPatient(t, u, "Bùi Thị Xuân", "BN-1")
	a := draft(t, u)
	a.site.SetSelectedIndex(0)
	test.Tap(a.analyseBtn)
	u.jobs.Wait()
	a.exam.setPhotoType(clinic.Dermoscopic)
	u.win.Canvas().Focus(a.notes)
	test.Type(a.notes, "ghi chú")
	// What the desktop driver does with a shortcut while a widget has the focus.
	ctrlS := &desktop.CustomShortcut{KeyName: fyne.KeyS, Modifier: fyne.KeyModifierShortcutDefault}
	focused, ok := u.win.Canvas().Focused().(fyne.Shortcutable)
	if !ok {
		t.Fatal("the notes field has no focus")
	}
	focused.TypedShortcut(ctrlS)
	u.jobs.Wait()
	if u.lastError != nil {
		t.Fatal(u.lastError)
	}
	d, ok := u.screen.(*detailScreen)
	if !ok || !d.savedNote.Visible() {
		t.Fatalf("after Ctrl+S in the notes: %T, no visible Saved", u.screen)
	}
	hs, _ := c.History(t.Context(), a.patient.ID)
	if len(hs) != 1 || hs[0].Assessment.Notes != "ghi chú" {
		t.Fatalf("saved %+v", hs)
	}
	// And in the saved assessment's findings.
	u.win.Canvas().Focus(d.diagnosis)
	test.Type(d.diagnosis, " — nốt ruồi")
	d.savedNote.Hide()
	u.win.Canvas().Focused().(fyne.Shortcutable).TypedShortcut(ctrlS)
	if !d.savedNote.Visible() || d.unsaved() {
		t.Error("Ctrl+S in a saved assessment's diagnosis did not save")
	}
}

// Item 2: a new patient like a registered one (same name and birth year) is not added
// until the clinician says so; "Cancel" adds nothing, "Add as a new patient" adds them.
func TestSimilarPatientAsksBeforeASecondRecord(t *testing.T) {
	u, c := newTestUI(t)
	addPatient(t, u, "Nguyễn Thị Hồng", "BN-1")
	f := u.editPatient(nil)
	test.Type(f.name, "nguyen thi hong")
	test.Type(f.code, "BN-2")
	test.Type(f.birthYear, "1961")
	test.Tap(f.save)
	if f.similar == nil {
		t.Fatal("no 'already registered?' question")
	}
	count := func() int { ps, _ := c.SearchPatients(t.Context(), "", 10); return len(ps) }
	if count() != 1 {
		t.Fatalf("%d patients before the answer", count())
	}
	test.Tap(dialogButton(t, u, "Add as a new patient"))
	if count() != 2 {
		t.Errorf("%d patients after 'Add as a new patient'", count())
	}
}

// A quick re-pick on the compare screen never shows one date's photo under another date's
// text: the slow photo of the first pick (a large photo takes longer to decode) arrives after
// the second pick's, and is dropped.
func TestCompareDropsASupersededPhoto(t *testing.T) {
	u, c := newTestUI(t)
	addPatient(t, u, "Ngô Quyền", "BN-1")
	p := u.screen.(*patientScreen).patient
	small := clinictest.Photo(t, "ISIC_0024311.png")
	var big bytes.Buffer
	if err := jpeg.Encode(&big, imaging.Resize(small.Image, 4800, 3600, imaging.Linear), &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	bigPhoto, err := c.DecodePhoto("big.jpg", big.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.Assess(t.Context(), p.ID, 0, "back", bigPhoto, clinic.Examination{}, clinic.Findings{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Assess(t.Context(), p.ID, first.LesionID, "", small, clinic.Examination{}, clinic.Findings{})
	if err != nil {
		t.Fatal(err)
	}
	u.openPatient(p.ID)
	ps := u.screen.(*patientScreen)
	test.Tap(ps.compare[first.LesionID])
	u.jobs.Wait()
	cs := u.screen.(*compareScreen)
	side := cs.sides[1]
	side.pick.SetSelectedIndex(0) // the large photo: slow
	side.pick.SetSelectedIndex(1) // at once the small one: fast, and the one asked for last
	u.jobs.Wait()
	if side.shown.ID != second.AssessmentID || side.photoOf != second.AssessmentID {
		t.Errorf("text of assessment %d, photo of assessment %d; both should be %d", side.shown.ID, side.photoOf, second.AssessmentID)
	}
}

// A photo refused before decoding is explained as such (what it is, what decoding it needs),
// not as an analysis that ran out of memory.
func TestRefusedDecodeIsExplainedAsADecode(t *testing.T) {
	u, c := newTestUI(t)
	addPatient(t, u, "Trưng Trắc", "BN-1")
	u.screen.(*patientScreen).newAssessment(0)
	a := u.screen.(*assessScreen)
	h, err := hostile.Make("png-16bit", 3000)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), h.Name)
	os.WriteFile(path, h.Data, 0o644)
	s, _ := memory.Read()
	c.SetBudget(s.RSS+20*clinic.MB, 0)
	a.loadFile(path)
	u.jobs.Wait()
	if a.photo != nil || u.lastError == nil {
		t.Fatalf("a 3000×3000 16-bit PNG under a tight budget: photo %v, error %v", a.photo != nil, u.lastError)
	}
	if msg := explain(u.lastError); !strings.Contains(msg, "decoding a 3000×3000 16-bit RGBA PNG") {
		t.Errorf("told the clinician: %s", msg)
	}
}

// The clinic's-day issue, item 4: Ctrl+S and Ctrl+O did nothing while the cursor was in the
// diameter box (a plain entry) or, for Ctrl+O and Ctrl+Enter, in any text box. Now every text
// field of the assessment passes the window's shortcuts on.
func TestWindowShortcutsWorkInEveryTextField(t *testing.T) {
	u, c := newTestUI(t)
	addPatient(t, u, "Bùi Thị Xuân", "BN-1")
	a := draft(t, u)
	a.site.SetSelectedIndex(0)
	ctrl := func(k fyne.KeyName) *desktop.CustomShortcut {
		return &desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault}
	}
	// Ctrl+Enter in the diameter box analyses.
	u.win.Canvas().Focus(a.exam.diameter)
	u.win.Canvas().Focused().(fyne.Shortcutable).TypedShortcut(ctrl(fyne.KeyReturn))
	u.jobs.Wait()
	if a.analysis == nil {
		t.Fatal("Ctrl+Enter in the diameter box did not analyse")
	}
	// Ctrl+O in the notes opens the photo dialog.
	before := len(u.win.Canvas().Overlays().List())
	u.win.Canvas().Focus(a.notes)
	u.win.Canvas().Focused().(fyne.Shortcutable).TypedShortcut(ctrl(fyne.KeyO))
	if len(u.win.Canvas().Overlays().List()) == before {
		t.Error("Ctrl+O in the notes opened no photo dialog")
	}
	u.win.Canvas().Overlays().Top().Hide()
	// Ctrl+S in the diameter box saves.
	a.exam.setPhotoType(clinic.Dermoscopic)
	u.win.Canvas().Focus(a.exam.diameter)
	test.Type(a.exam.diameter, "4,5")
	u.win.Canvas().Focused().(fyne.Shortcutable).TypedShortcut(ctrl(fyne.KeyS))
	u.jobs.Wait()
	if u.lastError != nil || a.saved == nil {
		t.Fatalf("Ctrl+S in the diameter box: %v", u.lastError)
	}
	e, _, err := c.Entry(context.Background(), a.saved.AssessmentID)
	if err != nil || e.Assessment.DiameterMM == nil || *e.Assessment.DiameterMM != 4.5 {
		t.Errorf("stored %+v %v", e.Assessment.DiameterMM, err)
	}
}

// The clinic's day, item 8: a photo that is not a skin lesion shows no class bars and no
// heatmap, says to take a photo of the lesion, and cannot be saved; a lesion's photo after
// it is analysed and saved as usual.
func TestANonSkinPhotoShowsNoResultAndCannotBeSaved(t *testing.T) {
	u, _ := newTestUI(t)
	addPatient(t, u, "Mạc Đĩnh Chi", "BN-8")
	u.screen.(*patientScreen).newAssessment(0)
	a := u.screen.(*assessScreen)
	a.loadFile("../inference/testdata/nonskin/coffee.jpg")
	u.jobs.Wait()
	a.analyse()
	u.jobs.Wait()
	if !a.notALesion() {
		t.Fatal("the coffee cup was not called 'not a lesion' (the test proves nothing)")
	}
	if a.result.bars.Visible() || a.result.gradcam.Checked || !a.result.gradcam.Disabled() {
		t.Errorf("a non-skin photo shows class bars (%v) or a heatmap (%v)", a.result.bars.Visible(), a.result.gradcam.Checked)
	}
	if !a.saveBtn.Disabled() || !strings.Contains(a.state.Text, "does not look like a skin lesion") || strings.Contains(a.state.Text, "Record your findings") {
		t.Errorf("Save enabled %v, status %q", !a.saveBtn.Disabled(), a.state.Text)
	}
	a.loadFile(clinictest.Fixture("ISIC_0024311.png"))
	u.jobs.Wait()
	a.analyse()
	u.jobs.Wait()
	if a.notALesion() || !a.result.bars.Visible() || a.saveBtn.Disabled() {
		t.Errorf("a lesion after it: bars %v, save enabled %v", a.result.bars.Visible(), !a.saveBtn.Disabled())
	}
	// The class names are wrapped, never cut (the clinic's day, item 12).
	walk(a.result.bars, func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok && l.Truncation != fyne.TextTruncateOff {
			t.Errorf("the class name %q is cut", l.Text)
		}
	})
}

// The clinic's day, item 12: the date fields' calendar names its month and weekdays in the
// clinic's language (Fyne's said "December 2026" in English), and a day picked fills the field.
func TestTheCalendarSpeaksTheClinicsLanguage(t *testing.T) {
	u, _ := newTestUI(t)
	addPatient(t, u, "Phan Bội Châu", "BN-40")
	u.lang = "vi"
	u.screen.(*patientScreen).newAssessment(0)
	a := u.screen.(*assessScreen)
	u.win.Resize(fyne.NewSize(1024, 560))
	test.Tap(a.followUp.ActionItem.(*widget.Button))
	txt := overlayText(u)
	now := time.Now()
	if !strings.Contains(txt, fmt.Sprintf("Tháng %d năm %d", int(now.Month()), now.Year())) || !strings.Contains(txt, "CN") || strings.Contains(txt, now.Format("January")) {
		t.Fatalf("the calendar: %.300q", txt)
	}
	// The calendar stays inside the window (at 1024×600 it ran off its bottom).
	top := u.win.Canvas().Overlays().Top().(*widget.PopUp)
	if p, s, w := top.Content.Position(), top.Content.Size(), u.win.Canvas().Size(); p.Y+s.Height > w.Height+0.5 || p.X+s.Width > w.Width+0.5 {
		t.Errorf("the calendar at %v, %v runs out of the %v window", p, s, w)
	}
	var day15 *widget.Button
	walk(u.win.Canvas().Overlays().Top(), func(o fyne.CanvasObject) {
		if b, ok := o.(*widget.Button); ok && b.Text == "15" {
			day15 = b
		}
	})
	if day15 == nil {
		t.Fatal("no day 15 in the calendar")
	}
	test.Tap(day15)
	if a.followUp.Date == nil || a.followUp.Date.Day() != 15 || a.followUp.Date.Month() != now.Month() {
		t.Errorf("the picked day: %v (%q)", a.followUp.Date, a.followUp.Text)
	}
}

// The clinic's day, item 5: the mouse wheel over the notes box scrolls the panel it sits in
// (the box's own scroller took the wheel, and the panel stopped under the pointer); the box
// still takes taps and typing.
func TestTheWheelOverTheNotesScrollsThePanel(t *testing.T) {
	u, c := newTestUI(t)
	addPatient(t, u, "Hồ Xuân Hương", "BN-50")
	p := u.screen.(*patientScreen).patient
	r, err := c.Assess(context.Background(), p.ID, 0, "back", clinictest.Photo(t, "ISIC_0024311.png"), clinic.Examination{}, clinic.Findings{Notes: "một\nhai\nba\nbốn\nnăm"})
	if err != nil {
		t.Fatal(err)
	}
	u.win.Resize(fyne.NewSize(1024, 560))
	u.showAssessment(r.AssessmentID)
	u.jobs.Wait()
	d := u.screen.(*detailScreen)
	var pane *container.Scroll
	walk(u.win.Content(), func(o fyne.CanvasObject) {
		if s, ok := o.(*container.Scroll); ok && pane == nil {
			inside := false
			walk(s.Content, func(c fyne.CanvasObject) { inside = inside || c == d.notes })
			if inside {
				pane = s
			}
		}
	})
	if pane == nil {
		t.Fatal("the notes are not in a scrolling pane")
	}
	// Bring the notes into view, then turn the wheel over them.
	pane.ScrollToOffset(fyne.NewPos(0, fyne.CurrentApp().Driver().AbsolutePositionForObject(d.notes).Y-200))
	before := pane.Offset.Y
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(d.notes).Add(fyne.NewPos(20, 20))
	test.Scroll(u.win.Canvas(), pos, 0, -40)
	if pane.Offset.Y == before {
		t.Errorf("the wheel over the notes did not scroll the panel (offset %v)", before)
	}
	if d.notes.MinSize().Height < 5*theme.TextSize() {
		t.Errorf("the notes box does not show its five lines: %v high", d.notes.MinSize().Height)
	}
	// Clicks, the pointer and typing reach the box: Fyne gives each to the topmost object that
	// takes it, and the pass-through above the box takes only the wheel.
	var pass any = newWheelPass()
	_, taps := pass.(fyne.Tappable)
	_, focus := pass.(fyne.Focusable)
	_, hover := pass.(desktop.Hoverable)
	_, mouse := pass.(desktop.Mouseable)
	if taps || focus || hover || mouse {
		t.Errorf("the wheel's pass-through takes more than the wheel: tap %v focus %v hover %v mouse %v", taps, focus, hover, mouse)
	}
}
