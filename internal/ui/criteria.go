package ui

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"sync"

	"dermal/internal/clinic"
)

// The dermoscopic checklist's small drawings: one schematic picture per criterion, drawn here
// (no borrowed atlas images), so that a clinician new to dermoscopy sees what each name means.
// They are schematic, not photographs: each shows the one structure on a plain brown lesion.

const drawingW, drawingH = 96, 72

var (
	drawingsOnce sync.Once
	drawings     map[clinic.Criterion]image.Image
)

// criterionDrawing is the drawing of a dermoscopic criterion (nil for an unknown one).
func criterionDrawing(c clinic.Criterion) image.Image {
	drawingsOnce.Do(func() {
		drawings = map[clinic.Criterion]image.Image{}
		for _, c := range clinic.DermoscopyItems {
			drawings[c] = drawCriterion(c)
		}
	})
	return drawings[c]
}

var (
	skin      = color.NRGBA{236, 205, 180, 255}
	tan       = color.NRGBA{176, 120, 80, 255}
	darkBrown = color.NRGBA{78, 46, 30, 255}
	black     = color.NRGBA{30, 22, 20, 255}
	blueGrey  = color.NRGBA{96, 110, 140, 255}
	veilBlue  = color.NRGBA{118, 142, 186, 255}
	scarWhite = color.NRGBA{244, 240, 236, 255}
	vessel    = color.NRGBA{200, 40, 50, 255}
)

// sketch is a small canvas with the few strokes the drawings need.
type sketch struct{ img *image.NRGBA }

func (s sketch) blend(x, y int, c color.NRGBA, a float64) {
	if !(image.Point{x, y}.In(s.img.Rect)) || a <= 0 {
		return
	}
	a = min(a, 1) * float64(c.A) / 255
	o := s.img.NRGBAAt(x, y)
	mix := func(p, q uint8) uint8 { return uint8(float64(p)*(1-a) + float64(q)*a + 0.5) }
	s.img.SetNRGBA(x, y, color.NRGBA{mix(o.R, c.R), mix(o.G, c.G), mix(o.B, c.B), 255})
}

// ellipse fills an ellipse (soft edge of one pixel), wobbled by wobble at angle θ.
func (s sketch) ellipse(cx, cy, rx, ry float64, c color.NRGBA, a float64, wobble func(θ float64) float64) {
	for y := int(cy - ry - 3); y <= int(cy+ry+3); y++ {
		for x := int(cx - rx - 3); x <= int(cx+rx+3); x++ {
			dx, dy := (float64(x)-cx)/rx, (float64(y)-cy)/ry
			r := math.Hypot(dx, dy)
			edge := 1.0
			if wobble != nil {
				edge = wobble(math.Atan2(dy, dx))
			}
			s.blend(x, y, c, a*math.Min(1, (edge-r)*math.Min(rx, ry)+0.5))
		}
	}
}

func (s sketch) disc(cx, cy, r float64, c color.NRGBA) { s.ellipse(cx, cy, r, r, c, 1, nil) }

// line draws a stroke of width w.
func (s sketch) line(x0, y0, x1, y1, w float64, c color.NRGBA) {
	n := int(math.Hypot(x1-x0, y1-y0)*2) + 1
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		s.disc(x0+(x1-x0)*t, y0+(y1-y0)*t, w/2, c)
	}
}

func drawCriterion(c clinic.Criterion) image.Image {
	s := sketch{image.NewNRGBA(image.Rect(0, 0, drawingW, drawingH))}
	for i := range s.img.Pix {
		s.img.Pix[i] = []uint8{skin.R, skin.G, skin.B, skin.A}[i%4]
	}
	// A seeded generator per criterion: the same picture on every start and every machine.
	rng := rand.New(rand.NewPCG(uint64(len(c)), 7))
	const cx, cy, rx, ry = 48.0, 36.0, 38.0, 27.0
	lesion := func(wobble func(float64) float64) { s.ellipse(cx, cy, rx, ry, tan, 1, wobble) }
	irregular := func(θ float64) float64 { return 1 + 0.08*math.Sin(3*θ) + 0.05*math.Sin(7*θ+1) }
	inside := func(x, y float64) bool { return math.Hypot((x-cx)/rx, (y-cy)/ry) < 0.9 }
	switch c {
	case clinic.AtypicalNetwork:
		lesion(irregular)
		// A network whose lines thicken and whose holes vary, broken off on the right.
		for x := 14.0; x < 78; x += 8 + rng.Float64()*5 {
			s.line(x, 12, x+rng.Float64()*6-3, 60, 1+rng.Float64()*2.5, darkBrown)
		}
		for y := 14.0; y < 60; y += 7 + rng.Float64()*5 {
			s.line(12, y, 76, y+rng.Float64()*6-3, 1+rng.Float64()*2.5, darkBrown)
		}
		s.ellipse(88, 36, 10, 30, skin, 1, nil) // the network stops abruptly at the edge
		s.edgeMask(cx, cy, rx, ry, irregular)
	case clinic.BlueWhiteVeil:
		lesion(irregular)
		s.ellipse(54, 38, 20, 14, veilBlue, 1, func(θ float64) float64 { return 1 + 0.15*math.Sin(4*θ) })
		s.ellipse(54, 38, 18, 12, scarWhite, 0.45, nil)
	case clinic.AtypicalVessels:
		s.ellipse(cx, cy, rx, ry, color.NRGBA{226, 160, 150, 255}, 1, irregular)
		for i := 0; i < 5; i++ {
			x, y := 22+rng.Float64()*50, 18+rng.Float64()*36
			for j := 0; j < 6; j++ {
				nx, ny := x+rng.Float64()*10-5, y+rng.Float64()*10-5
				if inside(nx, ny) {
					s.line(x, y, nx, ny, 1.4, vessel)
					x, y = nx, ny
				}
			}
		}
		for i := 0; i < 10; i++ {
			if x, y := 20+rng.Float64()*56, 14+rng.Float64()*44; inside(x, y) {
				s.disc(x, y, 1.3, vessel)
			}
		}
	case clinic.IrregularStreaks:
		lesion(nil)
		// Streaks on one side only: irregular, not all round the edge.
		for θ := -0.9; θ < 0.9; θ += 0.22 + rng.Float64()*0.15 {
			x0, y0 := cx+rx*0.75*math.Cos(θ), cy+ry*0.75*math.Sin(θ)
			x1, y1 := cx+(rx+6)*math.Cos(θ), cy+(ry+6)*math.Sin(θ)
			s.line(x0, y0, x1, y1, 1.6, darkBrown)
			s.disc(x1, y1, 2, darkBrown)
		}
	case clinic.IrregularBlotches:
		lesion(irregular)
		s.ellipse(36, 30, 12, 8, black, 1, func(θ float64) float64 { return 1 + 0.25*math.Sin(3*θ+0.5) })
		s.ellipse(62, 46, 6, 5, black, 1, func(θ float64) float64 { return 1 + 0.2*math.Sin(5*θ) })
	case clinic.IrregularDots:
		lesion(irregular)
		for i := 0; i < 22; i++ {
			θ := rng.Float64() * 2 * math.Pi
			r := 0.45 + rng.Float64()*0.45
			if math.Cos(θ) < -0.2 && rng.Float64() < 0.7 {
				continue // crowded on one side: unevenly spread
			}
			s.disc(cx+rx*r*math.Cos(θ), cy+ry*r*math.Sin(θ), 0.8+rng.Float64()*2.2, black)
		}
	case clinic.Regression:
		lesion(irregular)
		s.ellipse(40, 36, 15, 11, scarWhite, 1, func(θ float64) float64 { return 1 + 0.2*math.Sin(3*θ) })
		for i := 0; i < 40; i++ {
			x, y := 28+rng.Float64()*30, 26+rng.Float64()*22
			if math.Hypot((x-40)/17, (y-36)/13) < 1.1 {
				s.disc(x, y, 0.7, blueGrey)
			}
		}
	}
	return s.img
}

// edgeMask paints skin outside the lesion's outline (the network is drawn across the box).
func (s sketch) edgeMask(cx, cy, rx, ry float64, wobble func(float64) float64) {
	b := s.img.Rect
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			dx, dy := (float64(x)-cx)/rx, (float64(y)-cy)/ry
			if math.Hypot(dx, dy) > wobble(math.Atan2(dy, dx)) {
				s.img.SetNRGBA(x, y, skin)
			}
		}
	}
}
