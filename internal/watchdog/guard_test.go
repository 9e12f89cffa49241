package watchdog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dermal/internal/memory"
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

func TestGuardLeavesTheGoHeapLimitToTheProgram(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	g := NewGuard(Policy{Budget: 300 * MB, Costs: DefaultCosts}, &fakeModel{}, reader(memory.Sample{}), 0, quiet)
	g.SetBudget(200 * MB)
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("the guard changed the process's Go heap limit: %d -> %d", before, got)
	}
	if g.Budget() != 200*MB {
		t.Errorf("budget %d MB, want 200", g.Budget()/MB)
	}
	// The share below the cap, the cap above it (400 MB is the default budget).
	for budget, want := range map[uint64]int64{100 * MB: 60 * MB, 400 * MB: 64 * MB} {
		if got := GoHeapLimit(budget); got != want {
			t.Errorf("heap limit for a %d MB budget: %d MB, want %d", budget/MB, got/MB, want/MB)
		}
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
	release, err := g.AdmitDecode(context.Background(), 200*150*4, "200×150 PNG")
	if err != nil {
		t.Fatalf("small photo refused: %v", err)
	}
	// Decodes are admitted one at a time: a second waits for the first to be released.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	if _, err := g.AdmitDecode(ctx, 1, "tiny"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a second decode beside the first: %v", err)
	}
	cancel()
	release()
	_, err = g.AdmitDecode(context.Background(), 1200*MB, "7071×7071 progressive CMYK JPEG")
	var refused *RefusedError
	if !errors.Is(err, ErrNoMemory) || !errors.As(err, &refused) || refused.Decision.Verdict != Refuse {
		t.Fatalf("a 1200 MB decode at 100 of 140 MB: %v", err)
	}
	if !strings.Contains(refused.Error(), "progressive CMYK JPEG") || !strings.Contains(refused.Error(), "1200 MB") {
		t.Errorf("the reason does not name the photo and its cost: %s", refused.Error())
	}
}
