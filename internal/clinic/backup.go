package clinic

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"dermal/internal/backupcrypt"
	"dermal/internal/backupset"
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
// A backup folder is always encrypted.
func BackupSealed(path string) (bool, error) {
	if backupset.IsSet(path) {
		return true, nil
	}
	return backupcrypt.IsSealed(path)
}

// RestoreFile puts the backup src (a file, or a backup folder: its newest run) in place of
// the database at dbPath (which must not be open): an encrypted backup is opened into a
// temporary database beside the records first, and a wrong key changes nothing. It returns
// where the replaced database was kept.
func RestoreFile(src, dbPath string, key BackupKey) (kept string, err error) {
	plain, cleanup, err := openedBackup(src, filepath.Dir(dbPath), key)
	if err != nil {
		return "", err
	}
	defer cleanup()
	return storage.Restore(plain, dbPath)
}

// IsBackupFolder reports whether path is a folder of incremental backups.
func IsBackupFolder(path string) bool { return backupset.IsSet(path) }

// openedBackup is src itself when it is a plain backup, else a temporary database in dir
// (removed by cleanup) made from it: a backup folder's runs, a sealed run, or (backups from
// before runs) a sealed copy of the database file.
func openedBackup(src, dir string, key BackupKey) (plain string, cleanup func(), err error) {
	if st, err := os.Stat(src); err == nil && st.IsDir() {
		if !backupset.IsSet(src) {
			return "", nil, fmt.Errorf("%w: %s", backupset.ErrNotABackupSet, src)
		}
		return built(dir, func(path string) error {
			_, err := backupset.Build(src, "", path, key)
			return err
		})
	}
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
	// The age layer is checked (a wrong key) before anything is written.
	if err := backupcrypt.Check(in, key); err != nil {
		return "", nil, err
	}
	in.Seek(0, io.SeekStart)
	dec, err := backupcrypt.NewReader(in, key)
	if err != nil {
		return "", nil, err
	}
	br := bufio.NewReaderSize(dec, 1<<20)
	head, _ := br.Peek(len(storage.RunMagic))
	if string(head) == storage.RunMagic {
		return built(dir, func(path string) error { return storage.BuildFromRun(path, br) })
	}
	// On a new laptop the data folder does not exist yet: PlainTemp makes it (owner-only).
	tmp, err := storage.PlainTemp(dir, "restore")
	if err != nil {
		return "", nil, fmt.Errorf("decrypting the backup: %w", err)
	}
	cleanup = func() { os.Remove(tmp.Name()) }
	_, err = io.Copy(tmp, br)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return "", nil, err
	}
	return tmp.Name(), cleanup, nil
}

// built makes a temporary database in dir with build.
func built(dir string, build func(path string) error) (string, func(), error) {
	tmp, err := storage.PlainTemp(dir, "restore")
	if err != nil {
		return "", nil, fmt.Errorf("opening the backup: %w", err)
	}
	tmp.Close()
	os.Remove(tmp.Name()) // the builder makes it
	if err := build(tmp.Name()); err != nil {
		os.Remove(tmp.Name())
		return "", nil, err
	}
	return tmp.Name(), func() { os.Remove(tmp.Name()) }, nil
}

// errPlainBackupNeedsChoice is returned when neither a key nor an explicit "unencrypted" was
// given: a plain copy of patients' records is never made by default.
var errPlainBackupNeedsChoice = errors.New("a backup is encrypted: give a passphrase (or age recipients), or ask for an unencrypted one explicitly")

// BackupInfo is what the question before a restore says of a backup.
type BackupInfo struct {
	Made time.Time
	// Counted: Patients and Assessments are known (backups since session 17 record them);
	// else Made is the file's time.
	Counted               bool
	Patients, Assessments int
	Runs                  int // a backup folder's runs
}

// DescribeBackup reads what a backup holds, without restoring it: a folder's newest run's
// snapshot, a sealed run's, or for an older backup (a copy of the database file) the file's
// time.
func DescribeBackup(src string, key BackupKey) (BackupInfo, error) {
	var info BackupInfo
	st, err := os.Stat(src)
	if err != nil {
		return info, err
	}
	info.Made = st.ModTime()
	if st.IsDir() {
		snap, runs, err := backupset.Newest(src, key)
		if err != nil {
			return info, err
		}
		info.Made, info.Counted, info.Patients, info.Assessments, info.Runs = snap.Created, true, snap.Patients, snap.Assessments, runs
		return info, nil
	}
	sealed, err := backupcrypt.IsSealed(src)
	if err != nil || !sealed {
		return info, err
	}
	in, err := os.Open(src)
	if err != nil {
		return info, err
	}
	defer in.Close()
	dec, err := backupcrypt.NewReader(in, key)
	if err != nil {
		return info, err
	}
	snap, err := storage.ReadRunSnapshot(dec)
	if errors.Is(err, storage.ErrNotARun) {
		return info, nil // an older backup: the file's time only
	}
	if err != nil {
		return info, err
	}
	info.Made, info.Counted, info.Patients, info.Assessments = snap.Created, true, snap.Patients, snap.Assessments
	return info, nil
}
