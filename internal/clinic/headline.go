package clinic

import (
	"dermal/internal/inference"
	"dermal/internal/storage"
	"dermal/internal/triage"
)

// Re-exported for the window: what the examination form offers.
type (
	PhotoType  = triage.PhotoType
	SevenPoint = triage.SevenPoint
	Dermoscopy = triage.Dermoscopy
	Criterion  = triage.Criterion
	CheckItem  = triage.Item
	Sign       = triage.Sign
	Triage     = triage.Decision
	Driver     = triage.Driver
)

// The examination's choices, in the order the forms list them.
var (
	PhotoTypes      = triage.PhotoTypes
	SevenPointItems = triage.Items
	DermoscopyItems = triage.Criteria
	ABCDESigns      = triage.Signs
)

// The dermoscopic checklist's criteria.
const (
	AtypicalNetwork   = triage.AtypicalNetwork
	BlueWhiteVeil     = triage.BlueWhiteVeil
	AtypicalVessels   = triage.AtypicalVessels
	IrregularStreaks  = triage.IrregularStreaks
	IrregularBlotches = triage.IrregularBlotches
	IrregularDots     = triage.IrregularDots
	Regression        = triage.Regression
)

// Photo types.
const (
	Dermoscopic = triage.Dermoscopic
	Plain       = triage.Plain
)

// NewSevenPoint scores a checklist.
func NewSevenPoint(items []CheckItem) (*SevenPoint, error) { return triage.NewSevenPoint(items) }

// NewDermoscopy scores a dermoscopic checklist.
func NewDermoscopy(items []Criterion) (*Dermoscopy, error) { return triage.NewDermoscopy(items) }

// WarnNotALesion is the warning on a photo that does not look like a skin lesion at all.
const WarnNotALesion = inference.WarnNotALesion

// TierCannotAssess is the tier of a plain photo with no checklist.
const TierCannotAssess = inference.TierCannotAssess

// DecisionHeadline is the headline (triage.Headline) of a fresh decision.
func DecisionHeadline(lang string, a *inference.Assessment, d triage.Decision) string {
	var items []string
	if d.SevenPoint != nil {
		items = []string{}
		for _, it := range d.SevenPoint.Items {
			items = append(items, string(it))
		}
	}
	card := a.Card()
	return triage.Headline(lang, card.LabelNames, card.Malignant, d.Tier, d.Driver, a.ProbabilityMap(), items, d.Dermoscopy.Names())
}

// StoredHeadline is the headline of a stored assessment.
func StoredHeadline(lang string, card Card, a storage.Assessment) string {
	return triage.Headline(lang, card.LabelNames, card.Malignant, Tier(a.RiskTier), Driver(a.TierDriver), a.Probabilities, a.SevenPoint, a.Dermoscopy)
}

// SevenPointText and ABCDEText print a stored checklist in lang.
func SevenPointText(lang string, items []string) string { return triage.SevenPointText(lang, items) }

// DermoscopyText prints a stored dermoscopic checklist in lang.
func DermoscopyText(lang string, items []string) string { return triage.DermoscopyText(lang, items) }

// ABCDEText prints stored ABCDE signs in lang.
func ABCDEText(lang string, signs []string) string { return triage.ABCDEText(lang, signs) }

// AdviceKey is the translation key of the advice under a tier (triage.AdviceKey);
// dermoscopyDone: the dermoscopic checklist was done.
func AdviceKey(tier Tier, driver Driver, dermoscopyDone bool) string {
	return triage.AdviceKey(tier, driver, dermoscopyDone)
}

// DriverName is what decided a tier (a stored driver code), in lang (triage.DriverName).
func DriverName(lang string, card Card, driver string) string {
	return triage.DriverName(lang, card.LabelNames, triage.Driver(driver))
}

// TierReason says why a review result goes to a specialist, in lang (triage.ReviewReason), from
// the card's review line and what it did on the model's test photos; "" for other results.
func TierReason(lang string, card Card, tier Tier, driver Driver, probs map[string]float64) string {
	var mal float64
	for _, c := range card.Malignant {
		mal += probs[c]
	}
	var capture *inference.TierCapture
	if tc, ok := card.TierCapture["test"]; ok {
		capture = &tc
	}
	return triage.ReviewReason(lang, tier, driver, card.Tiers, capture, mal)
}
