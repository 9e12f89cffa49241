package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
	"dermal/internal/locale"
	"dermal/internal/version"
)

// Settings are the app's persisted choices (Fyne preferences).
type Settings struct {
	p fyne.Preferences
}

// Preference keys.
const (
	prefLanguage    = "language"
	prefGradCAM     = "gradcam_default"
	prefBudgetMB    = "memory_budget_mb"
	prefThreads     = "inference_threads"
	prefDataDir     = "data_folder"
	prefClinicName  = "clinic_name"
	prefIdleMin     = "idle_unload_minutes"
	prefPhotoDir    = "photo_folder"
	prefClinician   = "clinician"
	prefFieldOfView = "dermatoscope_fov_mm"
)

// NewSettings reads settings from the app's preferences.
func NewSettings(p fyne.Preferences) *Settings { return &Settings{p} }

// Language is "en" or "vi"; the default follows the system locale.
func (s *Settings) Language() string {
	return locale.Supported(s.p.StringWithFallback(prefLanguage, locale.Supported(os.Getenv("LANG"))))
}

// GradCAMDefault says whether new results show the Grad-CAM overlay at first.
func (s *Settings) GradCAMDefault() bool { return s.p.BoolWithFallback(prefGradCAM, true) }

// PhotoFolder is where the photo file dialog opens: the folder of the last photo opened if it
// still exists, else the user's Pictures folder, else "" (Fyne's default).
func (s *Settings) PhotoFolder() string {
	candidates := []string{s.p.StringWithFallback(prefPhotoDir, "")}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, "Pictures"))
	}
	for _, dir := range candidates {
		if st, err := os.Stat(dir); dir != "" && err == nil && st.IsDir() {
			return dir
		}
	}
	return ""
}

// SetPhotoFolder remembers the folder of the last photo opened.
func (s *Settings) SetPhotoFolder(dir string) { s.p.SetString(prefPhotoDir, dir) }

// Clinician is the name last given as the referring clinician (until staff accounts name
// who is logged in).
func (s *Settings) Clinician() string { return s.p.StringWithFallback(prefClinician, "") }

// SetClinician remembers the referring clinician's name.
func (s *Settings) SetClinician(name string) { s.p.SetString(prefClinician, storageNFC(name)) }

// FieldOfViewMM is the dermatoscope's field of view, the width in mm its photos show (the
// ruler's default scale); 25 mm until the clinic measures its own.
func (s *Settings) FieldOfViewMM() float64 { return s.p.FloatWithFallback(prefFieldOfView, 25) }

// SetFieldOfViewMM remembers the dermatoscope's field of view.
func (s *Settings) SetFieldOfViewMM(mm float64) { s.p.SetFloat(prefFieldOfView, mm) }

// BudgetMB is the memory budget in MB; 0 means the default (watchdog.DefaultBudget).
func (s *Settings) BudgetMB() int { return s.p.IntWithFallback(prefBudgetMB, 0) }

// Threads is the number of inference threads.
func (s *Settings) Threads() int { return max(1, s.p.IntWithFallback(prefThreads, 1)) }

// DataDir is the records folder; "" means the platform default.
func (s *Settings) DataDir() string { return s.p.StringWithFallback(prefDataDir, "") }

// LegacyClinicName is the clinic name versions before 0.8 kept in the preferences; the
// clinic's profile in the records holds it now (see UI.New).
func (s *Settings) LegacyClinicName() string { return s.p.StringWithFallback(prefClinicName, "") }

// IdleUnloadMinutes is how long the model stays loaded without use; 0 keeps it loaded.
func (s *Settings) IdleUnloadMinutes() int { return s.p.IntWithFallback(prefIdleMin, 10) }

func setLocaleEnv(l string) {
	// go-locale (behind fyne/lang) reads LANGUAGE unless LC_ALL/LANG are exactly "C"/"POSIX"
	// (internal/localeenv turned those into C.UTF-8 at start).
	os.Setenv("LANGUAGE", l)
}

func mb(b uint64) string { return fmt.Sprintf("%d MB", b/clinic.MB) }

// settingsForm holds the settings dialog's fields (tests fill them directly).
type settingsForm struct {
	hub      *widget.Button
	language *widget.Select
	gradcam  *widget.Check
	budget   *widget.Entry
	threads  *widget.Select
	dataDir  *widget.Entry
	clinic   *widget.Entry
	address  *widget.Entry
	phone    *widget.Entry
	idle     *widget.Entry
	lock     *widget.Entry
	about    *widget.Label   // the program's version and the model's name
	records  *fyne.Container // backup (and, for an administrator, restore) buttons
	form     *widget.Form
	dialog   dialog.Dialog
}

func (u *UI) showSettings() {
	f := u.settingsForm()
	u.settingsDlg = f.dialog
	f.dialog.Show()
}

func (u *UI) settingsForm() *settingsForm {
	s := u.prefs
	f := &settingsForm{}
	var names []string
	for _, l := range locale.Languages {
		names = append(names, locale.Names[l])
	}
	f.language = widget.NewSelect(names, nil)
	f.language.SetSelected(locale.Names[s.Language()])
	f.gradcam = widget.NewCheck(lang.L("Show the Grad-CAM overlay by default"), nil)
	f.gradcam.SetChecked(s.GradCAMDefault())
	f.budget = widget.NewEntry()
	f.budget.SetPlaceHolder(lang.L("automatic"))
	if b := s.BudgetMB(); b > 0 {
		f.budget.SetText(strconv.Itoa(b))
	}
	f.budget.Validator = func(v string) error {
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 || n > 4096 {
			return fmt.Errorf("%s", lang.L("Enter a number of MB between 100 and 4096, or leave it empty."))
		}
		return nil
	}
	f.threads = widget.NewSelect([]string{"1", "2", "4"}, nil)
	f.threads.SetSelected(strconv.Itoa(s.Threads()))
	f.dataDir = widget.NewEntry()
	f.dataDir.SetText(s.DataDir())
	f.dataDir.SetPlaceHolder(lang.L("default folder"))
	profile, err := u.clinic.Profile(context.Background())
	if err != nil {
		u.showError(lang.L("Could not read the clinic's details."), err)
	}
	f.clinic = widget.NewEntry()
	f.clinic.SetText(profile.Name)
	f.address = widget.NewEntry()
	f.address.SetText(profile.Address)
	f.phone = widget.NewEntry()
	f.phone.SetText(profile.Phone)
	f.idle = widget.NewEntry()
	f.idle.SetText(strconv.Itoa(s.IdleUnloadMinutes()))
	f.idle.Validator = func(v string) error {
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 1440 {
			return fmt.Errorf("%s", lang.L("Enter minutes between 0 (never) and 1440."))
		}
		return nil
	}
	f.lock = widget.NewEntry()
	f.lock.SetText(strconv.Itoa(u.clinic.LockMinutes(context.Background())))
	f.lock.Validator = func(v string) error {
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 120 {
			return fmt.Errorf("%s", lang.L("Enter minutes between 0 (never) and 120."))
		}
		return nil
	}
	f.hub = widget.NewButtonWithIcon(lang.L("District hub…"), theme.MailSendIcon(), u.hubDialog)
	f.records = container.NewHBox(
		widget.NewButtonWithIcon(lang.L("Back up now…"), theme.DocumentSaveIcon(), u.backupDialog),
		widget.NewButtonWithIcon(lang.L("Daily backup folder…"), theme.FolderIcon(), u.backupFolderDialog))
	if u.isAdmin() {
		f.records.Add(widget.NewButtonWithIcon(lang.L("Restore a backup…"), theme.HistoryIcon(), u.restoreDialog))
	}
	items := []*widget.FormItem{
		widget.NewFormItem(lang.L("Language"), f.language),
		widget.NewFormItem(lang.L("Clinic name (for reports)"), f.clinic),
		widget.NewFormItem(lang.L("Clinic address"), f.address),
		widget.NewFormItem(lang.L("Clinic phone"), f.phone),
		widget.NewFormItem("Grad-CAM", f.gradcam),
		widget.NewFormItem(lang.L("Memory budget (MB)"), f.budget),
		widget.NewFormItem(lang.L("Unload the model after idle minutes"), f.idle),
		widget.NewFormItem(lang.L("Inference threads"), f.threads),
		widget.NewFormItem(lang.L("Data folder"), f.dataDir),
		widget.NewFormItem(lang.L("Records"), f.records),
		widget.NewFormItem(lang.L("Teleconsultation"), container.NewHBox(f.hub)),
	}
	if !u.isAdmin() {
		// The clinic's details and a restore are an administrator's: a clinician is not
		// offered them to be refused only after filling them in (the clinic's day, item 9).
		for _, e := range []*widget.Entry{f.clinic, f.address, f.phone} {
			e.Disable()
		}
	}
	lockItem := widget.NewFormItem(lang.L("Lock after idle minutes"), f.lock)
	if !u.isAdmin() {
		// Automatic logoff protects every patient's record: the administrator's to set.
		f.lock.Disable()
		lockItem.HintText = lang.L("Set by the clinic's administrator.")
	}
	items = append(items, lockItem)
	if u.isAdmin() {
		items = append(items, widget.NewFormItem(lang.L("Administration"), container.NewHBox(
			widget.NewButton(lang.L("Staff accounts…"), func() { u.staffDialog() }),
			widget.NewButton(lang.L("Audit trail…"), func() { u.auditDialog() }))))
	}
	f.about = widget.NewLabel(fmt.Sprintf("Dermal %s · %s: %s", version.String(), lang.L("Model"), clinic.ModelName(u.clinic.Card())))
	f.about.Wrapping = fyne.TextWrapWord
	items = append(items, widget.NewFormItem(lang.L("About"), f.about))
	items[7].HintText = lang.L("Takes effect when Dermal restarts.")
	items[8].HintText = lang.L("Takes effect when Dermal restarts.") + " " + lang.L("In use:") + " " + u.clinic.DataFolder()
	items[1].HintText = lang.L("Printed on reports and referral letters, with the address and phone.")
	if !u.isAdmin() {
		items[1].HintText = lang.L("Set by the clinic's administrator.")
	}
	f.form = widget.NewForm(items...)
	// A scrolling form in a plain dialog: at 1024×600 the whole form did not fit, and Save
	// was off-screen.
	f.dialog = dialog.NewCustomConfirm(lang.L("Settings"), lang.L("Save"), lang.L("Cancel"), container.NewVScroll(f.form), func(ok bool) {
		if !ok {
			return
		}
		if err := f.form.Validate(); err != nil {
			u.showError(lang.L("The settings were not saved."), err)
			return
		}
		u.applySettings(f)
	}, u.win)
	f.dialog.Resize(u.dialogSize(620, 560))
	return f
}

// applySettings stores the form and applies what can change while running.
func (u *UI) applySettings(f *settingsForm) {
	p := u.prefs.p
	newLang := locale.Default
	for l, n := range locale.Names {
		if n == f.language.Selected {
			newLang = l
		}
	}
	p.SetString(prefLanguage, newLang)
	p.SetBool(prefGradCAM, f.gradcam.Checked)
	budget, _ := strconv.Atoi(f.budget.Text)
	p.SetInt(prefBudgetMB, budget)
	threads, _ := strconv.Atoi(f.threads.Selected)
	p.SetInt(prefThreads, threads)
	p.SetString(prefDataDir, f.dataDir.Text)
	// The clinic's details are an administrator's to change: written only when changed.
	profile := clinic.ClinicProfile{Name: clinic.NFC(f.clinic.Text), Address: clinic.NFC(f.address.Text), Phone: clinic.NFC(f.phone.Text)}
	if old, err := u.clinic.Profile(context.Background()); err != nil || old != profile {
		if err := u.clinic.SetProfile(context.Background(), profile); err != nil {
			u.showError(lang.L("Could not save the clinic's details."), err)
		}
	}
	idle, _ := strconv.Atoi(f.idle.Text)
	p.SetInt(prefIdleMin, idle)
	if lockMin, err := strconv.Atoi(f.lock.Text); err == nil && lockMin != u.clinic.LockMinutes(context.Background()) && u.isAdmin() {
		if err := u.clinic.SetLockMinutes(context.Background(), lockMin); err != nil {
			u.showError(lang.L("The settings were not saved."), err)
		}
	}
	u.clinic.SetBudget(clinic.ResolveBudget(0, u.prefs.BudgetMB()), IdleUnload(u.prefs))
	u.log.Info("settings saved", "language", newLang, "budget_mb", budget, "threads", threads, "idle_min", idle)
	u.updateStatus()
	if newLang == u.lang && u.clinicTitle() == u.title {
		return // nothing on screen changes: the open screen (and any draft on it) stays
	}
	// A new language or clinic name redraws the window, which closes the open screen.
	u.leave(func() {
		if newLang != u.lang {
			u.lang = newLang
			SetLanguage(newLang)
		}
		u.build()
	}, func() {
		p.SetString(prefLanguage, u.lang) // kept with the draft; change it again after saving
	})
}

// passphraseForm asks for a backup passphrase (twice when sealing one).
type passphraseForm struct {
	pass, again *widget.Entry
	dialog      *dialog.FormDialog
}

func (u *UI) passphraseDialog(sealing bool, then func(key clinic.BackupKey)) *passphraseForm {
	f := &passphraseForm{pass: widget.NewPasswordEntry(), again: widget.NewPasswordEntry()}
	f.pass.Validator = func(s string) error {
		if sealing && len([]rune(s)) < clinic.MinBackupPassphrase {
			return fmt.Errorf(lang.L("use at least %d characters"), clinic.MinBackupPassphrase)
		}
		if s == "" {
			return errors.New(lang.L("enter the passphrase"))
		}
		return nil
	}
	f.again.Validator = func(s string) error {
		if s != f.pass.Text {
			return errors.New(lang.L("the two passphrases differ"))
		}
		return nil
	}
	items := []*widget.FormItem{widget.NewFormItem(lang.L("Passphrase"), f.pass)}
	title := lang.L("Open an encrypted backup")
	if sealing {
		items = append(items, widget.NewFormItem(lang.L("Again"), f.again))
		items[0].HintText = lang.L("The backup is encrypted with it. Without it the backup cannot be read, by anyone: write it down and keep it apart from the USB stick.")
		title = lang.L("Encrypt the backup")
	}
	f.dialog = dialog.NewForm(title, lang.L("OK"), lang.L("Cancel"), items, func(ok bool) {
		if ok {
			then(clinic.BackupKey{Passphrase: f.pass.Text})
		}
	}, u.win)
	f.dialog.Resize(u.dialogSize(520, 260))
	f.dialog.Show()
	return f
}

// backupDialog asks for the backup's passphrase, then where to write it (a USB stick,
// another disk). Backups are always encrypted from the window; a plain copy needs the
// command line's --unencrypted.
func (u *UI) backupDialog() {
	u.passphraseDialog(true, u.backupFileDialog)
}

func (u *UI) backupFileDialog(key clinic.BackupKey) {
	u.saveAs(lang.L("Save the backup"), "dermal-"+lang.L("filename.backup")+"-"+time.Now().Format("2006-01-02")+".age", func(path string) {
		// A backup never writes over a file: the clinician chose to replace this one.
		os.Remove(path)
		u.backup(path, &key)
	})
}

// backupFolderDialog backs up into a folder (a USB stick's): the first time everything, then
// only what changed since, so the daily backup takes moments.
func (u *UI) backupFolderDialog() {
	u.passphraseDialog(true, func(key clinic.BackupKey) {
		d := dialog.NewFolderOpen(func(dir fyne.ListableURI, err error) {
			if err != nil {
				u.showError(lang.L("Could not back up the records."), err)
				return
			}
			if dir == nil {
				return
			}
			u.backup(dir.Path()+string(filepath.Separator), &key)
		}, u.win)
		d.SetTitleText(lang.L("Choose the backup folder (an empty one the first time)"))
		d.Resize(u.dialogSize(900, 600))
		u.showFileDialog(d)
	})
}

// backup writes a consistent backup of the records (while the app keeps running), sealed with
// key, and says where and, for a folder, whether it held everything or what changed.
func (u *UI) backup(path string, key *clinic.BackupKey) {
	type done struct {
		res clinic.BackupResult
		err error
	}
	background(u, nil, func() done {
		res, err := u.clinic.BackupTo(context.Background(), path, key, false)
		return done{res, err}
	}, func(d done) {
		if d.err != nil {
			u.showError(lang.L("Could not back up the records."), d.err)
			return
		}
		u.log.Info("backup written", "file", path, "run", d.res.Run)
		msg := lang.L("The records are backed up to:") + "\n" + path
		switch {
		case d.res.Folder && d.res.Full:
			msg += "\n\n" + lang.L("This folder's first backup: everything. The next ones into it hold only what changed.")
		case d.res.Folder:
			msg += "\n\n" + fmt.Sprintf(lang.L("Only what changed since the last backup (%d backups in this folder). Restore needs the whole folder."), d.res.Runs)
		}
		if d.res.Note != "" {
			// The copy is complete; the audit trail could not record it.
			u.log.Warn("backup not audited", "note", d.res.Note)
			msg += "\n\n" + d.res.Note
		}
		u.lastInfo = msg
		dialog.ShowInformation(lang.L("Backup done"), msg, u.win)
	})
}

// restoreDialog picks a backup and, once the clinician has confirmed, puts it in place of the
// records from inside the app (clinic.Restore closes, replaces and reopens them).
func (u *UI) restoreDialog() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			u.showError(lang.L("Could not restore the backup."), err)
			return
		}
		if r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		// A backup folder is restored whole: any of its files stands for it.
		if dir := filepath.Dir(path); clinic.IsBackupFolder(dir) {
			path = dir
		}
		confirm := func(key clinic.BackupKey) {
			info, err := clinic.DescribeBackup(path, key)
			if err != nil {
				u.showError(lang.L("Could not restore the backup."), err)
				return
			}
			msg := u.restoreQuestion(path, info)
			dialog.ShowConfirm(lang.L("Restore a backup"), msg, func(ok bool) {
				if ok {
					u.leave(func() { u.restore(path, key) }, nil)
				}
			}, u.win)
		}
		sealed, err := clinic.BackupSealed(path)
		if err != nil {
			u.showError(lang.L("Could not restore the backup."), err)
			return
		}
		if sealed {
			u.passphraseDialog(false, confirm)
			return
		}
		confirm(clinic.BackupKey{})
	}, u.win)
	d.SetTitleText(lang.L("Open a backup to restore (a backup folder: any file in it)"))
	d.Resize(u.dialogSize(900, 600))
	u.showFileDialog(d)
}

// restoreQuestion asks before a restore, saying what the backup holds and from when (the
// clinic's day, item 11: it said nothing of either).
func (u *UI) restoreQuestion(path string, info clinic.BackupInfo) string {
	what := fmt.Sprintf(lang.L("made %s"), locale.DateTime(u.lang, info.Made.Local()))
	if info.Counted {
		what = fmt.Sprintf(lang.L("made %s: %d patients, %d assessments"), locale.DateTime(u.lang, info.Made.Local()), info.Patients, info.Assessments)
	}
	return fmt.Sprintf(lang.L("Replace the records with the backup %s (%s)? The records as they are now are kept beside it, not deleted; everyone logs in again with the backup's accounts."), path, what)
}

// restore replaces the records with a backup. Nothing on screen may read the records while
// they are closed: a modal dialog covers the window, the welcome screen replaces the open one,
// and the restore starts once the background readers (thumbnails, photos) have finished.
func (u *UI) restore(path string, key clinic.BackupKey) {
	if u.settingsDlg != nil {
		u.settingsDlg.Hide() // not left over the window the restore empties
	}
	busy := dialog.NewCustomWithoutButtons(lang.L("Restore a backup"), widget.NewProgressBarInfinite(), u.win)
	busy.Show()
	u.show(u.worklist())
	go func() {
		u.jobs.Wait()
		kept, err := u.clinic.Restore(path, key)
		fyne.Do(func() {
			busy.Hide()
			// A restored backup has its own accounts: the window goes back to the login.
			if u.clinic.CurrentUser() == nil {
				u.start()
			} else {
				u.build()
			}
			if err != nil {
				u.showError(lang.L("Could not restore the backup."), err)
				return
			}
			u.log.Info("backup restored", "file", path, "kept", kept)
			msg := lang.L("The backup is restored.")
			if kept != "" {
				msg += "\n" + lang.L("The records as they were are kept at:") + "\n" + kept
			}
			u.lastInfo = msg
			if u.login != nil {
				// Said on the login itself: please log in again, with the backup's accounts.
				u.login.message.Importance = widget.MediumImportance
				u.login.message.SetText(msg + "\n" + lang.L("Log in again: the accounts are the backup's."))
				return
			}
			dialog.ShowInformation(lang.L("Restore a backup"), msg, u.win)
		})
	}()
}
