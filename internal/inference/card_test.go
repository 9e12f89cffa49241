package inference_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"dermal/internal/inference"
)

// shippedCard returns the shipped card's JSON with edit applied.
func shippedCard(t *testing.T, edit func(map[string]any)) []byte {
	t.Helper()
	data, err := os.ReadFile("../assets/model.json")
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	edit(c)
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The tier thresholds belong to the model card: a card without them, or with a review
// threshold above the urgent one, is refused with a message that names them.
func TestCardTierThresholdsRequired(t *testing.T) {
	tiers := func(c map[string]any) map[string]any { return c["tiers"].(map[string]any) }
	for name, tc := range map[string]struct {
		edit func(map[string]any)
		want string
	}{
		"no tiers":          {func(c map[string]any) { delete(c, "tiers") }, "tier thresholds missing"},
		"review zero":       {func(c map[string]any) { tiers(c)["review_malignant"] = 0.0 }, "review_malignant 0"},
		"above one":         {func(c map[string]any) { tiers(c)["urgent_melanoma"] = 1.5 }, "urgent_melanoma 1.5"},
		"review above urge": {func(c map[string]any) { tiers(c)["review_malignant"] = 0.5 }, "review_malignant 0.5 is above urgent_malignant 0.4"},
		"blue share one":    {func(c map[string]any) { c["quality"].(map[string]any)["max_blue_share"] = 1.0 }, "max_blue_share 1 is outside [0, 1)"},
	} {
		_, err := inference.ParseCard(shippedCard(t, tc.edit))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", name, err, tc.want)
		}
	}
	if _, err := inference.ParseCard(shippedCard(t, func(map[string]any) {})); err != nil {
		t.Errorf("the shipped card: %v", err)
	}
}

// TierFor applies the card's thresholds, not numbers of its own.
func TestTierForUsesCardThresholds(t *testing.T) {
	card, err := inference.ParseCard(shippedCard(t, func(map[string]any) {}))
	if err != nil {
		t.Fatal(err)
	}
	probs := func(mel, bcc float64) []float64 {
		p := make([]float64, len(card.Labels))
		p[card.LabelIndex("mel")], p[card.LabelIndex("bcc")] = mel, bcc
		p[card.LabelIndex("nv")] = 1 - mel - bcc
		return p
	}
	th := card.Tiers
	between := (th.ReviewMalignant + th.UrgentMalignant) / 2
	for _, tc := range []struct {
		name         string
		review, urge float64 // replace the card's review_malignant and urgent_melanoma when > 0
		p            []float64
		want         inference.Tier
	}{
		{"below review", 0, 0, probs(0, th.ReviewMalignant*0.9), inference.TierRoutine},
		{"at review", 0, 0, probs(0, th.ReviewMalignant), inference.TierReview},
		{"between", 0, 0, probs(0, between), inference.TierReview},
		{"urgent malignant", 0, 0, probs(0, th.UrgentMalignant), inference.TierUrgent},
		{"urgent melanoma", 0, 0, probs(th.UrgentMelanoma, 0), inference.TierUrgent},
		{"a card with a higher review threshold", between * 1.5, 0, probs(0, between), inference.TierRoutine},
		{"a card with a higher melanoma threshold", 0, th.UrgentMelanoma * 1.5, probs(th.UrgentMelanoma, 0), inference.TierReview},
	} {
		c := card
		if tc.review > 0 {
			c.Tiers.ReviewMalignant = tc.review
		}
		if tc.urge > 0 {
			c.Tiers.UrgentMelanoma = tc.urge
		}
		if got := inference.TierFor(c, tc.p); got != tc.want {
			t.Errorf("%s: %s, want %s (thresholds %+v)", tc.name, got, tc.want, c.Tiers)
		}
	}
}
