package inference

import (
	"fmt"
	"math"
	"slices"
)

// Colour constancy methods a model card may name (Input.ColourConstancy). The empty string is
// none: the picture goes in as decoded (models 1.x and 2.x).
const (
	ColourNone        = ""
	ShadesOfGrayP6    = "shades_of_gray_p6"
	shadesOfGrayPower = 6
)

// KnownColourConstancy lists the methods this build implements.
var KnownColourConstancy = []string{ColourNone, ShadesOfGrayP6}

// Bounds on a colour-constancy gain. A photo that is nearly black in one channel (a red-only
// test card, a blank frame) would otherwise get a gain of hundreds and turn into noise; real
// dermatoscope and phone casts need gains well inside [1/4, 4] (training/common.py draws white
// balance within ±30%). The same bounds are in training/common.py.
const (
	minColourGain = 0.25
	maxColourGain = 4.0
)

// colourGains returns the per-channel gains that remove the photo's illuminant estimate.
//
// Shades of Gray (Finlayson & Trezzi 2004) estimates the illuminant of channel c as the
// Minkowski p-mean of its values, e_c = (mean v_c^p)^(1/p) with v = u8/255, and scales each
// channel by |e|/sqrt(3)/e_c: a grey illuminant keeps its brightness, a colour cast is made
// grey. p = 6 is the value dermoscopy studies settled on (Barata et al. 2015). The sums run in
// float64 over a 256-entry table of v^p and the gains are rounded to float32 once, exactly as
// training/common.py sog_gains does, so training and the app feed the network the same numbers
// (TestColourConstancyMatchesTraining).
func colourGains(img imageRGB, method string) ([3]float32, error) {
	one := [3]float32{1, 1, 1}
	switch method {
	case ColourNone:
		return one, nil
	case ShadesOfGrayP6:
	default:
		return one, fmt.Errorf("colour constancy %q is not one of %q", method, KnownColourConstancy)
	}
	pow := &sogPow
	var sum [3]float64
	n := 0
	img.each(func(r, g, b uint8) {
		sum[0] += pow[r]
		sum[1] += pow[g]
		sum[2] += pow[b]
		n++
	})
	if n == 0 {
		return one, nil
	}
	var e [3]float64
	norm := 0.0
	for c := range 3 {
		e[c] = math.Pow(sum[c]/float64(n), 1.0/shadesOfGrayPower)
		norm += e[c] * e[c]
	}
	grey := math.Sqrt(norm / 3)
	var gains [3]float32
	for c := range 3 {
		g := maxColourGain
		if e[c] > 0 {
			g = min(max(grey/e[c], minColourGain), maxColourGain)
		}
		gains[c] = float32(g)
	}
	return gains, nil
}

// sogPow is (v/255)^p for every byte value, made once: colourGains runs for every view of
// every analysis.
var sogPow = func() (t [256]float64) {
	for v := range 256 {
		t[v] = math.Pow(float64(v)/255, shadesOfGrayPower)
	}
	return t
}()

// imageRGB walks the pixels of an NRGBA picture without exposing its layout.
type imageRGB struct {
	pix    []uint8
	stride int
	w, h   int
}

func (m imageRGB) each(f func(r, g, b uint8)) {
	for y := 0; y < m.h; y++ {
		row := m.pix[y*m.stride : y*m.stride+4*m.w]
		for x := 0; x < m.w; x++ {
			f(row[4*x], row[4*x+1], row[4*x+2])
		}
	}
}

func validColourConstancy(method string) bool { return slices.Contains(KnownColourConstancy, method) }
