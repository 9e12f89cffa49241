package ui

import (
	"context"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
)

// A plain photo: the model's output is labelled not validated and the tier follows the
// 7-point checklist as it is ticked (cannot assess → low concern → urgent); what is saved is
// what was on screen, and the photo type is remembered for the next photo from that source.
func TestChecklistTierForPlainPhoto(t *testing.T) {
	u, c := newTestUI(t)
	addPatient(t, u, "Lê Thị Mai", "BN-5")
	ps := u.screen.(*patientScreen)
	test.Tap(ps.newBtn)
	a := u.screen.(*assessScreen)
	a.site.SetSelected(a.site.Options[2])
	a.loadFile(clinictest.Fixture("ISIC_0024311.png"))
	u.jobs.Wait()
	test.Tap(a.analyseBtn)
	u.jobs.Wait()
	if a.analysis == nil {
		t.Fatalf("no analysis: %v", u.lastError)
	}
	if a.result.unvalidated.Visible() {
		t.Error("a dermoscopic photo is labelled not validated")
	}
	if !strings.Contains(a.result.legend.Text, "*") {
		t.Errorf("the meaning of * is not on screen: %q", a.result.legend.Text)
	}
	a.exam.setPhotoType(clinic.Plain)
	if got := a.result.tier.Text; got != "Cannot assess" || !a.result.unvalidated.Visible() || !strings.Contains(a.result.headline.Text, "7-point checklist") {
		t.Errorf("plain photo, no checklist: tier %q, headline %q, not-validated shown %v", got, a.result.headline.Text, a.result.unvalidated.Visible())
	}
	test.Tap(a.exam.checklist)
	if got := a.result.tier.Text; got != "Low concern" {
		t.Errorf("checklist with nothing present: tier %q", got)
	}
	test.Tap(a.exam.items[1]) // shape, 2 points
	test.Tap(a.exam.items[4]) // inflammation, 1 point
	if got := a.result.tier.Text; got != "Urgent referral" || !strings.Contains(a.result.headline.Text, "score 3") || !strings.Contains(a.exam.score.Text, "3 / 10") {
		t.Errorf("score 3: tier %q, headline %q, score %q", got, a.result.headline.Text, a.exam.score.Text)
	}
	test.Type(a.exam.diameter, "7,5")
	test.Tap(a.exam.signs[0])
	test.Tap(a.saveBtn)
	u.jobs.Wait()
	if u.lastError != nil || a.saved == nil {
		t.Fatalf("save: %v", u.lastError)
	}
	e, _, err := c.Entry(context.Background(), a.saved.AssessmentID)
	if err != nil {
		t.Fatal(err)
	}
	s := e.Assessment
	if s.RiskTier != "urgent" || s.PhotoType != "plain" || !slices.Equal(s.SevenPoint, []string{"shape", "inflammation"}) ||
		s.DiameterMM == nil || *s.DiameterMM != 7.5 || !slices.Equal(s.ABCDE, []string{"asymmetry"}) {
		t.Errorf("stored %+v", s)
	}
	// The detail screen shows the stored examination and the same headline.
	if d, ok := u.screen.(*detailScreen); !ok {
		t.Errorf("after saving the screen is %T", u.screen)
	} else if u.jobs.Wait(); !strings.Contains(d.result.headline.Text, "score 3") || !d.result.unvalidated.Visible() {
		t.Errorf("detail headline %q", d.result.headline.Text)
	}
	// The next photo from a file starts as plain: the choice is remembered per source.
	if u.prefs.PhotoType("file") != clinic.Plain || u.prefs.PhotoType("phone") != clinic.Dermoscopic {
		t.Errorf("remembered photo types: file %s, phone %s", u.prefs.PhotoType("file"), u.prefs.PhotoType("phone"))
	}
}

// A bad diameter is refused at Save with a message naming it, and nothing is stored.
func TestBadDiameterIsNamed(t *testing.T) {
	u, c := newTestUI(t)
	addPatient(t, u, "Phạm Văn Đức", "BN-6")
	test.Tap(u.screen.(*patientScreen).newBtn)
	a := u.screen.(*assessScreen)
	a.site.SetSelected(a.site.Options[0])
	a.loadFile(clinictest.Fixture("ISIC_0024311.png"))
	u.jobs.Wait()
	test.Tap(a.analyseBtn)
	u.jobs.Wait()
	test.Type(a.exam.diameter, "seven")
	test.Tap(a.saveBtn)
	u.jobs.Wait()
	if u.lastError == nil || !strings.Contains(u.lastError.Error(), "diameter") || a.saved != nil {
		t.Errorf("saved with diameter \"seven\": %v", u.lastError)
	}
	p := u.screen.(*assessScreen).patient
	if hs, _ := c.History(context.Background(), p.ID); len(hs) != 0 {
		t.Errorf("%d assessments stored", len(hs))
	}
}
