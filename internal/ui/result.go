package ui

import (
	"dermal/internal/clinic"
	"dermal/internal/locale"
	"image"
	"image/color"
	"slices"
	"sort"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"
	"github.com/disintegration/imaging"
)

// displaySide is the long side photos are scaled to for the screen: sharp on a laptop, and the
// overlay blend stays a few milliseconds when the opacity slider moves.
const displaySide = 900

// photoView shows a photo, or the photo with its Grad-CAM overlay.
type photoView struct {
	img   *canvas.Image
	base  image.Image // display-sized; after analysis, the 4:3 region the model saw
	heat  *clinic.Heatmap
	shown image.Image // what is on screen (tests look at it)
}

func newPhotoView(minW, minH float32) *photoView {
	v := &photoView{img: canvas.NewImageFromImage(nil)}
	v.img.FillMode = canvas.ImageFillContain
	v.img.ScaleMode = canvas.ImageScaleSmooth
	v.img.SetMinSize(fyne.NewSize(minW, minH))
	return v
}

// shownPhoto is a photo made ready for the screen: scaled to displaySide and, once analysed,
// cropped to the 4:3 region the model saw, with its Grad-CAM map. Preparing it resamples up to
// a 1600 px photo, so it is done off the UI thread (preparePhoto) and only handed over there.
type shownPhoto struct {
	base image.Image
	heat *clinic.Heatmap
}

// preparePhoto runs in background goroutines; an is nil for a photo not (or not re-) analysed.
func preparePhoto(img image.Image, an *clinic.ModelResult) shownPhoto {
	fit := imaging.Fit(img, displaySide, displaySide, imaging.Lanczos)
	if an == nil {
		return shownPhoto{base: fit}
	}
	// The map shows the class the model-driven headline names (melanoma under an urgent
	// result, not the more probable nevus).
	heat, _ := an.GradCAM(clinic.Decide(an, clinic.Examination{}).MapClass(an))
	return shownPhoto{base: heat.Overlay(fit, 0), heat: heat}
}

// set shows a prepared photo, without overlay until the result panel asks for one.
func (v *photoView) set(p shownPhoto) {
	v.base, v.heat = p.base, p.heat
	v.draw(false, 0)
}

func (v *photoView) draw(overlay bool, opacity float64) {
	if v.base == nil {
		return
	}
	v.shown = v.base
	if overlay && v.heat != nil {
		v.shown = v.heat.Overlay(v.base, opacity)
	}
	v.img.Image = v.shown
	v.img.Refresh()
}

// resultPanel shows an analysis: tier, quality warnings, probability bars and the Grad-CAM
// controls for a photoView.
type resultPanel struct {
	u        *UI
	photo    *photoView
	tierBox  *canvas.Rectangle
	tier     *canvas.Text
	headline *widget.Label
	advice   *widget.Label
	// unvalidated says the model is not validated for a plain photo; legend what * means.
	unvalidated *widget.Label
	legend      *widget.Label
	warnings    *widget.Label
	bars        *fyne.Container
	gradcam     *widget.Check
	opacity     *widget.Slider
	note        *widget.Label
	box         *fyne.Container
}

func newResultPanel(u *UI, photo *photoView) *resultPanel {
	r := &resultPanel{u: u, photo: photo}
	r.tierBox = canvas.NewRectangle(color.Transparent)
	r.tierBox.CornerRadius = 4
	r.tier = canvas.NewText("", color.White)
	r.tier.TextStyle.Bold = true
	r.tier.TextSize = 18
	r.headline = widget.NewLabel("")
	r.headline.Wrapping = fyne.TextWrapWord
	r.headline.TextStyle.Bold = true
	r.advice = widget.NewLabel("")
	r.advice.Wrapping = fyne.TextWrapWord
	r.unvalidated = widget.NewLabel(locale.T(u.lang, "model.not_validated"))
	r.unvalidated.Wrapping = fyne.TextWrapWord
	r.unvalidated.Importance = widget.WarningImportance
	r.unvalidated.Hide()
	r.legend = widget.NewLabel(locale.T(u.lang, "malignant.legend"))
	r.legend.Wrapping = fyne.TextWrapWord
	r.legend.Importance = widget.LowImportance
	r.warnings = widget.NewLabel("")
	r.warnings.Wrapping = fyne.TextWrapWord
	r.warnings.Importance = widget.DangerImportance
	r.warnings.TextStyle.Bold = true
	r.bars = container.NewVBox()
	r.opacity = widget.NewSlider(0.1, 0.9)
	r.opacity.Step = 0.05
	r.opacity.Value = clinic.OverlayOpacity
	r.opacity.OnChanged = func(float64) { r.redraw() }
	r.gradcam = widget.NewCheck(lang.L("Show Grad-CAM (where the model looked)"), func(bool) { r.redraw() })
	r.note = widget.NewLabel("")
	r.note.Wrapping = fyne.TextWrapWord
	r.note.Importance = widget.WarningImportance
	controls := container.NewBorder(nil, nil, r.gradcam, nil, r.opacity)
	tier := container.NewStack(r.tierBox, container.NewPadded(r.tier))
	r.box = container.NewVBox(tier, r.headline, r.advice, r.warnings, r.unvalidated, r.bars, r.legend, controls, r.note)
	r.box.Hide()
	return r
}

func (r *resultPanel) redraw() {
	if r.gradcam.Checked {
		r.opacity.Enable()
	} else {
		r.opacity.Disable()
	}
	r.photo.draw(r.gradcam.Checked, r.opacity.Value)
}

// tierColor is the tier's colour (the tier owns it: the PDF uses the same).
func tierColor(t string) color.NRGBA { return clinic.Tier(t).Color() }

// decide shows the tier, the headline naming what drove it, and whether the model's output
// counts for this kind of photo (dermoscopyDone: the dermoscopic checklist was done, so the
// model is the second reader), and for a review why (reason, clinic.TierReason). It follows
// the examination form as it changes.
func (r *resultPanel) decide(tier, driver, headline, reason string, modelValidated, dermoscopyDone bool) {
	r.tierBox.FillColor = tierColor(tier)
	r.tierBox.Refresh()
	r.tier.Text = lang.L("tier." + tier)
	r.tier.Refresh()
	r.headline.SetText(headline)
	advice := lang.L(clinic.AdviceKey(clinic.Tier(tier), clinic.Driver(driver), dermoscopyDone))
	if reason != "" {
		// A review says why, in words to repeat to the patient (the clinic's day, item 6).
		advice += "\n\n" + reason
	}
	r.advice.SetText(advice)
	if modelValidated {
		r.unvalidated.Hide()
	} else {
		r.unvalidated.Show()
	}
}

// show fills the panel with the model's output (decide sets the tier). gradcamAllowed false
// (memory, or an older model) disables the overlay, and note says why.
func (r *resultPanel) show(probs map[string]float64, warnings []string, gradcamAllowed, gradcamOn bool, note string) {
	var ws string
	for _, w := range warnings {
		ws += lang.L("warning."+w) + "\n"
	}
	r.warnings.SetText(ws)
	if ws == "" {
		r.warnings.Hide()
	} else {
		r.warnings.Show()
	}
	card := r.u.clinic.Card()
	type row struct {
		code string
		p    float64
	}
	var rows []row
	for _, c := range card.Labels {
		rows = append(rows, row{c, probs[c]})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].p > rows[j].p })
	r.bars.Objects = nil
	for _, rw := range rows {
		bar := widget.NewProgressBar()
		bar.SetValue(rw.p)
		p := rw.p
		bar.TextFormatter = func() string { return locale.Decimal(r.u.lang, 100*p, 1) + " %" }
		name := lang.L(card.LabelNames[rw.code])
		if slices.Contains(card.Malignant, rw.code) {
			name += " *"
		}
		label := widget.NewLabel(name)
		// Wrapped, not cut: "Tổn thương dạng dày sừng lành …" hid what the class is (the
		// clinic's day, item 12).
		label.Wrapping = fyne.TextWrapWord
		r.bars.Add(container.NewGridWithColumns(2, label, bar))
	}
	r.bars.Refresh()
	if slices.Contains(warnings, clinic.WarnNotALesion) {
		// Class bars and a heatmap of something that is not a lesion would read as a
		// result: only the warning and the tier ("retake") stay.
		r.bars.Hide()
		r.legend.Hide()
		gradcamAllowed = false
	} else {
		r.bars.Show()
		r.legend.Show()
	}
	r.note.SetText(note)
	if note == "" {
		r.note.Hide()
	} else {
		r.note.Show()
	}
	r.gradcam.SetChecked(gradcamAllowed && gradcamOn)
	if gradcamAllowed {
		r.gradcam.Enable()
	} else {
		r.gradcam.Disable()
	}
	r.box.Show()
	r.redraw()
}
