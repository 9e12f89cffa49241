package clinic

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"dermal/internal/backupcrypt"
	"dermal/internal/storage"
)

// BackupKey seals or opens a backup: a passphrase or age recipients / identities.
type BackupKey = backupcrypt.Key

// Errors about backup keys.
var (
	ErrWrongBackupKey = backupcrypt.ErrWrongKey
	ErrNoBackupKey    = backupcrypt.ErrNoKey
)

// MinBackupPassphrase is the shortest backup passphrase accepted.
const MinBackupPassphrase = backupcrypt.MinPassphrase

// BackupSealed reports whether a backup file is encrypted (an age file).
func BackupSealed(path string) (bool, error) { return backupcrypt.IsSealed(path) }

// sealFile encrypts plain into dest (through dest.partial, renamed when complete).
func sealFile(plain, dest string, key BackupKey) error {
	in, err := os.Open(plain)
	if err != nil {
		return err
	}
	defer in.Close()
	partial := dest + ".partial"
	out, err := os.OpenFile(partial, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("writing the backup: %w", err)
	}
	err = backupcrypt.Seal(out, in, key)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(partial, dest)
	}
	if err != nil {
		os.Remove(partial)
		return fmt.Errorf("writing the backup %s: %w", dest, err)
	}
	return nil
}

// RestoreFile puts the backup src in place of the database at dbPath (which must not be
// open): an encrypted backup is decrypted to a temporary file beside the database first, and
// a wrong key changes nothing. It returns where the replaced database was kept.
func RestoreFile(src, dbPath string, key BackupKey) (kept string, err error) {
	plain, cleanup, err := openedBackup(src, filepath.Dir(dbPath), key)
	if err != nil {
		return "", err
	}
	defer cleanup()
	return storage.Restore(plain, dbPath)
}

// openedBackup is src itself when it is a plain backup, else a temporary decrypted copy in
// dir (removed by cleanup).
func openedBackup(src, dir string, key BackupKey) (plain string, cleanup func(), err error) {
	sealed, err := backupcrypt.IsSealed(src)
	if err != nil {
		return "", nil, fmt.Errorf("reading the backup: %w", err)
	}
	if !sealed {
		return src, func() {}, nil
	}
	in, err := os.Open(src)
	if err != nil {
		return "", nil, err
	}
	defer in.Close()
	// On a new laptop the data folder does not exist yet: PlainTemp makes it (owner-only).
	tmp, err := storage.PlainTemp(dir, "restore")
	if err != nil {
		return "", nil, fmt.Errorf("decrypting the backup: %w", err)
	}
	cleanup = func() { os.Remove(tmp.Name()) }
	err = backupcrypt.Open(tmp, in, key)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return "", nil, err
	}
	return tmp.Name(), cleanup, nil
}

// errPlainBackupNeedsChoice is returned when neither a key nor an explicit "unencrypted" was
// given: a plain copy of patients' records is never made by default.
var errPlainBackupNeedsChoice = errors.New("a backup is encrypted: give a passphrase (or age recipients), or ask for an unencrypted one explicitly")
