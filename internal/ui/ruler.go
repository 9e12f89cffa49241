package ui

import (
	"fmt"
	"image"
	"image/color"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"
	"github.com/disintegration/imaging"

	"dermal/internal/clinic"

	"dermal/internal/locale"
)

// tapImage shows a picture (aspect kept) and reports taps in the picture's own pixels; it
// draws the points given to it.
type tapImage struct {
	widget.BaseWidget
	pic    image.Image
	img    *canvas.Image
	marks  []*canvas.Circle
	lines  []*canvas.Line
	points []image.Point
	onTap  func(image.Point)
}

func newTapImage(pic image.Image, onTap func(image.Point)) *tapImage {
	t := &tapImage{pic: pic, img: canvas.NewImageFromImage(pic), onTap: onTap}
	t.img.FillMode = canvas.ImageFillStretch
	t.ExtendBaseWidget(t)
	return t
}

func (t *tapImage) box(size fyne.Size) (fyne.Position, fyne.Size) {
	b := t.pic.Bounds()
	aspect := float32(b.Dx()) / float32(b.Dy())
	w, h := size.Width, size.Width/aspect
	if h > size.Height {
		h, w = size.Height, size.Height*aspect
	}
	return fyne.NewPos((size.Width-w)/2, (size.Height-h)/2), fyne.NewSize(w, h)
}

func (t *tapImage) Tapped(e *fyne.PointEvent) {
	pos, sz := t.box(t.Size())
	b := t.pic.Bounds()
	x := (e.Position.X - pos.X) / sz.Width * float32(b.Dx())
	y := (e.Position.Y - pos.Y) / sz.Height * float32(b.Dy())
	if x < 0 || y < 0 || x >= float32(b.Dx()) || y >= float32(b.Dy()) {
		return
	}
	t.onTap(image.Pt(int(x), int(y)))
}

// show draws the points; consecutive pairs are joined (ruler, then lesion).
func (t *tapImage) show(points []image.Point) {
	t.points = points
	t.marks, t.lines = nil, nil
	colours := []color.NRGBA{{R: 255, G: 200, B: 0, A: 255}, {R: 0, G: 200, B: 255, A: 255}}
	for i := range points {
		c := canvas.NewCircle(colours[(i/2)%2])
		t.marks = append(t.marks, c)
		if i%2 == 1 {
			l := canvas.NewLine(colours[(i/2)%2])
			l.StrokeWidth = 2
			t.lines = append(t.lines, l)
		}
	}
	t.Refresh()
}

func (t *tapImage) MinSize() fyne.Size { return fyne.NewSize(320, 240) }

func (t *tapImage) CreateRenderer() fyne.WidgetRenderer { return &tapImageRenderer{t} }

type tapImageRenderer struct{ t *tapImage }

func (r *tapImageRenderer) Layout(size fyne.Size) {
	t := r.t
	pos, sz := t.box(size)
	t.img.Move(pos)
	t.img.Resize(sz)
	b := t.pic.Bounds()
	at := func(p image.Point) fyne.Position {
		return fyne.NewPos(pos.X+(float32(p.X)+0.5)/float32(b.Dx())*sz.Width, pos.Y+(float32(p.Y)+0.5)/float32(b.Dy())*sz.Height)
	}
	for i, c := range t.marks {
		p := at(t.points[i])
		c.Move(fyne.NewPos(p.X-4, p.Y-4))
		c.Resize(fyne.NewSize(8, 8))
	}
	for i, l := range t.lines {
		l.Position1, l.Position2 = at(t.points[2*i]), at(t.points[2*i+1])
	}
}

func (r *tapImageRenderer) MinSize() fyne.Size { return r.t.MinSize() }
func (r *tapImageRenderer) Refresh() {
	r.Layout(r.t.Size())
	for _, o := range r.Objects() {
		o.Refresh()
	}
}
func (r *tapImageRenderer) Objects() []fyne.CanvasObject {
	objs := []fyne.CanvasObject{r.t.img}
	for _, l := range r.t.lines {
		objs = append(objs, l)
	}
	for _, c := range r.t.marks {
		objs = append(objs, c)
	}
	return objs
}
func (r *tapImageRenderer) Destroy() {}

// rulerDialog measures the lesion's longest diameter with two clicks on the photo. The scale
// is the dermatoscope's field of view (a setting: the photo's width in mm), or two clicks on
// a ruler in the photo and their distance in mm.
type rulerDialog struct {
	a       *assessScreen
	view    *tapImage
	shrink  float64 // photo pixels per shown pixel
	mode    *widget.RadioGroup
	fov     *widget.Entry
	rulerMM *widget.Entry
	points  []image.Point // in photo pixels
	help    *widget.Label
	result  *widget.Label
	mm      *float64
	dialog  dialog.Dialog
}

func (a *assessScreen) measureDialog() *rulerDialog {
	u := a.u
	r := &rulerDialog{a: a}
	shown := imaging.Fit(a.photo.Image, 900, 900, imaging.Lanczos)
	r.shrink = float64(a.photo.Image.Bounds().Dx()) / float64(shown.Bounds().Dx())
	r.view = newTapImage(shown, r.tapped)
	modes := []string{lang.L("Dermatoscope field of view"), lang.L("A ruler in the photo")}
	r.mode = widget.NewRadioGroup(modes, func(string) { r.reset() })
	r.mode.Horizontal = true
	r.mode.Required = true
	r.fov = widget.NewEntry()
	r.fov.SetText(strconv.FormatFloat(u.prefs.FieldOfViewMM(), 'f', -1, 64))
	r.fov.OnChanged = func(string) { r.compute() }
	r.rulerMM = widget.NewEntry()
	r.rulerMM.SetText("10")
	r.rulerMM.OnChanged = func(string) { r.compute() }
	r.help = widget.NewLabel("")
	r.help.Wrapping = fyne.TextWrapWord
	r.result = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	reset := widget.NewButton(lang.L("Start again"), r.reset)
	form := widget.NewForm(
		widget.NewFormItem(lang.L("Scale"), r.mode),
		widget.NewFormItem(lang.L("Field of view (mm across the photo)"), r.fov),
		widget.NewFormItem(lang.L("Ruler distance (mm)"), r.rulerMM),
	)
	body := container.NewBorder(container.NewVBox(form, r.help), container.NewBorder(nil, nil, nil, reset, r.result), nil, nil, r.view)
	r.dialog = dialog.NewCustomConfirm(lang.L("Measure the diameter"), lang.L("Use this diameter"), lang.L("Cancel"), body, func(ok bool) {
		if ok && r.mm != nil {
			a.exam.diameter.SetText(strconv.FormatFloat(*r.mm, 'f', 1, 64))
			if v, err := strconv.ParseFloat(strings.ReplaceAll(r.fov.Text, ",", "."), 64); err == nil && r.mode.Selected == modes[0] {
				u.prefs.SetFieldOfViewMM(v)
			}
		}
	}, u.win)
	r.mode.SetSelected(modes[0])
	r.dialog.Resize(u.dialogSize(900, 700))
	r.dialog.Show()
	return r
}

func (r *rulerDialog) usesRuler() bool { return r.mode.Selected == r.mode.Options[1] }

func (r *rulerDialog) needed() int {
	if r.usesRuler() {
		return 4
	}
	return 2
}

func (r *rulerDialog) reset() {
	r.points = nil
	r.view.show(nil)
	r.compute()
}

// tapped adds a point (in photo pixels); once all are placed, a further tap starts again.
func (r *rulerDialog) tapped(p image.Point) {
	if len(r.points) >= r.needed() {
		r.points = nil
	}
	full := image.Pt(int(float64(p.X)*r.shrink), int(float64(p.Y)*r.shrink))
	r.points = append(r.points, full)
	var shown []image.Point
	for _, q := range r.points {
		shown = append(shown, image.Pt(int(float64(q.X)/r.shrink), int(float64(q.Y)/r.shrink)))
	}
	r.view.show(shown)
	r.compute()
}

func (r *rulerDialog) compute() {
	r.mm = nil
	n := len(r.points)
	switch {
	case r.usesRuler() && n < 2:
		r.help.SetText(lang.L("Click two marks on the ruler, then the two ends of the lesion's longest diameter."))
	case n < r.needed():
		r.help.SetText(lang.L("Click the two ends of the lesion's longest diameter."))
	default:
		r.help.SetText(lang.L("Click again to start over."))
	}
	if n < r.needed() {
		r.result.SetText("")
		return
	}
	num := func(e *widget.Entry) float64 {
		v, _ := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(e.Text), ",", "."), 64)
		return v
	}
	var scale clinic.Scale
	var err error
	if r.usesRuler() {
		scale, err = clinic.ScaleFromRuler(r.points[0], r.points[1], num(r.rulerMM))
	} else {
		scale, err = clinic.ScaleFromFieldOfView(num(r.fov), r.a.photo.Image.Bounds().Dx())
	}
	if err != nil {
		r.result.SetText(err.Error())
		return
	}
	mm := scale.Length(r.points[n-2], r.points[n-1])
	r.mm = &mm
	r.result.SetText(fmt.Sprintf("%s: %s mm", lang.L("Diameter"), locale.Decimal(r.a.u.lang, mm, 1)))
}
