package ui

import (
	"image"
	"image/color"
	"math"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"

	"dermal/internal/bodymap"
	"dermal/internal/clinic"
)

// outlinePixels is the width the outline picture is drawn at (scaled on screen).
const outlinePixels = 300

// dotRadius is a lesion dot's radius on screen; a tap within dotRadius+4 hits it.
const dotRadius = 7

// outlineImage is the figure, drawn the first time a body map is shown: drawn at start, its
// 0.9 MB stayed in the heap of a window that showed no body map, and every command of the
// command line (which links this package) paid for drawing it.
var outlineImage = sync.OnceValue(func() *image.NRGBA { return bodymap.Outline(outlinePixels) })

// mapDot is a lesion on the map.
type mapDot struct {
	point  clinic.BodyPoint
	lesion clinic.LesionID
	colour color.Color
	circle *canvas.Circle
}

// bodyMap is one outline (front or back) with lesion dots. A tap on a dot calls onDot; a
// tap elsewhere on the body calls onPlace with the point (placing a new lesion).
type bodyMap struct {
	widget.BaseWidget
	view    clinic.BodyPoint // only View is used
	title   *canvas.Text
	outline *canvas.Image
	dots    []*mapDot
	marker  *canvas.Circle // the new lesion being placed, hidden until a tap
	placed  *clinic.BodyPoint
	onPlace func(clinic.BodyPoint)
	onDot   func(clinic.LesionID)
	// width is the figure's least width (0: smallMapWidth): the patient screen shows it
	// larger than the assessment's form does.
	width float32
}

// The figures' least widths: beside the assessment's form, and on the patient screen, where
// 110 px made a figure about 70 px wide at 1366×768 (the clinic's day, item 13).
const (
	smallMapWidth   = 110
	patientMapWidth = 170
)

func newBodyMap(view bodymap.View, title string) *bodyMap {
	m := &bodyMap{view: clinic.BodyPoint{View: view}}
	m.outline = canvas.NewImageFromImage(outlineImage())
	m.outline.FillMode = canvas.ImageFillStretch
	m.outline.ScaleMode = canvas.ImageScaleSmooth
	m.title = canvas.NewText(title, color.NRGBA{R: 90, G: 90, B: 90, A: 255})
	m.title.TextSize = 12
	m.title.Alignment = fyne.TextAlignCenter
	m.marker = canvas.NewCircle(color.NRGBA{R: 20, G: 110, B: 220, A: 200})
	m.marker.StrokeColor = color.White
	m.marker.StrokeWidth = 2
	m.marker.Hide()
	m.ExtendBaseWidget(m)
	return m
}

// addDot shows a lesion in its latest tier's colour.
func (m *bodyMap) addDot(p clinic.BodyPoint, lesion clinic.LesionID, tier string) {
	colour := color.Color(color.NRGBA{R: 130, G: 130, B: 140, A: 255}) // no tier: the lesion is only shown
	if tier != "" {
		colour = tierColor(tier)
	}
	c := canvas.NewCircle(colour)
	c.StrokeColor = color.White
	c.StrokeWidth = 1.5
	m.dots = append(m.dots, &mapDot{point: p, lesion: lesion, colour: colour, circle: c})
	m.Refresh()
}

// place shows the marker of a new lesion at p (nil hides it).
func (m *bodyMap) place(p *clinic.BodyPoint) {
	m.placed = p
	if p == nil {
		m.marker.Hide()
	} else {
		m.marker.Show()
	}
	m.Refresh()
}

// box is where the outline is drawn inside the widget: as large as fits, aspect kept, under
// the title.
func (m *bodyMap) box(size fyne.Size) (pos fyne.Position, sz fyne.Size) {
	top := m.title.MinSize().Height + 2
	h := max(0, size.Height-top) // never negative: a painter cannot draw a negative size
	w := h * bodymap.Aspect
	if w > size.Width {
		w = size.Width
		h = w / bodymap.Aspect
	}
	return fyne.NewPos((size.Width-w)/2, top), fyne.NewSize(w, h)
}

// Tapped places a lesion or opens the one under the tap.
func (m *bodyMap) Tapped(e *fyne.PointEvent) {
	pos, sz := m.box(m.Size())
	x, y := float64((e.Position.X-pos.X)/sz.Width), float64((e.Position.Y-pos.Y)/sz.Height)
	for _, d := range m.dots {
		dx := (d.point.X - x) * float64(sz.Width)
		dy := (d.point.Y - y) * float64(sz.Height)
		if math.Hypot(dx, dy) <= dotRadius+4 {
			if m.onDot != nil {
				m.onDot(d.lesion)
			}
			return
		}
	}
	p := clinic.BodyPoint{View: m.view.View, X: x, Y: y}
	if _, err := p.Place(); err != nil || m.onPlace == nil {
		return // off the outline, or a map that only shows
	}
	m.place(&p)
	m.onPlace(p)
}

// tapAt taps the map at a point of the outline's box (tests).
func (m *bodyMap) tapAt(x, y float64) {
	pos, sz := m.box(m.Size())
	m.Tapped(&fyne.PointEvent{Position: fyne.NewPos(pos.X+float32(x)*sz.Width, pos.Y+float32(y)*sz.Height)})
}

func (m *bodyMap) MinSize() fyne.Size {
	w := m.width
	if w == 0 {
		w = smallMapWidth
	}
	return fyne.NewSize(w, w/bodymap.Aspect+m.title.MinSize().Height)
}

func (m *bodyMap) CreateRenderer() fyne.WidgetRenderer { return &bodyMapRenderer{m: m} }

type bodyMapRenderer struct{ m *bodyMap }

func (r *bodyMapRenderer) Layout(size fyne.Size) {
	m := r.m
	pos, sz := m.box(size)
	m.title.Move(fyne.NewPos(0, 0))
	m.title.Resize(fyne.NewSize(size.Width, m.title.MinSize().Height))
	m.outline.Move(pos)
	m.outline.Resize(sz)
	at := func(c *canvas.Circle, p clinic.BodyPoint, radius float32) {
		c.Move(fyne.NewPos(pos.X+float32(p.X)*sz.Width-radius, pos.Y+float32(p.Y)*sz.Height-radius))
		c.Resize(fyne.NewSize(2*radius, 2*radius))
	}
	for _, d := range m.dots {
		at(d.circle, d.point, dotRadius)
	}
	if m.placed != nil {
		at(m.marker, *m.placed, dotRadius+1)
	}
}

func (r *bodyMapRenderer) MinSize() fyne.Size { return r.m.MinSize() }

func (r *bodyMapRenderer) Refresh() {
	r.Layout(r.m.Size())
	for _, o := range r.Objects() {
		o.Refresh()
	}
}

func (r *bodyMapRenderer) Objects() []fyne.CanvasObject {
	objs := []fyne.CanvasObject{r.m.outline, r.m.title}
	for _, d := range r.m.dots {
		objs = append(objs, d.circle)
	}
	return append(objs, r.m.marker)
}

func (r *bodyMapRenderer) Destroy() {}
