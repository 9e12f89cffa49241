package cli

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"dermal/internal/inference"
)

// LabelledImage is one row of a labels file.
type LabelledImage struct {
	ID    string
	Label string
}

// isicColumns are the ISIC 2018 Task 3 ground-truth columns and the HAM10000 codes they mean.
var isicColumns = map[string]string{"MEL": "mel", "NV": "nv", "BCC": "bcc", "AKIEC": "akiec", "BKL": "bkl", "DF": "df", "VASC": "vasc"}

// ReadLabels reads either the HAM10000 metadata format (columns image_id and dx, and
// optionally split, kept when it equals split; a row with an empty dx, a photo known only as
// benign or malignant in training/split.csv, comes back with an empty Label) or the ISIC 2018 Task 3 ground truth
// (image,MEL,NV,BCC,AKIEC,BKL,DF,VASC one-hot).
func ReadLabels(r io.Reader, split string) ([]LabelledImage, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	_, ham := col["dx"]
	_, isic := col["MEL"]
	if !ham && !isic {
		return nil, fmt.Errorf("unknown labels format: want columns image_id,dx (HAM10000) or image,MEL,NV,BCC,AKIEC,BKL,DF,VASC (ISIC 2018), got %s", strings.Join(header, ","))
	}
	if split != "" {
		if _, ok := col["split"]; !ok {
			return nil, fmt.Errorf("--split %s given but the labels file has no split column", split)
		}
	}
	var out []LabelledImage
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if split != "" && rec[col["split"]] != split {
			continue
		}
		if ham {
			id, ok := col["image_id"]
			if !ok {
				return nil, errors.New("HAM10000 labels need an image_id column")
			}
			out = append(out, LabelledImage{ID: rec[id], Label: rec[col["dx"]]})
			continue
		}
		label := ""
		for name, code := range isicColumns {
			v, err := strconv.ParseFloat(rec[col[name]], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d, column %s: %w", line, name, err)
			}
			if v >= 0.5 {
				if label != "" {
					return nil, fmt.Errorf("line %d: more than one class marked", line)
				}
				label = code
			}
		}
		if label == "" {
			return nil, fmt.Errorf("line %d: no class marked", line)
		}
		out = append(out, LabelledImage{ID: rec[col["image"]], Label: label})
	}
	if len(out) == 0 {
		return nil, errors.New("no labelled images")
	}
	return out, nil
}

func findImage(dir, id string) (string, error) {
	for _, ext := range []string{".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG", ""} {
		p := filepath.Join(dir, id+ext)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("no image file for %s in %s", id, dir)
}

// EvalReport is `dermal eval --json`.
type EvalReport struct {
	Model   ModelRef          `json:"model"`
	Metrics inference.Metrics `json:"metrics"`
	// TierCapture: of the malignant (mel, bcc, akiec) photos, the share put in each tier.
	TierCapture map[string]float64 `json:"malignant_by_tier"`
	// BenignReferred: share of benign photos sent to urgent or review.
	BenignReferred float64 `json:"benign_referred"`
	// TierThresholds are the card's, which decided the tiers above.
	TierThresholds inference.TierThresholds `json:"tier_thresholds"`
	// WithoutDiagnosis counts the labels file's rows with no diagnosis (known only as benign or
	// malignant): not scored, since every metric here needs one of the seven classes.
	WithoutDiagnosis int      `json:"without_diagnosis,omitempty"`
	Failed           []string `json:"failed,omitempty"`
}

// evalDump is what --logits-out writes, for the training pipeline's model card.
type evalDump struct {
	IDs    []string    `json:"ids"`
	Labels []string    `json:"labels"`
	Logits [][]float32 `json:"logits"` // what the result comes from (averaged test-time views)
	// IdentityLogits are one forward pass of the picture as it is (compared with training).
	IdentityLogits [][]float32 `json:"logits_identity"`
	OOD            []float64   `json:"ood"`
}

func runEval(env *Env, args []string) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	labelsPath := fs.String("labels", "", "labels CSV (HAM10000 metadata or ISIC 2018 Task 3 ground truth)")
	split := fs.String("split", "", "only rows whose split column equals this (e.g. test, with training/split.csv)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	dump := fs.String("logits-out", "", "also write every image's logits to this JSON file")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if *labelsPath == "" || fs.NArg() != 1 {
		return fmt.Errorf("%w: want --labels CSV and one image folder", ErrUsage)
	}
	f, err := os.Open(*labelsPath)
	if err != nil {
		return err
	}
	items, err := ReadLabels(f, *split)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", *labelsPath, err)
	}
	eng, err := env.Engine()
	if err != nil {
		return err
	}
	defer eng.Close()
	card := eng.Card()
	var probs, uncal [][]float64
	var truth []int
	var tiers []inference.Tier
	var d evalDump
	report := EvalReport{Model: modelRef(card), TierThresholds: card.Tiers}
	progress := isTerminal(env.Stderr)
	for i, it := range items {
		if progress && (i%25 == 0 || i == len(items)-1) {
			fmt.Fprintf(env.Stderr, "\rscoring %d/%d", i+1, len(items))
		}
		if it.Label == "" {
			report.WithoutDiagnosis++
			continue
		}
		k := card.LabelIndex(it.Label)
		if k < 0 {
			return fmt.Errorf("%s: label %q is not one of %s", it.ID, it.Label, strings.Join(card.Labels, ", "))
		}
		path, err := findImage(fs.Arg(0), it.ID)
		if err == nil {
			var photo *inference.Photo
			if photo, err = inference.ReadPhotoFile(path); err == nil {
				var a *inference.Assessment
				if a, err = eng.Assess(photo); err == nil {
					probs = append(probs, a.Probabilities)
					uncal = append(uncal, inference.Softmax(a.Raw.Logits, card.LogitBias, 1))
					truth = append(truth, k)
					tiers = append(tiers, a.Tier)
					d.IDs = append(d.IDs, it.ID)
					d.Labels = append(d.Labels, it.Label)
					d.Logits = append(d.Logits, a.Raw.Logits)
					d.IdentityLogits = append(d.IdentityLogits, a.Identity.Logits)
					d.OOD = append(d.OOD, a.OODScore)
				}
			}
		}
		if err != nil {
			if errors.Is(err, inference.ErrLibraryNotFound) {
				return err
			}
			report.Failed = append(report.Failed, err.Error())
		}
	}
	if progress {
		fmt.Fprintln(env.Stderr)
	}
	if len(truth) == 0 {
		return errors.New("no image could be scored")
	}
	report.Metrics = inference.Scores(card.Labels, card.Malignant, probs, truth, uncal)
	report.TierCapture = map[string]float64{}
	var nMal, nBen, benRef float64
	for i, t := range tiers {
		if slices.Contains(card.Malignant, card.Labels[truth[i]]) {
			nMal++
			report.TierCapture[string(t)]++
		} else {
			nBen++
			if t == inference.TierUrgent || t == inference.TierReview {
				benRef++
			}
		}
	}
	for t := range report.TierCapture {
		report.TierCapture[t] /= nMal
	}
	if nBen > 0 {
		report.BenignReferred = benRef / nBen
	}
	if *dump != "" {
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*dump, b, 0o644); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else {
		printEval(env, card, &report)
	}
	if len(report.Failed) > 0 {
		return fmt.Errorf("%d of %d images could not be scored", len(report.Failed), len(items))
	}
	return nil
}

func printEval(env *Env, card inference.Card, r *EvalReport) {
	m := r.Metrics
	w := env.Stdout
	fmt.Fprintf(w, "model %s (sha256 %s…), %d images\n", r.Model.Name, r.Model.SHA256[:12], m.N)
	fmt.Fprintf(w, "accuracy           %.4f\nbalanced accuracy  %.4f\nmelanoma AUC       %.4f\nmalignant AUC      %.4f\nECE                %.4f (uncalibrated %.4f)\n",
		m.Accuracy, m.BalancedAccuracy, m.MelanomaAUC, m.MalignantAUC, m.ECECalibrated, m.ECEUncalibrated)
	fmt.Fprintf(w, "\n%-6s %7s %7s %9s\n", "class", "n", "recall", "precision")
	for _, c := range card.Labels {
		pc := m.PerClass[c]
		fmt.Fprintf(w, "%-6s %7d %7s %9s\n", c, pc.Support, fmtOpt(pc.Recall), fmtOpt(pc.Precision))
	}
	fmt.Fprintf(w, "\nconfusion matrix (rows: truth, columns: predicted)\n%-6s", "")
	for _, c := range card.Labels {
		fmt.Fprintf(w, " %5s", c)
	}
	fmt.Fprintln(w)
	for i, row := range m.ConfusionMatrix {
		fmt.Fprintf(w, "%-6s", card.Labels[i])
		for _, v := range row {
			fmt.Fprintf(w, " %5d", v)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nmalignant photos by tier: urgent %.1f%%, review %.1f%%, retake %.1f%%, routine %.1f%%; benign photos referred: %.1f%%\n",
		100*r.TierCapture["urgent"], 100*r.TierCapture["review"], 100*r.TierCapture["retake"], 100*r.TierCapture["routine"], 100*r.BenignReferred)
	th := r.TierThresholds
	fmt.Fprintf(w, "tiers (the card's): urgent P(mel) >= %g or P(malignant) >= %g; review P(malignant) >= %g\n",
		th.UrgentMelanoma, th.UrgentMalignant, th.ReviewMalignant)
}

func fmtOpt(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *v)
}
