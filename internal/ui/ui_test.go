package ui

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	fynestorage "fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"

	"dermal/internal/accounts"
	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
	"dermal/internal/memory"
	"dermal/internal/storage"
	"dermal/internal/version"
	"dermal/internal/watchdog"
)

// newTestUI builds the real window on Fyne's test driver, with the shipped model, a fresh
// database and a watchdog reading this process's memory.
func newTestUI(t *testing.T) (*UI, *clinic.Clinic) {
	t.Helper()
	c := clinictest.NewGuarded(t, 400*clinic.MB)
	// A clinic set up with an administrator who is logged in (login and lock: lock_test.go).
	c.SetHashParams(cheapHash)
	if _, err := c.Setup(context.Background(), clinic.ClinicProfile{Name: "Trạm Y tế"}, "admin", "Lê Văn An", testPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(context.Background(), "admin", testPassword); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a := test.NewTempApp(t)
	prefs := NewSettings(a.Preferences())
	prefs.p.SetString(prefLanguage, "en")
	u := New(a, c, prefs, log)
	// Fyne's test driver runs fyne.Do callbacks on the calling goroutine, not on one UI
	// thread, so a test waits for background work before it touches widgets (else the race
	// detector rightly reports the test and the callback touching them at once).
	u.jobs.Wait()
	t.Cleanup(func() {
		u.jobs.Wait()
		SetLanguage("en")
	})
	return u, c
}

// newSetupUI is the window on records not set up yet, in English: the setup screen.
func newSetupUI(t *testing.T) (*UI, *clinic.Clinic) {
	t.Helper()
	c := clinictest.New(t)
	c.SetHashParams(cheapHash)
	a := test.NewTempApp(t)
	prefs := NewSettings(a.Preferences())
	prefs.p.SetString(prefLanguage, "en")
	u := New(a, c, prefs, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	t.Cleanup(func() { u.jobs.Wait(); SetLanguage("en") })
	return u, c
}

// testPassword is the test administrator's; cheapHash keeps argon2id fast in tests.
const testPassword = "admin password"

var cheapHash = accounts.Params{MemoryKiB: 1024, Time: 1, Threads: 1}

func addPatient(t *testing.T, u *UI, name, code string) {
	t.Helper()
	f := u.editPatient(nil)
	test.Type(f.name, name)
	test.Type(f.code, code)
	f.sex.SetSelected(f.sex.Options[0])
	test.Type(f.birthYear, "1961")
	test.Tap(f.save)
	u.jobs.Wait() // the list's search runs in the background
	if u.lastError != nil {
		t.Fatalf("saving the patient: %v", u.lastError)
	}
}

// assess runs a new assessment of a fixture photo through the screen and saves it.
func assess(t *testing.T, u *UI, a *assessScreen, photo string, diagnosis string) {
	t.Helper()
	a.loadFile(clinictest.Fixture(photo))
	u.jobs.Wait()
	if a.photo == nil || a.analyseBtn.Disabled() {
		t.Fatalf("photo not loaded: %v", u.lastError)
	}
	test.Tap(a.analyseBtn)
	u.jobs.Wait()
	if a.analysis == nil || !a.result.box.Visible() || a.saveBtn.Disabled() {
		t.Fatalf("no result shown: %v", u.lastError)
	}
	test.Type(a.diagnosis, diagnosis)
	a.exam.setPhotoType(clinic.Dermoscopic) // the fixtures are HAM10000's dermoscopic photos
	test.Tap(a.saveBtn)
	u.jobs.Wait()
	if u.lastError != nil {
		t.Fatalf("save: %v", u.lastError)
	}
}

func TestWholeWorkflow(t *testing.T) {
	u, c := newTestUI(t)
	ctx := context.Background()

	// Create a patient; the list finds her without diacritics.
	addPatient(t, u, "Nguyễn Thị Hồng", "BN-1")
	ps, ok := u.screen.(*patientScreen)
	if !ok || ps.patient.FullName != "Nguyễn Thị Hồng" {
		t.Fatalf("after saving, screen is %T", u.screen)
	}
	test.Type(u.patients.search, "nguyen thi")
	if len(u.patients.items) != 1 || u.patients.items[0].Code != "BN-1" {
		t.Fatalf("search found %v", u.patients.items)
	}

	// New assessment of a new lesion: photo, analyse, Grad-CAM on/off, findings, save.
	test.Tap(ps.newBtn)
	as, ok := u.screen.(*assessScreen)
	if !ok {
		t.Fatalf("New assessment opened %T", u.screen)
	}
	as.loadFile(clinictest.Fixture("ISIC_0024367.png"))
	u.jobs.Wait()
	test.Tap(as.analyseBtn)
	u.jobs.Wait()
	if as.analysis == nil {
		t.Fatalf("no analysis: %v", u.lastError)
	}
	if got := as.result.bars.Objects; len(got) != 7 {
		t.Errorf("%d probability bars, want 7", len(got))
	}
	if as.result.tier.Text == "" || strings.HasPrefix(as.result.tier.Text, "tier.") {
		t.Errorf("tier shown as %q", as.result.tier.Text)
	}
	if !as.result.gradcam.Checked || as.photoView.shown == as.photoView.base {
		t.Error("Grad-CAM overlay not shown by default")
	}
	withOverlay := as.photoView.shown
	as.result.opacity.SetValue(0.8)
	if as.photoView.shown == withOverlay {
		t.Error("the opacity slider did not redraw the overlay")
	}
	test.Tap(as.result.gradcam)
	if as.result.gradcam.Checked || as.photoView.shown != as.photoView.base || !as.result.opacity.Disabled() {
		t.Error("Grad-CAM toggle did not remove the overlay")
	}
	test.Tap(as.result.gradcam)

	// Saving a new lesion without its body site is refused, and nothing typed is lost.
	as.exam.setPhotoType(clinic.Dermoscopic)
	test.Type(as.diagnosis, "nghi u hắc tố")
	test.Tap(as.saveBtn)
	if !errors.Is(u.lastError, clinic.ErrInvalid) || as.diagnosis.Text != "nghi u hắc tố" || u.screen != as {
		t.Fatalf("save without site: err %v, diagnosis %q, screen %T", u.lastError, as.diagnosis.Text, u.screen)
	}
	u.lastError = nil
	as.site.SetSelected("Back")
	follow := time.Now().AddDate(0, 3, 0)
	as.followUp.SetDate(&follow)
	test.Tap(as.saveBtn)
	u.jobs.Wait() // the save runs in the background
	if u.lastError != nil {
		t.Fatal(u.lastError)
	}
	detail, ok := u.screen.(*detailScreen)
	if !ok {
		t.Fatalf("after saving, screen is %T", u.screen)
	}
	u.jobs.Wait()
	saved := detail.entry.Assessment
	if saved.Diagnosis != "nghi u hắc tố" || saved.FollowUp == nil || !saved.GradCAMShown || detail.entry.Lesion.BodySite != "back" {
		t.Errorf("stored %+v on %+v", saved, detail.entry.Lesion)
	}
	if detail.photoView.shown == nil || !detail.result.gradcam.Checked {
		t.Error("the saved assessment does not show its photo with the overlay")
	}

	// Reopen the patient from the list; add a second photo of the same lesion.
	test.Type(u.patients.search, "")
	u.patients.list.Select(0)
	ps = u.screen.(*patientScreen)
	if len(ps.lesions) != 1 || len(ps.tiles) != 1 {
		t.Fatalf("reopened patient has %d lesions, %d tiles", len(ps.lesions), len(ps.tiles))
	}
	if !ps.compare[ps.lesions[0].Lesion.ID].Disabled() {
		t.Error("compare is enabled with one assessment")
	}
	ps.newAssessment(ps.lesions[0].Lesion.ID)
	as = u.screen.(*assessScreen)
	if as.lesion.SelectedIndex() != 1 || !as.site.Disabled() {
		t.Errorf("the lesion was not preselected: %q", as.lesion.Selected)
	}
	assess(t, u, as, "ISIC_0024311.png", "theo dõi")
	hs, err := c.History(ctx, ps.patient.ID)
	if err != nil || len(hs) != 2 || hs[0].Lesion.ID != hs[1].Lesion.ID {
		t.Fatalf("history %v %v", hs, err)
	}

	// Compare the two.
	u.openPatient(ps.patient.ID)
	ps = u.screen.(*patientScreen)
	cmp := ps.compare[ps.lesions[0].Lesion.ID]
	if cmp.Disabled() {
		t.Fatal("compare disabled with two assessments")
	}
	test.Tap(cmp)
	u.jobs.Wait()
	cs, ok := u.screen.(*compareScreen)
	if !ok {
		t.Fatalf("compare opened %T", u.screen)
	}
	if cs.sides[0].shown.ID == cs.sides[1].shown.ID || cs.sides[0].photo.shown == nil || cs.sides[1].photo.shown == nil {
		t.Error("compare does not show two different assessments with photos")
	}
	if !strings.Contains(cs.sides[0].summary.Text, "nghi u hắc tố") || !strings.Contains(cs.sides[1].summary.Text, "theo dõi") {
		t.Errorf("compare summaries: %q / %q", cs.sides[0].summary.Text, cs.sides[1].summary.Text)
	}
	before := cs.sides[0].photo.shown
	test.Tap(cs.overlay)
	if cs.sides[0].photo.shown == before {
		t.Error("compare overlay toggle did nothing")
	}

	// Open a saved assessment from its tile and export its report.
	u.openPatient(ps.patient.ID)
	ps = u.screen.(*patientScreen)
	test.Tap(ps.tiles[saved.ID])
	detail = u.screen.(*detailScreen)
	u.jobs.Wait()
	out := filepath.Join(t.TempDir(), detail.reportName(true))
	detail.export(out, true)
	u.jobs.Wait()
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		t.Fatalf("report not written: %v %v", err, u.lastError)
	}

	// Switch to Vietnamese: the window is rebuilt in the new language.
	f := u.settingsForm()
	f.language.SetSelected("Tiếng Việt")
	u.applySettings(f)
	if u.lang != "vi" || u.prefs.Language() != "vi" {
		t.Fatalf("language %q", u.lang)
	}
	if got := u.patients.search.PlaceHolder; got != "Tìm theo tên, mã hoặc số điện thoại (Ctrl+F)" {
		t.Errorf("search placeholder after switching: %q", got)
	}
	u.openPatient(ps.patient.ID)
	ps = u.screen.(*patientScreen)
	if ps.newBtn.Text != "Đánh giá mới" {
		t.Errorf("New assessment button: %q", ps.newBtn.Text)
	}
	// File names offered in Vietnamese too (the clinic's day, item 12).
	if name := detail.reportName(true); !strings.HasSuffix(name, "-lich-su.pdf") {
		t.Errorf("the history's file name in Vietnamese: %q", name)
	}
}

func TestBadPhotoIsExplainedAndNothingLost(t *testing.T) {
	u, _ := newTestUI(t)
	addPatient(t, u, "Trần Văn Minh", "BN-2")
	u.screen.(*patientScreen).newAssessment(0)
	as := u.screen.(*assessScreen)
	test.Type(as.notes, "ngứa 2 tuần")
	for _, tc := range []struct {
		file string
		want error
	}{
		{"ui_test.go", clinic.ErrUnsupportedFormat},
		{"/nonexistent/photo.jpg", os.ErrNotExist},
		{".", clinic.ErrNotRegularFile},
	} {
		u.lastError = nil
		as.loadFile(tc.file)
		u.jobs.Wait()
		if !errors.Is(u.lastError, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.file, u.lastError, tc.want)
		}
		if explain(u.lastError) == "" || as.photo != nil || as.notes.Text != "ngứa 2 tuần" || !as.analyseBtn.Disabled() {
			t.Errorf("%s: state after the error: photo %v, notes %q", tc.file, as.photo != nil, as.notes.Text)
		}
	}
}

func TestPasteTakesACopiedPhotoFile(t *testing.T) {
	u, _ := newTestUI(t)
	addPatient(t, u, "Lê Thị Lan", "BN-3")
	u.screen.(*patientScreen).newAssessment(0)
	as := u.screen.(*assessScreen)
	abs, _ := filepath.Abs(clinictest.Fixture("ISIC_0024311.png"))
	u.app.Clipboard().SetContent("file://" + abs + "\n")
	as.paste()
	u.jobs.Wait()
	if as.photo == nil {
		t.Fatalf("pasting a copied file: %v", u.lastError)
	}
	u.app.Clipboard().SetContent("just some text")
	as.paste()
	if u.lastError == nil || !strings.Contains(u.lastError.Error(), "clipboard") {
		t.Errorf("pasting text: %v", u.lastError)
	}
	// Dropping a file on the window loads it into the open assessment too.
	u.dropped(fyne.NewPos(10, 10), []fyne.URI{storageURI(t, clinictest.Fixture("ISIC_0024318.png"))})
	u.jobs.Wait()
	if as.photo == nil || !strings.HasSuffix(as.photo.Name, "ISIC_0024318.png") {
		t.Errorf("drop: %v", u.lastError)
	}
	// The clinic's day, item 13: once analysed and not saved, a pasted photo asks before it
	// replaces the result; "Keep this one" keeps it.
	as.analyse()
	u.jobs.Wait()
	u.app.Clipboard().SetContent(abs)
	as.paste()
	u.jobs.Wait()
	if as.replacing == nil || as.analysis == nil || !strings.HasSuffix(as.photo.Name, "ISIC_0024318.png") {
		t.Fatalf("a paste over an analysed result: asked %v, analysis kept %v, photo %s", as.replacing != nil, as.analysis != nil, as.photo.Name)
	}
	test.Tap(dialogButton(t, u, "Replace"))
	u.jobs.Wait()
	if !strings.HasSuffix(as.photo.Name, "ISIC_0024311.png") || as.analysis != nil {
		t.Errorf("after Replace: %s, analysis %v", as.photo.Name, as.analysis != nil)
	}
}

// Under a budget too small for Grad-CAM the screen says so and disables the overlay; under a
// budget too small for anything the analysis is refused with the reason, and nothing crashes.
func TestMemoryBudgetDegradesThenRefuses(t *testing.T) {
	u, c := newTestUI(t)
	addPatient(t, u, "Phạm Văn Nam", "BN-4")
	u.screen.(*patientScreen).newAssessment(0)
	as := u.screen.(*assessScreen)
	as.loadFile(clinictest.Fixture("ISIC_0024311.png"))
	u.jobs.Wait()
	s, _ := memory.Read()
	c.SetBudget(s.RSS+watchdog.DefaultCosts.Session+watchdog.DefaultCosts.Analysis+1*clinic.MB, 0)
	test.Tap(as.analyseBtn)
	u.jobs.Wait()
	if as.analysis == nil || as.analysis.GradCAMAllowed || !as.result.gradcam.Disabled() || as.result.gradcam.Checked || !as.result.note.Visible() {
		t.Fatalf("under a tight budget: analysis %+v, err %v", as.analysis, u.lastError)
	}
	if !strings.Contains(as.result.note.Text, "Grad-CAM was skipped") {
		t.Errorf("note %q", as.result.note.Text)
	}
	c.SetBudget(s.RSS/2, 0)
	as.analysis = nil
	test.Tap(as.analyseBtn)
	u.jobs.Wait()
	if !errors.Is(u.lastError, clinic.ErrNoMemory) || as.analysis != nil {
		t.Errorf("under an impossible budget: err %v", u.lastError)
	}
	if !strings.Contains(explain(u.lastError), "Not enough memory") {
		t.Errorf("the refusal is not explained: %q", explain(u.lastError))
	}
}

func TestEditPatientKeepsTypingOnError(t *testing.T) {
	u, _ := newTestUI(t)
	addPatient(t, u, "Võ Thị Sáu", "BN-5")
	addPatient(t, u, "Hoàng Văn Thụ", "BN-6")
	p := u.screen.(*patientScreen).patient
	f := u.editPatient(&p)
	f.code.SetText("BN-5") // taken
	test.Type(f.notes, "dị ứng penicillin")
	test.Tap(f.save)
	if !errors.Is(u.lastError, clinic.ErrDuplicateCode) {
		t.Errorf("duplicate code: %v", u.lastError)
	}
	if f.notes.Text != "dị ứng penicillin" {
		t.Error("the notes were lost")
	}
}

func TestStatusBarShowsMemoryAndModel(t *testing.T) {
	u, c := newTestUI(t)
	u.updateStatus()
	if !strings.Contains(u.status.Text, "/ 400 MB") || !strings.Contains(u.model.Text, "not loaded") {
		t.Errorf("status %q / %q", u.status.Text, u.model.Text)
	}
	if err := c.LoadModel(); err != nil {
		t.Fatal(err)
	}
	u.updateStatus()
	if u.model.Text != "Model loaded" {
		t.Errorf("model status %q", u.model.Text)
	}
}

func TestSettingsValidateAndPersist(t *testing.T) {
	u, c := newTestUI(t)
	f := u.settingsForm()
	if want := "Dermal " + version.String(); !strings.Contains(f.about.Text, want) || !strings.Contains(f.about.Text, clinic.ModelName(c.Card())) {
		t.Errorf("About says %q, want %q and the model", f.about.Text, want)
	}
	for _, bad := range []string{"12", "abc", "99999"} {
		if f.budget.Validator(bad) == nil {
			t.Errorf("budget %q accepted", bad)
		}
	}
	f.budget.SetText("300")
	f.clinic.SetText("Trạm Y tế xã Đồng Tâm")
	f.gradcam.SetChecked(false)
	u.applySettings(f)
	profile, _ := c.Profile(context.Background())
	if u.prefs.BudgetMB() != 300 || c.Budget() != 300*clinic.MB || u.prefs.GradCAMDefault() || profile.Name != "Trạm Y tế xã Đồng Tâm" {
		t.Errorf("settings not applied: %d MB, guard %d, gradcam %v, clinic %q", u.prefs.BudgetMB(), c.Budget()/clinic.MB, u.prefs.GradCAMDefault(), profile.Name)
	}
}

func storageURI(t *testing.T, path string) fyne.URI {
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return fynestorage.NewFileURI(abs)
}

// Phone capture from the assessment screen: the photo sent to the one-time URL appears in the
// assessment and in the audit trail; closing the dialog stops the server.
func TestPhoneCaptureIntoAssessment(t *testing.T) {
	phoneAddr = "127.0.0.1:0"
	u, c := newTestUI(t)
	addPatient(t, u, "Bùi Thị Xuân", "BN-7")
	u.screen.(*patientScreen).newAssessment(0)
	as := u.screen.(*assessScreen)
	pd := as.capturePhone()
	if pd == nil {
		t.Fatalf("phone capture did not start: %v", u.lastError)
	}
	photo, err := os.ReadFile(clinictest.Fixture("ISIC_0024318.png"))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("photo", "IMG_0001.png")
	fw.Write(photo)
	mw.Close()
	first := pd.session.URL()
	resp, err := http.Post(first+"upload", mw.FormDataContentType(), &body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload: %v %v", resp, err)
	}
	u.jobs.Wait()
	waitUntil(t, func() bool { return pd.link.Text == pd.session.URL() })
	if pd.link.Text == first {
		t.Error("the dialog still shows the used link")
	}
	if as.photo == nil || !bytes.Equal(as.photo.Bytes, photo) || as.analyseBtn.Disabled() {
		t.Fatal("the phone photo is not in the assessment")
	}
	trail, err := c.AuditTrail(context.Background(), "capture", 0)
	if err != nil || len(trail) != 1 || !strings.Contains(trail[0].Detail, "IMG_0001.png") {
		t.Errorf("capture audit %+v %v", trail, err)
	}
	pd.dialog.Hide()
	if _, err := http.Get(pd.session.URL()); err == nil {
		t.Error("the capture server still answers after the dialog closed")
	}
}

func TestUSBCameraExplainsItself(t *testing.T) {
	u, c := newTestUI(t)
	addPatient(t, u, "Lý Thường Kiệt", "BN-8")
	u.screen.(*patientScreen).newAssessment(0)
	as := u.screen.(*assessScreen)

	// Nothing plugged in: the dialog says so and what to do.
	c.SetCameras(fakeCameras{})
	if as.captureUSB() != nil || !strings.Contains(u.lastInfo, "No USB camera") {
		t.Errorf("no camera: %q", u.lastInfo)
	}
	// A device that is not a camera: the dialog opens, names the problem, offers no photo.
	fake := filepath.Join(t.TempDir(), "video7")
	os.WriteFile(fake, []byte("x"), 0o644)
	c.SetCameras(fakeCameras{devices: []clinic.CameraDevice{{Path: fake, Name: "Fake"}}})
	ud := as.captureUSB()
	if ud == nil || !strings.Contains(ud.status.Text, fake) || !ud.take.Disabled() {
		t.Fatalf("bad device: %+v", ud)
	}
	// A camera that delivered frames, then a re-open that failed: taking a photo now must
	// neither crash (there is no camera) nor use the old camera's last frame.
	ud.mu.Lock()
	ud.last = []byte("a frame from the camera before")
	ud.mu.Unlock()
	as.openUSB(ud, clinic.CameraDevice{Path: fake, Name: "Fake"})
	as.takeUSB(ud)
	ud.dialog.Hide()
	if as.photo != nil {
		t.Error("a photo appeared from a broken camera")
	}
}

// fakeCameras lists the given devices and opens them with the system's USB code (which
// fails for anything that is not a camera).
type fakeCameras struct{ devices []clinic.CameraDevice }

func (f fakeCameras) Devices() ([]clinic.CameraDevice, error) { return f.devices, nil }
func (f fakeCameras) Open(d clinic.CameraDevice) (*clinic.Camera, error) {
	return clinic.New(nil, nil, nil).Cameras().Open(d)
}

func TestBackupFromSettings(t *testing.T) {
	u, _ := newTestUI(t)
	addPatient(t, u, "Đinh Bộ Lĩnh", "BN-9")
	dest := filepath.Join(t.TempDir(), "backup.db.age")
	key := clinic.BackupKey{Passphrase: "correct horse battery"}
	u.backup(dest, &key)
	u.jobs.Wait()
	if u.lastError != nil || !strings.Contains(u.lastInfo, dest) {
		t.Fatalf("backup: %v %q", u.lastError, u.lastInfo)
	}
	if sealed, _ := clinic.BackupSealed(dest); !sealed {
		t.Error("the backup from Settings is not encrypted")
	}
	restored := filepath.Join(t.TempDir(), "dermal.db")
	if _, err := clinic.RestoreFile(dest, restored, key); err != nil {
		t.Fatalf("the backup does not restore: %v", err)
	}
	s, err := storage.Open(restored, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if p, err := s.PatientByCode(context.Background(), "BN-9"); err != nil || p.FullName != "Đinh Bộ Lĩnh" {
		t.Errorf("restored patient %+v %v", p, err)
	}
	// Backing up over an existing file is refused, and says so.
	u.lastError = nil
	u.backup(dest, &key)
	u.jobs.Wait()
	if u.lastError == nil {
		t.Error("a backup overwrote an existing file")
	}
}

// The daily backup folder from Settings: the first backup says it holds everything, the
// next that it holds only what changed; restore takes the folder through any of its files.
func TestBackupFolderFromSettings(t *testing.T) {
	u, _ := newTestUI(t)
	addPatient(t, u, "Lý Thường Kiệt", "BN-10")
	folder := filepath.Join(t.TempDir(), "usb") + string(filepath.Separator)
	key := clinic.BackupKey{Passphrase: "correct horse battery"}
	u.backup(folder, &key)
	u.jobs.Wait()
	if u.lastError != nil || !strings.Contains(u.lastInfo, "first backup: everything") {
		t.Fatalf("first backup into the folder: %v %q", u.lastError, u.lastInfo)
	}
	addPatient(t, u, "Trần Hưng Đạo", "BN-11")
	u.backup(folder, &key)
	u.jobs.Wait()
	if u.lastError != nil || !strings.Contains(u.lastInfo, "Only what changed") || !strings.Contains(u.lastInfo, "2 backups") {
		t.Fatalf("second backup into the folder: %v %q", u.lastError, u.lastInfo)
	}
	if !clinic.IsBackupFolder(folder) {
		t.Fatal("the folder is not a backup folder")
	}
	restored := filepath.Join(t.TempDir(), "dermal.db")
	if _, err := clinic.RestoreFile(folder, restored, key); err != nil {
		t.Fatalf("the folder does not restore: %v", err)
	}
	s, err := storage.Open(restored, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.PatientByCode(context.Background(), "BN-11"); err != nil {
		t.Errorf("the day's patient is not in the restored folder: %v", err)
	}
}

// waitUntil polls cond (set through fyne.Do by a background goroutine) for up to 5 s.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("timed out waiting")
}

// The clinic's day, item 11: the question before a restore names the backup's date and what
// it holds; the restore closes Settings (it was left over an empty window) and the login
// says to log in again, with the backup's accounts.
func TestRestoreSaysWhatAndAsksToLogInAgain(t *testing.T) {
	u, c := newTestUI(t)
	addPatient(t, u, "Nguyễn Trãi", "BN-20")
	dest := filepath.Join(t.TempDir(), "backup.age")
	key := clinic.BackupKey{Passphrase: "correct horse battery"}
	if _, err := c.Backup(context.Background(), dest, &key, false); err != nil {
		t.Fatal(err)
	}
	info, err := clinic.DescribeBackup(dest, key)
	if err != nil {
		t.Fatal(err)
	}
	q := u.restoreQuestion(dest, info)
	if !strings.Contains(q, "1 patients, 0 assessments") || !strings.Contains(q, dest) || !strings.Contains(q, "logs in again") {
		t.Errorf("the question: %q", q)
	}
	u.showSettings()
	u.restore(dest, key)
	waitUntil(t, func() bool { return u.login != nil && strings.Contains(u.login.message.Text, "Log in again") })
	for _, o := range u.win.Canvas().Overlays().List() {
		if o.Visible() && strings.Contains(overlayText(u), "Memory budget") {
			t.Error("Settings is still open over the login after the restore")
		}
	}
}

// The clinic's day, item 13: after Today, clicking the patient who was highlighted opens them
// again (the highlight stayed, and the click selected nothing new).
func TestThePatientClickedAfterTodayOpens(t *testing.T) {
	u, _ := newTestUI(t)
	addPatient(t, u, "Chu Văn An", "BN-30")
	u.patients.list.Select(0)
	if _, ok := u.screen.(*patientScreen); !ok {
		t.Fatalf("the click opened %T", u.screen)
	}
	u.show(u.worklist())
	u.patients.list.Select(0)
	if ps, ok := u.screen.(*patientScreen); !ok || ps.patient.Code != "BN-30" {
		t.Errorf("the highlighted patient clicked after Today: %T", u.screen)
	}
}
