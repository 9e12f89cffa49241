package watchdog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"dermal/internal/memory"
)

// Model is what the guard needs of the inference engine.
type Model interface {
	Loaded() bool
	LastRun() time.Time
	Unload() error
}

// Guard applies a Policy to a model. The zero value is not usable; use NewGuard.
type Guard struct {
	policy Policy
	model  Model
	read   func() (memory.Sample, error)
	log    *slog.Logger
	idle   time.Duration

	// turn admits one piece of heavy work at a time, an analysis or a decode: holding the
	// token is the right to run. Two decodes side by side would each be priced against the
	// same free memory.
	turn chan struct{}

	mu sync.Mutex
}

// GoHeapShare is the part of the budget Go's own heap may use (debug.SetMemoryLimit): the rest
// is ONNX Runtime's session and arena-free buffers, which Go cannot see or collect.
const GoHeapShare = 0.6

// NewGuard makes a guard. read is the memory source (memory.Read in the app, a fake in tests);
// idleUnload 0 keeps the model loaded. The process-wide Go heap limit is the program's to set
// (GoHeapLimit), not the guard's.
func NewGuard(p Policy, m Model, read func() (memory.Sample, error), idleUnload time.Duration, log *slog.Logger) *Guard {
	if log == nil {
		log = slog.Default()
	}
	return &Guard{policy: p, model: m, read: read, log: log, idle: idleUnload, turn: make(chan struct{}, 1)}
}

// GoHeapCap is the most GoHeapLimit gives, whatever the budget. The limit is when Go's
// collector starts to work harder, not a ceiling on what may be allocated: at the default
// 400 MB budget the share alone (240 MB) let a phone photo's discarded full-size decode and
// the window's other garbage stay resident through the analysis that followed. The window's
// live heap is 15-30 MB and a 12 MP photo's decode and working copies add ~30 MB, so at 64 MB
// the garbage goes first. Measured in the window (1,000 patients, AMD EPYC, llvmpipe): a
// 12 MP JPEG analysed peaked at 263-272 MB under the share, 264-272 MB at 96 MB and 252 MB
// at 64 MB (the window's live heap idle at 10,000 patients: 15 MB). The command
// line sets its own, lower limit (cli.CommandGoHeapLimit).
const GoHeapCap = 64 * MB

// GoHeapLimit is the Go soft memory limit (debug.SetMemoryLimit) that goes with a budget: its
// Go share, at most GoHeapCap.
func GoHeapLimit(budget uint64) int64 { return int64(min(float64(budget)*GoHeapShare, GoHeapCap)) }

// SetBudget changes the budget (settings).
func (g *Guard) SetBudget(budget uint64) {
	g.mu.Lock()
	g.policy.Budget = budget
	g.mu.Unlock()
	g.log.Info("memory budget", "budget_mb", budget/MB)
}

// Budget is the current budget in bytes.
func (g *Guard) Budget() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.policy.Budget
}

// Acquire waits for the turn to analyse (analyses queue instead of piling up in memory) or
// for ctx to end. Call the returned release when the analysis is over.
func (g *Guard) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case g.turn <- struct{}{}:
		return func() { <-g.turn }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// now is a fresh memory reading (zero where the platform has none: the budget check then runs
// on the estimate alone) and the policy in force.
func (g *Guard) now() (memory.Sample, Policy) {
	s, err := g.read()
	if err != nil {
		s = memory.Sample{}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return s, g.policy
}

// Plan decides how to analyse a photo of the given pixel count, from a fresh memory reading.
// A platform without readings gets the budget check on the estimate alone.
func (g *Guard) Plan(pixels int, wantGradCAM bool) Decision {
	s, p := g.now()
	d := p.Decide(s, g.model.Loaded(), wantGradCAM, pixels)
	switch d.Verdict {
	case RunWithoutGradCAM:
		if wantGradCAM {
			g.log.Warn("analysis without Grad-CAM", "reason", d.Reason, "rss_mb", s.RSS/MB)
		}
	case Refuse:
		g.log.Warn("analysis refused", "reason", d.Reason, "rss_mb", s.RSS/MB)
	}
	return d
}

// Reading is the latest memory sample with the budget, for the status bar.
type Reading struct {
	memory.Sample
	Budget      uint64
	ModelLoaded bool
}

// Read takes a reading for display.
func (g *Guard) Read() (Reading, error) {
	s, err := g.read()
	return Reading{Sample: s, Budget: g.Budget(), ModelLoaded: g.model.Loaded()}, err
}

// UnloadIfIdle unloads the model when it has not run for the idle period and no analysis
// is in progress, and hands the freed memory back to the OS. It reports whether it unloaded.
func (g *Guard) UnloadIfIdle(now time.Time) (bool, error) {
	g.mu.Lock()
	idle := g.idle
	g.mu.Unlock()
	if idle <= 0 || !g.model.Loaded() || now.Sub(g.model.LastRun()) < idle {
		return false, nil
	}
	select {
	case g.turn <- struct{}{}: // not while an analysis runs
		defer func() { <-g.turn }()
	default:
		return false, nil
	}
	if err := g.model.Unload(); err != nil {
		return false, fmt.Errorf("unloading the idle model: %w", err)
	}
	debug.FreeOSMemory()
	g.log.Info("model unloaded after idle period", "idle", idle)
	return true, nil
}

// SetIdleUnload changes the idle period (0: never unload).
func (g *Guard) SetIdleUnload(d time.Duration) {
	g.mu.Lock()
	g.idle = d
	g.mu.Unlock()
}

// Watch calls UnloadIfIdle every interval until ctx ends.
func (g *Guard) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if _, err := g.UnloadIfIdle(now); err != nil {
				g.log.Error("watchdog", "err", err)
			}
		}
	}
}

// ErrNoMemory is the class of refusals (errors.Is); the error itself carries the reason.
var ErrNoMemory = errors.New("not enough memory")

// RefusedError is a refusal with the clinic-worded reason and the numbers.
type RefusedError struct{ Decision Decision }

func (e *RefusedError) Error() string { return e.Decision.Reason }

// Is makes errors.Is(err, ErrNoMemory) true.
func (e *RefusedError) Is(target error) bool { return target == ErrNoMemory }

// AdmitDecode is the intake question "may this photo be decoded now?": it waits for the turn
// (decodes and analyses run one at a time), then prices the decode — cost bytes, as the
// decoder will allocate them — against the budget from a fresh reading. Admitted, it returns
// the release to call once the decode is done; refused, a *RefusedError whose reason names
// what (the photo) and the numbers.
func (g *Guard) AdmitDecode(ctx context.Context, cost uint64, what string) (release func(), err error) {
	release, err = g.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	s, p := g.now()
	if d := p.DecideDecode(s, cost, what); d.Verdict == Refuse {
		release()
		g.log.Warn("decode refused", "reason", d.Reason, "rss_mb", s.RSS/MB)
		return nil, &RefusedError{d}
	}
	return release, nil
}
