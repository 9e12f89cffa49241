//go:build linux

package inference_test

import (
	"image"
	"os"
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
// it): the process's anonymous memory falls back near where it was before loading. ONNX
// Runtime's environment (about 9 MB) is created once per process and stays, so the first cycle
// only sets it up and the second is measured.
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
