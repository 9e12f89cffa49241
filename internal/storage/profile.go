package storage

import (
	"context"
	"database/sql"
	"errors"
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
