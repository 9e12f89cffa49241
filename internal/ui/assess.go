package ui

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/layout"
	fynestorage "fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"golang.org/x/text/collate"
	textlang "golang.org/x/text/language"

	"dermal/internal/clinic"
	"dermal/internal/locale"
)

func layoutSpacer() fyne.CanvasObject { return layout.NewSpacer() }

// photoExtensions are offered by the file dialog (intake checks the content, not the name).
var photoExtensions = []string{".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".JPG", ".JPEG", ".PNG"}

// assessScreen is a new assessment: choose the lesion, load a photo, analyse, record findings,
// save.
type assessScreen struct {
	u       *UI
	patient clinic.Patient
	lesions []clinic.Lesion

	lesion     *widget.Select
	site       *widget.Select
	siteCodes  []string // the body sites in the order site lists them
	recent     *recentPhotos
	mapFront   *bodyMap
	mapBack    *bodyMap
	mapPoint   *clinic.BodyPoint // where the new lesion was placed (nil: not placed)
	mapPlace   *widget.Label
	siteDetail *formEntry
	open       *widget.Button
	pasteBtn   *widget.Button
	phoneBtn   *widget.Button
	usbBtn     *widget.Button
	analyseBtn *widget.Button
	saveBtn    *widget.Button
	progress   *widget.ProgressBarInfinite
	state      *widget.Label
	photoView  *photoView
	result     *resultPanel
	exam       *examForm
	diagnosis  *formEntry
	notes      *formEntry
	followUp   *widget.DateEntry
	// replacing is the question before a new photo replaces an analysed one (tests).
	replacing dialog.Dialog
	// findings scrolls the result, the examination and the findings (right pane).
	findings *container.Scroll

	photo    *clinic.Photo
	analysis *clinic.Analysis
	saved    *clinic.Result
	busy     bool
	root     fyne.CanvasObject
}

func (a *assessScreen) view() fyne.CanvasObject { return a.root }

// unsaved: a photo loaded (analysed or not) or findings typed, and not saved.
func (a *assessScreen) unsaved() bool {
	return a.saved == nil && (a.photo != nil || a.diagnosis.Text != "" || a.notes.Text != "" || a.followUp.Date != nil || a.exam.touched())
}

// newLesionChoice is the first entry of the lesion list.
func newLesionChoice() string { return lang.L("New lesion") }

func lesionTitle(l clinic.Lesion) string {
	s := lang.L("site." + l.BodySite)
	if l.SiteDetail != "" {
		s += " — " + l.SiteDetail
	}
	return fmt.Sprintf("%s (#%d)", s, l.ID)
}

// newAssessScreen opens a new assessment for a patient, on lesionID (0: a new lesion).
func newAssessScreen(u *UI, p clinic.Patient, lesions []clinic.Lesion, lesionID clinic.LesionID) *assessScreen {
	a := &assessScreen{u: u, patient: p, lesions: lesions}
	choices := []string{newLesionChoice()}
	selected := choices[0]
	for _, l := range lesions {
		choices = append(choices, lesionTitle(l))
		if l.ID == lesionID {
			selected = lesionTitle(l)
		}
	}
	a.siteCodes = sortedSites(u.lang)
	var siteNames []string
	for _, s := range a.siteCodes {
		siteNames = append(siteNames, lang.L("site."+s))
	}
	a.site = widget.NewSelect(siteNames, nil)
	a.site.PlaceHolder = lang.L("Body site")
	a.siteDetail = newFormEntry(false, a.save)
	a.siteDetail.SetPlaceHolder(lang.L("Where exactly (optional)"))
	a.mapFront = newBodyMap(clinic.MapFront, lang.L("Front"))
	a.mapBack = newBodyMap(clinic.MapBack, lang.L("Back"))
	a.mapPlace = widget.NewLabel(lang.L("Tap the body map to place the new lesion."))
	a.mapPlace.Wrapping = fyne.TextWrapWord
	for _, m := range []*bodyMap{a.mapFront, a.mapBack} {
		m.onPlace = a.placeOnMap
	}
	for _, l := range lesions {
		if p, ok := clinic.LesionPoint(l); ok {
			m := a.mapFront
			if p.View == clinic.MapBack {
				m = a.mapBack
			}
			m.addDot(p, l.ID, "")
		}
	}
	a.lesion = widget.NewSelect(choices, func(s string) {
		if s == newLesionChoice() {
			a.site.Enable()
			a.siteDetail.Enable()
		} else {
			a.site.Disable()
			a.siteDetail.Disable()
			a.placeOnMap(clinic.BodyPoint{})
		}
	})
	a.lesion.SetSelected(selected)

	a.open = widget.NewButtonWithIcon(lang.L("Open photo… (Ctrl+O)"), theme.FolderOpenIcon(), a.openFile)
	a.pasteBtn = widget.NewButtonWithIcon(lang.L("Paste (Ctrl+V)"), theme.ContentPasteIcon(), a.paste)
	a.phoneBtn = widget.NewButtonWithIcon(lang.L("Capture with phone"), theme.MediaPhotoIcon(), func() { a.capturePhone() })
	a.usbBtn = widget.NewButtonWithIcon(lang.L("USB camera"), theme.MediaVideoIcon(), func() { a.captureUSB() })
	a.analyseBtn = widget.NewButtonWithIcon(lang.L("Analyse (Ctrl+Enter)"), theme.MediaPlayIcon(), a.analyse)
	a.analyseBtn.Importance = widget.HighImportance
	a.analyseBtn.Disable()
	a.saveBtn = widget.NewButtonWithIcon(lang.L("Save (Ctrl+S)"), theme.DocumentSaveIcon(), a.save)
	a.saveBtn.Importance = widget.HighImportance
	a.saveBtn.Disable()
	a.progress = widget.NewProgressBarInfinite()
	a.progress.Stop()
	a.progress.Hide()
	a.state = widget.NewLabel(lang.L("Open a photo, drop it on the window, or paste it."))
	a.state.Wrapping = fyne.TextWrapWord

	a.photoView = newPhotoView(300, 120) // it grows with the pane; 120 px keeps the screen inside 1024×600
	a.result = newResultPanel(u, a.photoView)
	a.exam = newExamForm(u.lang, a.examChanged)
	a.exam.measure.OnTapped = func() { a.measureDialog() }
	a.exam.diameter.onSave = a.save
	a.diagnosis = newFormEntry(false, a.save)
	a.diagnosis.SetPlaceHolder(lang.L("Your diagnosis"))
	a.notes = newFormEntry(true, a.save)
	a.notes.SetPlaceHolder(lang.L("Notes"))
	notesBox, notesWheel := withWheelPass(a.notes, 3)
	a.followUp = u.newDateEntry()
	// Ctrl+O, Ctrl+Enter and the others work while the cursor is in any of these.
	for _, e := range []*formEntry{a.siteDetail, a.exam.diameter, a.diagnosis, a.notes} {
		e.window = u.windowShortcut
	}

	back := widget.NewButtonWithIcon(lang.L("Back to patient"), theme.NavigateBackIcon(), func() { u.leave(func() { u.openPatient(p.ID) }, nil) })
	head := widget.NewLabelWithStyle(lang.L("New assessment")+" — "+p.FullName, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	where := widget.NewForm(
		widget.NewFormItem(lang.L("Lesion"), a.lesion),
		widget.NewFormItem(lang.L("Body site"), container.NewGridWithColumns(2, a.site, a.siteDetail)),
	)
	a.recent = newRecentPhotos(a)
	left := container.NewBorder(
		container.NewVBox(where, container.NewGridWithColumns(2, a.open, a.pasteBtn, a.phoneBtn, a.usbBtn), container.NewHScroll(a.recent.box)),
		container.NewVBox(a.progress, a.state, a.analyseBtn),
		nil, nil, a.photoView.img)
	findings := widget.NewForm(
		widget.NewFormItem(lang.L("Diagnosis"), a.diagnosis),
		widget.NewFormItem(lang.L("Notes"), notesBox),
		widget.NewFormItem(lang.L("Follow-up"), a.followUp),
	)
	disclaimer := widget.NewLabel(locale.T(u.lang, "disclaimer"))
	disclaimer.Wrapping = fyne.TextWrapWord
	examHead := widget.NewLabelWithStyle(lang.L("Examination"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	mapHead := widget.NewLabelWithStyle(lang.L("Where on the body"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	maps := container.NewBorder(nil, nil, container.NewGridWithColumns(2, a.mapFront, a.mapBack), nil, a.mapPlace)
	// Save stays under the scrolling findings, so it is on screen at 1024×600 too.
	a.findings = container.NewVScroll(container.NewVBox(a.result.box, widget.NewSeparator(), examHead, a.exam.box, mapHead, maps, widget.NewSeparator(), findings, disclaimer))
	notesWheel.to = a.findings
	right := container.NewBorder(nil, container.NewHBox(layoutSpacer(), a.saveBtn), nil, nil, a.findings)
	body := container.NewHSplit(left, right)
	body.Offset = 0.48
	a.root = container.NewBorder(container.NewBorder(nil, nil, back, nil, head), nil, nil, nil, body)
	return a
}

// openFile shows the file dialog, in the folder the last photo came from (else Pictures).
func (a *assessScreen) openFile() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			a.u.showError(lang.L("Could not open the photo."), err)
			return
		}
		if r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		a.u.prefs.SetPhotoFolder(filepath.Dir(path))
		a.replacePhoto(func() { a.loadFile(path) })
	}, a.u.win)
	d.SetTitleText(lang.L("Open a photo"))
	d.SetFilter(fynestorage.NewExtensionFileFilter(photoExtensions))
	if dir := a.u.prefs.PhotoFolder(); dir != "" {
		if loc, err := fynestorage.ListerForURI(fynestorage.NewFileURI(dir)); err == nil {
			d.SetLocation(loc)
		}
	}
	d.Resize(a.u.dialogSize(900, 600))
	a.u.showFileDialog(d)
}

// paste loads a photo file whose path or file:// URI is on the clipboard (what file managers
// put there when a file is copied). Fyne's clipboard carries text only, so image data copied
// from another program cannot be pasted; the message says what to do instead.
func (a *assessScreen) paste() {
	text := strings.TrimSpace(a.u.app.Clipboard().Content())
	if line, _, ok := strings.Cut(text, "\n"); ok {
		text = strings.TrimSpace(line)
	}
	if strings.HasPrefix(text, "file://") {
		if u, err := url.Parse(text); err == nil {
			text = u.Path
		}
	}
	if text == "" {
		a.u.showError(lang.L("Nothing to paste."), errors.New(lang.L("The clipboard holds no photo file. Copy the photo file in the file manager, or use Open photo.")))
		return
	}
	if _, err := os.Stat(text); err != nil {
		a.u.showError(lang.L("Nothing to paste."), fmt.Errorf("%s: %w", lang.L("The clipboard holds no photo file. Copy the photo file in the file manager, or use Open photo."), err))
		return
	}
	a.replacePhoto(func() { a.loadFile(text) })
}

// replacePhoto runs load at once, unless an analysed result not saved yet is on screen: then
// it asks first (the clinic's day, item 13: a pasted photo dropped an analysed result without
// a word).
func (a *assessScreen) replacePhoto(load func()) {
	if a.analysis == nil || a.saved != nil {
		load()
		return
	}
	d := dialog.NewConfirm(lang.L("Replace the analysed photo?"),
		lang.L("The photo on screen is analysed and its result is not saved. Save it first (Ctrl+S), or replace it with the new photo."),
		func(replace bool) {
			if replace {
				load()
			}
		}, a.u.win)
	d.SetConfirmText(lang.L("Replace"))
	d.SetDismissText(lang.L("Keep this one"))
	a.replacing = d
	d.Show()
}

// loadFile reads and decodes a photo in the background (a 12 MP photo takes a moment).
func (a *assessScreen) loadFile(path string) {
	if a.busy {
		return
	}
	a.setBusy(true, lang.L("Reading the photo…"))
	type read struct {
		photo *clinic.Photo
		shown shownPhoto
		err   error
	}
	background(a.u, nil, func() read {
		photo, err := a.u.clinic.ReadPhoto(path)
		if err != nil {
			return read{err: err}
		}
		return read{photo, preparePhoto(photo.Image, nil), nil}
	}, func(r read) {
		a.setBusy(false, "")
		if r.err != nil {
			a.state.SetText(lang.L("Open a photo, drop it on the window, or paste it."))
			a.u.showError(lang.L("Could not open the photo."), r.err)
			return
		}
		a.setPhoto(r.photo, r.shown, "file")
	})
}

// placeOnMap places the new lesion at p on the body map and selects the body site there; a
// zero point (no view) clears the placement.
func (a *assessScreen) placeOnMap(p clinic.BodyPoint) {
	if p.View == "" {
		a.mapPoint = nil
		a.mapFront.place(nil)
		a.mapBack.place(nil)
		a.mapPlace.SetText(lang.L("Tap the body map to place the new lesion."))
		return
	}
	place, err := p.Place()
	if err != nil {
		return
	}
	if a.lesion.Selected != newLesionChoice() {
		a.lesion.SetSelected(newLesionChoice())
	}
	a.mapPoint = &p
	on, off := a.mapFront, a.mapBack
	if p.View == clinic.MapBack {
		on, off = off, on
	}
	on.place(&p)
	off.place(nil)
	for i, code := range a.siteCodes {
		if code == place.Site {
			a.site.SetSelectedIndex(i)
		}
	}
	a.mapPlace.SetText(lang.L("site."+place.Site) + " · " + lang.L("side."+string(place.Side)))
}

// examChanged follows the examination form: the tier on screen is decided again.
func (a *assessScreen) examChanged() {
	if a.exam == nil {
		return
	}
	a.showDecision()
}

// showDecision shows the tier the analysis and the examination give together.
func (a *assessScreen) showDecision() {
	if a.analysis == nil {
		return
	}
	e, _ := a.exam.examination() // a bad diameter does not change the tier; Save names it
	d := clinic.Decide(a.analysis.Assessment, e)
	reason := clinic.TierReason(a.u.lang, a.analysis.Assessment.Card(), d.Tier, d.Driver, a.analysis.Assessment.ProbabilityMap())
	a.result.decide(string(d.Tier), string(d.Driver), clinic.DecisionHeadline(a.u.lang, a.analysis.Assessment, d), reason, d.ModelValidated, d.Dermoscopy != nil)
}

// setPhoto puts a decoded photo (prepared for the screen) into the assessment; source says
// where it came from ("file", "phone", "usb:DEVICE", for the log). Its photo type starts
// unchosen: how this photo was taken is the clinician's choice for this photo, never one
// carried over from an earlier photo, source or user.
func (a *assessScreen) setPhoto(p *clinic.Photo, shown shownPhoto, source string) {
	a.u.log.Info("photo loaded", "source", source, "width", p.Width, "height", p.Height)
	a.photo, a.analysis = p, nil
	a.exam.reset()
	a.exam.measure.Enable()
	a.photoView.set(shown)
	a.result.box.Hide()
	a.saveBtn.Disable()
	a.analyseBtn.Enable()
	a.state.SetText(fmt.Sprintf("%s — %d × %d", shortName(p.Name), p.Width, p.Height))
}

func shortName(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[i+1:]
	}
	return path
}

func (a *assessScreen) setBusy(busy bool, msg string) {
	a.busy = busy
	if busy {
		a.progress.Show()
		a.progress.Start()
		a.state.SetText(msg)
		a.analyseBtn.Disable()
		for _, b := range []*widget.Button{a.open, a.pasteBtn, a.phoneBtn, a.usbBtn, a.saveBtn} {
			b.Disable()
		}
		return
	}
	a.progress.Stop()
	a.progress.Hide()
	for _, b := range []*widget.Button{a.open, a.pasteBtn, a.phoneBtn, a.usbBtn} {
		b.Enable()
	}
	if a.photo != nil {
		a.analyseBtn.Enable()
	}
	if a.analysis != nil && a.saved == nil && !a.notALesion() {
		a.saveBtn.Enable()
	}
}

// notALesion reports whether the analysed photo does not look like a skin lesion at all
// (the out-of-distribution check): its result means nothing and is not saved. A lesion in a
// poor photo (blurred, dark) is still saved, as "assess again" on Today.
func (a *assessScreen) notALesion() bool {
	if a.analysis == nil {
		return false
	}
	return slices.Contains(warningCodes(a.analysis.Warnings), clinic.WarnNotALesion)
}

// analyse runs the model off the UI thread; the window stays responsive and shows progress.
func (a *assessScreen) analyse() {
	if a.busy || a.photo == nil {
		return
	}
	photo := a.photo
	a.setBusy(true, lang.L("Analysing…"))
	type analysed struct {
		an    *clinic.Analysis
		shown shownPhoto
		took  time.Duration
		err   error
	}
	background(a.u, nil, func() analysed {
		start := time.Now()
		an, err := a.u.clinic.AnalyseGuarded(context.Background(), photo, true)
		if err != nil {
			return analysed{err: err}
		}
		return analysed{an, preparePhoto(photo.Image, an.Assessment), time.Since(start), nil}
	}, func(r analysed) {
		if r.err != nil {
			a.setBusy(false, "")
			a.state.SetText(lang.L("The analysis did not run."))
			a.u.showError(lang.L("Could not analyse the photo."), r.err)
			return
		}
		an := r.an
		a.analysis = an
		a.photoView.set(r.shown)
		note := ""
		if an.Plan.Verdict == clinic.RunWithoutGradCAM {
			note = gradcamSkipped(an.Plan)
		}
		a.result.show(an.ProbabilityMap(), warningCodes(an.Warnings), an.GradCAMAllowed, a.u.prefs.GradCAMDefault(), note)
		a.showDecision()
		a.setBusy(false, "")
		if a.notALesion() {
			// Nothing here is a lesion's result: no bars, no heatmap, nothing to save (the
			// clinic's day, item 8).
			a.state.SetText(lang.L("This photo does not look like a skin lesion. Take a photo of the lesion (Ctrl+O); this one cannot be saved."))
		} else {
			a.state.SetText(fmt.Sprintf(lang.L("Analysed in %s s. Record your findings and save."), locale.Seconds(a.u.lang, r.took)))
		}
		a.u.updateStatus()
	})
}

func warningCodes(ws []clinic.Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Code)
	}
	return out
}

// save stores the analysed photo with the findings. On failure everything stays on screen.
func (a *assessScreen) save() {
	if a.analysis == nil || a.saved != nil || a.busy {
		return
	}
	exam, err := a.exam.examination()
	if err != nil {
		a.u.showError(lang.L("Could not save the assessment."), fmt.Errorf("%w: %v", clinic.ErrInvalid, err))
		return
	}
	v := clinic.Visit{PatientID: a.patient.ID, Photo: a.photo, Analysis: a.analysis.Assessment, Exam: exam,
		Findings: clinic.Findings{Diagnosis: a.diagnosis.Text, Notes: a.notes.Text, FollowUp: a.followUp.Date, GradCAMShown: a.result.gradcam.Checked}}
	if a.lesion.Selected == newLesionChoice() {
		if a.site.SelectedIndex() < 0 {
			a.u.showError(lang.L("Could not save the assessment."), fmt.Errorf("%w: %s", clinic.ErrInvalid, lang.L("choose the body site of the new lesion")))
			return
		}
		v.Site = a.siteCodes[a.site.SelectedIndex()]
		v.SiteDetail = a.siteDetail.Text
		v.Map = a.mapPoint
	} else {
		v.LesionID = a.lesions[a.lesion.SelectedIndex()-1].ID
	}
	// The transaction (and the thumbnail) off the UI thread; the buttons wait meanwhile.
	a.setBusy(true, lang.L("Saving…"))
	type saved struct {
		r   *clinic.Result
		err error
	}
	background(a.u, nil, func() saved {
		r, err := a.u.clinic.Save(context.Background(), v)
		return saved{r, err}
	}, func(s saved) {
		a.setBusy(false, "")
		if s.err != nil {
			a.state.SetText(lang.L("Not saved. Everything is still on screen."))
			a.u.showError(lang.L("Could not save the assessment."), s.err)
			return
		}
		a.saved = s.r
		a.u.log.Info("assessment saved", "assessment", s.r.AssessmentID, "tier", s.r.Decision.Tier)
		a.u.showAssessment(s.r.AssessmentID)
		if d, ok := a.u.screen.(*detailScreen); ok {
			d.markSaved()
		}
	})
}

// sortedSites lists the body sites in the alphabetical order of their names in uiLang (with
// that language's collation: Vietnamese sorts "Đầu" after "Da"), "other" last.
func sortedSites(uiLang string) []string {
	codes := slices.Clone(clinic.BodySites)
	tag := textlang.English
	if uiLang == "vi" {
		tag = textlang.Vietnamese
	}
	col := collate.New(tag)
	slices.SortStableFunc(codes, func(a, b string) int {
		if (a == "other") != (b == "other") {
			if a == "other" {
				return 1
			}
			return -1
		}
		return col.CompareString(locale.T(uiLang, "site."+a), locale.T(uiLang, "site."+b))
	})
	return codes
}
