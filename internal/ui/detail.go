package ui

import (
	"context"
	"errors"
	"fmt"
	"net/url"
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

// detailScreen is a saved assessment: photo, result, the clinician's findings (editable) and
// the report export.
type detailScreen struct {
	u *UI
	// panel is the right-hand column; referralBlock its referral part (under the result for
	// urgent and review results, tests check where).
	panel, referralBlock *fyne.Container
	entry                clinic.HistoryEntry
	patient              clinic.Patient
	photoView            *photoView
	result               *resultPanel
	diagnosis            *formEntry
	notes                *formEntry
	followUp             *widget.DateEntry
	saveBtn              *widget.Button
	savedNote            *widget.Label // "Saved" once the findings are in the records
	report               *widget.Button
	history              *widget.Button
	referral             *widget.Button
	outcomeBtn           *widget.Button
	printBtn             *widget.Button // the written letter's Print (tests tap it)
	outcome              *widget.Label  // referrals and their outcomes
	root                 fyne.CanvasObject
}

func (d *detailScreen) view() fyne.CanvasObject { return d.root }

// OpenAssessment opens a saved assessment (the --open flag), after the login when the
// window opens at it.
func (u *UI) OpenAssessment(id clinic.AssessmentID) { u.afterLogin(func() { u.showAssessment(id) }) }

// OpenNewAssessment opens a new assessment for a patient (the --new-assessment flag), after the
// login when the window starts at one.
func (u *UI) OpenNewAssessment(id clinic.PatientID) {
	u.afterLogin(func() {
		u.openPatient(id)
		if ps, ok := u.screen.(*patientScreen); ok && ps.patient.ID == id {
			ps.newAssessment(0)
		}
	})
}

// OpenPatient opens a patient's screen (the --open-patient flag).
func (u *UI) OpenPatient(id clinic.PatientID) { u.afterLogin(func() { u.openPatient(id) }) }

// showAssessment opens a saved assessment.
func (u *UI) showAssessment(id clinic.AssessmentID) {
	ctx := context.Background()
	e, p, err := u.clinic.Entry(ctx, id)
	if err != nil {
		u.showError(lang.L("Could not open the assessment."), err)
		return
	}
	u.show(newDetailScreen(u, p, e))
}

func newDetailScreen(u *UI, p clinic.Patient, e clinic.HistoryEntry) *detailScreen {
	d := &detailScreen{u: u, entry: e, patient: p}
	a := e.Assessment
	d.photoView = newPhotoView(420, 315)
	d.result = newResultPanel(u, d.photoView)
	d.diagnosis = newFormEntry(false, d.saveFindings)
	d.diagnosis.SetText(a.Diagnosis)
	d.notes = newFormEntry(true, d.saveFindings)
	d.diagnosis.window, d.notes.window = u.windowShortcut, u.windowShortcut
	d.notes.SetText(a.Notes)
	notesBox, notesWheel := withWheelPass(d.notes, 3)
	d.followUp = u.newDateEntry()
	if a.FollowUp != nil {
		d.followUp.SetDate(a.FollowUp)
	}
	d.saveBtn = widget.NewButtonWithIcon(lang.L("Save changes"), theme.DocumentSaveIcon(), d.saveFindings)
	d.report = widget.NewButtonWithIcon(lang.L("Export report (PDF)…"), theme.DocumentPrintIcon(), func() { d.exportDialog(false) })
	d.history = widget.NewButtonWithIcon(lang.L("Export lesion history (PDF)…"), theme.DocumentPrintIcon(), func() { d.exportDialog(true) })
	d.referral = widget.NewButtonWithIcon(lang.L("Referral letter…"), theme.MailSendIcon(), func() { d.referralDialog() })
	d.outcomeBtn = widget.NewButtonWithIcon(lang.L("Record outcome…"), theme.ConfirmIcon(), func() { d.outcomeDialog() })
	d.outcome = widget.NewLabel("")
	d.outcome.Wrapping = fyne.TextWrapWord

	back := widget.NewButtonWithIcon(lang.L("Back to patient"), theme.NavigateBackIcon(), func() { u.leave(func() { u.openPatient(p.ID) }, nil) })
	d.savedNote = widget.NewLabelWithStyle(lang.L("Saved"), fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
	d.savedNote.Importance = widget.SuccessImportance
	d.savedNote.Hide()
	head := widget.NewLabelWithStyle(fmt.Sprintf("%s — %s — %s", p.FullName, lesionTitle(e.Lesion), locale.DateTime(u.lang, a.TakenAt.Local())),
		fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	findings := widget.NewForm(
		widget.NewFormItem(lang.L("Diagnosis"), d.diagnosis),
		widget.NewFormItem(lang.L("Notes"), notesBox),
		widget.NewFormItem(lang.L("Follow-up"), d.followUp),
	)
	exam := widget.NewLabel(examSummary(u.lang, a))
	exam.Wrapping = fyne.TextWrapWord
	model := widget.NewLabel(lang.L("Model") + ": " + a.ModelName)
	model.Importance = widget.LowImportance
	disclaimer := widget.NewLabel(locale.T(u.lang, "disclaimer"))
	disclaimer.Wrapping = fyne.TextWrapWord
	referral := container.NewVBox(widget.NewLabelWithStyle(lang.L("Referral"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), d.outcome,
		wrapButtons(d.referral, d.outcomeBtn))
	d.referralBlock = referral
	parts := []fyne.CanvasObject{d.result.box}
	if refers := a.RiskTier == string(clinic.TierUrgent) || a.RiskTier == string(clinic.TierReview); refers {
		// The next step where an urgent or review result is read, not at the bottom of the
		// panel (the clinic's day, item 5).
		parts = append(parts, referral)
	}
	parts = append(parts, model, widget.NewSeparator(), exam, findings, container.NewHBox(layoutSpacer(), d.savedNote, d.saveBtn), widget.NewSeparator())
	if a.RiskTier != string(clinic.TierUrgent) && a.RiskTier != string(clinic.TierReview) {
		parts = append(parts, referral)
	}
	parts = append(parts, wrapButtons(d.report, d.history), disclaimer)
	right := container.NewVScroll(container.NewVBox(parts...))
	notesWheel.to = right
	d.panel = right.Content.(*fyne.Container)
	body := container.NewHSplit(d.photoView.img, right)
	body.Offset = 0.48
	d.root = container.NewBorder(container.NewBorder(nil, nil, back, nil, head), nil, nil, nil, body)
	d.refreshOutcome()
	d.load()
	return d
}

// load shows the stored result at once and recomputes the Grad-CAM map (not stored) in the
// background.
func (d *detailScreen) load() {
	a := d.entry.Assessment
	u := d.u
	type loaded struct {
		shown    shownPhoto
		analysed bool
		err      error
	}
	background(u, nil, func() loaded {
		photo, an, err := u.clinic.Reanalyse(context.Background(), a)
		var shown shownPhoto
		if photo != nil {
			shown = preparePhoto(photo.Image, an)
		}
		return loaded{shown, an != nil, err}
	}, func(l loaded) {
		note := ""
		switch {
		case errors.Is(l.err, clinic.ErrOtherModel):
			note = explain(l.err)
		case l.err != nil:
			u.showError(lang.L("Could not show the photo."), l.err)
			return
		}
		d.photoView.set(l.shown)
		d.result.show(a.Probabilities, a.Warnings, l.analysed, d.u.prefs.GradCAMDefault(), note)
		reason := clinic.TierReason(u.lang, u.clinic.Card(), clinic.Tier(a.RiskTier), clinic.Driver(a.TierDriver), a.Probabilities)
		d.result.decide(a.RiskTier, a.TierDriver, clinic.StoredHeadline(u.lang, u.clinic.Card(), a), reason, a.PhotoType != string(clinic.Plain), a.Dermoscopy != nil)
	})
}

func (d *detailScreen) saveFindings() {
	f := clinic.Findings{Diagnosis: d.diagnosis.Text, Notes: d.notes.Text, FollowUp: d.followUp.Date, GradCAMShown: d.result.gradcam.Checked}
	stored, err := d.u.clinic.RecordFindings(context.Background(), d.entry.Assessment.ID, f)
	if err != nil {
		d.u.showError(lang.L("Could not save the findings."), err)
		return
	}
	// The findings as stored (normalized by the records), so "unsaved" compares like with like.
	d.entry.Assessment = stored
	d.markSaved()
}

// markSaved shows "Saved" beside the save button until the findings change again.
func (d *detailScreen) markSaved() {
	d.savedNote.SetText(lang.L("Saved") + " " + time.Now().Format("15:04"))
	d.savedNote.Show()
}

// unsaved: findings typed but not saved.
func (d *detailScreen) unsaved() bool {
	a := d.entry.Assessment
	return clinic.NFC(d.diagnosis.Text) != a.Diagnosis || clinic.NFC(d.notes.Text) != a.Notes
}

// reportName is a default file name: patient code, date, assessment id.
func (d *detailScreen) reportName(history bool) string {
	// File names in the clinic's language too (plain ASCII: every file system and USB
	// stick takes them).
	kind := lang.L("filename.report")
	if history {
		kind = lang.L("filename.history")
	}
	return fmt.Sprintf("dermal-%s-%s-%d-%s.pdf", safeName(d.patient.Code), d.entry.Assessment.TakenAt.Local().Format("20060102"), d.entry.Assessment.ID, kind)
}

func safeName(s string) string {
	out := []rune{}
	for _, r := range s {
		if r == '/' || r == '\\' || r == ':' || r < ' ' {
			r = '_'
		}
		out = append(out, r)
	}
	return string(out)
}

func (d *detailScreen) exportDialog(history bool) {
	// The clinic writes the file itself, atomically.
	d.u.saveAs(lang.L("Save the report"), d.reportName(history), func(path string) { d.export(path, history) })
}

// export writes the report in the background and offers to open its folder.
func (d *detailScreen) export(path string, history bool) {
	u := d.u
	req := clinic.ReportRequest{AssessmentID: d.entry.Assessment.ID, History: history, Language: u.lang, Printed: time.Now()}
	d.report.Disable()
	d.history.Disable()
	background(u, nil, func() error { return u.clinic.WriteReport(context.Background(), req, path) }, func(err error) {
		{
			d.report.Enable()
			d.history.Enable()
			if err != nil {
				u.showError(lang.L("Could not export the report."), err)
				return
			}
			u.log.Info("report exported", "assessment", req.AssessmentID, "file", path)
			open := widget.NewButtonWithIcon(lang.L("Open folder"), theme.FolderOpenIcon(), func() {
				if err := u.app.OpenURL(&url.URL{Scheme: "file", Path: filepath.Dir(path)}); err != nil {
					u.showError(lang.L("Could not open the folder."), err)
				}
			})
			msg := widget.NewLabel(lang.L("The report is saved:") + "\n" + path)
			msg.Wrapping = fyne.TextWrapWord
			dlg := dialog.NewCustom(lang.L("Report saved"), lang.L("Close"), container.NewVBox(msg, open), u.win)
			dlg.Resize(d.u.dialogSize(520, 200))
			dlg.Show()
		}
	})
}

// wrapButtons lays buttons out in as many columns as the pane's width holds, each as wide as
// the widest: a fixed two-column grid made the screen wider than a 1024-pixel screen in
// Vietnamese, whose labels are longer.
func wrapButtons(buttons ...fyne.CanvasObject) fyne.CanvasObject {
	var cell fyne.Size
	for _, b := range buttons {
		cell = cell.Max(b.MinSize())
	}
	return container.NewGridWrap(cell, buttons...)
}
