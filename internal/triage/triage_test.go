package triage_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"dermal/internal/assets"
	"dermal/internal/inference"
	"dermal/internal/locale"
	"dermal/internal/triage"
)

func card(t *testing.T) inference.Card {
	t.Helper()
	c, err := inference.ParseCard(assets.ModelCardJSON)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// probs builds a probability vector in the card's label order from a few named classes; the
// rest goes to nv.
func probs(t *testing.T, c inference.Card, named map[string]float64) []float64 {
	p := make([]float64, len(c.Labels))
	rest := 1.0
	for k, v := range named {
		p[c.LabelIndex(k)] = v
		rest -= v
	}
	p[c.LabelIndex("nv")] += rest
	return p
}

func TestSevenPointScore(t *testing.T) {
	for _, tc := range []struct {
		in    string
		score int
		refer bool
	}{
		{"none", 0, false},
		{"diameter,inflammation", 2, false},
		{"size", 2, false},
		{"size,oozing", 3, true},
		{"Colour, sensation ,colour", 3, true},
		{"size,shape,colour,diameter,inflammation,oozing,sensation", 10, true},
	} {
		sp, err := triage.ParseSevenPoint(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if sp.Score != tc.score || sp.Refer() != tc.refer {
			t.Errorf("%q: score %d refer %v, want %d %v", tc.in, sp.Score, sp.Refer(), tc.score, tc.refer)
		}
	}
	if sp, err := triage.ParseSevenPoint(""); sp != nil || err != nil {
		t.Errorf(`"" is "not done": got %v, %v`, sp, err)
	}
	if _, err := triage.ParseSevenPoint("size,itching"); !errors.Is(err, triage.ErrInvalid) {
		t.Errorf("an unknown item: %v, want ErrInvalid naming it", err)
	}
}

func TestDecide(t *testing.T) {
	c := card(t)
	blurry := []inference.Warning{{Code: inference.WarnBlurry}}
	notLesion := []inference.Warning{{Code: inference.WarnNotALesion}}
	refer, _ := triage.ParseSevenPoint("size,inflammation")
	low, _ := triage.ParseSevenPoint("diameter")
	for _, tc := range []struct {
		name     string
		p        map[string]float64
		warnings []inference.Warning
		f        triage.Findings
		tier     inference.Tier
		driver   triage.Driver
		class    string // "" : no class
	}{
		// The headline names melanoma, not the more probable nevus.
		{"melanoma drives urgent", map[string]float64{"mel": 0.44}, nil, triage.Findings{PhotoType: triage.Dermoscopic}, inference.TierUrgent, "mel", "mel"},
		{"malignant sum drives urgent", map[string]float64{"mel": 0.10, "bcc": 0.25, "akiec": 0.08}, nil, triage.Findings{}, inference.TierUrgent, triage.DriverMalignant, "bcc"},
		{"review names the largest malignant class", map[string]float64{"akiec": 0.07, "bcc": 0.04}, nil, triage.Findings{}, inference.TierReview, triage.DriverMalignant, "akiec"},
		{"routine names the top class", map[string]float64{"bkl": 0.6, "mel": 0.01}, nil, triage.Findings{}, inference.TierRoutine, "bkl", "bkl"},
		{"blurry review is cannot assess", map[string]float64{"bcc": 0.15}, blurry, triage.Findings{}, inference.TierRetake, triage.DriverQuality, ""},
		{"not a lesion is cannot assess", map[string]float64{}, notLesion, triage.Findings{}, inference.TierRetake, triage.DriverQuality, ""},
		{"a bad photo never lowers urgent", map[string]float64{"mel": 0.3}, blurry, triage.Findings{}, inference.TierUrgent, "mel", "mel"},
		{"checklist raises a dermoscopic routine", map[string]float64{}, nil, triage.Findings{SevenPoint: refer}, inference.TierUrgent, triage.DriverChecklist, ""},
		{"plain photo without checklist", map[string]float64{"mel": 0.9}, nil, triage.Findings{PhotoType: triage.Plain}, inference.TierCannotAssess, triage.DriverPlain, ""},
		{"plain photo: checklist 3 refers", map[string]float64{}, nil, triage.Findings{PhotoType: triage.Plain, SevenPoint: refer}, inference.TierUrgent, triage.DriverChecklist, ""},
		// The model's 90% melanoma is shown but does not decide on a plain photo.
		{"plain photo: checklist 1 is low concern", map[string]float64{"mel": 0.9}, nil, triage.Findings{PhotoType: triage.Plain, SevenPoint: low}, inference.TierRoutine, triage.DriverChecklist, ""},

		// The dermoscopic checklist beside the model (README "The triage rule").
		{"dermoscopy 3 raises a routine model to urgent", map[string]float64{"bkl": 0.5}, nil, triage.Findings{Dermoscopy: dermo(t, "atypical-network,regression")}, inference.TierUrgent, triage.DriverDermoscopy, ""},
		{"dermoscopy 3 names itself over an urgent model", map[string]float64{"mel": 0.3}, nil, triage.Findings{Dermoscopy: dermo(t, "blue-white-veil,irregular-dots")}, inference.TierUrgent, triage.DriverDermoscopy, ""},
		{"dermoscopy 3 is urgent on a blurry photo", map[string]float64{}, blurry, triage.Findings{Dermoscopy: dermo(t, "irregular-streaks,irregular-blotches,irregular-dots")}, inference.TierUrgent, triage.DriverDermoscopy, ""},
		{"dermoscopy 0, model review: routine", map[string]float64{"mel": 0.1, "bcc": 0.05}, nil, triage.Findings{Dermoscopy: dermo(t, "none")}, inference.TierRoutine, triage.DriverDermoscopy, ""},
		{"dermoscopy 2, model review: routine", map[string]float64{"mel": 0.15}, nil, triage.Findings{Dermoscopy: dermo(t, "atypical-vessels")}, inference.TierRoutine, triage.DriverDermoscopy, ""},
		{"dermoscopy 0, model urgent below the second reader's bar: routine", map[string]float64{"mel": triage.SecondReaderMelanoma - 0.05}, nil, triage.Findings{Dermoscopy: dermo(t, "none")}, inference.TierRoutine, triage.DriverDermoscopy, ""},
		{"dermoscopy 2, model urgent by the malignant sum below the bar: routine", map[string]float64{"mel": 0.05, "bcc": triage.SecondReaderMalignant - 0.1}, nil, triage.Findings{Dermoscopy: dermo(t, "atypical-vessels")}, inference.TierRoutine, triage.DriverDermoscopy, ""},
		{"dermoscopy 0, model sure of melanoma: urgent", map[string]float64{"mel": triage.SecondReaderMelanoma}, nil, triage.Findings{Dermoscopy: dermo(t, "none")}, inference.TierUrgent, "mel", "mel"},
		{"dermoscopy 2, model sure of melanoma on a blurry photo: urgent", map[string]float64{"mel": triage.SecondReaderMelanoma + 0.05}, blurry, triage.Findings{Dermoscopy: dermo(t, "atypical-network")}, inference.TierUrgent, "mel", "mel"},
		{"dermoscopy 0, model sure of a malignant lesion: urgent", map[string]float64{"bcc": triage.SecondReaderMalignant - 0.08, "akiec": 0.1}, nil, triage.Findings{Dermoscopy: dermo(t, "none")}, inference.TierUrgent, triage.DriverMalignant, "bcc"},
		{"dermoscopy 2 on a blurry photo: retake", map[string]float64{"mel": 0.3}, blurry, triage.Findings{Dermoscopy: dermo(t, "atypical-network")}, inference.TierRetake, triage.DriverQuality, ""},
		{"dermoscopy 0 and the clinical checklist 3: urgent", map[string]float64{}, nil, triage.Findings{Dermoscopy: dermo(t, "none"), SevenPoint: refer}, inference.TierUrgent, triage.DriverChecklist, ""},
		{"plain photo: dermoscopy 3 refers", map[string]float64{}, nil, triage.Findings{PhotoType: triage.Plain, Dermoscopy: dermo(t, "atypical-network,irregular-dots")}, inference.TierUrgent, triage.DriverDermoscopy, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.f.PhotoType == "" {
				tc.f.PhotoType = triage.Dermoscopic
			}
			a := inference.AssessmentOf(c, probs(t, c, tc.p), tc.warnings)
			d := triage.Decide(a, tc.f)
			if d.Tier != tc.tier || d.Driver != tc.driver {
				t.Errorf("tier %s driven by %s, want %s by %s", d.Tier, d.Driver, tc.tier, tc.driver)
			}
			want := -1
			if tc.class != "" {
				want = c.LabelIndex(tc.class)
			}
			if d.Class != want {
				t.Errorf("headline class %d, want %d (%s)", d.Class, want, tc.class)
			}
			if d.ModelValidated != (tc.f.PhotoType == triage.Dermoscopic) {
				t.Errorf("model validated %v for a %s photo", d.ModelValidated, tc.f.PhotoType)
			}
			if want >= 0 && d.MapClass(a) != want {
				t.Errorf("Grad-CAM class %d, want the headline's %d", d.MapClass(a), want)
			}
		})
	}
}

func dermo(t *testing.T, s string) *triage.Dermoscopy {
	t.Helper()
	d, err := triage.ParseDermoscopy(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The dermoscopic checklist's points are the authors' (major 2, minor 1), its names the
// command line's, and an unknown name is refused with the list of valid ones.
func TestDermoscopyScore(t *testing.T) {
	for _, tc := range []struct {
		in    string
		score int
		refer bool
	}{
		{"none", 0, false},
		{"regression", 1, false},
		{"atypical-network", 2, false},
		{"irregular-streaks, irregular-blotches", 2, false},
		{"atypical-network,regression", 3, true},
		{"Irregular-Dots,irregular-streaks,irregular-blotches", 3, true},
		{"blue-white-veil,blue-white-veil", 2, false},
		{"atypical-network,blue-white-veil,atypical-vessels,irregular-streaks,irregular-blotches,irregular-dots,regression", 10, true},
	} {
		d := dermo(t, tc.in)
		if d.Score != tc.score || d.Refer() != tc.refer {
			t.Errorf("%q: score %d refer %v, want %d %v", tc.in, d.Score, d.Refer(), tc.score, tc.refer)
		}
	}
	if d, err := triage.ParseDermoscopy(""); d != nil || err != nil {
		t.Errorf(`"" is "not done": got %v, %v`, d, err)
	}
	_, err := triage.ParseDermoscopy("atypical-network,pink-veil")
	if !errors.Is(err, triage.ErrInvalid) || !strings.Contains(err.Error(), "pink-veil") || !strings.Contains(err.Error(), "irregular-dots") {
		t.Errorf("an unknown criterion: %v, want ErrInvalid naming it and the valid names", err)
	}
	// Stored names read back to the same checklist; names it does not know count nothing.
	if got := triage.StoredDermoscopy([]string{"regression", "atypical-network", "x"}); got.Score != 3 || !slices.Equal(got.Names(), []string{"atypical-network", "regression"}) {
		t.Errorf("stored: %+v", got)
	}
	if triage.StoredDermoscopy(nil) != nil || (*triage.Dermoscopy)(nil).Names() != nil {
		t.Error("not done must stay nil")
	}
	// The clinical checklist's names are not dermoscopic criteria.
	if _, err := triage.ParseDermoscopy("size"); !errors.Is(err, triage.ErrInvalid) {
		t.Errorf("a clinical item as a dermoscopic criterion: %v", err)
	}
}

func TestParseABCDE(t *testing.T) {
	got, err := triage.ParseABCDE("e, Asymmetry,c")
	if err != nil || !slices.Equal(got, []triage.Sign{triage.Asymmetry, triage.Colour, triage.Evolving}) {
		t.Errorf("got %v %v", got, err)
	}
	if _, err := triage.ParseABCDE("asymmetry,x"); !errors.Is(err, triage.ErrInvalid) {
		t.Errorf("unknown sign: %v", err)
	}
	for _, in := range []string{"", "none"} {
		got, err := triage.ParseABCDE(in)
		if err != nil || (in == "") != (got == nil) {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if pt, err := triage.ParsePhotoType("PLAIN"); pt != triage.Plain || err != nil {
		t.Errorf("plain: %v %v", pt, err)
	}
	if _, err := triage.ParsePhotoType("phone"); !errors.Is(err, triage.ErrInvalid) {
		t.Errorf("phone: %v", err)
	}
}

// Every tier's advice, in both languages, under every driver: the checklist's own wording
// when the checklist decided (it must not speak of the model's probabilities).
func TestAdviceWordingExists(t *testing.T) {
	for _, tier := range inference.Tiers {
		for _, d := range []triage.Driver{"mel", triage.DriverMalignant, triage.DriverChecklist, triage.DriverDermoscopy, triage.DriverQuality, triage.DriverPlain} {
			for _, done := range []bool{false, true} {
				key := triage.AdviceKey(tier, d, done)
				for _, l := range []string{"en", "vi"} {
					if got := locale.T(l, key); got == key {
						t.Errorf("%s has no %s wording", key, l)
					}
				}
			}
		}
	}
	for _, tc := range []struct {
		tier   inference.Tier
		driver triage.Driver
		done   bool
		want   string
	}{
		{inference.TierUrgent, triage.DriverChecklist, false, "advice.seven_point.urgent"},
		{inference.TierUrgent, triage.DriverDermoscopy, true, "advice.dermoscopy.urgent"},
		{inference.TierRoutine, triage.DriverDermoscopy, true, "advice.dermoscopy.routine"},
		{inference.TierReview, "mel", true, "advice.second_reader.review"},
		{inference.TierUrgent, triage.DriverMalignant, true, "advice.second_reader.urgent"},
		{inference.TierReview, "mel", false, "advice.review"},
	} {
		if k := triage.AdviceKey(tc.tier, tc.driver, tc.done); k != tc.want {
			t.Errorf("%s by %s (dermoscopy done %v): advice key %q, want %q", tc.tier, tc.driver, tc.done, k, tc.want)
		}
	}
	// The headline names the dermoscopic score when it drove the tier.
	h := triage.Headline("en", nil, nil, inference.TierUrgent, triage.DriverDermoscopy, nil, nil, []string{"atypical-network", "regression"})
	if !strings.HasPrefix(h, "Dermoscopic 7-point score 3") {
		t.Errorf("headline %q", h)
	}
}

// The clinic's day, item 6: a review result says why in words to repeat to a patient (the
// model's chance, the clinic's line, what the line did on the test photos), in both
// languages; other results say nothing more.
func TestReviewReasonSaysWhatTheLineMeans(t *testing.T) {
	th := inference.TierThresholds{UrgentMelanoma: 0.2, UrgentMalignant: 0.4, ReviewMalignant: 0.03}
	capture := &inference.TierCapture{MalignantSensitivity: 0.99, BenignReferred: 0.57, N: 1528}
	en := triage.ReviewReason("en", inference.TierReview, triage.DriverMalignant, th, capture, 0.041)
	for _, want := range []string{"about 4 in 100", "from 3 in 100", "99 in 100 cancers", "57 in 100 harmless"} {
		if !strings.Contains(en, want) {
			t.Errorf("%q does not say %q", en, want)
		}
	}
	vi := triage.ReviewReason("vi", inference.TierReview, triage.DriverMalignant, th, capture, 0.041)
	if vi == en || !strings.Contains(vi, "khoảng 4") || !strings.Contains(vi, "từ 3 trên 100") {
		t.Errorf("Vietnamese: %q", vi)
	}
	if s := triage.ReviewReason("en", inference.TierUrgent, triage.DriverMalignant, th, capture, 0.5); s != "" {
		t.Errorf("an urgent result got a review's reason: %q", s)
	}
	if s := triage.ReviewReason("en", inference.TierReview, triage.DriverDermoscopy, th, capture, 0.05); s != "" {
		t.Errorf("a checklist's review got the model's reason: %q", s)
	}
	if s := triage.ReviewReason("en", inference.TierReview, triage.DriverMalignant, th, nil, 0.041); strings.Contains(s, "test photos") || !strings.Contains(s, "4 in 100") {
		t.Errorf("without the card's capture: %q", s)
	}
}

func TestDriverNameIsForAPerson(t *testing.T) {
	names := map[string]string{"mel": "Melanoma", "nv": "Melanocytic nevus"}
	for _, c := range []struct {
		lang   string
		driver triage.Driver
		want   string
	}{
		{"en", "mel", "Melanoma"},
		{"vi", "mel", "U hắc tố ác tính"},
		{"en", triage.DriverMalignant, "the malignant classes together"},
		{"vi", triage.DriverMalignant, "tổng các nhóm ác tính"},
		{"en", triage.DriverDermoscopy, "the dermoscopic 7-point checklist"},
		{"vi", triage.DriverChecklist, "bảng kiểm 7 điểm lâm sàng"},
		{"en", triage.DriverQuality, "the photo quality check"},
		{"en", triage.DriverPlain, "a plain photo: the checklists alone"},
		{"en", "something_new", "something_new"},
	} {
		if got := triage.DriverName(c.lang, names, c.driver); got != c.want {
			t.Errorf("DriverName(%s, %s) = %q, want %q", c.lang, c.driver, got, c.want)
		}
	}
}
