package measure

import (
	"errors"
	"image"
	"math"
	"testing"
)

func TestScalesAndLengths(t *testing.T) {
	s, err := FromFieldOfView(20, 1000) // 20 mm across 1000 px: 0.02 mm per pixel
	if err != nil || math.Abs(float64(s)-0.02) > 1e-12 {
		t.Fatalf("field of view: %v %v", s, err)
	}
	if got := s.Length(image.Pt(100, 100), image.Pt(400, 500)); math.Abs(got-10) > 1e-9 { // 500 px
		t.Errorf("length %v mm, want 10", got)
	}
	r, err := FromRuler(image.Pt(10, 10), image.Pt(210, 10), 10) // 10 mm over 200 px
	if err != nil || math.Abs(r.Length(image.Pt(0, 0), image.Pt(0, 130))-6.5) > 1e-9 {
		t.Errorf("ruler: %v %v", r, err)
	}
	for _, bad := range []func() error{
		func() error { _, err := FromFieldOfView(0, 100); return err },
		func() error { _, err := FromFieldOfView(20, 0); return err },
		func() error { _, err := FromRuler(image.Pt(0, 0), image.Pt(5, 0), 10); return err },
		func() error { _, err := FromRuler(image.Pt(0, 0), image.Pt(50, 0), -1); return err },
	} {
		if err := bad(); !errors.Is(err, ErrScale) {
			t.Errorf("accepted: %v", err)
		}
	}
}

func TestCompare(t *testing.T) {
	a, b := 6.0, 7.5
	c, ok := Compare(&a, &b)
	if !ok || c.DeltaMM != 1.5 || math.Abs(c.Percent-25) > 1e-9 {
		t.Errorf("%+v %v", c, ok)
	}
	if _, ok := Compare(nil, &b); ok {
		t.Error("an unknown diameter compared")
	}
}
