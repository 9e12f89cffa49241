//go:build linux

package inference_test

import (
	"fmt"
	"image"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"dermal/internal/inference"
)

func rssAnon(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "RssAnon:" {
			kb, _ := strconv.Atoi(f[1])
			return kb / 1024
		}
	}
	t.Fatal("no RssAnon in /proc/self/status")
	return 0
}

// Unloading gives the session's memory back to the OS (the watchdog's idle unload relies on
// it): the process's anonymous memory falls back near where it was before loading. The first
// cycle warms what stays (the Go runtime's and the C allocator's first pools); the second is
// measured.
func TestUnloadReturnsMemory(t *testing.T) {
	e := inference.NewEngine(int8Model(t), inference.Options{})
	pic := image.NewNRGBA(image.Rect(0, 0, 200, 150))
	if _, err := e.Run(pic); err != nil {
		t.Fatal(err)
	}
	if err := e.Unload(); err != nil {
		t.Fatal(err)
	}
	debug.FreeOSMemory()
	before := rssAnon(t)
	for range 20 {
		if _, err := e.Run(pic); err != nil {
			t.Fatal(err)
		}
	}
	loaded := rssAnon(t)
	if err := e.Unload(); err != nil {
		t.Fatal(err)
	}
	debug.FreeOSMemory()
	after := rssAnon(t)
	t.Logf("anonymous memory: %d MB before, %d MB loaded, %d MB unloaded", before, loaded, after)
	if loaded-before < 10 {
		t.Fatalf("loading added only %d MB; the measurement is not working", loaded-before)
	}
	if after-before > max(2, (loaded-before)/5) {
		t.Errorf("unloading kept %d of the %d MB the session took", after-before, loaded-before)
	}
}

// The main goroutine keeps the process's main thread, as the window's toolkit does in the app
// (Fyne's driver locks it at init): Go never ends the main thread, so the engine's thread must
// not land there for its end to run ONNX Runtime's thread-local destructors.
func init() { runtime.LockOSThread() }

// The idle unload lets go of ONNX Runtime's library too when no other engine holds it, and the
// library is then unmapped: before the engine called ONNX Runtime from a thread of its own
// that ends at the unload, the destructors ONNX Runtime registered on the calling threads kept
// glibc from unmapping it, and its code stayed resident (18 MB of the window after the idle
// unload). Loading it again works, with the same results, as often as the idle period comes,
// and from goroutines on any thread.
func TestLibraryReleasedAndReloaded(t *testing.T) {
	e := inference.NewEngine(int8Model(t), inference.Options{Threads: 2})
	pic := image.NewNRGBA(image.Rect(0, 0, 200, 150))
	mapped := func() bool {
		b, err := os.ReadFile("/proc/self/maps")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(b), "libonnxruntime")
	}
	if mapped() {
		t.Skip("another test of this process holds ONNX Runtime's library")
	}
	var first []float32
	for cycle := range 3 {
		// Each cycle runs from a goroutine of its own, so the runs do not all come from one
		// Go thread, as in the window.
		var raw *inference.Raw
		var err error
		done := make(chan struct{})
		go func() { defer close(done); raw, err = e.Run(pic) }()
		<-done
		if err != nil {
			t.Fatalf("cycle %d: %v", cycle, err)
		}
		if cycle == 0 {
			first = raw.Logits
		} else if fmt.Sprint(raw.Logits) != fmt.Sprint(first) {
			t.Fatalf("cycle %d: logits %v after reloading the library, %v before", cycle, raw.Logits, first)
		}
		if !mapped() {
			t.Fatal("the library is not mapped while the model is loaded: the check does not see it")
		}
		if err := e.Unload(); err != nil {
			t.Fatal(err)
		}
		if mapped() {
			t.Fatalf("cycle %d: ONNX Runtime's library is still mapped after the unload", cycle)
		}
	}
}
