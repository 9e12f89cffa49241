package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
)

// The home screen lists who is due back and which urgent results wait for an outcome; one
// tap opens that lesion's assessment.
func TestWorklistOpensTheLesion(t *testing.T) {
	u, c := newTestUI(t)
	ctx := context.Background()
	addPatient(t, u, "Nguyễn Thị Hồng", "BN-1")
	p := u.screen.(*patientScreen).patient
	photo := clinictest.Photo(t, "ISIC_0024311.png")
	today := time.Now()
	due, err := c.Assess(ctx, p.ID, 0, "back", photo, clinic.Examination{}, clinic.Findings{FollowUp: &today})
	if err != nil {
		t.Fatal(err)
	}
	refer, _ := clinic.NewSevenPoint([]clinic.CheckItem{"size", "oozing"})
	urgent, err := c.Assess(ctx, p.ID, 0, "hand", photo, clinic.Examination{PhotoType: clinic.Plain, SevenPoint: refer}, clinic.Findings{})
	if err != nil {
		t.Fatal(err)
	}
	u.show(u.worklist())
	w, ok := u.screen.(*worklistScreen)
	if !ok {
		t.Fatalf("home is %T", u.screen)
	}
	items := w.items()
	if len(items) != 2 || items[0].assessment != due.AssessmentID || items[1].assessment != urgent.AssessmentID {
		t.Fatalf("worklist rows %v", items)
	}
	if !strings.Contains(items[0].text, "Nguyễn Thị Hồng") || !strings.Contains(items[1].text, "Urgent referral") || !strings.Contains(items[1].text, "no referral letter") {
		t.Errorf("rows read %q / %q", items[0].text, items[1].text)
	}
	// The row on screen is a button that opens it.
	var row *widget.Button
	walk(u.win.Content(), func(o fyne.CanvasObject) {
		if b, ok := o.(*widget.Button); ok && b.Visible() && b.Text == items[1].text {
			row = b
		}
	})
	if row == nil {
		t.Fatal("the urgent row is not on screen")
	}
	test.Tap(row)
	u.jobs.Wait()
	d, ok := u.screen.(*detailScreen)
	if !ok || d.entry.Assessment.ID != urgent.AssessmentID {
		t.Fatalf("tapping the urgent row opened %T", u.screen)
	}
	// Recording the outcome on the assessment takes it off the list.
	if _, err := c.RecordOutcome(ctx, urgent.AssessmentID, clinic.OutcomeSpecialist, "seborrhoeic keratosis", today); err != nil {
		t.Fatal(err)
	}
	u.show(u.worklist())
	if w := u.screen.(*worklistScreen); len(w.items()) != 1 {
		t.Errorf("after the outcome: %v", w.items())
	}
}

// Merge a patient registered twice into the other, in the window; delete one.
func TestMergeAndDeletePatientsInTheWindow(t *testing.T) {
	u, c := newTestUI(t)
	ctx := context.Background()
	addPatient(t, u, "Nguyễn Thị Hồng", "BN-1")
	keep := u.screen.(*patientScreen).patient
	addPatient(t, u, "Nguyễn Hồng", "BN-1B")
	dup := u.screen.(*patientScreen)
	if _, err := c.Assess(ctx, dup.patient.ID, 0, "back", clinictest.Photo(t, "ISIC_0024311.png"), clinic.Examination{}, clinic.Findings{}); err != nil {
		t.Fatal(err)
	}
	f := dup.mergeDialog()
	test.Type(f.search, "hong")
	if len(f.found) != 1 || f.found[0].ID != keep.ID {
		t.Fatalf("merge candidates %v", f.found)
	}
	f.choices.SetSelected(f.choices.Options[0])
	dup.merge(f)
	f.dialog.Hide()
	ps, ok := u.screen.(*patientScreen)
	if !ok || ps.patient.ID != keep.ID || len(ps.lesions) != 1 {
		t.Fatalf("after the merge: %T %v", u.screen, u.lastError)
	}
	ps.delete()
	if _, ok := u.screen.(*worklistScreen); !ok {
		t.Errorf("after delete the screen is %T", u.screen)
	}
	if _, err := c.Patient(ctx, keep.ID); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("deleted patient still there: %v", err)
	}
}

// Today at a clinic's fifth year (the scale issue: at 10,000 patients about 12,000 lines, one
// button each in a VBox, and the window never opened): the lines are a virtualised list, so
// the widgets on screen stay a few dozen however long it is; each section says its count, and
// urgent results come before review ones.
func TestTodayStaysSmallAtTenThousandPatients(t *testing.T) {
	u, _ := newTestUI(t)
	today := time.Now()
	var list clinic.Worklist
	list.Today = today
	for i := 0; i < 12000; i++ {
		it := clinic.WorkItem{Patient: clinic.Patient{ID: clinic.PatientID(i + 1), Code: fmt.Sprintf("BN-%05d", i), FullName: "Nguyễn Văn A"},
			Assessment: clinic.AssessmentID(i + 1), TakenAt: today.AddDate(0, 0, -i%700), RiskTier: "review"}
		if i%3 == 0 {
			it.RiskTier = "urgent"
		}
		f := today.AddDate(0, 0, -1-i%30)
		it.FollowUp = &f
		if i%2 == 0 {
			list.Awaiting = append(list.Awaiting, it)
		} else {
			list.Overdue = append(list.Overdue, it)
		}
	}
	w := u.worklistOf(list)
	u.show(w)
	u.win.Resize(fyne.NewSize(1366, 728))
	n := 0
	walk(u.win.Content(), func(fyne.CanvasObject) { n++ })
	if n > 2000 {
		t.Errorf("%d objects on screen for 12,000 lines: the list is not virtualised", n)
	}
	if len(w.items()) != 12000 {
		t.Errorf("%d lines", len(w.items()))
	}
	var heads []string
	for _, l := range w.lines {
		if l.heading {
			heads = append(heads, l.text)
		}
	}
	if !slices.Contains(heads, "Follow-ups overdue (6000)") || !slices.Contains(heads, "Urgent or review, no referral outcome yet (6000)") {
		t.Errorf("section headings %q", heads)
	}
	seenReview := false
	for _, l := range w.lines {
		if l.assessment == 0 {
			continue
		}
		if strings.HasPrefix(l.text, "Specialist review") || strings.HasPrefix(l.text, "Review") {
			seenReview = true
		}
		if seenReview && strings.HasPrefix(l.text, "Urgent referral") {
			t.Fatalf("an urgent result listed after a review one: %q", l.text)
		}
	}
}
