package inference

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Card is the machine-readable model card (assets/model.json), written by the training
// pipeline. The app reads preprocessing, labels and calibration from it instead of
// hard-coding them, so a retrained model cannot silently disagree with the code.
type Card struct {
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	File        string            `json:"file"`
	SHA256      string            `json:"sha256"`
	Labels      []string          `json:"labels"`
	LabelNames  map[string]string `json:"label_names"`
	Malignant   []string          `json:"malignant"`
	Input       InputSpec         `json:"input"`
	Outputs     OutputSpec        `json:"outputs"`
	Temperature float64           `json:"temperature"`
	// LogitBias is added to the logits before the temperature: a logit adjustment that moves
	// decisions from the training sampler's class mix towards balanced ones (see the card).
	LogitBias []float64 `json:"logit_bias,omitempty"`
	// Views are the test-time augmentation: the picture is analysed as each of these views and
	// the logits and Grad-CAM maps (turned back) are averaged. Dermoscopy has no up or down, so
	// flips change nothing a clinician sees; averaging them steadies the result. Empty: one
	// view. The embedding for the out-of-distribution check is the identity view's.
	Views   []string    `json:"test_time_augmentation,omitempty"`
	OOD     OODSpec     `json:"ood"`
	Quality QualitySpec `json:"quality"`
	// Tiers are the risk thresholds (TierFor). They belong to the model, not to the app: they
	// were chosen for this model's calibration and for how it does on sources it never saw.
	Tiers TierThresholds `json:"tiers"`
	// TierCapture is what the tiers did on the model's own validation and test photos
	// ("val", "test"): the share of malignant photos sent to urgent or review, and of benign
	// ones referred. The window says it in words beside a review.
	TierCapture map[string]TierCapture `json:"tier_capture,omitempty"`
	License     string                 `json:"data_license"`
	// Metrics holds the test-split numbers by model variant ("fp32", "int8").
	Metrics map[string]Metrics `json:"metrics"`

	// DocSHA256 is the SHA-256 of the card file itself (set by ParseCard): the card decides
	// as much of a result as the network does (labels, calibration, views, thresholds), so a
	// result names both.
	DocSHA256 string `json:"-"`
}

// InputSpec says how a photo becomes the input tensor.
type InputSpec struct {
	Name     string     `json:"name"`
	Width    int        `json:"width"`
	Height   int        `json:"height"`
	Resize   string     `json:"resize"`
	Mean     [3]float32 `json:"mean"`
	Std      [3]float32 `json:"std"`
	Channels string     `json:"channels"`
	// ColourConstancy names the illuminant correction applied before normalizing (colour.go);
	// empty for none. Training applies the same one (training/common.py).
	ColourConstancy string `json:"colour_constancy,omitempty"`
	Layout          string `json:"layout"`
}

// OutputSpec names the graph outputs.
type OutputSpec struct {
	Logits    string `json:"logits"`
	CAM       string `json:"cam"`
	Embedding string `json:"embedding"`
}

// OODSpec is the "probably not a skin lesion" check: the share of the photo's centred
// embedding that lies outside the top principal components of training embeddings. The mean
// and components are in a separate little-endian float32 file (Dim x (1 + Components)).
type OODSpec struct {
	Method     string  `json:"method"`
	File       string  `json:"file"`
	SHA256     string  `json:"sha256"`
	Dim        int     `json:"dim"`
	Components int     `json:"components"`
	Threshold  float64 `json:"threshold"`
}

// QualitySpec holds the photo-quality thresholds, measured on validation images.
type QualitySpec struct {
	MinShortSide    int     `json:"min_short_side"`
	MinSharpness    float64 `json:"min_sharpness"`
	MinBrightness   float64 `json:"min_brightness"`
	MaxBrightness   float64 `json:"max_brightness"`
	MaxClippedShare float64 `json:"max_clipped_share"`
	// MaxBlueShare is the bluest mean colour (PictureStats.BlueShare) of the photos the model
	// was trained and validated on; a bluer photo is not a skin photo. 0: not checked (cards
	// before model 4).
	MaxBlueShare float64 `json:"max_blue_share,omitempty"`
}

// TierCapture is what the tiers did on a split of the model's photos.
type TierCapture struct {
	MalignantSensitivity float64 `json:"malignant_sensitivity"`
	BenignReferred       float64 `json:"benign_referred"`
	N                    int     `json:"n"`
}

// TierThresholds are the calibrated-probability thresholds of the model's risk tiers:
// urgent when P(mel) >= UrgentMelanoma or P(malignant) >= UrgentMalignant, review when
// P(malignant) >= ReviewMalignant, routine otherwise. Chosen says how (training/tiers.py).
type TierThresholds struct {
	UrgentMelanoma  float64 `json:"urgent_melanoma"`
	UrgentMalignant float64 `json:"urgent_malignant"`
	ReviewMalignant float64 `json:"review_malignant"`
	Chosen          string  `json:"chosen,omitempty"`
}

func (t TierThresholds) validate() error {
	in := func(v float64) bool { return v > 0 && v <= 1 }
	if !in(t.UrgentMelanoma) || !in(t.UrgentMalignant) || !in(t.ReviewMalignant) {
		return fmt.Errorf("tier thresholds missing or outside (0, 1]: urgent_melanoma %v, urgent_malignant %v, review_malignant %v",
			t.UrgentMelanoma, t.UrgentMalignant, t.ReviewMalignant)
	}
	if t.ReviewMalignant > t.UrgentMalignant {
		return fmt.Errorf("tier thresholds: review_malignant %v is above urgent_malignant %v", t.ReviewMalignant, t.UrgentMalignant)
	}
	return nil
}

// Metrics are one model's scores on the test split, as in the model card.
type Metrics struct {
	N                int                    `json:"n"`
	Accuracy         float64                `json:"accuracy"`
	BalancedAccuracy float64                `json:"balanced_accuracy"`
	PerClass         map[string]ClassMetric `json:"per_class"`
	MelanomaAUC      float64                `json:"melanoma_auc"`
	MalignantAUC     float64                `json:"malignant_auc"`
	ECEUncalibrated  float64                `json:"ece_uncalibrated"`
	ECECalibrated    float64                `json:"ece_calibrated"`
	ConfusionMatrix  [][]int                `json:"confusion_matrix"`
}

// ClassMetric is recall and precision of one class; nil where undefined (no support).
type ClassMetric struct {
	Support   int      `json:"support"`
	Recall    *float64 `json:"recall"`
	Precision *float64 `json:"precision"`
}

// ErrBadCard marks a model card the app cannot use.
var ErrBadCard = errors.New("model card is not usable")

// ParseCard reads and validates a model card.
func ParseCard(data []byte) (Card, error) {
	var c Card
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("%w: %v", ErrBadCard, err)
	}
	c.DocSHA256 = SHA256Hex(data)
	return c, c.Validate()
}

// Validate checks the fields inference depends on.
func (c Card) Validate() error {
	var errs []error
	if len(c.Labels) < 2 {
		errs = append(errs, errors.New("fewer than two labels"))
	}
	for _, m := range append(slices.Clone(c.Malignant), "mel") {
		if !slices.Contains(c.Labels, m) {
			errs = append(errs, fmt.Errorf("label %q is not among the labels", m))
		}
	}
	if c.Input.Width <= 0 || c.Input.Height <= 0 {
		errs = append(errs, fmt.Errorf("input size %dx%d", c.Input.Width, c.Input.Height))
	}
	for i, s := range c.Input.Std {
		if !(s > 0) {
			errs = append(errs, fmt.Errorf("std[%d] = %v", i, s))
		}
	}
	if !validColourConstancy(c.Input.ColourConstancy) {
		errs = append(errs, fmt.Errorf("colour constancy %q is not one of %q", c.Input.ColourConstancy, KnownColourConstancy))
	}
	if c.LogitBias != nil && len(c.LogitBias) != len(c.Labels) {
		errs = append(errs, fmt.Errorf("%d logit biases for %d labels", len(c.LogitBias), len(c.Labels)))
	}
	if !(c.Temperature > 0) || math.IsInf(c.Temperature, 0) {
		errs = append(errs, fmt.Errorf("temperature %v", c.Temperature))
	}
	if c.Outputs.Logits == "" || c.Outputs.CAM == "" || c.Outputs.Embedding == "" || c.Input.Name == "" {
		errs = append(errs, errors.New("input or output names missing"))
	}
	if c.OOD.Dim <= 0 || c.OOD.Components <= 0 || len(c.OOD.SHA256) != 64 {
		errs = append(errs, errors.New("out-of-distribution subspace not described"))
	}
	for _, v := range c.Views {
		if !slices.Contains(KnownViews, v) {
			errs = append(errs, fmt.Errorf("test-time view %q is not one of %v", v, KnownViews))
		}
	}
	if len(c.Views) > 0 && !slices.Contains(c.Views, ViewIdentity) {
		errs = append(errs, errors.New("test-time views lack the identity view"))
	}
	if b := c.Quality.MaxBlueShare; !(b >= 0 && b < 1) {
		errs = append(errs, fmt.Errorf("max_blue_share %v is outside [0, 1)", b))
	}
	if len(c.SHA256) != 64 {
		errs = append(errs, fmt.Errorf("sha256 %q", c.SHA256))
	}
	if err := c.Tiers.validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrBadCard, errors.Join(errs...))
	}
	return nil
}

// LabelIndex returns the position of a class code, or -1.
func (c Card) LabelIndex(code string) int { return slices.Index(c.Labels, code) }
