package inference

import (
	"image"
	"image/color"
	"math"

	"github.com/disintegration/imaging"
)

// Heatmap is a Grad-CAM map at the network's feature resolution, ReLU'd and divided by its
// maximum, so values are in [0, 1] (all zero when the class has no positive evidence).
type Heatmap struct {
	Width, Height int
	Values        []float32 // row-major
}

// GradCAMFromRaw computes Grad-CAM for a class from the graph's cam output.
//
// The model's head is global average pooling then a linear layer, so d logit_c / d A_k is
// W[c,k]/(h*w) at every position: Grad-CAM's channel weights are exactly W[c,:]/(h*w), and the
// map is ReLU(sum_k W[c,k] A_k)/(h*w). The graph outputs sum_k W[c,k] A_k; the positive factor
// disappears in the normalization. No backward pass is needed.
func GradCAMFromRaw(r *Raw, class int) *Heatmap {
	src := r.ClassCAM(class)
	h := &Heatmap{Width: r.CAMWidth, Height: r.CAMHeight, Values: make([]float32, len(src))}
	var m float32
	for i, v := range src {
		h.Values[i] = max(v, 0)
		m = max(m, h.Values[i])
	}
	if m > 0 {
		for i := range h.Values {
			h.Values[i] /= m
		}
	}
	return h
}

// Upsample returns the map resized to w x h by bilinear interpolation with half-pixel
// centres (each feature cell covers an equal block of the picture).
func (m *Heatmap) Upsample(w, h int) []float32 {
	out := make([]float32, w*h)
	sx := float64(m.Width) / float64(w)
	sy := float64(m.Height) / float64(h)
	for y := 0; y < h; y++ {
		fy := math.Max((float64(y)+0.5)*sy-0.5, 0)
		y0 := min(int(fy), m.Height-1)
		y1 := min(y0+1, m.Height-1)
		ty := float32(fy - float64(y0))
		for x := 0; x < w; x++ {
			fx := math.Max((float64(x)+0.5)*sx-0.5, 0)
			x0 := min(int(fx), m.Width-1)
			x1 := min(x0+1, m.Width-1)
			tx := float32(fx - float64(x0))
			top := m.Values[y0*m.Width+x0]*(1-tx) + m.Values[y0*m.Width+x1]*tx
			bot := m.Values[y1*m.Width+x0]*(1-tx) + m.Values[y1*m.Width+x1]*tx
			out[y*w+x] = top*(1-ty) + bot*ty
		}
	}
	return out
}

// Viridis maps t in [0, 1] to the viridis colormap (perceptually uniform, readable in grey
// and by most colour-blind people), by Matt Zucker's polynomial fit of the matplotlib table.
func Viridis(t float64) color.NRGBA {
	t = math.Min(math.Max(t, 0), 1)
	c := [7][3]float64{
		{0.2777273272234177, 0.005407344544966578, 0.3340998053353061},
		{0.1050930431085774, 1.404613529898575, 1.384590162594685},
		{-0.3308618287255563, 0.214847559468213, 0.09509516302823659},
		{-4.634230498983486, -5.799100973351585, -19.33244095627987},
		{6.228269936347081, 14.17993336680509, 56.69055260068105},
		{4.776384997670288, -13.74514537774601, -65.35303263337234},
		{-5.435455855934631, 4.645852612178535, 26.3124352495832},
	}
	var rgb [3]uint8
	for ch := 0; ch < 3; ch++ {
		v := c[6][ch]
		for k := 5; k >= 0; k-- {
			v = c[k][ch] + t*v
		}
		rgb[ch] = uint8(math.Round(255 * math.Min(math.Max(v, 0), 1)))
	}
	return color.NRGBA{rgb[0], rgb[1], rgb[2], 255}
}

// Colorize renders the map at w x h in the viridis colormap.
func (m *Heatmap) Colorize(w, h int) *image.NRGBA {
	vals := m.Upsample(w, h)
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i, v := range vals {
		c := Viridis(float64(v))
		copy(img.Pix[4*i:4*i+4], []uint8{c.R, c.G, c.B, 255})
	}
	return img
}

// Overlay blends the coloured map over the photo at the given opacity (0: photo only,
// 1: map only). The map covers the same centre 4:3 region the model saw; a portrait photo is
// shown turned, as the model saw it. Pass a display-sized photo: the overlay is as large as it.
func (m *Heatmap) Overlay(photo image.Image, opacity float64) *image.NRGBA {
	b := photo.Bounds()
	if b.Dx() < b.Dy() {
		photo = imaging.Rotate90(photo)
		b = photo.Bounds()
	}
	// Same crop as Canonical: the largest centred 4:3 region.
	cw, ch := b.Dx(), b.Dx()*3/4
	if ch > b.Dy() {
		ch, cw = b.Dy(), b.Dy()*4/3
	}
	base := imaging.CropCenter(photo, cw, ch)
	heat := m.Colorize(cw, ch)
	opacity = math.Min(math.Max(opacity, 0), 1)
	return imaging.Overlay(base, heat, image.Point{}, opacity)
}
