// Package measure turns two points clicked on a photo into millimetres: the scale comes from
// the dermatoscope's field of view (the photo's width in mm) or from two points on a ruler in
// the photo whose distance is known; and it says how a lesion's size changed between visits.
package measure

import (
	"errors"
	"fmt"
	"image"
	"math"
)

// ErrScale means the scale cannot be worked out from what was given.
var ErrScale = errors.New("no usable scale")

// Distance is the distance between two points in pixels.
func Distance(a, b image.Point) float64 { return math.Hypot(float64(b.X-a.X), float64(b.Y-a.Y)) }

// Scale is millimetres per pixel of one photo.
type Scale float64

// FromFieldOfView is the scale of a photo widthPx wide that shows fovMM across (a
// dermatoscope's field of view, when the photo is its whole frame).
func FromFieldOfView(fovMM float64, widthPx int) (Scale, error) {
	if !(fovMM > 0 && fovMM <= 500) || widthPx <= 0 {
		return 0, fmt.Errorf("%w: a field of view of %g mm across %d pixels", ErrScale, fovMM, widthPx)
	}
	return Scale(fovMM / float64(widthPx)), nil
}

// FromRuler is the scale given two points knownMM apart on a ruler in the photo. Points
// fewer than 10 pixels apart are refused: a click's error would be most of the distance.
func FromRuler(a, b image.Point, knownMM float64) (Scale, error) {
	d := Distance(a, b)
	if !(knownMM > 0 && knownMM <= 500) {
		return 0, fmt.Errorf("%w: the ruler distance %g mm is not between 0 and 500 mm", ErrScale, knownMM)
	}
	if d < 10 {
		return 0, fmt.Errorf("%w: the two ruler points are only %.0f pixels apart; click marks further apart", ErrScale, d)
	}
	return Scale(knownMM / d), nil
}

// Length is the distance between two points in millimetres.
func (s Scale) Length(a, b image.Point) float64 { return float64(s) * Distance(a, b) }

// Change is how a diameter changed between two visits.
type Change struct {
	FromMM, ToMM float64
	DeltaMM      float64
	Percent      float64 // relative to FromMM
}

// Compare is the change from one diameter to another; ok is false when either is unknown.
func Compare(from, to *float64) (Change, bool) {
	if from == nil || to == nil || *from <= 0 {
		return Change{}, false
	}
	d := *to - *from
	return Change{FromMM: *from, ToMM: *to, DeltaMM: d, Percent: 100 * d / *from}, true
}
