package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// UserID is a users row id.
type UserID int64

// User is a staff account (its password hash stays inside storage and accounts).
type User struct {
	ID          UserID
	Name        string // the login name
	FullName    string // printed on reports ("assessed by")
	Role        string // accounts.Admin or accounts.Clinician
	Failures    int    // wrong passwords in a row
	LockedUntil *time.Time
	Disabled    bool
	hash        string
}

// Hash is the user's argon2id password hash.
func (u User) Hash() string { return u.hash }

// Field rules for accounts.
var (
	FieldUserName = TextField{Name: "user name", MinChars: 1, MaxChars: 64}
	FieldFullName = TextField{Name: "full name", MaxChars: 200}
)

// ErrNoUsers means the records have no staff accounts yet (setup not done).
var ErrNoUsers = errors.New("no staff accounts")

// NeedsSetup reports whether no account can log in: none exists, or (left by an older version's
// interrupted setup) none holds the data key. SetUp then sets the records up afresh.
func (s *Store) NeedsSetup(ctx context.Context) (bool, error) {
	var holders int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE wrapped_key != ''`).Scan(&holders)
	return holders == 0, err
}

// CountUsers is the number of accounts, disabled ones included.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// AddUser creates an account with a password hash made by accounts.Hash.
func (s *Store) AddUser(ctx context.Context, u User, hash string) (id UserID, err error) {
	if u.Name, err = FieldUserName.Clean(u.Name); err != nil {
		return 0, err
	}
	if u.FullName, err = FieldFullName.Clean(u.FullName); err != nil {
		return 0, err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var taken int
		tx.QueryRow(`SELECT count(*) FROM users WHERE lower(name) = lower(?)`, u.Name).Scan(&taken)
		if taken > 0 {
			return fmt.Errorf("%w: user name %s is taken", ErrInvalid, u.Name)
		}
		now := s.stamp()
		res, err := tx.Exec(`INSERT INTO users (name, full_name, role, pw_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
			u.Name, u.FullName, u.Role, hash, now, now)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		n, _ := res.LastInsertId()
		id = UserID(n)
		return s.audit(tx, "create", "user", n, u.Name+" ("+u.Role+")")
	})
	return id, err
}

const userColumns = `id, name, full_name, role, pw_hash, failures, locked_until, disabled_at IS NOT NULL`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var locked sql.NullString
	err := row.Scan(&u.ID, &u.Name, &u.FullName, &u.Role, &u.hash, &u.Failures, &locked, &u.Disabled)
	if t, perr := time.Parse(time.RFC3339Nano, locked.String); locked.Valid && perr == nil {
		u.LockedUntil = &t
	}
	return u, err
}

// UserByName finds an account by login name (case-insensitively).
func (s *Store) UserByName(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE lower(name) = lower(?)`, NFC(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("%w: no user %s", ErrNotFound, name)
	}
	return u, err
}

// Users lists the accounts by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// BeginLogin counts a login attempt before its password is checked, in one transaction with
// the check of the wait: attempts made in parallel each see the count the others left (checked
// after, 20 parallel logins all read the same stale count and all went through). delay gives
// the wait after n attempts in a row; the count and the wait are cleared by LoginSucceeded. It
// returns how long is left to wait (0: go ahead).
func (s *Store) BeginLogin(ctx context.Context, id UserID, now time.Time, delay func(n int) time.Duration) (wait time.Duration, err error) {
	err = s.write(ctx, func(tx *sql.Tx) error {
		var failures int
		var locked sql.NullString
		if err := tx.QueryRow(`SELECT failures, locked_until FROM users WHERE id = ?`, id).Scan(&failures, &locked); err != nil {
			return err
		}
		var next string
		if wait, next = attempt(failures, locked, now, delay); wait > 0 {
			return nil
		}
		_, err := tx.Exec(`UPDATE users SET failures = failures + 1, locked_until = ? WHERE id = ?`, next, id)
		return err
	})
	return wait, err
}

// attempt is the wait left before another try after failures attempts in a row (locked: the
// stored time the wait ends), or, when there is none, the end of the wait to store if this
// attempt fails too.
func attempt(failures int, locked sql.NullString, now time.Time, delay func(n int) time.Duration) (wait time.Duration, next string) {
	if locked.Valid {
		if until, err := time.Parse(time.RFC3339Nano, locked.String); err == nil && now.Before(until) {
			return until.Sub(now), ""
		}
	}
	return 0, now.Add(delay(failures + 1)).UTC().Format(time.RFC3339Nano)
}

// BeginLoginUnknown is BeginLogin for a name no account has: the same count and the same waits,
// kept per name as typed (case-folded, at most 64 characters).
func (s *Store) BeginLoginUnknown(ctx context.Context, name string, now time.Time, delay func(n int) time.Duration) (wait time.Duration, err error) {
	key := strings.ToLower(name)
	if r := []rune(key); len(r) > 64 {
		key = string(r[:64])
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var failures int
		var locked sql.NullString
		err := tx.QueryRow(`SELECT failures, locked_until FROM login_unknown WHERE name_key = ?`, key).Scan(&failures, &locked)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var next string
		if wait, next = attempt(failures, locked, now, delay); wait > 0 {
			return nil
		}
		_, err = tx.Exec(`INSERT INTO login_unknown (name_key, failures, locked_until) VALUES (?, 1, ?)
			ON CONFLICT (name_key) DO UPDATE SET failures = failures + 1, locked_until = excluded.locked_until`, key, next)
		return err
	})
	return wait, err
}

// LoginFailed records a wrong password (BeginLogin counted it already).
func (s *Store) LoginFailed(ctx context.Context, id UserID) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		return s.audit(tx, "update", "user", int64(id), "login failed")
	})
}

// LoginFailedUnknown records a login under a name no account has (names tried leave a trace).
func (s *Store) LoginFailedUnknown(ctx context.Context, name string) error {
	if len(name) > 64 {
		name = name[:64]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, name)
	return s.write(ctx, func(tx *sql.Tx) error {
		return s.audit(tx, "update", "user", 0, "login failed: no account named "+strconv.Quote(name))
	})
}

// LoginSucceeded clears the failures and records the login under that user.
func (s *Store) LoginSucceeded(ctx context.Context, id UserID) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`UPDATE users SET failures = 0, locked_until = NULL WHERE id = ?`, id); err != nil {
			return err
		}
		return s.audit(tx, "update", "user", int64(id), "login")
	})
}

// SetPassword replaces an account's password hash (and clears its failures).
func (s *Store) SetPassword(ctx context.Context, id UserID, hash string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE users SET pw_hash = ?, failures = 0, locked_until = NULL, updated_at = ? WHERE id = ?`, hash, s.stamp(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: user %d", ErrNotFound, id)
		}
		return s.audit(tx, "update", "user", int64(id), "password changed")
	})
}

// SetDisabled disables (or enables again) an account; a disabled account cannot log in.
func (s *Store) SetDisabled(ctx context.Context, id UserID, disabled bool) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var at any
		what := "enabled"
		if disabled {
			at, what = s.stamp(), "disabled"
		}
		res, err := tx.Exec(`UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ?`, at, s.stamp(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: user %d", ErrNotFound, id)
		}
		return s.audit(tx, "update", "user", int64(id), what)
	})
}
