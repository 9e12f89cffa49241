package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ReferralID is a referrals row id.
type ReferralID int64

// Outcome sources: who said what the lesion was.
const (
	OutcomeSpecialist = "specialist"
	OutcomeHistology  = "histology"
)

// Referral is one referral of an assessment to a specialist, and what came of it.
type Referral struct {
	ID           ReferralID
	AssessmentID AssessmentID
	ReferredAt   time.Time
	ReferredTo   string
	Reason       string
	Urgency      string // the risk tier when referred
	// The outcome, once recorded: OutcomeSource is "" until then.
	OutcomeSource    string
	OutcomeDiagnosis string
	OutcomeDate      *time.Time
}

// HasOutcome reports whether the outcome has been recorded.
func (r Referral) HasOutcome() bool { return r.OutcomeSource != "" }

// AddReferral records that an assessment was referred (a referral letter was made).
func (s *Store) AddReferral(ctx context.Context, r Referral) (id ReferralID, err error) {
	if r.ReferredTo, err = FieldReferredTo.Clean(r.ReferredTo); err != nil {
		return 0, err
	}
	if r.Reason, err = FieldReason.Clean(r.Reason); err != nil {
		return 0, err
	}
	if r.ReferredAt.IsZero() {
		r.ReferredAt = s.now()
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var tier string
		err := tx.QueryRow(`SELECT a.risk_tier FROM assessments a JOIN lesions l ON l.id = a.lesion_id
			WHERE a.id = ? AND a.deleted_at IS NULL AND l.deleted_at IS NULL`, r.AssessmentID).Scan(&tier)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: assessment %d", ErrNotFound, r.AssessmentID)
		}
		if err != nil {
			return err
		}
		if r.Urgency == "" {
			r.Urgency = tier
		}
		res, err := tx.Exec(`INSERT INTO referrals (assessment_id, referred_at, referred_to, reason, urgency) VALUES (?, ?, ?, ?, ?)`,
			r.AssessmentID, r.ReferredAt.UTC().Format(time.RFC3339Nano), r.ReferredTo, r.Reason, r.Urgency)
		if err != nil {
			return err
		}
		n, _ := res.LastInsertId()
		id = ReferralID(n)
		if err := s.sealReferrals(tx, `r.id = ?`, n); err != nil {
			return err
		}
		return s.audit(tx, "create", "referral", n, fmt.Sprintf("assessment %d to %s", r.AssessmentID, r.ReferredTo))
	})
	return id, err
}

// RecordOutcome records what the specialist or histology found for an assessment's latest
// referral; an assessment referred outside Dermal (by phone, on paper) gets a referral row
// with the outcome. The outcome's date must not be before the photo nor in the future.
func (s *Store) RecordOutcome(ctx context.Context, assessment AssessmentID, source, diagnosis string, date time.Time) (Referral, error) {
	var err error
	if source != OutcomeSpecialist && source != OutcomeHistology {
		return Referral{}, fmt.Errorf("%w: outcome source %q is not specialist or histology", ErrInvalid, source)
	}
	if diagnosis, err = FieldDiagnosis.Clean(diagnosis); err != nil {
		return Referral{}, err
	}
	if diagnosis == "" {
		return Referral{}, fmt.Errorf("%w: the outcome needs the diagnosis", ErrInvalid)
	}
	day := date.Format("2006-01-02")
	err = s.write(ctx, func(tx *sql.Tx) error {
		var taken, tier string
		err := tx.QueryRow(`SELECT a.taken_at, a.risk_tier FROM assessments a JOIN lesions l ON l.id = a.lesion_id
			WHERE a.id = ? AND a.deleted_at IS NULL AND l.deleted_at IS NULL`, assessment).Scan(&taken, &tier)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: assessment %d", ErrNotFound, assessment)
		}
		if err != nil {
			return err
		}
		t, _ := time.Parse(time.RFC3339Nano, taken)
		if day < t.Local().Format("2006-01-02") || date.After(s.now().AddDate(0, 0, 1)) {
			return fmt.Errorf("%w: outcome date %s is before the photo (%s) or in the future", ErrInvalid, day, t.Local().Format("2006-01-02"))
		}
		var id int64
		err = tx.QueryRow(`SELECT id FROM referrals WHERE assessment_id = ? AND deleted_at IS NULL ORDER BY referred_at DESC, id DESC LIMIT 1`, assessment).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			res, err := tx.Exec(`INSERT INTO referrals (assessment_id, referred_at, urgency) VALUES (?, ?, ?)`, assessment, taken, tier)
			if err != nil {
				return err
			}
			id, _ = res.LastInsertId()
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE referrals SET outcome_source = ?, outcome_diagnosis = ?, outcome_date = ?, outcome_at = ? WHERE id = ?`,
			source, diagnosis, day, s.stamp(), id); err != nil {
			return err
		}
		if err := s.sealReferrals(tx, `r.id = ?`, id); err != nil {
			return err
		}
		return s.audit(tx, "update", "referral", id, "outcome "+source)
	})
	if err != nil {
		return Referral{}, err
	}
	rs, err := s.Referrals(ctx, assessment)
	if err != nil || len(rs) == 0 {
		return Referral{}, err
	}
	return rs[len(rs)-1], nil
}

// Referrals lists an assessment's referrals, oldest first.
func (s *Store) Referrals(ctx context.Context, assessment AssessmentID) ([]Referral, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, assessment_id, referred_at, referred_to, reason, urgency,
		coalesce(outcome_source, ''), coalesce(outcome_diagnosis, ''), coalesce(outcome_date, '')
		FROM referrals WHERE assessment_id = ? AND deleted_at IS NULL ORDER BY referred_at, id`, assessment)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Referral
	for rows.Next() {
		var r Referral
		var at, date string
		if err := rows.Scan(&r.ID, &r.AssessmentID, &at, &r.ReferredTo, &r.Reason, &r.Urgency, &r.OutcomeSource, &r.OutcomeDiagnosis, &date); err != nil {
			return nil, err
		}
		r.ReferredAt, _ = time.Parse(time.RFC3339Nano, at)
		if d, err := time.ParseInLocation("2006-01-02", date, time.Local); err == nil {
			r.OutcomeDate = &d
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
