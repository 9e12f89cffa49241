// Package backupset keeps a clinic's encrypted backups in one folder (a USB stick's, a
// shared drive's) that grows with the day's work, in the spirit of restic: each backup is a
// run (storage.WriteRun) sealed with age, holding the snapshot of the records and only the
// chunks of rows and the photos the folder does not hold yet. The first backup into a folder
// is a full one; every later one is an increment. Restore reads the runs up to the chosen one
// and rebuilds the records, which are then checked and put in place like any backup.
//
// Beside each run, a plain list of the names it holds (keyed hashes: they tell nothing
// without the clinic's data key), authenticated with a key derived from the data key, so the
// next backup knows what is there without the passphrase, and a changed or foreign list is
// refused instead of trusted. The folder's settings file says how the runs are sealed
// (passphrase, or which age recipients), authenticated the same way, so that a later backup
// sealed otherwise, which restore could not open with the first one's key, is refused.
package backupset

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"dermal/internal/backupcrypt"
	"dermal/internal/storage"
)

// File names in a backup folder.
const (
	settingsName = "dermal-backup.json"
	readmeName   = "README-DERMAL-BACKUP.txt"
	runExt       = ".run.age"
	namesExt     = ".names"
	knownName    = "dermal-chunks.known"
)

// readEveryRowEvery: every so many runs, a folder's backup reads every row again instead of
// taking the chunks whose change tags it knows as unchanged (storage/chunktags.go), so that
// a tag that failed to change costs at most a week of daily backups, never the folder.
const readEveryRowEvery = 7

const readme = `This folder holds encrypted backups of a Dermal clinic's records.

Each *.run.age file is one backup run, sealed with age (https://age-encryption.org): the first
is a full backup, each later one holds what changed since. Restore needs all of them up to the
run you restore, and the passphrase or age identity they were sealed with:

    dermal restore [--passphrase-file F | --identity FILE] THIS-FOLDER

Do not delete or rename files here. The *.names files list what each run holds (keyed
checksums that reveal nothing without the clinic's key); dermal-chunks.known lets the next
backup skip the rows that did not change (deleting it only makes that backup slower).
`

// ErrNotABackupSet means a folder holds other files and is not a Dermal backup folder.
var ErrNotABackupSet = errors.New("the folder is not a Dermal backup folder")

// ErrForeign means the folder's lists or settings were not written with these records' key:
// another clinic's backup folder, or changed by someone else.
var ErrForeign = errors.New("the backup folder belongs to other records, or its files were changed outside Dermal")

// Settings say how a folder's runs are sealed.
type Settings struct {
	Format     int      `json:"format"`
	SealedWith string   `json:"sealed_with"` // "passphrase" or "recipients"
	Recipients []string `json:"recipients,omitempty"`
	MAC        string   `json:"mac"`
}

func (s Settings) content() string {
	r := slices.Clone(s.Recipients)
	slices.Sort(r)
	return fmt.Sprintf("dermal-backup-settings/%d\n%s\n%s", s.Format, s.SealedWith, strings.Join(r, "\n"))
}

func settingsFor(key backupcrypt.Key) Settings {
	if key.Passphrase != "" {
		return Settings{Format: 1, SealedWith: "passphrase"}
	}
	r := make([]string, len(key.Recipients))
	for i, x := range key.Recipients {
		r[i] = strings.TrimSpace(x)
	}
	slices.Sort(r)
	return Settings{Format: 1, SealedWith: "recipients", Recipients: r}
}

func mac(key []byte, content string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(content))
	return hex.EncodeToString(m.Sum(nil))
}

// IsSet reports whether dir is a backup folder (it has the settings file).
func IsSet(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, settingsName))
	return err == nil && st.Mode().IsRegular()
}

// Runs are the folder's complete runs, oldest first (names sort by time).
func Runs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var runs []string
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, runExt) {
			runs = append(runs, strings.TrimSuffix(n, runExt))
		}
	}
	slices.Sort(runs)
	return runs, nil
}

// Result is what one backup into a folder did.
type Result struct {
	Run       string
	Full      bool // the folder's first run
	Stats     storage.RunStats
	RunBytes  int64 // the sealed run's size
	FolderRun int   // how many runs the folder holds now
}

// Backup writes a run of s's records into dir, sealed with key: everything the folder does
// not hold yet. indexKey authenticates the folder's lists and settings (derived from the
// clinic's data key). The run is written under a temporary name (storage.WriteAtomic) and
// renamed when complete;
// its list after it: a backup killed at any moment leaves the folder as it was, or with a
// complete run the next backup does not count on (and restore can still use).
func Backup(ctx context.Context, s *storage.Store, dir string, key backupcrypt.Key, indexKey []byte) (Result, error) {
	var res Result
	if indexKey == nil {
		return res, fmt.Errorf("%w: a backup folder needs staff accounts (log in after setup)", storage.ErrLocked)
	}
	if err := prepare(dir, key, indexKey); err != nil {
		return res, err
	}
	have, err := held(dir, indexKey)
	if err != nil {
		return res, err
	}
	runs, _ := Runs(dir)
	if len(runs) > 0 && key.Passphrase != "" {
		// The same passphrase as the folder's runs, or restore could not open them together.
		if err := checkKey(filepath.Join(dir, runs[len(runs)-1]+runExt), key); err != nil {
			if errors.Is(err, backupcrypt.ErrWrongKey) {
				return res, fmt.Errorf("%w: the folder's earlier backups were sealed with another passphrase; use that one, or an empty folder", backupcrypt.ErrWrongKey)
			}
			return res, err
		}
	}
	// Runs sort in the order they were written: a sequence number first (two backups in one
	// second), then the time, and a random suffix against two backups at once.
	suffix := make([]byte, 3)
	rand.Read(suffix)
	res.Run = fmt.Sprintf("%06d-%s-%s", len(runs)+1, time.Now().UTC().Format("20060102T150405Z"), hex.EncodeToString(suffix))
	known, uses := readKnown(dir, indexKey)
	if known == nil || uses >= readEveryRowEvery-1 {
		known, uses = nil, 0
	} else {
		uses++
	}
	res.Stats, res.RunBytes, err = writeRun(ctx, s, filepath.Join(dir, res.Run+runExt), key,
		storage.RunOptions{Have: func(n string) bool { return have[n] }, Known: known})
	if err != nil {
		return res, fmt.Errorf("writing the backup into %s: %w", dir, err)
	}
	if err := writeNames(dir, res.Run, res.Stats.NewNames, indexKey); err != nil {
		return res, err
	}
	// After the list: the names known are all in the folder's runs by now. A failure here
	// costs the next backup its speed, not its contents.
	writeKnown(dir, res.Stats.Known, uses, indexKey)
	syncDir(dir)
	res.Full = len(runs) == 0
	res.FolderRun = len(runs) + 1
	return res, nil
}

// WriteFile writes a full backup of s's records to dest (a file that must not exist), sealed
// with key as it is written: no plain copy of the records is ever written, beside them or
// anywhere.
func WriteFile(ctx context.Context, s *storage.Store, dest string, key backupcrypt.Key) error {
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("%w: %s already exists; choose a new name for the backup", storage.ErrInvalid, dest)
	}
	if _, _, err := writeRun(ctx, s, dest, key, storage.RunOptions{}); err != nil {
		return fmt.Errorf("writing the backup %s: %w", dest, err)
	}
	return nil
}

// writeRun writes a run (storage.WriteRun: what have lacks) sealed with key to path; it
// returns what the run holds and its sealed size.
func writeRun(ctx context.Context, s *storage.Store, path string, key backupcrypt.Key, opt storage.RunOptions) (storage.RunStats, int64, error) {
	var st storage.RunStats
	size, err := storage.WriteAtomic(path, func(f *os.File) error {
		w, err := backupcrypt.NewWriter(f, key)
		if err != nil {
			return err
		}
		bw := bufio.NewWriterSize(w, 1<<20)
		st, err = s.WriteRun(ctx, bw, opt)
		if err == nil {
			err = bw.Flush()
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		return err
	})
	return st, size, fullDisk(err)
}

func fullDisk(err error) error {
	if errors.Is(err, syscall.ENOSPC) && !errors.Is(err, storage.ErrDiskFull) {
		return fmt.Errorf("%w: %v", storage.ErrDiskFull, err)
	}
	return err
}

// prepare makes the folder a backup folder (new or empty), or checks it is one sealed the
// way key seals.
func prepare(dir string, key backupcrypt.Key, indexKey []byte) error {
	want := settingsFor(key)
	path := filepath.Join(dir, settingsName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("creating the backup folder: %w", err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if !storage.IsAtomicLeftover(e.Name()) && e.Name() != readmeName {
				return fmt.Errorf("%w: %s holds other files (%s); choose an empty folder for the clinic's backups", ErrNotABackupSet, dir, e.Name())
			}
		}
		want.MAC = mac(indexKey, want.content())
		js, _ := json.MarshalIndent(want, "", "  ")
		if err := os.WriteFile(filepath.Join(dir, readmeName), []byte(readme), 0o600); err != nil {
			return fmt.Errorf("writing the backup folder: %w", fullDisk(err))
		}
		return writeAtomically(path, js)
	}
	if err != nil {
		return err
	}
	var got Settings
	if err := json.Unmarshal(b, &got); err != nil || got.Format != 1 {
		return fmt.Errorf("%w: %s is damaged", ErrNotABackupSet, path)
	}
	if !hmac.Equal([]byte(got.MAC), []byte(mac(indexKey, got.content()))) {
		return fmt.Errorf("%w (%s)", ErrForeign, settingsName)
	}
	if got.content() != want.content() {
		how := "a passphrase"
		if got.SealedWith == "recipients" {
			how = "the age recipients " + strings.Join(got.Recipients, ", ")
		}
		return fmt.Errorf("%w: the folder's backups are sealed with %s; seal this one the same way, or use an empty folder", backupcrypt.ErrWrongKey, how)
	}
	// Runs left half-written by a backup that was killed.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if storage.IsAtomicLeftover(e.Name()) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

// held is every name the folder's runs hold, from their lists, each checked.
func held(dir string, indexKey []byte) (map[string]bool, error) {
	have := map[string]bool{}
	runs, err := Runs(dir)
	if err != nil {
		return nil, err
	}
	for _, run := range runs {
		b, err := os.ReadFile(filepath.Join(dir, run+namesExt))
		if errors.Is(err, os.ErrNotExist) {
			continue // a run whose list was never written: its names are written again
		}
		if err != nil {
			return nil, err
		}
		text := string(b)
		i := strings.LastIndex(strings.TrimSuffix(text, "\n"), "\n")
		if i < 0 || !strings.HasPrefix(text[i+1:], "mac ") {
			return nil, fmt.Errorf("%w (%s%s has no seal)", ErrForeign, run, namesExt)
		}
		body, m := text[:i+1], strings.TrimSpace(strings.TrimPrefix(text[i+1:], "mac "))
		if !hmac.Equal([]byte(m), []byte(mac(indexKey, run+"\n"+body))) {
			return nil, fmt.Errorf("%w (%s%s)", ErrForeign, run, namesExt)
		}
		for _, n := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
			if n != "" {
				have[n] = true
			}
		}
	}
	return have, nil
}

// readKnown reads the chunk names the folder's last backup computed, and how many runs have
// used them since every row was last read. Anything amiss (no file, another format, a seal
// that does not match) is nil: the backup then reads every row, as a first one does.
func readKnown(dir string, indexKey []byte) (*storage.ChunkNames, int) {
	b, err := os.ReadFile(filepath.Join(dir, knownName))
	if err != nil {
		return nil, 0
	}
	text := string(b)
	i := strings.LastIndex(strings.TrimSuffix(text, "\n"), "\n")
	if i < 0 || !strings.HasPrefix(text[i+1:], "mac ") {
		return nil, 0
	}
	body, m := text[:i+1], strings.TrimSpace(strings.TrimPrefix(text[i+1:], "mac "))
	if !hmac.Equal([]byte(m), []byte(mac(indexKey, knownName+"\n"+body))) {
		return nil, 0
	}
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	var schema string
	var uses int
	if len(lines) < 3 || lines[0] != "dermal-backup-known/1" {
		return nil, 0
	}
	if _, err := fmt.Sscanf(lines[1], "schema %s", &schema); err != nil {
		return nil, 0
	}
	if _, err := fmt.Sscanf(lines[2], "uses %d", &uses); err != nil {
		return nil, 0
	}
	known := &storage.ChunkNames{Schema: schema, Names: make(map[storage.ChunkTag]string, len(lines)-3)}
	for _, l := range lines[3:] {
		f := strings.Fields(l)
		if len(f) != 4 {
			return nil, 0
		}
		var k storage.ChunkTag
		if _, err := fmt.Sscan(f[1]+" "+f[2], &k.Chunk, &k.Tag); err != nil {
			return nil, 0
		}
		k.Table = f[0]
		name := f[3]
		if name == "-" {
			name = ""
		}
		known.Names[k] = name
	}
	return known, uses
}

// writeKnown writes what the next backup may take as known.
func writeKnown(dir string, known *storage.ChunkNames, uses int, indexKey []byte) {
	path := filepath.Join(dir, knownName)
	if known == nil {
		os.Remove(path)
		return
	}
	keys := make([]storage.ChunkTag, 0, len(known.Names))
	for k := range known.Names {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b storage.ChunkTag) int {
		if c := strings.Compare(a.Table, b.Table); c != 0 {
			return c
		}
		return int(max(-1, min(1, a.Chunk-b.Chunk)))
	})
	var b strings.Builder
	fmt.Fprintf(&b, "dermal-backup-known/1\nschema %s\nuses %d\n", known.Schema, uses)
	for _, k := range keys {
		name := known.Names[k]
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(&b, "%s %d %d %s\n", k.Table, k.Chunk, k.Tag, name)
	}
	body := b.String()
	if err := storage.WriteFileAtomic(path, []byte(body+"mac "+mac(indexKey, knownName+"\n"+body)+"\n")); err != nil {
		os.Remove(path)
	}
}

func writeNames(dir, run string, names []string, indexKey []byte) error {
	body := strings.Join(names, "\n")
	if body != "" {
		body += "\n"
	}
	// The run's id is under the seal too: a list cannot be moved to another run.
	text := body + "mac " + mac(indexKey, run+"\n"+body) + "\n"
	return writeAtomically(filepath.Join(dir, run+namesExt), []byte(text))
}

func writeAtomically(path string, b []byte) error {
	if err := storage.WriteFileAtomic(path, b); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(path), fullDisk(err))
	}
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// checkKey opens the start of a run with key (the header says whether the key fits).
func checkKey(path string, key backupcrypt.Key) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return backupcrypt.Check(f, key)
}

// openRun decrypts a run as a stream (the caller closes it).
func openRun(path string, key backupcrypt.Key) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := backupcrypt.NewReader(f, key)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{r, f}, nil
}

// Build makes the records of run (the newest when "") of the folder dir at path (which must
// not exist): its snapshot, then every run up to it for the chunks and photos. It returns the
// run built.
func Build(dir, run, path string, key backupcrypt.Key) (string, error) {
	runs, err := Runs(dir)
	if err != nil {
		return "", err
	}
	if len(runs) == 0 {
		return "", fmt.Errorf("%w: %s holds no backup", ErrNotABackupSet, dir)
	}
	if run == "" {
		run = runs[len(runs)-1]
	}
	i := slices.Index(runs, run)
	if i < 0 {
		return "", fmt.Errorf("%w: no backup %s in %s (it has %s)", storage.ErrInvalid, run, dir, strings.Join(runs, ", "))
	}
	r, err := openRun(filepath.Join(dir, run+runExt), key)
	if err != nil {
		return "", err
	}
	snap, err := storage.ReadRunSnapshot(r)
	r.Close()
	if err != nil {
		return "", err
	}
	b, err := storage.NewBuilder(path, snap)
	if err != nil {
		return "", err
	}
	for _, each := range runs[:i+1] {
		r, err := openRun(filepath.Join(dir, each+runExt), key)
		if err != nil {
			b.Abort()
			return "", err
		}
		err = b.AddRun(r)
		r.Close()
		if err != nil {
			b.Abort()
			return "", fmt.Errorf("backup run %s: %w", each, err)
		}
	}
	if err := b.Finish(); err != nil {
		os.Remove(path)
		return "", err
	}
	return run, nil
}

// Newest is the snapshot of the folder's newest run, and how many runs it holds.
func Newest(dir string, key backupcrypt.Key) (storage.Snapshot, int, error) {
	runs, err := Runs(dir)
	if err != nil {
		return storage.Snapshot{}, 0, err
	}
	if len(runs) == 0 {
		return storage.Snapshot{}, 0, fmt.Errorf("%w: %s holds no backup", ErrNotABackupSet, dir)
	}
	r, err := openRun(filepath.Join(dir, runs[len(runs)-1]+runExt), key)
	if err != nil {
		return storage.Snapshot{}, 0, err
	}
	defer r.Close()
	snap, err := storage.ReadRunSnapshot(r)
	return snap, len(runs), err
}
