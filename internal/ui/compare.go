package ui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
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

// compareScreen shows two assessments of one lesion side by side, to follow change over time.
type compareScreen struct {
	u       *UI
	lesion  lesionHistory
	sides   [2]*compareSide
	overlay *widget.Check
	size    *widget.Label // the change in diameter between the two sides
	root    fyne.CanvasObject
}

type compareSide struct {
	pick    *widget.Select
	photo   *photoView
	tier    *canvas.Text
	summary *widget.Label
	shown   clinic.Assessment   // what the text shows
	photoOf clinic.AssessmentID // whose photo the picture shows
	loads   latest              // a re-pick supersedes the photo still being prepared
}

func (c *compareScreen) view() fyne.CanvasObject { return c.root }

func newCompareScreen(u *UI, p clinic.Patient, lh lesionHistory) *compareScreen {
	c := &compareScreen{u: u, lesion: lh}
	var dates []string
	for _, a := range lh.Assessments {
		dates = append(dates, fmt.Sprintf("%s (#%d)", locale.DateTime(u.lang, a.TakenAt.Local()), a.ID))
	}
	c.overlay = widget.NewCheck(lang.L("Show Grad-CAM on both"), func(on bool) {
		for _, s := range c.sides {
			s.photo.draw(on, clinic.OverlayOpacity)
		}
	})
	cols := container.NewGridWithColumns(2)
	for i := range c.sides {
		s := &compareSide{photo: newPhotoView(360, 270), summary: widget.NewLabel("")}
		s.summary.Wrapping = fyne.TextWrapWord
		s.tier = canvas.NewText("", tierColorDefault)
		s.tier.TextStyle.Bold = true
		s.tier.TextSize = 16
		s.pick = widget.NewSelect(dates, func(string) { c.load(s) })
		c.sides[i] = s
		cols.Add(container.NewBorder(s.pick, container.NewVBox(s.tier, s.summary), nil, nil, s.photo.img))
	}
	back := widget.NewButtonWithIcon(lang.L("Back to patient"), theme.NavigateBackIcon(), func() { u.openPatient(p.ID) })
	head := widget.NewLabelWithStyle(lang.L("Compare")+" — "+p.FullName+" — "+lesionTitle(lh.Lesion), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	c.size = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	c.root = container.NewBorder(container.NewVBox(container.NewBorder(nil, nil, back, nil, head), container.NewHBox(c.overlay, c.size)), nil, nil, nil, cols)
	// The first and the latest assessment, the usual question being "has it changed?".
	c.sides[0].pick.SetSelectedIndex(0)
	c.sides[1].pick.SetSelectedIndex(len(dates) - 1)
	return c
}

var tierColorDefault = tierColor("")

// load shows the chosen assessment on one side (photo and map recomputed in the background).
func (c *compareScreen) load(s *compareSide) {
	i := s.pick.SelectedIndex()
	if i < 0 {
		return
	}
	a := c.lesion.Assessments[i]
	s.shown = a
	s.tier.Text = lang.L("tier." + a.RiskTier)
	s.tier.Color = tierColor(a.RiskTier)
	s.tier.Refresh()
	s.summary.SetText(c.summary(a))
	c.showSizeChange()
	u := c.u
	type loaded struct {
		shown shownPhoto
		err   error
	}
	background(u, &s.loads, func() loaded {
		photo, an, err := u.clinic.Reanalyse(context.Background(), a)
		var shown shownPhoto
		if photo != nil {
			shown = preparePhoto(photo.Image, an)
		}
		return loaded{shown, err}
	}, func(l loaded) {
		if l.err != nil && !errors.Is(l.err, clinic.ErrOtherModel) {
			u.showError(lang.L("Could not show the photo."), l.err)
			return
		}
		s.photo.set(l.shown)
		s.photoOf = a.ID
		s.photo.draw(c.overlay.Checked, clinic.OverlayOpacity)
	})
}

// showSizeChange says how the diameter changed from the left assessment to the right one.
func (c *compareScreen) showSizeChange() {
	if c.size == nil || c.sides[0] == nil || c.sides[1] == nil {
		return
	}
	ch, ok := clinic.SizeChange(c.sides[0].shown, c.sides[1].shown)
	if !ok {
		// One visit measured is still worth showing: "not measured on both" hid visit 1's
		// 3.7 mm when only visit 2 went unmeasured (the clinic's day, item 7).
		var parts []string
		for _, side := range c.sides {
			a := side.shown
			day := locale.Date(c.u.lang, a.TakenAt.Local())
			if a.DiameterMM != nil {
				parts = append(parts, fmt.Sprintf(lang.L("%s mm on %s"), locale.Decimal(c.u.lang, *a.DiameterMM, 1), day))
			} else {
				parts = append(parts, fmt.Sprintf(lang.L("not measured on %s"), day))
			}
		}
		c.size.SetText(lang.L("Diameter") + ": " + strings.Join(parts, "; "))
		return
	}
	sign := "+"
	if ch.DeltaMM < 0 {
		sign = "−"
	}
	dec := func(x float64) string { return locale.Decimal(c.u.lang, x, 1) }
	c.size.SetText(fmt.Sprintf("%s: %s → %s mm (%s%s mm, %s%.0f%%)", lang.L("Diameter"), dec(ch.FromMM), dec(ch.ToMM), sign, dec(math.Abs(ch.DeltaMM)), sign, math.Abs(ch.Percent)))
}

// summary: the three most likely classes, the warnings and the clinician's diagnosis.
func (c *compareScreen) summary(a clinic.Assessment) string {
	card := c.u.clinic.Card()
	codes := append([]string(nil), card.Labels...)
	sort.SliceStable(codes, func(i, j int) bool { return a.Probabilities[codes[i]] > a.Probabilities[codes[j]] })
	s := ""
	for _, code := range codes[:3] {
		s += fmt.Sprintf("%s: %s %%\n", lang.L(card.LabelNames[code]), locale.Decimal(c.u.lang, 100*a.Probabilities[code], 1))
	}
	for _, w := range a.Warnings {
		s += "! " + lang.L("warning."+w) + "\n"
	}
	if a.DiameterMM != nil {
		s += fmt.Sprintf("%s: %s mm\n", lang.L("Diameter"), locale.Decimal(c.u.lang, *a.DiameterMM, 1))
	}
	if a.Diagnosis != "" {
		s += lang.L("Diagnosis") + ": " + a.Diagnosis + "\n"
	}
	if a.Notes != "" {
		s += lang.L("Notes") + ": " + a.Notes
	}
	return s
}
