package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"github.com/disintegration/imaging"

	"dermal/internal/clinic"
	"dermal/internal/inference"
	"dermal/internal/locale"
	"dermal/internal/triage"
)

// ModelRef names the exact model behind a result.
type ModelRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	// CardSHA256 is the model card's own SHA-256: the card's calibration, views and
	// thresholds shape the result as much as the network does.
	CardSHA256 string `json:"card_sha256"`
}

func modelRef(card inference.Card) ModelRef {
	return ModelRef{card.Name, card.Version, card.SHA256, card.DocSHA256}
}

// ClassifyResult is one line of `dermal classify --json` (JSON Lines: one object per image).
// Field names are stable; new fields may be added.
type ClassifyResult struct {
	File           string             `json:"file"`
	Model          ModelRef           `json:"model"`
	TopClass       string             `json:"top_class,omitempty"`
	TopProbability float64            `json:"top_probability,omitempty"`
	Probabilities  map[string]float64 `json:"probabilities,omitempty"`
	Malignancy     float64            `json:"malignancy,omitempty"`
	RiskTier       string             `json:"risk_tier,omitempty"`
	// Headline names what drove the tier ("Melanoma 44% — refer urgently (seen within 2
	// weeks)"); TierDriver is that in code: a class code, "malignant_sum", "dermoscopy",
	// "seven_point", "quality" or "plain_photo".
	Headline       string `json:"headline,omitempty"`
	TierDriver     string `json:"tier_driver,omitempty"`
	Advice         string `json:"advice,omitempty"`
	PhotoType      string `json:"photo_type,omitempty"`
	ModelValidated bool   `json:"model_validated"`
	// Dermoscopy is the dermoscopic 7-point checklist the tier was decided with: {"items":
	// [...], "score": N}, null when it was not done.
	Dermoscopy *triage.Dermoscopy  `json:"dermoscopy"`
	Warnings   []inference.Warning `json:"warnings"`
	OODScore   float64             `json:"ood_score,omitempty"`
	GradCAM    *GradCAMRef         `json:"gradcam,omitempty"`
	Error      string              `json:"error,omitempty"`
}

// GradCAMRef says which class the written overlay explains, and where it is.
type GradCAMRef struct {
	Class string `json:"class"`
	File  string `json:"file"`
}

// OverlayMaxSide bounds the Grad-CAM overlay's size: enough to see, cheap in memory even for
// a 50-megapixel photo.
const OverlayMaxSide = 1024

func runClassify(env *Env, args []string) error {
	fs := flag.NewFlagSet("classify", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	asJSON := fs.Bool("json", false, "print one JSON object per image")
	gradcam := fs.String("gradcam", "", "write the Grad-CAM overlay PNG here (a folder when classifying several images)")
	class := fs.String("class", "", "class code for Grad-CAM (default: the top class)")
	opacity := fs.Float64("opacity", clinic.OverlayOpacity, "Grad-CAM overlay opacity, 0..1")
	photoType := fs.String("photo-type", "dermoscopic", photoTypeUsage)
	dermoscopy := fs.String("dermoscopy", "", dermoscopyUsage)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: no image given", ErrUsage)
	}
	exam, err := examination(fs, *photoType, 0, "", *dermoscopy, "")
	if err != nil {
		return err
	}
	eng, err := env.Engine()
	if err != nil {
		return err
	}
	defer eng.Close()
	// Photos are read under the watchdog like the app's: priced before decoding, so a small
	// file that decodes to gigabytes is refused instead of taking the laptop down.
	c := clinic.New(eng, nil, env.guard(eng))
	defer c.Close()
	card := eng.Card()
	if *class != "" && card.LabelIndex(*class) < 0 {
		return fmt.Errorf("%w: --class %q is not one of %s", ErrUsage, *class, strings.Join(card.Labels, ", "))
	}
	several := fs.NArg() > 1
	if *gradcam != "" && several {
		if err := os.MkdirAll(*gradcam, 0o755); err != nil {
			return err
		}
	}
	failed := 0
	enc := json.NewEncoder(env.Stdout)
	for _, path := range fs.Args() {
		res := ClassifyResult{File: path, Model: modelRef(card), Warnings: []inference.Warning{}}
		err := classifyOne(c, eng, path, exam, *class, *gradcam, several, *opacity, &res)
		if err != nil {
			failed++
			res.Error = err.Error()
			fmt.Fprintf(env.Stderr, "dermal classify: %v\n", err)
			if errors.Is(err, inference.ErrLibraryNotFound) || errors.Is(err, inference.ErrModelMismatch) {
				return err // nothing else can succeed
			}
		}
		if *asJSON {
			if err := enc.Encode(res); err != nil {
				return err
			}
		} else if res.Error == "" {
			printResult(env, card, &res)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d images could not be classified", failed, fs.NArg())
	}
	return nil
}

func classifyOne(c *clinic.Clinic, eng *inference.Engine, path string, exam clinic.Examination, class, gradcam string, several bool, opacity float64, res *ClassifyResult) error {
	photo, err := c.ReadPhoto(path)
	if err != nil {
		return err
	}
	a, err := eng.Assess(photo)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	d := clinic.Decide(a, exam)
	fillResult(res, a, d)
	if gradcam == "" {
		return nil
	}
	ci := d.MapClass(a)
	if class != "" {
		ci = eng.Card().LabelIndex(class)
	}
	heat, err := a.GradCAM(ci)
	if err != nil {
		return err
	}
	out := gradcam
	if several {
		base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		out = filepath.Join(gradcam, base+".gradcam.png")
	}
	view := imaging.Fit(photo.Image, OverlayMaxSide, OverlayMaxSide, imaging.Lanczos)
	if err := writePNG(out, heat.Overlay(view, opacity)); err != nil {
		return err
	}
	res.GradCAM = &GradCAMRef{Class: eng.Card().Labels[ci], File: out}
	return nil
}

// fillResult copies an analysis and the tier decided from it into a result (classify and
// assess print the same fields).
func fillResult(res *ClassifyResult, a *inference.Assessment, d clinic.Triage) {
	res.TopClass = a.TopLabel()
	res.TopProbability = a.Probabilities[a.Top]
	res.Probabilities = a.ProbabilityMap()
	res.Malignancy = a.Malignancy()
	res.RiskTier = string(d.Tier)
	res.TierDriver = string(d.Driver)
	res.PhotoType = string(d.PhotoType())
	res.ModelValidated = d.ModelValidated
	res.Dermoscopy = d.Dermoscopy
	// The wording has one owner, the translations (the window and the PDF read it too); the
	// command line speaks English.
	res.Headline = clinic.DecisionHeadline("en", a, d)
	res.Advice = locale.T("en", clinic.AdviceKey(d.Tier, d.Driver, d.Dermoscopy != nil))
	res.Warnings = append(res.Warnings, a.Warnings...)
	res.OODScore = a.OODScore
}

// writePNG writes atomically: a crash never leaves a half-written picture under the name.
func writePNG(path string, img image.Image) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dermal-*.png")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := png.Encode(tmp, img); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func printResult(env *Env, card inference.Card, r *ClassifyResult) {
	fmt.Fprintf(env.Stdout, "%s\n  %s\n  risk: %s   top class: %s (%.1f%%)\n  %s\n", r.File, r.Headline, r.RiskTier, r.TopClass, 100*r.TopProbability, r.Advice)
	if !r.ModelValidated {
		fmt.Fprintf(env.Stdout, "  %s\n", locale.T("en", "model.not_validated"))
	}
	for _, c := range card.Labels {
		p := r.Probabilities[c]
		fmt.Fprintf(env.Stdout, "  %-6s %5.1f%% %s\n", c, 100*p, strings.Repeat("#", int(p*40+0.5)))
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(env.Stdout, "  WARNING (%s): %s\n", w.Code, w.Message)
	}
	if r.GradCAM != nil {
		fmt.Fprintf(env.Stdout, "  Grad-CAM for %s: %s\n", r.GradCAM.Class, r.GradCAM.File)
	}
}
