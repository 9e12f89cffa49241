package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"dermal/internal/locale"
	"dermal/internal/storage"
)

// SpecialistReply is a specialist's answer to a referral, as a page any PDF viewer opens:
// it travels in the referral's DICOM study beside the structured reply.
type SpecialistReply struct {
	Language   string
	Answered   time.Time
	Program    string
	Patient    string // the name as the hub has it
	PatientID  string
	Clinic     string
	Specialist string
	Diagnosis  string
	Plan       string // in the reply's language already
	Advice     string
}

// RenderReply writes the specialist's reply as a one-page PDF.
func RenderReply(w io.Writer, s SpecialistReply) error {
	if strings.TrimSpace(s.Diagnosis) == "" || strings.TrimSpace(s.Specialist) == "" {
		return fmt.Errorf("%w: a reply needs the diagnosis and the specialist's name", ErrIncomplete)
	}
	r := &renderer{c: Case{Language: s.Language, Printed: s.Answered, Program: s.Program, Patient: storage.Patient{FullName: s.Patient}},
		lang: locale.Supported(s.Language), pdf: fpdf.New("P", "mm", "A4", ""), widths: map[int]bool{}}
	r.setup(r.t("Specialist's reply"))
	p := r.pdf
	p.AddPage()
	p.SetFont(font, "B", 15)
	p.CellFormat(contentW, 8, r.t("Specialist's reply"), "", 1, "L", false, 0, "")
	p.Ln(2)
	lw := 45.0
	r.row(lw, r.t("Patient"), text(s.Patient)+" ("+text(s.PatientID)+")")
	r.row(lw, r.t("Clinic"), text(s.Clinic))
	r.row(lw, r.t("Date"), locale.Date(r.lang, s.Answered.Local()))
	p.Ln(2)
	r.row(lw, r.t("Diagnosis"), text(s.Diagnosis))
	r.row(lw, r.t("Plan"), text(s.Plan))
	if s.Advice != "" {
		r.row(lw, r.t("Advice"), text(s.Advice))
	}
	p.Ln(2)
	r.row(lw, r.t("Specialist"), text(s.Specialist))
	if err := p.Error(); err != nil {
		return fmt.Errorf("rendering the reply: %w", err)
	}
	var buf bytes.Buffer
	if err := p.Output(&buf); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}
