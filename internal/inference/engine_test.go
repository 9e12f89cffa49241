package inference_test

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/disintegration/imaging"

	"dermal/internal/assets"
	"dermal/internal/inference"
	"dermal/internal/testtool"
)

// Tolerances. fp32: ONNX Runtime against torch, same graph. int8: ONNX Runtime's integer
// kernels against training/onnxeval.py's fake-quantized float run of the same QDQ graph;
// they differ only by rounding inside requantization, since the integer sums are exact on
// every x86-64 kernel path: VNNI sums u8×s8 in 32 bits, and on AVX2-only CPUs the engine sets
// session.x64quantprecision, so the u8×u8 kernels run instead of the u8×s8 ones whose 16-bit
// pair sums saturate. Measured (max logit difference, 7 fixtures): 0.0479 on this Xeon (AVX-512
// VNNI) and 0.0479 on an emulated Haswell (TestInt8ParityOnAVX2WithoutVNNI); without the
// option the Haswell gave 0.184, as an AMD EPYC (Zen 3) did. Measured max differences are logged.
const (
	fp32LogitTol  = 1e-3
	fp32CAMTol    = 1e-3
	int8LogitTol  = 0.15
	int8CAMTol    = 0.08
	fixtureDir    = "testdata/fixtures"
	fp32ModelPath = "testdata/fp32/dermal-fp32.onnx"
)

type fixture struct {
	File        string        `json:"file"`
	Dx          string        `json:"dx"`
	FP32Logits  []float64     `json:"fp32_logits"`
	Int8Logits  []float64     `json:"int8_reference_logits"`
	FP32GradCAM [][][]float64 `json:"fp32_gradcam"`
	Int8GradCAM [][][]float64 `json:"int8_reference_gradcam"`
}

func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "fixtures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Fixtures []fixture }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Fixtures) == 0 {
		t.Fatal("no fixtures")
	}
	return f.Fixtures
}

func int8Model(t testing.TB) inference.Model {
	t.Helper()
	m, err := inference.LoadModel(assets.ModelCardJSON, assets.ModelONNX, assets.OODSubspace)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fp32Model is the same network unquantized; its card is the shipped card with the fp32
// file's checksum.
func fp32Model(t testing.TB) inference.Model {
	t.Helper()
	m := int8Model(t)
	data, err := os.ReadFile(fp32ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	m.Card.SHA256 = inference.SHA256Hex(data)
	m.Data, m.Path = nil, fp32ModelPath
	return m
}

func newEngine(t testing.TB, m inference.Model) *inference.Engine {
	t.Helper()
	e := inference.NewEngine(m, inference.Options{})
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

func runFixture(t *testing.T, e *inference.Engine, f fixture) *inference.Assessment {
	t.Helper()
	p, err := inference.ReadPhotoFile(filepath.Join(fixtureDir, f.File))
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.Assess(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func maxDiff(got []float32, want []float64) float64 {
	var d float64
	for i := range want {
		d = math.Max(d, math.Abs(float64(got[i])-want[i]))
	}
	return d
}

// camDiff compares Grad-CAM maps of the given classes of the picture as it is (the fixtures
// come from one autograd pass, no test-time views) with the autograd fixtures.
func camDiff(t *testing.T, a *inference.Assessment, want [][][]float64, classes []int) float64 {
	t.Helper()
	var d float64
	for _, c := range classes {
		h := inference.GradCAMFromRaw(a.Identity, c)
		if h.Height != len(want[c]) || h.Width != len(want[c][0]) {
			t.Fatalf("Grad-CAM is %dx%d, fixture %dx%d", h.Width, h.Height, len(want[c][0]), len(want[c]))
		}
		for y, row := range want[c] {
			for x, v := range row {
				d = math.Max(d, math.Abs(float64(h.Values[y*h.Width+x])-v))
			}
		}
	}
	return d
}

func TestParityWithTraining(t *testing.T) {
	fixtures := loadFixtures(t)
	cases := []struct {
		name             string
		model            inference.Model
		logitTol, camTol float64
		allClasses       bool
		logits           func(fixture) []float64
		cams             func(fixture) [][][]float64
	}{
		// fp32 must match for every class. int8 is held to the compared view's own top class
		// only: for a class with little positive evidence in that view, dividing by a small
		// maximum turns rounding noise into a different map. The top class of the averaged views
		// (what the app shows) need not be the identity view's: model 4's bkl fixture is akiec
		// averaged (0.59) but nv in the identity view, whose akiec map peaks at 0.56 against a
		// negative part of -1.48, and differs from the reference by 0.49 after normalization;
		// its nv map, by 0.038.
		{"fp32", fp32Model(t), fp32LogitTol, fp32CAMTol, true,
			func(f fixture) []float64 { return f.FP32Logits }, func(f fixture) [][][]float64 { return f.FP32GradCAM }},
		{"int8", int8Model(t), int8LogitTol, int8CAMTol, false,
			func(f fixture) []float64 { return f.Int8Logits }, func(f fixture) [][][]float64 { return f.Int8GradCAM }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, tc.model)
			var worstLogit, worstCAM float64
			for _, f := range fixtures {
				a := runFixture(t, e, f)
				logitDiff := maxDiff(a.Identity.Logits, tc.logits(f))
				classes := []int{inference.ArgMax(a.Identity.Logits)}
				if tc.allClasses {
					classes = []int{0, 1, 2, 3, 4, 5, 6}
				}
				cam := camDiff(t, a, tc.cams(f), classes)
				t.Logf("%s (%s): |logit - reference| %.2e, |Grad-CAM - autograd| %.2e (classes %v)", f.File, f.Dx, logitDiff, cam, classes)
				worstLogit = math.Max(worstLogit, logitDiff)
				worstCAM = math.Max(worstCAM, cam)
			}
			t.Logf("%s: max |logit - reference| = %.2e, max |Grad-CAM - autograd| = %.2e over %d images",
				tc.name, worstLogit, worstCAM, len(fixtures))
			if worstLogit > tc.logitTol {
				t.Errorf("logits differ by %.3g, tolerance %.3g", worstLogit, tc.logitTol)
			}
			if worstCAM > tc.camTol {
				t.Errorf("Grad-CAM differs by %.3g, tolerance %.3g", worstCAM, tc.camTol)
			}
		})
	}
}

func TestAssessmentIsConsistent(t *testing.T) {
	e := newEngine(t, int8Model(t))
	card := e.Card()
	fixtures := loadFixtures(t)
	notLesions := 0
	for _, f := range fixtures {
		a := runFixture(t, e, f)
		var sum float64
		for _, p := range a.Probabilities {
			if p < 0 || p > 1 {
				t.Fatalf("%s: probability %v", f.File, p)
			}
			sum += p
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("%s: probabilities sum to %v", f.File, sum)
		}
		if want := inference.TierFor(card, a.Probabilities); a.Tier != want {
			t.Errorf("%s: tier %s, want %s", f.File, a.Tier, want)
		}
		// The embedding check flags what lies beyond validation's 99.5th percentile, so about
		// 1 in 200 real photos: 13 of model 4's 2,069 test photos, among them the bcc fixture
		// ISIC_0024432 (0.354 against 0.345). Held here: the warning exactly when a check says
		// so, and never on more than that one of the seven.
		flagged := slices.ContainsFunc(a.Warnings, func(w inference.Warning) bool { return w.Code == inference.WarnNotALesion })
		blue := card.Quality.MaxBlueShare > 0 && inference.MeasurePicture(a.Canonical).BlueShare > card.Quality.MaxBlueShare
		if over := a.OODScore > card.OOD.Threshold || blue; flagged != over {
			t.Errorf("%s: out-of-distribution score %.3f, threshold %.3f, warned %v", f.File, a.OODScore, card.OOD.Threshold, flagged)
		}
		if flagged {
			t.Logf("%s: a HAM10000 test photo over the out-of-distribution threshold (score %.3f)", f.File, a.OODScore)
			if notLesions++; notLesions > 1 {
				t.Errorf("%d of %d HAM10000 test photos called not a lesion", notLesions, len(fixtures))
			}
		}
	}
}

func TestEngineLoadsLazilyAndUnloads(t *testing.T) {
	e := newEngine(t, int8Model(t))
	if e.Loaded() {
		t.Fatal("loaded before first use")
	}
	f := loadFixtures(t)[0]
	first := runFixture(t, e, f)
	if !e.Loaded() {
		t.Fatal("not loaded after a run")
	}
	if err := e.Unload(); err != nil {
		t.Fatal(err)
	}
	if e.Loaded() {
		t.Fatal("still loaded after Unload")
	}
	second := runFixture(t, e, f)
	for i := range first.Raw.Logits {
		if first.Raw.Logits[i] != second.Raw.Logits[i] {
			t.Fatalf("reloaded session gives different logits: %v vs %v", first.Raw.Logits, second.Raw.Logits)
		}
	}
}

func TestModelChecksumMismatchIsRefused(t *testing.T) {
	bad := append([]byte(nil), assets.ModelONNX...)
	bad[len(bad)/2] ^= 1
	if _, err := inference.LoadModel(assets.ModelCardJSON, bad, assets.OODSubspace); err == nil {
		t.Fatal("a model whose bytes differ from the card was accepted")
	}
}

// The built-in model is read at start without its checksum (LoadModelDeferred), and checked
// before the engine first loads it: a mismatched model still gives no result.
func TestDeferredModelIsCheckedBeforeItsFirstResult(t *testing.T) {
	bad := append([]byte(nil), assets.ModelONNX...)
	bad[len(bad)/2] ^= 1
	m, err := inference.LoadModelDeferred(assets.ModelCardJSON, bad, assets.OODSubspace)
	if err != nil {
		t.Fatalf("the card alone was refused: %v", err)
	}
	if err := inference.NewEngine(m, inference.Options{}).Load(); !errors.Is(err, inference.ErrModelMismatch) {
		t.Fatalf("a model whose bytes differ from the card was loaded: %v", err)
	}
	badOOD := append([]byte(nil), assets.OODSubspace...)
	badOOD[7] ^= 1
	m, _ = inference.LoadModelDeferred(assets.ModelCardJSON, assets.ModelONNX, badOOD)
	if err := inference.NewEngine(m, inference.Options{}).Load(); !errors.Is(err, inference.ErrModelMismatch) {
		t.Fatalf("a subspace whose bytes differ from the card was loaded: %v", err)
	}
}

// The result comes from the card's test-time views: logits are the mean of the views' logits,
// and the Grad-CAM maps are the mean of the views' maps turned back to the picture's
// orientation. Computed here independently, view by view.
func TestAssessAveragesTestTimeViews(t *testing.T) {
	m := int8Model(t)
	if len(m.Card.Views) != 4 {
		t.Fatalf("the shipped card has views %v", m.Card.Views)
	}
	e := newEngine(t, m)
	p, err := inference.ReadPhotoFile(filepath.Join(fixtureDir, "ISIC_0024367.png"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.Assess(p)
	if err != nil {
		t.Fatal(err)
	}
	pic := inference.Canonical(p.Image, m.Card.Input.Width, m.Card.Input.Height)
	k := len(m.Card.Labels)
	var logits []float64
	var cam []float64
	for _, view := range m.Card.Views {
		v := pic
		flipH, flipV := view == "flip_h" || view == "flip_hv", view == "flip_v" || view == "flip_hv"
		if flipH {
			v = imaging.FlipH(v)
		}
		if flipV {
			v = imaging.FlipV(v)
		}
		r, err := e.Run(v)
		if err != nil {
			t.Fatal(err)
		}
		if view == "identity" {
			if maxDiff(a.Identity.Logits, float64s(r.Logits)) != 0 {
				t.Error("Identity is not the plain forward pass")
			}
		}
		if logits == nil {
			logits, cam = make([]float64, k), make([]float64, len(r.CAM))
		}
		for i := range k {
			logits[i] += float64(r.Logits[i]) / 4
		}
		h, w := r.CAMHeight, r.CAMWidth
		for c := range k {
			for y := range h {
				for x := range w {
					sy, sx := y, x
					if flipH {
						sx = w - 1 - x
					}
					if flipV {
						sy = h - 1 - y
					}
					cam[c*h*w+y*w+x] += float64(r.CAM[c*h*w+sy*w+sx]) / 4
				}
			}
		}
	}
	if d := maxDiff(a.Raw.Logits, logits); d > 1e-5 {
		t.Errorf("averaged logits differ by %g", d)
	}
	if d := maxDiff(a.Raw.CAM, cam); d > 1e-5 {
		t.Errorf("averaged Grad-CAM maps differ by %g", d)
	}
	if d := maxDiff(a.Raw.Embedding, float64s(a.Identity.Embedding)); d != 0 {
		t.Error("the out-of-distribution check does not use the identity view's embedding")
	}
}

func float64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// emulatedCPUEnv marks a test binary running under CPU emulation (it must not start another).
const emulatedCPUEnv = "DERMAL_EMULATED_CPU"

// TestInt8ParityOnAVX2WithoutVNNI runs the int8 parity test on an emulated Haswell: AVX2 and
// FMA, no AVX-512, no VNNI — the kernels most clinic laptops get (and the AMD EPYC Zen 3 on
// which a fresh clone once failed with logits 0.184 from the reference). QEMU's user-mode
// emulator reports that CPU to ONNX Runtime, which then takes its AVX2 u8s8 path, whatever
// CPU runs the test. Without session.x64quantprecision this test measured 0.184 here too.
func TestInt8ParityOnAVX2WithoutVNNI(t *testing.T) {
	if os.Getenv(emulatedCPUEnv) != "" {
		t.Skip("already under emulation")
	}
	if testing.Short() {
		t.Skip("emulating a CPU takes about 10 minutes; skipped in -short mode")
	}
	qemu := testtool.Need(t, "qemu-x86_64")[0]
	// A plain test binary: the race detector's runtime does not run under user-mode emulation.
	bin := filepath.Join(t.TempDir(), "inference.test")
	if out, err := exec.Command("go", "test", "-c", "-race=false", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building the test binary: %v\n%s", err, out)
	}
	cmd := exec.Command(qemu, "-cpu", "Haswell", bin, "-test.run", "^TestParityWithTraining$/^int8$", "-test.v")
	cmd.Env = append(os.Environ(), emulatedCPUEnv+"=Haswell")
	out, err := cmd.CombinedOutput()
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if !strings.Contains(l, "TCG doesn't support") {
			lines = append(lines, l)
		}
	}
	t.Logf("under qemu-x86_64 -cpu Haswell:\n%s", strings.Join(lines, "\n"))
	if err != nil {
		t.Fatalf("int8 parity fails on an AVX2 CPU without VNNI: %v", err)
	}
}
