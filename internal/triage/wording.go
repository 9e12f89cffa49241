package triage

import (
	"fmt"
	"math"
	"strings"

	"dermal/internal/inference"
	"dermal/internal/locale"
)

// Headline is the result's first line in lang, naming what drove the tier: "Melanoma 44% —
// refer urgently (seen within 2 weeks)", never the most probable benign class under an urgent
// banner. The window, the PDF and the command line all print this one. names are the classes'
// English names by code (translated here), sevenPoint the clinical checklist's items present
// and dermoscopy the dermoscopic criteria present (stored names).
func Headline(lang string, names map[string]string, malignant []string, tier inference.Tier, driver Driver, probs map[string]float64, sevenPoint, dermoscopy []string) string {
	t := func(k string) string { return locale.T(lang, k) }
	action := t("action." + string(tier))
	pct := func(p float64) string { return fmt.Sprintf("%d%%", int(math.Round(100*p))) }
	name := func(code string) string { return t(names[code]) }
	switch driver {
	case DriverQuality, DriverPlain:
		return t("headline." + string(driver))
	case DriverChecklist:
		return fmt.Sprintf(t("headline.seven_point"), score(sevenPoint)) + " — " + action
	case DriverDermoscopy:
		return fmt.Sprintf(t("headline.dermoscopy"), StoredDermoscopy(dermoscopy).Score) + " — " + action
	case DriverMalignant:
		var mal float64
		for _, c := range malignant {
			mal += probs[c]
		}
		best := HeadlineClass(driver, probs, malignant)
		return fmt.Sprintf("%s %s (%s %s) — %s", name(best), pct(probs[best]), t("malignant classes together"), pct(mal), action)
	case "":
		// Made before the driver was recorded: the tier alone.
		return t("tier." + string(tier))
	}
	return fmt.Sprintf("%s %s — %s", name(string(driver)), pct(probs[string(driver)]), action)
}

// DriverName is what decided a tier, in lang, for a reader who sees no headline (the
// specialist's desk reads the stored driver code): a class's name, or the checklist, the photo
// check or the malignant classes together. An unknown code comes back as it is.
func DriverName(lang string, names map[string]string, driver Driver) string {
	t := func(k string) string { return locale.T(lang, k) }
	switch driver {
	case DriverChecklist, DriverDermoscopy, DriverQuality, DriverPlain, DriverMalignant:
		return t("driver." + string(driver))
	}
	if name, ok := names[string(driver)]; ok {
		return t(name)
	}
	return string(driver)
}

// AdviceKey is the translation key of the advice under a tier: the model's wording, or a
// checklist's when its score decided (its advice must not speak of the model), or the second
// reader's when the model raised a tier below the dermoscopic checklist's referral score
// (dermoscopyDone: the dermoscopic checklist was done).
func AdviceKey(tier inference.Tier, driver Driver, dermoscopyDone bool) string {
	switch {
	case driver == DriverChecklist && (tier == inference.TierUrgent || tier == inference.TierRoutine):
		return "advice.seven_point." + string(tier)
	case driver == DriverDermoscopy && (tier == inference.TierUrgent || tier == inference.TierRoutine):
		return "advice.dermoscopy." + string(tier)
	case dermoscopyDone && driver != DriverDermoscopy && driver != DriverChecklist && (tier == inference.TierReview || tier == inference.TierUrgent):
		return "advice.second_reader." + string(tier)
	}
	return "advice." + string(tier)
}

// HeadlineClass is the class code a headline driven by driver names ("" when none): the class
// itself, or the most probable malignant class when the malignant classes together drove it.
// The Grad-CAM map shows this class by default.
func HeadlineClass(driver Driver, probs map[string]float64, malignant []string) string {
	switch driver {
	case DriverQuality, DriverPlain, DriverChecklist, DriverDermoscopy, "":
		return ""
	case DriverMalignant:
		best := ""
		for _, c := range malignant {
			if best == "" || probs[c] > probs[best] {
				best = c
			}
		}
		return best
	}
	return string(driver)
}

// score is the weighted score of stored checklist items (unknown ones count nothing).
func score(items []string) int {
	n := 0
	for _, it := range Items {
		for _, s := range items {
			if s == string(it) {
				n += it.Weight()
			}
		}
	}
	return n
}

// SevenPointText lists a checklist in lang with its score: "Change in size (2), Oozing or
// crusting (1): 3 / 10". Empty when the checklist was not done.
func SevenPointText(lang string, items []string) string {
	if items == nil {
		return ""
	}
	var parts []string
	for _, it := range Items {
		for _, s := range items {
			if s == string(it) {
				parts = append(parts, fmt.Sprintf("%s (%d)", locale.T(lang, "seven_point."+s), it.Weight()))
			}
		}
	}
	if len(parts) == 0 {
		parts = []string{locale.T(lang, "none present")}
	}
	return fmt.Sprintf("%s: %d / 10", strings.Join(parts, ", "), score(items))
}

// DermoscopyText lists a dermoscopic checklist in lang with its score: "Atypical pigment network
// (2), Regression structures (1): 3 / 10". Empty when the checklist was not done.
func DermoscopyText(lang string, names []string) string {
	d := StoredDermoscopy(names)
	if d == nil {
		return ""
	}
	var parts []string
	for _, c := range d.Items {
		parts = append(parts, fmt.Sprintf("%s (%d)", locale.T(lang, "dermoscopy."+string(c)), c.Weight()))
	}
	if len(parts) == 0 {
		parts = []string{locale.T(lang, "none present")}
	}
	return fmt.Sprintf("%s: %d / 10", strings.Join(parts, ", "), d.Score)
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

// ReviewReason says in words a clinician can repeat to a patient why a lesion the model put
// at "review" (the malignant classes together above the review line) goes to a specialist:
// the model's chance, the clinic's line and what that line bought on the model's test photos
// (capture nil: the line alone). "" for any other tier or driver.
func ReviewReason(lang string, tier inference.Tier, driver Driver, th inference.TierThresholds, capture *inference.TierCapture, malignantProb float64) string {
	if tier != inference.TierReview || driver != DriverMalignant || th.ReviewMalignant <= 0 {
		return ""
	}
	in100 := func(p float64) int { return max(1, int(math.Round(100*p))) }
	s := fmt.Sprintf(locale.T(lang, "reason.review"), in100(malignantProb), in100(th.ReviewMalignant))
	if capture != nil && capture.N > 0 {
		s += " " + fmt.Sprintf(locale.T(lang, "reason.review.capture"), int(math.Round(100*capture.MalignantSensitivity)), int(math.Round(100*capture.BenignReferred)))
	}
	return s
}
