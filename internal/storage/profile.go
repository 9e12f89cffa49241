package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ClinicProfile is the clinic as its reports and referral letters name it.
type ClinicProfile struct {
	Name    string
	Address string
	Phone   string
}

// Complete reports whether a referral letter can name the referring clinic and say how to
// reach it.
func (p ClinicProfile) Complete() bool { return p.Name != "" && p.Address != "" && p.Phone != "" }

// FieldClinicName is the clinic name's rule.
var FieldClinicName = TextField{Name: "clinic name", MaxChars: 200}

// ClinicProfile returns the clinic's profile (empty fields when not set).
func (s *Store) ClinicProfile(ctx context.Context) (ClinicProfile, error) {
	var p ClinicProfile
	err := s.db.QueryRowContext(ctx, `SELECT name, address, phone FROM clinic_profile WHERE id = 1`).Scan(&p.Name, &p.Address, &p.Phone)
	if errors.Is(err, sql.ErrNoRows) {
		return ClinicProfile{}, nil
	}
	return p, err
}

// SetClinicProfile stores the clinic's profile (normalized and checked like any text).
func (s *Store) SetClinicProfile(ctx context.Context, p ClinicProfile) (err error) {
	if p.Name, err = FieldClinicName.Clean(p.Name); err != nil {
		return err
	}
	if p.Address, err = FieldAddress.Clean(p.Address); err != nil {
		return err
	}
	if p.Phone, err = FieldPhone.Clean(p.Phone); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO clinic_profile (id, name, address, phone, updated_at) VALUES (1, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address, phone = excluded.phone, updated_at = excluded.updated_at`,
			p.Name, p.Address, p.Phone, s.stamp()); err != nil {
			return err
		}
		return s.audit(tx, "update", "clinic", 1, p.Name)
	})
}

// DefaultLockMinutes is how long a window may sit idle before it locks, until the clinic's
// administrator sets another time.
const DefaultLockMinutes = 5

// MaxLockMinutes is the longest idle lock an administrator may set.
const MaxLockMinutes = 120

// LockMinutes is the idle time after which a window locks (0: never): the clinic's setting,
// kept in the records so that every OS account on the laptop gets the same.
func (s *Store) LockMinutes(ctx context.Context) (int, error) {
	var m sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT lock_minutes FROM clinic_profile WHERE id = 1`).Scan(&m)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !m.Valid) {
		return DefaultLockMinutes, nil
	}
	return int(m.Int64), err
}

// SetLockMinutes sets the idle lock (0: never) and records the change in the audit trail in
// the same transaction.
func (s *Store) SetLockMinutes(ctx context.Context, minutes int) error {
	if minutes < 0 || minutes > MaxLockMinutes {
		return fmt.Errorf("%w: the idle lock must be between 0 (never) and %d minutes, not %d", ErrInvalid, MaxLockMinutes, minutes)
	}
	old, err := s.LockMinutes(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO clinic_profile (id, name, updated_at, lock_minutes) VALUES (1, '', ?, ?)
			ON CONFLICT (id) DO UPDATE SET lock_minutes = excluded.lock_minutes, updated_at = excluded.updated_at`, s.stamp(), minutes); err != nil {
			return err
		}
		return s.audit(tx, "update", "settings", 0, fmt.Sprintf("lock after idle minutes: %d to %d (0: never)", old, minutes))
	})
}
