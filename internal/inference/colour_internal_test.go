package inference

import (
	"encoding/json"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The reference is training's own arithmetic (training/colour_reference.py, common.to_input).
// Tolerances, from the arithmetic: both sides sum v^6 in float64 (at most 30,000 terms, relative
// error far below float32's) and round each gain to float32 once, so a gain can differ by one
// float32 ulp where the float64 value lies on a rounding boundary: 2^-23 relative, allowed twice.
// An input value is (min(v/255*g, 1) - mean)/std in float32: a one-ulp gain moves it by at most
// 2^-23/std (std >= 0.224: 5.4e-7) plus one rounding of the result (2^-23 * |x| <= 2^-23 * 2.3):
// under 1e-6. A channel sum adds 30,000 such values: at most 0.03.
const (
	gainRelTol   = 2.0 / (1 << 23)
	inputTol     = 1e-6
	channelSumTo = 30000 * inputTol
)

type colourReference struct {
	Method string     `json:"method"`
	Mean   [3]float32 `json:"mean"`
	Std    [3]float32 `json:"std"`
	Cases  []struct {
		File        string     `json:"file"`
		Variant     string     `json:"variant"`
		Gains       [3]float64 `json:"gains"`
		ChannelSums [3]float64 `json:"channel_sums"`
		Samples     struct {
			Index []int     `json:"index"`
			Value []float64 `json:"value"`
		} `json:"samples"`
	} `json:"cases"`
}

// cast repeats colour_reference.py's colour cast: red x3/2 capped at 255, blue x2/3.
func cast(img *image.NRGBA) *image.NRGBA {
	out := &image.NRGBA{Pix: append([]uint8(nil), img.Pix...), Stride: img.Stride, Rect: img.Rect}
	for i := 0; i < len(out.Pix); i += 4 {
		out.Pix[i] = uint8(min(255, int(out.Pix[i])*3/2))
		out.Pix[i+2] = uint8(int(out.Pix[i+2]) * 2 / 3)
	}
	return out
}

func TestColourConstancyMatchesTraining(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "colour_constancy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref colourReference
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) == 0 {
		t.Fatal("no reference cases")
	}
	var worstGain, worstInput float64
	for _, c := range ref.Cases {
		f, err := os.Open(filepath.Join("testdata", "fixtures", c.File))
		if err != nil {
			t.Fatal(err)
		}
		decoded, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		pic := Canonical(decoded, decoded.Bounds().Dx(), decoded.Bounds().Dy())
		if c.Variant == "cast" {
			pic = cast(pic)
		}
		gains, err := colourGains(pixels(pic), ref.Method)
		if err != nil {
			t.Fatal(err)
		}
		for ch := range 3 {
			rel := math.Abs(float64(gains[ch])-c.Gains[ch]) / c.Gains[ch]
			worstGain = max(worstGain, rel)
			if rel > gainRelTol {
				t.Errorf("%s (%s): gain[%d] = %v, training %v", c.File, c.Variant, ch, gains[ch], c.Gains[ch])
			}
		}
		w, h := pic.Rect.Dx(), pic.Rect.Dy()
		input := make([]float32, 3*w*h)
		fillInput(input, pic, ref.Mean, ref.Std, gains)
		for ch := range 3 {
			sum := 0.0
			for _, v := range input[ch*w*h : (ch+1)*w*h] {
				sum += float64(v)
			}
			if d := math.Abs(sum - c.ChannelSums[ch]); d > channelSumTo {
				t.Errorf("%s (%s): channel %d sums to %v, training %v", c.File, c.Variant, ch, sum, c.ChannelSums[ch])
			}
		}
		for k, i := range c.Samples.Index {
			d := math.Abs(float64(input[i]) - c.Samples.Value[k])
			worstInput = max(worstInput, d)
			if d > inputTol {
				t.Errorf("%s (%s): input[%d] = %v, training %v", c.File, c.Variant, i, input[i], c.Samples.Value[k])
			}
		}
	}
	t.Logf("%d cases: worst gain difference %.2g (relative), worst input difference %.2g", len(ref.Cases), worstGain, worstInput)
}

func TestColourConstancyUndoesACastAndKeepsGrey(t *testing.T) {
	grey := image.NewNRGBA(image.Rect(0, 0, 20, 10))
	for i := 0; i < len(grey.Pix); i += 4 {
		grey.Pix[i], grey.Pix[i+1], grey.Pix[i+2], grey.Pix[i+3] = 120, 120, 120, 255
	}
	g, err := colourGains(pixels(grey), ShadesOfGrayP6)
	if err != nil {
		t.Fatal(err)
	}
	for c, v := range g {
		if math.Abs(float64(v)-1) > 1e-6 {
			t.Errorf("a grey picture's gain[%d] is %v, want 1", c, v)
		}
	}
	tinted := cast(grey) // red 180, green 120, blue 80
	g, err = colourGains(pixels(tinted), ShadesOfGrayP6)
	if err != nil {
		t.Fatal(err)
	}
	r, gg, b := 180*g[0], 120*g[1], 80*g[2]
	if math.Abs(float64(r-gg)) > 0.01 || math.Abs(float64(gg-b)) > 0.01 {
		t.Errorf("corrected cast is (%v, %v, %v), want grey", r, gg, b)
	}
	black := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	g, _ = colourGains(pixels(black), ShadesOfGrayP6)
	if g != [3]float32{maxColourGain, maxColourGain, maxColourGain} {
		t.Errorf("a black picture's gains are %v, want the cap %v", g, maxColourGain)
	}
	if _, err := colourGains(pixels(grey), "retinex"); err == nil {
		t.Error("an unknown colour constancy method was accepted")
	}
	none, _ := colourGains(pixels(tinted), ColourNone)
	if none != [3]float32{1, 1, 1} {
		t.Errorf("no colour constancy gives gains %v", none)
	}
}
