package inference

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"

	"github.com/disintegration/imaging"
)

// Tier is the risk tier shown to the clinician, derived from calibrated probabilities.
type Tier string

// Risk tiers, most to least urgent. The model's own three (TierFor) come from the card's
// thresholds on calibrated probabilities (Card.Tiers):
//
//   - urgent:  P(mel) >= urgent_melanoma, or P(mel)+P(bcc)+P(akiec) >= urgent_malignant
//   - review:  P(mel)+P(bcc)+P(akiec) >= review_malignant
//   - routine: otherwise
//
// The thresholds are deliberately low: missing a melanoma costs far more than an extra
// referral, and a clinic's dermatoscope is always one the model never saw (the card says how
// they were chosen). `dermal eval` reports how many malignant photos each tier catches. The
// other two tiers are decided outside the model (package triage): retake (a failed quality
// check: cannot assess) and cannot_assess (a plain photo with no 7-point checklist).
const (
	TierUrgent       Tier = "urgent"
	TierReview       Tier = "review"
	TierRetake       Tier = "retake"
	TierCannotAssess Tier = "cannot_assess"
	TierRoutine      Tier = "routine"
)

// Tiers lists every tier, most to least urgent.
var Tiers = []Tier{TierUrgent, TierReview, TierRetake, TierCannotAssess, TierRoutine}

// Color is the tier's colour, the same on screen and on paper: red, amber, blue, grey, green.
func (t Tier) Color() color.NRGBA {
	switch t {
	case TierUrgent:
		return color.NRGBA{R: 190, G: 30, B: 30, A: 255}
	case TierReview:
		return color.NRGBA{R: 200, G: 110, B: 0, A: 255}
	case TierRetake:
		return color.NRGBA{R: 40, G: 90, B: 170, A: 255}
	case TierCannotAssess:
		return color.NRGBA{R: 90, G: 90, B: 100, A: 255}
	}
	return color.NRGBA{R: 30, G: 130, B: 60, A: 255}
}

// Softmax returns the probabilities softmax((logits + bias) / temperature); bias may be nil.
func Softmax(logits []float32, bias []float64, temperature float64) []float64 {
	p := make([]float64, len(logits))
	z := make([]float64, len(logits))
	m := math.Inf(-1)
	for i, v := range logits {
		z[i] = float64(v)
		if bias != nil {
			z[i] += bias[i]
		}
		z[i] /= temperature
		m = math.Max(m, z[i])
	}
	var sum float64
	for i := range z {
		p[i] = math.Exp(z[i] - m)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// TierFor is the model's own tier for calibrated probabilities: urgent, review or routine.
// What the clinician is shown also weighs photo quality, photo type and the checklist
// (triage.Decide).
func TierFor(card Card, probs []float64) Tier {
	mel := probs[card.LabelIndex("mel")]
	var mal float64
	for _, c := range card.Malignant {
		mal += probs[card.LabelIndex(c)]
	}
	switch {
	case mel >= card.Tiers.UrgentMelanoma || mal >= card.Tiers.UrgentMalignant:
		return TierUrgent
	case mal >= card.Tiers.ReviewMalignant:
		return TierReview
	default:
		return TierRoutine
	}
}

// Assessment is the result of analysing one photo.
type Assessment struct {
	Probabilities []float64 // in card label order, temperature-scaled, sum 1
	Top           int
	Tier          Tier // the model's own tier (TierFor); triage.Decide gives the one shown
	Warnings      []Warning
	OODScore      float64
	Raw           *Raw         // averaged over the card's test-time views: what the result comes from
	Identity      *Raw         // the picture as it is, one forward pass (parity checks, debugging)
	Canonical     *image.NRGBA // the 200x150 picture the model saw
	card          Card
}

// Card is the model card the assessment was made with.
func (a *Assessment) Card() Card { return a.card }

// TopLabel is the most probable class code.
func (a *Assessment) TopLabel() string { return a.card.Labels[a.Top] }

// Malignancy is P(mel)+P(bcc)+P(akiec).
func (a *Assessment) Malignancy() float64 {
	var s float64
	for _, c := range a.card.Malignant {
		s += a.Probabilities[a.card.LabelIndex(c)]
	}
	return s
}

// ProbabilityMap keys probabilities by class code.
func (a *Assessment) ProbabilityMap() map[string]float64 {
	m := make(map[string]float64, len(a.Probabilities))
	for i, c := range a.card.Labels {
		m[c] = a.Probabilities[i]
	}
	return m
}

// GradCAM returns the normalized Grad-CAM map of a class (see GradCAMFromRaw).
func (a *Assessment) GradCAM(class int) (*Heatmap, error) {
	if class < 0 || class >= len(a.card.Labels) {
		return nil, fmt.Errorf("class %d is not one of the model's %d classes", class, len(a.card.Labels))
	}
	return GradCAMFromRaw(a.Raw, class), nil
}

// Test-time views (card "test_time_augmentation").
const (
	ViewIdentity = "identity"
	ViewFlipH    = "flip_h"
	ViewFlipV    = "flip_v"
	ViewFlipHV   = "flip_hv"
)

// KnownViews lists the views a card may name.
var KnownViews = []string{ViewIdentity, ViewFlipH, ViewFlipV, ViewFlipHV}

func flips(view string) (h, v bool) {
	return view == ViewFlipH || view == ViewFlipHV, view == ViewFlipV || view == ViewFlipHV
}

// viewOf returns the picture as the view shows it.
func viewOf(pic *image.NRGBA, view string) *image.NRGBA {
	h, v := flips(view)
	if h {
		pic = imaging.FlipH(pic)
	}
	if v {
		pic = imaging.FlipV(pic)
	}
	return pic
}

// unflipCAM turns a view's class maps ([k][h][w]) back to the picture's orientation, in place.
func unflipCAM(cam []float32, k, h, w int, view string) {
	fh, fv := flips(view)
	for c := 0; c < k; c++ {
		m := cam[c*h*w : (c+1)*h*w]
		if fh {
			for y := 0; y < h; y++ {
				slices.Reverse(m[y*w : (y+1)*w])
			}
		}
		if fv {
			for y := 0; y < h/2; y++ {
				a, b := m[y*w:(y+1)*w], m[(h-1-y)*w:(h-y)*w]
				for x := range a {
					a[x], b[x] = b[x], a[x]
				}
			}
		}
	}
}

// runViews runs every test-time view of the canonical picture and averages logits and
// (turned-back) class maps; the embedding is the identity view's. It also returns the identity
// view's own output.
func (e *Engine) runViews(pic *image.NRGBA) (avg, identity *Raw, err error) {
	views := e.model.Card.Views
	if len(views) == 0 {
		views = []string{ViewIdentity}
	}
	for _, view := range views {
		r, err := e.Run(viewOf(pic, view))
		if err != nil {
			return nil, nil, err
		}
		if view == ViewIdentity {
			identity = &Raw{Logits: slices.Clone(r.Logits), CAM: slices.Clone(r.CAM), CAMWidth: r.CAMWidth, CAMHeight: r.CAMHeight, Embedding: r.Embedding}
		}
		unflipCAM(r.CAM, len(r.Logits), r.CAMHeight, r.CAMWidth, view)
		if avg == nil {
			avg = r
			continue
		}
		for i, v := range r.Logits {
			avg.Logits[i] += v
		}
		for i, v := range r.CAM {
			avg.CAM[i] += v
		}
	}
	n := float32(len(views))
	for i := range avg.Logits {
		avg.Logits[i] /= n
	}
	for i := range avg.CAM {
		avg.CAM[i] /= n
	}
	avg.Embedding = identity.Embedding
	return avg, identity, nil
}

// Assess runs the whole analysis of one decoded photo.
func (e *Engine) Assess(p *Photo) (*Assessment, error) {
	card := e.model.Card
	pic := Canonical(p.Image, card.Input.Width, card.Input.Height)
	raw, identity, err := e.runViews(pic)
	if err != nil {
		return nil, err
	}
	probs := Softmax(raw.Logits, card.LogitBias, card.Temperature)
	top := ArgMax(probs)
	warnings, ood := CheckQuality(e.model, p.Width, p.Height, pic, raw.Embedding)
	return &Assessment{
		Probabilities: probs,
		Top:           top,
		Tier:          TierFor(card, probs),
		Warnings:      warnings,
		OODScore:      ood,
		Raw:           raw,
		Identity:      identity,
		Canonical:     pic,
		card:          card,
	}, nil
}

// AssessmentOf is an assessment made from given calibrated probabilities and warnings, with
// no photo behind it: for rules that start from probabilities (triage's tests, what-if
// tables) without running the network.
func AssessmentOf(card Card, probs []float64, warnings []Warning) *Assessment {
	return &Assessment{Probabilities: probs, Top: ArgMax(probs), Tier: TierFor(card, probs), Warnings: warnings, card: card}
}
