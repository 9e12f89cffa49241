// Package bodymap is the front and back outline of a body on which lesions are placed: where
// a point (x, y in 0..1 of the outline's box) falls, which body site and side that is, and
// the outline itself as a picture. It knows geometry only; the window draws and the records
// store what it returns.
package bodymap

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// View is which side of the body the outline shows.
type View string

// Views.
const (
	Front View = "front"
	Back  View = "back"
)

// Side is the patient's side: their left is on the viewer's right in the front view.
type Side string

// Sides.
const (
	Left    Side = "left"
	Right   Side = "right"
	Midline Side = "midline"
)

// Aspect is the outline box's width over its height.
const Aspect = 0.5

// The outline is drawn in a 200 × 400 box; shapes below are in those units.
const boxW, boxH = 200.0, 400.0

type ellipse struct{ cx, cy, rx, ry float64 }

func (e ellipse) has(x, y float64) bool {
	dx, dy := (x-e.cx)/e.rx, (y-e.cy)/e.ry
	return dx*dx+dy*dy <= 1
}

type rect struct{ x0, y0, x1, y1 float64 }

func (r rect) has(x, y float64) bool { return x >= r.x0 && x <= r.x1 && y >= r.y0 && y <= r.y1 }

type shape interface{ has(x, y float64) bool }

// region is one part of the outline and the body site it is, in each view.
type region struct {
	shapes      []shape
	front, back string // body sites (storage.BodySites)
	mid         bool   // a midline part (head, neck, trunk): a side only off the middle
}

// regions in the order points are tested (small parts first).
var regions = []region{
	{shapes: []shape{ellipse{75, 42, 5, 9}, ellipse{125, 42, 5, 9}}, front: "ear", back: "ear"},
	{shapes: []shape{ellipse{100, 40, 24, 30}}, front: "face", back: "scalp", mid: true},
	{shapes: []shape{rect{89, 66, 111, 86}}, front: "neck", back: "neck", mid: true},
	{shapes: []shape{ellipse{49, 247, 12, 15}, ellipse{151, 247, 12, 15}}, front: "hand", back: "hand"},
	{shapes: []shape{rect{38, 92, 60, 232}, rect{140, 92, 162, 232}, ellipse{60, 98, 14, 12}, ellipse{140, 98, 14, 12}}, front: "upper extremity", back: "upper extremity"},
	{shapes: []shape{ellipse{82, 380, 17, 10}, ellipse{118, 380, 17, 10}}, front: "foot", back: "foot"},
	{shapes: []shape{rect{66, 234, 98, 370}, rect{102, 234, 134, 370}}, front: "lower extremity", back: "lower extremity"},
	{shapes: []shape{rect{90, 212, 110, 236}}, front: "genital", back: "trunk", mid: true},
	{shapes: []shape{rect{62, 86, 138, 150}}, front: "chest", back: "back", mid: true},
	{shapes: []shape{rect{62, 150, 138, 236}}, front: "abdomen", back: "back", mid: true},
}

// Place is where a point on the outline is: the body site and the patient's side.
type Place struct {
	Site string
	Side Side
}

// Locate says which body site and side the point (x, y in 0..1 of the box) is on; ok is
// false off the outline.
func Locate(v View, x, y float64) (p Place, ok bool) {
	if v != Front && v != Back {
		return Place{}, false
	}
	px, py := x*boxW, y*boxH
	for _, r := range regions {
		for _, s := range r.shapes {
			if !s.has(px, py) {
				continue
			}
			site := r.front
			if v == Back {
				site = r.back
			}
			side := Midline
			if !r.mid || math.Abs(px-boxW/2) > 6 {
				viewerLeft := px < boxW/2
				// Facing the viewer, the patient's right is on the viewer's left.
				if viewerLeft == (v == Front) {
					side = Right
				} else {
					side = Left
				}
			}
			return Place{site, side}, true
		}
	}
	return Place{}, false
}

// SitePoint is where a lesion placed by its body site alone (not on the map) is drawn: the
// middle of the site's part of the outline, on the patient's side when the part is paired
// (the right hand on the viewer's left in the front view). ok is false for a site the
// outline has no part for ("acral", "other").
func SitePoint(site string, side Side) (v View, x, y float64, ok bool) {
	for _, r := range regions {
		for _, view := range []View{Front, Back} {
			name := r.front
			if view == Back {
				name = r.back
			}
			if name != site {
				continue
			}
			s := r.shapes[0]
			if len(r.shapes) > 1 && r.shapes[1] != nil {
				// A pair: shapes[0] is on the viewer's left. The patient's left is on the
				// viewer's right in the front view, on the viewer's left in the back view.
				if (side == Left) == (view == Front) {
					s = r.shapes[1]
				}
			}
			cx, cy := centre(s)
			return view, cx / boxW, cy / boxH, true
		}
	}
	return "", 0, 0, false
}

func centre(s shape) (float64, float64) {
	switch t := s.(type) {
	case ellipse:
		return t.cx, t.cy
	case rect:
		return (t.x0 + t.x1) / 2, (t.y0 + t.y1) / 2
	}
	return boxW / 2, boxH / 2
}

// Valid checks a stored position.
func Valid(v View, x, y float64) error {
	if v != Front && v != Back {
		return fmt.Errorf("body map view %q is not front or back", v)
	}
	if _, ok := Locate(v, x, y); !ok {
		return fmt.Errorf("the point (%.3f, %.3f) is not on the body outline", x, y)
	}
	return nil
}

// Outline draws the body (skin tone, darker edge) on a transparent picture width pixels wide.
func Outline(width int) *image.NRGBA {
	height := int(float64(width) / Aspect)
	img := image.NewNRGBA(image.Rect(0, 0, width, height))
	inside := func(x, y int) bool {
		px, py := (float64(x)+0.5)*boxW/float64(width), (float64(y)+0.5)*boxH/float64(height)
		for _, r := range regions {
			for _, s := range r.shapes {
				if s.has(px, py) {
					return true
				}
			}
		}
		return false
	}
	mask := make([]bool, width*height)
	for y := 0; y < height; y++ {
		for x := 0; x < width; x++ {
			mask[y*width+x] = inside(x, y)
		}
	}
	fill := color.NRGBA{R: 236, G: 214, B: 196, A: 255}
	edge := color.NRGBA{R: 120, G: 96, B: 84, A: 255}
	edgeW := max(1, width/150)
	for y := 0; y < height; y++ {
		for x := 0; x < width; x++ {
			if !mask[y*width+x] {
				continue
			}
			c := fill
		near:
			for dy := -edgeW; dy <= edgeW; dy++ {
				for dx := -edgeW; dx <= edgeW; dx++ {
					xx, yy := x+dx, y+dy
					if xx < 0 || yy < 0 || xx >= width || yy >= height || !mask[yy*width+xx] {
						c = edge
						break near
					}
				}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}
