package cli

import (
	"context"
	"flag"
	"fmt"
	"os"

	"dermal/internal/locale"
	"dermal/internal/storage"
)

// runExport writes an assessment's referral as DICOM files: dermal export --dicom DIR
// --assessment ID [--lang en|vi].
func runExport(env *Env, args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	dir := fs.String("dicom", "", "the folder the referral's DICOM files are written into (photo.dcm, letter.dcm, result.dcm)")
	id := fs.Int64("assessment", 0, "the referred assessment")
	lang := fs.String("lang", locale.Supported(firstNonEmpty(os.Getenv("LANGUAGE"), os.Getenv("LANG"))), "the letter's language: en or vi")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if *dir == "" || *id <= 0 || fs.NArg() != 0 {
		return fmt.Errorf("%w: export --dicom DIR --assessment ID [--lang en|vi]", ErrUsage)
	}
	if locale.Supported(*lang) != *lang {
		return fmt.Errorf("%w: --lang %q: letters are in en or vi", ErrUsage, *lang)
	}
	c, closeClinic, err := env.openClinic()
	if err != nil {
		return err
	}
	defer closeClinic()
	paths, err := c.ExportDICOM(context.Background(), storage.AssessmentID(*id), *dir, *lang)
	for _, p := range paths {
		fmt.Fprintln(env.Stdout, "wrote", p)
	}
	return err
}
