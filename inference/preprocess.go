package inference

import (
	"image"

	"github.com/disintegration/imaging"
)

// Canonical returns the photo as the model's input picture: landscape, centre-cropped to the
// input aspect (4:3) and resized to the card's size (200x150) with Lanczos filtering.
//
// HAM10000 images are already 200x150 and pass through unresampled, which is what makes the
// Go logits match training exactly; the network's own 200x150 -> 160x120 resize runs inside
// the ONNX graph. Portrait photos are turned a quarter first: a lesion has no up or down (the
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
// same arithmetic as training (uint8/255, then (x-mean)/std in float32).
func fillInput(dst []float32, img *image.NRGBA, mean, std [3]float32) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	plane := w * h
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < w; x++ {
			i := y*w + x
			for c := 0; c < 3; c++ {
				v := float32(row[4*x+c]) / 255
				dst[c*plane+i] = (v - mean[c]) / std[c]
			}
		}
	}
}
