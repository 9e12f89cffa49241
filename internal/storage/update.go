package storage

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"time"
)

// UpdatePatient replaces a patient's details (the clinic code may change if still unique).
func (s *Store) UpdatePatient(ctx context.Context, p Patient) error {
	if err := p.validate(s.now()); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error { return s.updatePatient(tx, p) })
}

func (s *Store) updatePatient(tx *sql.Tx, p Patient) error {
	if err := codeFree(tx, p.Code, p.ID); err != nil {
		return err
	}
	photos, referral, at := p.consentArgs()
	res, err := tx.Exec(`UPDATE patients SET code = ?, code_key = ?, full_name = ?, search_key = ?, sex = ?, birth_year = ?, phone = ?, address = ?,
		notes = ?, updated_at = ?, insurance_number = ?, id_number = ?, consent_photos = ?, consent_referral = ?, consent_at = ?, phone_key = ? WHERE id = ? AND deleted_at IS NULL`,
		p.Code, CodeKey(p.Code), p.FullName, searchKey(p), nullStr(p.Sex), nullInt(p.BirthYear), p.Phone, p.Address, p.Notes, s.stamp(),
		p.InsuranceNumber, p.IDNumber, photos, referral, at, phoneKey(p.Phone), p.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: patient %d", ErrNotFound, p.ID)
	}
	if err := s.sealPatients(tx, `p.id = ?`, p.ID); err != nil {
		return err
	}
	return s.audit(tx, "update", "patient", int64(p.ID), p.Code)
}

// Findings are what the clinician records about an assessment, possibly after saving it.
type Findings struct {
	Diagnosis    string
	Notes        string
	FollowUp     *time.Time
	GradCAMShown bool
}

// clean normalizes the findings' text and checks it against the field rules.
func (f *Findings) clean() (err error) {
	if f.Diagnosis, err = FieldDiagnosis.Clean(f.Diagnosis); err != nil {
		return err
	}
	f.Notes, err = FieldNotes.Clean(f.Notes)
	return err
}

// RecordFindings sets the clinician's diagnosis, notes and follow-up date of an assessment.
func (s *Store) RecordFindings(ctx context.Context, assessmentID AssessmentID, f Findings) error {
	if err := f.clean(); err != nil {
		return err
	}
	now := s.now()
	var follow any
	if f.FollowUp != nil {
		if f.FollowUp.Before(now.AddDate(0, 0, -1)) || f.FollowUp.After(now.AddDate(10, 0, 0)) {
			return fmt.Errorf("%w: follow-up date %s is not between today and 10 years from now", ErrInvalid, f.FollowUp.Format("2006-01-02"))
		}
		follow = f.FollowUp.Format("2006-01-02")
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE assessments SET diagnosis = ?, notes = ?, follow_up = ?, gradcam_shown = ? WHERE id = ? AND deleted_at IS NULL`,
			f.Diagnosis, f.Notes, follow, f.GradCAMShown, assessmentID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: assessment %d", ErrNotFound, assessmentID)
		}
		if err := s.sealAssessments(tx, `a.id = ?`, assessmentID); err != nil {
			return err
		}
		return s.audit(tx, "update", "assessment", int64(assessmentID), "findings")
	})
}

// RecordRestore notes in the restored records' own trail that they were put in place by a
// restore, from which backup, and where the records they replaced are kept (restores appeared
// in neither trail). Written right after the restore, by whoever restored them; the restored
// records' data key is not held then, so the row is not sealed (VerifyAudit allows that kind).
func (s *Store) RecordRestore(ctx context.Context, from, kept string) error {
	detail := "restored from " + filepath.Base(from)
	if kept != "" {
		detail += "; the records replaced are kept as " + filepath.Base(kept)
	}
	return s.write(ctx, func(tx *sql.Tx) error { return s.audit(tx, "restore", "records", 0, detail) })
}

// RecordExport notes in the audit table that a record left Dermal (a PDF report of an
// assessment, a photo sent elsewhere): what, which one, and where to.
func (s *Store) RecordExport(ctx context.Context, entity string, id int64, detail string) error {
	return s.write(ctx, func(tx *sql.Tx) error { return s.audit(tx, "export", entity, id, NFC(detail)) })
}

// AuditEntry is one row of the audit trail.
type AuditEntry struct {
	Row    int64 // the audit row's own id
	At     time.Time
	Actor  string
	Action string
	Entity string
	ID     int64
	Detail string
	// Version is the Dermal version that wrote the row ("" before version 0.7).
	Version string
}

// AuditTrail lists the audit rows about one entity ("patient", "assessment", ...; id 0: all of
// that kind), oldest first.
func (s *Store) AuditTrail(ctx context.Context, entity string, id int64) ([]AuditEntry, error) {
	return s.queryAudit(ctx, `WHERE entity = ? AND (? = 0 OR entity_id = ?) ORDER BY id`, entity, id, id)
}

// RecordCapture notes in the audit trail that a photo arrived from a camera (the phone page,
// a USB camera) for the open assessment, before it is analysed or saved.
func (s *Store) RecordCapture(ctx context.Context, detail string) error {
	return s.write(ctx, func(tx *sql.Tx) error { return s.audit(tx, "create", "capture", 0, NFC(detail)) })
}
