package ui

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
)

// allText is every text in the window's widget tree (hidden widgets included).
func allText(u *UI) string {
	var b strings.Builder
	walk(u.win.Content(), func(o fyne.CanvasObject) {
		switch w := o.(type) {
		case *widget.Label:
			b.WriteString(w.Text + "|")
		case *widget.Button:
			b.WriteString(w.Text + "|")
		case *widget.Entry:
			b.WriteString(w.Text + "|")
		case *canvas.Text:
			b.WriteString(w.Text + "|")
		}
	})
	return b.String()
}

// logInAt logs name in at the lock screen, as typed (the password is checked in the
// background).
func logInAt(u *UI, name, password string) {
	u.login.name.SetText(name)
	test.Type(u.login.password, password)
	test.Tap(u.login.button)
	u.jobs.Wait()
}

// overlayText is every text in the window's top overlay (an open dialog).
func overlayText(u *UI) string {
	var b strings.Builder
	if top := u.win.Canvas().Overlays().Top(); top != nil {
		walk(top, func(o fyne.CanvasObject) {
			switch w := o.(type) {
			case *widget.Label:
				b.WriteString(w.Text + "|")
			case *widget.RichText:
				b.WriteString(w.String() + "|")
			case *canvas.Text:
				b.WriteString(w.Text + "|")
			}
		})
	}
	return b.String()
}

// After the idle minutes the window locks: its widget tree holds no patient name; the same
// user's password brings it back as it was, the unsaved draft included.
func TestLockHidesPatientsAndKeepsTheDraft(t *testing.T) {
	u, _ := newTestUI(t)
	addPatient(t, u, "Nguyễn Thị Hồng", "BN-1")
	a := draft(t, u)
	if !strings.Contains(allText(u), "Nguyễn Thị Hồng") {
		t.Fatal("the patient is not on screen before the lock")
	}
	u.activityMu.Lock()
	u.lastActivity = time.Now().Add(-time.Duration(clinic.DefaultLockMinutes+1) * time.Minute)
	u.activityMu.Unlock()
	u.checkIdle()
	if u.lockedContent == nil || u.login == nil {
		t.Fatal("the window did not lock after the idle minutes")
	}
	if txt := allText(u); strings.Contains(txt, "Nguyễn") || strings.Contains(txt, "BN-1") || strings.Contains(txt, "theo dõi") {
		t.Errorf("the locked window shows patient data: %s", txt)
	}
	test.Type(u.login.password, "wrong password!")
	test.Tap(u.login.button)
	u.jobs.Wait() // the password is checked in the background
	if u.lockedContent == nil || !strings.Contains(u.login.message.Text, "password") {
		t.Errorf("a wrong password unlocked it, or says nothing: %q", u.login.message.Text)
	}
	test.Type(u.login.password, testPassword)
	test.Tap(u.login.button)
	u.jobs.Wait() // the password is checked in the background
	if u.lockedContent != nil || u.screen != a || a.diagnosis.Text != "theo dõi" {
		t.Fatalf("after unlocking: screen %T, draft %q", u.screen, a.diagnosis.Text)
	}
}

// parkedDraft is the administrator's unsaved assessment on the locked window, with a
// clinician (mai) who may log in at the lock.
func parkedDraft(t *testing.T) (*UI, *assessScreen) {
	t.Helper()
	u, c := newTestUI(t)
	if err := c.AddUser(context.Background(), "mai", "Trần Thị Mai", clinic.RoleClinician, "clinician password"); err != nil {
		t.Fatal(err)
	}
	addPatient(t, u, "Nguyễn Thị Hồng", "BN-1")
	a := draft(t, u)
	u.lock()
	return u, a
}

// Another user switching in at the lock gets a fresh window; the draft stays its owner's and
// comes back when the owner logs in again.
func TestAnotherUserDoesNotSeeTheDraft(t *testing.T) {
	u, a := parkedDraft(t)
	logInAt(u, "mai", "clinician password")
	if u.lockedContent != nil || u.screen == a {
		t.Fatal("mai sees the admin's draft")
	}
	if _, ok := u.screen.(*worklistScreen); !ok {
		t.Errorf("mai starts at %T", u.screen)
	}
	if txt := allText(u); strings.Contains(txt, "theo dõi") {
		t.Error("the admin's unsaved diagnosis is on mai's screen")
	}
	u.lock()
	logInAt(u, "admin", testPassword)
	if u.screen != a || a.diagnosis.Text != "theo dõi" {
		t.Errorf("the admin's draft did not come back: %T", u.screen)
	}
}

// Records without staff accounts open at the setup; it shows the recovery key before anything
// is stored (records-trust issue: a kill after the commit left records depending on a key
// nobody saw), then makes the admin and logs them in.
func TestSetupScreen(t *testing.T) {
	c := clinictest.New(t)
	c.SetHashParams(cheapHash)
	a := test.NewTempApp(t)
	prefs := NewSettings(a.Preferences())
	prefs.p.SetString(prefLanguage, "en")
	u := New(a, c, prefs, nil)
	t.Cleanup(func() { u.jobs.Wait() })
	if u.setup == nil {
		t.Fatal("no setup screen for records without accounts")
	}
	test.Type(u.setup.clinicName, "Trạm Y tế xã Đồng Tâm")
	test.Type(u.setup.admin, "admin")
	test.Type(u.setup.password, "a good password")
	test.Type(u.setup.again, "a good passwor")
	test.Tap(u.setup.button)
	u.jobs.Wait()
	if u.setup == nil || !strings.Contains(u.setup.message.Text, "differ") {
		t.Fatalf("mismatched passwords: %q", u.setup.message.Text)
	}
	test.Type(u.setup.again, "d")
	test.Tap(u.setup.button)
	u.jobs.Wait()
	if u.setup.pending == nil || u.setup.confirmKey == nil || len(u.setup.pending.RecoveryKey()) < 40 {
		t.Fatal("no recovery key on screen before the setup is stored")
	}
	if need, _ := c.NeedsSetup(context.Background()); !need {
		t.Fatal("the records were set up before the recovery key was confirmed")
	}
	u.setup.confirmKey()
	u.jobs.Wait()
	if u.loggedOut() || c.CurrentUser() == nil || c.CurrentUser().Role != clinic.RoleAdmin {
		t.Fatalf("after setup: logged out %v, %v", u.loggedOut(), u.setup.message.Text)
	}
}

// Automatic logoff is the administrator's setting: a clinician cannot change it (it could be set
// to "never"), and an administrator's change is in the audit trail.
func TestIdleLockIsTheAdministratorsSetting(t *testing.T) {
	u, c := newTestUI(t)
	ctx := context.Background()
	f := u.settingsForm()
	if f.lock.Disabled() {
		t.Fatal("the administrator cannot set the idle lock")
	}
	if n := len(f.records.Objects); n != 3 || f.clinic.Disabled() {
		t.Errorf("the administrator's Records row has %d buttons (want backup, folder, restore); clinic details disabled %v", n, f.clinic.Disabled())
	}
	f.lock.SetText("0")
	u.applySettings(f)
	if m := c.LockMinutes(ctx); m != 0 {
		t.Fatalf("lock minutes %d after the administrator set 0", m)
	}
	// The setting is the clinic's, in the records: another OS account's window (fresh
	// preferences, the same records) gets it too, and clearing the preferences does not
	// bring "never" back to the default or the other way round.
	u.prefs.p.RemoveValue("lock_minutes")
	other := New(test.NewTempApp(t), c, NewSettings(test.NewTempApp(t).Preferences()), u.log)
	other.jobs.Wait()
	if got := other.settingsForm().lock.Text; got != "0" {
		t.Errorf("a window with other preferences shows the idle lock as %q; want the clinic's 0", got)
	}
	rows, _ := c.QueryAudit(ctx, clinic.AuditFilter{Limit: 5})
	found := false
	for _, r := range rows {
		found = found || (r.Entity == "settings" && strings.Contains(r.Detail, "lock after idle minutes"))
	}
	if !found {
		t.Error("the change of the idle lock is not in the audit trail")
	}
	if err := c.AddUser(ctx, "mai", "Trần Thị Mai", clinic.RoleClinician, "clinician password"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, "mai", "clinician password"); err != nil {
		t.Fatal(err)
	}
	f = u.settingsForm()
	if !f.lock.Disabled() {
		t.Error("a clinician can change the idle lock")
	}
	// The clinic's day, item 9: nor is a clinician offered the clinic's details or a restore.
	if !f.clinic.Disabled() || !f.address.Disabled() || !f.phone.Disabled() {
		t.Error("a clinician is offered the clinic's details")
	}
	for _, o := range f.records.Objects {
		if b, ok := o.(*widget.Button); ok && strings.Contains(b.Text, "Restore") {
			t.Error("a clinician is offered Restore")
		}
	}
	if err := c.SetLockMinutes(ctx, 0); !errors.Is(err, clinic.ErrNotAllowed) {
		t.Errorf("a clinician set the idle lock: %v", err)
	}
}

// The clinic's-day issue, item 9: the login focuses the user name, and Enter there goes on to
// the password (the password landed in the name field); Enter in the password logs in.
func TestLoginFocusAndEnter(t *testing.T) {
	c := clinictest.New(t)
	c.SetHashParams(cheapHash)
	if _, err := c.Setup(context.Background(), clinic.ClinicProfile{Name: "Trạm Y tế"}, "admin", "Lê Văn An", testPassword); err != nil {
		t.Fatal(err)
	}
	a := test.NewTempApp(t)
	prefs := NewSettings(a.Preferences())
	prefs.p.SetString(prefLanguage, "en")
	u := New(a, c, prefs, nil)
	t.Cleanup(func() { u.jobs.Wait() })
	if u.login == nil || u.win.Canvas().Focused() != u.login.name {
		t.Fatalf("the login does not start in the user name (focused: %T)", u.win.Canvas().Focused())
	}
	test.Type(u.login.name, "admin")
	u.login.name.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if u.win.Canvas().Focused() != u.login.password {
		t.Fatalf("Enter in the user name did not go on to the password")
	}
	test.Type(u.login.password, testPassword)
	u.login.password.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	u.jobs.Wait()
	if u.loggedOut() {
		t.Errorf("Enter in the password did not log in: %q", u.login.message.Text)
	}
}

// The clinic's-day issue, item 9: the window says who is logged in, and locks now from that
// button (or Ctrl+L) for the next member of staff.
func TestLockNowNamesWhoIsLoggedIn(t *testing.T) {
	u, _ := newTestUI(t)
	if u.lockBtn == nil || !strings.HasPrefix(u.lockBtn.Text, "Lê Văn An") {
		t.Fatalf("the window does not say who is logged in: %v", u.lockBtn)
	}
	test.Tap(u.lockBtn)
	if u.lockedContent == nil || u.login == nil {
		t.Fatal("the button did not lock the window")
	}
}

// The clinic's day, item 2: a clinician's unsaved assessment parked by the lock, another user
// logs in and closes the window: the close asks first (it exited without a word and the
// draft was gone); kept open, the draft is still its owner's.
func TestClosingAsksWhenADraftIsParkedForAnotherUser(t *testing.T) {
	u, a := parkedDraft(t)
	// Locked over the draft: closing asks already.
	u.closeWindow()
	if u.closing == nil {
		t.Fatal("closing the locked window over an unsaved assessment did not ask")
	}
	u.closing.Hide()
	u.closing = nil
	logInAt(u, "mai", "clinician password")
	if u.unsaved() {
		t.Fatal("mai's own screen counts as unsaved")
	}
	u.closeWindow()
	if u.closing == nil || u.unsavedWork() != 1 {
		t.Fatalf("mai closing the window with the admin's parked draft: asked %v, %d unsaved", u.closing != nil, u.unsavedWork())
	}
	if txt := overlayText(u); !strings.Contains(txt, "1 assessment") {
		t.Errorf("the question: %q", txt)
	}
	u.closing.Hide() // "Keep Dermal open"
	u.lock()
	logInAt(u, "admin", testPassword)
	if u.screen != a || a.diagnosis.Text != "theo dõi" {
		t.Errorf("the admin's draft did not come back after the close was declined: %T", u.screen)
	}
}

// The clinic's day, item 9: the recovery key can be saved (owner-only file) and printed, with
// what it is and how to keep it, and its help quotes no shell command.
func TestRecoveryKeyCanBeSavedAndPrinted(t *testing.T) {
	u, _ := newTestUI(t)
	key := "ABCD-EFGH-IJKL-MNOP"
	path := filepath.Join(t.TempDir(), "dermal-recovery-key.txt")
	if err := u.writeRecoveryKey(path, key); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	st, _ := os.Stat(path)
	if !strings.Contains(string(b), key) || !strings.Contains(string(b), "recovery key") || st.Mode().Perm() != 0o600 {
		t.Errorf("saved key: %q, mode %v", b, st.Mode().Perm())
	}
	if strings.Contains(string(b), "dermal users") || strings.Contains(string(b), "--recovery-key-file") {
		t.Errorf("the key's help quotes a shell command: %q", b)
	}
	bin := t.TempDir()
	log := filepath.Join(t.TempDir(), "printed")
	os.WriteFile(filepath.Join(bin, "lp"), []byte("#!/bin/sh\nshift; /bin/cat \"$1\" > "+log+"\n"), 0o755)
	t.Setenv("PATH", bin)
	if got := u.printRecoveryKey(key); !strings.Contains(got, "Sent to the printer") {
		t.Errorf("print: %q", got)
	}
	if b, _ := os.ReadFile(log); !strings.Contains(string(b), key) {
		t.Errorf("the printer got %q", b)
	}
	t.Setenv("PATH", t.TempDir())
	if got := u.printRecoveryKey(key); !strings.Contains(got, "no print command") {
		t.Errorf("no printer: %q", got)
	}
}

// The clinic's day, item 12: the setup screen, the first thing a clinic sees, offers its
// language; choosing Tiếng Việt remakes it in Vietnamese with what was typed, and keeps the
// choice.
func TestSetupScreenOffersTheLanguage(t *testing.T) {
	u, _ := newSetupUI(t)
	prefs := u.prefs
	if u.setup == nil || u.setup.language == nil {
		t.Fatal("no setup screen, or no language on it")
	}
	u.setup.clinicName.SetText("Trạm Y tế xã Đồng Tâm")
	u.setup.language.SetSelected("Tiếng Việt")
	if u.lang != "vi" || prefs.Language() != "vi" {
		t.Fatalf("language %s, kept %s", u.lang, prefs.Language())
	}
	if u.setup.clinicName.Text != "Trạm Y tế xã Đồng Tâm" {
		t.Errorf("what was typed was lost: %q", u.setup.clinicName.Text)
	}
	if txt := allText(u); !strings.Contains(txt, "Thiết lập") {
		t.Errorf("the setup screen is not in Vietnamese: %.200s", txt)
	}
}

// The clinic's day, item 9: at the lock, "Log out" ends the session (asking first over an
// unsaved assessment): nobody is logged in, the data key is gone, the login starts empty.
func TestLogOutAtTheLock(t *testing.T) {
	u, a := parkedDraft(t)
	if u.login.logout == nil {
		t.Fatal("no Log out at the lock")
	}
	test.Tap(u.login.logout)
	if u.clinic.CurrentUser() == nil {
		t.Fatal("logged out over an unsaved assessment without asking")
	}
	test.Tap(dialogButton(t, u, "Discard"))
	if u.clinic.CurrentUser() != nil || u.lockedContent != nil || u.login == nil || u.login.name.Text != "" || u.login.logout != nil {
		t.Fatalf("after Log out: user %v, locked content %v", u.clinic.CurrentUser(), u.lockedContent != nil)
	}
	if strings.Contains(allText(u), "theo dõi") || u.screen == a {
		t.Error("the discarded draft is still there")
	}
}
