package ui

import (
	"context"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
)

// The README's pictures of the assessment with the dermoscopic checklist, at 1366×768 and
// 1024×600 in both languages: the real screen driven as a clinician would (photo loaded,
// analysed, photo type chosen, three criteria ticked), drawn by Fyne's software painter.
// `make screenshots` runs it with DERMAL_SCREENSHOTS=docs; plain `go test` skips it.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("DERMAL_SCREENSHOTS")
	if dir == "" {
		t.Skip("DERMAL_SCREENSHOTS is not set (make screenshots sets it)")
	}
	for _, l := range []string{"en", "vi"} {
		for _, size := range []fyne.Size{{Width: 1366, Height: 728}, {Width: 1024, Height: 560}} {
			u, _ := newTestUI(t)
			u.app.Settings().SetTheme(lightTheme{theme.DefaultTheme()})
			if l == "vi" {
				f := u.settingsForm()
				f.language.SetSelected("Tiếng Việt")
				u.applySettings(f)
			}
			u.win.Resize(size)
			addPatient(t, u, "Nguyễn Thị Hồng", "BN-0142")
			test.Tap(u.screen.(*patientScreen).newBtn)
			a := u.screen.(*assessScreen)
			a.site.SetSelectedIndex(0)
			a.loadFile(clinictest.Fixture("ISIC_0024311.png"))
			u.jobs.Wait()
			test.Tap(a.analyseBtn)
			u.jobs.Wait()
			a.exam.setPhotoType(clinic.Dermoscopic)
			test.Tap(a.exam.dermoscopy)
			for _, i := range []int{0, 5, 6} { // atypical network, irregular dots, regression: 4
				test.Tap(a.exam.criteria[i])
			}
			u.win.Resize(size.AddWidthHeight(0, 1))
			u.win.Resize(size)
			// Scrolled to the checklist, as the clinician reads it after the result.
			y := fyne.CurrentApp().Driver().AbsolutePositionForObject(a.exam.dermoscopyBox).Y -
				fyne.CurrentApp().Driver().AbsolutePositionForObject(a.findings.Content).Y
			a.findings.ScrollToOffset(fyne.NewPos(0, y-80))
			writeCapture(t, u, filepath.Join(dir, "dermoscopy-"+l+"-"+sizeName(size)+".png"))
		}
	}
}

// writeCapture writes the window as drawn by Fyne's software painter to out.
func writeCapture(t *testing.T, u *UI, out string) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, u.win.Canvas().Capture()); err != nil {
		t.Fatal(err)
	}
	t.Log("wrote", out)
}

// sizeName is the screen a window size stands for (the window is the screen less 40 pixels of
// title bar and panel).
func sizeName(s fyne.Size) string {
	if s.Width == 1366 {
		return "1366x768"
	}
	return "1024x600"
}

// lightTheme is the default theme in its light variant (the README's pictures are light).
type lightTheme struct{ fyne.Theme }

func (l lightTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return l.Theme.Color(n, theme.VariantLight)
}

// The screens the clinic's-day issue changed, in Vietnamese at 1366×768 and 1024×600, for
// docs/ (make screenshots): the setup with its language, Settings, a saved urgent result with
// its referral tools under it, the lock with Log out, the save question and the calendar.
func TestScreenshotsOfTheDay(t *testing.T) {
	dir := os.Getenv("DERMAL_SCREENSHOTS")
	if dir == "" {
		t.Skip("DERMAL_SCREENSHOTS is not set (make screenshots sets it)")
	}
	for _, size := range []fyne.Size{{Width: 1366, Height: 728}, {Width: 1024, Height: 560}} {
		capture := func(u *UI, name string) {
			t.Helper()
			u.win.Resize(size.AddWidthHeight(0, 1))
			u.win.Resize(size)
			writeCapture(t, u, filepath.Join(dir, name+"-vi-"+sizeName(size)+".png"))
		}
		// The setup, before anything: its language chosen on it.
		c := clinictest.New(t)
		a := test.NewTempApp(t)
		a.Settings().SetTheme(lightTheme{theme.DefaultTheme()})
		prefs := NewSettings(a.Preferences())
		prefs.p.SetString(prefLanguage, "en")
		s := New(a, c, prefs, nil)
		s.win.Resize(size)
		s.setup.language.SetSelected("Tiếng Việt")
		s.setup.clinicName.SetText("Trạm Y tế xã Đồng Tâm")
		capture(s, "setup")
		SetLanguage("en")

		u, cl := newTestUI(t)
		u.app.Settings().SetTheme(lightTheme{theme.DefaultTheme()})
		f := u.settingsForm()
		f.language.SetSelected("Tiếng Việt")
		u.applySettings(f)
		u.win.Resize(size)
		addPatient(t, u, "Nguyễn Thị Hồng", "BN-0142")
		p := u.screen.(*patientScreen).patient
		r, err := cl.Assess(context.Background(), p.ID, 0, "back", clinictest.Photo(t, "ISIC_0024367.png"), clinic.Examination{PhotoType: clinic.Dermoscopic}, clinic.Findings{Notes: "ngứa, chảy máu khi gãi"})
		if err != nil {
			t.Fatal(err)
		}
		u.showAssessment(r.AssessmentID)
		u.jobs.Wait()
		capture(u, "result")
		d := u.screen.(*detailScreen)
		d.followUp.ActionItem.(*widget.Button).OnTapped()
		capture(u, "calendar")
		u.win.Canvas().Overlays().Top().Hide()
		sa := u.saveAs(lang.L("Save the referral letter"), "dermal-BN-0142-1-thu-chuyen-tuyen.pdf", func(string) {})
		capture(u, "save-as")
		sa.dialog.Hide()
		sf := u.settingsForm()
		sf.dialog.Show()
		capture(u, "settings")
		sf.dialog.Hide()
		// The question before a restore, naming the backup's date and contents.
		backup := filepath.Join(t.TempDir(), "dermal-sao-luu.age")
		key := clinic.BackupKey{Passphrase: "cụm mật khẩu sao lưu dài"}
		if _, err := cl.Backup(context.Background(), backup, &key, false); err != nil {
			t.Fatal(err)
		}
		info, err := clinic.DescribeBackup(backup, key)
		if err != nil {
			t.Fatal(err)
		}
		q := dialog.NewConfirm(lang.L("Restore a backup"), u.restoreQuestion(backup, info), func(bool) {}, u.win)
		q.Show()
		capture(u, "restore-question")
		q.Hide()
		// A photo that is not a skin lesion: no result, nothing to save.
		u.openPatient(p.ID)
		u.screen.(*patientScreen).newAssessment(0)
		as := u.screen.(*assessScreen)
		as.loadFile("../inference/testdata/nonskin/coffee.jpg")
		u.jobs.Wait()
		as.analyse()
		u.jobs.Wait()
		capture(u, "not-a-lesion")
		u.lock()
		capture(u, "lock")
		SetLanguage("en")
	}
}
