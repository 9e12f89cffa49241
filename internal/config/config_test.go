package config

import (
	"path/filepath"
	"testing"

	"dermal/internal/memory"
	"dermal/internal/watchdog"
)

// A flag beats the window's setting, which beats the default; the default follows the RAM.
func TestBudgetAndDataDirResolveTheSameWayEverywhere(t *testing.T) {
	if got := Budget(250, 300); got != 250*watchdog.MB {
		t.Errorf("flag and setting: %d MB, want the flag's 250", got/watchdog.MB)
	}
	if got := Budget(0, 300); got != 300*watchdog.MB {
		t.Errorf("setting only: %d MB", got/watchdog.MB)
	}
	want := watchdog.DefaultBudget(1600 << 20)
	if s, err := memory.Read(); err == nil && s.Total > 0 {
		want = watchdog.DefaultBudget(s.Total)
	}
	if got := Budget(0, 0); got != want {
		t.Errorf("default: %d MB, want %d", got/watchdog.MB, want/watchdog.MB)
	}
	if d, _ := DataDir("/flag", "/setting"); d != "/flag" {
		t.Errorf("data folder with a flag: %s", d)
	}
	if d, _ := DataDir("", "/setting"); d != "/setting" {
		t.Errorf("data folder from the setting: %s", d)
	}
	t.Setenv("XDG_DATA_HOME", "/xdg")
	if d, _ := DataDir("", ""); d != filepath.Join("/xdg", "dermal") {
		t.Errorf("default data folder: %s", d)
	}
}
