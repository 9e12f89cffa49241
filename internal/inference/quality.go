package inference

import (
	"fmt"
	"image"
)

// Warning is one photo-quality problem; Code is stable (JSON, translations).
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Warning codes.
const (
	WarnTooSmall     = "too_small"
	WarnBlurry       = "blurry"
	WarnUnderExposed = "underexposed"
	WarnOverExposed  = "overexposed"
	WarnNotALesion   = "not_a_lesion"
)

// NeedsRetake reports whether the warnings make a "low concern" result untrustworthy.
// Every quality warning does: each means the model saw something unlike what it was tested on.
func NeedsRetake(ws []Warning) bool { return len(ws) > 0 }

// PictureStats are the quality measurements of the canonical picture (training/evaluate.py
// computes the same for the thresholds): variance of the 4-neighbour Laplacian of luma,
// mean luma (0..255), the share of pixels at luma <= 5 or >= 250, and blue's share of the
// mean colour, B / (R + G + B) (0 for a black picture).
type PictureStats struct {
	Sharpness    float64
	Brightness   float64
	ClippedShare float64
	BlueShare    float64
}

// MeasurePicture computes PictureStats.
func MeasurePicture(img *image.NRGBA) PictureStats {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	gray := make([]float64, w*h)
	var sum float64
	var rgb [3]float64
	clipped := 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := y*img.Stride + 4*x
			for c := range rgb {
				rgb[c] += float64(img.Pix[o+c])
			}
			g := 0.299*float64(img.Pix[o]) + 0.587*float64(img.Pix[o+1]) + 0.114*float64(img.Pix[o+2])
			gray[y*w+x] = g
			sum += g
			if g >= 250 || g <= 5 {
				clipped++
			}
		}
	}
	var ls, lss float64
	n := 0
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			i := y*w + x
			l := gray[i-w] + gray[i+w] + gray[i-1] + gray[i+1] - 4*gray[i]
			ls += l
			lss += l * l
			n++
		}
	}
	st := PictureStats{Brightness: sum / float64(w*h), ClippedShare: float64(clipped) / float64(w*h)}
	if total := rgb[0] + rgb[1] + rgb[2]; total > 0 {
		st.BlueShare = rgb[2] / total
	}
	if n > 0 {
		m := ls / float64(n)
		st.Sharpness = lss/float64(n) - m*m
	}
	return st
}

// CheckQuality returns the warnings for a photo of the given original size, its canonical
// picture and its embedding, and the out-of-distribution score.
func CheckQuality(m Model, width, height int, pic *image.NRGBA, emb []float32) ([]Warning, float64) {
	card := m.Card
	q := card.Quality
	var ws []Warning
	if short := min(width, height); short < q.MinShortSide {
		ws = append(ws, Warning{WarnTooSmall, fmt.Sprintf("The photo is only %dx%d pixels; take it closer or at a higher resolution (at least %d pixels on the short side).", width, height, q.MinShortSide)})
	}
	st := MeasurePicture(pic)
	if st.Sharpness < q.MinSharpness {
		ws = append(ws, Warning{WarnBlurry, fmt.Sprintf("The photo looks blurred (sharpness %.1f, expected at least %.1f); hold still and focus on the lesion.", st.Sharpness, q.MinSharpness)})
	}
	if st.Brightness < q.MinBrightness {
		ws = append(ws, Warning{WarnUnderExposed, fmt.Sprintf("The photo is too dark (brightness %.0f of 255); add light.", st.Brightness)})
	} else if st.Brightness > q.MaxBrightness || st.ClippedShare > q.MaxClippedShare {
		ws = append(ws, Warning{WarnOverExposed, fmt.Sprintf("The photo is too bright or washed out (brightness %.0f of 255, %.0f%% of pixels clipped); avoid flash glare.", st.Brightness, 100*st.ClippedShare)})
	}
	ood := m.OOD.Residual(emb)
	switch {
	case ood > card.OOD.Threshold:
		ws = append(ws, Warning{WarnNotALesion, fmt.Sprintf("This does not look like the dermoscopic skin-lesion photos the model was trained on (out-of-distribution score %.2f, limit %.2f); the result is probably meaningless.", ood, card.OOD.Threshold)})
	case q.MaxBlueShare > 0 && st.BlueShare > q.MaxBlueShare:
		// The embedding check alone let a launch photo against a dusk sky through model 4
		// (score 0.335, limit 0.345): the network sees a dark central object on a plain ground,
		// as in a nevus. No skin photo the model learned from is that blue.
		ws = append(ws, Warning{WarnNotALesion, fmt.Sprintf("The photo's colours are unlike any skin photo the model was trained on (blue is %.0f%% of its colour, at most %.0f%% in those photos); the result is probably meaningless.", 100*st.BlueShare, 100*q.MaxBlueShare)})
	}
	return ws, ood
}
