package dicomstudy

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// ReplySeriesDescription names the series of a specialist's reply in a referral's study.
const ReplySeriesDescription = "Dermal specialist reply"

// Plans a specialist may give.
const (
	PlanLocal  = "manage locally"
	PlanSee    = "see at the district hospital"
	PlanBiopsy = "biopsy"
)

// Reply is a specialist's answer to a referral, stored in the referral's own study as a
// Comprehensive SR.
type Reply struct {
	// UIDKey keys the reply's UIDs (the specialist's records' key).
	UIDKey []byte
	// The referral's study as the hub lists it: the reply joins it with the same patient.
	StudyUID, StudyDate, StudyTime, StudyID, AccessionNumber string
	PatientName, PatientID, Issuer, PatientSex               string
	Institution                                              string

	Specialist string // who answers
	Answered   time.Time
	Diagnosis  string
	Advice     string
	Plan       string // PlanLocal, PlanSee or PlanBiopsy
	SeeWithin  int    // days, with PlanSee
	Program    string
}

var (
	conceptReply      = code("DERMAL-20", "99DERMAL", "Specialist's reply")
	conceptReplyDx    = code("DERMAL-21", "99DERMAL", "Specialist's diagnosis")
	conceptReplyAdv   = code("DERMAL-22", "99DERMAL", "Specialist's advice")
	conceptReplyPlan  = code("DERMAL-23", "99DERMAL", "Plan")
	conceptReplyDays  = code("DERMAL-24", "99DERMAL", "See within")
	conceptReplyOwner = code("DERMAL-25", "99DERMAL", "Specialist")
)

// Object is the reply's SR.
func (r Reply) Object() (Object, error) {
	if r.StudyUID == "" || r.PatientID == "" {
		return Object{}, fmt.Errorf("%w: the reply names no study or patient", ErrInvalid)
	}
	if strings.TrimSpace(r.Diagnosis) == "" || strings.TrimSpace(r.Specialist) == "" {
		return Object{}, fmt.Errorf("%w: a reply needs the diagnosis and the specialist's name", ErrInvalid)
	}
	switch r.Plan {
	case PlanLocal, PlanBiopsy:
	case PlanSee:
		if r.SeeWithin < 1 || r.SeeWithin > 365 {
			return Object{}, fmt.Errorf("%w: see within %d days: give 1 to 365", ErrInvalid, r.SeeWithin)
		}
	default:
		return Object{}, fmt.Errorf("%w: plan %q", ErrInvalid, r.Plan)
	}
	// The same reply sent again has the same UIDs (the hub keeps one); another reply to the
	// same study has others.
	m := hmac.New(sha256.New, r.UIDKey)
	fmt.Fprintf(m, "dermal reply\x00%s\x00%s\x00%s\x00%s\x00%s\x00%d\x00%d", r.StudyUID, r.Specialist, r.Diagnosis, r.Advice, r.Plan, r.SeeWithin, r.Answered.Unix())
	sum := m.Sum(nil)
	uid := func(part byte) string {
		u := append([]byte(nil), sum[:16]...)
		u[15] ^= part
		u[6] = u[6]&0x0f | 0x80
		u[8] = u[8]&0x3f | 0x80
		return "2.25." + new(big.Int).SetBytes(u).String()
	}
	instance, series := uid(1), uid(2)
	items := [][]*dicom.Element{
		textItem(conceptReplyOwner, r.Specialist),
		textItem(conceptReplyDx, r.Diagnosis),
	}
	if r.Advice != "" {
		items = append(items, textItem(conceptReplyAdv, r.Advice))
	}
	items = append(items, textItem(conceptReplyPlan, r.Plan))
	if r.Plan == PlanSee {
		items = append(items, numItem(conceptReplyDays, float64(r.SeeWithin), code("d", "UCUM", "day")))
	}
	es := append(r.studyElements(ComprehensiveSRClass, instance, series, "SR", 4, ReplySeriesDescription),
		el(tag.ReferencedPerformedProcedureStepSequence, [][]*dicom.Element{}),
		str(tag.CompletionFlag, "COMPLETE"),
		str(tag.VerificationFlag, "UNVERIFIED"),
		el(tag.PerformedProcedureCodeSequence, [][]*dicom.Element{}),
		str(tag.ValueType, "CONTAINER"),
		el(tag.ConceptNameCodeSequence, [][]*dicom.Element{conceptReply}),
		str(tag.ContinuityOfContent, "SEPARATE"),
		el(tag.ContentSequence, items),
	)
	data, err := file(ComprehensiveSRClass, instance, explicitLittle, es)
	if err != nil {
		return Object{}, err
	}
	return Object{Name: "reply.dcm", SOPClass: ComprehensiveSRClass, SOPInstance: instance, Data: data}, nil
}

// studyElements are what a reply's object carries of the referral's study and patient, and its
// own identity.
func (r Reply) studyElements(class, instance, series, modality string, seriesNumber int, description string) []*dicom.Element {
	return []*dicom.Element{
		str(tag.SpecificCharacterSet, "ISO_IR 192"),
		str(tag.SOPClassUID, class),
		str(tag.SOPInstanceUID, instance),
		str(tag.TimezoneOffsetFromUTC, "+0000"),
		str(tag.StudyDate, r.StudyDate),
		str(tag.StudyTime, r.StudyTime),
		str(tag.AccessionNumber, r.AccessionNumber),
		str(tag.Modality, modality),
		str(tag.Manufacturer, "Dermal"),
		str(tag.InstitutionName, r.Institution),
		str(tag.ReferringPhysicianName, ""),
		str(tag.SeriesDescription, description),
		str(tag.PatientName, r.PatientName),
		str(tag.PatientID, r.PatientID),
		str(tag.IssuerOfPatientID, r.Issuer),
		str(tag.PatientBirthDate, ""),
		str(tag.PatientSex, r.PatientSex),
		str(tag.SoftwareVersions, r.Program),
		str(tag.StudyInstanceUID, r.StudyUID),
		str(tag.SeriesInstanceUID, series),
		str(tag.StudyID, r.StudyID),
		el(tag.SeriesNumber, []string{fmt.Sprint(seriesNumber)}),
		el(tag.InstanceNumber, []string{"1"}),
		str(tag.ContentDate, da(r.Answered.UTC())),
		str(tag.ContentTime, tm(r.Answered.UTC())),
	}
}

// PDFObject is the reply as a PDF any viewer opens (report.RenderReply makes it), in a series
// of its own beside the structured reply.
func (r Reply) PDFObject(pdf []byte) (Object, error) {
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return Object{}, fmt.Errorf("%w: the reply's page is not a PDF", ErrInvalid)
	}
	sr, err := r.Object()
	if err != nil {
		return Object{}, err
	}
	// Its UIDs follow from the structured reply's, so both are stable together.
	m := hmac.New(sha256.New, r.UIDKey)
	fmt.Fprintf(m, "dermal reply pdf\x00%s", sr.SOPInstance)
	sum := m.Sum(nil)
	uid := func(part byte) string {
		u := append([]byte(nil), sum[:16]...)
		u[15] ^= part
		u[6] = u[6]&0x0f | 0x80
		u[8] = u[8]&0x3f | 0x80
		return "2.25." + new(big.Int).SetBytes(u).String()
	}
	instance, series := uid(1), uid(2)
	doc := pdf
	if len(doc)%2 == 1 {
		doc = append(append([]byte(nil), doc...), 0)
	}
	es := append(r.studyElements(EncapsulatedPDFClass, instance, series, "DOC", 5, ReplySeriesDescription+" (PDF)"),
		str(tag.AcquisitionDateTime, r.Answered.UTC().Format("20060102150405")),
		str(tag.ConversionType, "WSD"),
		str(tag.BurnedInAnnotation, "YES"),
		str(tag.DocumentTitle, "Specialist's reply"),
		el(tag.ConceptNameCodeSequence, [][]*dicom.Element{code("11488-4", "LN", "Consult note")}),
		str(tag.MIMETypeOfEncapsulatedDocument, "application/pdf"),
		el(tag.EncapsulatedDocument, doc),
	)
	data, err := file(EncapsulatedPDFClass, instance, explicitLittle, es)
	if err != nil {
		return Object{}, err
	}
	return Object{Name: "reply.pdf.dcm", SOPClass: EncapsulatedPDFClass, SOPInstance: instance, Data: data}, nil
}

// ReadReply reads a reply SR back: what came home to the clinic.
func ReadReply(data []byte) (Reply, error) {
	ds, err := dicom.Parse(bytes.NewReader(data), int64(len(data)), nil, dicom.SkipPixelData())
	if err != nil {
		return Reply{}, fmt.Errorf("%w: the reply is not DICOM: %v", ErrInvalid, err)
	}
	get := func(d []*dicom.Element, t tag.Tag) string {
		for _, e := range d {
			if e.Tag == t {
				if v, ok := e.Value.GetValue().([]string); ok && len(v) > 0 {
					return v[0]
				}
			}
		}
		return ""
	}
	top := ds.Elements
	r := Reply{StudyUID: get(top, tag.StudyInstanceUID), PatientID: get(top, tag.PatientID), PatientName: get(top, tag.PatientName)}
	if get(top, tag.SeriesDescription) != ReplySeriesDescription {
		return r, fmt.Errorf("%w: not a Dermal specialist's reply", ErrInvalid)
	}
	if t, err := time.Parse("20060102150405", get(top, tag.ContentDate)+get(top, tag.ContentTime)); err == nil {
		r.Answered = t
	}
	for _, e := range top {
		if e.Tag != tag.ContentSequence {
			continue
		}
		for _, item := range e.Value.GetValue().([]*dicom.SequenceItemValue) {
			es := item.GetValue().([]*dicom.Element)
			var concept string
			for _, c := range es {
				if c.Tag == tag.ConceptNameCodeSequence {
					if cs := c.Value.GetValue().([]*dicom.SequenceItemValue); len(cs) > 0 {
						concept = get(cs[0].GetValue().([]*dicom.Element), tag.CodeValue)
					}
				}
			}
			text := get(es, tag.TextValue)
			switch concept {
			case "DERMAL-25":
				r.Specialist = text
			case "DERMAL-21":
				r.Diagnosis = text
			case "DERMAL-22":
				r.Advice = text
			case "DERMAL-23":
				r.Plan = text
			case "DERMAL-24":
				for _, c := range es {
					if c.Tag == tag.MeasuredValueSequence {
						if mv := c.Value.GetValue().([]*dicom.SequenceItemValue); len(mv) > 0 {
							r.SeeWithin, _ = strconv.Atoi(strings.TrimSpace(get(mv[0].GetValue().([]*dicom.Element), tag.NumericValue)))
						}
					}
				}
			}
		}
	}
	if r.Diagnosis == "" || r.Specialist == "" {
		return r, fmt.Errorf("%w: the reply has no diagnosis or specialist", ErrInvalid)
	}
	return r, nil
}

// Summary is the reply in one line, as the outcome records it, in language (en or vi: the
// referral letter's).
func (r Reply) Summary(language string) string {
	plan := map[string]map[string]string{
		"en": {PlanLocal: "manage locally", PlanBiopsy: "refer for a biopsy", PlanSee: "see within %d days"},
		"vi": {PlanLocal: "điều trị tại trạm", PlanBiopsy: "chuyển sinh thiết", PlanSee: "khám trong vòng %d ngày"},
	}
	words, ok := plan[language]
	if !ok {
		words = plan["en"]
	}
	p := r.Plan
	if w, ok := words[r.Plan]; ok {
		p = w
		if r.Plan == PlanSee {
			p = fmt.Sprintf(w, r.SeeWithin)
		}
	}
	s := r.Diagnosis + " — " + p
	if r.Advice != "" {
		s += " — " + r.Advice
	}
	return s
}

// Received is one object of a referral's study as a specialist's Dermal reads it back.
type Received struct {
	SOPClass string
	// Photo is the photo's JPEG as captured (JPEG Baseline), or its pixels as a PNG-free
	// RGB image (Width × Height × 3 bytes); nil for the other objects.
	JPEG          []byte
	RGB           []byte
	Width, Height int
	// GradCAM: the image is the Grad-CAM map as sent, not the photo.
	GradCAM bool
	// Letter is a PDF's bytes: the referral letter, or the specialist's reply (Title says).
	Letter []byte
	Title  string
	// Items are the result's content items, in order.
	Items []Item
}

// Item is one content item of a result: its concept, and its text or number.
type Item struct {
	Code, Meaning string
	Text          string
	Number        float64
	Unit          string
	IsNumber      bool
}

// String is the item as "meaning: value".
func (it Item) String() string {
	if it.IsNumber {
		return fmt.Sprintf("%s: %s %s", it.Meaning, strconv.FormatFloat(it.Number, 'f', -1, 64), it.Unit)
	}
	return it.Meaning + ": " + it.Text
}

// ReadObject reads an object of a referral's study (photo, letter or result).
func ReadObject(data []byte) (Received, error) {
	ds, err := dicom.Parse(bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		return Received{}, fmt.Errorf("%w: not DICOM: %v", ErrInvalid, err)
	}
	var r Received
	strs := func(t tag.Tag) string {
		e, err := ds.FindElementByTag(t)
		if err != nil {
			return ""
		}
		if v, ok := e.Value.GetValue().([]string); ok && len(v) > 0 {
			return v[0]
		}
		return ""
	}
	ints := func(t tag.Tag) int {
		e, err := ds.FindElementByTag(t)
		if err != nil {
			return 0
		}
		if v, ok := e.Value.GetValue().([]int); ok && len(v) > 0 {
			return v[0]
		}
		return 0
	}
	r.SOPClass = strs(tag.SOPClassUID)
	switch r.SOPClass {
	case DermoscopicPhotoClass, VLPhotoClass, SecondaryCaptureClass:
		e, err := ds.FindElementByTag(tag.PixelData)
		if err != nil {
			return r, fmt.Errorf("%w: the photo has no pixels", ErrInvalid)
		}
		info := dicom.MustGetPixelDataInfo(e.Value)
		r.Width, r.Height = ints(tag.Columns), ints(tag.Rows)
		r.GradCAM = r.SOPClass == SecondaryCaptureClass
		switch {
		case info.IsEncapsulated && len(info.Frames) > 0:
			r.JPEG = info.Frames[0].EncapsulatedData.Data
		case len(info.Frames) > 0 && info.Frames[0].NativeData.Data != nil:
			nd := info.Frames[0].NativeData
			r.RGB = make([]byte, 0, len(nd.Data)*3)
			for _, px := range nd.Data {
				for _, v := range px {
					r.RGB = append(r.RGB, byte(v))
				}
			}
		default:
			return r, fmt.Errorf("%w: the photo's pixels could not be read", ErrInvalid)
		}
	case EncapsulatedPDFClass:
		e, err := ds.FindElementByTag(tag.EncapsulatedDocument)
		if err != nil {
			return r, fmt.Errorf("%w: the letter has no document", ErrInvalid)
		}
		r.Letter, _ = e.Value.GetValue().([]byte)
		r.Title = strs(tag.DocumentTitle)
	case ComprehensiveSRClass:
		e, err := ds.FindElementByTag(tag.ContentSequence)
		if err != nil {
			return r, nil
		}
		for _, item := range e.Value.GetValue().([]*dicom.SequenceItemValue) {
			es := item.GetValue().([]*dicom.Element)
			var it Item
			for _, c := range es {
				switch c.Tag {
				case tag.ConceptNameCodeSequence:
					if cs := c.Value.GetValue().([]*dicom.SequenceItemValue); len(cs) > 0 {
						for _, x := range cs[0].GetValue().([]*dicom.Element) {
							switch x.Tag {
							case tag.CodeMeaning:
								it.Meaning = dicom.MustGetStrings(x.Value)[0]
							case tag.CodeValue:
								it.Code = dicom.MustGetStrings(x.Value)[0]
							}
						}
					}
				case tag.TextValue:
					it.Text = dicom.MustGetStrings(c.Value)[0]
				case tag.MeasuredValueSequence:
					if mv := c.Value.GetValue().([]*dicom.SequenceItemValue); len(mv) > 0 {
						for _, x := range mv[0].GetValue().([]*dicom.Element) {
							switch x.Tag {
							case tag.NumericValue:
								it.Number, _ = strconv.ParseFloat(strings.TrimSpace(dicom.MustGetStrings(x.Value)[0]), 64)
								it.IsNumber = true
							case tag.MeasurementUnitsCodeSequence:
								if us := x.Value.GetValue().([]*dicom.SequenceItemValue); len(us) > 0 {
									for _, u := range us[0].GetValue().([]*dicom.Element) {
										if u.Tag == tag.CodeValue {
											it.Unit = dicom.MustGetStrings(u.Value)[0]
										}
									}
								}
							}
						}
					}
				}
			}
			if it.Meaning != "" && (it.Text != "" || it.IsNumber) {
				r.Items = append(r.Items, it)
			}
		}
	}
	return r, nil
}
