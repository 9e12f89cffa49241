package clinic

import (
	"fmt"
	"math"
	"strings"

	"dermal/internal/inference"
	"dermal/internal/locale"
	"dermal/internal/storage"
	"dermal/internal/triage"
)

// Re-exported for the window: what the examination form offers.
type (
	PhotoType  = triage.PhotoType
	SevenPoint = triage.SevenPoint
	CheckItem  = triage.Item
	Sign       = triage.Sign
	Triage     = triage.Decision
	Driver     = triage.Driver
)

// The examination's choices, in the order the forms list them.
var (
	PhotoTypes      = triage.PhotoTypes
	SevenPointItems = triage.Items
	ABCDESigns      = triage.Signs
)

// Photo types.
const (
	Dermoscopic = triage.Dermoscopic
	Plain       = triage.Plain
)

// NewSevenPoint scores a checklist.
func NewSevenPoint(items []CheckItem) (*SevenPoint, error) { return triage.NewSevenPoint(items) }

// TierCannotAssess is the tier of a plain photo with no checklist.
const TierCannotAssess = inference.TierCannotAssess

// Headline is the result's first line in lang, naming what drove the tier: "Melanoma 44% —
// refer urgently (within 2 weeks)", never the most probable benign class under an urgent
// banner. The window, the PDF and the command line all print this one.
func Headline(lang string, card Card, tier Tier, driver Driver, probs map[string]float64, sevenPointScore int) string {
	t := func(k string) string { return locale.T(lang, k) }
	action := t("action." + string(tier))
	pct := func(p float64) string { return fmt.Sprintf("%d%%", int(math.Round(100*p))) }
	name := func(code string) string { return t(card.LabelNames[code]) }
	switch driver {
	case triage.DriverQuality, triage.DriverPlain:
		return t("headline." + string(driver))
	case triage.DriverChecklist:
		return fmt.Sprintf(t("headline.seven_point"), sevenPointScore) + " — " + action
	case triage.DriverMalignant:
		var mal float64
		best := ""
		for _, c := range card.Malignant {
			mal += probs[c]
			if best == "" || probs[c] > probs[best] {
				best = c
			}
		}
		return fmt.Sprintf("%s %s (%s %s) — %s", name(best), pct(probs[best]), t("malignant classes together"), pct(mal), action)
	case "":
		// Made before the driver was recorded: the tier alone.
		return t("tier." + string(tier))
	}
	return fmt.Sprintf("%s %s — %s", name(string(driver)), pct(probs[string(driver)]), action)
}

// DecisionHeadline is Headline for a fresh decision.
func DecisionHeadline(lang string, a *inference.Assessment, d triage.Decision) string {
	score := 0
	if d.SevenPoint != nil {
		score = d.SevenPoint.Score
	}
	return Headline(lang, a.Card(), d.Tier, d.Driver, a.ProbabilityMap(), score)
}

// StoredHeadline is Headline for a stored assessment.
func StoredHeadline(lang string, card Card, a storage.Assessment) string {
	score := 0
	if a.SevenPoint != nil {
		var items []triage.Item
		for _, s := range a.SevenPoint {
			items = append(items, triage.Item(s))
		}
		if sp, err := triage.NewSevenPoint(items); err == nil {
			score = sp.Score
		}
	}
	return Headline(lang, card, Tier(a.RiskTier), Driver(a.TierDriver), a.Probabilities, score)
}

// SevenPointText lists a checklist in lang with its score: "change in size (2), oozing (1):
// 3 of 10". Empty when the checklist was not done.
func SevenPointText(lang string, items []string) string {
	if items == nil {
		return ""
	}
	var parts []string
	score := 0
	for _, it := range triage.Items {
		for _, s := range items {
			if s == string(it) {
				parts = append(parts, fmt.Sprintf("%s (%d)", locale.T(lang, "seven_point."+s), it.Weight()))
				score += it.Weight()
			}
		}
	}
	if len(parts) == 0 {
		parts = []string{locale.T(lang, "none present")}
	}
	return fmt.Sprintf("%s: %d / 10", strings.Join(parts, ", "), score)
}

// ABCDEText lists the ABCDE signs present in lang; empty when not recorded.
func ABCDEText(lang string, signs []string) string {
	if signs == nil {
		return ""
	}
	var parts []string
	for _, s := range signs {
		parts = append(parts, locale.T(lang, "abcde."+s))
	}
	if len(parts) == 0 {
		return locale.T(lang, "none present")
	}
	return strings.Join(parts, ", ")
}
