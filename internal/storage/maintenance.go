package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrCorrupt means the database file failed SQLite's integrity check or is not a Dermal
// database. It is never written to or replaced automatically.
var ErrCorrupt = errors.New("the database is damaged or not a Dermal database")

// isBusy reports whether err is SQLite saying another connection holds a lock: a reason to
// wait or retry, never a sign of damage.
func isBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// isReadOnly reports whether err is the system or SQLite refusing to write.
func isReadOnly(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN:
			return true
		}
	}
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)
}

func isDiskFull(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL {
		return true
	}
	return errors.Is(err, syscall.ENOSPC)
}

// isStorageError reports whether err came from SQLite or the file system (not a refusal of
// Dermal's own, which a full disk does not explain).
func isStorageError(err error) bool {
	var se *sqlite.Error
	var pe *fs.PathError
	return errors.As(err, &se) || errors.As(err, &pe)
}

// ErrDiskFull means the disk holding the records has no room left.
var ErrDiskFull = errors.New("the disk is full")

// diskNearlyFull reports whether the disk holding dir has less room than SQLite needs to open
// and check records (its WAL index, its temporary files): 1 MiB.
func diskNearlyFull(dir string) bool {
	free, ok := diskFree(dir)
	return ok && free < 1<<20
}

// classify gives an SQLite error the cause a clinician or IT volunteer can act on.
func classify(path string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrBusy), errors.Is(err, ErrReadOnly), errors.Is(err, ErrCorrupt):
		return err
	case isBusy(err):
		return fmt.Errorf("%w (waited %s): %v", ErrBusy, BusyTimeout, err)
	case isDiskFull(err), errors.Is(err, ErrDiskFull):
		if errors.Is(err, ErrDiskFull) {
			return err
		}
		return fmt.Errorf("%w: the disk holding %s is full; nothing was written — free some space: %v", ErrDiskFull, filepath.Dir(path), err)
	case isStorageError(err) && diskNearlyFull(filepath.Dir(path)):
		return fmt.Errorf("%w: the disk holding %s is full (%v); nothing was written — free some space", ErrDiskFull, filepath.Dir(path), err)
	case isReadOnly(err):
		return fmt.Errorf("%w: %s: %v", ErrReadOnly, filepath.Dir(path), err)
	}
	return err
}

// probeWritable makes sure the data folder (and the database file, if it exists) can be
// written before SQLite opens it: SQLite's own answer for a read-only folder is "unable to
// open database file", which reads like damage.
func probeWritable(path string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".dermal-write-test-*")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("the data folder %s does not exist", dir)
		}
		return fmt.Errorf("%w: %s (%v); Dermal keeps its records there and must be able to write them — give this user write access, or choose another folder with --data",
			ErrReadOnly, dir, errors.Unwrap(err))
	}
	f.Close()
	os.Remove(f.Name())
	if _, err := os.Stat(path); err == nil {
		g, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("%w: the database %s cannot be opened for writing (%v)", ErrReadOnly, path, errors.Unwrap(err))
		}
		g.Close()
	}
	return nil
}

// checkFile runs an integrity check on an existing file before anything writes to it: the
// header and the schema always, the record tables and their indexes too when full is set.
// A check that cannot get at the file because another process holds it returns ErrBusy.
func checkFile(path string, full bool) error {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%w: %s is a folder", ErrCorrupt, path)
	}
	if st.Size() == 0 {
		return nil
	}
	head := make([]byte, 16)
	f, err := os.Open(path)
	if err != nil {
		return classify(path, err)
	}
	_, err = f.Read(head)
	f.Close()
	if err != nil || string(head) != "SQLite format 3\x00" {
		return fmt.Errorf("%w: %s is not an SQLite database; it was left untouched", ErrCorrupt, path)
	}
	db, err := sql.Open("sqlite", fmt.Sprintf("file:%s?mode=ro&_pragma=busy_timeout(%d)", path, BusyTimeout.Milliseconds()))
	if err != nil {
		return err
	}
	defer db.Close()
	// integrity_check of the record tables, not quick_check: only it compares every index
	// with its table (a damaged index entry makes a patient unfindable while writes go on).
	// Not the photo blobs: they are most of the file, and every photo is verified against its
	// SHA-256 when read anyway.
	tables := []string{"sqlite_schema"}
	var rows *sql.Rows
	if full {
		rows, err = db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN ('patients', 'lesions', 'assessments', 'audit')`)
		if err == nil {
			for rows.Next() {
				var n string
				if rows.Scan(&n) == nil {
					tables = append(tables, n)
				}
			}
			err = rows.Err()
			rows.Close()
		}
	}
	var problems []string
	for _, t := range tables {
		if err != nil {
			break
		}
		var r *sql.Rows
		if r, err = db.Query(fmt.Sprintf("PRAGMA integrity_check(%q)", t)); err != nil {
			break
		}
		for r.Next() {
			var res string
			if r.Scan(&res) == nil && res != "ok" {
				problems = append(problems, res)
			}
		}
		err = r.Err()
		r.Close()
	}
	switch {
	case err != nil && isBusy(err):
		return fmt.Errorf("%w: the integrity check of %s could not read it: %v", ErrBusy, path, err)
	case err != nil && isReadOnly(err):
		return classify(path, err)
	case err != nil && diskNearlyFull(filepath.Dir(path)):
		// The check could not run (SQLite needs room beside the file even to read it): a full
		// disk is not damage, and "restore a backup" would be the wrong advice.
		return fmt.Errorf("%w: the disk holding %s is full, so its records could not be checked or opened (%v); nothing was changed — free some space and start again", ErrDiskFull, filepath.Dir(path), err)
	case err == nil && len(problems) > 0:
		if len(problems) > 3 {
			problems = append(problems[:3], fmt.Sprintf("and %d more", len(problems)-3))
		}
		err = errors.New(strings.Join(problems, "; "))
	}
	if err != nil {
		return fmt.Errorf("%w: %s failed the integrity check (%v); it was left untouched — restore a backup with `dermal restore`", ErrCorrupt, path, err)
	}
	return nil
}

// AuditNotRecordedError means a backup is complete and usable but the audit trail could not
// record it (the disk holding the records is full, or another process held them too long).
type AuditNotRecordedError struct {
	Dest string
	Err  error
}

func (e *AuditNotRecordedError) Error() string {
	return fmt.Sprintf("the backup %s is complete, but the audit trail could not record it: %v", e.Dest, e.Err)
}

func (e *AuditNotRecordedError) Unwrap() error { return e.Err }

// Backup writes a consistent copy of the database to dest (VACUUM INTO: a snapshot even while
// the app is writing). dest must not exist. A failed copy leaves no file behind, so trying
// again works; a complete copy whose audit row could not be written returns
// *AuditNotRecordedError (the copy is good).
func (s *Store) Backup(ctx context.Context, dest string) error { return s.BackupNamed(ctx, dest, dest) }

// BackupNamed is Backup whose audit row names the backup as name (the sealed file the plain copy
// dest becomes, not the temporary copy); name "" writes no audit row (the caller records the
// backup once it is complete: RecordExport). The copy is checked as restore checks a backup (the
// integrity and the whole schema): a backup that restore would refuse is removed and the backup
// fails, naming why, instead of being written without a word.
func (s *Store) BackupNamed(ctx context.Context, dest, name string) error {
	if err := s.writable(); err != nil {
		return err
	}
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("%s already exists; choose a new file name", dest)
	}
	if _, err := s.db.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		os.Remove(dest)
		return fmt.Errorf("backing up to %s: %w", name, classify(dest, err))
	}
	os.Chmod(dest, 0o600)
	if err := checkBackup(dest); err != nil {
		os.Remove(dest)
		return fmt.Errorf("no backup was written, because restore would refuse it (the records themselves differ from what Dermal made: run dermal audit verify, and restore the last good backup): %w", err)
	}
	if name == "" {
		return nil
	}
	if err := s.write(ctx, func(tx *sql.Tx) error { return s.audit(tx, "export", "backup", 0, name) }); err != nil {
		return &AuditNotRecordedError{Dest: name, Err: err}
	}
	return nil
}

// schemaRows is a database's schema, one "type name table: sql" line per object.
func schemaRows(db *sql.DB) ([]string, error) { return schemaRowsQ(context.Background(), db) }

// expectedSchema is the schema that migrations 1..version make.
// schemaDiff names what differs between a database's schema rows and Dermal's.
func schemaDiff(got, want []string) []string {
	var diff []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			diff = append(diff, "missing or different: "+w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			diff = append(diff, "not Dermal's: "+g)
		}
	}
	return diff
}

func expectedSchema(version int) ([]string, error) {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for i := 0; i < version; i++ {
		if _, err := db.Exec(migrations[i]); err != nil {
			return nil, fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return schemaRows(db)
}

// checkBackup refuses a file that is not an intact Dermal database of a schema this
// program made: the whole schema is compared, not the table names.
func checkBackup(src string) error {
	st, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("backup %s: %w", src, err)
	}
	if !st.Mode().IsRegular() || st.Size() == 0 {
		return fmt.Errorf("backup %s is empty or not a file", src)
	}
	if err := checkFile(src, true); err != nil {
		return fmt.Errorf("backup %s: %w", src, err)
	}
	db, err := sql.Open("sqlite", "file:"+src+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("backup %s: %w", src, err)
	}
	if v > len(migrations) {
		return fmt.Errorf("backup %s: %w (schema %d, this program knows %d)", src, ErrTooNew, v, len(migrations))
	}
	if v == 0 {
		return fmt.Errorf("%w: %s is not a Dermal database (no schema version)", ErrCorrupt, src)
	}
	got, err := schemaRows(db)
	if err != nil {
		return fmt.Errorf("backup %s: %w", src, err)
	}
	want, err := expectedSchema(v)
	if err != nil {
		return err
	}
	if diff := schemaDiff(got, want); len(diff) > 0 {
		if len(diff) > 3 {
			diff = append(diff[:3], fmt.Sprintf("and %d more", len(diff)-3))
		}
		return fmt.Errorf("%w: %s says schema %d but its tables differ from Dermal's (%s)", ErrCorrupt, src, v, strings.Join(diff, "; "))
	}
	return nil
}

// Restore replaces the database at path with the backup at src, after checking that src is
// intact and of a schema this program made. The previous database is kept beside it as
// path.before-restore-TIMESTAMP (never overwritten). It refuses while any process has the
// records open (an app would go on writing into the renamed file); the data folder is
// created if it does not exist (a restore onto a new laptop).
func Restore(src, path string) (kept string, err error) {
	if err := checkBackup(src); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", classify(path, fmt.Errorf("creating the data folder: %w", err))
	}
	lock, err := lockExclusive(path)
	if err != nil {
		return "", err
	}
	defer lock.release()
	// A restore killed before this one is finished first (its journal says how).
	if _, err := finishRestore(path); err != nil {
		return "", err
	}
	// Other records are coming: the next open checks them, whenever the last check was.
	os.Remove(checkedStamp(path))
	tmp := restoringPath(path)
	if err := copyFile(src, tmp); err != nil {
		os.Remove(tmp)
		return "", classify(path, err)
	}
	// The restored rows get new change tags: a backup folder must not take them for the rows
	// it saw under the same tags (chunktags.go).
	if err := resetChunkTags(tmp); err != nil {
		os.Remove(tmp)
		return "", classify(path, fmt.Errorf("preparing the restored copy: %w", err))
	}
	if _, err := os.Stat(path); err == nil {
		if kept, err = keptName(path, time.Now()); err != nil {
			os.Remove(tmp)
			return "", err
		}
	}
	// From the journal on, the restore is finished by whoever comes next if this process dies.
	if err := writeJournal(path, restoreJournal{Kept: kept, Started: time.Now().UTC()}); err != nil {
		os.Remove(tmp)
		return "", classify(path, err)
	}
	if restoreHook != nil {
		restoreHook("journal written")
	}
	if kept != "" {
		if err := os.Rename(path, kept); err != nil {
			return "", fmt.Errorf("moving the records aside (the next start finishes the restore): %w", err)
		}
		if restoreHook != nil {
			restoreHook("records moved aside")
		}
	}
	if _, err := finishRestore(path); err != nil {
		return "", err
	}
	markHeld(path)
	return kept, nil
}

// restoreHook, in tests, is called between a restore's steps (a kill there is what the test
// simulates by panicking).
var restoreHook func(step string)

func keptName(path string, now time.Time) (string, error) {
	base := fmt.Sprintf("%s.before-restore-%s", path, now.UTC().Format("20060102T150405.000000000Z"))
	for i := 0; i < 1000; i++ {
		name := base
		if i > 0 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			return name, nil
		}
	}
	return "", fmt.Errorf("no free name to keep the previous database beside %s", path)
}

// copyFile streams src to a new dst and syncs it (a database with photos can be large; a
// low-RAM laptop must not hold it in memory).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, in); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	syncDir(filepath.Dir(dst))
	return nil
}

func syncDir(dir string) {
	d, err := os.Open(dir)
	if err == nil {
		d.Sync()
		d.Close()
	}
}
