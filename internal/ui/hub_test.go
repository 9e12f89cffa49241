package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
	"dermal/internal/hub/hubtest"
	"dermal/internal/storage"
)

// The teleconsultation loop in the window, against a real Orthanc: the clinic's Today says a
// referral was sent and awaits its reply; a specialist's desk opens on the district inbox,
// shows the case (the photo as sent, the result, the letter) and sends a reply; the reply comes
// home and the assessment shows it as its outcome. Both screens fit a 1024×600 screen, in
// English and Vietnamese (screenshots when DERMAL_SCREENSHOTS is set).
func TestSpecialistDeskAndReplyArriving(t *testing.T) {
	h := hubtest.ForTest(t, map[string]string{"clinic1": "clinic one password", "specialist": "specialist password"})
	ctx := context.Background()
	for _, language := range []string{"en", "vi"} {
		// The clinic: a consenting patient, an assessment, a referral letter, sent.
		u, c := newTestUI(t)
		if err := c.SetProfile(ctx, clinic.ClinicProfile{Name: "Trạm Y tế xã Đồng Tâm", Address: "Xã Đồng Tâm", Phone: "024 3384 1234"}); err != nil {
			t.Fatal(err)
		}
		if err := c.SetHub(ctx, clinic.HubSettings{URL: h.URL(), User: "clinic1", Password: "clinic one password"}); err != nil {
			t.Fatal(err)
		}
		yes, now := true, time.Now()
		code := "BN-" + language
		pid, err := c.AddPatient(ctx, storage.Patient{Code: code, FullName: "Nguyễn Thị Hồng", Sex: "F", BirthYear: 1971, ConsentPhotos: &yes, ConsentReferral: &yes, ConsentAt: &now}, true)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Assess(ctx, pid, 0, "foot", clinictest.Photo(t, "ISIC_0024367.png"), clinic.Examination{PhotoType: clinic.Dermoscopic}, clinic.Findings{Notes: "đổi màu 3 tháng nay"})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WriteReferral(ctx, clinic.ReferralRequest{AssessmentID: r.AssessmentID, To: "Khoa Da liễu tỉnh", Clinician: "Lê Văn An", Language: "vi",
			Reason: "Nốt ruồi gan bàn chân đổi màu", Printed: now}, filepath.Join(t.TempDir(), "l.pdf")); err != nil {
			t.Fatal(err)
		}
		if res, err := c.SyncHub(ctx, false, nil); err != nil || res.Sent != 1 {
			t.Fatalf("clinic sync: %+v %v", res, err)
		}
		if language == "vi" {
			f := u.settingsForm()
			f.language.SetSelected("Tiếng Việt")
			u.applySettings(f)
		}
		u.show(u.worklist())
		w := u.screen.(*worklistScreen)
		var line string
		for _, l := range w.items() {
			if strings.Contains(l.text, code) {
				line = l.text
			}
		}
		if !strings.Contains(line, tr(language, "sent to the district hub, awaiting the reply")) {
			t.Errorf("%s: Today's line for the referral: %q", language, line)
		}
		walk(w.root, func(o fyne.CanvasObject) {
			if l, ok := o.(*widget.List); ok {
				l.ScrollToBottom()
			}
		})
		shot(t, u, "today-sent", language)

		// The specialist's desk.
		s, sc := newTestUI(t)
		if err := sc.SetHub(ctx, clinic.HubSettings{URL: h.URL(), User: "specialist", Password: "specialist password"}); err != nil {
			t.Fatal(err)
		}
		if language == "en" {
			// A computer set as a specialist's desk opens on the inbox, whoever logs in.
			s.prefs.p.SetBool(prefSpecialistDesk, true)
		} else {
			// A member of staff with the specialist role does, on any computer.
			if err := sc.AddUser(ctx, "minh", "BS. Trần Minh", clinic.RoleSpecialist, "specialist password 1"); err != nil {
				t.Fatal(err)
			}
			if _, err := sc.Login(ctx, "minh", "specialist password 1"); err != nil {
				t.Fatal(err)
			}
		}
		if language == "vi" {
			f := s.settingsForm()
			f.language.SetSelected("Tiếng Việt")
			s.applySettings(f)
		} else {
			s.build()
		}
		s.jobs.Wait()
		inbox, ok := s.screen.(*inboxScreen)
		if !ok {
			t.Fatalf("%s: the specialist's window opened on %T, not the district inbox", language, s.screen)
		}
		var mine *clinic.InboxCase
		for i, ic := range inbox.cases {
			if ic.PatientID == clinic.HubPatientID("clinic1", code) {
				mine = &inbox.cases[i]
			}
		}
		if mine == nil {
			t.Fatalf("%s: the referral is not in the inbox: %+v", language, inbox.cases)
		}
		fitsWindow(t, s, "district inbox")
		shot(t, s, "district-inbox", language)
		s.show(s.inboxCase(*mine))
		s.jobs.Wait()
		cs := s.screen.(*caseScreen)
		fitsWindow(t, s, "a case from the district")
		if cs.photo.Image == nil {
			t.Errorf("%s: the case shows no photo", language)
		}
		// What decided the tier is named for a person ("Melanoma", "the malignant classes
		// together"), never the stored code ("mel", "malignant_sum").
		driverLine := ""
		for _, l := range strings.Split(cs.result.Text, "\n") {
			if strings.HasPrefix(l, tr(language, "What decided the tier")+": ") {
				driverLine = l
			}
		}
		if driverLine == "" {
			t.Errorf("%s: the case does not say what decided the tier: %q", language, cs.result.Text)
		}
		for _, code := range append(clinic.Card(c.Card()).Labels, "malignant_sum", "seven_point", "dermoscopy", "quality", "plain_photo") {
			if strings.HasSuffix(driverLine, ": "+code) {
				t.Errorf("%s: the driver is shown as its code: %q", language, driverLine)
			}
		}
		// The Grad-CAM map as the clinic saw it, in place of the photo while checked.
		if !cs.showMap.Visible() {
			t.Errorf("%s: the case offers no Grad-CAM map as sent", language)
		}
		photo := cs.photo.Image
		cs.showMap.SetChecked(true)
		if cs.photo.Image == photo || cs.photo.Image == nil {
			t.Errorf("%s: checking %q does not show the map", language, cs.showMap.Text)
		}
		shot(t, s, "district-case-gradcam", language)
		cs.showMap.SetChecked(false)
		if cs.photo.Image != photo {
			t.Errorf("%s: unchecking %q does not bring the photo back", language, cs.showMap.Text)
		}
		cs.diagnosis.SetText("Nốt ruồi loạn sản")
		cs.advice.SetText("Chụp lại sau 3 tháng")
		cs.plan.SetSelected(cs.plan.Options[1])
		shot(t, s, "district-case", language)
		cs.send.OnTapped()
		s.jobs.Wait()
		if _, ok := s.screen.(*inboxScreen); !ok {
			t.Fatalf("%s: after the reply the window shows %T", language, s.screen)
		}

		// The reply comes home.
		res, err := c.SyncHub(ctx, false, nil)
		if err != nil || len(res.Replies) != 1 {
			t.Fatalf("%s: the reply did not come home: %+v %v", language, res, err)
		}
		u.showAssessment(r.AssessmentID)
		u.jobs.Wait()
		d := u.screen.(*detailScreen)
		if !strings.Contains(d.outcome.Text, "Nốt ruồi loạn sản") {
			t.Errorf("%s: the assessment does not show the reply: %q", language, d.outcome.Text)
		}
		// The reply is at the end of the result panel.
		walk(d.root, func(o fyne.CanvasObject) {
			if sc, ok := o.(*container.Scroll); ok {
				sc.ScrollToBottom()
			}
		})
		shot(t, u, "reply-arrived", language)
		SetLanguage("en")
	}
}

// tr is a key in a language (the window's language is set already).
func tr(language, key string) string { return lang.L(key) }

// shot writes a screenshot at 1366×768 and 1024×600 when DERMAL_SCREENSHOTS is set.
func shot(t *testing.T, u *UI, name, language string) {
	dir := os.Getenv("DERMAL_SCREENSHOTS")
	if dir == "" {
		return
	}
	u.app.Settings().SetTheme(lightTheme{theme.DefaultTheme()})
	for _, size := range []fyne.Size{{Width: 1366, Height: 728}, {Width: 1024, Height: 560}} {
		u.win.Resize(size.AddWidthHeight(0, 1))
		u.win.Resize(size)
		writeCapture(t, u, filepath.Join(dir, name+"-"+language+"-"+sizeName(size)+".png"))
	}
}

// The district hub's dialog says what the outbox holds and why a referral is not sent, in
// words a clinician acts on; without a hub it says letters go on paper only.
func TestHubStatusSaysWhyNotSent(t *testing.T) {
	u, c := newTestUI(t)
	ctx := context.Background()
	if got := u.hubStatusText(ctx); !strings.Contains(got, "No district hub is set") {
		t.Errorf("without a hub: %q", got)
	}
	if err := c.SetProfile(ctx, clinic.ClinicProfile{Name: "Trạm Y tế", Address: "Xã Đồng Tâm", Phone: "024 3384 1234"}); err != nil {
		t.Fatal(err)
	}
	// A hub address where nothing listens: this computer, a port just closed.
	if err := c.SetHub(ctx, clinic.HubSettings{URL: "http://127.0.0.1:9/dicom-web/", User: "clinic1", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	yes, now := true, time.Now()
	pid, err := c.AddPatient(ctx, storage.Patient{Code: "BN-9", FullName: "Hà Văn Chín", ConsentPhotos: &yes, ConsentReferral: &yes, ConsentAt: &now}, true)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Assess(ctx, pid, 0, "back", clinictest.Photo(t, "ISIC_0024367.png"), clinic.Examination{PhotoType: clinic.Dermoscopic}, clinic.Findings{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteReferral(ctx, clinic.ReferralRequest{AssessmentID: r.AssessmentID, To: "Khoa Da liễu", Clinician: "Lê Văn An", Language: "en", Printed: now},
		filepath.Join(t.TempDir(), "l.pdf")); err != nil {
		t.Fatal(err)
	}
	if got := u.hubStatusText(ctx); !strings.Contains(got, "1 queued") {
		t.Errorf("with a referral queued: %q", got)
	}
	if _, err := c.SyncHub(ctx, false, nil); err == nil {
		t.Fatal("a sync to a closed port succeeded")
	}
	got := u.hubStatusText(ctx)
	if !strings.Contains(got, "1 not sent yet") || !strings.Contains(got, "BN-9") || !strings.Contains(got, "cannot be reached") {
		t.Errorf("after a failed sync: %q", got)
	}
	u.show(u.worklist())
	for _, l := range u.screen.(*worklistScreen).items() {
		if strings.Contains(l.text, "BN-9") && !strings.Contains(l.text, "not sent to the district hub yet: the district server cannot be reached") {
			t.Errorf("Today's line: %q", l.text)
		}
	}
}
