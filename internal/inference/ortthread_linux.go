package inference

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

func threadID() int { return syscall.Gettid() }

// waitThreadEnded waits, for up to a second, until the thread tid of this process is gone
// from /proc: Go ends a locked thread just after its goroutine returns, and its thread-local
// destructors run at that end. Past the second the unload goes on; the library then merely
// stays mapped, as it did before the engine had a thread of its own.
func waitThreadEnded(tid int) {
	if tid == os.Getpid() {
		return // the process's main thread: Go never ends it (the window's toolkit holds it anyway)
	}
	task := fmt.Sprintf("/proc/self/task/%d", tid)
	for range 1000 {
		if _, err := os.Stat(task); os.IsNotExist(err) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
