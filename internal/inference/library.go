package inference

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// LibraryFileName is the ONNX Runtime shared library's name on this platform.
func LibraryFileName() string {
	switch runtime.GOOS {
	case "windows":
		return "onnxruntime.dll"
	case "darwin":
		return "libonnxruntime.dylib"
	default:
		return "libonnxruntime.so.1"
	}
}

// ErrLibraryNotFound means no ONNX Runtime library was found where Dermal looks.
var ErrLibraryNotFound = errors.New("ONNX Runtime library not found")

// FindLibrary returns the ONNX Runtime library to load: the explicit path (flag or setting)
// if given, else the first that exists of: next to the executable, lib/ beside or above the
// executable, lib/ in the working directory or a parent holding go.mod (for go test and
// go run). No environment variable is needed.
func FindLibrary(explicit string) (string, error) {
	name := LibraryFileName()
	if explicit != "" {
		if st, err := os.Stat(explicit); err != nil || st.IsDir() {
			return "", fmt.Errorf("%w at %s (set by --ort-lib or the settings): %v", ErrLibraryNotFound, explicit, err)
		}
		return explicit, nil
	}
	var tried []string
	try := func(dir string) string {
		p := filepath.Join(dir, name)
		tried = append(tried, p)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
		return ""
	}
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		d := filepath.Dir(exe)
		dirs = append(dirs, d, filepath.Join(d, "lib"), filepath.Join(d, "..", "lib"))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil || d == wd {
				dirs = append(dirs, filepath.Join(d, "lib"))
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, d := range dirs {
		if p := try(d); p != "" {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w (looked in %s). Run `make deps` in the Dermal source folder, copy %s next to the dermal program, or pass --ort-lib PATH",
		ErrLibraryNotFound, strings.Join(tried, ", "), name)
}
