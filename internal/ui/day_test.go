package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"

	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
)

// dayWindow is a 1024×600 screen's window (40 px of title bar).
var dayWindow = fyne.NewSize(1024, 560)

// reachable checks that b can be clicked in the window: inside it, or inside a scrolling
// pane that brings it into view (the pane is scrolled there, as a clinician would).
func reachable(t *testing.T, u *UI, what string, b fyne.CanvasObject) {
	t.Helper()
	abs := func() (fyne.Position, fyne.Size) {
		return fyne.CurrentApp().Driver().AbsolutePositionForObject(b), b.Size()
	}
	p, s := abs()
	if p.Y+s.Height > dayWindow.Height+0.5 || p.Y < 0 {
		// Scroll the pane holding it.
		roots := append([]fyne.CanvasObject{u.win.Content()}, u.win.Canvas().Overlays().List()...)
		for _, root := range roots {
			walk(root, func(o fyne.CanvasObject) {
				sc, ok := o.(*container.Scroll)
				if !ok {
					return
				}
				inside := false
				walk(sc.Content, func(c fyne.CanvasObject) { inside = inside || c == b })
				if inside {
					top := fyne.CurrentApp().Driver().AbsolutePositionForObject(sc.Content)
					sc.ScrollToOffset(fyne.NewPos(0, p.Y-top.Y))
				}
			})
		}
		p, s = abs()
	}
	if !b.Visible() || s.Width <= 0 || p.X < 0 || p.Y < 0 || p.X+s.Width > dayWindow.Width+0.5 || p.Y+s.Height > dayWindow.Height+0.5 {
		t.Fatalf("%s (at %v, %v) cannot be reached in the %v window", what, p, s, dayWindow)
	}
}

// fitsWindow checks that the window's content needs no more than the screen.
func fitsWindow(t *testing.T, u *UI, step string) {
	t.Helper()
	u.win.Resize(dayWindow)
	if m := u.win.Content().MinSize(); m.Width > dayWindow.Width || m.Height > dayWindow.Height {
		t.Fatalf("%s: the window needs %v, more than the %v screen", step, m, dayWindow)
	}
}

// The clinic's day, walked at 1024×600 in Vietnamese through the window as a clinician would:
// setup → patient → assessment → referral letter → outcome → lock → log in again → backup.
// At every step the window stays within the screen and the step's button can be reached
// (the clinic's-day issue's scripted walk; it runs in make test).
func TestTheClinicsDayAt1024x600(t *testing.T) {
	t.Setenv("DERMAL_ANCHOR_DIR", t.TempDir())
	u, c := newSetupUI(t)
	u.win.Resize(dayWindow)
	ctx := context.Background()

	// Setup, in Vietnamese.
	u.setup.language.SetSelected("Tiếng Việt")
	fitsWindow(t, u, "setup")
	test.Type(u.setup.clinicName, "Trạm Y tế xã Đồng Tâm")
	test.Type(u.setup.address, "Thôn 3, xã Đồng Tâm, huyện Mỹ Đức")
	test.Type(u.setup.phone, "024 3384 1234")
	test.Type(u.setup.admin, "an")
	test.Type(u.setup.fullName, "BS. Lê Văn An")
	test.Type(u.setup.password, "mật khẩu của bác sĩ An")
	test.Type(u.setup.again, "mật khẩu của bác sĩ An")
	reachable(t, u, "Set up", u.setup.button)
	test.Tap(u.setup.button)
	u.jobs.Wait()
	test.Tap(dialogButton(t, u, "Tôi đã ghi lại"))
	u.jobs.Wait()
	if c.CurrentUser() == nil {
		t.Fatalf("not logged in after the setup: %q", u.setup.message.Text)
	}
	fitsWindow(t, u, "Today")

	// A patient.
	f := u.editPatient(nil)
	test.Type(f.name, "Nguyễn Thị Hồng")
	test.Type(f.code, "BN-0142")
	f.sex.SetSelected(f.sex.Options[0])
	test.Type(f.birthYear, "1961")
	reachable(t, u, "Save patient", f.save)
	test.Tap(f.save)
	u.jobs.Wait()
	ps, ok := u.screen.(*patientScreen)
	if !ok {
		t.Fatalf("after saving the patient: %T (%v)", u.screen, u.lastError)
	}
	fitsWindow(t, u, "the patient")

	// An assessment: photo, type, analysis, save.
	reachable(t, u, "New assessment", ps.newBtn)
	test.Tap(ps.newBtn)
	as := u.screen.(*assessScreen)
	as.loadFile(clinictest.Fixture("ISIC_0024311.png"))
	u.jobs.Wait()
	reachable(t, u, "Analyse", as.analyseBtn)
	test.Tap(as.analyseBtn)
	u.jobs.Wait()
	as.exam.setPhotoType(clinic.Dermoscopic)
	as.site.SetSelectedIndex(1)
	fitsWindow(t, u, "the analysed assessment")
	reachable(t, u, "Save", as.saveBtn)
	test.Tap(as.saveBtn)
	u.jobs.Wait()
	if as.saved == nil {
		t.Fatalf("the assessment was not saved: %v", u.lastError)
	}

	// The saved result, its referral letter and the outcome.
	u.showAssessment(as.saved.AssessmentID)
	u.jobs.Wait()
	d := u.screen.(*detailScreen)
	fitsWindow(t, u, "the saved result")
	reachable(t, u, "Referral letter", d.referral)
	rf := d.referralDialog()
	test.Type(rf.to, "Khoa Da liễu, Bệnh viện Da liễu Hà Nội")
	letter := filepath.Join(t.TempDir(), "thu-chuyen-tuyen.pdf")
	reachable(t, u, "Save letter", dialogButton(t, u, "Lưu giấy…"))
	rf.dialog.Hide()
	d.writeReferral(clinic.ReferralRequest{AssessmentID: d.entry.Assessment.ID, To: rf.to.Text, Clinician: rf.clinician.Text, Language: "vi"}, letter)
	u.jobs.Wait()
	if st, err := os.Stat(letter); err != nil || st.Size() == 0 {
		t.Fatalf("no letter: %v %v", err, u.lastError)
	}
	u.win.Canvas().Overlays().Top().Hide() // "the letter is saved"
	reachable(t, u, "Record outcome", d.outcomeBtn)
	of := d.outcomeDialog()
	test.Type(of.diagnosis, "u hắc tố tại chỗ")
	save := dialogButton(t, u, "Lưu")
	reachable(t, u, "Save outcome", save)
	test.Tap(save)
	if !strings.Contains(d.outcome.Text, "u hắc tố tại chỗ") {
		t.Fatalf("the outcome: %q (%v)", d.outcome.Text, u.lastError)
	}
	fitsWindow(t, u, "the result with its outcome")

	// Lock, and back.
	reachable(t, u, "Lock", u.lockBtn)
	test.Tap(u.lockBtn)
	fitsWindow(t, u, "the lock")
	test.Type(u.login.password, "mật khẩu của bác sĩ An")
	reachable(t, u, "Log in", u.login.button)
	test.Tap(u.login.button)
	u.jobs.Wait()
	if u.lockedContent != nil || u.screen != d {
		t.Fatalf("after logging in again: %T", u.screen)
	}

	// The day's backup, into the USB stick's folder.
	sf := u.settingsForm()
	if s := sf.dialog.MinSize(); s.Width > dayWindow.Width || s.Height > dayWindow.Height {
		t.Fatalf("Settings needs %v", s)
	}
	folder := filepath.Join(t.TempDir(), "usb") + string(filepath.Separator)
	u.backup(folder, &clinic.BackupKey{Passphrase: "cụm mật khẩu sao lưu dài"})
	u.jobs.Wait()
	if u.lastError != nil || !strings.Contains(u.lastInfo, folder) {
		t.Fatalf("the backup: %v %q", u.lastError, u.lastInfo)
	}
	if _, err := c.Referrals(ctx, d.entry.Assessment.ID); err != nil {
		t.Fatal(err)
	}
	fitsWindow(t, u, "the end of the day")
}
