package storage

import (
	"context"
	"database/sql"
	"fmt"
)

// DeletePatient hides a patient and everything under them (recoverable with
// UndeletePatient). hard removes the records and the photos no other record uses, for good.
func (s *Store) DeletePatient(ctx context.Context, id PatientID, hard bool) error {
	return s.write(ctx, func(tx *sql.Tx) error { return s.deletePatient(ctx, tx, id, hard) })
}

func (s *Store) deletePatient(ctx context.Context, tx *sql.Tx, id PatientID, hard bool) error {
	var code string
	if err := tx.QueryRow(`SELECT code FROM patients WHERE id = ?`, id).Scan(&code); err != nil {
		return fmt.Errorf("%w: patient %d", ErrNotFound, id)
	}
	if !hard {
		if _, err := tx.Exec(`UPDATE patients SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL`, s.stamp(), id); err != nil {
			return err
		}
		if err := markLatest(tx, `lesion_id IN (SELECT id FROM lesions WHERE patient_id = ?)`, id); err != nil {
			return err
		}
		if err := s.sealPatients(tx, `p.id = ?`, id); err != nil {
			return err
		}
		return s.audit(tx, "delete", "patient", int64(id), code)
	}
	// Each record that goes gets its own audit row: a sealed record missing from the records
	// without one was removed outside Dermal (VerifyRecords).
	for _, kind := range []struct{ entity, query string }{
		{"referral", `SELECT r.id FROM referrals r JOIN assessments a ON a.id = r.assessment_id JOIN lesions l ON l.id = a.lesion_id WHERE l.patient_id = ?`},
		{"assessment", `SELECT a.id FROM assessments a JOIN lesions l ON l.id = a.lesion_id WHERE l.patient_id = ?`},
	} {
		rows, err := tx.QueryContext(ctx, kind.query, id)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var n int64
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, n)
		}
		rows.Close()
		for _, n := range ids {
			if err := s.audit(tx, "delete", kind.entity, n, "permanently, with patient "+code); err != nil {
				return err
			}
		}
	}
	steps := []string{
		`CREATE TEMP TABLE doomed AS SELECT photo_sha256 AS sha FROM assessments WHERE lesion_id IN (SELECT id FROM lesions WHERE patient_id = ?1)
			UNION SELECT thumb_sha256 FROM assessments WHERE lesion_id IN (SELECT id FROM lesions WHERE patient_id = ?1)`,
		// The district hub's outbox goes with the referrals (what the hub already holds is
		// the district's to delete).
		`DELETE FROM hub_outbox WHERE referral_id IN (SELECT r.id FROM referrals r JOIN assessments a ON a.id = r.assessment_id JOIN lesions l ON l.id = a.lesion_id WHERE l.patient_id = ?1)`,
		`DELETE FROM referrals WHERE assessment_id IN (SELECT a.id FROM assessments a JOIN lesions l ON l.id = a.lesion_id WHERE l.patient_id = ?1)`,
		`DELETE FROM assessments WHERE lesion_id IN (SELECT id FROM lesions WHERE patient_id = ?1)`,
		`DELETE FROM lesions WHERE patient_id = ?1`,
		`DELETE FROM patients WHERE id = ?1`,
		`DELETE FROM blobs WHERE sha256 IN (SELECT sha FROM doomed)
			AND sha256 NOT IN (SELECT photo_sha256 FROM assessments UNION SELECT thumb_sha256 FROM assessments)`,
		`DROP TABLE doomed`,
	}
	for _, q := range steps {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("deleting patient %s: %w", code, err)
		}
	}
	return s.audit(tx, "delete", "patient", int64(id), code+" (permanently, with photos)")
}

// UndeletePatient brings back a soft-deleted patient.
func (s *Store) UndeletePatient(ctx context.Context, id PatientID) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE patients SET deleted_at = NULL WHERE id = ? AND deleted_at IS NOT NULL`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: no deleted patient %d", ErrNotFound, id)
		}
		if err := markLatest(tx, `lesion_id IN (SELECT id FROM lesions WHERE patient_id = ?)`, id); err != nil {
			return err
		}
		if err := s.sealPatients(tx, `p.id = ?`, id); err != nil {
			return err
		}
		return s.audit(tx, "restore", "patient", int64(id), "")
	})
}

// MergePatients moves every lesion (with its assessments) of drop to keep and then hides
// drop (recoverable, now empty): for a patient registered twice. Both must exist and differ;
// it is one transaction, audited on both patients.
func (s *Store) MergePatients(ctx context.Context, keep, drop PatientID) error {
	if keep == drop {
		return fmt.Errorf("%w: a patient cannot be merged into themselves", ErrInvalid)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var keepCode, dropCode string
		if err := tx.QueryRow(`SELECT code FROM patients WHERE id = ? AND deleted_at IS NULL`, keep).Scan(&keepCode); err != nil {
			return fmt.Errorf("%w: patient %d", ErrNotFound, keep)
		}
		if err := tx.QueryRow(`SELECT code FROM patients WHERE id = ? AND deleted_at IS NULL`, drop).Scan(&dropCode); err != nil {
			return fmt.Errorf("%w: patient %d", ErrNotFound, drop)
		}
		res, err := tx.Exec(`UPDATE lesions SET patient_id = ? WHERE patient_id = ?`, keep, drop)
		if err != nil {
			return err
		}
		moved, _ := res.RowsAffected()
		// The moved lesions and their assessments now belong to keep: their seals name the
		// patient.
		if err := s.sealLesions(tx, `l.patient_id = ?`, keep); err != nil {
			return err
		}
		if err := s.sealAssessments(tx, `l.patient_id = ?`, keep); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE patients SET deleted_at = ? WHERE id = ?`, s.stamp(), drop); err != nil {
			return err
		}
		if err := s.sealPatients(tx, `p.id = ?`, drop); err != nil {
			return err
		}
		detail := fmt.Sprintf("merged %s into %s (%d lesions moved)", dropCode, keepCode, moved)
		if err := s.audit(tx, "update", "patient", int64(keep), detail); err != nil {
			return err
		}
		return s.audit(tx, "delete", "patient", int64(drop), detail)
	})
}
