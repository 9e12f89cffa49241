package storage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is an open case database.
type Store struct {
	db    *sql.DB
	actor string
	now   func() time.Time
	// checked is closed when the integrity check of the record tables has finished, with
	// checkErr its verdict. Reads go ahead at once; writes wait for it, so a damaged database
	// is never written to, and opening stays fast (the check takes ~0.4 s at 100,000 patients).
	checked  chan struct{}
	checkErr error
}

// Errors for errors.Is.
var (
	ErrDuplicateCode = errors.New("another patient already has this clinic code")
	ErrInvalid       = errors.New("invalid value")
	ErrNotFound      = errors.New("not found")
	ErrTooNew        = errors.New("the database was written by a newer Dermal")
)

// Open opens (creating if needed) the database at path and brings its schema up to date.
func Open(path, actor string) (*Store, error) {
	if err := checkFile(path, false); err != nil {
		return nil, err
	}
	q := url.Values{}
	// journal_mode is set by migrate, after the integrity check: switching it writes the file.
	for _, p := range []string{"foreign_keys(1)", "busy_timeout(5000)", "synchronous(FULL)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, actor: actor, now: time.Now, checked: make(chan struct{})}
	v, err := s.SchemaVersion()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	}
	if v < len(migrations) && v > 0 {
		// An upgrade writes: check everything first.
		s.checkErr = checkFile(path, true)
		close(s.checked)
	} else {
		go func() {
			s.checkErr = checkFile(path, true)
			close(s.checked)
		}()
	}
	if err := s.migrate(); err != nil {
		// The background check reads the file; let it finish, so nothing touches the folder
		// after Open has returned its error.
		<-s.checked
		db.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return s, nil
}

// write runs fn in one transaction, once the start-up integrity check has passed; fn's error
// rolls everything back.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := s.writable(); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Verify waits for the integrity check started by Open and returns its verdict.
func (s *Store) Verify() error { return s.writable() }

func (s *Store) writable() error {
	<-s.checked
	return s.checkErr
}

// Close closes the database (after the integrity check, which reads it, has finished).
func (s *Store) Close() error {
	<-s.checked
	return s.db.Close()
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
			return fmt.Errorf("could not switch to WAL journaling (%s): %v", mode, err)
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
			return err
		}
		if _, err := tx.Exec(migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) stamp() string { return s.now().UTC().Format(time.RFC3339Nano) }

func (s *Store) audit(tx *sql.Tx, action, entity string, id int64, detail string) error {
	_, err := tx.Exec(`INSERT INTO audit (at, actor, action, entity, entity_id, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		s.stamp(), s.actor, action, entity, id, detail)
	return err
}

// Patient is one patient record.
type Patient struct {
	ID        int64
	Code      string
	FullName  string
	Sex       string // "F", "M" or ""
	BirthYear int    // 0: unknown
	Phone     string
	Address   string
	Notes     string
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
	p.Code, p.FullName = NFC(p.Code), NFC(p.FullName)
	p.Phone, p.Address, p.Notes = NFC(p.Phone), NFC(p.Address), NFC(p.Notes)
	var errs []string
	if p.Code == "" || len(p.Code) > 64 {
		errs = append(errs, "clinic code must be 1 to 64 characters")
	}
	if p.FullName == "" {
		errs = append(errs, "name is empty")
	} else if len(p.FullName) > 200 {
		errs = append(errs, "name is longer than 200 characters")
	}
	if p.Sex != "" && p.Sex != "F" && p.Sex != "M" {
		errs = append(errs, fmt.Sprintf("sex %q is not F or M", p.Sex))
	}
	if p.BirthYear != 0 && (p.BirthYear < 1880 || p.BirthYear > now.Year()) {
		errs = append(errs, fmt.Sprintf("birth year %d is not between 1880 and %d", p.BirthYear, now.Year()))
	}
	if len(p.Phone) > 40 {
		errs = append(errs, "phone is longer than 40 characters")
	}
	if len(p.Address) > 500 {
		errs = append(errs, "address is longer than 500 characters")
	}
	if len(p.Notes) > 20000 {
		errs = append(errs, fmt.Sprintf("notes are %d characters; the limit is 20000", len(p.Notes)))
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
func (s *Store) AddPatient(ctx context.Context, p Patient) (id int64, err error) {
	if err := p.validate(s.now()); err != nil {
		return 0, err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRow(`SELECT count(*) FROM patients WHERE code = ?`, p.Code).Scan(&exists); err != nil {
			return err
		}
		if exists > 0 {
			return fmt.Errorf("%w: %s", ErrDuplicateCode, p.Code)
		}
		now := s.stamp()
		res, err := tx.Exec(`INSERT INTO patients (code, full_name, search_key, sex, birth_year, phone, address, notes, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.Code, p.FullName, Fold(p.FullName+" "+p.Code+" "+p.Phone), nullStr(p.Sex), nullInt(p.BirthYear), p.Phone, p.Address, p.Notes, now, now)
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		return s.audit(tx, "create", "patient", id, p.Code)
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

const patientColumns = `id, code, full_name, coalesce(sex, ''), coalesce(birth_year, 0), phone, address, notes`

func scanPatient(row interface{ Scan(...any) error }) (Patient, error) {
	var p Patient
	err := row.Scan(&p.ID, &p.Code, &p.FullName, &p.Sex, &p.BirthYear, &p.Phone, &p.Address, &p.Notes)
	return p, err
}

// Patient returns a patient by id or clinic code.
func (s *Store) Patient(ctx context.Context, idOrCode string) (Patient, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+patientColumns+` FROM patients
		WHERE deleted_at IS NULL AND (code = ? OR CAST(id AS TEXT) = ?) ORDER BY code = ? DESC LIMIT 1`,
		NFC(idOrCode), idOrCode, NFC(idOrCode))
	p, err := scanPatient(row)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("%w: patient %s", ErrNotFound, idOrCode)
	}
	return p, err
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

// Blobs stores photos content-addressed by SHA-256: the same photo is stored once, and a
// stored photo is never changed. It is an interface so encryption can wrap it later.
type Blobs interface {
	Put(ctx context.Context, tx *sql.Tx, data []byte) (sha string, err error)
	Get(ctx context.Context, sha string) ([]byte, error)
}

type sqliteBlobs struct{ db *sql.DB }

// Blobs returns the store's photo blob store.
func (s *Store) Blobs() Blobs { return sqliteBlobs{s.db} }

func (b sqliteBlobs) Put(ctx context.Context, tx *sql.Tx, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	_, err := tx.ExecContext(ctx, `INSERT INTO blobs (sha256, size, data) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING`, sha, len(data), data)
	return sha, err
}

func (b sqliteBlobs) Get(ctx context.Context, sha string) ([]byte, error) {
	var data []byte
	err := b.db.QueryRowContext(ctx, `SELECT data FROM blobs WHERE sha256 = ?`, sha).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: photo %s", ErrNotFound, sha)
	}
	if err == nil {
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != sha {
			return nil, fmt.Errorf("photo %s is damaged: its content no longer matches its checksum", sha)
		}
	}
	return data, err
}
