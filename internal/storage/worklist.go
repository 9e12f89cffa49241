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
	// Hub is where the latest referral stands with the district hub ("": not queued;
	// HubQueued, HubSent, HubFailed; HubError says why it failed), set by the clinic layer.
	Hub      string
	HubError string
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
	// Totals asks for every section's size (the window's headings; a page does not need it).
	Totals bool
}

// worklistSection is how one section is read: which latest assessments it holds, and what
// it is sorted on (with the assessment's id).
type worklistSection struct {
	where string // on a (the assessment); ?1 is today, ?2 the horizon
	order string // the place in the section (WorkItem.Order), with the assessment's id
	// sort is the same order as the index that serves it gives it (ORDER BY order, id would
	// sort every item of the section first: 0.7 s for 41,000 results awaiting an outcome).
	sort string
}

var worklistSectionSQL = [Sections]worklistSection{
	SectionOverdue:  {`a.follow_up < ?1`, `a.follow_up`, `a.follow_up, a.id`},
	SectionToday:    {`a.follow_up = ?1`, `a.follow_up`, `a.follow_up, a.id`},
	SectionUpcoming: {`a.follow_up > ?1 AND a.follow_up <= ?2`, `a.follow_up`, `a.follow_up, a.id`},
	// Urgent before review ("urgent" sorts after "review": descending), then the oldest.
	SectionAwaiting: {`a.risk_tier IN ('urgent', 'review')
		AND NOT EXISTS (SELECT 1 FROM referrals x WHERE x.assessment_id = a.id AND x.deleted_at IS NULL AND x.outcome_source IS NOT NULL)`,
		`(CASE a.risk_tier WHEN 'urgent' THEN '0 ' ELSE '1 ' END) || a.taken_at`, `a.risk_tier DESC, a.taken_at, a.id`},
	SectionCannotAssess: {`a.risk_tier IN ('retake', 'cannot_assess')`, `coalesce(a.follow_up, a.taken_at)`, `coalesce(a.follow_up, a.taken_at), a.id`},
}

// WorklistSections is the worklist in its sections, each read by its own query through the
// indexes of each lesion's latest assessment (migration 22), cut at q.PerSection, with every
// section's total: at 100,000 patients the window and a paged command read the few items they
// show. Only a lesion's latest assessment counts: seeing the lesion again closes the
// follow-up, or the "cannot assess", it was given before. A lesion is in every section it
// belongs to (a follow-up overdue and a result awaiting its outcome). The follow-ups are
// sorted by date, results awaiting their outcome urgent before review and then the oldest,
// the rest by date.
func (s *Store) WorklistSections(ctx context.Context, q WorklistQuery) (items [Sections][]WorkItem, totals [Sections]int, err error) {
	const from = ` FROM assessments a JOIN lesions l ON l.id = a.lesion_id JOIN patients p ON p.id = l.patient_id
		WHERE a.latest = 1 AND a.deleted_at IS NULL AND l.deleted_at IS NULL AND p.deleted_at IS NULL AND `
	limit := q.PerSection
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	for sec, def := range worklistSectionSQL {
		// Counted from the index of latest assessments alone (deleted patients' are not
		// latest): a section of 85,000 overdue follow-ups took 0.66 s through the joins.
		if q.Totals {
			if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM assessments a WHERE a.latest = 1 AND `+def.where, q.Today, q.Horizon).Scan(&totals[sec]); err != nil {
				return items, totals, err
			}
		}
		if q.After != nil && sec < q.After.Section {
			continue // before the page's start
		}
		args := []any{q.Today, q.Horizon, limit}
		page := ""
		if q.After != nil && sec == q.After.Section {
			page = ` AND (` + def.order + `, a.id) > (?4, ?5)`
			args = append(args, q.After.Order, q.After.Assessment)
		}
		rows, err := s.db.QueryContext(ctx, `SELECT `+patientColumnsOf("p")+`, l.id, l.body_site, l.site_detail, a.id, a.taken_at, a.risk_tier,
				coalesce(a.follow_up, ''), `+def.order+`,
				EXISTS (SELECT 1 FROM referrals x WHERE x.assessment_id = a.id AND x.deleted_at IS NULL AND x.referred_to != ''),
				EXISTS (SELECT 1 FROM referrals x WHERE x.assessment_id = a.id AND x.deleted_at IS NULL AND x.outcome_source IS NOT NULL)`+
			from+def.where+page+` ORDER BY `+def.sort+` LIMIT ?3`, args...)
		if err != nil {
			return items, totals, err
		}
		for rows.Next() {
			var w WorkItem
			var taken, follow string
			p := &w.Patient
			var photos, referral sql.NullBool
			var at sql.NullString
			if err := rows.Scan(&p.ID, &p.Code, &p.FullName, &p.Sex, &p.BirthYear, &p.Phone, &p.Address, &p.Notes, &p.InsuranceNumber, &p.IDNumber,
				&photos, &referral, &at, &w.Lesion.ID, &w.Lesion.BodySite, &w.Lesion.SiteDetail, &w.Assessment, &taken, &w.RiskTier, &follow, &w.Order, &w.Referred, &w.HasOutcome); err != nil {
				rows.Close()
				return items, totals, err
			}
			p.setConsent(photos, referral, at)
			w.Lesion.PatientID = p.ID
			w.TakenAt, _ = time.Parse(time.RFC3339Nano, taken)
			if d, err := time.ParseInLocation("2006-01-02", follow, time.Local); err == nil {
				w.FollowUp = &d
			}
			items[sec] = append(items[sec], w)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return items, totals, err
		}
	}
	return items, totals, nil
}
