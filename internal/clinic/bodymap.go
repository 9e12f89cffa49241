package clinic

import (
	"fmt"
	"image"

	"dermal/internal/bodymap"
	"dermal/internal/measure"
	"dermal/internal/storage"
)

// BodyPoint is a point on the body map: the outline (front or back) and x, y in 0..1 of its
// box.
type BodyPoint struct {
	View bodymap.View
	X, Y float64
}

// Body map views.
const (
	MapFront = bodymap.Front
	MapBack  = bodymap.Back
)

// MapView is a body map outline, front or back.
type MapView = bodymap.View

// BodyPlace is a body site and the patient's side.
type BodyPlace = bodymap.Place

// Place is the body site and side at the point; an error names a point off the outline.
func (p BodyPoint) Place() (BodyPlace, error) {
	if err := bodymap.Valid(p.View, p.X, p.Y); err != nil {
		return BodyPlace{}, fmt.Errorf("%w: %v", storage.ErrInvalid, err)
	}
	place, _ := bodymap.Locate(p.View, p.X, p.Y)
	return place, nil
}

// LesionPoint is where a stored lesion is drawn on the body map: where it was placed, or
// for a lesion chosen from the site list the middle of its site (it had no dot at all: the
// clinic's day, item 13). ok is false for a site the outline has no part for.
func LesionPoint(l Lesion) (BodyPoint, bool) {
	if l.MapView != "" {
		return BodyPoint{View: bodymap.View(l.MapView), X: l.MapX, Y: l.MapY}, true
	}
	v, x, y, ok := bodymap.SitePoint(l.BodySite, bodymap.Side(l.Side))
	return BodyPoint{View: v, X: x, Y: y}, ok
}

// SizeChange is how a lesion's recorded diameter changed from one assessment to another; ok
// is false when either was not measured.
func SizeChange(from, to Assessment) (measure.Change, bool) {
	return measure.Compare(from.DiameterMM, to.DiameterMM)
}

// Scale is millimetres per pixel of a photo.
type Scale = measure.Scale

// ScaleFromFieldOfView is the scale of a photo widthPx wide showing fovMM across.
func ScaleFromFieldOfView(fovMM float64, widthPx int) (Scale, error) {
	return measure.FromFieldOfView(fovMM, widthPx)
}

// ScaleFromRuler is the scale given two photo points knownMM apart on a ruler.
func ScaleFromRuler(a, b image.Point, knownMM float64) (Scale, error) {
	return measure.FromRuler(a, b, knownMM)
}
