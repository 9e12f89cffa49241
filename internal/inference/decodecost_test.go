package inference_test

import (
	"errors"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"dermal/internal/hostile"
	"dermal/internal/inference"
	"dermal/internal/testtool"
)

// allocated is what one decode allocates in all (the Go GC off): an upper bound of its peak.
func allocated(t *testing.T, name string, data []byte) (uint64, *inference.Photo) {
	t.Helper()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	p, err := inference.DecodePhoto(name, data)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return after.TotalAlloc - before.TotalAlloc, p
}

// Item 10: every format is priced, before decoding, at no less than what its decode really
// allocates (and not wildly more, or good photos would be refused).
func TestDecodeCostCoversWhatTheDecoderAllocates(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are measured without the race detector (make test's plain pass)")
	}
	testtool.Need(t, "convert")
	const side = 2400 // 5.8 MP: above the working size, so the downscale is priced too
	for _, kind := range hostile.Kinds {
		t.Run(kind, func(t *testing.T) {
			h, err := hostile.Make(kind, side)
			if err != nil {
				t.Fatal(err)
			}
			var cost inference.DecodeCost
			_, err = inference.DecodePhotoAdmit(h.Name, h.Data, func(c inference.DecodeCost) (func(), error) {
				cost = c
				return func() {}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := allocated(t, h.Name, h.Data)
			t.Logf("%s (%d kB): priced %d MB, allocated %d MB (%s)", kind, len(h.Data)>>10, cost.Bytes>>20, got>>20, cost.What)
			if cost.Bytes < got {
				t.Errorf("priced %d MB, the decode allocated %d MB", cost.Bytes>>20, got>>20)
			}
			if cost.Bytes > 3*got {
				t.Errorf("priced %d MB, more than 3x the %d MB the decode allocated", cost.Bytes>>20, got>>20)
			}
		})
	}
}

// Item 11: a progressive JPEG that repeats a scan is refused from its markers, at once.
func TestRepeatedScansAreRefusedBeforeDecoding(t *testing.T) {
	testtool.Need(t, "convert")
	h, err := hostile.Make("jpeg-444-progressive", 1200)
	if err != nil {
		t.Fatal(err)
	}
	// A normal progressive file decodes.
	if _, err := inference.DecodePhoto(h.Name, h.Data); err != nil {
		t.Fatalf("ordinary progressive JPEG: %v", err)
	}
	bad, err := hostile.RepeatScans(h.Data, 1000)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	_, err = inference.DecodePhoto("scans.jpg", bad)
	if !errors.Is(err, inference.ErrTooMuchWork) || time.Since(t0) > time.Second {
		t.Errorf("1,000 scans: %v after %s", err, time.Since(t0))
	}
}
