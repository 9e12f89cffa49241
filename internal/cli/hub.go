package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"dermal/internal/clinic"
	"dermal/internal/locale"
	"dermal/internal/storage"
)

// ErrHubFailing means a sync left referrals unsent (hub sync exits 1).
var ErrHubFailing = errors.New("some referrals are not on the district hub yet")

// runHub is the teleconsultation's command line: dermal hub set|status|sync|queue|inbox|reply.
func runHub(env *Env, args []string) error {
	usage := fmt.Errorf("%w: hub set --url URL --user NAME --password-file F [--ca-cert FILE] | status [--json] | sync [--json] | queue --assessment ID [--lang en|vi] | inbox [--json] [--all] | reply --study UID --diagnosis TEXT [--advice TEXT] [--see-within DAYS] [--biopsy]", ErrUsage)
	if len(args) == 0 {
		return usage
	}
	fs := flag.NewFlagSet("hub "+args[0], flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	asJSON := fs.Bool("json", false, "JSON output")
	ctx := context.Background()
	switch args[0] {
	case "set":
		rawURL := fs.String("url", "", "the hub's DICOMweb address, such as https://hub.district/dicom-web/ (the district's IT officer gives it)")
		user := fs.String("user", "", "this clinic's user name on the hub")
		pwFile := fs.String("password-file", "", "a file with this clinic's password on the hub (only its owner may read it)")
		caFile := fs.String("ca-cert", "", "the district's certificate authority (PEM), when the hub's certificate is the district's own")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 || *rawURL == "" || *user == "" || *pwFile == "" {
			return usage
		}
		pw, err := ReadSecretFile(*pwFile)
		if err != nil {
			return err
		}
		var ca []byte
		if *caFile != "" {
			if ca, err = os.ReadFile(*caFile); err != nil {
				return fmt.Errorf("reading the district's certificate: %w", err)
			}
		}
		c, closeClinic, err := env.openClinic()
		if err != nil {
			return err
		}
		defer closeClinic()
		if err := c.SetHub(ctx, clinic.HubSettings{URL: *rawURL, User: *user, Password: pw, CACert: string(ca)}); err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, "the district hub is", *rawURL, "as", *user)
		return nil
	case "status":
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 {
			return usage
		}
		c, closeClinic, err := env.openClinic()
		if err != nil {
			return err
		}
		defer closeClinic()
		st, err := c.HubStatus(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			type failing struct {
				Assessment storage.AssessmentID `json:"assessment"`
				Patient    string               `json:"patient"`
				Attempts   int                  `json:"attempts"`
				Error      string               `json:"error"`
			}
			out := struct {
				URL            string     `json:"url"`
				User           string     `json:"user"`
				Queued         int        `json:"queued"`
				Sent           int        `json:"sent"`
				Failed         []failing  `json:"failed"`
				Replies        int        `json:"replies"`
				LastReplyCheck *time.Time `json:"last_reply_check"`
			}{URL: st.URL, User: st.User, Queued: st.Queued, Sent: st.Sent, Failed: []failing{}, Replies: st.Replies, LastReplyCheck: st.LastReplyCheck}
			for _, f := range st.Failing {
				out.Failed = append(out.Failed, failing{f.AssessmentID, f.PatientCode, f.Attempts, f.LastError})
			}
			return json.NewEncoder(env.Stdout).Encode(out)
		}
		fmt.Fprintf(env.Stdout, "hub %s as %s: %d queued, %d sent, %d failing, %d replies\n", st.URL, st.User, st.Queued, st.Sent, len(st.Failing), st.Replies)
		for _, f := range st.Failing {
			fmt.Fprintf(env.Stdout, "  assessment %d (%s), %d tries: %s\n", f.AssessmentID, f.PatientCode, f.Attempts, f.LastError)
		}
		if st.LastReplyCheck != nil {
			fmt.Fprintln(env.Stdout, "replies last looked for", st.LastReplyCheck.Local().Format("2006-01-02 15:04"))
		}
		return nil
	case "sync":
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 {
			return usage
		}
		c, closeClinic, err := env.openClinic()
		if err != nil {
			return err
		}
		defer closeClinic()
		res, err := c.SyncHub(ctx, false, slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
		if *asJSON {
			type failed struct {
				Assessment storage.AssessmentID `json:"assessment"`
				Patient    string               `json:"patient"`
				Error      string               `json:"error"`
			}
			type reply struct {
				Assessment storage.AssessmentID `json:"assessment"`
				Patient    string               `json:"patient"`
				Reply      string               `json:"reply"`
			}
			out := struct {
				Sent      int      `json:"sent"`
				Instances int      `json:"instances"`
				Failed    []failed `json:"failed"`
				Replies   []reply  `json:"replies"`
			}{Sent: res.Sent, Instances: res.Instances, Failed: []failed{}, Replies: []reply{}}
			for _, f := range res.Failed {
				out.Failed = append(out.Failed, failed{f.AssessmentID, f.PatientCode, f.LastError})
			}
			for _, r := range res.Replies {
				out.Replies = append(out.Replies, reply{r.Assessment, r.Patient, r.Summary})
			}
			json.NewEncoder(env.Stdout).Encode(out)
		} else {
			fmt.Fprintf(env.Stdout, "%d referrals sent (%d instances), %d failing, %d replies came home\n", res.Sent, res.Instances, len(res.Failed), len(res.Replies))
			for _, f := range res.Failed {
				fmt.Fprintf(env.Stdout, "  not sent: assessment %d (%s): %s\n", f.AssessmentID, f.PatientCode, f.LastError)
			}
			for _, r := range res.Replies {
				fmt.Fprintf(env.Stdout, "  reply for assessment %d (%s): %s\n", r.Assessment, r.Patient, r.Summary)
			}
		}
		if err != nil {
			return err
		}
		if len(res.Failed) > 0 {
			return fmt.Errorf("%w: %d failing", ErrHubFailing, len(res.Failed))
		}
		return nil
	case "queue":
		id := fs.Int64("assessment", 0, "the referred assessment")
		lang := fs.String("lang", locale.Supported(firstNonEmpty(os.Getenv("LANGUAGE"), os.Getenv("LANG"))), "the letter's language: en or vi")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 || *id <= 0 {
			return usage
		}
		c, closeClinic, err := env.openClinic()
		if err != nil {
			return err
		}
		defer closeClinic()
		if err := c.QueueForHub(ctx, storage.AssessmentID(*id), *lang); err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, "queued for the district hub: assessment", *id)
		return nil
	case "inbox":
		all := fs.Bool("all", false, "also the referrals already answered")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 {
			return usage
		}
		c, closeClinic, err := env.openClinic()
		if err != nil {
			return err
		}
		defer closeClinic()
		cases, err := c.Inbox(ctx, *all)
		if err != nil {
			return err
		}
		if *asJSON {
			type row struct {
				Study    string    `json:"study"`
				Patient  string    `json:"patient"`
				ID       string    `json:"patient_id"`
				Clinic   string    `json:"clinic"`
				Tier     string    `json:"tier"`
				Referred time.Time `json:"referred"`
				Replied  bool      `json:"replied"`
			}
			out := []row{}
			for _, ic := range cases {
				out = append(out, row{ic.StudyUID, ic.Patient, ic.PatientID, ic.Clinic, ic.Tier, ic.Referred, ic.Replied})
			}
			return json.NewEncoder(env.Stdout).Encode(out)
		}
		if len(cases) == 0 {
			fmt.Fprintln(env.Stdout, "no referrals wait for a reply")
		}
		for _, ic := range cases {
			fmt.Fprintf(env.Stdout, "%-7s %s  %s (%s, %s)  %s\n", ic.Tier, ic.Referred.Format("2006-01-02 15:04"), ic.Patient, ic.PatientID, ic.Clinic, ic.StudyUID)
		}
		return nil
	case "reply":
		study := fs.String("study", "", "the referral's study UID (from hub inbox)")
		diagnosis := fs.String("diagnosis", "", "the specialist's diagnosis")
		advice := fs.String("advice", "", "advice to the clinic")
		within := fs.Int("see-within", 0, "see the patient at the district hospital within this many days (0: manage locally)")
		biopsy := fs.Bool("biopsy", false, "refer the patient for a biopsy")
		lang := fs.String("lang", locale.Supported(firstNonEmpty(os.Getenv("LANGUAGE"), os.Getenv("LANG"))), "the language of the reply's page: en or vi")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 || *study == "" || *diagnosis == "" || *within < 0 {
			return usage
		}
		c, closeClinic, err := env.openClinic()
		if err != nil {
			return err
		}
		defer closeClinic()
		uid, err := c.Reply(ctx, clinic.ReplyRequest{StudyUID: *study, Diagnosis: *diagnosis, Advice: *advice, SeeWithin: *within, Biopsy: *biopsy, Language: *lang})
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, "reply stored on the hub:", uid)
		return nil
	}
	return usage
}
