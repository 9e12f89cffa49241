package inference

import (
	"fmt"
	"runtime"
)

// ortThread is the one OS thread that calls ONNX Runtime while a session is loaded; it ends
// when the session is unloaded.
//
// Why a thread of the engine's own: ONNX Runtime registers C++ thread-local destructors on
// every thread that calls it, and glibc will not unmap a library while such a destructor is
// pending (dlclose then does nothing). Called from Go's scheduler threads or from the clinic's
// long-lived analysis thread, which live as long as the process, its 18 MB of code stayed
// resident after the idle unload. A thread that ends runs its destructors, so the library can
// go. One thread also keeps ONNX Runtime's per-thread state warm between runs: measured on
// the shipped model, runs hopping between Go's threads had a 95th-percentile latency of
// 3.3 ms against 1.8 ms on one thread, at the same median.
type ortThread struct {
	calls chan func()
	ended chan struct{}
	tid   int // the OS thread's id where the system has one (threadID), to wait for its end
}

// startORTThread starts the thread. Go never ends the process's main thread, so a thread
// that lands there outlives the unload; in the app Fyne's driver keeps the main thread for
// itself, so the engine's never does (the tests lock it the same way).
func startORTThread() *ortThread {
	t := &ortThread{calls: make(chan func()), ended: make(chan struct{})}
	started := make(chan struct{})
	go func() {
		// Never unlocked: when this goroutine returns, Go ends the OS thread with it, and the
		// thread's destructors run.
		runtime.LockOSThread()
		t.tid = threadID()
		close(started)
		for fn := range t.calls {
			fn()
		}
		close(t.ended)
	}()
	<-started
	return t
}

// do runs fn on the thread and waits for it; a panic in fn is raised again in the caller.
func (t *ortThread) do(fn func()) {
	done := make(chan any, 1)
	t.calls <- func() {
		defer func() { done <- recover() }()
		fn()
	}
	if p := <-done; p != nil {
		panic(fmt.Sprintf("on ONNX Runtime's thread: %v", p))
	}
}

// stop ends the thread and waits until the system has ended it (where it can tell), so that
// a library unloaded next finds no destructor of the thread pending.
func (t *ortThread) stop() {
	close(t.calls)
	<-t.ended
	waitThreadEnded(t.tid)
}
