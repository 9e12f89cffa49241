package bodymap

import "testing"

func TestLocate(t *testing.T) {
	for _, tc := range []struct {
		v    View
		x, y float64
		site string
		side Side
	}{
		{Front, 0.5, 0.1, "face", Midline},
		{Back, 0.5, 0.1, "scalp", Midline},
		{Front, 0.40, 0.30, "chest", Right}, // the viewer's left is the patient's right
		{Back, 0.40, 0.30, "back", Left},    // from behind, the viewer's left is the patient's left
		{Front, 0.60, 0.45, "abdomen", Left},
		{Front, 0.5, 0.56, "genital", Midline},
		{Front, 0.245, 0.62, "hand", Right},
		{Back, 0.755, 0.62, "hand", Right},
		{Front, 0.25, 0.40, "upper extremity", Right},
		{Front, 0.41, 0.75, "lower extremity", Right},
		{Front, 0.59, 0.95, "foot", Left},
		{Front, 0.375, 0.105, "ear", Right},
		{Front, 0.5, 0.19, "neck", Midline},
	} {
		p, ok := Locate(tc.v, tc.x, tc.y)
		if !ok || p.Site != tc.site || p.Side != tc.side {
			t.Errorf("%s (%.3f, %.3f): %+v %v, want %s %s", tc.v, tc.x, tc.y, p, ok, tc.site, tc.side)
		}
	}
	for _, off := range [][2]float64{{0.05, 0.1}, {0.5, 0.99}, {0.95, 0.5}} {
		if p, ok := Locate(Front, off[0], off[1]); ok {
			t.Errorf("(%v) is off the outline but located at %+v", off, p)
		}
	}
	if err := Valid("side", 0.5, 0.1); err == nil {
		t.Error("view \"side\" accepted")
	}
}

func TestOutlineDrawsTheBody(t *testing.T) {
	img := Outline(100)
	if b := img.Bounds(); b.Dx() != 100 || b.Dy() != 200 {
		t.Fatalf("outline %v", b)
	}
	if img.NRGBAAt(50, 20).A == 0 || img.NRGBAAt(2, 2).A != 0 {
		t.Error("the head is not drawn, or the corner is")
	}
}

// The clinic's day, item 13: a lesion chosen from the site list is drawn in the middle of its
// site, on the patient's side: every site the outline has is found again where it is drawn.
func TestSitePointIsOnItsSite(t *testing.T) {
	for _, site := range []string{"ear", "face", "scalp", "neck", "hand", "upper extremity", "foot", "lower extremity", "genital", "chest", "abdomen", "back", "trunk"} {
		for _, side := range []Side{Left, Right, ""} {
			v, x, y, ok := SitePoint(site, side)
			if !ok {
				t.Errorf("%s: no point", site)
				continue
			}
			p, ok := Locate(v, x, y)
			if !ok || p.Site != site {
				t.Errorf("%s (%s): drawn at %s %.2f,%.2f, which is %q", site, side, v, x, y, p.Site)
			}
			if side != "" && p.Side != Midline && p.Side != side {
				t.Errorf("%s on the %s: drawn on the %s", site, side, p.Side)
			}
		}
	}
	if _, _, _, ok := SitePoint("acral", Left); ok {
		t.Error("acral has no one place on the outline, yet got a point")
	}
}
