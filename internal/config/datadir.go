package config

import (
	"os"
	"path/filepath"
	"runtime"
)

// DefaultDataDir is where Dermal keeps its records by the platform's convention:
// $XDG_DATA_HOME/dermal (else ~/.local/share/dermal) on Linux, %LOCALAPPDATA%\Dermal on
// Windows (the per-user application folder that does not roam: a clinic's records and photos
// must not be copied to a domain server at every logoff), and the per-user application folder
// (os.UserConfigDir: ~/Library/Application Support) elsewhere. The Windows uninstaller leaves
// this folder alone.
func DefaultDataDir() (string, error) {
	if runtime.GOOS == "windows" {
		if d := os.Getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "Dermal"), nil
		}
	}
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
