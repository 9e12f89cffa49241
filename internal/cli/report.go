package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"dermal/internal/clinic"
	"dermal/internal/locale"
	"dermal/internal/storage"
)

func runReport(env *Env, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	id := fs.Int64("assessment", 0, "the assessment to report")
	history := fs.Bool("history", false, "add the earlier assessments of the same lesion")
	out := fs.String("o", "", "the PDF file to write")
	lang := fs.String("lang", locale.Supported(firstNonEmpty(os.Getenv("LANGUAGE"), os.Getenv("LANG"))), "report language: en or vi")
	clinicName := fs.String("clinic", os.Getenv("DERMAL_CLINIC"), "clinic name printed at the top (default: the clinic's name set with dermal clinic, else $DERMAL_CLINIC)")
	referral := fs.Bool("referral", false, "write a referral letter instead of the case report (with --to)")
	to := fs.String("to", "", "referral letter: whom the patient is referred to (a specialist, a hospital department)")
	reason := fs.String("reason", "", "referral letter: the reason (default: the result and its advice)")
	clinician := fs.String("clinician", firstNonEmpty(os.Getenv("DERMAL_CLINICIAN"), os.Getenv("USER"), os.Getenv("USERNAME")), "referral letter: the referring clinician's name (default $DERMAL_CLINICIAN, else the login name)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if *id <= 0 || *out == "" || fs.NArg() != 0 || *referral && *to == "" || !*referral && (*to != "" || *reason != "") {
		return fmt.Errorf("%w: report --assessment ID [--history] [--lang en|vi] [--clinic NAME] -o FILE.pdf, or report --assessment ID --referral --to NAME [--reason TEXT] [--clinician NAME] -o FILE.pdf", ErrUsage)
	}
	if locale.Supported(*lang) != *lang {
		return fmt.Errorf("%w: --lang %q: reports are in en or vi", ErrUsage, *lang)
	}
	c, closeClinic, err := env.openClinic()
	if err != nil {
		return err
	}
	defer closeClinic()
	if *referral {
		req := clinic.ReferralRequest{AssessmentID: storage.AssessmentID(*id), To: *to, Reason: *reason, Clinician: *clinician, Language: *lang, Printed: time.Now()}
		if err := c.WriteReferral(context.Background(), req, *out); err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, "wrote", *out)
		return nil
	}
	req := clinic.ReportRequest{AssessmentID: storage.AssessmentID(*id), History: *history, Language: *lang, Clinic: *clinicName, Printed: time.Now()}
	if err := c.WriteReport(context.Background(), req, *out); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "wrote", *out)
	return nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// runClinic shows or sets the clinic's name, address and phone (printed on reports and
// referral letters).
func runClinic(env *Env, args []string) error {
	fs := flag.NewFlagSet("clinic", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	name := fs.String("name", "", "the clinic's name")
	address := fs.String("address", "", "the clinic's address")
	phone := fs.String("phone", "", "the clinic's phone")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return fmt.Errorf("%w: clinic [--name NAME] [--address ADDRESS] [--phone PHONE]", ErrUsage)
	}
	c, closeRecords, err := env.openRecords()
	if err != nil {
		return err
	}
	defer closeRecords()
	ctx := context.Background()
	p, err := c.Profile(ctx)
	if err != nil {
		return err
	}
	set := false
	fs.Visit(func(f *flag.Flag) {
		set = true
		switch f.Name {
		case "name":
			p.Name = *name
		case "address":
			p.Address = *address
		case "phone":
			p.Phone = *phone
		}
	})
	if set {
		if err := c.SetProfile(ctx, p); err != nil {
			return err
		}
		if p, err = c.Profile(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintf(env.Stdout, "name:    %s\naddress: %s\nphone:   %s\n", terminalSafe(p.Name), terminalSafe(p.Address), terminalSafe(p.Phone))
	return nil
}
