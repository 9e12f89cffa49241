//go:build !linux

package inference

// threadID: off Linux, stop does not wait for the system to end the thread (glibc's rule
// on pending thread-local destructors, which the wait is for, is Linux's).
func threadID() int { return 0 }

func waitThreadEnded(int) {}
