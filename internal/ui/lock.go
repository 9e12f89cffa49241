package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
	"dermal/internal/locale"
)

// loginView asks for a user name and password. locked: the window was locked (its content
// is kept aside, out of the widget tree, until the same user logs in again).
type loginView struct {
	u        *UI
	name     *widget.Entry
	password *widget.Entry
	button   *widget.Button
	message  *widget.Label
	logout   *widget.Button // at the lock: end the session (nil when nobody is logged in)
	root     fyne.CanvasObject
}

func (u *UI) newLoginView(locked bool) *loginView {
	v := &loginView{u: u, name: widget.NewEntry(), password: widget.NewPasswordEntry(), message: widget.NewLabel("")}
	v.message.Wrapping = fyne.TextWrapWord
	v.message.Importance = widget.DangerImportance
	v.button = widget.NewButton(lang.L("Log in"), v.submit)
	v.button.Importance = widget.HighImportance
	v.password.OnSubmitted = func(string) { v.submit() }
	// Enter in the user name goes on to the password (it did nothing, and the password was
	// typed into the name), or logs in when the password is there already.
	v.name.OnSubmitted = func(string) {
		if v.password.Text == "" {
			u.win.Canvas().Focus(v.password)
		} else {
			v.submit()
		}
	}
	title := lang.L("Log in to Dermal")
	if locked {
		title = lang.L("Dermal is locked")
		if me := u.clinic.CurrentUser(); me != nil {
			v.name.SetText(me.Name)
		}
	}
	form := widget.NewForm(widget.NewFormItem(lang.L("User name"), v.name), widget.NewFormItem(lang.L("Password"), v.password))
	help := widget.NewLabel(lang.L("Another member of staff can log in here: an unsaved assessment stays with whoever started it."))
	help.Wrapping = fyne.TextWrapWord
	help.Importance = widget.LowImportance
	head := widget.NewLabelWithStyle(u.clinicTitle()+" — "+title, fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	box := container.NewVBox(head, form, v.button, v.message, help)
	if me := u.clinic.CurrentUser(); locked && me != nil {
		// Ending the session, not only locking it (the clinic's day, item 9).
		v.logout = widget.NewButtonWithIcon(fmt.Sprintf(lang.L("Log out %s"), me.Name), theme.LogoutIcon(), u.logout)
		v.logout.Importance = widget.LowImportance
		box.Add(v.logout)
	}
	v.root = container.NewCenter(container.NewGridWrap(fyne.NewSize(420, 320), box))
	return v
}

// logout ends the session of whoever is logged in at the lock: what was on their screen is
// dropped (asking first when it holds an unsaved assessment), the data key is forgotten and
// the login starts empty.
func (u *UI) logout() {
	me := u.clinic.CurrentUser()
	if me == nil {
		return
	}
	end := func() {
		delete(u.drafts, me.ID)
		u.lockedContent, u.screen = nil, nil
		u.clinic.Logout()
		u.log.Info("logged out", "user", me.Name)
		u.login = u.newLoginView(false)
		u.win.SetContent(u.login.root)
		u.login.focus()
	}
	if !u.unsaved() {
		end()
		return
	}
	d := dialog.NewConfirm(lang.L("Discard the unsaved assessment?"),
		lang.L("The photo, result and findings on this screen are not saved yet. Save them first (Ctrl+S), or discard them."),
		func(discard bool) {
			if discard {
				end()
			}
		}, u.win)
	d.SetConfirmText(lang.L("Discard"))
	d.SetDismissText(lang.L("Keep editing"))
	d.Show()
}

// focus puts the cursor where typing starts: the user name, or the password when the name is
// known (the lock keeps it).
func (v *loginView) focus() {
	if v.name.Text == "" {
		v.u.win.Canvas().Focus(v.name)
	} else {
		v.u.win.Canvas().Focus(v.password)
	}
}

// submit checks the password off the UI thread (argon2id takes a few hundred milliseconds
// and 64 MiB), with the button disabled meanwhile.
func (v *loginView) submit() {
	u := v.u
	before := u.clinic.CurrentUser()
	name, password := v.name.Text, v.password.Text
	v.password.SetText("")
	v.button.Disable()
	type result struct {
		who clinic.User
		err error
	}
	background(u, nil, func() result {
		who, err := u.clinic.Login(context.Background(), name, password)
		return result{who, err}
	}, func(r result) {
		v.button.Enable()
		var wait *clinic.LoginDelayError
		switch {
		case errors.As(r.err, &wait):
			v.message.SetText(fmt.Sprintf(lang.L("Too many wrong passwords: try again in %d s."), int(wait.Wait.Seconds()+0.999)))
		case r.err != nil:
			v.message.SetText(explain(r.err))
		default:
			u.loggedIn(before, r.who)
		}
	})
}

// loggedIn shows the window to who. The same user coming back to a locked window finds it
// as it was; another user gets a fresh window, and the previous user's unsaved draft is kept
// aside for them.
func (u *UI) loggedIn(before *clinic.User, who clinic.User) {
	start := time.Now()
	u.touch()
	// Photos left plain by records from before encryption are sealed in the background.
	background(u, nil, func() error {
		_, err := u.clinic.SealStoredPhotos(context.Background(), nil)
		return err
	}, func(err error) {
		if err != nil {
			u.showError(lang.L("Could not encrypt the stored photos; Dermal tries again at the next login."), err)
		}
	})
	if u.lockedContent != nil && before != nil && before.ID == who.ID {
		u.win.SetContent(u.lockedContent)
		u.lockedContent = nil
		return
	}
	if u.lockedContent != nil && before != nil {
		if d, ok := u.screen.(interface{ unsaved() bool }); ok && d.unsaved() {
			u.drafts[before.ID] = u.screen
		}
	}
	u.lockedContent = nil
	u.buildTimed(start)
	if d, ok := u.drafts[who.ID]; ok {
		delete(u.drafts, who.ID)
		u.show(d)
	}
	for _, fn := range u.pending {
		fn()
	}
	u.pending = nil
}

// buildTimed builds the window for the logged-in user and logs how long that took after the
// login (make bench-scale reads the line: the window's start, on records of any size).
func (u *UI) buildTimed(loggedIn time.Time) {
	u.build()
	u.log.Info("window shown", "after_login_ms", time.Since(loggedIn).Milliseconds())
	// Building the window and the login's argon2id leave the Go heap holding tens of MB it no
	// longer uses (measured at 10,000 patients: 33 MB in use, 38 MB idle, 5 MB of it given
	// back); the runtime returns idle memory only slowly. Once the first frames are drawn,
	// give it back: the window then sits at its working size.
	time.AfterFunc(3*time.Second, debug.FreeOSMemory)
}

// afterLogin runs fn now when the window is open, else once someone has logged in.
func (u *UI) afterLogin(fn func()) {
	if !u.loggedOut() {
		fn()
		return
	}
	u.pending = append(u.pending, fn)
}

// lock hides everything: the content leaves the widget tree, so nothing on screen (or
// reachable through it) shows a patient.
func (u *UI) lock() {
	if u.lockedContent != nil || u.clinic.CurrentUser() == nil {
		return
	}
	u.lockedContent = u.win.Content()
	u.login = u.newLoginView(true)
	u.win.SetContent(u.login.root)
	u.login.focus()
	u.log.Info("locked", "idle_lock_minutes", u.clinic.LockMinutes(context.Background()))
}

// touch records activity (typing, mouse movement over the window, screen changes).
func (u *UI) touch() {
	u.activityMu.Lock()
	u.lastActivity = time.Now()
	u.activityMu.Unlock()
}

// idleFor is how long the window has been idle.
func (u *UI) idleFor() time.Duration {
	u.activityMu.Lock()
	defer u.activityMu.Unlock()
	return time.Since(u.lastActivity)
}

// checkIdle locks the window once it has been idle for the clinic's lock minutes (a small
// read of the records, at the ticker's pace).
func (u *UI) checkIdle() {
	if m := u.clinic.LockMinutes(context.Background()); m > 0 && u.idleFor() >= time.Duration(m)*time.Minute {
		u.lock()
	}
}

// watchActivity counts key presses as activity (Fyne has no window-wide mouse hook; mouse
// movement is seen where no widget takes it, through activityArea).
func (u *UI) watchActivity() {
	if dc, ok := u.win.Canvas().(desktop.Canvas); ok {
		dc.SetOnKeyDown(func(*fyne.KeyEvent) { u.touch() })
	}
}

// activityArea is a transparent backdrop that notes mouse movement as activity.
type activityArea struct {
	widget.BaseWidget
	u *UI
}

func newActivityArea(u *UI) *activityArea {
	a := &activityArea{u: u}
	a.ExtendBaseWidget(a)
	return a
}

func (a *activityArea) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewStack())
}
func (a *activityArea) MouseIn(*desktop.MouseEvent)    { a.u.touch() }
func (a *activityArea) MouseMoved(*desktop.MouseEvent) { a.u.touch() }
func (a *activityArea) MouseOut()                      {}

// setupView is the first run: the clinic and its first administrator. Records from before
// staff accounts get it too, and keep everything.
type setupView struct {
	u                                 *UI
	clinicName, address, phone, admin *widget.Entry
	fullName, password, again         *widget.Entry
	button                            *widget.Button
	message                           *widget.Label
	language                          *widget.RadioGroup
	root                              fyne.CanvasObject
	// pending is the setup whose recovery key is on screen, not stored yet; confirmKey stores
	// it ("I have written it down").
	pending    *clinic.PendingSetup
	confirmKey func()
}

func (u *UI) newSetupView() *setupView {
	v := &setupView{u: u, clinicName: widget.NewEntry(), address: widget.NewEntry(), phone: widget.NewEntry(), admin: widget.NewEntry(),
		fullName: widget.NewEntry(), password: widget.NewPasswordEntry(), again: widget.NewPasswordEntry(), message: widget.NewLabel("")}
	if p, err := u.clinic.Profile(context.Background()); err == nil {
		v.clinicName.SetText(p.Name)
		v.address.SetText(p.Address)
		v.phone.SetText(p.Phone)
	}
	if v.clinicName.Text == "" {
		v.clinicName.SetText(u.prefs.LegacyClinicName())
	}
	v.message.Wrapping = fyne.TextWrapWord
	v.message.Importance = widget.DangerImportance
	v.button = widget.NewButton(lang.L("Set up Dermal"), v.submit)
	v.button.Importance = widget.HighImportance
	form := widget.NewForm(
		widget.NewFormItem(lang.L("Clinic name (for reports)"), v.clinicName),
		widget.NewFormItem(lang.L("Clinic address"), v.address),
		widget.NewFormItem(lang.L("Clinic phone"), v.phone),
		widget.NewFormItem(lang.L("Administrator's user name"), v.admin),
		widget.NewFormItem(lang.L("Full name"), v.fullName),
		widget.NewFormItem(lang.L("Password"), v.password),
		widget.NewFormItem(lang.L("Again"), v.again),
	)
	intro := widget.NewLabel(lang.L("setup.intro"))
	intro.Wrapping = fyne.TextWrapWord
	// The first thing a clinic sees: its language can be chosen here, before anything else
	// (the clinic's day, item 12). The choice is kept and the screen is made again in it,
	// with what was typed.
	var names []string
	for _, l := range locale.Languages {
		names = append(names, locale.Names[l])
	}
	v.language = widget.NewRadioGroup(names, nil)
	v.language.Horizontal = true
	v.language.SetSelected(locale.Names[u.lang])
	v.language.OnChanged = func(name string) {
		for l, n := range locale.Names {
			if n == name && l != u.lang {
				v.switchLanguage(l)
				return
			}
		}
	}
	v.root = container.NewVScroll(container.NewPadded(container.NewVBox(
		container.NewBorder(nil, nil, nil, v.language, widget.NewLabelWithStyle(lang.L("Set up Dermal"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})),
		intro, form, v.button, v.message)))
	return v
}

// switchLanguage remakes the setup screen in language l, keeping what was typed.
func (v *setupView) switchLanguage(l string) {
	u := v.u
	u.prefs.p.SetString(prefLanguage, l)
	u.lang = l
	SetLanguage(l)
	typed := []string{v.clinicName.Text, v.address.Text, v.phone.Text, v.admin.Text, v.fullName.Text, v.password.Text, v.again.Text}
	n := u.newSetupView()
	for i, e := range []*widget.Entry{n.clinicName, n.address, n.phone, n.admin, n.fullName, n.password, n.again} {
		e.SetText(typed[i])
	}
	u.setup = n
	u.win.SetContent(n.root)
}

func (v *setupView) submit() {
	u := v.u
	if v.password.Text != v.again.Text {
		v.message.SetText(lang.L("the two passwords differ"))
		return
	}
	profile := clinic.ClinicProfile{Name: v.clinicName.Text, Address: v.address.Text, Phone: v.phone.Text}
	admin, fullName, password := v.admin.Text, v.fullName.Text, v.password.Text
	v.button.Disable()
	// Off the UI thread: the password's argon2id run. Nothing is stored yet: the recovery key
	// is shown first, and the records are set up only once the clinic says it has written it
	// down (no records ever depend on a key nobody saw).
	type prepared struct {
		p   *clinic.PendingSetup
		err error
	}
	background(u, nil, func() prepared {
		p, err := u.clinic.PrepareSetup(context.Background(), profile, admin, fullName, password)
		return prepared{p, err}
	}, func(r prepared) {
		if r.err != nil {
			v.button.Enable()
			v.message.SetText(explain(r.err))
			return
		}
		v.showKey(r.p, admin, password)
	})
}

// recoveryKeyText is the recovery key as it is printed or saved: what it is and how to keep it.
func recoveryKeyText(key string) string {
	return lang.L("Dermal: the clinic's recovery key") + "\n\n" + key + "\n\n" + lang.L("recovery.help") + "\n"
}

// writeRecoveryKey saves the recovery key to path, readable by its owner only.
func (u *UI) writeRecoveryKey(path, key string) error {
	return os.WriteFile(path, []byte(recoveryKeyText(key)), 0o600)
}

// printRecoveryKey sends the recovery key to the printer (a temporary file the print system
// copies, removed at once) and says what happened.
func (u *UI) printRecoveryKey(key string) string {
	f, err := os.CreateTemp("", "dermal-recovery-*.txt")
	if err != nil {
		return lang.L("Printing failed:") + " " + err.Error()
	}
	defer os.Remove(f.Name())
	f.WriteString(recoveryKeyText(key))
	f.Close()
	switch err := u.clinic.Print(f.Name()); {
	case errors.Is(err, clinic.ErrNoPrintPath):
		return lang.L("This computer has no print command: write the key down, or save it on a USB stick.")
	case err != nil:
		return lang.L("Printing failed:") + " " + err.Error()
	}
	return lang.L("Sent to the printer.")
}

// showKey shows the recovery key of a pending setup; "I have written it down" stores the setup
// and logs the administrator in, Cancel drops it (nothing was stored).
func (v *setupView) showKey(p *clinic.PendingSetup, admin, password string) {
	u := v.u
	msg := widget.NewLabel(lang.L("recovery.help"))
	msg.Wrapping = fyne.TextWrapWord
	key := widget.NewLabel(p.RecoveryKey())
	key.TextStyle.Monospace = true
	key.Wrapping = fyne.TextWrapWord
	key.Selectable = true
	status := widget.NewLabel("")
	status.Wrapping = fyne.TextWrapWord
	// Print it, or save it onto a USB stick to keep apart from the laptop (the clinic's day,
	// item 9: the key sat in an editable box with neither).
	save := widget.NewButtonWithIcon(lang.L("Save on a USB stick…"), theme.DocumentSaveIcon(), func() {
		u.saveAs(lang.L("Save on a USB stick…"), "dermal-recovery-key.txt", func(path string) {
			if err := u.writeRecoveryKey(path, p.RecoveryKey()); err != nil {
				u.showError(lang.L("Could not save the recovery key."), err)
				return
			}
			status.SetText(lang.L("Saved:") + " " + path)
		})
	})
	print := widget.NewButtonWithIcon(lang.L("Print"), theme.DocumentPrintIcon(), func() {
		status.SetText(u.printRecoveryKey(p.RecoveryKey()))
	})
	v.pending = p
	v.confirmKey = func() {
		v.confirmKey = nil
		type result struct {
			who clinic.User
			err error
		}
		background(u, nil, func() result {
			ctx := context.Background()
			if err := p.Commit(ctx); err != nil {
				return result{err: err}
			}
			who, err := u.clinic.Login(ctx, admin, password)
			return result{who, err}
		}, func(r result) {
			v.button.Enable()
			v.pending = nil
			if r.err != nil {
				v.message.SetText(explain(r.err))
				return
			}
			u.recoveryKey = p.RecoveryKey()
			u.loggedIn(nil, r.who)
		})
	}
	dlg := dialog.NewCustomConfirm(lang.L("Recovery key"), lang.L("I have written it down"), lang.L("Cancel"), container.NewVBox(msg, key, container.NewHBox(print, save), status), func(ok bool) {
		if ok && v.confirmKey != nil {
			v.confirmKey()
			return
		}
		v.pending, v.confirmKey = nil, nil
		v.button.Enable()
		v.message.SetText(lang.L("Nothing was set up."))
	}, u.win)
	dlg.Resize(u.dialogSize(620, 300))
	dlg.Show()
}

// start shows what the window opens with: the setup for records without staff accounts,
// else the login, else (a user already logged in, as tests do) the window itself.
func (u *UI) start() {
	ctx := context.Background()
	if u.clinic.CurrentUser() != nil {
		u.buildTimed(time.Now()) // logged in at start (--user)
		return
	}
	if need, err := u.clinic.NeedsSetup(ctx); err == nil && need {
		u.setup = u.newSetupView()
		u.win.SetContent(u.setup.root)
		return
	}
	u.login = u.newLoginView(false)
	u.win.SetContent(u.login.root)
	u.login.focus()
}
