//go:build !linux && !windows && !darwin

package memory

func read() (Sample, error) { return Sample{}, ErrUnsupported }
