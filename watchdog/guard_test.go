package watchdog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dermal/memory"
)

type fakeModel struct {
	mu      sync.Mutex
	loaded  bool
	last    time.Time
	unloads int
}

func (m *fakeModel) Loaded() bool       { m.mu.Lock(); defer m.mu.Unlock(); return m.loaded }
func (m *fakeModel) LastRun() time.Time { m.mu.Lock(); defer m.mu.Unlock(); return m.last }
func (m *fakeModel) Unload() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loaded = false
	m.unloads++
	return nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func reader(s memory.Sample) func() (memory.Sample, error) {
	return func() (memory.Sample, error) { return s, nil }
}

func TestGuardSetsGoHeapLimitFromBudget(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	g := NewGuard(Policy{Budget: 300 * MB, Costs: DefaultCosts}, &fakeModel{}, reader(memory.Sample{}), 0, quiet)
	if got := debug.SetMemoryLimit(-1); got != int64(180*MB) {
		t.Errorf("Go heap limit %d MB, want 180 (60%% of 300)", got/MB)
	}
	g.SetBudget(200 * MB)
	if got := debug.SetMemoryLimit(-1); got != int64(120*MB) {
		t.Errorf("after SetBudget: %d MB", got/MB)
	}
}

func TestGuardRunsOneAnalysisAtATime(t *testing.T) {
	g := NewGuard(Policy{Budget: 300 * MB, Costs: DefaultCosts}, &fakeModel{}, reader(memory.Sample{}), 0, quiet)
	var running, most atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := g.Acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			n := running.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
			running.Add(-1)
			release()
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d analyses ran at once", most.Load())
	}
	// A caller that gives up waiting gets its context's error, not a turn.
	release, _ := g.Acquire(context.Background())
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := g.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting past the deadline: %v", err)
	}
}

func TestGuardUnloadsOnlyWhenIdle(t *testing.T) {
	now := time.Now()
	m := &fakeModel{loaded: true, last: now.Add(-5 * time.Minute)}
	g := NewGuard(Policy{Budget: 300 * MB, Costs: DefaultCosts}, m, reader(memory.Sample{}), 10*time.Minute, quiet)
	if done, _ := g.UnloadIfIdle(now); done {
		t.Error("unloaded after 5 of 10 idle minutes")
	}
	release, _ := g.Acquire(context.Background())
	if done, _ := g.UnloadIfIdle(now.Add(time.Hour)); done {
		t.Error("unloaded while an analysis held the turn")
	}
	release()
	if done, err := g.UnloadIfIdle(now.Add(6 * time.Minute)); !done || err != nil || m.Loaded() {
		t.Errorf("not unloaded after 11 idle minutes: %v %v", done, err)
	}
	g.SetIdleUnload(0)
	m.loaded = true
	if done, _ := g.UnloadIfIdle(now.Add(24 * time.Hour)); done {
		t.Error("unloaded with idle unloading switched off")
	}
}

func TestGuardAdmitRefusesWithReason(t *testing.T) {
	g := NewGuard(Policy{Budget: 140 * MB, Costs: DefaultCosts}, &fakeModel{loaded: true}, reader(memory.Sample{RSS: 100 * MB, Available: 4000 * MB}), 0, quiet)
	if err := g.Admit(200 * 150); err != nil {
		t.Errorf("small photo refused: %v", err)
	}
	err := g.Admit(12_000_000)
	var refused *RefusedError
	if !errors.Is(err, ErrNoMemory) || !errors.As(err, &refused) || refused.Decision.Verdict != Refuse {
		t.Fatalf("12 MP at 100 of 140 MB: %v", err)
	}
	if refused.Error() == "" {
		t.Error("no reason given")
	}
}
