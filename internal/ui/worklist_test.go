package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

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
	if len(w.rows) != 2 || w.assessments[0] != due.AssessmentID || w.assessments[1] != urgent.AssessmentID {
		t.Fatalf("worklist rows %v", w.assessments)
	}
	if !strings.Contains(w.rows[0].Text, "Nguyễn Thị Hồng") || !strings.Contains(w.rows[1].Text, "Urgent referral") || !strings.Contains(w.rows[1].Text, "no referral letter") {
		t.Errorf("rows read %q / %q", w.rows[0].Text, w.rows[1].Text)
	}
	test.Tap(w.rows[1])
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
	if w := u.screen.(*worklistScreen); len(w.rows) != 1 {
		t.Errorf("after the outcome: %v", w.assessments)
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
