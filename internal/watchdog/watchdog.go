// Package watchdog keeps Dermal inside its memory budget: it decides, before each analysis,
// whether it can run with Grad-CAM, only without it, or not at all, from the process's resident
// memory, the system's available memory and the expected cost of the work. The old web app
// died at 485 MB; this package is why Dermal refuses politely instead.
//
// Policy is the pure decision; Guard applies it around the real work: one analysis at a time,
// a Go heap limit that follows the budget, and unloading the model when the app sits idle.
package watchdog

import (
	"fmt"

	"dermal/internal/memory"
)

// MB is a megabyte, for readable budgets.
const MB = 1 << 20

// DefaultBudget is min(400 MB, 25% of physical memory): a quarter of a 2 GB laptop, and never
// more than the old web app's whole host.
func DefaultBudget(total uint64) uint64 {
	return min(400*MB, total/4)
}

// Costs are the memory estimates, in bytes, of the parts of one analysis, measured with
// `dermal classify` under /usr/bin/time (see the issue note): the session when it has to be
// loaded, decoding a photo (per pixel, transient), the analysis itself, and the Grad-CAM overlay.
type Costs struct {
	Session      uint64
	DecodePerPix float64
	Analysis     uint64
	GradCAM      uint64
}

// DefaultCosts were measured on the shipped model: loading the session adds ~30 MB, a decoded
// photo ~3 bytes/pixel (YCbCr) plus a 1600 px working copy, the overlay at 1024 px ~12 MB.
var DefaultCosts = Costs{Session: 30 * MB, DecodePerPix: 3, Analysis: 12 * MB, GradCAM: 12 * MB}

// Verdict is the decision for one analysis.
type Verdict int

// Verdicts.
const (
	Run Verdict = iota
	RunWithoutGradCAM
	Refuse
)

// Decision is a verdict with the numbers behind it, worded for the clinic.
type Decision struct {
	Verdict Verdict
	Reason  string // English, for the log; the GUI words it from the numbers below
	Peak    uint64 // expected peak resident memory of the chosen plan
	// WithGradCAM is the expected peak with the overlay; Limit what is allowed now (the budget,
	// or less when the system is short); Sample the reading the decision was made on.
	WithGradCAM uint64
	Limit       uint64
	Sample      memory.Sample
	// Decoding names the photo when the decision is about decoding it ("" for an analysis).
	Decoding string
}

// Policy holds the budget and costs.
type Policy struct {
	Budget uint64
	Costs  Costs
}

// Decide plans an analysis of a photo of the given pixel count.
func (p Policy) Decide(s memory.Sample, sessionLoaded, wantGradCAM bool, pixels int) Decision {
	base := s.RSS + uint64(float64(pixels)*p.Costs.DecodePerPix) + p.Costs.Analysis
	if !sessionLoaded {
		base += p.Costs.Session
	}
	limit := p.Budget
	// The system may be shorter than the budget (other programs); keep 10% of what is left.
	if s.Available > 0 {
		if room := s.RSS + s.Available*9/10; room < limit {
			limit = room
		}
	}
	if wantGradCAM && base+p.Costs.GradCAM <= limit {
		return Decision{Verdict: Run, Peak: base + p.Costs.GradCAM, WithGradCAM: base + p.Costs.GradCAM, Limit: limit, Sample: s}
	}
	if base <= limit {
		d := Decision{Verdict: RunWithoutGradCAM, Peak: base, WithGradCAM: base + p.Costs.GradCAM, Limit: limit, Sample: s}
		if wantGradCAM {
			d.Reason = fmt.Sprintf("Grad-CAM was skipped to stay within memory: the analysis needs about %d MB with it, and %d MB is allowed.",
				(base+p.Costs.GradCAM)/MB, limit/MB)
		} else {
			d.Verdict = Run
		}
		return d
	}
	return Decision{Verdict: Refuse, Reason: fmt.Sprintf("Not enough memory to analyse this photo: it needs about %d MB, %d MB is allowed (%d MB in use, %d MB free on this computer). Close other programs, or use a smaller photo.",
		base/MB, limit/MB, s.RSS/MB, s.Available/MB), Peak: base, WithGradCAM: base + p.Costs.GradCAM, Limit: limit, Sample: s}
}

// DecideDecode decides whether a photo whose decode allocates cost bytes (priced from its
// header) may be decoded now. what names the photo for the reason ("7071×7071 progressive
// CMYK JPEG").
func (p Policy) DecideDecode(s memory.Sample, cost uint64, what string) Decision {
	peak := s.RSS + cost
	limit := p.Budget
	if s.Available > 0 {
		if room := s.RSS + s.Available*9/10; room < limit {
			limit = room
		}
	}
	if peak <= limit {
		return Decision{Verdict: Run, Peak: peak, Limit: limit, Sample: s}
	}
	return Decision{Verdict: Refuse, Peak: peak, Limit: limit, Sample: s, Decoding: what,
		Reason: fmt.Sprintf("Not enough memory to open this photo: decoding a %s needs about %d MB, and %d MB is allowed (%d MB in use). Use the camera's normal photo format and size (a JPEG of up to about 20 megapixels).",
			what, cost/MB, limit/MB, s.RSS/MB)}
}
