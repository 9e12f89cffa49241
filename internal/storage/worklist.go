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

// patientColumnsOf is patientColumns qualified by a table alias.
func patientColumnsOf(alias string) string {
	a := alias + "."
	return a + "id, " + a + "code, " + a + "full_name, coalesce(" + a + "sex, ''), coalesce(" + a + "birth_year, 0), " + a + "phone, " +
		a + "address, " + a + "notes, " + a + "insurance_number, " + a + "id_number, " + a + "consent_photos, " + a + "consent_referral, " + a + "consent_at"
}

// Worklist sections, in the order the worklist shows them.
const (
	SectionOverdue = iota
	SectionToday
	SectionUpcoming
	SectionAwaiting
	SectionCannotAssess
	Sections
)

// WorklistPlace is an item's place in the sectioned worklist: its section, then what the
// section is sorted on and the assessment (WorkItem.Order, WorkItem.Assessment).
type WorklistPlace struct {
	Section    int
	Order      string
	Assessment AssessmentID
}

// WorklistQuery asks for the worklist of one day, a section at a time.
type WorklistQuery struct {
	Today, Horizon string // the local calendar days, YYYY-MM-DD: follow-ups up to Horizon count
	// PerSection is the most items of each section returned (0: all); Totals still counts
	// them all.
	PerSection int
	// After, when set, starts after that place (paging): earlier sections are empty.
	After *WorklistPlace
}

// WorklistSections is the worklist sorted into its sections by SQLite itself, each cut at
// q.PerSection, with every section's total (the follow-ups by date; results awaiting their
// outcome urgent before review, then the oldest; the rest by date): at 100,000 patients the window and a paged
// command read the few items they show instead of every open item (Worklist). A lesion is
// in every section it belongs to (a follow-up overdue and a result awaiting its outcome).
func (s *Store) WorklistSections(ctx context.Context, q WorklistQuery) (items [Sections][]WorkItem, totals [Sections]int, err error) {
	after := WorklistPlace{Section: -1}
	if q.After != nil {
		after = *q.After
	}
	limit := q.PerSection
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.db.QueryContext(ctx, `WITH latest AS MATERIALIZED (
			SELECT a.id AS aid, l.id AS lid, l.patient_id AS pid, a.taken_at, a.risk_tier, a.follow_up, coalesce(a.follow_up, a.taken_at) AS ord
			FROM assessments a JOIN lesions l ON l.id = a.lesion_id JOIN patients p ON p.id = l.patient_id
			WHERE a.deleted_at IS NULL AND l.deleted_at IS NULL AND p.deleted_at IS NULL
			  AND a.id = (SELECT a2.id FROM assessments a2 WHERE a2.lesion_id = l.id AND a2.deleted_at IS NULL ORDER BY a2.taken_at DESC, a2.id DESC LIMIT 1)
			  AND (a.follow_up IS NOT NULL OR a.risk_tier IN ('urgent', 'review', 'retake', 'cannot_assess'))
		), tagged AS (
			SELECT 0 AS sec, * FROM latest WHERE follow_up < ?1
			UNION ALL SELECT 1, * FROM latest WHERE follow_up = ?1
			UNION ALL SELECT 2, * FROM latest WHERE follow_up > ?1 AND follow_up <= ?2
			UNION ALL SELECT 3, aid, lid, pid, taken_at, risk_tier, follow_up, (CASE risk_tier WHEN 'urgent' THEN '0 ' ELSE '1 ' END) || taken_at
			  FROM latest WHERE risk_tier IN ('urgent', 'review')
			  AND NOT EXISTS (SELECT 1 FROM referrals r WHERE r.assessment_id = latest.aid AND r.deleted_at IS NULL AND r.outcome_source IS NOT NULL)
			UNION ALL SELECT 4, * FROM latest WHERE risk_tier IN ('retake', 'cannot_assess')
		), ranked AS (
			SELECT *, count(*) OVER (PARTITION BY sec) AS total,
				row_number() OVER (PARTITION BY sec ORDER BY (sec, ord, aid) > (?3, ?4, ?5) DESC, ord, aid) AS rn,
				(sec, ord, aid) > (?3, ?4, ?5) AS later
			FROM tagged
		)
		SELECT r.sec, r.total, r.later, `+patientColumnsOf("p")+`, l.id, l.body_site, l.site_detail, r.aid, r.taken_at, r.risk_tier, coalesce(r.follow_up, ''), r.ord,
			EXISTS (SELECT 1 FROM referrals x WHERE x.assessment_id = r.aid AND x.deleted_at IS NULL AND x.referred_to != ''),
			EXISTS (SELECT 1 FROM referrals x WHERE x.assessment_id = r.aid AND x.deleted_at IS NULL AND x.outcome_source IS NOT NULL)
		FROM ranked r JOIN patients p ON p.id = r.pid JOIN lesions l ON l.id = r.lid
		WHERE (?6 < 0 OR r.rn <= ?6)
		ORDER BY r.sec, r.ord, r.aid`, q.Today, q.Horizon, after.Section, after.Order, after.Assessment, limit)
	if err != nil {
		return items, totals, err
	}
	defer rows.Close()
	for rows.Next() {
		var w WorkItem
		var sec, total int
		var later bool
		var taken, follow string
		p := &w.Patient
		var photos, referral sql.NullBool
		var at sql.NullString
		if err := rows.Scan(&sec, &total, &later, &p.ID, &p.Code, &p.FullName, &p.Sex, &p.BirthYear, &p.Phone, &p.Address, &p.Notes, &p.InsuranceNumber, &p.IDNumber,
			&photos, &referral, &at, &w.Lesion.ID, &w.Lesion.BodySite, &w.Lesion.SiteDetail, &w.Assessment, &taken, &w.RiskTier, &follow, &w.Order, &w.Referred, &w.HasOutcome); err != nil {
			return items, totals, err
		}
		totals[sec] = total
		if !later {
			continue // before the page's start (paging)
		}
		p.setConsent(photos, referral, at)
		w.Lesion.PatientID = p.ID
		w.TakenAt, _ = time.Parse(time.RFC3339Nano, taken)
		if d, err := time.ParseInLocation("2006-01-02", follow, time.Local); err == nil {
			w.FollowUp = &d
		}
		items[sec] = append(items[sec], w)
	}
	return items, totals, rows.Err()
}
