package storage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"dermal/internal/sealbox"
	"dermal/internal/version"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is an open case database.
type Store struct {
	db      *sql.DB
	path    string
	lock    *fileLock
	actor   string
	actorMu sync.Mutex
	key     *sealbox.Key // the clinic's data key, once a user logged in
	keyMu   sync.Mutex
	now     func() time.Time

	// checked is closed when the first integrity check of the record tables has finished.
	// Reads go ahead at once; writes wait for it, so a damaged database is never written to,
	// and opening stays fast. A check that could not read the file because another process
	// held it (busy, not damaged) is run again before the next write.
	checked chan struct{}
	// allSealed: every photo is sealed under its keyed name (data_key.photos_sealed), once seen.
	allSealed atomic.Bool
	checkMu   sync.Mutex
	checkErr  error

	// head is the last sealed audit row this process wrote, kept outside the records after
	// each commit (anchor.go).
	head   *AuditHead
	headMu sync.Mutex
}

// Errors for errors.Is.
var (
	ErrDuplicateCode = errors.New("another patient already has this clinic code")
	ErrInvalid       = errors.New("invalid value")
	ErrNotFound      = errors.New("not found")
	ErrTooNew        = errors.New("the database was written by a newer Dermal")
	ErrWrongPatient  = errors.New("the lesion belongs to another patient")
	ErrReadOnly      = errors.New("the data folder cannot be written")
	ErrBusy          = errors.New("the records are busy in another Dermal process")
)

// PatientID is a patient's record id. It is never a clinic code: a clinic may use plain
// numbers as codes, so "2" can be one patient's code and another's id. Text that may be
// either is resolved once, where it is typed (the command line), never inside the program.
type PatientID int64

// LesionID is a lesion's record id.
type LesionID int64

// AssessmentID is an assessment's record id.
type AssessmentID int64

// Open opens (creating if needed) the database at path and brings its schema up to date.
// It holds the data folder's shared lock until Close, so a restore cannot swap the file
// under it. The integrity check of the record tables runs in the background at every Open;
// writes wait for its verdict.
func Open(path, actor string) (*Store, error) { return OpenWith(path, actor, Options{}) }

// Options change how records are opened.
type Options struct {
	// CheckedWithin skips the background integrity check when one passed less than this long
	// ago (the stamp file beside the records, which a restore removes). The command line sets
	// an hour: at 100,000 patients the check takes seconds, and a script entering records
	// would otherwise pay it for every command; the window checks at every start.
	CheckedWithin time.Duration
}

// checkedStamp is where the time of the last passing integrity check is kept.
func checkedStamp(path string) string { return path + "-checked" }

// recentlyChecked reports whether the records at path passed the full integrity check less
// than within ago.
func recentlyChecked(path string, within time.Duration) bool {
	if within <= 0 {
		return false
	}
	b, err := os.ReadFile(checkedStamp(path))
	if err != nil {
		return false
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
	return err == nil && time.Since(t) >= 0 && time.Since(t) < within
}

// checkRuns counts full integrity checks started (tests).
var checkRuns atomic.Int64

// OpenWith is Open with options.
func OpenWith(path, actor string, opts Options) (*Store, error) {
	if err := settleRecords(path); err != nil {
		return nil, err
	}
	if err := checkFile(path, false); err != nil {
		return nil, err
	}
	if err := probeWritable(path); err != nil {
		return nil, err
	}
	lock, err := lockShared(path)
	if err != nil {
		return nil, err
	}
	if err := ownerOnly(path); err != nil {
		lock.release()
		return nil, err
	}
	q := url.Values{}
	// journal_mode is set by migrate, after the integrity check: switching it writes the file.
	// secure_delete: a photo sealed at the upgrade leaves no plain copy in the freed pages.
	for _, p := range []string{"foreign_keys(1)", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()), "synchronous(FULL)", "secure_delete(1)"} {
		q.Add("_pragma", p)
	}
	// Every transaction here writes: take the write lock at BEGIN, so a transaction never
	// has to upgrade from reading to writing (an upgrade that meets another writer fails with
	// SQLITE_BUSY at once, whatever the busy timeout).
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		lock.release()
		return nil, err
	}
	s := &Store{db: db, path: path, lock: lock, actor: actor, now: time.Now, checked: make(chan struct{})}
	fail := func(err error) (*Store, error) {
		db.Close()
		lock.release()
		return nil, err
	}
	v, err := s.SchemaVersion()
	if err != nil {
		if isBusy(err) {
			return fail(fmt.Errorf("%w: %s: %v", ErrBusy, path, err))
		}
		return fail(fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err))
	}
	switch {
	case v < len(migrations) && v > 0:
		// An upgrade writes: check everything first.
		checkRuns.Add(1)
		s.checkErr = checkFile(path, true)
		close(s.checked)
	case recentlyChecked(path, opts.CheckedWithin):
		close(s.checked)
	default:
		checkRuns.Add(1)
		go func() {
			err := checkFile(path, true)
			if err == nil {
				// Best effort: without the stamp the next command checks again.
				os.WriteFile(checkedStamp(path), []byte(time.Now().UTC().Format(time.RFC3339Nano)+"\n"), 0o600)
			}
			s.checkMu.Lock()
			s.checkErr = err
			s.checkMu.Unlock()
			close(s.checked)
		}()
	}
	if err := s.migrate(); err != nil {
		// The background check reads the file; let it finish, so nothing touches the folder
		// after Open has returned its error.
		<-s.checked
		return fail(fmt.Errorf("opening %s: %w", path, err))
	}
	markHeld(path)
	return s, nil
}

// ownerOnly makes the records readable by their owner alone, whatever the folder's mode (a
// --data folder others may read exposed every name at 0644): a new file is made 0600 before
// SQLite opens it (its -wal and -shm then follow that mode), an existing one is set so where
// the system allows.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, os.ErrExist) {
		return classify(path, err)
	}
	// Best effort: records on a read-only disk, or another user's, still open to be read
	// (dermal doctor names a mode that lets others read them).
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o077 != 0 {
			os.Chmod(p, st.Mode().Perm()&0o700)
		}
	}
	return nil
}

// BusyTimeout is how long a write waits for another process's write to finish.
const BusyTimeout = 10 * time.Second

// write runs fn in one transaction, once the start-up integrity check has passed; fn's error
// rolls everything back.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := s.writable(); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return classify(s.path, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		s.headMu.Lock()
		s.head = nil
		s.headMu.Unlock()
		return classify(s.path, err)
	}
	if err := tx.Commit(); err != nil {
		s.headMu.Lock()
		s.head = nil
		s.headMu.Unlock()
		return classify(s.path, err)
	}
	s.keepHead()
	return nil
}

// Verify waits for the integrity check started by Open and returns its verdict.
func (s *Store) Verify() error { return s.writable() }

func (s *Store) writable() error {
	<-s.checked
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	if errors.Is(s.checkErr, ErrBusy) {
		// The check met another process's lock, which says nothing about damage: check again.
		s.checkErr = checkFile(s.path, true)
	}
	return s.checkErr
}

// Close closes the database (after the integrity check, which reads it, has finished) and
// releases the data folder's lock.
func (s *Store) Close() error {
	<-s.checked
	err := s.db.Close()
	s.lock.release()
	return err
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Actor is who the audit trail names for this store's writes.
func (s *Store) Actor() string {
	s.actorMu.Lock()
	defer s.actorMu.Unlock()
	return s.actor
}

// SetActor names who the next changes are by (the user who logged in).
func (s *Store) SetActor(a string) {
	s.actorMu.Lock()
	defer s.actorMu.Unlock()
	s.actor = a
}

// SchemaVersion is the number of migrations applied.
func (s *Store) SchemaVersion() (int, error) {
	var v int
	err := s.db.QueryRow("PRAGMA user_version").Scan(&v)
	return v, err
}

func (s *Store) migrate() error {
	v, err := s.SchemaVersion()
	if err != nil {
		return fmt.Errorf("not a Dermal database, or damaged: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("%w (schema %d, this program knows %d)", ErrTooNew, v, len(migrations))
	}
	var mode string
	if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if mode == "wal" && v == len(migrations) {
		return nil // nothing to write
	}
	if err := s.writable(); err != nil {
		return err
	}
	if mode != "wal" {
		if err := s.db.QueryRow("PRAGMA journal_mode = WAL").Scan(&mode); err != nil || mode != "wal" {
			return classify(s.path, fmt.Errorf("could not switch to WAL journaling (%s): %w", mode, err))
		}
	}
	if v == 0 {
		var objects int
		if err := s.db.QueryRow(`SELECT count(*) FROM sqlite_schema`).Scan(&objects); err != nil {
			return err
		}
		if objects > 0 {
			return fmt.Errorf("%w: it is another program's SQLite database; it was left untouched", ErrCorrupt)
		}
	}
	for i := v; i < len(migrations); i++ {
		tx, err := s.db.Begin()
		if err != nil {
			return classify(s.path, err)
		}
		// A migration only reads what it changes; if another process migrated first, it is done.
		var now int
		if err := tx.QueryRow("PRAGMA user_version").Scan(&now); err != nil {
			tx.Rollback()
			return err
		}
		if now > i {
			tx.Rollback()
			continue
		}
		if err := applyMigration(tx, i); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return classify(s.path, err)
		}
	}
	return nil
}

func (s *Store) stamp() string { return s.now().UTC().Format(time.RFC3339Nano) }

// versionString is the Dermal version audit rows record.
func versionString() string { return version.String() }

// Patient is one patient record.
type Patient struct {
	ID        PatientID
	Code      string
	FullName  string
	Sex       string // "F", "M" or ""
	BirthYear int    // 0: unknown
	Phone     string
	Address   string
	Notes     string
	// InsuranceNumber is the health-insurance (BHYT) card number, IDNumber the citizen ID
	// card number: a referral letter carries both.
	InsuranceNumber string
	IDNumber        string
	// Consent: to photos being stored, and shared for a referral (nil: not asked), and when
	// it was given or refused.
	ConsentPhotos   *bool
	ConsentReferral *bool
	ConsentAt       *time.Time
}

// AgeAt is the patient's age in whole years at the given date, from the birth year (0:
// unknown). Only the year is recorded, so it may be one year more than the true age.
func (p Patient) AgeAt(at time.Time) int {
	if p.BirthYear <= 0 {
		return 0
	}
	return at.Year() - p.BirthYear
}

// validate normalizes and checks a patient before it is written.
func (p *Patient) validate(now time.Time) error {
	var errs []string
	clean := func(f TextField, v *string) {
		c, err := f.Clean(*v)
		if err != nil {
			errs = append(errs, strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
			return
		}
		*v = c
	}
	clean(FieldCode, &p.Code)
	clean(FieldName, &p.FullName)
	clean(FieldPhone, &p.Phone)
	clean(FieldAddress, &p.Address)
	clean(FieldNotes, &p.Notes)
	clean(FieldInsurance, &p.InsuranceNumber)
	clean(FieldIDNumber, &p.IDNumber)
	if (p.ConsentPhotos != nil || p.ConsentReferral != nil) && p.ConsentAt == nil {
		t := now
		p.ConsentAt = &t
	}
	if p.Sex != "" && p.Sex != "F" && p.Sex != "M" {
		errs = append(errs, fmt.Sprintf("sex %q is not F or M", p.Sex))
	}
	if p.BirthYear != 0 && (p.BirthYear < 1880 || p.BirthYear > now.Year()) {
		errs = append(errs, fmt.Sprintf("birth year %d is not between 1880 and %d", p.BirthYear, now.Year()))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	return nil
}

func nullInt(v int) any {
	if v == 0 {
		return nil
	}
	return v
}

func nullStr(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// AddPatient stores a new patient and returns its id; nothing is written if it fails.
func (s *Store) AddPatient(ctx context.Context, p Patient) (id PatientID, err error) {
	if err := p.validate(s.now()); err != nil {
		return 0, err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if err := codeFree(tx, p.Code, 0); err != nil {
			return err
		}
		now := s.stamp()
		photos, referral, at := p.consentArgs()
		res, err := tx.Exec(`INSERT INTO patients (code, code_key, full_name, search_key, sex, birth_year, phone, address, notes, created_at, updated_at,
			insurance_number, id_number, consent_photos, consent_referral, consent_at, phone_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.Code, CodeKey(p.Code), p.FullName, searchKey(p), nullStr(p.Sex), nullInt(p.BirthYear), p.Phone, p.Address, p.Notes, now, now,
			p.InsuranceNumber, p.IDNumber, photos, referral, at, phoneKey(p.Phone))
		if err != nil {
			return err
		}
		n, err := res.LastInsertId()
		if err != nil {
			return err
		}
		id = PatientID(n)
		if err := s.sealPatients(tx, `p.id = ?`, id); err != nil {
			return err
		}
		return s.audit(tx, "create", "patient", int64(id), p.Code)
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

func searchKey(p Patient) string { return Fold(p.FullName + " " + p.Code + " " + p.Phone) }

// codeFree refuses a code that is, by CodeKey, another patient's (deleted ones included: a
// deleted patient can be brought back). except is the patient being changed.
func codeFree(tx *sql.Tx, code string, except PatientID) error {
	var other string
	err := tx.QueryRow(`SELECT code FROM patients WHERE code_key = ? AND id != ? LIMIT 1`, CodeKey(code), except).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	case other == code:
		return fmt.Errorf("%w: %s", ErrDuplicateCode, code)
	default:
		return fmt.Errorf("%w: %s (as %s, which differs only in case or width)", ErrDuplicateCode, code, other)
	}
}

const patientColumns = `id, code, full_name, coalesce(sex, ''), coalesce(birth_year, 0), phone, address, notes, insurance_number, id_number,
	consent_photos, consent_referral, consent_at`

func scanPatient(row interface{ Scan(...any) error }) (Patient, error) {
	var p Patient
	var photos, referral sql.NullBool
	var at sql.NullString
	err := row.Scan(&p.ID, &p.Code, &p.FullName, &p.Sex, &p.BirthYear, &p.Phone, &p.Address, &p.Notes, &p.InsuranceNumber, &p.IDNumber,
		&photos, &referral, &at)
	p.setConsent(photos, referral, at)
	return p, err
}

func (p *Patient) setConsent(photos, referral sql.NullBool, at sql.NullString) {
	if photos.Valid {
		p.ConsentPhotos = &photos.Bool
	}
	if referral.Valid {
		p.ConsentReferral = &referral.Bool
	}
	if t, err := time.Parse("2006-01-02", at.String); at.Valid && err == nil {
		p.ConsentAt = &t
	}
}

// consentArgs are the consent columns' values.
func (p Patient) consentArgs() (photos, referral, at any) {
	if p.ConsentPhotos != nil {
		photos = *p.ConsentPhotos
	}
	if p.ConsentReferral != nil {
		referral = *p.ConsentReferral
	}
	if p.ConsentAt != nil {
		at = p.ConsentAt.Format("2006-01-02")
	}
	return
}

// PatientByID returns a patient by record id.
func (s *Store) PatientByID(ctx context.Context, id PatientID) (Patient, error) {
	p, err := scanPatient(s.db.QueryRowContext(ctx, `SELECT `+patientColumns+` FROM patients WHERE id = ? AND deleted_at IS NULL`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("%w: no patient with id %d", ErrNotFound, id)
	}
	if err != nil {
		return p, err
	}
	// The patient a report or the window names must be the one that was sealed.
	var in, seal string
	if err := s.db.QueryRowContext(ctx, `SELECT `+patientSealInput+`, p.seal FROM patients p WHERE p.id = ?`, id).Scan(&in, &seal); err != nil {
		return p, err
	}
	return p, s.checkSeal(ctx, "patient", int64(id), in, seal)
}

// PatientByCode returns a patient by clinic code (as CodeKey compares codes). Two patients
// whose codes differ only in case can exist in records made before codes were compared that
// way: then it names both and picks neither.
func (s *Store) PatientByCode(ctx context.Context, code string) (Patient, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+patientColumns+` FROM patients WHERE code_key = ? AND deleted_at IS NULL LIMIT 2`, CodeKey(code))
	if err != nil {
		return Patient{}, err
	}
	defer rows.Close()
	var found []Patient
	for rows.Next() {
		p, err := scanPatient(rows)
		if err != nil {
			return Patient{}, err
		}
		found = append(found, p)
	}
	if err := rows.Err(); err != nil {
		return Patient{}, err
	}
	switch len(found) {
	case 0:
		return Patient{}, fmt.Errorf("%w: no patient with clinic code %q", ErrNotFound, NFC(code))
	case 1:
		return found[0], nil
	}
	return Patient{}, fmt.Errorf("%w: clinic code %q is used by patient id %d (%s) and patient id %d (%s), which differ only in case; give the id",
		ErrAmbiguous, NFC(code), found[0].ID, found[0].Code, found[1].ID, found[1].Code)
}

// ErrAmbiguous means a patient reference could name more than one patient.
var ErrAmbiguous = errors.New("ambiguous patient")

// SimilarPatients lists the living patients that may be the same person as p: the same name
// (ignoring case and diacritics) and birth year, or the same phone number (digits only, at
// least 6). p itself (by ID) is left out. A clinic that registers a returning patient a second
// time splits their history in two.
func (s *Store) SimilarPatients(ctx context.Context, p Patient) ([]Patient, error) {
	name := Fold(NFC(p.FullName))
	phone := phoneDigits(p.Phone)
	rows, err := s.db.QueryContext(ctx, `SELECT `+patientColumns+` FROM patients WHERE deleted_at IS NULL AND id != ?
		AND ((birth_year = ? AND instr(search_key, ?) = 1) OR (? != '' AND phone_key = ?))`, p.ID, p.BirthYear, name, phoneKey(p.Phone), phoneKey(p.Phone))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Patient
	for rows.Next() {
		q, err := scanPatient(rows)
		if err != nil {
			return nil, err
		}
		sameName := p.BirthYear != 0 && q.BirthYear == p.BirthYear && Fold(q.FullName) == name
		samePhone := len(phone) >= 6 && phoneDigits(q.Phone) == phone
		if sameName || samePhone {
			out = append(out, q)
		}
	}
	return out, rows.Err()
}

// phoneKey is what the duplicate check compares of a phone number: its digits, "" when
// fewer than 6 (too short to tell two people apart).
func phoneKey(s string) string {
	if d := phoneDigits(s); len(d) >= 6 {
		return d
	}
	return ""
}

func phoneDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	d := b.String()
	// +84 912 ... and 0912 ... are one Vietnamese number.
	if strings.HasPrefix(d, "84") && len(d) >= 11 {
		d = "0" + d[2:]
	}
	return d
}

// SearchPatients finds patients whose name, code or phone contain every word of the query,
// ignoring case and diacritics; an empty query lists everyone. At most limit results, by name.
func (s *Store) SearchPatients(ctx context.Context, query string, limit int) ([]Patient, error) {
	where := []string{"deleted_at IS NULL"}
	var args []any
	for _, w := range strings.Fields(Fold(query)) {
		where = append(where, `instr(search_key, ?) > 0`)
		args = append(args, w)
	}
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, `SELECT `+patientColumns+` FROM patients WHERE `+strings.Join(where, " AND ")+
		` ORDER BY search_key LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Patient
	for rows.Next() {
		p, err := scanPatient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Blobs stores photos content-addressed (BlobName: a keyed hash once staff accounts exist):
// the same photo is stored once, and a stored photo is never changed. It is an interface so encryption can wrap it later.
type Blobs interface {
	Put(ctx context.Context, tx *sql.Tx, data []byte) (sha string, err error)
	Get(ctx context.Context, sha string) ([]byte, error)
}

type sqliteBlobs struct{ s *Store }

// Blobs returns the store's photo blob store. Blobs are named by BlobName; once the clinic's
// data key is set (SetDataKey: a user logged in), new blobs are sealed with it, and sealed
// ones are opened with it.
func (s *Store) Blobs() Blobs { return sqliteBlobs{s} }

// ErrLocked means sealed photos were asked for while no data key is set (nobody logged in).
var ErrLocked = errors.New("the photos are encrypted: log in to open them")

// SetDataKey sets the clinic's data key (nil forgets it, as at logout).
func (s *Store) SetDataKey(k *sealbox.Key) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	s.key = k
}

// DataKey is the data key set by the last login (nil: none).
func (s *Store) DataKey() *sealbox.Key { return s.dataKey() }

func (s *Store) dataKey() *sealbox.Key {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	return s.key
}

func (b sqliteBlobs) Put(ctx context.Context, tx *sql.Tx, data []byte) (string, error) {
	name := b.s.BlobName(data)
	stored := data
	if k := b.s.dataKey(); k != nil {
		stored = k.Seal(data, []byte(name))
	} else if n, err := countUsersTx(tx); err != nil || n > 0 {
		// Records with staff accounts never take a plain photo.
		return "", fmt.Errorf("%w: no data key to seal the photo with", ErrLocked)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO blobs (sha256, size, data) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING`, name, len(data), stored)
	return name, err
}

// keyedPrefix starts a blob name made with the clinic's key (BlobName). Plain names are
// lowercase hex, which sorts before it.
const keyedPrefix = "k-"

// BlobName is the name a photo is stored under. With the data key (a user logged in) it is
// "k-" and HMAC-SHA256 of the photo under a key derived from the data key, cut to 62 hex
// digits (248 bits) so that names keep the 64 characters the blobs table checks: content-
// addressed for the clinic, but someone holding a photo (a phone's copy, a leaked file)
// cannot tell from the records, a backup or an audit row that it is in them. Records
// without staff accounts keep the photo's plain SHA-256, as before.
func (s *Store) BlobName(data []byte) string {
	if key := s.sealKey("blob names"); key != nil {
		m := hmac.New(sha256.New, key)
		m.Write(data)
		return keyedPrefix + hex.EncodeToString(m.Sum(nil))[:64-len(keyedPrefix)]
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// photosSealed reports whether the upgrade's sealing of stored photos has finished (data_key.
// photos_sealed): from then on every photo is sealed.
func (s *Store) photosSealed(ctx context.Context) bool {
	// Once finished it stays so (a migration that reopens it runs in Open, before any read):
	// every photo read asked the records again.
	if s.allSealed.Load() {
		return true
	}
	var done int
	s.db.QueryRowContext(ctx, `SELECT photos_sealed FROM data_key WHERE id = 1`).Scan(&done)
	s.allSealed.Store(done == 1)
	return done == 1
}

func countUsersTx(tx *sql.Tx) (int, error) {
	var n int
	err := tx.QueryRow(`SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

func (b sqliteBlobs) Get(ctx context.Context, name string) ([]byte, error) {
	sealedAll := b.s.photosSealed(ctx)
	data, err := b.read(ctx, name)
	if err != nil {
		return nil, err
	}
	keyed := strings.HasPrefix(name, keyedPrefix)
	if sealbox.Sealed(data) {
		k := b.s.dataKey()
		if k == nil {
			return nil, ErrLocked
		}
		// The bytes read are this call's own (read): opened where they lie.
		if data, err = k.OpenInPlace(data, []byte(name)); err != nil {
			return nil, fmt.Errorf("photo %s: %w", name, err)
		}
	} else if keyed || sealedAll {
		// Every photo Dermal stored since the upgrade is sealed: a plain one was put there by
		// someone else, under a name that matches its content.
		return nil, fmt.Errorf("%w: photo %s is stored unsealed, in records whose photos are all sealed: it was put there outside Dermal", ErrTampered, name)
	}
	if !keyed && sealedAll {
		// Every stored photo was renamed with the clinic's key when it was sealed.
		return nil, fmt.Errorf("%w: photo %s is named by its plain checksum, in records whose photos all have keyed names: it was put there outside Dermal", ErrTampered, name)
	}
	want := plainName(data)
	if keyed {
		want = b.s.BlobName(data)
	}
	if want != name {
		return nil, fmt.Errorf("photo %s is damaged: its content no longer matches its name", name)
	}
	return data, nil
}

// read is a blob's stored bytes. They are scanned as sql.RawBytes, the driver's own copy, and
// kept: database/sql's []byte scan would copy a 12 MP photo's bytes once more.
func (b sqliteBlobs) read(ctx context.Context, name string) ([]byte, error) {
	rows, err := b.s.db.QueryContext(ctx, `SELECT data FROM blobs WHERE sha256 = ?`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: photo %s", ErrNotFound, name)
	}
	var raw sql.RawBytes
	if err := rows.Scan(&raw); err != nil {
		return nil, err
	}
	// modernc.org/sqlite copies each blob out of SQLite into a new slice, never reused, so
	// the bytes stay valid after the rows close (TestBlobReadsKeepTheirBytes pins this down
	// for a driver upgrade).
	return []byte(raw), rows.Close()
}

func plainName(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
