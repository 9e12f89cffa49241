//go:build darwin

package memory

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// macOS without cgo: the current resident size needs Mach calls, so RSS is the peak resident
// size (getrusage; bytes on macOS), which over-estimates and so keeps the watchdog on the safe
// side. Available memory is the free and inactive pages (sysctl vm.page_*_count).
func read() (Sample, error) {
	var s Sample
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return s, err
	}
	s.PeakRSS = uint64(ru.Maxrss)
	s.RSS = s.PeakRSS
	total, err := unix.SysctlUint64("hw.memsize")
	if err != nil {
		return s, err
	}
	s.Total = total
	page, err := unix.SysctlUint32("hw.pagesize")
	if err != nil {
		return s, err
	}
	free, err1 := unix.SysctlUint32("vm.page_free_count")
	inactive, err2 := unix.SysctlUint32("vm.page_inactive_count")
	if err1 == nil && err2 == nil {
		s.Available = (uint64(free) + uint64(inactive)) * uint64(page)
	}
	return s, nil
}
