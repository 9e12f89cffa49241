// Package memory reads the process's resident memory and the system's available memory.
// The watchdog and `dermal doctor` use it; platform code sits behind build tags.
package memory

import "errors"

// Sample is one reading, in bytes. Zero means unknown on this platform.
type Sample struct {
	RSS       uint64 // resident set size now
	PeakRSS   uint64 // highest resident set size so far
	Available uint64 // memory the system can still give without swapping
	Total     uint64 // physical memory
}

// ErrUnsupported means this platform has no reader yet.
var ErrUnsupported = errors.New("memory readings are not supported on this platform")

// Read takes a sample.
func Read() (Sample, error) { return read() }
