//go:build unix

package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

func lockFile(f *os.File, exclusive bool) error {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	return unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
}

func unlockFile(f *os.File) { unix.Flock(int(f.Fd()), unix.LOCK_UN) }

// holders names the other processes that have the lock file open, from /proc (Linux); ""
// where the system cannot tell.
func holders(lock string) string {
	want, err := filepath.Abs(lock)
	if err != nil {
		return ""
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	seen := map[int]bool{}
	var names []string
	for _, fd := range procs {
		target, err := os.Readlink(fd)
		if err != nil || target != want {
			continue
		}
		pid, err := strconv.Atoi(strings.Split(fd, "/")[2])
		if err != nil || pid == os.Getpid() || seen[pid] {
			continue
		}
		seen[pid] = true
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		names = append(names, fmt.Sprintf("process %d (%s)", pid, strings.TrimSpace(string(comm))))
	}
	return strings.Join(names, ", ")
}
