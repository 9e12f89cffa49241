package ui

import (
	"sync"
	"time"

	"fyne.io/fyne/v2"
)

// latest orders the requests of one kind (one compare side's photo, the search box): only
// the newest request's result is applied; a result that a newer request has superseded is
// dropped, so a quick re-pick never shows one date's photo under another date's text.
type latest struct {
	mu  sync.Mutex
	gen uint64
}

// next starts a request and returns its number.
func (l *latest) next() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gen++
	return l.gen
}

func (l *latest) isCurrent(gen uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen == gen
}

// background is the one way work leaves the UI thread: work runs on its own goroutine (it
// must not touch widgets), and apply gets its result on the UI thread through fyne.Do —
// unless l (nil: never) has seen a newer request since, when the result is dropped. u.jobs
// counts the work until it is applied or dropped (tests wait on it).
func background[T any](u *UI, l *latest, work func() T, apply func(T)) {
	var gen uint64
	if l != nil {
		gen = l.next()
	}
	u.jobs.Add(1)
	go func() {
		v := work()
		fyne.Do(func() {
			defer u.jobs.Done()
			if l != nil && !l.isCurrent(gen) {
				return
			}
			apply(v)
		})
	}()
}

// debounce runs fn on the UI thread once no call has come for wait: typing a name runs one
// search, not one per key.
type debounce struct {
	mu    sync.Mutex
	timer *time.Timer
	wait  time.Duration
}

func (d *debounce) call(u *UI, fn func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && d.timer.Stop() {
		u.jobs.Done() // the call it replaces will not run
	}
	u.jobs.Add(1)
	d.timer = time.AfterFunc(d.wait, func() {
		fyne.Do(func() {
			defer u.jobs.Done()
			fn()
		})
	})
}
