package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A restore replaces the records file in two renames (records aside, restored copy in). A kill
// between them left no records file, and the next command made a new, empty database without
// accounts. The journal closes that window: it is written once the restored copy is complete
// beside the records, before anything is moved, and says where the records go. Whoever opens
// the records next (or the next restore) finishes the restore from it: every step is a rename
// that can be told done or not done from the files alone, so finishing is always possible and
// never loses either copy.

// restoreJournal is what the journal file holds.
type restoreJournal struct {
	// Kept is where the records in place are moved ("" when there were none).
	Kept string `json:"kept"`
	// Started is when the restore began (for the audit of the records it put in place).
	Started time.Time `json:"started"`
}

func journalPath(path string) string   { return path + ".restore-journal" }
func restoringPath(path string) string { return path + ".restoring" }

// heldPath marks a data folder that has held records: a records file missing beside it is never
// silently created anew (empty, and without accounts: open to anyone).
func heldPath(path string) string { return path + ".held" }

// ErrRecordsMissing means the records file is gone from a data folder that held records.
var ErrRecordsMissing = errors.New("the records are missing")

// writeJournal writes the journal atomically and durably.
func writeJournal(path string, j restoreJournal) error {
	b, _ := json.Marshal(j)
	return WriteFileAtomic(journalPath(path), b)
}

// WriteFileAtomic writes data to path through a temporary file beside it, synced and renamed
// into place: a kill leaves the old file or the new one, never half of it. The file is its
// owner's only.
func WriteFileAtomic(path string, data []byte) error {
	_, err := WriteAtomic(path, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
	return err
}

// WriteAtomic is WriteFileAtomic for a file written by write as a stream (a backup run is
// not held in memory); it returns the size written. The temporary file is named
// ".NAME.tmp-*" (IsAtomicLeftover): a writer killed half-way leaves one, which the writer's
// next run may remove.
func WriteAtomic(path string, write func(*os.File) error) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, err
	}
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return 0, err
	}
	syncDir(filepath.Dir(path))
	return size, nil
}

// IsAtomicLeftover reports whether a file name is a temporary file of WriteAtomic.
func IsAtomicLeftover(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-")
}

// journalTemps are journals a kill left half-written (WriteFileAtomic's temporary files).
func journalTemps(path string) []string {
	m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(journalPath(path))+".tmp-*"))
	return m
}

// restorePending reports whether a restore left work behind: a journal, or a partial copy.
func restorePending(path string) bool {
	for _, p := range append([]string{journalPath(path), restoringPath(path)}, journalTemps(path)...) {
		if _, err := os.Lstat(p); err == nil {
			return true
		}
	}
	return false
}

// finishRestore completes an interrupted restore, or clears the copy of one that was killed
// before its journal (the records were never touched then). The caller holds the exclusive
// lock. It returns where the records that were replaced are kept ("" if none).
func finishRestore(path string) (kept string, err error) {
	for _, t := range journalTemps(path) {
		os.Remove(t) // a journal never completed: the records were not touched
	}
	b, err := os.ReadFile(journalPath(path))
	if errors.Is(err, os.ErrNotExist) {
		os.Remove(restoringPath(path)) // a copy killed half-way: the records are untouched
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the restore journal %s: %w", journalPath(path), err)
	}
	var j restoreJournal
	if err := json.Unmarshal(b, &j); err != nil {
		return "", fmt.Errorf("the restore journal %s is damaged (%v): the restored copy is %s and the records were to be kept as a .before-restore file; move the right one to %s by hand",
			journalPath(path), err, restoringPath(path), path)
	}
	if _, err := os.Lstat(restoringPath(path)); err == nil {
		// The restored copy is not in place yet: move whatever is in place aside first.
		if _, err := os.Lstat(path); err == nil {
			if j.Kept == "" {
				// Something appeared where no records were (an older version's empty database).
				if j.Kept, err = keptName(path, time.Now()); err != nil {
					return "", err
				}
			}
			if _, err := os.Lstat(j.Kept); err == nil {
				return "", fmt.Errorf("finishing the restore: both %s and %s exist; nothing was moved", path, j.Kept)
			}
			if err := os.Rename(path, j.Kept); err != nil {
				return "", fmt.Errorf("finishing the restore: %w", err)
			}
		}
		for _, suffix := range []string{"-wal", "-shm"} {
			if _, err := os.Lstat(path + suffix); err == nil && j.Kept != "" {
				if err := os.Rename(path+suffix, j.Kept+suffix); err != nil {
					return "", fmt.Errorf("finishing the restore: %w", err)
				}
			}
		}
		if err := os.Rename(restoringPath(path), path); err != nil {
			return "", fmt.Errorf("finishing the restore: %w", err)
		}
	}
	syncDir(filepath.Dir(path))
	forgetHead(path) // the records in place are another trail now
	if err := os.Remove(journalPath(path)); err != nil {
		return "", err
	}
	syncDir(filepath.Dir(path))
	return j.Kept, nil
}

// PlainTemp makes a temporary plain copy's file in dir (a backup's before it is sealed, a sealed
// backup's while it is restored): owner-only, and named so that the next start removes it if a
// kill left it behind (a full plain copy of the records must not outlive its use).
func PlainTemp(dir, use string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return os.CreateTemp(dir, ".dermal-"+use+"-*.db")
}

// plainLeftovers are the plain copies a killed backup or restore left in the records' folder.
func plainLeftovers(path string) []string {
	var out []string
	for _, use := range []string{"backup", "restore"} {
		m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".dermal-"+use+"-*.db"))
		out = append(out, m...)
	}
	return out
}

// settleRecords runs before the records are opened: it finishes a restore left half done (under
// the exclusive lock, so never under a running restore), removes plain copies a killed backup or
// restore left behind (only when no other process has the records open: a running backup's own
// copy is left alone), and refuses to create records anew in a folder that has held them.
func settleRecords(path string) error {
	if left := plainLeftovers(path); len(left) > 0 {
		if lock, err := lockExclusive(path); err == nil {
			for _, f := range left {
				os.Remove(f)
			}
			lock.release()
		}
	}
	if restorePending(path) {
		lock, err := lockExclusive(path)
		if err != nil {
			return fmt.Errorf("a restore of %s is in progress or was interrupted: %w", path, err)
		}
		_, err = finishRestore(path)
		lock.release()
		if err != nil {
			return err
		}
	}
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		var found []string
		if _, err := os.Lstat(heldPath(path)); err == nil {
			found = append(found, filepath.Base(heldPath(path)))
		}
		kept, _ := filepath.Glob(path + ".before-restore-*")
		for _, k := range kept {
			if !strings.HasSuffix(k, "-wal") && !strings.HasSuffix(k, "-shm") {
				found = append(found, filepath.Base(k))
			}
		}
		if len(found) > 0 {
			return fmt.Errorf("%w: %s is not there, but this folder has held records (%s). Dermal does not start empty records here: restore a backup (dermal restore FILE), or put the records file back; to start afresh on purpose, use another data folder",
				ErrRecordsMissing, path, strings.Join(found, ", "))
		}
	}
	return nil
}

// markHeld records that the folder holds records (once; its failure only loses the guard).
func markHeld(path string) {
	if _, err := os.Lstat(heldPath(path)); err == nil {
		return
	}
	os.WriteFile(heldPath(path), []byte("Dermal keeps its records in this folder. Do not delete this file: it stops Dermal from starting empty records here if the records file goes missing.\n"), 0o600)
}
