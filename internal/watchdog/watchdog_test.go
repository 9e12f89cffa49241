package watchdog

import (
	"strings"
	"testing"

	"dermal/internal/memory"
)

func TestDefaultBudget(t *testing.T) {
	for _, tc := range []struct{ total, want uint64 }{
		{1024 * MB, 256 * MB}, {2048 * MB, 400 * MB}, {16384 * MB, 400 * MB}, {512 * MB, 128 * MB},
	} {
		if got := DefaultBudget(tc.total); got != tc.want {
			t.Errorf("DefaultBudget(%d MB) = %d MB, want %d", tc.total/MB, got/MB, tc.want/MB)
		}
	}
}

func TestDecide(t *testing.T) {
	p := Policy{Budget: 200 * MB, Costs: DefaultCosts}
	twelveMP := 4000 * 3000
	small := 200 * 150
	cases := []struct {
		name     string
		sample   memory.Sample
		loaded   bool
		gradcam  bool
		pixels   int
		want     Verdict
		inReason string
	}{
		{"plenty", memory.Sample{RSS: 60 * MB, Available: 4000 * MB}, true, true, small, Run, ""},
		{"12 MP fits with Grad-CAM", memory.Sample{RSS: 60 * MB, Available: 4000 * MB}, true, true, twelveMP, Run, ""},
		{"12 MP only without Grad-CAM", memory.Sample{RSS: 150 * MB, Available: 4000 * MB}, true, true, twelveMP, RunWithoutGradCAM, "Grad-CAM was skipped"},
		{"not loaded costs the session", memory.Sample{RSS: 150 * MB, Available: 4000 * MB}, false, true, twelveMP, Refuse, "Not enough memory"},
		{"over budget", memory.Sample{RSS: 190 * MB, Available: 4000 * MB}, true, true, small, Refuse, "200 MB is allowed"},
		{"system short of memory", memory.Sample{RSS: 60 * MB, Available: 5 * MB}, true, true, small, Refuse, "5 MB free"},
		{"system tight: Grad-CAM dropped", memory.Sample{RSS: 60 * MB, Available: 20 * MB}, true, true, small, RunWithoutGradCAM, "78 MB is allowed"},
		{"no Grad-CAM wanted", memory.Sample{RSS: 150 * MB, Available: 4000 * MB}, true, false, twelveMP, Run, ""},
	}
	for _, tc := range cases {
		d := p.Decide(tc.sample, tc.loaded, tc.gradcam, tc.pixels)
		if d.Verdict != tc.want {
			t.Errorf("%s: verdict %d (%s), want %d", tc.name, d.Verdict, d.Reason, tc.want)
		}
		if tc.inReason != "" && !strings.Contains(d.Reason, tc.inReason) {
			t.Errorf("%s: reason %q lacks %q", tc.name, d.Reason, tc.inReason)
		}
		if d.Verdict != Refuse && d.Peak > p.Budget {
			t.Errorf("%s: plan peaks at %d MB over the %d MB budget", tc.name, d.Peak/MB, p.Budget/MB)
		}
	}
}
