package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"dermal/internal/clinic"
	"dermal/internal/storage"
)

// FollowupItem is one line of `dermal followups --json`.
type FollowupItem struct {
	Section      string               `json:"section"` // overdue, today, upcoming, awaiting_outcome, cannot_assess
	PatientID    storage.PatientID    `json:"patient_id"`
	PatientCode  string               `json:"patient_code"`
	Name         string               `json:"name"`
	Phone        string               `json:"phone"`
	LesionID     storage.LesionID     `json:"lesion_id"`
	BodySite     string               `json:"body_site"`
	AssessmentID storage.AssessmentID `json:"assessment_id"`
	TakenAt      string               `json:"taken_at"`
	RiskTier     string               `json:"risk_tier"`
	FollowUp     string               `json:"follow_up,omitempty"`
	// DaysLate is how many days past the follow-up date (negative: days until it).
	DaysLate int  `json:"days_late"`
	Referred bool `json:"referred"`
}

// FollowupsOutput is `dermal followups --json`.
type FollowupsOutput struct {
	Today      string         `json:"today"`
	WithinDays int            `json:"within_days"`
	Items      []FollowupItem `json:"items"`
}

func runFollowups(env *Env, args []string) error {
	fs := flag.NewFlagSet("followups", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	within := fs.Int("within", clinic.DefaultWorklistDays, "list follow-ups due within this many days")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() != 0 || *within < 0 || *within > 3660 {
		return fmt.Errorf("%w: followups [--json] [--within DAYS] (DAYS from 0 to 3660)", ErrUsage)
	}
	c, closeRecords, err := env.openRecords()
	if err != nil {
		return err
	}
	defer closeRecords()
	w, err := c.Worklist(context.Background(), time.Now(), *within)
	if err != nil {
		return err
	}
	out := FollowupsOutput{Today: w.Today.Format("2006-01-02"), WithinDays: *within, Items: []FollowupItem{}}
	for _, sec := range []struct {
		name  string
		items []clinic.WorkItem
	}{{"overdue", w.Overdue}, {"today", w.DueToday}, {"upcoming", w.Upcoming}, {"awaiting_outcome", w.Awaiting}, {"cannot_assess", w.CannotAssess}} {
		for _, it := range sec.items {
			f := FollowupItem{Section: sec.name, PatientID: it.Patient.ID, PatientCode: it.Patient.Code, Name: it.Patient.FullName, Phone: it.Patient.Phone,
				LesionID: it.Lesion.ID, BodySite: it.Lesion.BodySite, AssessmentID: it.Assessment, TakenAt: it.TakenAt.Format(time.RFC3339),
				RiskTier: it.RiskTier, Referred: it.Referred}
			if it.FollowUp != nil {
				f.FollowUp = it.FollowUp.Format("2006-01-02")
				f.DaysLate = clinic.DaysBetween(*it.FollowUp, w.Today)
			}
			out.Items = append(out.Items, f)
		}
	}
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(out)
	}
	titles := map[string]string{"overdue": "Overdue follow-ups", "today": "Due today", "upcoming": fmt.Sprintf("Due within %d days", *within),
		"awaiting_outcome": "Urgent or review, no referral outcome yet", "cannot_assess": "Could not be assessed: assess again"}
	section := ""
	for _, it := range out.Items {
		if it.Section != section {
			section = it.Section
			fmt.Fprintf(env.Stdout, "%s:\n", titles[section])
		}
		when := it.FollowUp
		if section == "awaiting_outcome" || section == "cannot_assess" {
			when = it.TakenAt[:10] + " " + it.RiskTier
		}
		fmt.Fprintf(env.Stdout, "  %-10s %s %s  lesion %d (%s)  assessment %d  %s\n", when, terminalSafe(it.PatientCode), terminalSafe(it.Name), it.LesionID, it.BodySite, it.AssessmentID, terminalSafe(it.Phone))
	}
	if len(out.Items) == 0 {
		fmt.Fprintf(env.Stdout, "nothing due within %d days, no referral awaiting its outcome, and no result left unassessed\n", *within)
	}
	return nil
}

func runOutcome(env *Env, args []string) error {
	fs := flag.NewFlagSet("outcome", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	id := fs.Int64("assessment", 0, "the assessment that was referred")
	source := fs.String("source", clinic.OutcomeHistology, "who made the diagnosis: specialist or histology")
	diagnosis := fs.String("diagnosis", "", "the specialist's or histology diagnosis")
	date := fs.String("date", time.Now().Format("2006-01-02"), "the date of the diagnosis, YYYY-MM-DD")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	d, err := time.ParseInLocation("2006-01-02", *date, time.Local)
	if *id <= 0 || *diagnosis == "" || fs.NArg() != 0 || err != nil {
		return fmt.Errorf("%w: outcome --assessment ID --diagnosis TEXT [--source specialist|histology] [--date YYYY-MM-DD]", ErrUsage)
	}
	c, closeRecords, err := env.openRecords()
	if err != nil {
		return err
	}
	defer closeRecords()
	r, err := c.RecordOutcome(context.Background(), storage.AssessmentID(*id), *source, *diagnosis, d)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "recorded the %s outcome of assessment %d: %s (%s)\n", r.OutcomeSource, r.AssessmentID, terminalSafe(r.OutcomeDiagnosis), r.OutcomeDate.Format("2006-01-02"))
	return nil
}
