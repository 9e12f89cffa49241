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
	clinicName := fs.String("clinic", os.Getenv("DERMAL_CLINIC"), "clinic name printed at the top (default $DERMAL_CLINIC)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if *id <= 0 || *out == "" || fs.NArg() != 0 {
		return fmt.Errorf("%w: report --assessment ID [--history] [--lang en|vi] [--clinic NAME] -o FILE.pdf", ErrUsage)
	}
	if locale.Supported(*lang) != *lang {
		return fmt.Errorf("%w: --lang %q: reports are in en or vi", ErrUsage, *lang)
	}
	c, closeClinic, err := env.openClinic()
	if err != nil {
		return err
	}
	defer closeClinic()
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
