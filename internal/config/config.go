// Package config resolves the settings that the window, the command line and `dermal doctor`
// share, in one place: where the records live and the memory budget. Each is resolved the
// same way everywhere: a command-line flag, else the window's setting, else the default.
package config

import (
	"dermal/internal/memory"
	"dermal/internal/watchdog"
)

// Budget is the memory budget: overrideMB (--memory-budget) if set, else settingMB (the
// window's setting) if set, else watchdog.DefaultBudget of this computer's memory (1.6 GB
// assumed where it cannot be read, which gives 400 MB).
func Budget(overrideMB, settingMB int) uint64 {
	switch {
	case overrideMB > 0:
		return uint64(overrideMB) * watchdog.MB
	case settingMB > 0:
		return uint64(settingMB) * watchdog.MB
	}
	total := uint64(1600 << 20)
	if s, err := memory.Read(); err == nil && s.Total > 0 {
		total = s.Total
	}
	return watchdog.DefaultBudget(total)
}

// DataDir is the records' folder: overrideDir (--data) if set, else settingDir (the window's
// setting) if set, else DefaultDataDir.
func DataDir(overrideDir, settingDir string) (string, error) {
	switch {
	case overrideDir != "":
		return overrideDir, nil
	case settingDir != "":
		return settingDir, nil
	}
	return DefaultDataDir()
}
