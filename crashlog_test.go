package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("DERMAL_CRASH_LOG_CHILD"); dir != "" {
		if _, err := installCrashLog(dir); err != nil {
			os.Exit(4)
		}
		go func() { panic("a decoder exploded in a background goroutine") }()
		time.Sleep(10 * time.Second)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A panic in a goroutine other than the window's reaches crash.log (the recover in
// runDesktop only sees its own goroutine).
func TestPanicInAnyGoroutineReachesCrashLog(t *testing.T) {
	dir := t.TempDir()
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "DERMAL_CRASH_LOG_CHILD="+dir)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the child did not crash: %s", out)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "crash.log"))
	if !strings.Contains(string(log), "a decoder exploded in a background goroutine") || !strings.Contains(string(log), "goroutine") {
		t.Errorf("crash.log holds %q", log)
	}
}
