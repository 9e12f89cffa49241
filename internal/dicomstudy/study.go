// Package dicomstudy writes a referral as a DICOM study, the format a district hospital's
// imaging systems (Orthanc, a PACS) speak: the lesion's photo as a Dermoscopic Photography
// Image (modality DMS, Supplement 221) or a VL Photographic Image (XC), its original JPEG
// bytes encapsulated and never re-encoded; the referral letter as an Encapsulated PDF; and
// the triage result, the checklists, the diameter and the clinician's question as a
// Comprehensive SR. Every UID is derived from the records' key and the record's ids (UIDs),
// so a study written again for the same referral has the same UIDs: a retry never makes a
// second study.
//
// It knows DICOM and nothing of the records: clinic fills a Study and writes its Objects.
package dicomstudy

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // the photo's size and colour model
	_ "image/png"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// SOP classes and transfer syntaxes written here.
const (
	DermoscopicPhotoClass = "1.2.840.10008.5.1.4.1.1.77.1.7"
	VLPhotoClass          = "1.2.840.10008.5.1.4.1.1.77.1.4"
	EncapsulatedPDFClass  = "1.2.840.10008.5.1.4.1.1.104.1"
	SecondaryCaptureClass = "1.2.840.10008.5.1.4.1.1.7"
	ComprehensiveSRClass  = "1.2.840.10008.5.1.4.1.1.88.33"

	explicitLittle = "1.2.840.10008.1.2.1"
	jpegBaseline   = "1.2.840.10008.1.2.4.50"
)

// StudyDescriptionPrefix starts a referral study's description; the triage tier follows.
const StudyDescriptionPrefix = "Dermal referral: "

// ImplementationClassUID names Dermal as the writer of the files (under the 2.25 root, from
// a fixed UUID: no registered root is needed).
const ImplementationClassUID = "2.25.227866946735237016543924006411937447115"

// Patient is who the study is about, as the records hold them.
type Patient struct {
	ID        string // the clinic's patient code
	Issuer    string // who issues the code: the clinic
	Name      string
	Sex       string // "F", "M" or ""
	BirthYear int    // 0: unknown
}

// Study is one referral to be sent.
type Study struct {
	// UIDKey keys the UIDs (the records' data key's "dicom uids" key): UIDs are stable for
	// the same records and ids, and say nothing of them to anyone else.
	UIDKey []byte
	// ReferralID, AssessmentID and LesionID are the records' ids the UIDs come from.
	ReferralID, AssessmentID, LesionID int64

	Patient     Patient
	Institution string // the clinic's name
	Referred    time.Time
	ReferredTo  string
	Clinician   string // who referred
	Question    string // the reason for the referral, the clinician's question
	Program     string // "Dermal 0.7.0"

	// The assessment.
	Taken       time.Time
	Dermoscopic bool   // a dermatoscope photo (DMS); else a plain photo (XC)
	Photo       []byte // as captured (JPEG or PNG)
	BodySite    string // as the records name it
	Side        string // "left", "right", "midline" or ""
	// Result is the model's and the triage's words and numbers, in order, for the SR.
	Tier          string
	TierDriver    string
	Probabilities []Probability
	SevenPoint    []string // the 7-point checklist's items present (nil: not done)
	ABCDE         []string
	Dermoscopy    []string
	DiameterMM    *float64
	Diagnosis     string
	Notes         string
	Model         string // the model's name and checksum

	Letter []byte // the referral letter, PDF
	// GradCAM is the photo with the Grad-CAM map as the clinic saw it (baseline JPEG); nil:
	// none (the model that made the result is not the one here).
	GradCAM []byte
}

// GradCAMSeriesDescription names the series of the Grad-CAM map as sent.
const GradCAMSeriesDescription = "Grad-CAM: where the model looked"

// Probability is one class's probability.
type Probability struct {
	Class string
	P     float64
}

// Object is one DICOM file of the study.
type Object struct {
	Name        string // file name: photo.dcm, letter.dcm, result.dcm
	SOPClass    string
	SOPInstance string
	Data        []byte // the DICOM Part 10 file; with a Frame, all of it before the Pixel Data
	// Frame is the one encapsulated frame of a JPEG image (the photo's bytes as captured, not
	// copied): the file ends with the Pixel Data element that holds it, which Parts writes.
	// The DICOM library writes each value into a buffer of its own first; a 12 MP photo's
	// instance was two more copies of it in memory while it was sent.
	Frame []byte
}

// Parts are the object's file in pieces, to be written or sent one after the other.
func (o Object) Parts() [][]byte {
	if o.Frame == nil {
		return [][]byte{o.Data}
	}
	// (7FE0,0010) OB of undefined length: an empty Basic Offset Table item, the frame's item
	// (even length: the odd byte after a JPEG's end-of-image marker is ignored by decoders),
	// the sequence delimitation item. Explicit VR little endian, as the JPEG transfer
	// syntaxes are; byte for byte what the library writes (a test compares).
	head := []byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
		0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0,
		0xFE, 0xFF, 0x00, 0xE0}
	head = binary.LittleEndian.AppendUint32(head, uint32(len(o.Frame)+len(o.Frame)%2))
	var tail []byte
	if len(o.Frame)%2 == 1 {
		tail = append(tail, 0)
	}
	tail = append(tail, 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0)
	return [][]byte{o.Data, head, o.Frame, tail}
}

// Bytes is the object's whole file.
func (o Object) Bytes() []byte { return bytes.Join(o.Parts(), nil) }

// ErrInvalid means the study cannot be written from what was given.
var ErrInvalid = errors.New("the referral cannot be written as DICOM")

// UID is the study's UID for a part ("study", "photo series", …): 2.25 followed by a UUID
// (version 8, RFC 9562) taken from an HMAC of the part and the records' ids.
func (s Study) UID(part string) string {
	m := hmac.New(sha256.New, s.UIDKey)
	fmt.Fprintf(m, "dermal dicom uid\x00%s\x00%d\x00%d\x00%d", part, s.ReferralID, s.AssessmentID, s.LesionID)
	u := m.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x80 // version 8
	u[8] = u[8]&0x3f | 0x80 // variant 10
	return "2.25." + new(big.Int).SetBytes(u).String()
}

// Objects writes the study's files: the photo, the letter and the result.
func (s Study) Objects() ([]Object, error) {
	if len(s.UIDKey) == 0 {
		return nil, fmt.Errorf("%w: the records have no key for DICOM identifiers (set up staff accounts first)", ErrInvalid)
	}
	if s.Patient.ID == "" || s.Patient.Name == "" {
		return nil, fmt.Errorf("%w: the patient has no code or name", ErrInvalid)
	}
	if len(s.Photo) == 0 {
		return nil, fmt.Errorf("%w: the assessment has no photo", ErrInvalid)
	}
	if !bytes.HasPrefix(s.Letter, []byte("%PDF-")) {
		return nil, fmt.Errorf("%w: the referral letter is not a PDF", ErrInvalid)
	}
	photo, err := s.photoObject()
	if err != nil {
		return nil, err
	}
	letter, err := s.letterObject()
	if err != nil {
		return nil, err
	}
	result, err := s.resultObject(photo)
	if err != nil {
		return nil, err
	}
	objs := []Object{photo, letter, result}
	if s.GradCAM != nil {
		m, err := s.gradcamObject(photo)
		if err != nil {
			return nil, err
		}
		objs = append(objs, m)
	}
	return objs, nil
}

// el makes an element of a tag in the library's dictionary.
func el(t tag.Tag, v any) *dicom.Element {
	e, err := dicom.NewElement(t, v)
	if err != nil {
		panic(fmt.Sprintf("dicomstudy: element %v: %v", t, err)) // a programming error
	}
	return e
}

// raw makes an element of a tag the library's dictionary lacks (newer than it).
func raw(t tag.Tag, vr string, v any) *dicom.Element {
	val, err := dicom.NewValue(v)
	if err != nil {
		panic(fmt.Sprintf("dicomstudy: element %v: %v", t, err))
	}
	return &dicom.Element{Tag: t, RawValueRepresentation: vr, ValueRepresentation: tag.GetVRKind(t, vr), Value: val}
}

func str(t tag.Tag, s string) *dicom.Element {
	if s == "" {
		return el(t, []string{})
	}
	return el(t, []string{s})
}

func da(t time.Time) string { return t.Format("20060102") }
func tm(t time.Time) string { return t.Format("150405") }

// personName writes a name as DICOM's family^given^middle^prefix: Vietnamese names are
// written family name first, so the first word is the family name; a title before it
// ("BS.", "Dr.") is the prefix.
func personName(name string) string {
	f := strings.Fields(name)
	prefix := ""
	if len(f) > 1 && strings.HasSuffix(f[0], ".") {
		prefix, f = f[0], f[1:]
	}
	if len(f) == 0 {
		return ""
	}
	pn := f[0]
	if len(f) > 1 || prefix != "" {
		pn += "^" + strings.Join(f[1:], " ")
	}
	if prefix != "" {
		pn += "^^" + prefix
	}
	return pn
}

// code is one item of a code sequence.
func code(value, scheme, meaning string) []*dicom.Element {
	return []*dicom.Element{str(tag.CodeValue, value), str(tag.CodingSchemeDesignator, scheme), str(tag.CodeMeaning, meaning)}
}

// common is what every object of the study carries: the patient, the study, the equipment
// and the SOP's identity.
func (s Study) common(class, instance, series, modality string, seriesNumber int) []*dicom.Element {
	sex := s.Patient.Sex
	if sex != "F" && sex != "M" {
		sex = ""
	}
	es := []*dicom.Element{
		str(tag.SpecificCharacterSet, "ISO_IR 192"), // UTF-8: Vietnamese names
		str(tag.SOPClassUID, class),
		str(tag.SOPInstanceUID, instance),
		// Dates and times are UTC, and say so.
		str(tag.TimezoneOffsetFromUTC, "+0000"),
		str(tag.StudyDate, da(s.Referred)),
		str(tag.StudyTime, tm(s.Referred)),
		str(tag.AccessionNumber, ""),
		str(tag.Modality, modality),
		str(tag.Manufacturer, "Dermal"),
		str(tag.InstitutionName, s.Institution),
		str(tag.ReferringPhysicianName, personName(s.Clinician)),
		// The tier, for the specialist's inbox (QIDO returns the study's description).
		str(tag.StudyDescription, StudyDescriptionPrefix+s.Tier),
		str(tag.PatientName, personName(s.Patient.Name)),
		str(tag.PatientID, s.Patient.ID),
		str(tag.IssuerOfPatientID, s.Patient.Issuer),
		str(tag.PatientBirthDate, ""),
		str(tag.PatientSex, sex),
		str(tag.SoftwareVersions, s.Program),
		str(tag.StudyInstanceUID, s.UID("study")),
		str(tag.SeriesInstanceUID, series),
		str(tag.StudyID, fmt.Sprintf("R%d", s.ReferralID)),
		el(tag.SeriesNumber, []string{fmt.Sprint(seriesNumber)}),
		el(tag.InstanceNumber, []string{"1"}),
	}
	if s.Patient.BirthYear > 0 {
		if age := s.Referred.Year() - s.Patient.BirthYear; age >= 0 && age < 1000 {
			es = append(es, str(tag.PatientAge, fmt.Sprintf("%03dY", age)))
		}
	}
	return es
}

// file writes a Part 10 file of elements.
func file(class, instance, syntax string, es []*dicom.Element) ([]byte, error) {
	meta := []*dicom.Element{
		el(tag.FileMetaInformationVersion, []byte{0, 1}),
		el(tag.MediaStorageSOPClassUID, []string{class}),
		el(tag.MediaStorageSOPInstanceUID, []string{instance}),
		el(tag.TransferSyntaxUID, []string{syntax}),
		el(tag.ImplementationClassUID, []string{ImplementationClassUID}),
		el(tag.ImplementationVersionName, []string{"DERMAL"}),
	}
	all := append(meta, es...)
	sortElements(all)
	// Sized for the largest value (a photo, a letter) and the attributes: a 12 MP photo's
	// instance is not grown by doubling through copies of itself.
	size := 64 << 10
	for _, e := range all {
		if info, ok := e.Value.GetValue().(dicom.PixelDataInfo); ok {
			for _, f := range info.Frames {
				size += len(f.EncapsulatedData.Data)
			}
			size += len(info.UnprocessedValueData)
		}
		if b, ok := e.Value.GetValue().([]byte); ok {
			size += len(b)
		}
	}
	var buf bytes.Buffer
	buf.Grow(size)
	if err := dicom.Write(&buf, dicom.Dataset{Elements: all}, dicom.SkipVRVerification()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sortElements puts a dataset's elements, and every sequence item's, in tag order, as
// DICOM requires.
func sortElements(es []*dicom.Element) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Tag, es[j].Tag
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		return a.Element < b.Element
	})
	for _, e := range es {
		if items, ok := e.Value.GetValue().([]*dicom.SequenceItemValue); ok {
			for _, it := range items {
				sortElements(it.GetValue().([]*dicom.Element))
			}
		}
	}
}

// anatomy is the body site as SNOMED CT codes (AnatomicRegionSequence), where the records'
// site has one; "" when it has none.
var anatomy = map[string][2]string{
	"scalp":     {"41695006", "Scalp"},
	"face":      {"89545001", "Face"},
	"neck":      {"45048000", "Neck"},
	"chest":     {"51185008", "Chest"},
	"abdomen":   {"818983003", "Abdomen"},
	"back":      {"77568009", "Back"},
	"upper arm": {"40983000", "Upper arm"},
	"forearm":   {"14975008", "Forearm"},
	"hand":      {"85562004", "Hand"},
	"thigh":     {"68367000", "Thigh"},
	"lower leg": {"30021000", "Lower leg"},
	"foot":      {"56459004", "Foot"},
	"genital":   {"263767004", "Genital"},
	"trunk":     {"22943007", "Trunk"},
	"acral":     {"85562004", "Hand"},
}

func (s Study) region() []*dicom.Element {
	c, ok := anatomy[s.BodySite]
	if !ok {
		c = [2]string{"39937001", "Skin"}
	}
	return code(c[0], "SCT", c[1])
}

func laterality(side string) string {
	switch side {
	case "left":
		return "L"
	case "right":
		return "R"
	case "midline":
		return "B"
	}
	return "U"
}

// seriesLaterality is Laterality (0020,0060), which knows only R and L.
func seriesLaterality(side string) string {
	if l := laterality(side); l == "L" || l == "R" {
		return l
	}
	return ""
}

// photoObject is the photo: its JPEG bytes encapsulated as they are (JPEG Baseline), or a
// PNG's pixels as they are (uncompressed RGB).
func (s Study) photoObject() (Object, error) {
	class, modality := VLPhotoClass, "XC"
	if s.Dermoscopic {
		class, modality = DermoscopicPhotoClass, "DMS"
	}
	instance := s.UID("photo")
	cfg, format, err := image.DecodeConfig(bytes.NewReader(s.Photo))
	if err != nil {
		return Object{}, fmt.Errorf("%w: the photo cannot be read: %v", ErrInvalid, err)
	}
	es := s.common(class, instance, s.UID("photo series"), modality, 1)
	es = append(es,
		el(tag.ImageType, []string{"ORIGINAL", "PRIMARY"}),
		str(tag.ContentDate, da(s.Taken)),
		str(tag.ContentTime, tm(s.Taken)),
		str(tag.AcquisitionDateTime, s.Taken.Format("20060102150405")),
		el(tag.AnatomicRegionSequence, [][]*dicom.Element{s.region()}),
		str(tag.ImageLaterality, laterality(s.Side)),
		el(tag.AcquisitionContextSequence, [][]*dicom.Element{}),
		str(tag.BurnedInAnnotation, "NO"),
		str(tag.RecognizableVisualFeatures, "NO"),
		str(tag.PatientOrientation, ""),
	)
	es = append(es, rgbPixels(cfg.Width, cfg.Height)...)
	if s.Dermoscopic {
		// The Dermoscopic Image module (Supplement 221), the equipment it requires, and the
		// frame of reference all the lesion's photos share. What the records do not know of
		// the dermatoscope (polarization, contact, magnification) is sent empty, as its
		// Type 2 allows.
		es = append(es,
			str(tag.FrameOfReferenceUID, s.UID("lesion frame")),
			str(tag.PositionReferenceIndicator, ""),
			str(tag.ManufacturerModelName, "Dermal"),
			str(tag.DeviceSerialNumber, "unknown"),
			raw(tag.Tag{Group: 0x0016, Element: 0x1001}, "CS", []string{}),
			raw(tag.Tag{Group: 0x0016, Element: 0x1002}, "DS", []string{}),
			raw(tag.Tag{Group: 0x0016, Element: 0x1003}, "CS", []string{}),
			raw(tag.Tag{Group: 0x0016, Element: 0x1005}, "DS", []string{}),
			// One lesion followed over visits keeps one tracking UID.
			raw(tag.Tag{Group: 0x0062, Element: 0x0020}, "UT", []string{fmt.Sprintf("lesion %d", s.LesionID)}),
			raw(tag.Tag{Group: 0x0062, Element: 0x0021}, "UI", []string{s.UID("lesion")}),
		)
	}
	var syntax string
	var frame []byte // the JPEG, written after the other attributes as the Pixel Data
	switch format {
	case "jpeg":
		if !isBaselineJPEG(s.Photo) {
			return Object{}, fmt.Errorf("%w: the photo is a progressive or 12-bit JPEG, which DICOM's JPEG Baseline cannot carry unchanged", ErrInvalid)
		}
		syntax = jpegBaseline
		es = append(es, jpegBaselinePixels()...)
		frame = s.Photo
	default:
		img, _, err := image.Decode(bytes.NewReader(s.Photo))
		if err != nil {
			return Object{}, fmt.Errorf("%w: the photo cannot be read: %v", ErrInvalid, err)
		}
		syntax = explicitLittle
		es = append(es,
			str(tag.PhotometricInterpretation, "RGB"),
			str(tag.LossyImageCompression, "00"),
			pixels(dicom.PixelDataInfo{IntentionallyUnprocessed: true, UnprocessedValueData: rgb(img)}, 0),
		)
	}
	data, err := file(class, instance, syntax, es)
	if err != nil {
		return Object{}, err
	}
	return Object{Name: "photo.dcm", SOPClass: class, SOPInstance: instance, Data: data, Frame: frame}, nil
}

// rgbPixels is the Image Pixel module of an 8-bit colour image, its pixels interleaved.
func rgbPixels(width, height int) []*dicom.Element {
	return []*dicom.Element{
		el(tag.SamplesPerPixel, []int{3}),
		el(tag.Rows, []int{height}),
		el(tag.Columns, []int{width}),
		el(tag.BitsAllocated, []int{8}),
		el(tag.BitsStored, []int{8}),
		el(tag.HighBit, []int{7}),
		el(tag.PixelRepresentation, []int{0}),
		el(tag.PlanarConfiguration, []int{0}),
	}
}

// jpegBaselinePixels describes a baseline JPEG frame carried as it is: YCbCr as a JFIF holds
// it, compressed with loss.
func jpegBaselinePixels() []*dicom.Element {
	return []*dicom.Element{
		str(tag.PhotometricInterpretation, "YBR_FULL_422"),
		str(tag.LossyImageCompression, "01"),
		el(tag.LossyImageCompressionMethod, []string{"ISO_10918_1"}),
	}
}

// pixels is the Pixel Data element: encapsulated fragments (undefined length), or native
// bytes (length 0: their own).
func pixels(info dicom.PixelDataInfo, length uint32) *dicom.Element {
	e := el(tag.PixelData, info)
	if length == 0 {
		length = uint32(len(info.UnprocessedValueData))
		e.RawValueRepresentation = "OB"
	}
	e.ValueLength = length
	return e
}

// isBaselineJPEG reports whether a JPEG is baseline (SOF0, 8 bits): what the JPEG Baseline
// transfer syntax carries.
func isBaselineJPEG(b []byte) bool {
	for i := 2; i+4 < len(b); {
		if b[i] != 0xFF {
			return false
		}
		m := b[i+1]
		if m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7) {
			i += 2
			continue
		}
		n := int(b[i+2])<<8 | int(b[i+3])
		switch {
		case m == 0xC0:
			return i+4 < len(b) && b[i+4] == 8
		case m >= 0xC1 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			return false
		case m == 0xDA:
			return false
		}
		i += 2 + n
	}
	return false
}

// rgb is an image's pixels as 8-bit RGB rows, padded to an even length.
func rgb(img image.Image) []byte {
	b := img.Bounds()
	out := make([]byte, 0, b.Dx()*b.Dy()*3+1)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			out = append(out, byte(r>>8), byte(g>>8), byte(bl>>8))
		}
	}
	if len(out)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

// letterObject is the referral letter, a PDF any viewer opens.
func (s Study) letterObject() (Object, error) {
	instance := s.UID("letter")
	doc := s.Letter
	if len(doc)%2 == 1 {
		doc = append(append([]byte(nil), doc...), 0) // OB is of even length; a PDF reader ignores what follows %%EOF
	}
	es := s.common(EncapsulatedPDFClass, instance, s.UID("letter series"), "DOC", 2)
	es = append(es,
		str(tag.ContentDate, da(s.Referred)),
		str(tag.ContentTime, tm(s.Referred)),
		str(tag.AcquisitionDateTime, s.Referred.Format("20060102150405")),
		str(tag.ConversionType, "WSD"),
		str(tag.BurnedInAnnotation, "YES"),
		str(tag.DocumentTitle, "Referral letter"),
		el(tag.ConceptNameCodeSequence, [][]*dicom.Element{code("57133-1", "LN", "Referral note")}),
		str(tag.MIMETypeOfEncapsulatedDocument, "application/pdf"),
		el(tag.EncapsulatedDocument, doc),
	)
	data, err := file(EncapsulatedPDFClass, instance, explicitLittle, es)
	if err != nil {
		return Object{}, err
	}
	return Object{Name: "letter.dcm", SOPClass: EncapsulatedPDFClass, SOPInstance: instance, Data: data}, nil
}

// Concepts of the result's content tree: DICOM's and SNOMED CT's where they have one,
// Dermal's own (private scheme 99DERMAL) for what the triage names.
var (
	conceptResult      = code("DERMAL-1", "99DERMAL", "Dermal skin-lesion triage")
	conceptQuestion    = code("DERMAL-2", "99DERMAL", "Question to the specialist")
	conceptTier        = code("DERMAL-3", "99DERMAL", "Risk tier")
	conceptTierDriver  = code("DERMAL-4", "99DERMAL", "What decided the tier")
	conceptProbability = code("DERMAL-5", "99DERMAL", "Model probability")
	conceptSevenPoint  = code("DERMAL-6", "99DERMAL", "7-point checklist items present")
	conceptABCDE       = code("DERMAL-7", "99DERMAL", "ABCDE items present")
	conceptDermoscopy  = code("DERMAL-8", "99DERMAL", "Dermoscopic criteria present")
	conceptModel       = code("DERMAL-9", "99DERMAL", "Model")
	conceptDiameter    = code("81827009", "SCT", "Diameter")
	conceptDiagnosis   = code("DERMAL-10", "99DERMAL", "Clinician's working diagnosis")
	conceptNotes       = code("DERMAL-11", "99DERMAL", "Clinician's notes")
	conceptPhoto       = code("DERMAL-12", "99DERMAL", "Lesion photo")
	conceptReferredTo  = code("DERMAL-13", "99DERMAL", "Referred to")
)

func contentItem(valueType string, concept []*dicom.Element, value ...*dicom.Element) []*dicom.Element {
	return append([]*dicom.Element{
		str(tag.RelationshipType, "CONTAINS"),
		str(tag.ValueType, valueType),
		el(tag.ConceptNameCodeSequence, [][]*dicom.Element{concept}),
	}, value...)
}

func textItem(concept []*dicom.Element, text string) []*dicom.Element {
	return contentItem("TEXT", concept, str(tag.TextValue, text))
}

func numItem(concept []*dicom.Element, value float64, unit []*dicom.Element) []*dicom.Element {
	v := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", value), "0"), ".")
	return contentItem("NUM", concept, el(tag.MeasuredValueSequence, [][]*dicom.Element{{
		el(tag.MeasurementUnitsCodeSequence, [][]*dicom.Element{unit}),
		el(tag.NumericValue, []string{v}),
	}}))
}

// resultObject is the triage result as a Comprehensive SR that references the photo.
func (s Study) resultObject(photo Object) (Object, error) {
	instance := s.UID("result")
	var items [][]*dicom.Element
	if s.Question != "" {
		items = append(items, textItem(conceptQuestion, s.Question))
	}
	if s.ReferredTo != "" {
		items = append(items, textItem(conceptReferredTo, s.ReferredTo))
	}
	items = append(items, textItem(conceptTier, s.Tier))
	if s.TierDriver != "" {
		items = append(items, textItem(conceptTierDriver, s.TierDriver))
	}
	percent := code("%", "UCUM", "percent")
	for _, p := range s.Probabilities {
		items = append(items, numItem(append(conceptProbability[:2:2], str(tag.CodeMeaning, "Model probability: "+p.Class)), 100*p.P, percent))
	}
	for _, l := range []struct {
		concept []*dicom.Element
		items   []string
	}{{conceptSevenPoint, s.SevenPoint}, {conceptABCDE, s.ABCDE}, {conceptDermoscopy, s.Dermoscopy}} {
		if l.items != nil {
			text := strings.Join(l.items, ", ")
			if text == "" {
				text = "none"
			}
			items = append(items, textItem(l.concept, text))
		}
	}
	if s.DiameterMM != nil {
		items = append(items, numItem(conceptDiameter, *s.DiameterMM, code("mm", "UCUM", "millimeter")))
	}
	if s.Diagnosis != "" {
		items = append(items, textItem(conceptDiagnosis, s.Diagnosis))
	}
	if s.Notes != "" {
		items = append(items, textItem(conceptNotes, s.Notes))
	}
	if s.Model != "" {
		items = append(items, textItem(conceptModel, s.Model))
	}
	items = append(items, contentItem("IMAGE", conceptPhoto, el(tag.ReferencedSOPSequence, [][]*dicom.Element{{
		str(tag.ReferencedSOPClassUID, photo.SOPClass),
		str(tag.ReferencedSOPInstanceUID, photo.SOPInstance),
	}})))
	es := s.common(ComprehensiveSRClass, instance, s.UID("result series"), "SR", 3)
	es = append(es,
		str(tag.ContentDate, da(s.Referred)),
		str(tag.ContentTime, tm(s.Referred)),
		el(tag.ReferencedPerformedProcedureStepSequence, [][]*dicom.Element{}),
		str(tag.CompletionFlag, "COMPLETE"),
		str(tag.VerificationFlag, "UNVERIFIED"),
		el(tag.PerformedProcedureCodeSequence, [][]*dicom.Element{}),
		el(tag.CurrentRequestedProcedureEvidenceSequence, [][]*dicom.Element{{
			str(tag.StudyInstanceUID, s.UID("study")),
			el(tag.ReferencedSeriesSequence, [][]*dicom.Element{{
				str(tag.SeriesInstanceUID, s.UID("photo series")),
				el(tag.ReferencedSOPSequence, [][]*dicom.Element{{
					str(tag.ReferencedSOPClassUID, photo.SOPClass),
					str(tag.ReferencedSOPInstanceUID, photo.SOPInstance),
				}}),
			}}),
		}}),
		str(tag.ValueType, "CONTAINER"),
		el(tag.ConceptNameCodeSequence, [][]*dicom.Element{conceptResult}),
		str(tag.ContinuityOfContent, "SEPARATE"),
		el(tag.ContentSequence, items),
	)
	data, err := file(ComprehensiveSRClass, instance, explicitLittle, es)
	if err != nil {
		return Object{}, err
	}
	return Object{Name: "result.dcm", SOPClass: ComprehensiveSRClass, SOPInstance: instance, Data: data}, nil
}

// gradcamObject is the photo with the Grad-CAM map as the clinic saw it: a Secondary Capture
// derived from the photo, its JPEG encapsulated as it was made.
func (s Study) gradcamObject(photo Object) (Object, error) {
	instance := s.UID("gradcam")
	cfg, format, err := image.DecodeConfig(bytes.NewReader(s.GradCAM))
	if err != nil || format != "jpeg" || !isBaselineJPEG(s.GradCAM) {
		return Object{}, fmt.Errorf("%w: the Grad-CAM map is not a baseline JPEG", ErrInvalid)
	}
	es := s.common(SecondaryCaptureClass, instance, s.UID("gradcam series"), "OT", 4)
	es = append(es,
		str(tag.SeriesDescription, GradCAMSeriesDescription),
		el(tag.ImageType, []string{"DERIVED", "SECONDARY"}),
		str(tag.ConversionType, "WSD"),
		str(tag.ContentDate, da(s.Taken)),
		str(tag.ContentTime, tm(s.Taken)),
		str(tag.DerivationDescription, "Grad-CAM overlay of the lesion photo: where the model looked (Dermal)"),
		el(tag.SourceImageSequence, [][]*dicom.Element{{
			str(tag.ReferencedSOPClassUID, photo.SOPClass),
			str(tag.ReferencedSOPInstanceUID, photo.SOPInstance),
		}}),
		str(tag.PatientOrientation, ""),
		// The series' laterality (Type 2C in General Series): R or L, empty where the site
		// has no side.
		str(tag.Laterality, seriesLaterality(s.Side)),
		str(tag.BurnedInAnnotation, "NO"),
	)
	es = append(es, rgbPixels(cfg.Width, cfg.Height)...)
	es = append(es, jpegBaselinePixels()...)
	data, err := file(SecondaryCaptureClass, instance, jpegBaseline, es)
	if err != nil {
		return Object{}, err
	}
	return Object{Name: "gradcam.dcm", SOPClass: SecondaryCaptureClass, SOPInstance: instance, Data: data, Frame: s.GradCAM}, nil
}
