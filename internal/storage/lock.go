package storage

import (
	"fmt"
	"os"
)

// The data folder's lock file: every open Store holds it shared, a restore exclusively, so a
// restore never renames the database under a process that would go on writing into the
// renamed file (its saves would vanish from the restored records).
type fileLock struct{ f *os.File }

func lockPath(dbPath string) string { return dbPath + ".lock" }

func lockShared(dbPath string) (*fileLock, error) {
	f, err := os.OpenFile(lockPath(dbPath), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, classify(dbPath, fmt.Errorf("opening the lock file: %w", err))
	}
	if err := lockFile(f, false); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: a restore is replacing the records right now; try again when it has finished", ErrBusy)
	}
	return &fileLock{f}, nil
}

// lockExclusive takes the lock only if no Store has the records open; else it says which
// processes hold them (where the system can tell).
func lockExclusive(dbPath string) (*fileLock, error) {
	f, err := os.OpenFile(lockPath(dbPath), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, classify(dbPath, fmt.Errorf("opening the lock file: %w", err))
	}
	if err := lockFile(f, true); err != nil {
		f.Close()
		who := holders(lockPath(dbPath))
		if who == "" {
			who = "another Dermal program"
		}
		return nil, fmt.Errorf("%w: the records are open in %s; close it first (the app can restore from Settings itself)", ErrBusy, who)
	}
	return &fileLock{f}, nil
}

func (l *fileLock) release() {
	if l == nil || l.f == nil {
		return
	}
	unlockFile(l.f)
	l.f.Close()
	l.f = nil
}
