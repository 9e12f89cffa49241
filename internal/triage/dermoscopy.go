package triage

import (
	"slices"
)

// Criterion is one criterion of the dermoscopic 7-point checklist (Argenziano et al., Arch
// Dermatol 1998;134:1563-70): what the clinician sees through the dermatoscope. It is a
// different checklist from the clinical weighted 7-point checklist (Item), which asks about
// change and symptoms; the two are stored, printed and scored apart.
type Criterion string

// The dermoscopic criteria: three major (2 points each), four minor (1 point each). The names
// are the command line's and the stored ones.
const (
	AtypicalNetwork   Criterion = "atypical-network"
	BlueWhiteVeil     Criterion = "blue-white-veil"
	AtypicalVessels   Criterion = "atypical-vessels"
	IrregularStreaks  Criterion = "irregular-streaks"
	IrregularBlotches Criterion = "irregular-blotches"
	IrregularDots     Criterion = "irregular-dots"
	Regression        Criterion = "regression"
)

// Criteria lists the dermoscopic checklist in its printed order (major first).
var Criteria = []Criterion{AtypicalNetwork, BlueWhiteVeil, AtypicalVessels, IrregularStreaks, IrregularBlotches, IrregularDots, Regression}

// Weight is the criterion's points: 2 for a major criterion (odds ratio for melanoma above 5 in
// Argenziano 1998), 1 for a minor one.
func (c Criterion) Weight() int {
	switch c {
	case AtypicalNetwork, BlueWhiteVeil, AtypicalVessels:
		return 2
	}
	return 1
}

// DermoscopyReferScore is the score at which the checklist's authors classify a lesion as
// melanoma (Argenziano 1998: sensitivity 95%, specificity 75%): Dermal refers it urgently.
const DermoscopyReferScore = 3

// Dermoscopy is a completed dermoscopic 7-point checklist: the criteria present and their
// score. A nil *Dermoscopy means the checklist was not done; an empty one means it was done and
// nothing was present.
type Dermoscopy struct {
	Items []Criterion `json:"items"`
	Score int         `json:"score"`
}

// NewDermoscopy checks the criteria, drops repeats, orders them and computes the score.
func NewDermoscopy(items []Criterion) (*Dermoscopy, error) {
	present, score, err := tally("dermoscopic criterion", items, Criteria)
	if err != nil {
		return nil, err
	}
	return &Dermoscopy{Items: present, Score: score}, nil
}

// ParseDermoscopy reads "atypical-network,regression,…" as typed on the command line; "none"
// is a checklist done with nothing present, and "" is no checklist (nil).
func ParseDermoscopy(s string) (*Dermoscopy, error) {
	items, done := splitList[Criterion](s)
	if !done {
		return nil, nil
	}
	return NewDermoscopy(items)
}

// StoredDermoscopy is the checklist of stored criterion names (nil: not done); names it does
// not know count nothing and are dropped, so a damaged row cannot raise an error in a report.
func StoredDermoscopy(names []string) *Dermoscopy {
	if names == nil {
		return nil
	}
	var items []Criterion
	for _, n := range names {
		if slices.Contains(Criteria, Criterion(n)) {
			items = append(items, Criterion(n))
		}
	}
	d, _ := NewDermoscopy(items)
	return d
}

// Names is the criteria's stored names (nil for a nil checklist).
func (d *Dermoscopy) Names() []string {
	if d == nil {
		return nil
	}
	out := []string{}
	for _, c := range d.Items {
		out = append(out, string(c))
	}
	return out
}

// Refer reports whether the score reaches the checklist's melanoma threshold.
func (d *Dermoscopy) Refer() bool { return d != nil && d.Score >= DermoscopyReferScore }
