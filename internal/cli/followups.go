package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"
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
	cursor   string
}

// FollowupsOutput is `dermal followups --json`.
type FollowupsOutput struct {
	Today      string         `json:"today"`
	WithinDays int            `json:"within_days"`
	Items      []FollowupItem `json:"items"`
	// Next is the --after of the next page (--limit); "" when this page is the last.
	Next string `json:"next,omitempty"`
}

// followupCursor is an item's place in the list: its section's rank, then the order it is
// sorted on in the section and its assessment. A page starts after it, so an item closed
// between two pages moves nothing.
func followupCursor(section int, order string, id storage.AssessmentID) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d|%s|%d", section, order, id))
}

func parseFollowupCursor(c string) (section int, order string, id storage.AssessmentID, err error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	parts := strings.Split(string(b), "|")
	if err != nil || len(parts) != 3 {
		return 0, "", 0, fmt.Errorf("%w: --after %q is not a value from a page's \"next\"", ErrUsage, c)
	}
	section, err1 := strconv.Atoi(parts[0])
	n, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, "", 0, fmt.Errorf("%w: --after %q is not a value from a page's \"next\"", ErrUsage, c)
	}
	return section, parts[1], storage.AssessmentID(n), nil
}

// afterCursor reports whether an item sorts after the cursor's.
func afterCursor(section int, order string, id storage.AssessmentID, cs int, co string, ci storage.AssessmentID) bool {
	if section != cs {
		return section > cs
	}
	if order != co {
		return order > co
	}
	return id > ci
}

func runFollowups(env *Env, args []string) error {
	fs := flag.NewFlagSet("followups", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	within := fs.Int("within", clinic.DefaultWorklistDays, "list follow-ups due within this many days")
	limit := fs.Int("limit", 0, "at most this many items (0: all); the JSON's \"next\" is the --after of the next page")
	after := fs.String("after", "", "start after this place in the list (a page's \"next\")")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() != 0 || *within < 0 || *within > 3660 || *limit < 0 {
		return fmt.Errorf("%w: followups [--json] [--within DAYS] [--limit N] [--after NEXT] (DAYS from 0 to 3660)", ErrUsage)
	}
	var cs int
	var co string
	var ci storage.AssessmentID
	if *after != "" {
		var err error
		if cs, co, ci, err = parseFollowupCursor(*after); err != nil {
			return err
		}
	}
	c, closeRecords, err := env.openRecords()
	if err != nil {
		return err
	}
	defer closeRecords()
	// A page reads only its own items from the records (at 100,000 patients: a few hundred,
	// not every open item); one more than the page says whether another follows.
	var w clinic.Worklist
	if *limit > 0 {
		var place *clinic.WorklistPlace
		if *after != "" {
			place = &clinic.WorklistPlace{Section: cs, Order: co, Assessment: ci}
		}
		w, err = c.WorklistPage(context.Background(), time.Now(), *within, *limit+1, place)
	} else {
		w, err = c.Worklist(context.Background(), time.Now(), *within)
	}
	if err != nil {
		return err
	}
	out := FollowupsOutput{Today: w.Today.Format("2006-01-02"), WithinDays: *within, Items: []FollowupItem{}}
sections:
	for si, sec := range []struct {
		name  string
		items []clinic.WorkItem
	}{{"overdue", w.Overdue}, {"today", w.DueToday}, {"upcoming", w.Upcoming}, {"awaiting_outcome", w.Awaiting}, {"cannot_assess", w.CannotAssess}} {
		for _, it := range sec.items {
			if *after != "" && !afterCursor(si, it.Order, it.Assessment, cs, co, ci) {
				continue
			}
			if *limit > 0 && len(out.Items) == *limit {
				last := out.Items[len(out.Items)-1]
				out.Next = last.cursor
				break sections
			}
			f := FollowupItem{Section: sec.name, PatientID: it.Patient.ID, PatientCode: it.Patient.Code, Name: it.Patient.FullName, Phone: it.Patient.Phone,
				LesionID: it.Lesion.ID, BodySite: it.Lesion.BodySite, AssessmentID: it.Assessment, TakenAt: it.TakenAt.Format(time.RFC3339),
				RiskTier: it.RiskTier, Referred: it.Referred}
			if it.FollowUp != nil {
				f.FollowUp = it.FollowUp.Format("2006-01-02")
				f.DaysLate = clinic.DaysBetween(*it.FollowUp, w.Today)
			}
			f.cursor = followupCursor(si, it.Order, it.Assessment)
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
	if len(out.Items) == 0 && *after == "" {
		fmt.Fprintf(env.Stdout, "nothing due within %d days, no referral awaiting its outcome, and no result left unassessed\n", *within)
	}
	if out.Next != "" {
		fmt.Fprintf(env.Stdout, "more: dermal followups --limit %d --after %s\n", *limit, out.Next)
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
