package cli

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"dermal/internal/accounts"
	"dermal/internal/assets"
	"dermal/internal/backupcrypt"
	"dermal/internal/locale"
	"dermal/internal/version"
)

const fixtures = "../inference/testdata/fixtures"

func init() {
	// Many logins and backups in one process under -race: cheap costs keep its memory (which
	// the watchdog reads) low. The shipped costs are measured in make bench.
	hashParams = &accounts.Params{MemoryKiB: 1024, Time: 1, Threads: 1}
	backupcrypt.ScryptWorkFactor = 10
}

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	g, rest, err := ParseGlobal(args, &errb)
	if err != nil {
		t.Fatal(err)
	}
	code := Run(g, rest, &out, &errb)
	return code, out.String(), errb.String()
}

func fixtureFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(fixtures, "*.png"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	return files
}

func TestClassifyJSONKeepsGoingPastABadFile(t *testing.T) {
	files := fixtureFiles(t)
	bad := filepath.Join(t.TempDir(), "notes.jpg")
	if err := os.WriteFile(bad, []byte("not a photo"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"classify", "--json", files[0], bad}, files[1:3]...)
	code, out, stderr := run(t, args...)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (one bad file); stderr %s", code, stderr)
	}
	if !strings.Contains(stderr, "notes.jpg") || !strings.Contains(stderr, "not a supported image format") {
		t.Errorf("stderr does not name the bad file and why: %s", stderr)
	}
	var results []ClassifyResult
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r ClassifyResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		results = append(results, r)
	}
	if len(results) != 4 {
		t.Fatalf("%d results for 4 files", len(results))
	}
	for i, r := range results {
		if r.File != args[2+i] {
			t.Errorf("result %d is for %s, want %s", i, r.File, args[2+i])
		}
		if len(r.Model.SHA256) != 64 {
			t.Errorf("%s: model sha256 %q", r.File, r.Model.SHA256)
		}
		if r.File == bad {
			if r.Error == "" || r.Probabilities != nil {
				t.Errorf("bad file result: %+v", r)
			}
			continue
		}
		var sum float64
		for _, c := range []string{"akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"} {
			p, ok := r.Probabilities[c]
			if !ok {
				t.Errorf("%s: no probability for %s", r.File, c)
			}
			sum += p
		}
		if math.Abs(sum-1) > 1e-9 || r.Probabilities[r.TopClass] != r.TopProbability || r.RiskTier == "" || r.Error != "" {
			t.Errorf("%s: inconsistent result %+v", r.File, r)
		}
		// The advice is the tier's one wording, the one the window and the report show.
		if want := locale.T("en", "advice."+r.RiskTier); r.Advice != want || strings.HasPrefix(want, "advice.") {
			t.Errorf("%s: advice %q, want %q", r.File, r.Advice, want)
		}
	}
}

func TestClassifyWritesGradCAM(t *testing.T) {
	out := filepath.Join(t.TempDir(), "cam.png")
	f := fixtureFiles(t)[0]
	code, stdout, stderr := run(t, "classify", "--json", "--gradcam", out, "--class", "mel", f)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r ClassifyResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if r.GradCAM == nil || r.GradCAM.Class != "mel" || r.GradCAM.File != out {
		t.Fatalf("gradcam %+v", r.GradCAM)
	}
	fh, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 200 || b.Dy() != 150 {
		t.Errorf("overlay is %v, want the photo's 200x150", b)
	}
	if code, _, _ := run(t, "classify", "--class", "cancer", f); code != 2 {
		t.Errorf("unknown --class: exit %d, want 2", code)
	}
}

func TestEvalReadsBothLabelFormats(t *testing.T) {
	files := fixtureFiles(t)
	dir := t.TempDir()
	var ham, isic strings.Builder
	ham.WriteString("lesion_id,image_id,dx\n")
	isic.WriteString("image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\n")
	cols := []string{"mel", "nv", "bcc", "akiec", "bkl", "df", "vasc"}
	var fx struct {
		Fixtures []struct{ File, Dx string }
	}
	b, err := os.ReadFile(filepath.Join(fixtures, "fixtures.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	for _, f := range fx.Fixtures {
		id := strings.TrimSuffix(f.File, ".png")
		ham.WriteString("L," + id + "," + f.Dx + "\n")
		row := []string{id}
		for _, c := range cols {
			v := "0.0"
			if c == f.Dx {
				v = "1.0"
			}
			row = append(row, v)
		}
		isic.WriteString(strings.Join(row, ",") + "\n")
	}
	// A photo known only as benign (training/split.csv's acral rows without a subtype) is
	// counted, not scored, and not an error.
	ham.WriteString("L,ISIC_benign_only,\n")
	var reports []EvalReport
	for name, body := range map[string]string{"ham.csv": ham.String(), "isic.csv": isic.String()} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, stderr := run(t, "eval", "--json", "--labels", p, fixtures)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		var r EvalReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		if r.Metrics.N != len(files) {
			t.Errorf("%s: scored %d of %d", name, r.Metrics.N, len(files))
		}
		if want := map[string]int{"ham.csv": 1, "isic.csv": 0}[name]; r.WithoutDiagnosis != want {
			t.Errorf("%s: %d rows without a diagnosis counted, want %d", name, r.WithoutDiagnosis, want)
		}
		total := 0
		for i, row := range r.Metrics.ConfusionMatrix {
			n := 0
			for _, v := range row {
				n += v
			}
			if n != 1 {
				t.Errorf("%s: class %d has %d images, the fixtures have one each", name, i, n)
			}
			total += n
		}
		reports = append(reports, r)
	}
	if reports[0].Metrics.Accuracy != reports[1].Metrics.Accuracy {
		t.Errorf("the two label formats scored differently: %v vs %v", reports[0].Metrics.Accuracy, reports[1].Metrics.Accuracy)
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("name,diagnosis\nx,mel\n"), 0o644)
	if code, _, stderr := run(t, "eval", "--labels", bad, fixtures); code != 1 || !strings.Contains(stderr, "unknown labels format") {
		t.Errorf("unknown format: exit %d, %s", code, stderr)
	}
}

func TestDoctor(t *testing.T) {
	private := filepath.Join(t.TempDir(), "data")
	os.Mkdir(private, 0o700)
	code, out, stderr := run(t, "--data", private, "doctor")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, stderr)
	}
	for _, want := range []string{"ok    dermal         version " + version.String(), "onnxruntime", "version 1.", "matches its card", "memory", "data folder", "translations   en, vi", "memory budget"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	// A data folder others can read is a failure that says what to do (it said "ok").
	open := t.TempDir()
	os.Chmod(open, 0o755)
	if code, out, _ := run(t, "--data", open, "doctor"); runtime.GOOS != "windows" && (code != 1 || !strings.Contains(out, "others can list it") || !strings.Contains(out, "chmod 700")) {
		t.Errorf("a folder others can read: exit %d\n%s", code, out)
	}
	file := filepath.Join(t.TempDir(), "records")
	os.WriteFile(file, nil, 0o644)
	if code, out, _ := run(t, "--data", file, "doctor"); code != 1 || !strings.Contains(out, "is not a folder") {
		t.Errorf("data folder that is a file: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, "--ort-lib", "/nonexistent/libonnxruntime.so.1", "doctor")
	if code != 1 || !strings.Contains(out, "ONNX Runtime library not found") {
		t.Errorf("missing library: exit %d\n%s", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"classify"}, {"eval", "dir"}, {"doctor", "x"}} {
		if code, _, _ := run(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// TestCardMetricsAreWhatTheModelScores re-scores the test split with the shipped model and
// compares with the model card: the split's test photos of the sources the card names
// (training/split.csv holds every training photo; model 4 was made from all twelve sources of
// the three folders). Needs the data sets beside the checkout.
func TestCardMetricsAreWhatTheModelScores(t *testing.T) {
	folders := []string{"ham10000", "isic_archive", "isic_acral"}
	for _, d := range folders {
		if _, err := os.Stat(filepath.Join("../../../shared/data", d, "images")); err != nil {
			t.Skipf("the training photos are not beside the checkout (only the full data sets can check the card's numbers): %v", err)
		}
	}
	var shipped struct {
		Split struct {
			Sources []string `json:"sources"`
		} `json:"split"`
	}
	if err := json.Unmarshal(assets.ModelCardJSON, &shipped); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("../../training/split.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	if _, ok := col["source"]; !ok {
		t.Fatalf("training/split.csv has no source column: %v", rows[0])
	}
	// The test photos lie in three folders; dermal eval reads one, so link them into one.
	images := t.TempDir()
	var labels strings.Builder
	labels.WriteString("image_id,dx,split\n")
	for _, r := range rows[1:] {
		id := r[col["image_id"]]
		if !slices.Contains(shipped.Split.Sources, r[col["source"]]) || r[col["split"]] != "test" || r[col["dx"]] == "" {
			continue
		}
		labels.WriteString(id + "," + r[col["dx"]] + ",test\n")
		for _, d := range folders {
			src, err := filepath.Abs(filepath.Join("../../../shared/data", d, "images", id+".jpg"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(src); err == nil {
				if err := os.Symlink(src, filepath.Join(images, id+".jpg")); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
	}
	path := filepath.Join(t.TempDir(), "labels.csv")
	if err := os.WriteFile(path, []byte(labels.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, "eval", "--json", "--labels", path, "--split", "test", images)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r EvalReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	m, err := Global{}.Model()
	if err != nil {
		t.Fatal(err)
	}
	card := m.Card.Metrics["int8"]
	got := r.Metrics
	for name, pair := range map[string][2]float64{
		"accuracy":          {got.Accuracy, card.Accuracy},
		"balanced accuracy": {got.BalancedAccuracy, card.BalancedAccuracy},
		"melanoma AUC":      {got.MelanomaAUC, card.MelanomaAUC},
		"malignant AUC":     {got.MalignantAUC, card.MalignantAUC},
		"ECE":               {got.ECECalibrated, card.ECECalibrated},
	} {
		if math.Abs(pair[0]-pair[1]) > 1e-6 {
			t.Errorf("%s: scored %.6f, the card says %.6f", name, pair[0], pair[1])
		}
	}
	if got.N != card.N {
		t.Errorf("scored %d images, card %d", got.N, card.N)
	}
	// What the card says its tiers do on the test split is what they do.
	if r.TierThresholds != m.Card.Tiers {
		t.Errorf("eval used thresholds %+v, the card has %+v", r.TierThresholds, m.Card.Tiers)
	}
	var doc struct {
		TierCapture map[string]struct {
			MalignantSensitivity float64 `json:"malignant_sensitivity"`
			BenignReferred       float64 `json:"benign_referred"`
		} `json:"tier_capture"`
	}
	if err := json.Unmarshal(assets.ModelCardJSON, &doc); err != nil {
		t.Fatal(err)
	}
	said := doc.TierCapture["test"]
	if sens := r.TierCapture["urgent"] + r.TierCapture["review"]; math.Abs(sens-said.MalignantSensitivity) > 1e-9 ||
		math.Abs(r.BenignReferred-said.BenignReferred) > 1e-9 {
		t.Errorf("tiers: malignant to urgent/review %.4f, benign referred %.4f; the card says %.4f, %.4f",
			sens, r.BenignReferred, said.MalignantSensitivity, said.BenignReferred)
	}
}

func TestVersion(t *testing.T) {
	code, out, stderr := run(t, "--version")
	if code != 0 || out != "Dermal "+version.String()+"\n" || stderr != "" {
		t.Errorf("--version: exit %d, %q, %q", code, out, stderr)
	}
	if !strings.HasPrefix(version.String(), "dev") {
		t.Errorf("a test binary is unstamped, yet its version is %q", version.String())
	}
}
