package ui

import (
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/clinic"
	"dermal/internal/locale"
)

// examForm is what the clinician finds beside the photo: how it was taken, the weighted
// 7-point checklist, ABCDE and the diameter. Every change calls onChange, so the tier on
// screen follows the findings before anything is saved.
type examForm struct {
	lang      string
	measure   *widget.Button // opens the ruler (the assessment screen sets what it does)
	photoType *widget.RadioGroup
	diameter  *widget.Entry
	checklist *widget.Check // "record the 7-point checklist": unticked is "not done"
	items     []*widget.Check
	score     *widget.Label
	signs     []*widget.Check
	box       *fyne.Container
	onChange  func()
}

func newExamForm(uiLang string, onChange func()) *examForm {
	f := &examForm{lang: uiLang, onChange: onChange}
	var types []string
	for _, t := range clinic.PhotoTypes {
		types = append(types, locale.T(uiLang, "photo_type.short."+string(t)))
	}
	f.photoType = widget.NewRadioGroup(types, nil)
	f.photoType.Required = true
	f.photoType.SetSelected(types[0])
	f.diameter = widget.NewEntry()
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
		for _, c := range f.items {
			if on {
				c.Enable()
			} else {
				c.Disable()
			}
		}
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
	f.box = container.NewVBox(form,
		container.NewBorder(nil, nil, f.checklist, f.score), grid,
		widget.NewLabelWithStyle(lang.L("ABCDE"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), abcde)
	f.photoType.OnChanged = func(string) { f.changed() }
	f.changed()
	return f
}

func (f *examForm) changed() {
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

// setPhotoType selects a photo type (the one remembered for the photo's source).
func (f *examForm) setPhotoType(t clinic.PhotoType) {
	for i, pt := range clinic.PhotoTypes {
		if pt == t {
			f.photoType.SetSelected(f.photoType.Options[i])
		}
	}
}

func (f *examForm) selectedPhotoType() clinic.PhotoType {
	for i, o := range f.photoType.Options {
		if o == f.photoType.Selected {
			return clinic.PhotoTypes[i]
		}
	}
	return clinic.Dermoscopic
}

func (f *examForm) sevenPoint() *clinic.SevenPoint {
	if !f.checklist.Checked {
		return nil
	}
	var items []clinic.CheckItem
	for i, c := range f.items {
		if c.Checked {
			items = append(items, clinic.SevenPointItems[i])
		}
	}
	sp, _ := clinic.NewSevenPoint(items) // the items are the checklist's own
	return sp
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

// examination is the form as an examination; an invalid diameter is an error naming it.
func (f *examForm) examination() (clinic.Examination, error) {
	e := clinic.Examination{PhotoType: f.selectedPhotoType(), SevenPoint: f.sevenPoint()}
	var err error
	e.DiameterMM, err = f.diameterMM()
	for i, c := range f.signs {
		if c.Checked {
			e.ABCDE = append(e.ABCDE, clinic.ABCDESigns[i])
		}
	}
	return e, err
}

// touched reports whether anything beyond the defaults was entered (an unsaved draft).
func (f *examForm) touched() bool {
	if f.checklist.Checked || f.diameter.Text != "" {
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
		lines = append(lines, fmt.Sprintf("%s: %.1f", lang.L("Diameter (mm)"), *a.DiameterMM))
	}
	if s := clinic.SevenPointText(uiLang, a.SevenPoint); s != "" {
		lines = append(lines, lang.L("7-point checklist")+": "+s)
	}
	if s := clinic.ABCDEText(uiLang, a.ABCDE); s != "" {
		lines = append(lines, lang.L("ABCDE")+": "+s)
	}
	return strings.Join(lines, "\n")
}
