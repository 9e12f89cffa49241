package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"time"
)

// ErrCorrupt means the database file failed SQLite's integrity check or is not a Dermal
// database. It is never written to or replaced automatically.
var ErrCorrupt = errors.New("the database is damaged or not a Dermal database")

// checkFile runs a quick integrity check on an existing file before anything writes to it:
// the header and the schema always, the record tables too when full is set.
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
		return err
	}
	_, err = f.Read(head)
	f.Close()
	if err != nil || string(head) != "SQLite format 3\x00" {
		return fmt.Errorf("%w: %s is not an SQLite database; it was left untouched", ErrCorrupt, path)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	// Check the record tables and their indexes, not the photo blobs: those are most of the
	// file (checking them made opening a 100,000-patient database take 0.6 s) and every photo
	// is verified against its SHA-256 when read anyway.
	tables := []string{"sqlite_schema"}
	var rows *sql.Rows
	if !full {
		rows, err = db.Query(`SELECT name FROM sqlite_schema WHERE 0`)
	} else {
		rows, err = db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN ('patients', 'lesions', 'assessments', 'audit')`)
	}
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
	for _, t := range tables {
		if err != nil {
			break
		}
		var res string
		if err = db.QueryRow(fmt.Sprintf("PRAGMA quick_check(%q)", t)).Scan(&res); err == nil && res != "ok" {
			err = errors.New(res)
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %s failed the integrity check (%v); it was left untouched — restore a backup with `dermal restore`", ErrCorrupt, path, err)
	}
	return nil
}

// Backup writes a consistent copy of the database to dest (VACUUM INTO: a snapshot even while
// the app is writing). dest must not exist.
func (s *Store) Backup(ctx context.Context, dest string) error {
	if err := s.writable(); err != nil {
		return err
	}
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("%s already exists; choose a new file name", dest)
	}
	if _, err := s.db.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		return fmt.Errorf("backing up to %s: %w", dest, err)
	}
	return s.write(ctx, func(tx *sql.Tx) error { return s.audit(tx, "export", "backup", 0, dest) })
}

// Restore replaces the database at path with the backup at src, after checking that src is
// intact and of a schema this program can read. The previous database is kept beside it as
// path.before-restore-TIMESTAMP. The store at path must be closed.
func Restore(src, path string) (kept string, err error) {
	if err := checkFile(src, true); err != nil {
		return "", fmt.Errorf("backup %s: %w", src, err)
	}
	if st, err := os.Stat(src); err != nil || st.Size() == 0 {
		return "", fmt.Errorf("backup %s is missing or empty", src)
	}
	db, err := sql.Open("sqlite", "file:"+src+"?mode=ro")
	if err != nil {
		return "", err
	}
	var v int
	var tables int
	err = db.QueryRow("PRAGMA user_version").Scan(&v)
	if err == nil {
		err = db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('patients', 'audit', 'blobs')`).Scan(&tables)
	}
	db.Close()
	switch {
	case err != nil:
		return "", fmt.Errorf("backup %s: %w", src, err)
	case tables != 3 || v == 0:
		return "", fmt.Errorf("%w: %s has no Dermal tables", ErrCorrupt, src)
	case v > len(migrations):
		return "", fmt.Errorf("backup %s: %w (schema %d, this program knows %d)", src, ErrTooNew, v, len(migrations))
	}
	tmp := path + ".restoring"
	if err := copyFile(src, tmp); err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err == nil {
		kept = fmt.Sprintf("%s.before-restore-%s", path, time.Now().UTC().Format("20060102T150405Z"))
		if err := os.Rename(path, kept); err != nil {
			os.Remove(tmp)
			return "", err
		}
		for _, suffix := range []string{"-wal", "-shm"} {
			if _, err := os.Stat(path + suffix); err == nil {
				os.Rename(path+suffix, kept+suffix)
			}
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return kept, err
	}
	return kept, nil
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
	d, err := os.Open(filepath.Dir(dst))
	if err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
