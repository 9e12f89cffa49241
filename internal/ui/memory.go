package ui

import "dermal/internal/memory"

// totalMemory is this computer's RAM, or 1.6 GB where it cannot be read (which gives the
// 400 MB default budget).
func totalMemory() uint64 {
	if s, err := memory.Read(); err == nil && s.Total > 0 {
		return s.Total
	}
	return 1600 << 20
}
