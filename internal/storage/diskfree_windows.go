//go:build windows

package storage

import "golang.org/x/sys/windows"

// diskFree is the space left to this user on the disk holding dir (ok false: unknown).
func diskFree(dir string) (bytes uint64, ok bool) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, false
	}
	var free, total, totalFree uint64
	if err := windows.GetDiskFreeSpaceEx(p, &free, &total, &totalFree); err != nil {
		return 0, false
	}
	return free, true
}
