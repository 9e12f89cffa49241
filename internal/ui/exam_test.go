package ui

import (
	"context"
	"image"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
)

// A plain photo: the model's output is labelled not validated and the tier follows the
// 7-point checklist as it is ticked (cannot assess → low concern → urgent); what is saved is
// what was on screen, and the next photo starts with no photo type chosen.
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
	if a.exam.selectedPhotoType() != "" || !a.exam.typeHint.Visible() {
		t.Errorf("a new photo starts as %q (hint shown %v), not unchosen", a.exam.selectedPhotoType(), a.exam.typeHint.Visible())
	}
	if a.result.unvalidated.Visible() {
		t.Error("a photo of no chosen type is labelled not validated: the model's result is what it shows meanwhile")
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
	// The next photo starts unchosen: the choice was for that photo only.
	u.openPatient(a.patient.ID)
	u.jobs.Wait()
	test.Tap(u.screen.(*patientScreen).newBtn)
	a = u.screen.(*assessScreen)
	a.loadFile(clinictest.Fixture("ISIC_0024311.png"))
	u.jobs.Wait()
	if got := a.exam.selectedPhotoType(); got != "" {
		t.Errorf("the next photo starts as %q", got)
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

// The way a melanoma was lost (triage issue): a clinician sets one photo to "plain" and leaves
// without saving; after a restart another user assesses another patient's dermoscopic photo,
// which the model scores melanoma. It must not come up "cannot assess — plain photo": the type
// starts unchosen, Save refuses until the clinician chooses it, and what is saved is the type
// chosen for that photo.
func TestPhotoTypeIsNeverCarriedOver(t *testing.T) {
	u, c := newTestUI(t)
	ctx := context.Background()
	if err := c.AddUser(ctx, "binh", "BS. Trần Bình", "clinician", "binh password"); err != nil {
		t.Fatal(err)
	}
	addPatient(t, u, "Lê Thị Mai", "BN-5")
	test.Tap(u.screen.(*patientScreen).newBtn)
	a := u.screen.(*assessScreen)
	a.loadFile(clinictest.Fixture("ISIC_0024311.png"))
	u.jobs.Wait()
	a.exam.setPhotoType(clinic.Plain)
	// Left without saving; the app closes (the next UI is the restart, on the same preferences).
	prefs := u.prefs
	u.jobs.Wait()
	c.Logout()
	if _, err := c.Login(ctx, "binh", "binh password"); err != nil {
		t.Fatal(err)
	}
	u2 := New(u.app, c, prefs, u.log)
	u2.jobs.Wait()
	addPatient(t, u2, "Nguyễn Văn Hùng", "BN-6")
	test.Tap(u2.screen.(*patientScreen).newBtn)
	b := u2.screen.(*assessScreen)
	b.site.SetSelected(b.site.Options[0])
	b.loadFile(clinictest.Fixture("ISIC_0024367.png")) // the model: melanoma 78%, urgent
	u2.jobs.Wait()
	test.Tap(b.analyseBtn)
	u2.jobs.Wait()
	if got := b.exam.selectedPhotoType(); got != "" {
		t.Fatalf("the photo type came up as %q, chosen by nobody for this photo", got)
	}
	if got := b.result.tier.Text; got != "Urgent referral" {
		t.Errorf("before a type is chosen the screen shows %q, not the model's urgent result", got)
	}
	test.Tap(b.saveBtn)
	u2.jobs.Wait()
	if b.saved != nil || u2.lastError == nil || !strings.Contains(u2.lastError.Error(), "photo type") {
		t.Fatalf("saved without a photo type chosen: saved %v, error %v", b.saved, u2.lastError)
	}
	if hs, _ := c.History(ctx, b.patient.ID); len(hs) != 0 {
		t.Fatalf("%d assessments stored by a refused save", len(hs))
	}
	u2.lastError = nil
	b.exam.setPhotoType(clinic.Dermoscopic)
	test.Tap(b.saveBtn)
	u2.jobs.Wait()
	if u2.lastError != nil || b.saved == nil {
		t.Fatalf("save: %v", u2.lastError)
	}
	e, _, err := c.Entry(ctx, b.saved.AssessmentID)
	if err != nil {
		t.Fatal(err)
	}
	if e.Assessment.PhotoType != "dermoscopic" || e.Assessment.RiskTier != "urgent" {
		t.Errorf("stored %s photo, tier %s; want dermoscopic, urgent", e.Assessment.PhotoType, e.Assessment.RiskTier)
	}
}

// The dermoscopic checklist in the window, in both languages: it is offered for a dermoscopic
// photo (with an invitation while it is not done) and not for a plain one; ticking criteria
// shows the score live and raises the tier; what is saved is the checklist, apart from the
// clinical one, and the detail screen prints it.
func TestDermoscopyChecklistInWindow(t *testing.T) {
	for _, tc := range []struct {
		lang, urgent, routine, score, stored string
	}{
		{"en", "Urgent referral", "Low concern", "Score 3 / 10 — refer urgently", "Dermoscopic 7-point checklist: Atypical pigment network (2), Regression structures (1): 3 / 10"},
		{"vi", "Chuyển tuyến khẩn", "Ít đáng lo", "Điểm 3 / 10 — chuyển tuyến khẩn", "Bảng kiểm soi da 7 điểm: Mạng sắc tố không điển hình (2), Cấu trúc thoái triển (1): 3 / 10"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			u, c := newTestUI(t)
			u.prefs.p.SetString(prefLanguage, tc.lang)
			SetLanguage(tc.lang)
			u.lang = tc.lang
			addPatient(t, u, "Đặng Thị Lan", "BN-7")
			test.Tap(u.screen.(*patientScreen).newBtn)
			a := u.screen.(*assessScreen)
			a.site.SetSelected(a.site.Options[0])
			a.loadFile(clinictest.Fixture("ISIC_0024311.png")) // the model: nevus, routine
			u.jobs.Wait()
			test.Tap(a.analyseBtn)
			u.jobs.Wait()
			a.exam.setPhotoType(clinic.Dermoscopic)
			if !a.exam.dermoscopyBox.Visible() || !a.exam.dermoscopyHint.Visible() {
				t.Error("a dermoscopic photo does not invite the dermoscopic checklist")
			}
			if a.exam.criteria[0].Disabled() == false {
				t.Error("criteria can be ticked before the checklist is being recorded")
			}
			test.Tap(a.exam.dermoscopy)
			if got := a.result.tier.Text; got != tc.routine {
				t.Errorf("checklist with nothing present: tier %q, want %q", got, tc.routine)
			}
			test.Tap(a.exam.criteria[0]) // atypical network, 2
			test.Tap(a.exam.criteria[6]) // regression, 1
			if got := a.exam.dermoscopyScore.Text; got != tc.score {
				t.Errorf("live score %q, want %q", got, tc.score)
			}
			if got := a.result.tier.Text; got != tc.urgent || !strings.Contains(a.result.headline.Text, "3") {
				t.Errorf("score 3: tier %q, headline %q", got, a.result.headline.Text)
			}
			// A plain photo hides it, and it does not count there.
			a.exam.setPhotoType(clinic.Plain)
			if a.exam.dermoscopyBox.Visible() || a.exam.dermoscopyChecklist() != nil {
				t.Error("the dermoscopic checklist is offered or counted for a plain photo")
			}
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
			s := e.Assessment
			if s.RiskTier != "urgent" || s.TierDriver != "dermoscopy" || !slices.Equal(s.Dermoscopy, []string{"atypical-network", "regression"}) || s.SevenPoint != nil {
				t.Errorf("stored tier %s by %s, dermoscopy %v, clinical checklist %v", s.RiskTier, s.TierDriver, s.Dermoscopy, s.SevenPoint)
			}
			if got := examSummary(tc.lang, s); !strings.Contains(got, tc.stored) {
				t.Errorf("detail summary %q lacks %q", got, tc.stored)
			}
		})
	}
}

// Each criterion has its own drawing, made here, and no two are the same picture.
func TestCriterionDrawings(t *testing.T) {
	seen := map[string]clinic.Criterion{}
	for _, c := range clinic.DermoscopyItems {
		img := criterionDrawing(c)
		if img == nil || img.Bounds().Dx() != drawingW {
			t.Fatalf("%s: no drawing", c)
		}
		key := string(img.(*image.NRGBA).Pix)
		if other, ok := seen[key]; ok {
			t.Errorf("%s draws the same picture as %s", c, other)
		}
		seen[key] = c
	}
}
