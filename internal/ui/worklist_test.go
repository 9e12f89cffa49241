package ui

import (
	"context"
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
