package clinic

import (
	"context"
	"path/filepath"
	"time"

	"dermal/internal/storage"
)

// WorkItem is one lesion on the clinic's worklist.
type WorkItem = storage.WorkItem

// Worklist is the clinic's day: follow-ups overdue, due today and due within the window,
// urgent or review results with no referral outcome yet, and results that could not be
// assessed (a lesion may be on several lists: each is a task).
type Worklist struct {
	Today    time.Time
	Overdue  []WorkItem
	DueToday []WorkItem
	Upcoming []WorkItem // due after today, within the window
	Awaiting []WorkItem // urgent or review, no referral outcome recorded
	// CannotAssess are saved results that assessed nothing (retake the photo; a plain photo
	// without a checklist): work until a later assessment of the lesion closes it, however
	// old, so that no lesion ends on "cannot assess" unseen.
	CannotAssess []WorkItem
	// Totals are the sections' sizes (storage.SectionOverdue…), also when fewer are listed.
	Totals [storage.Sections]int
}

// DefaultWorklistDays is how far ahead the worklist looks for follow-ups: this week.
const DefaultWorklistDays = 7

// Worklist sorts the lesions that need attention on the day of now; withinDays is how far
// ahead follow-ups are listed.
func (c *Clinic) Worklist(ctx context.Context, now time.Time, withinDays int) (Worklist, error) {
	return c.WorklistTop(ctx, now, withinDays, 0, nil)
}

// The worklist's sections, in order (Worklist.Totals is indexed by them).
const (
	SectionOverdue      = storage.SectionOverdue
	SectionToday        = storage.SectionToday
	SectionUpcoming     = storage.SectionUpcoming
	SectionAwaiting     = storage.SectionAwaiting
	SectionCannotAssess = storage.SectionCannotAssess
)

// WorklistPlace is an item's place in the worklist, for paging.
type WorklistPlace = storage.WorklistPlace

// WorklistTop is the worklist with at most perSection items in each section (0: all), the
// most urgent first, and every section's total (Worklist.Totals): what the window shows at
// 100,000 patients without reading every open item. after starts after that place (paging).
func (c *Clinic) WorklistTop(ctx context.Context, now time.Time, withinDays, perSection int, after *WorklistPlace) (Worklist, error) {
	return c.worklist(ctx, now, withinDays, perSection, after, true)
}

// WorklistPage is WorklistTop without the sections' totals, which a page does not show (at
// 100,000 patients counting them took more than the page).
func (c *Clinic) WorklistPage(ctx context.Context, now time.Time, withinDays, perSection int, after *WorklistPlace) (Worklist, error) {
	return c.worklist(ctx, now, withinDays, perSection, after, false)
}

func (c *Clinic) worklist(ctx context.Context, now time.Time, withinDays, perSection int, after *WorklistPlace, count bool) (Worklist, error) {
	y, m, d := now.Local().Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.Local)
	horizon := today.AddDate(0, 0, withinDays)
	items, totals, err := c.store.WorklistSections(ctx, storage.WorklistQuery{Today: today.Format("2006-01-02"), Horizon: horizon.Format("2006-01-02"),
		PerSection: perSection, After: after, Totals: count})
	if err != nil {
		return Worklist{}, err
	}
	if err := c.markHub(ctx, items[storage.SectionAwaiting]); err != nil {
		return Worklist{}, err
	}
	return Worklist{Today: today, Overdue: items[storage.SectionOverdue], DueToday: items[storage.SectionToday], Upcoming: items[storage.SectionUpcoming],
		Awaiting: items[storage.SectionAwaiting], CannotAssess: items[storage.SectionCannotAssess], Totals: totals}, nil
}

// markHub says, for the referrals awaiting their outcome, where each stands with the district
// hub: queued, sent and awaiting the specialist's reply, or failing and why.
func (c *Clinic) markHub(ctx context.Context, items []WorkItem) error {
	var ids []AssessmentID
	for _, it := range items {
		if it.Referred {
			ids = append(ids, it.Assessment)
		}
	}
	states, err := c.store.HubStates(ctx, ids)
	if err != nil {
		return err
	}
	for i, it := range items {
		st, ok := states[it.Assessment]
		switch {
		case !ok:
		case st.SentAt != nil:
			items[i].Hub = storage.HubSent
		case st.LastError != "":
			items[i].Hub, items[i].HubError = storage.HubFailed, st.LastError
		default:
			items[i].Hub = storage.HubQueued
		}
	}
	return nil
}

// DaysBetween is the number of calendar days from a to b (negative when b is earlier).
func DaysBetween(a, b time.Time) int {
	ad := time.Date(a.Year(), a.Month(), a.Day(), 12, 0, 0, 0, time.UTC)
	bd := time.Date(b.Year(), b.Month(), b.Day(), 12, 0, 0, 0, time.UTC)
	return int(bd.Sub(ad).Hours() / 24)
}

// Referral is a referral and its outcome.
type Referral = storage.Referral

// Outcome sources.
const (
	OutcomeSpecialist = storage.OutcomeSpecialist
	OutcomeHistology  = storage.OutcomeHistology
)

// RecordOutcome records what the specialist or histology found for an assessment.
func (c *Clinic) RecordOutcome(ctx context.Context, a AssessmentID, source, diagnosis string, date time.Time) (Referral, error) {
	return c.store.RecordOutcome(ctx, a, source, diagnosis, date)
}

// Referrals lists an assessment's referrals with their outcomes.
func (c *Clinic) Referrals(ctx context.Context, a AssessmentID) ([]Referral, error) {
	return c.store.Referrals(ctx, a)
}

// ClinicProfile is the clinic as reports name it.
type ClinicProfile = storage.ClinicProfile

// Profile returns the clinic's name, address and phone.
func (c *Clinic) Profile(ctx context.Context) (ClinicProfile, error) {
	return c.store.ClinicProfile(ctx)
}

// SetProfile stores the clinic's name, address and phone.
func (c *Clinic) SetProfile(ctx context.Context, p ClinicProfile) error {
	if err := c.requireAdmin("changing the clinic's details"); err != nil {
		return err
	}
	return c.store.SetClinicProfile(ctx, p)
}

// DataFolder is the folder of the records in use.
func (c *Clinic) DataFolder() string { return filepath.Dir(c.store.Path()) }
