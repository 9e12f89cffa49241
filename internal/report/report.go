// Package report renders case reports as A4 PDFs: one assessment, or an assessment with the
// earlier history of the same lesion. It lays out what it is given and does no analysis or
// database work; clinic/ gathers the data. Text is Unicode-NFC and set in the Noto Sans that
// Fyne's theme embeds, so Vietnamese diacritics print correctly.
package report

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"fyne.io/fyne/v2/theme"
	"github.com/disintegration/imaging"
	"github.com/go-pdf/fpdf"

	"dermal/internal/inference"
	"dermal/internal/locale"
	"dermal/internal/storage"
	"dermal/internal/triage"
)

// Visit is one assessment as the report shows it.
type Visit struct {
	Assessment storage.Assessment
	Photo      image.Image // the stored photo (required for the main visit)
	Overlay    image.Image // Grad-CAM overlay of the photo; nil when it could not be recomputed
	// OverlayNote says why there is no overlay (shown in its place).
	OverlayNote string
	Thumb       image.Image // for earlier visits
}

// Case is everything one report shows.
type Case struct {
	Language   string // "en" or "vi"
	Clinic     string
	Printed    time.Time // printed on the page and used as the PDF's creation date
	Patient    storage.Patient
	Lesion     storage.Lesion
	Labels     []string          // class codes in model order
	LabelNames map[string]string // English class names by code (translated when printed)
	Malignant  []string          // class codes counted as malignant (starred, drawn red)
	ModelName  string
	ModelSHA   string
	Program    string // the program and version that printed it ("Dermal 0.7.0"), in the footer
	// AuditHead is the audit trail's last sealed row when printed ("row 1234, 9f86d081…"; ""
	// for none): a trail later cut short no longer reaches what the paper says.
	AuditHead string
	Current   Visit
	Earlier   []Visit // earlier assessments of the same lesion, oldest first (history report)
	// Referrals are the current assessment's referrals with their outcomes (a specialist's
	// reply from the district hub among them).
	Referrals []storage.Referral
}

// ErrIncomplete is returned when a case lacks what every report must show.
var ErrIncomplete = errors.New("the report is missing required information")

// Photos are scaled so their long side is at most this many pixels (about 250 dpi at the
// printed 80 mm): sharp on paper, and the whole report stays well under 1.5 MB.
const photoMaxSide = 800

const (
	pageW, marginL, marginR = 210.0, 15.0, 15.0
	contentW                = pageW - marginL - marginR
	font                    = "NotoSans"
)

// Render writes the report as PDF to w.
func Render(w io.Writer, c Case) error {
	if c.Current.Photo == nil || c.Patient.FullName == "" || len(c.Labels) == 0 || c.Current.Assessment.Probabilities == nil {
		return fmt.Errorf("%w: a report needs the patient, the photo and the result", ErrIncomplete)
	}
	if c.Printed.IsZero() {
		c.Printed = time.Now()
	}
	r := &renderer{c: c, lang: locale.Supported(c.Language), pdf: fpdf.New("P", "mm", "A4", ""), widths: map[int]bool{}}
	return r.render(w)
}

type renderer struct {
	c      Case
	lang   string
	pdf    *fpdf.Fpdf
	images int
	widths map[int]bool // pixel widths of the images added so far
}

func (r *renderer) t(key string) string { return locale.T(r.lang, key) }

// text normalizes user-entered or stored text for printing (fpdf misplaces NFD accents).
func text(s string) string { return storage.NFC(s) }

// setup starts the PDF: fonts, deterministic metadata and the footer, with title.
func (r *renderer) setup(title string) {
	p := r.pdf
	p.SetMargins(marginL, 15, marginR)
	p.SetAutoPageBreak(true, 18)
	p.AddUTF8FontFromBytes(font, "", theme.DefaultTextFont().Content())
	p.AddUTF8FontFromBytes(font, "B", theme.DefaultTextBoldFont().Content())
	// Deterministic output: a fixed creation date and sorted catalog make the same case
	// render to the same bytes (tests compare renders).
	p.SetCreationDate(r.c.Printed)
	p.SetModificationDate(r.c.Printed)
	p.SetCatalogSort(true)
	p.SetTitle(title+" — "+text(r.c.Patient.FullName), true)
	p.SetCreator("Dermal", true)
	p.SetLang(r.lang)
	p.AliasNbPages("{nb}")
	p.SetFooterFunc(func() {
		p.SetY(-13)
		p.SetFont(font, "", 7.5)
		p.SetTextColor(110, 110, 110)
		footer := r.t("report.footer")
		if r.c.Program != "" {
			footer += " · " + r.c.Program
		}
		p.CellFormat(contentW*0.75, 4, footer, "", 0, "L", false, 0, "")
		p.CellFormat(contentW*0.25, 4, fmt.Sprintf("%d / {nb}", p.PageNo()), "", 0, "R", false, 0, "")
	})
	p.AddPage()
}

func (r *renderer) render(w io.Writer) error {
	p := r.pdf
	r.setup(r.t("Skin lesion assessment report"))

	r.header()
	r.patientBlock()
	if err := r.photos(); err != nil {
		return err
	}
	r.result()
	r.findings()
	r.model()
	r.disclaimer()
	r.signature()
	if len(r.c.Earlier) > 0 {
		if err := r.history(); err != nil {
			return err
		}
	}
	if err := p.Error(); err != nil {
		return fmt.Errorf("rendering the report: %w", err)
	}
	return p.Output(w)
}

func (r *renderer) heading(s string) {
	p := r.pdf
	p.Ln(1)
	p.SetFont(font, "B", 11)
	p.SetTextColor(30, 60, 90)
	p.CellFormat(contentW, 5.5, s, "B", 1, "L", false, 0, "")
	p.SetTextColor(0, 0, 0)
	p.Ln(1)
}

func (r *renderer) header() {
	p := r.pdf
	// The name comes from the clinic's profile (Settings, dermal clinic); a report made
	// before it was set starts with the title.
	clinic := text(r.c.Clinic)
	p.SetFont(font, "B", 15)
	p.CellFormat(contentW*0.65, 8, clinic, "", 0, "L", false, 0, "")
	p.SetFont(font, "", 9)
	p.CellFormat(contentW*0.35, 8, r.t("Printed")+": "+locale.DateTime(r.lang, r.c.Printed), "", 1, "R", false, 0, "")
	p.SetFont(font, "", 12)
	title := r.t("Skin lesion assessment report")
	if len(r.c.Earlier) > 0 {
		title = r.t("Skin lesion history report")
	}
	p.CellFormat(contentW, 7, title, "", 1, "L", false, 0, "")
}

func (r *renderer) patientBlock() {
	p := r.pdf
	r.heading(r.t("Patient"))
	pt := r.c.Patient
	sex := map[string]string{"F": r.t("Female"), "M": r.t("Male")}[pt.Sex]
	if sex == "" {
		sex = r.t("not recorded")
	}
	age := r.t("not recorded")
	if a := pt.AgeAt(r.c.Current.Assessment.TakenAt); a > 0 {
		age = fmt.Sprintf("%d (%s %d)", a, r.t("born"), pt.BirthYear)
	}
	site := r.t("site." + r.c.Lesion.BodySite)
	if d := text(r.c.Lesion.SiteDetail); d != "" {
		site += " — " + d
	}
	pairs := [][2]string{
		{r.t("Name"), text(pt.FullName)},
		{r.t("Clinic code"), text(pt.Code)},
		{r.t("Sex"), sex},
		{r.t("Age"), age},
	}
	// Labels are as wide as the widest in this language; the body site, which can be long,
	// gets a line of its own so it never runs into the next field.
	labelW := 0.0
	p.SetFont(font, "", 9)
	for _, l := range []string{r.t("Name"), r.t("Clinic code"), r.t("Sex"), r.t("Age"), r.t("Body site"), r.t("Photo taken"), r.t("Photo type"), r.t("Consent")} {
		labelW = math.Max(labelW, p.GetStringWidth(l)+3)
	}
	label := func(s string) {
		p.SetFont(font, "", 9)
		p.SetTextColor(90, 90, 90)
		p.CellFormat(labelW, 5.5, s, "", 0, "L", false, 0, "")
		p.SetTextColor(0, 0, 0)
		p.SetFont(font, "B", 10)
	}
	for i, row := range pairs {
		label(row[0])
		ln := 0
		if i%2 == 1 {
			ln = 1
		}
		p.CellFormat(contentW/2-labelW, 5.5, fitText(p, row[1], contentW/2-labelW-1), "", ln, "L", false, 0, "")
	}
	label(r.t("Body site"))
	p.MultiCell(contentW-labelW, 5.5, site, "", "L", false)
	label(r.t("Photo taken"))
	p.CellFormat(contentW/2-labelW, 5.5, locale.DateTime(r.lang, r.c.Current.Assessment.TakenAt.Local()), "", 0, "L", false, 0, "")
	kind := r.c.Current.Assessment.PhotoType
	if kind == "" {
		kind = string(triage.Dermoscopic)
	}
	label(r.t("Photo type"))
	p.CellFormat(contentW/2-labelW, 5.5, fitText(p, r.t("photo_type.short."+kind), contentW/2-labelW-1), "", 1, "L", false, 0, "")
	label(r.t("Consent"))
	p.MultiCell(contentW-labelW, 5.5, r.consent(pt), "", "L", false)
}

// consent says what the patient agreed to, and when.
func (r *renderer) consent(pt storage.Patient) string {
	word := func(b *bool) string {
		switch {
		case b == nil:
			return r.t("not asked")
		case *b:
			return r.t("agreed")
		}
		return r.t("refused")
	}
	s := fmt.Sprintf("%s: %s · %s: %s", r.t("photos stored"), word(pt.ConsentPhotos), r.t("shared for referral"), word(pt.ConsentReferral))
	if pt.ConsentAt != nil {
		s += " (" + locale.Date(r.lang, *pt.ConsentAt) + ")"
	}
	return s
}

// fitText shortens s with an ellipsis until it fits w millimetres in the current font.
func fitText(p *fpdf.Fpdf, s string, w float64) string {
	if p.GetStringWidth(s) <= w {
		return s
	}
	rs := []rune(s)
	for len(rs) > 1 && p.GetStringWidth(string(rs)+"…") > w {
		rs = rs[:len(rs)-1]
	}
	return string(rs) + "…"
}

// addImage scales img to fit maxSide, encodes it as JPEG and registers it with the PDF.
func (r *renderer) addImage(img image.Image, maxSide int) (name string, w, h int, err error) {
	b := img.Bounds()
	if b.Dx() > maxSide || b.Dy() > maxSide {
		img = imaging.Fit(img, maxSide, maxSide, imaging.Lanczos)
		b = img.Bounds()
	}
	// fpdf writes images sorted by pixel width but in map order among equal widths, which
	// would make two renders of one case differ. Give every image its own width by scaling
	// it a pixel or two narrower (aspect kept; invisible on paper).
	if r.widths[b.Dx()] {
		w := b.Dx()
		for r.widths[w] {
			w--
		}
		img = imaging.Resize(img, w, 0, imaging.Lanczos)
		b = img.Bounds()
	}
	r.widths[b.Dx()] = true
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		return "", 0, 0, fmt.Errorf("encoding a report image: %w", err)
	}
	r.images++
	name = fmt.Sprintf("img%d", r.images)
	r.pdf.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "JPG"}, &buf)
	return name, b.Dx(), b.Dy(), r.pdf.Error()
}

// placeImage draws a registered image inside the box (x, y, bw, bh) without distorting it.
func (r *renderer) placeImage(name string, iw, ih int, x, y, bw, bh float64) {
	w, h := bw, bw*float64(ih)/float64(iw)
	if h > bh {
		h, w = bh, bh*float64(iw)/float64(ih)
	}
	r.pdf.ImageOptions(name, x+(bw-w)/2, y+(bh-h)/2, w, h, false, fpdf.ImageOptions{ImageType: "JPG"}, 0, "")
}

func (r *renderer) photos() error {
	p := r.pdf
	r.heading(r.t("Photo and Grad-CAM"))
	const gap, boxW = 8.0, 54.0
	boxH := boxW * 3 / 4
	y := p.GetY()
	x1 := marginL + (contentW-2*boxW-gap)/2
	name, iw, ih, err := r.addImage(r.c.Current.Photo, photoMaxSide)
	if err != nil {
		return err
	}
	r.placeImage(name, iw, ih, x1, y, boxW, boxH)
	x2 := x1 + boxW + gap
	if r.c.Current.Overlay != nil {
		name, iw, ih, err := r.addImage(r.c.Current.Overlay, photoMaxSide)
		if err != nil {
			return err
		}
		r.placeImage(name, iw, ih, x2, y, boxW, boxH)
	} else {
		p.SetDrawColor(180, 180, 180)
		p.Rect(x2, y, boxW, boxH, "D")
		p.SetXY(x2+4, y+boxH/2-6)
		p.SetFont(font, "", 9)
		note := r.c.Current.OverlayNote
		if note == "" {
			note = r.t("Grad-CAM overlay not available.")
		}
		p.MultiCell(boxW-8, 4.5, note, "", "C", false)
	}
	// Each caption may wrap within its photo's width plus half the gap (a caption wider than
	// its photo ran into the other one's).
	capY := y + boxH + 1.5
	p.SetFont(font, "", 8)
	bottom := capY
	for _, c := range []struct {
		x    float64
		text string
	}{{x1 - gap/2, r.t("Photo (the area the model analysed)")}, {x2 - gap/2, r.t("Where the model looked (Grad-CAM, the class named in the result)")}} {
		p.SetXY(c.x, capY)
		p.MultiCell(boxW+gap, 3.4, c.text, "", "C", false)
		bottom = math.Max(bottom, p.GetY())
	}
	p.SetY(bottom)
	r.colourScale(x2, p.GetY()+0.5, boxW)
	p.SetY(p.GetY() + 3)
	return nil
}

// colourScale draws the viridis scale of the overlay with its end labels.
func (r *renderer) colourScale(x, y, w float64) {
	p := r.pdf
	const steps = 48
	for i := 0; i < steps; i++ {
		c := inference.Viridis(float64(i) / (steps - 1))
		p.SetFillColor(int(c.R), int(c.G), int(c.B))
		p.Rect(x+w*float64(i)/steps, y, w/steps+0.05, 3, "F")
	}
	p.SetXY(x, y+3.2)
	p.SetFont(font, "", 7)
	p.CellFormat(w/2, 3.5, r.t("low attention"), "", 0, "L", false, 0, "")
	p.CellFormat(w/2, 3.5, r.t("high attention"), "", 1, "R", false, 0, "")
}

// tierColour is the tier's colour on paper, the one it has on screen.
func tierColour(t inference.Tier) (int, int, int) {
	c := t.Color()
	return int(c.R), int(c.G), int(c.B)
}

func (r *renderer) result() {
	p := r.pdf
	a := r.c.Current.Assessment
	r.heading(r.t("Model result"))
	tier := inference.Tier(a.RiskTier)
	cr, cg, cb := tierColour(tier)
	p.SetFillColor(cr, cg, cb)
	p.SetTextColor(255, 255, 255)
	p.SetFont(font, "B", 11)
	p.CellFormat(contentW, 7, " "+r.t("tier."+a.RiskTier), "", 1, "L", true, 0, "")
	p.SetTextColor(0, 0, 0)
	p.SetFont(font, "B", 10.5)
	p.MultiCell(contentW, 5.5, triage.Headline(r.lang, r.c.LabelNames, r.c.Malignant, tier, triage.Driver(a.TierDriver), a.Probabilities, a.SevenPoint, a.Dermoscopy), "", "L", false)
	p.SetFont(font, "", 9.5)
	p.MultiCell(contentW, 4.8, r.t(triage.AdviceKey(tier, triage.Driver(a.TierDriver), a.Dermoscopy != nil)), "", "L", false)
	if a.PhotoType == string(triage.Plain) {
		p.Ln(1)
		p.SetFont(font, "B", 9.5)
		p.SetTextColor(150, 60, 0)
		p.MultiCell(contentW, 4.8, r.t("model.not_validated"), "", "L", false)
		p.SetTextColor(0, 0, 0)
	}
	if len(a.Warnings) > 0 {
		p.Ln(1)
		p.SetFont(font, "B", 9.5)
		p.SetTextColor(150, 60, 0)
		var ws []string
		for _, w := range a.Warnings {
			ws = append(ws, r.t("warning."+w))
		}
		p.MultiCell(contentW, 4.8, r.t("Photo quality")+": "+strings.Join(ws, " "), "", "L", false)
		p.SetTextColor(0, 0, 0)
	}
	p.Ln(2)
	type row struct {
		code string
		p    float64
	}
	var rows []row
	for _, c := range r.c.Labels {
		rows = append(rows, row{c, a.Probabilities[c]})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].p > rows[j].p })
	const nameW, pctW = 100.0, 14.0
	barW := contentW - nameW - pctW
	for _, rw := range rows {
		y := p.GetY()
		p.SetFont(font, "", 8)
		name := r.t(r.c.LabelNames[rw.code])
		malignant := slices.Contains(r.c.Malignant, rw.code)
		if malignant {
			name += " *"
		}
		p.CellFormat(nameW, 4.6, name, "", 0, "L", false, 0, "")
		p.SetFillColor(230, 230, 230)
		p.Rect(marginL+nameW, y+1, barW, 3, "F")
		if malignant {
			p.SetFillColor(190, 60, 50)
		} else {
			p.SetFillColor(60, 110, 170)
		}
		p.Rect(marginL+nameW, y+1, math.Max(0.3, barW*rw.p), 3, "F")
		p.SetX(marginL + nameW + barW)
		p.CellFormat(pctW, 4.6, locale.Decimal(r.lang, 100*rw.p, 1)+" %", "", 1, "R", false, 0, "")
	}
	p.SetFont(font, "", 7.5)
	p.SetTextColor(90, 90, 90)
	p.MultiCell(contentW, 3.8, r.t("report.probabilities"), "", "L", false)
	p.SetTextColor(0, 0, 0)
}

func (r *renderer) findings() {
	p := r.pdf
	a := r.c.Current.Assessment
	r.heading(r.t("Clinician's findings"))
	field := func(label, value string) {
		p.SetFont(font, "", 9)
		p.SetTextColor(90, 90, 90)
		p.CellFormat(34, 4.8, label, "", 0, "L", false, 0, "")
		p.SetTextColor(0, 0, 0)
		p.SetFont(font, "", 10)
		if value == "" {
			value = "—"
		}
		p.MultiCell(contentW-34, 4.8, value, "", "L", false)
	}
	diameter := ""
	if a.DiameterMM != nil {
		diameter = locale.Decimal(r.lang, *a.DiameterMM, 1) + " mm"
	}
	follow := ""
	if a.FollowUp != nil {
		follow = locale.Date(r.lang, *a.FollowUp)
	}
	// Short fields go two to a line, so that the report of one visit stays on one page.
	pair := func(l1, v1, l2, v2 string) {
		for i, f := range [][2]string{{l1, v1}, {l2, v2}} {
			p.SetFont(font, "", 9)
			p.SetTextColor(90, 90, 90)
			p.CellFormat(34, 4.8, f[0], "", 0, "L", false, 0, "")
			p.SetTextColor(0, 0, 0)
			p.SetFont(font, "", 10)
			if f[1] == "" {
				f[1] = "—"
			}
			p.CellFormat(contentW/2-34, 4.8, fitText(p, f[1], contentW/2-35), "", i, "L", false, 0, "")
		}
	}
	// A checklist not done gets its "—" line only while neither was done: one visit's report
	// stays one page.
	if a.Dermoscopy != nil {
		field(r.t("report.dermoscopy"), triage.DermoscopyText(r.lang, a.Dermoscopy))
	}
	if a.SevenPoint != nil || a.Dermoscopy == nil {
		field(r.t("report.seven_point"), triage.SevenPointText(r.lang, a.SevenPoint))
	}
	field(r.t("ABCDE"), triage.ABCDEText(r.lang, a.ABCDE))
	pair(r.t("Diameter (mm)"), diameter, r.t("Follow-up"), follow)
	field(r.t("Diagnosis"), text(a.Diagnosis))
	field(r.t("Notes"), text(a.Notes))
	if a.AssessedBy != "" {
		field(r.t("Assessed by"), text(a.AssessedBy))
	}
	for _, ref := range r.c.Referrals {
		field(r.t("Referred"), locale.Date(r.lang, ref.ReferredAt.Local())+" — "+text(ref.ReferredTo))
		if ref.HasOutcome() {
			source := r.t("Specialist")
			if ref.OutcomeSource == storage.OutcomeHistology {
				source = r.t("Histology")
			}
			when := ""
			if ref.OutcomeDate != nil {
				when = ", " + locale.Date(r.lang, *ref.OutcomeDate)
			}
			field(r.t("Outcome"), "("+source+when+") "+text(ref.OutcomeDiagnosis))
		}
	}
}

func (r *renderer) model() {
	p := r.pdf
	p.Ln(1)
	p.SetFont(font, "", 7.5)
	p.SetTextColor(90, 90, 90)
	a := r.c.Current.Assessment
	p.MultiCell(contentW, 3.6, fmt.Sprintf("%s: %s · SHA-256 %s", r.t("Model"), a.ModelName, a.ModelSHA256), "", "L", false)
	if r.c.ModelSHA != "" && (a.ModelSHA256 != r.c.ModelSHA || a.ModelName != r.c.ModelName) {
		p.MultiCell(contentW, 3.6, fmt.Sprintf("%s %s (%s).", r.t("report.other_model"), r.c.ModelName, r.c.ModelSHA[:12]), "", "L", false)
	}
	if r.c.AuditHead != "" {
		p.MultiCell(contentW, 3.6, fmt.Sprintf("%s: %s", r.t("Audit trail"), r.c.AuditHead), "", "L", false)
	}
	p.SetTextColor(0, 0, 0)
}

func (r *renderer) disclaimer() {
	p := r.pdf
	p.Ln(2)
	p.SetFillColor(245, 240, 225)
	p.SetFont(font, "B", 9)
	p.MultiCell(contentW, 4.6, r.t("disclaimer"), "", "L", true)
}

func (r *renderer) signature() {
	p := r.pdf
	// 7 mm to sign in and the 5 mm caption, above the 18 mm bottom margin.
	if p.GetY() > 297-18-12 {
		p.AddPage()
	}
	p.Ln(7)
	r.signLines(r.t("Clinician's name and signature"))
}

// signLines draws the two lines to sign and date on, at the current height, with captions.
func (r *renderer) signLines(who string) {
	p := r.pdf
	y := p.GetY()
	p.SetDrawColor(0, 0, 0)
	p.Line(marginL, y, marginL+80, y)
	p.Line(marginL+110, y, marginL+contentW, y)
	p.SetFont(font, "", 8.5)
	p.CellFormat(110, 5, who, "", 0, "L", false, 0, "")
	p.CellFormat(contentW-110, 5, r.t("Date"), "", 1, "L", false, 0, "")
}

func (r *renderer) history() error {
	p := r.pdf
	p.AddPage()
	r.heading(r.t("Earlier assessments of this lesion"))
	const thumbW, thumbH, rowH = 36.0, 27.0, 31.0
	for _, v := range r.c.Earlier {
		if p.GetY()+rowH > 297-20 {
			p.AddPage()
		}
		y := p.GetY()
		img := v.Thumb
		if img == nil {
			img = v.Photo
		}
		if img != nil {
			name, iw, ih, err := r.addImage(img, 320)
			if err != nil {
				return err
			}
			r.placeImage(name, iw, ih, marginL, y, thumbW, thumbH)
		}
		a := v.Assessment
		x := marginL + thumbW + 5
		p.SetXY(x, y)
		p.SetFont(font, "B", 10)
		p.CellFormat(contentW-thumbW-5, 5, locale.DateTime(r.lang, a.TakenAt.Local()), "", 2, "L", false, 0, "")
		top, topP := "", -1.0
		for _, c := range r.c.Labels {
			if a.Probabilities[c] > topP {
				top, topP = c, a.Probabilities[c]
			}
		}
		p.SetX(x)
		p.SetFont(font, "", 9)
		cr, cg, cb := tierColour(inference.Tier(a.RiskTier))
		p.SetTextColor(cr, cg, cb)
		p.CellFormat(contentW-thumbW-5, 4.8, r.t("tier."+a.RiskTier), "", 2, "L", false, 0, "")
		p.SetTextColor(0, 0, 0)
		p.SetX(x)
		p.CellFormat(contentW-thumbW-5, 4.8, fmt.Sprintf("%s: %s %.0f %%", r.t("Most likely"), r.t(r.c.LabelNames[top]), 100*topP), "", 2, "L", false, 0, "")
		if d := triage.StoredDermoscopy(a.Dermoscopy); d != nil {
			p.SetX(x)
			p.CellFormat(contentW-thumbW-5, 4.8, fmt.Sprintf("%s: %d / 10", r.t("report.dermoscopy"), d.Score), "", 2, "L", false, 0, "")
		}
		if d := text(a.Diagnosis); d != "" {
			p.SetX(x)
			p.CellFormat(contentW-thumbW-5, 4.8, r.t("Diagnosis")+": "+d, "", 2, "L", false, 0, "")
		}
		p.SetY(y + rowH)
	}
	return nil
}
