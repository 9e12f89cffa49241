package ui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
	"dermal/internal/locale"
)

// examForm is what the clinician finds beside the photo: how it was taken, the dermoscopic
// 7-point checklist, the clinical weighted 7-point checklist, ABCDE and the diameter. Every
// change calls onChange, so the tier on screen follows the findings before anything is saved.
//
// The photo type starts unchosen for every photo (reset) and is never carried over from an
// earlier photo, patient or user: a dermoscopic photo must not become "cannot assess" through a
// choice nobody made for it. Save refuses until it is chosen.
type examForm struct {
	lang      string
	measure   *widget.Button // opens the ruler (the assessment screen sets what it does)
	photoType *widget.RadioGroup
	typeHint  *widget.Label // "choose how this photo was taken", while it is not chosen
	// The dermoscopic checklist: its own tick ("record it"), criteria, score and invitation;
	// hidden for a plain photo.
	dermoscopy      *widget.Check
	criteria        []*widget.Check
	dermoscopyScore *widget.Label
	dermoscopyHint  *widget.Label
	dermoscopyBox   *fyne.Container
	diameter        *formEntry
	checklist       *widget.Check // "record the 7-point checklist": unticked is "not done"
	items           []*widget.Check
	score           *widget.Label
	signs           []*widget.Check
	box             *fyne.Container
	onChange        func()
}

func newExamForm(uiLang string, onChange func()) *examForm {
	f := &examForm{lang: uiLang, onChange: onChange}
	var types []string
	for _, t := range clinic.PhotoTypes {
		types = append(types, locale.T(uiLang, "photo_type.short."+string(t)))
	}
	f.photoType = widget.NewRadioGroup(types, nil)
	f.photoType.Horizontal = true
	f.typeHint = widget.NewLabel(lang.L("Choose how this photo was taken: the result depends on it."))
	f.typeHint.Wrapping = fyne.TextWrapWord
	f.typeHint.Importance = widget.WarningImportance
	f.typeHint.TextStyle.Bold = true
	f.buildDermoscopy(uiLang)
	f.diameter = newFormEntry(false, nil) // the assessment screen sets Save and the window's keys
	f.diameter.SetPlaceHolder("mm")
	f.diameter.Validator = func(s string) error {
		_, err := f.diameterMM()
		return err
	}
	f.diameter.OnChanged = func(string) { f.changed() }
	grid := container.NewVBox() // one column: the items' wording is long, and the pane can be narrow
	for _, it := range clinic.SevenPointItems {
		c := widget.NewCheck(fmt.Sprintf("%s (%d)", locale.T(uiLang, "seven_point."+string(it)), it.Weight()), func(bool) { f.changed() })
		c.Disable()
		f.items = append(f.items, c)
		grid.Add(c)
	}
	f.score = widget.NewLabel("")
	f.score.TextStyle.Bold = true
	f.checklist = widget.NewCheck(lang.L("Record the 7-point checklist"), func(on bool) {
		enableAll(f.items, on)
		f.changed()
	})
	abcde := container.NewGridWithColumns(2)
	for _, sg := range clinic.ABCDESigns {
		c := widget.NewCheck(locale.T(uiLang, "abcde."+string(sg)), func(bool) { f.changed() })
		f.signs = append(f.signs, c)
		abcde.Add(c)
	}
	f.measure = widget.NewButton(lang.L("Measure on the photo…"), nil)
	f.measure.Disable()
	form := widget.NewForm(
		widget.NewFormItem(lang.L("Photo type"), f.photoType),
		widget.NewFormItem(lang.L("Diameter (mm)"), container.NewBorder(nil, nil, nil, f.measure, f.diameter)),
	)
	f.box = container.NewVBox(form, f.typeHint, f.dermoscopyBox,
		container.NewBorder(nil, nil, f.checklist, f.score), grid,
		widget.NewLabelWithStyle(lang.L("ABCDE"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), abcde)
	f.photoType.OnChanged = func(string) { f.changed() }
	f.changed()
	return f
}

// buildDermoscopy makes the dermoscopic checklist: each criterion with its drawing, its points
// and a line saying what it looks like, then the live score.
func (f *examForm) buildDermoscopy(uiLang string) {
	rows := container.NewVBox()
	for _, c := range clinic.DermoscopyItems {
		check := widget.NewCheck(fmt.Sprintf("%s (%d)", locale.T(uiLang, "dermoscopy."+string(c)), c.Weight()), func(bool) { f.changed() })
		check.Disable()
		f.criteria = append(f.criteria, check)
		pic := canvas.NewImageFromImage(criterionDrawing(c))
		pic.FillMode = canvas.ImageFillContain
		pic.SetMinSize(fyne.NewSize(64, 48))
		help := widget.NewLabel(locale.T(uiLang, "dermoscopy.help."+string(c)))
		help.Wrapping = fyne.TextWrapWord
		help.SizeName = theme.SizeNameCaptionText
		rows.Add(container.NewBorder(nil, nil, container.NewCenter(pic), nil, container.NewVBox(check, help)))
	}
	f.dermoscopyScore = widget.NewLabel("")
	f.dermoscopyScore.TextStyle.Bold = true
	f.dermoscopyScore.Wrapping = fyne.TextWrapWord
	f.dermoscopyHint = widget.NewLabel(lang.L("dermoscopy.invite"))
	f.dermoscopyHint.Wrapping = fyne.TextWrapWord
	f.dermoscopyHint.Importance = widget.WarningImportance
	f.dermoscopy = widget.NewCheck(lang.L("Record the dermoscopic 7-point checklist"), func(on bool) {
		enableAll(f.criteria, on)
		f.changed()
	})
	head := widget.NewLabelWithStyle(lang.L("Dermoscopic 7-point checklist"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	f.dermoscopyBox = container.NewVBox(head, f.dermoscopyHint, f.dermoscopy, f.dermoscopyScore, rows, widget.NewSeparator())
}

// reset starts the form afresh for a new photo: no photo type chosen, nothing ticked.
func (f *examForm) reset() {
	f.photoType.Selected = ""
	f.photoType.Refresh()
	f.dermoscopy.SetChecked(false)
	for _, c := range f.criteria {
		c.SetChecked(false)
	}
	f.changed()
}

func (f *examForm) changed() {
	pt := f.selectedPhotoType()
	if pt == "" {
		f.typeHint.Show()
	} else {
		f.typeHint.Hide()
	}
	if pt == clinic.Plain {
		f.dermoscopyBox.Hide()
	} else {
		f.dermoscopyBox.Show()
	}
	if d := f.dermoscopyChecklist(); d != nil {
		verdict := lang.L("below the referral score")
		if d.Refer() {
			verdict = lang.L("refer urgently")
		}
		f.dermoscopyScore.SetText(fmt.Sprintf("%s %d / 10 — %s", lang.L("Score"), d.Score, verdict))
		f.dermoscopyScore.Show()
		f.dermoscopyHint.Hide()
	} else {
		f.dermoscopyScore.Hide()
		f.dermoscopyHint.Show()
	}
	if sp := f.sevenPoint(); sp != nil {
		verdict := lang.L("below the referral score")
		if sp.Refer() {
			verdict = lang.L("refer")
		}
		f.score.SetText(fmt.Sprintf("%s %d / 10 — %s", lang.L("Score"), sp.Score, verdict))
	} else {
		f.score.SetText("")
	}
	if f.onChange != nil {
		f.onChange()
	}
}

// setPhotoType selects a photo type: the clinician's choice (tests tap through this too).
func (f *examForm) setPhotoType(t clinic.PhotoType) {
	for i, pt := range clinic.PhotoTypes {
		if pt == t {
			f.photoType.SetSelected(f.photoType.Options[i])
		}
	}
}

// selectedPhotoType is the type chosen for this photo, "" while none is.
func (f *examForm) selectedPhotoType() clinic.PhotoType {
	for i, o := range f.photoType.Options {
		if o == f.photoType.Selected {
			return clinic.PhotoTypes[i]
		}
	}
	return ""
}

// dermoscopyChecklist is the dermoscopic checklist as ticked (nil: not done, or a plain photo,
// where it does not apply).
func (f *examForm) dermoscopyChecklist() *clinic.Dermoscopy {
	if !f.dermoscopy.Checked || f.selectedPhotoType() == clinic.Plain {
		return nil
	}
	d, _ := clinic.NewDermoscopy(ticked(f.criteria, clinic.DermoscopyItems)) // the checklist's own criteria
	return d
}

func (f *examForm) sevenPoint() *clinic.SevenPoint {
	if !f.checklist.Checked {
		return nil
	}
	sp, _ := clinic.NewSevenPoint(ticked(f.items, clinic.SevenPointItems)) // the checklist's own items
	return sp
}

// ticked is the items whose boxes are ticked (boxes[i] is items[i]'s).
func ticked[T any](boxes []*widget.Check, items []T) []T {
	var out []T
	for i, c := range boxes {
		if c.Checked {
			out = append(out, items[i])
		}
	}
	return out
}

// enableAll enables or disables every box (a checklist's items follow its "record" tick).
func enableAll(boxes []*widget.Check, on bool) {
	for _, c := range boxes {
		if on {
			c.Enable()
		} else {
			c.Disable()
		}
	}
}

// diameterMM reads the diameter; empty is "not measured". A comma works as the decimal mark
// (Vietnamese writes 7,5).
func (f *examForm) diameterMM() (*float64, error) {
	s := strings.ReplaceAll(strings.TrimSpace(f.diameter.Text), ",", ".")
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0 && v <= 500) {
		return nil, fmt.Errorf("%s: %q", lang.L("the diameter is not a number of millimetres between 0 and 500"), f.diameter.Text)
	}
	return &v, nil
}

// examination is the form as an examination; an invalid diameter is an error naming it, and so
// is a photo type not chosen (the examination then reads as dermoscopic, what the model sees,
// so that the screen can show the model's tier meanwhile).
func (f *examForm) examination() (clinic.Examination, error) {
	e := clinic.Examination{PhotoType: f.selectedPhotoType(), SevenPoint: f.sevenPoint(), Dermoscopy: f.dermoscopyChecklist()}
	var err error
	e.DiameterMM, err = f.diameterMM()
	if e.PhotoType == "" {
		e.PhotoType = clinic.Dermoscopic
		if err == nil {
			err = errors.New(lang.L("choose the photo type of this photo (dermoscopic or plain)"))
		}
	}
	for i, c := range f.signs {
		if c.Checked {
			e.ABCDE = append(e.ABCDE, clinic.ABCDESigns[i])
		}
	}
	return e, err
}

// touched reports whether anything beyond the defaults was entered (an unsaved draft).
func (f *examForm) touched() bool {
	if f.checklist.Checked || f.dermoscopy.Checked || f.diameter.Text != "" || f.photoType.Selected != "" {
		return true
	}
	for _, c := range f.signs {
		if c.Checked {
			return true
		}
	}
	return false
}

// examSummary prints a stored examination for the detail screen.
func examSummary(uiLang string, a clinic.Assessment) string {
	pt := a.PhotoType
	if pt == "" {
		pt = string(clinic.Dermoscopic)
	}
	lines := []string{lang.L("Photo type") + ": " + locale.T(uiLang, "photo_type."+pt)}
	if a.DiameterMM != nil {
		lines = append(lines, lang.L("Diameter (mm)")+": "+locale.Decimal(uiLang, *a.DiameterMM, 1))
	}
	if s := clinic.DermoscopyText(uiLang, a.Dermoscopy); s != "" {
		lines = append(lines, lang.L("Dermoscopic 7-point checklist")+": "+s)
	}
	if s := clinic.SevenPointText(uiLang, a.SevenPoint); s != "" {
		lines = append(lines, lang.L("7-point checklist")+": "+s)
	}
	if s := clinic.ABCDEText(uiLang, a.ABCDE); s != "" {
		lines = append(lines, lang.L("ABCDE")+": "+s)
	}
	return strings.Join(lines, "\n")
}
