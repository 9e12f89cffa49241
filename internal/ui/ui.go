// Package ui is Dermal's desktop window: the patient list, a patient's lesions and their
// timelines, new assessments, comparison, settings and the memory status bar. It talks only to
// clinic/ (and the storage types it returns); it never runs SQL or touches ONNX Runtime.
// Background work reaches widgets only through fyne.Do.
package ui

import (
	"context"
	"image"
	"log/slog"
	"sync"
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

// UI is the main window and its state.
type UI struct {
	app    fyne.App
	win    fyne.Window
	clinic *clinic.Clinic
	prefs  *Settings
	log    *slog.Logger
	// lockBtn names who is logged in and locks the window now.
	lockBtn *widget.Button
	// keys are the window's Ctrl+key shortcuts (shortcuts), also run from text fields.
	keys map[fyne.KeyName]func()
	lang string

	// jobs counts background work (analyses, report exports); tests wait on it.
	jobs sync.WaitGroup

	patients *patientList
	title    string          // the window's heading, as drawn
	content  *fyne.Container // right-hand side: the current screen
	screen   screen
	status   *widget.Label
	model    *widget.Label

	stopStatus context.CancelFunc
	// hubKick asks the district hub's sender to send now; hubNote is its last word for the
	// status bar.
	hubKick   chan struct{}
	hubNote   string
	lastError error         // the last error shown (tests check what the clinician was told)
	closing   dialog.Dialog // the question before closing with unsaved work (tests)
	// settingsDlg is the Settings dialog last opened (a restore closes it).
	settingsDlg dialog.Dialog
	lastInfo    string // the last information dialog text

	// Login and lock: the login or setup view on screen (nil when the window is), the
	// window's content while it is locked (out of the widget tree), unsaved drafts of users
	// who were switched out, and when the window was last used.
	login         *loginView
	setup         *setupView
	lockedContent fyne.CanvasObject
	drafts        map[clinic.UserID]screen
	activityMu    sync.Mutex
	lastActivity  time.Time
	recoveryKey   string   // shown once after setup (tests read it)
	pending       []func() // what --open asked for, once logged in
	// thumbs caches the recent-photo strip's thumbnails by file version (UI thread only).
	thumbs map[string]image.Image
}

// screen is whatever fills the right-hand side.
type screen interface {
	view() fyne.CanvasObject
}

// New builds the window for a clinic. It does not show it.
func New(a fyne.App, c *clinic.Clinic, prefs *Settings, log *slog.Logger) *UI {
	if log == nil {
		log = slog.Default()
	}
	u := &UI{app: a, clinic: c, prefs: prefs, log: log}
	u.win = a.NewWindow("Dermal")
	u.win.Resize(fyne.NewSize(1280, 720))
	u.win.SetMaster()
	u.win.SetOnDropped(u.dropped)
	SetLanguage(prefs.Language())
	u.lang = prefs.Language()
	// The clinic name moves from this user's preferences into the records, once.
	if legacy := prefs.LegacyClinicName(); legacy != "" {
		if p, err := c.Profile(context.Background()); err == nil && p.Name == "" {
			p.Name = legacy
			if err := c.SetProfile(context.Background(), p); err != nil {
				log.Error("moving the clinic name into the records", "err", err)
			}
		}
	}
	u.drafts = map[clinic.UserID]screen{}
	u.thumbs = map[string]image.Image{}
	u.touch()
	u.start()
	u.shortcuts()
	u.watchActivity()
	// Closing the window with an unsaved assessment asks first, as leaving its screen does.
	u.win.SetCloseIntercept(u.closeWindow)
	return u
}

// Window is the main window.
func (u *UI) Window() fyne.Window { return u.win }

// SetLanguage makes fyne/lang translate into lang ("en" or "vi"). fyne/lang picks the language
// from the environment's locale when translations are added, so Dermal sets LANGUAGE to the
// chosen language and re-adds its translations — only when the language changes, since every
// call parses both files again (start-up calls it from desktop.go and from New).
func SetLanguage(l string) {
	l = locale.Supported(l)
	languageMu.Lock()
	defer languageMu.Unlock()
	if l == language {
		return
	}
	language = l
	setLocaleEnv(l)
	if err := lang.AddTranslationsFS(locale.Translations, locale.Dir); err != nil {
		fyne.LogError("loading translations", err)
	}
}

var (
	languageMu sync.Mutex
	language   string // what fyne/lang translates into now ("" before the first SetLanguage)
)

// build lays out the window from scratch (also after a language change).
func (u *UI) build() {
	u.patients = newPatientList(u)
	u.content = container.NewStack()
	u.status = widget.NewLabel("")
	u.model = widget.NewLabel("")
	newPatient := widget.NewButtonWithIcon(lang.L("New patient"), theme.ContentAddIcon(), func() { u.editPatient(nil) })
	newPatient.Importance = widget.HighImportance
	settings := widget.NewButtonWithIcon(lang.L("Settings"), theme.SettingsIcon(), u.showSettings)
	home := widget.NewButtonWithIcon(lang.L("Today"), theme.HomeIcon(), func() { u.leave(func() { u.show(u.worklist()) }, nil) })
	u.title = u.clinicTitle()
	title := widget.NewLabelWithStyle(u.title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.Truncation = fyne.TextTruncateEllipsis // the buttons keep their room at 1024 px
	// Who is logged in, and the way to lock the window now (Ctrl+L) for the next member of staff.
	who := lang.L("Lock")
	if me := u.clinic.CurrentUser(); me != nil {
		name := me.FullName
		if name == "" {
			name = me.Name
		}
		who = name + " · " + who
	}
	u.lockBtn = widget.NewButtonWithIcon(who, theme.LogoutIcon(), u.lock)
	buttons := container.NewHBox(home, newPatient, settings, u.lockBtn)
	desk := u.prefs.p.Bool(prefSpecialistDesk)
	if me := u.clinic.CurrentUser(); me != nil && me.Role == clinic.RoleSpecialist {
		desk = true
	}
	if desk {
		// A specialist's desk: the district hub's inbox is one click away, and where the
		// window opens.
		buttons.Objects = append([]fyne.CanvasObject{widget.NewButtonWithIcon(lang.L("District inbox"), theme.MailComposeIcon(),
			func() { u.leave(func() { u.show(u.inbox()) }, nil) })}, buttons.Objects...)
	}
	top := container.NewBorder(nil, nil, nil, buttons, title)
	left := container.NewBorder(nil, nil, nil, nil, u.patients.view)
	split := container.NewHSplit(left, u.content)
	split.Offset = 0.26
	bottom := container.NewBorder(nil, nil, u.status, u.model)
	u.login, u.setup = nil, nil
	u.win.SetContent(container.NewStack(newActivityArea(u), container.NewBorder(top, container.NewVBox(widget.NewSeparator(), bottom), nil, nil, split)))
	if desk {
		u.show(u.inbox())
	} else {
		u.show(u.worklist())
	}
	u.patients.refresh("")
}

func (u *UI) clinicTitle() string {
	if p, err := u.clinic.Profile(context.Background()); err == nil && p.Name != "" {
		return "Dermal — " + p.Name
	}
	return "Dermal"
}

// show replaces the right-hand screen.
func (u *UI) show(s screen) {
	u.touch()
	u.screen = s
	u.content.Objects = []fyne.CanvasObject{s.view()}
	u.content.Refresh()
	// A patient stays highlighted only while a screen of theirs is open: left highlighted on
	// Today, a click on it selected nothing new and did nothing (the clinic's day, item 13).
	if _, ok := s.(*worklistScreen); ok && u.patients != nil {
		u.patients.list.UnselectAll()
	}
}

// shortcuts: Ctrl+N new patient, Ctrl+F search, Ctrl+O open photo, Ctrl+Enter analyse,
// Ctrl+S save, Ctrl+V paste a photo (when no text field has the focus).
func (u *UI) shortcuts() {
	u.keys = map[fyne.KeyName]func(){}
	add := func(key fyne.KeyName, fn func()) {
		u.keys[key] = fn
		u.win.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: key, Modifier: fyne.KeyModifierShortcutDefault}, func(fyne.Shortcut) {
			if !u.loggedOut() {
				fn()
			}
		})
	}
	add(fyne.KeyN, func() { u.editPatient(nil) })
	add(fyne.KeyL, func() { u.lock() })
	add(fyne.KeyF, func() { u.win.Canvas().Focus(u.patients.search) })
	add(fyne.KeyO, func() {
		if a, ok := u.screen.(*assessScreen); ok {
			a.openFile()
		}
	})
	add(fyne.KeyReturn, func() {
		if a, ok := u.screen.(*assessScreen); ok {
			a.analyse()
		}
	})
	add(fyne.KeyS, func() {
		if a, ok := u.screen.(*assessScreen); ok {
			a.save()
		}
	})
	u.win.Canvas().AddShortcut(&fyne.ShortcutPaste{}, func(fyne.Shortcut) {
		if a, ok := u.screen.(*assessScreen); ok && !u.loggedOut() {
			a.paste()
		}
	})
}

// windowShortcut runs the window's Ctrl+key shortcut s, for a text field that has the focus
// (formEntry); false when s is not one of them.
func (u *UI) windowShortcut(s fyne.Shortcut) bool {
	cs, ok := s.(*desktop.CustomShortcut)
	if !ok || cs.Modifier != fyne.KeyModifierShortcutDefault || u.loggedOut() {
		return false
	}
	fn, ok := u.keys[cs.KeyName]
	if ok {
		fn()
	}
	return ok
}

// dropped loads a photo dropped on the window into the open assessment.
func (u *UI) dropped(_ fyne.Position, uris []fyne.URI) {
	if u.loggedOut() {
		return
	}
	a, ok := u.screen.(*assessScreen)
	if !ok || len(uris) == 0 {
		return
	}
	path := uris[0].Path()
	a.replacePhoto(func() { a.loadFile(path) })
}

// StartStatus updates the status bar every interval until Stop: memory in use against the
// budget, and whether the model is loaded.
func (u *UI) StartStatus(interval time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	u.stopStatus = cancel
	u.updateStatus()
	u.startHubSender(ctx)
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fyne.Do(func() {
					u.updateStatus()
					u.checkIdle()
				})
			}
		}
	}()
}

// Stop ends background updates.
func (u *UI) Stop() {
	if u.stopStatus != nil {
		u.stopStatus()
	}
}

func (u *UI) updateStatus() {
	if u.status == nil || u.loggedOut() {
		return // the login or setup view is on screen
	}
	r, ok, err := u.clinic.Memory()
	if !ok {
		return
	}
	if err != nil {
		u.status.SetText(lang.L("Memory readings are not available on this computer."))
	} else {
		u.status.SetText(lang.L("Memory") + ": " + mb(r.RSS) + " / " + mb(r.Budget) + " · " + lang.L("free on this computer") + ": " + mb(r.Available))
	}
	if u.hubNote != "" {
		u.status.SetText(u.status.Text + " · " + u.hubNote)
	}
	if r.ModelLoaded {
		u.model.SetText(lang.L("Model loaded"))
	} else {
		u.model.SetText(lang.L("Model not loaded (loads on the first analysis)"))
	}
}

// openPatient shows a patient's lesions and assessments.
func (u *UI) openPatient(id clinic.PatientID) {
	p, err := u.clinic.Patient(context.Background(), id)
	if err != nil {
		u.showError(lang.L("Could not open the patient."), err)
		return
	}
	u.show(newPatientScreen(u, p))
}

// patientChanged refreshes the list (and opens the patient, unless that would lose unsaved
// work the clinician wants to keep) after an edit.
func (u *UI) patientChanged(p clinic.Patient) {
	u.patients.refresh(u.patients.search.Text)
	u.leave(func() { u.openPatient(p.ID) }, nil)
}

// dialogSize is a dialog's preferred size, shrunk to fit inside the window with a margin: on
// a 1024×600 screen a 900×600 file dialog put its Open and Cancel buttons off-screen.
func (u *UI) dialogSize(w, h float32) fyne.Size {
	win := u.win.Canvas().Size()
	if win.Width > 0 {
		w = min(w, win.Width-24)
	}
	if win.Height > 0 {
		h = min(h, win.Height-24)
	}
	return fyne.NewSize(w, h)
}

// currentLanguage is the language fyne/lang translates into now.
func currentLanguage() string {
	languageMu.Lock()
	defer languageMu.Unlock()
	return locale.Supported(language)
}

// loggedOut reports whether the login, setup or lock view is on screen.
func (u *UI) loggedOut() bool { return u.login != nil || u.setup != nil || u.lockedContent != nil }
