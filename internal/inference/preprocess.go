package inference

import (
	"image"

	"github.com/disintegration/imaging"
)

// Canonical returns the photo as the model's input picture: landscape, centre-cropped to the
// input aspect (4:3) and resized to the card's size (200x150) with Lanczos filtering.
//
// HAM10000 images are already 200x150 and pass through unresampled, which is what makes the
// Go logits match training exactly (model 2.x runs at 200x150 itself; 1.x resized to 160x120
// inside its graph). Portrait photos are turned a quarter first: a lesion has no up or down (the
// model was trained with random rotations), and turning keeps far more of the photo than
// cropping a landscape strip out of it.
func Canonical(img image.Image, width, height int) *image.NRGBA {
	b := img.Bounds()
	if b.Dx() < b.Dy() {
		img = imaging.Rotate90(img)
		b = img.Bounds()
	}
	if b.Dx() == width && b.Dy() == height {
		return imaging.Clone(img)
	}
	return imaging.Fill(img, width, height, imaging.Center, imaging.Lanczos)
}

// fillInput writes the normalized NCHW float tensor of an NRGBA picture into dst, with the
// same arithmetic as training: uint8/255, times the channel's colour-constancy gain, capped at
// 1, then (x-mean)/std, all in float32. A 256-entry table per channel gives bit-identical values
// at a third of the cost of computing each pixel.
func fillInput(dst []float32, img *image.NRGBA, mean, std, gain [3]float32) {
	var lut [3][256]float32
	for c := range 3 {
		for v := range 256 {
			x := float32(v) / 255
			if gain[c] != 1 {
				x = min(x*gain[c], 1)
			}
			lut[c][v] = (x - mean[c]) / std[c]
		}
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	plane := w * h
	r, g, b := dst[:plane], dst[plane:2*plane], dst[2*plane:3*plane]
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		o := y * w
		for x := 0; x < w; x++ {
			p := row[4*x : 4*x+3 : 4*x+3]
			r[o+x], g[o+x], b[o+x] = lut[0][p[0]], lut[1][p[1]], lut[2][p[2]]
		}
	}
}

// pixels views a picture for colourGains.
func pixels(img *image.NRGBA) imageRGB {
	return imageRGB{pix: img.Pix, stride: img.Stride, w: img.Rect.Dx(), h: img.Rect.Dy()}
}
