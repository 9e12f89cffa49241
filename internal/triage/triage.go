// Package triage decides the tier a clinician is shown for one photo, from everything known of
// it: the model's calibrated probabilities and quality checks, whether the photo was taken
// through a dermatoscope, the clinician's dermoscopic 7-point checklist (Argenziano) and the
// clinical weighted 7-point checklist (MacKie/NICE). It also names what drove the
// tier, so that the result is headed by that ("Melanoma 44% — refer urgently") and never by a
// benign class under an urgent banner. The model's own thresholds stay with the model
// (inference.TierFor); the rules that combine them with the clinician's findings live here.
package triage

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"dermal/internal/inference"
)

// PhotoType says how a photo was taken. The model was trained and validated only on
// dermoscopic photos.
type PhotoType string

// Photo types (stored, JSON, command line).
const (
	Dermoscopic PhotoType = "dermoscopic"
	Plain       PhotoType = "plain"
)

// PhotoTypes lists them in the order forms show them.
var PhotoTypes = []PhotoType{Dermoscopic, Plain}

// ErrInvalid means a finding named something triage does not know.
var ErrInvalid = errors.New("invalid finding")

// ParsePhotoType reads a photo type as typed; "" is dermoscopic (what every earlier version
// assumed).
func ParsePhotoType(s string) (PhotoType, error) {
	switch t := PhotoType(strings.ToLower(strings.TrimSpace(s))); t {
	case "":
		return Dermoscopic, nil
	case Dermoscopic, Plain:
		return t, nil
	}
	return "", fmt.Errorf("%w: photo type %q is not dermoscopic or plain", ErrInvalid, s)
}

// ModelValidated reports whether the model's output means anything for this kind of photo.
func (t PhotoType) ModelValidated() bool { return t != Plain }

// Item is one sign of the weighted 7-point checklist (MacKie; NICE NG12 1.7.2).
type Item string

// The checklist's items: three major signs (2 points each), four minor (1 point each).
const (
	ChangeInSize   Item = "size"
	ChangeInShape  Item = "shape"
	ChangeInColour Item = "colour"
	Diameter7mm    Item = "diameter"
	Inflammation   Item = "inflammation"
	Oozing         Item = "oozing"
	Sensation      Item = "sensation"
)

// Items lists the checklist in its printed order.
var Items = []Item{ChangeInSize, ChangeInShape, ChangeInColour, Diameter7mm, Inflammation, Oozing, Sensation}

// Weight is the item's points: 2 for a major sign, 1 for a minor one.
func (i Item) Weight() int {
	switch i {
	case ChangeInSize, ChangeInShape, ChangeInColour:
		return 2
	}
	return 1
}

// ReferScore is the weighted score at which NICE NG12 asks for a suspected-cancer referral.
const ReferScore = 3

// SevenPoint is a completed checklist: the items present. A nil *SevenPoint means the
// checklist was not done; an empty one means it was done and nothing was present.
type SevenPoint struct {
	Items []Item `json:"items"`
	Score int    `json:"score"`
}

// NewSevenPoint checks the items, drops repeats, orders them and computes the score.
func NewSevenPoint(items []Item) (*SevenPoint, error) {
	present, score, err := tally("7-point checklist item", items, Items)
	if err != nil {
		return nil, err
	}
	return &SevenPoint{Items: present, Score: score}, nil
}

// ParseSevenPoint reads "size,shape,…" as typed on the command line; "none" is a checklist
// done with nothing present, and "" is no checklist (nil).
func ParseSevenPoint(s string) (*SevenPoint, error) {
	items, done := splitList[Item](s)
	if !done {
		return nil, nil
	}
	return NewSevenPoint(items)
}

// Refer reports whether the score asks for a referral.
func (s *SevenPoint) Refer() bool { return s != nil && s.Score >= ReferScore }

// sign is an item of a weighted checklist (Item, Criterion): a name worth some points.
type sign interface {
	~string
	Weight() int
}

// tally checks items against all (the checklist in its printed order), drops repeats, orders
// them and adds up their points; what names an item in the error for an unknown one.
func tally[T sign](what string, items, all []T) ([]T, int, error) {
	for _, it := range items {
		if !slices.Contains(all, it) {
			return nil, 0, fmt.Errorf("%w: %s %q is not one of %s", ErrInvalid, what, it, joinNames(all))
		}
	}
	present, score := []T{}, 0
	for _, it := range all {
		if slices.Contains(items, it) {
			present = append(present, it)
			score += it.Weight()
		}
	}
	return present, score, nil
}

// splitList reads a checklist as typed on the command line: "a, b,…" (lower-cased), "none"
// for a checklist done with nothing present, "" for none done (done false).
func splitList[T ~string](s string) (items []T, done bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, false
	}
	if strings.EqualFold(s, "none") {
		return nil, true
	}
	for _, f := range strings.Split(s, ",") {
		items = append(items, T(strings.ToLower(strings.TrimSpace(f))))
	}
	return items, true
}

func joinNames[T ~string](items []T) string {
	var ss []string
	for _, it := range items {
		ss = append(ss, string(it))
	}
	return strings.Join(ss, ", ")
}

// Sign is one ABCDE sign. ABCDE is recorded and printed as a description of the lesion; the
// tier uses the weighted 7-point checklist, which has a validated referral score.
type Sign string

// The ABCDE signs.
const (
	Asymmetry Sign = "asymmetry"
	Border    Sign = "border"
	Colour    Sign = "colour"
	Diameter  Sign = "diameter"
	Evolving  Sign = "evolving"
)

// Signs lists ABCDE in order.
var Signs = []Sign{Asymmetry, Border, Colour, Diameter, Evolving}

// ParseABCDE reads "asymmetry,border,…" (or the letters "a,b,…"); "" is not recorded.
func ParseABCDE(s string) ([]Sign, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if strings.EqualFold(s, "none") {
		return []Sign{}, nil
	}
	var got []Sign
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		found := false
		for _, sg := range Signs {
			if f == string(sg) || f == string(sg[:1]) {
				got = append(got, sg)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: ABCDE sign %q is not one of asymmetry, border, colour, diameter, evolving", ErrInvalid, f)
		}
	}
	return OrderSigns(got), nil
}

// OrderSigns returns the signs in ABCDE order without repeats.
func OrderSigns(signs []Sign) []Sign {
	out := []Sign{}
	for _, sg := range Signs {
		if slices.Contains(signs, sg) {
			out = append(out, sg)
		}
	}
	return out
}

// Driver names what decided a tier.
type Driver string

// Drivers other than a model class (a class's code is its own driver).
const (
	DriverChecklist  Driver = "seven_point"   // the clinical weighted 7-point score
	DriverDermoscopy Driver = "dermoscopy"    // the dermoscopic 7-point score
	DriverQuality    Driver = "quality"       // a failed quality check: cannot assess, retake
	DriverPlain      Driver = "plain_photo"   // a plain photo with no checklist: cannot assess
	DriverMalignant  Driver = "malignant_sum" // the malignant classes together (with Class the largest)
)

// Findings are the clinician's inputs to the tier.
type Findings struct {
	PhotoType  PhotoType
	SevenPoint *SevenPoint // nil: not done
	Dermoscopy *Dermoscopy // nil: not done
}

// Decision is the tier shown and what it rests on.
type Decision struct {
	Tier inference.Tier
	// Driver is what decided the tier; Class is the model class the headline names and the
	// Grad-CAM map shows by default (-1 when the model's output is not what decided).
	Driver Driver
	Class  int
	// Probability is Class's probability; Malignancy the malignant classes together.
	Probability    float64
	Malignancy     float64
	ModelValidated bool
	SevenPoint     *SevenPoint
	Dermoscopy     *Dermoscopy
}

// PhotoType is the kind of photo the decision was made for.
func (d Decision) PhotoType() PhotoType {
	if d.ModelValidated {
		return Dermoscopic
	}
	return Plain
}

// The model as a second reader beside a done dermoscopic checklist (see Decide): below the
// checklist's referral score the model's tier stands only when it is confident on its own, that
// is when it finds melanoma very likely (P(mel) ≥ 0.85) or the malignant classes together
// (≥ 0.90). Its own review threshold (the model card's) keeps 90% of the melanomas from
// institutions it never saw by referring 33-79% of their nevi (model 4's recipe; Barcelona, the
// IDS and rosendahl held out whole: training/dermoscopy_rule.py). Beside a checklist that flags
// about a fifth of nevi, that would send most of them anyway. These thresholds are the pair on a
// 0.05 grid that flags the most melanomas on the worst of those institutions while flagging at
// most 17.6% of any one's nevi (the most model 3.0.0's 0.6/0.8 flagged on its own held-out
// sources): 52.4%, 47.9% and 21.9% of melanomas at 17.5%, 0.6% and 4.1% of nevi (`training/dermoscopy_rule.py
// --choose`; README "The triage rule"). They rest on the shipped model's calibration.
const (
	SecondReaderMelanoma  = 0.85
	SecondReaderMalignant = 0.90
)

// Decide combines the model's assessment with the findings.
//
// Dermoscopic photo, no dermoscopic checklist: the model's tier (inference.TierFor). A failed
// quality check or "not a lesion" makes it "cannot assess — retake" unless the model already
// says urgent (a bad photo never lowers an urgent result).
//
// Dermoscopic photo with the dermoscopic 7-point checklist done, the clinician first and the
// model second reader (README "The triage rule"):
//   - score ≥ 3: urgent, driven by the checklist, whatever the model says (the authors'
//     melanoma threshold);
//   - below 3, a model confident on its own (P(mel) ≥ SecondReaderMelanoma or P(malignant) ≥
//     SecondReaderMalignant) keeps its tier (urgent), driven by the model;
//   - below 3 otherwise: a failed quality check is "cannot assess — retake" (the second
//     reader could not read), else routine, driven by the checklist.
//
// Either way the clinical weighted 7-point score of 3 or more makes it urgent.
//
// Plain photo: the model is not validated there, so its output is shown but never decides.
// The checklists do: either score ≥ 3 urgent, below it low concern; with neither the result is
// "cannot assess".
func Decide(a *inference.Assessment, f Findings) Decision {
	card := a.Card()
	d := Decision{Tier: inference.TierRoutine, Class: -1, Malignancy: a.Malignancy(), ModelValidated: f.PhotoType.ModelValidated(),
		SevenPoint: f.SevenPoint, Dermoscopy: f.Dermoscopy}
	if !d.ModelValidated {
		switch {
		case f.Dermoscopy.Refer():
			d.Tier, d.Driver = inference.TierUrgent, DriverDermoscopy
		case f.SevenPoint.Refer():
			d.Tier, d.Driver = inference.TierUrgent, DriverChecklist
		case f.SevenPoint != nil:
			d.Tier, d.Driver = inference.TierRoutine, DriverChecklist
		case f.Dermoscopy != nil:
			d.Tier, d.Driver = inference.TierRoutine, DriverDermoscopy
		default:
			d.Tier, d.Driver = inference.TierCannotAssess, DriverPlain
		}
		return d
	}
	model := a.Tier
	mel := card.LabelIndex("mel")
	largestMalignant := -1
	for _, c := range card.Malignant {
		i := card.LabelIndex(c)
		if largestMalignant < 0 || a.Probabilities[i] > a.Probabilities[largestMalignant] {
			largestMalignant = i
		}
	}
	// modelDriver names what in the model's output drove a tier it raised.
	modelDriver := func(melanoma bool) (Driver, int) {
		if melanoma {
			return Driver(card.Labels[mel]), mel
		}
		return DriverMalignant, largestMalignant
	}
	retake := inference.NeedsRetake(a.Warnings)
	switch {
	case f.Dermoscopy.Refer():
		d.Tier, d.Driver = inference.TierUrgent, DriverDermoscopy
	case f.Dermoscopy != nil:
		strongMel := a.Probabilities[mel] >= SecondReaderMelanoma
		strong := strongMel || d.Malignancy >= SecondReaderMalignant
		switch {
		case strong:
			d.Tier = model // urgent: the strong thresholds lie above the urgent ones
			d.Driver, d.Class = modelDriver(strongMel)
		case retake:
			d.Tier, d.Driver = inference.TierRetake, DriverQuality
		default:
			d.Tier, d.Driver = inference.TierRoutine, DriverDermoscopy
		}
	default:
		d.Tier = model
		switch {
		case model == inference.TierUrgent && a.Probabilities[mel] >= card.Tiers.UrgentMelanoma:
			d.Driver, d.Class = modelDriver(true)
		case model == inference.TierUrgent || model == inference.TierReview:
			d.Driver, d.Class = modelDriver(false)
		default:
			d.Driver, d.Class = Driver(card.Labels[a.Top]), a.Top
		}
		if retake && model != inference.TierUrgent {
			d.Tier, d.Driver, d.Class = inference.TierRetake, DriverQuality, -1
		}
	}
	if f.SevenPoint.Refer() && d.Tier != inference.TierUrgent {
		d.Tier, d.Driver, d.Class = inference.TierUrgent, DriverChecklist, -1
	}
	if d.Class >= 0 {
		d.Probability = a.Probabilities[d.Class]
	}
	return d
}

// MapClass is the class the Grad-CAM map shows by default: the one the headline names, else
// the most probable.
func (d Decision) MapClass(a *inference.Assessment) int {
	if d.Class >= 0 {
		return d.Class
	}
	return a.Top
}
