//go:build !linux

package memory

func read() (Sample, error) { return Sample{}, ErrUnsupported }
