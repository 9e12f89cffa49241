package config

import (
	"os"
	"path/filepath"
	"runtime"
)

// DefaultDataDir is where Dermal keeps its records by the platform's convention:
// $XDG_DATA_HOME/dermal (else ~/.local/share/dermal) on Linux, and the per-user application
// folder (os.UserConfigDir: %AppData%, ~/Library/Application Support) elsewhere.
func DefaultDataDir() (string, error) {
	if runtime.GOOS == "linux" {
		if x := os.Getenv("XDG_DATA_HOME"); x != "" {
			return filepath.Join(x, "dermal"), nil
		}
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, ".local", "share", "dermal"), nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "Dermal"), nil
}
