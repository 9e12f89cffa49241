package inference_test

import (
	"path/filepath"
	"testing"

	"dermal/internal/inference"
)

// BenchmarkModel times one forward pass (preprocessed picture in, logits + CAM + embedding
// out) of the shipped int8 model and the fp32 test model, with 1 and 2 threads.
func BenchmarkModel(b *testing.B) {
	p, err := inference.ReadPhotoFile(filepath.Join(fixtureDir, "ISIC_0024311.png"))
	if err != nil {
		b.Fatal(err)
	}
	for _, variant := range []struct {
		name  string
		model func(testing.TB) inference.Model
	}{{"int8", int8Model}, {"fp32", fp32Model}} {
		for _, threads := range []int{1, 2} {
			b.Run(variant.name+"/threads="+string(rune('0'+threads)), func(b *testing.B) {
				m := variant.model(b)
				e := inference.NewEngine(m, inference.Options{Threads: threads})
				defer e.Close()
				pic := inference.Canonical(p.Image, m.Card.Input.Width, m.Card.Input.Height)
				if _, err := e.Run(pic); err != nil { // load outside the timing
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := e.Run(pic); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkAssess is the whole analysis of a HAM10000-sized photo: canonical picture, model,
// calibration, quality checks and the Grad-CAM map of the top class.
func BenchmarkAssess(b *testing.B) {
	p, err := inference.ReadPhotoFile(filepath.Join(fixtureDir, "ISIC_0024311.png"))
	if err != nil {
		b.Fatal(err)
	}
	e := inference.NewEngine(int8Model(b), inference.Options{})
	defer e.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a, err := e.Assess(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.GradCAM(a.Top); err != nil {
			b.Fatal(err)
		}
	}
}
