package storage

import (
	"context"
	"database/sql"
	"time"
)

// WorkItem is one lesion that needs the clinic's attention: its latest assessment has a
// follow-up date, an urgent or review result whose referral has no outcome yet, or a result
// that could not be assessed (retake, plain photo without a checklist).
type WorkItem struct {
	Patient    Patient
	Lesion     Lesion
	Assessment AssessmentID
	TakenAt    time.Time
	RiskTier   string
	FollowUp   *time.Time
	// Referred is whether a referral was recorded; HasOutcome whether its outcome was.
	Referred   bool
	HasOutcome bool
	// Order is what the list is sorted on with Assessment (the follow-up date, else when the
	// photo was taken, as stored): a stable place in the list for paging.
	Order string
}

// Worklist lists every lesion's latest assessment that has a follow-up date, an urgent or
// review result, or a result that could not be assessed. Only the latest assessment counts:
// seeing the lesion again closes the follow-up, or the "cannot assess", it was given before.
// The caller sorts the items into overdue, due, awaiting and cannot assess (clinic.Worklist).
func (s *Store) Worklist(ctx context.Context) ([]WorkItem, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+patientColumnsOf("p")+`, l.id, l.body_site, l.site_detail, a.id, a.taken_at, a.risk_tier, coalesce(a.follow_up, ''), coalesce(a.follow_up, a.taken_at),
			EXISTS (SELECT 1 FROM referrals r WHERE r.assessment_id = a.id AND r.deleted_at IS NULL AND r.referred_to != ''),
			EXISTS (SELECT 1 FROM referrals r WHERE r.assessment_id = a.id AND r.deleted_at IS NULL AND r.outcome_source IS NOT NULL)
		FROM assessments a JOIN lesions l ON l.id = a.lesion_id JOIN patients p ON p.id = l.patient_id
		WHERE a.deleted_at IS NULL AND l.deleted_at IS NULL AND p.deleted_at IS NULL
		  AND a.id = (SELECT a2.id FROM assessments a2 WHERE a2.lesion_id = l.id AND a2.deleted_at IS NULL ORDER BY a2.taken_at DESC, a2.id DESC LIMIT 1)
		  AND (a.follow_up IS NOT NULL OR a.risk_tier IN ('urgent', 'review', 'retake', 'cannot_assess'))
		ORDER BY coalesce(a.follow_up, a.taken_at), a.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []WorkItem
	for rows.Next() {
		var w WorkItem
		var taken, follow string
		p := &w.Patient
		var photos, referral sql.NullBool
		var at sql.NullString
		if err := rows.Scan(&p.ID, &p.Code, &p.FullName, &p.Sex, &p.BirthYear, &p.Phone, &p.Address, &p.Notes, &p.InsuranceNumber, &p.IDNumber,
			&photos, &referral, &at, &w.Lesion.ID, &w.Lesion.BodySite, &w.Lesion.SiteDetail, &w.Assessment, &taken, &w.RiskTier, &follow, &w.Order, &w.Referred, &w.HasOutcome); err != nil {
			return nil, err
		}
		p.setConsent(photos, referral, at)
		w.Lesion.PatientID = p.ID
		w.TakenAt, _ = time.Parse(time.RFC3339Nano, taken)
		if d, err := time.ParseInLocation("2006-01-02", follow, time.Local); err == nil {
			w.FollowUp = &d
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// patientColumnsOf is patientColumns qualified by a table alias.
func patientColumnsOf(alias string) string {
	a := alias + "."
	return a + "id, " + a + "code, " + a + "full_name, coalesce(" + a + "sex, ''), coalesce(" + a + "birth_year, 0), " + a + "phone, " +
		a + "address, " + a + "notes, " + a + "insurance_number, " + a + "id_number, " + a + "consent_photos, " + a + "consent_referral, " + a + "consent_at"
}
