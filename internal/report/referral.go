package report

import (
	"bytes"
	"fmt"
	"image"
	"io"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"dermal/internal/inference"
	"dermal/internal/locale"
	"dermal/internal/storage"
	"dermal/internal/triage"
)

// Letter is a referral letter: from the clinic (its address and phone) to a specialist,
// about one assessment. Page 1 is the letter; page 2 repeats the patient's identifiers above
// a reply slip for the specialist's diagnosis, so the answer finds its way back.
type Letter struct {
	Language  string
	Printed   time.Time
	Clinic    storage.ClinicProfile
	Clinician string // the referring clinician's name
	Program   string
	Patient   storage.Patient
	Lesion    storage.Lesion
	// Assessment is the referred assessment; Photo its stored photo.
	Assessment storage.Assessment
	Photo      image.Image
	LabelNames map[string]string
	Malignant  []string
	ReferredTo string
	Reason     string // "" : the result's headline and advice
	// Earlier are the lesion's earlier assessments, oldest first: a follow-up visit's letter
	// also says what was recorded before (diameter, checklists, diagnosis), which the visit
	// itself may not repeat.
	Earlier []storage.Assessment
}

// RenderLetter writes the referral letter as PDF. It refuses a letter that cannot reach
// anyone: no addressee, no referring clinic's address or phone, or no patient.
func RenderLetter(w io.Writer, l Letter) error {
	var missing []string
	if strings.TrimSpace(l.ReferredTo) == "" {
		missing = append(missing, "whom the patient is referred to")
	}
	if !l.Clinic.Complete() {
		missing = append(missing, "the clinic's name, address and phone (Settings, or dermal clinic)")
	}
	if l.Patient.FullName == "" || l.Photo == nil || l.Assessment.RiskTier == "" {
		missing = append(missing, "the patient, the photo and the result")
	}
	if strings.TrimSpace(l.Clinician) == "" {
		missing = append(missing, "the referring clinician's name")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: a referral letter needs %s", ErrIncomplete, strings.Join(missing, "; "))
	}
	if l.Printed.IsZero() {
		l.Printed = time.Now()
	}
	r := &renderer{c: Case{Language: l.Language, Printed: l.Printed, Program: l.Program, Patient: l.Patient}, lang: locale.Supported(l.Language),
		pdf: fpdf.New("P", "mm", "A4", ""), widths: map[int]bool{}}
	r.setup(r.t("Referral letter"))
	if err := r.letter(l); err != nil {
		return err
	}
	r.replySlip(l)
	if err := r.pdf.Error(); err != nil {
		return fmt.Errorf("rendering the referral letter: %w", err)
	}
	var buf bytes.Buffer
	if err := r.pdf.Output(&buf); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// row prints a label and a value that wraps, across the page.
func (r *renderer) row(labelW float64, label, value string) { r.rowIn(contentW, labelW, label, value) }

// rowIn prints a label and a value that wraps, within width.
func (r *renderer) rowIn(width, labelW float64, label, value string) {
	p := r.pdf
	p.SetFont(font, "", 9)
	p.SetTextColor(90, 90, 90)
	p.CellFormat(labelW, 5.2, label, "", 0, "L", false, 0, "")
	p.SetTextColor(0, 0, 0)
	p.SetFont(font, "B", 10)
	if value == "" {
		value = "—"
	}
	p.MultiCell(width-labelW, 5.2, value, "", "L", false)
}

func (r *renderer) clinicHeader(c storage.ClinicProfile) {
	p := r.pdf
	p.SetFont(font, "B", 14)
	p.CellFormat(contentW*0.65, 7, text(c.Name), "", 0, "L", false, 0, "")
	p.SetFont(font, "", 9)
	p.CellFormat(contentW*0.35, 7, r.t("Printed")+": "+locale.DateTime(r.lang, r.c.Printed), "", 1, "R", false, 0, "")
	p.SetFont(font, "", 9)
	p.MultiCell(contentW, 4.5, text(c.Address)+" · "+r.t("Phone")+": "+text(c.Phone), "", "L", false)
}

// identifiers prints who the patient is: both pages carry these.
func (r *renderer) identifiers(pt storage.Patient, labelW float64, at time.Time) {
	sex := map[string]string{"F": r.t("Female"), "M": r.t("Male")}[pt.Sex]
	if sex == "" {
		sex = r.t("not recorded")
	}
	age := r.t("not recorded")
	if a := pt.AgeAt(at); a > 0 {
		age = fmt.Sprintf("%d (%s %d)", a, r.t("born"), pt.BirthYear)
	}
	r.row(labelW, r.t("Name"), text(pt.FullName))
	r.row(labelW, r.t("Sex")+" · "+r.t("Age"), sex+" · "+age)
	r.row(labelW, r.t("Clinic code"), text(pt.Code))
	r.row(labelW, r.t("Health insurance (BHYT) no."), text(pt.InsuranceNumber))
	r.row(labelW, r.t("ID card no."), text(pt.IDNumber))
	r.row(labelW, r.t("Address"), text(pt.Address))
	r.row(labelW, r.t("Phone"), text(pt.Phone))
	r.row(labelW, r.t("Consent"), r.consent(pt))
}

func (r *renderer) letterLabelWidth() float64 {
	p := r.pdf
	p.SetFont(font, "", 9)
	w := 30.0
	for _, k := range []string{"Referred to", "Urgency", "Reason", "Name", "Clinic code", "Health insurance (BHYT) no.", "ID card no.", "Address", "Phone", "Consent",
		"Body site", "Photo taken", "Result", "Photo type", "Diameter (mm)", "7-point checklist", "ABCDE", "Diagnosis", "Referring clinician"} {
		w = max(w, p.GetStringWidth(r.t(k))+3)
	}
	return min(w, 60)
}

func (r *renderer) letter(l Letter) error {
	p := r.pdf
	a := l.Assessment
	r.clinicHeader(l.Clinic)
	p.Ln(2)
	p.SetFont(font, "B", 15)
	p.CellFormat(contentW, 8, r.t("Referral letter"), "", 1, "L", false, 0, "")
	lw := r.letterLabelWidth()
	r.row(lw, r.t("Referred to"), text(l.ReferredTo))
	tier := inference.Tier(a.RiskTier)
	cr, cg, cb := tierColour(tier)
	p.SetFont(font, "", 9)
	p.SetTextColor(90, 90, 90)
	p.CellFormat(lw, 6, r.t("Urgency"), "", 0, "L", false, 0, "")
	p.SetFillColor(cr, cg, cb)
	p.SetTextColor(255, 255, 255)
	p.SetFont(font, "B", 10)
	p.CellFormat(contentW-lw, 6, " "+r.t("tier."+a.RiskTier)+" — "+r.t("timeframe."+a.RiskTier), "", 1, "L", true, 0, "")
	p.SetTextColor(0, 0, 0)
	headline := triage.Headline(r.lang, l.LabelNames, l.Malignant, tier, triage.Driver(a.TierDriver), a.Probabilities, a.SevenPoint, a.Dermoscopy)
	reason := text(l.Reason)
	if reason == "" {
		reason = headline + ". " + r.t(triage.AdviceKey(tier, triage.Driver(a.TierDriver), a.Dermoscopy != nil))
	}
	r.row(lw, r.t("Reason"), reason)

	r.heading(r.t("Patient"))
	r.identifiers(l.Patient, lw, a.TakenAt)

	r.heading(r.t("Lesion"))
	site := r.t("site." + l.Lesion.BodySite)
	if d := text(l.Lesion.SiteDetail); d != "" {
		site += " — " + d
	}
	y := p.GetY()
	const photoW = 52.0
	name, iw, ih, err := r.addImage(l.Photo, 600)
	if err != nil {
		return err
	}
	r.placeImage(name, iw, ih, marginL+contentW-photoW, y, photoW, photoW*3/4)
	// The rows run beside the photo.
	p.SetRightMargin(marginR + photoW + 4)
	rowW := contentW - photoW - 4
	narrow := func(label, value string) { r.rowIn(rowW, lw, label, value) }
	kind := a.PhotoType
	if kind == "" {
		kind = string(triage.Dermoscopic)
	}
	diameter := ""
	if a.DiameterMM != nil {
		diameter = locale.Decimal(r.lang, *a.DiameterMM, 1) + " mm"
	}
	narrow(r.t("Body site"), site)
	narrow(r.t("Photo taken"), locale.DateTime(r.lang, a.TakenAt.Local()))
	narrow(r.t("Photo type"), r.t("photo_type.short."+kind))
	narrow(r.t("Diameter (mm)"), diameter)
	narrow(r.t("Result"), headline)
	p.SetRightMargin(marginR)
	p.SetY(max(p.GetY(), y+photoW*3/4+2))
	if a.Dermoscopy != nil {
		r.row(lw, r.t("report.dermoscopy"), triage.DermoscopyText(r.lang, a.Dermoscopy))
	}
	r.row(lw, r.t("report.seven_point"), triage.SevenPointText(r.lang, a.SevenPoint))
	r.row(lw, r.t("ABCDE"), triage.ABCDEText(r.lang, a.ABCDE))
	r.row(lw, r.t("Diagnosis"), text(a.Diagnosis))
	r.row(lw, r.t("Notes"), text(a.Notes))
	if a.AssessedBy != "" {
		r.row(lw, r.t("Assessed by"), text(a.AssessedBy))
	}
	if len(l.Earlier) > 0 {
		r.heading(r.t("Earlier visits of this lesion"))
		for _, e := range l.Earlier {
			r.row(lw, locale.Date(r.lang, e.TakenAt.Local()), r.visitSummary(e))
		}
	}
	if a.PhotoType == string(triage.Plain) {
		p.SetFont(font, "B", 9)
		p.SetTextColor(150, 60, 0)
		p.MultiCell(contentW, 4.6, r.t("model.not_validated.letter"), "", "L", false)
		p.SetTextColor(0, 0, 0)
	}
	p.SetFont(font, "", 7.5)
	p.SetTextColor(90, 90, 90)
	p.MultiCell(contentW, 3.6, fmt.Sprintf("%s: %s · SHA-256 %s. %s", r.t("Model"), a.ModelName, a.ModelSHA256, r.t("disclaimer")), "", "L", false)
	p.SetTextColor(0, 0, 0)

	if p.GetY() > 297-18-22 {
		p.AddPage()
	}
	p.Ln(4)
	r.row(lw, r.t("Referring clinician"), text(l.Clinician))
	p.Ln(8)
	r.signLines(r.t("Signature"))
	return nil
}

// visitSummary is one earlier visit in a line: its result, and what the clinician recorded.
func (r *renderer) visitSummary(e storage.Assessment) string {
	parts := []string{r.t("tier." + e.RiskTier)}
	if e.DiameterMM != nil {
		parts = append(parts, r.t("Diameter (mm)")+": "+locale.Decimal(r.lang, *e.DiameterMM, 1))
	}
	if e.Dermoscopy != nil {
		parts = append(parts, r.t("report.dermoscopy")+": "+triage.DermoscopyText(r.lang, e.Dermoscopy))
	}
	if e.SevenPoint != nil {
		parts = append(parts, r.t("report.seven_point")+": "+triage.SevenPointText(r.lang, e.SevenPoint))
	}
	if e.ABCDE != nil {
		parts = append(parts, "ABCDE: "+triage.ABCDEText(r.lang, e.ABCDE))
	}
	if d := text(e.Diagnosis); d != "" {
		parts = append(parts, r.t("Diagnosis")+": "+d)
	}
	return strings.Join(parts, " · ")
}

// replySlip is page 2: the patient's identifiers again, and room for the specialist's answer.
func (r *renderer) replySlip(l Letter) {
	p := r.pdf
	p.AddPage()
	r.clinicHeader(l.Clinic)
	p.Ln(2)
	p.SetFont(font, "B", 13)
	p.CellFormat(contentW, 7, r.t("Reply to the referring clinic"), "", 1, "L", false, 0, "")
	p.SetFont(font, "", 9)
	p.MultiCell(contentW, 4.6, r.t("referral.reply_help"), "", "L", false)
	lw := r.letterLabelWidth()
	r.heading(r.t("Patient"))
	r.identifiers(l.Patient, lw, l.Assessment.TakenAt)
	r.row(lw, r.t("Referral"), fmt.Sprintf("%s · %s #%d", locale.Date(r.lang, r.c.Printed), r.t("assessment"), l.Assessment.ID))
	r.heading(r.t("Specialist's findings"))
	for _, label := range []string{r.t("Diagnosis"), r.t("Histology"), r.t("Treatment and follow-up")} {
		p.SetFont(font, "", 9)
		p.SetTextColor(90, 90, 90)
		p.CellFormat(contentW, 5, label, "", 1, "L", false, 0, "")
		p.SetTextColor(0, 0, 0)
		y := p.GetY() + 14
		p.SetDrawColor(170, 170, 170)
		p.Line(marginL, y, marginL+contentW, y)
		p.SetY(y + 3)
	}
	p.Ln(10)
	r.signLines(r.t("Specialist's name and signature"))
}
