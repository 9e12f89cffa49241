package ui

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
	"dermal/internal/locale"
)

// referralForm is the referral letter's dialog (tests fill it directly).
type referralForm struct {
	to, clinician *widget.Entry
	reason        *formEntry
	dialog        *dialog.FormDialog
}

// referralDialog asks whom to refer to and why, then where to save the letter.
func (d *detailScreen) referralDialog() *referralForm {
	return d.referralDialogWith(clinic.ReferralRequest{})
}

// referralDialogWith opens the letter's form filled with what was typed before (a letter that
// could not be written comes back with its addressee and reason, not blank).
func (d *detailScreen) referralDialogWith(prev clinic.ReferralRequest) *referralForm {
	u := d.u
	f := &referralForm{to: widget.NewEntry(), clinician: widget.NewEntry(), reason: newFormEntry(true, nil)}
	f.to.SetText(prev.To)
	f.reason.SetText(prev.Reason)
	f.to.SetPlaceHolder(lang.L("e.g. Dermatology, Provincial Hospital"))
	f.to.Validator = func(s string) error {
		if clinic.NFC(s) == "" {
			return errors.New(lang.L("say whom the patient is referred to"))
		}
		return nil
	}
	// The referring clinician is who is logged in (the name this computer remembered may be
	// another user's); the remembered name only where the records have no accounts.
	clinician := prev.Clinician
	if clinician == "" {
		if who := u.clinic.CurrentUser(); who != nil {
			clinician = who.FullName
			if clinician == "" {
				clinician = who.Name
			}
		} else {
			clinician = u.prefs.Clinician()
		}
	}
	f.clinician.SetText(clinician)
	f.clinician.Validator = func(s string) error {
		if clinic.NFC(s) == "" {
			return errors.New(lang.L("the referring clinician's name is printed on the letter"))
		}
		return nil
	}
	f.reason.SetPlaceHolder(lang.L("(default: the result and its advice)"))
	f.reason.SetMinRowsVisible(3)
	items := []*widget.FormItem{
		widget.NewFormItem(lang.L("Referred to"), f.to),
		widget.NewFormItem(lang.L("Reason"), f.reason),
		widget.NewFormItem(lang.L("Referring clinician"), f.clinician),
	}
	f.dialog = dialog.NewForm(lang.L("Referral letter"), lang.L("Save letter…"), lang.L("Cancel"), items, func(ok bool) {
		if !ok {
			return
		}
		u.prefs.SetClinician(f.clinician.Text)
		req := clinic.ReferralRequest{AssessmentID: d.entry.Assessment.ID, To: f.to.Text, Reason: f.reason.Text, Clinician: f.clinician.Text,
			Language: u.lang, Printed: time.Now()}
		u.saveAs(lang.L("Save the referral letter"), fmt.Sprintf("dermal-%s-%d-%s.pdf", safeName(d.patient.Code), d.entry.Assessment.ID, lang.L("filename.referral")),
			func(path string) { d.writeReferral(req, path) })
	}, u.win)
	f.dialog.Resize(u.dialogSize(560, 360))
	f.dialog.Show()
	// Validate now, not at the first keystroke: Save stays disabled while a required field
	// is empty (it was enabled, and the letter failed after the file dialog).
	f.to.Validate()
	f.clinician.Validate()
	return f
}

// writeReferral writes the letter in the background, then offers Print and Open.
func (d *detailScreen) writeReferral(req clinic.ReferralRequest, path string) {
	u := d.u
	background(u, nil, func() error { return u.clinic.WriteReferral(context.Background(), req, path) }, func(err error) {
		if err != nil {
			// The file dialog made an empty file to write into: a failed letter leaves none
			// (it then asked to overwrite a 0-byte "letter"). What was typed comes back.
			if st, statErr := os.Stat(path); statErr == nil && st.Size() == 0 {
				os.Remove(path)
			}
			u.showError(lang.L("Could not write the referral letter."), err)
			d.referralDialogWith(req)
			return
		}
		u.log.Info("referral letter written", "assessment", req.AssessmentID, "file", path)
		u.kickHub() // queued for the district hub when one is set and the patient consented
		d.showLetterWritten(path)
		d.refreshOutcome()
	})
}

// openPDF opens a PDF in the computer's viewer; where there is none it says so, and where the
// file is, with a button that opens its folder (a plain "open" failed without a word).
func (u *UI) openPDF(path string) {
	err := u.clinic.OpenPDF(path)
	switch {
	case errors.Is(err, clinic.ErrNoViewer):
		u.lastInfo = lang.L("No program on this computer opens PDF files. The file is saved at:") + "\n" + path + "\n\n" +
			lang.L("Copy it to a computer that has a PDF viewer to print it, or ask the IT volunteer to install one (SumatraPDF on Windows).")
		msg := widget.NewLabel(u.lastInfo)
		msg.Wrapping = fyne.TextWrapWord
		folder := widget.NewButtonWithIcon(lang.L("Open folder"), theme.FolderOpenIcon(), func() {
			if err := u.app.OpenURL(&url.URL{Scheme: "file", Path: filepath.Dir(path)}); err != nil {
				u.showError(lang.L("Could not open the folder."), err)
			}
		})
		d := dialog.NewCustom(lang.L("No PDF viewer"), lang.L("Close"), container.NewVBox(msg, folder), u.win)
		d.Resize(u.dialogSize(560, 260))
		d.Show()
	case err != nil:
		u.showError(lang.L("Could not open the PDF."), err)
	}
}

// showLetterWritten offers to print the letter (the system's print path) or open it.
func (d *detailScreen) showLetterWritten(path string) {
	u := d.u
	openPDF := func() { u.openPDF(path) }
	msg := widget.NewLabel(lang.L("The referral letter is saved:") + "\n" + path)
	msg.Wrapping = fyne.TextWrapWord
	status := widget.NewLabel("")
	status.Wrapping = fyne.TextWrapWord
	print := widget.NewButtonWithIcon(lang.L("Print"), theme.DocumentPrintIcon(), func() {
		err := u.clinic.Print(path)
		switch {
		case errors.Is(err, clinic.ErrNoPrintPath):
			status.SetText(lang.L("This computer has no print command; the letter opens in the PDF viewer, print it from there."))
			openPDF()
		case err != nil:
			status.SetText(lang.L("Printing failed:") + " " + err.Error())
		default:
			status.SetText(lang.L("Sent to the printer."))
		}
	})
	print.Importance = widget.HighImportance
	d.printBtn = print
	dlg := dialog.NewCustom(lang.L("Referral letter"), lang.L("Close"), container.NewVBox(msg,
		container.NewHBox(print, widget.NewButtonWithIcon(lang.L("Open"), theme.FileIcon(), openPDF)), status), u.win)
	dlg.Resize(u.dialogSize(560, 240))
	dlg.Show()
}

// outcomeForm is the referral outcome's dialog.
type outcomeForm struct {
	source    *widget.RadioGroup
	diagnosis *widget.Entry
	date      *widget.DateEntry
	dialog    *dialog.FormDialog
}

// outcomeDialog records what the specialist or histology found.
func (d *detailScreen) outcomeDialog() *outcomeForm {
	u := d.u
	f := &outcomeForm{diagnosis: widget.NewEntry(), date: u.newDateEntry()}
	sources := []string{lang.L("Histology"), lang.L("Specialist")}
	f.source = widget.NewRadioGroup(sources, nil)
	f.source.Horizontal = true
	f.source.Required = true
	f.source.SetSelected(sources[0])
	f.diagnosis.Validator = func(s string) error {
		if clinic.NFC(s) == "" {
			return errors.New(lang.L("enter the diagnosis"))
		}
		return nil
	}
	now := time.Now()
	f.date.SetDate(&now)
	items := []*widget.FormItem{
		widget.NewFormItem(lang.L("Diagnosed by"), f.source),
		widget.NewFormItem(lang.L("Diagnosis"), f.diagnosis),
		widget.NewFormItem(lang.L("Date"), f.date),
	}
	f.dialog = dialog.NewForm(lang.L("Referral outcome"), lang.L("Save"), lang.L("Cancel"), items, func(ok bool) {
		if ok {
			d.saveOutcome(f)
		}
	}, u.win)
	f.dialog.Resize(u.dialogSize(520, 300))
	f.dialog.Show()
	return f
}

func (d *detailScreen) saveOutcome(f *outcomeForm) {
	source := clinic.OutcomeHistology
	if f.source.Selected == lang.L("Specialist") {
		source = clinic.OutcomeSpecialist
	}
	date := time.Now()
	if f.date.Date != nil {
		date = *f.date.Date
	}
	if _, err := d.u.clinic.RecordOutcome(context.Background(), d.entry.Assessment.ID, source, f.diagnosis.Text, date); err != nil {
		d.u.showError(lang.L("Could not record the outcome."), err)
		return
	}
	d.refreshOutcome()
}

// refreshOutcome shows the referral and its outcome as recorded.
func (d *detailScreen) refreshOutcome() {
	rs, err := d.u.clinic.Referrals(context.Background(), d.entry.Assessment.ID)
	if err != nil {
		d.u.showError(lang.L("Could not read the referrals."), err)
		return
	}
	d.outcome.SetText(referralText(d.u.lang, rs))
}

// referralText says where the assessment was referred and what came of it.
func referralText(uiLang string, rs []clinic.Referral) string {
	var s string
	for _, r := range rs {
		if r.ReferredTo != "" {
			s += fmt.Sprintf("%s %s: %s\n", lang.L("Referred"), locale.Date(uiLang, r.ReferredAt.Local()), r.ReferredTo)
		}
		if r.HasOutcome() {
			s += fmt.Sprintf("%s (%s, %s): %s\n", lang.L("Outcome"), lang.L(outcomeSourceName(r.OutcomeSource)), locale.Date(uiLang, *r.OutcomeDate), r.OutcomeDiagnosis)
		}
	}
	if s == "" {
		return lang.L("Not referred; no outcome recorded.")
	}
	return s[:len(s)-1]
}

func outcomeSourceName(source string) string {
	if source == clinic.OutcomeSpecialist {
		return "Specialist"
	}
	return "Histology"
}
