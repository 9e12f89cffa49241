//go:build linux

package capture

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blackjack/webcam"
)

func TestBestSize(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sizes []webcam.FrameSize
		w, h  uint32
	}{
		{"discrete", []webcam.FrameSize{{MaxWidth: 640, MaxHeight: 480}, {MaxWidth: 1280, MaxHeight: 720}, {MaxWidth: 1920, MaxHeight: 1080}}, 1280, 720},
		{"stepwise", []webcam.FrameSize{{MinWidth: 160, MaxWidth: 2592, StepWidth: 16, MinHeight: 120, MaxHeight: 1944, StepHeight: 16}}, 1280, 960},
		{"small only", []webcam.FrameSize{{MaxWidth: 320, MaxHeight: 240}, {MaxWidth: 640, MaxHeight: 480}}, 640, 480},
		{"none listed", nil, 640, 480},
	} {
		if w, h := bestSize(tc.sizes); w != tc.w || h != tc.h {
			t.Errorf("%s: %dx%d, want %dx%d", tc.name, w, h, tc.w, tc.h)
		}
	}
}

func TestOpenCameraOnSomethingElseSaysWhat(t *testing.T) {
	f := filepath.Join(t.TempDir(), "video9")
	os.WriteFile(f, []byte("not a device"), 0o644)
	for _, path := range []string{f, "/nonexistent/video0"} {
		c, err := OpenCamera(Device{Path: path})
		if err == nil {
			c.Close()
			t.Fatalf("%s opened as a camera", path)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name %s", err, path)
		}
	}
}
