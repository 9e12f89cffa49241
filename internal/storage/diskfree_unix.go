//go:build unix

package storage

import "golang.org/x/sys/unix"

// diskFree is the space left to this user on the disk holding dir (ok false: unknown).
func diskFree(dir string) (bytes uint64, ok bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}
