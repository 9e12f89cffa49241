package dicomstudy

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// testPhoto is a small photo of a brown lesion on skin, as a JPEG or a PNG.
func testPhoto(t testing.TB, format string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			c := color.RGBA{220, 180, 160, 255}
			if (x-32)*(x-32)+(y-24)*(y-24) < 100 {
				c = color.RGBA{90, 50, 30, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if format == "png" {
		png.Encode(&b, img)
	} else {
		jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
	}
	return b.Bytes()
}

var testLetter = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

func testStudy(t testing.TB, format string, dermoscopic bool) Study {
	d := 6.5
	return Study{
		UIDKey: []byte("a key of the records, 32 bytes.."), ReferralID: 7, AssessmentID: 42, LesionID: 9,
		Patient:     Patient{ID: "BN-7", Issuer: "Trạm Y tế xã Đồng Tâm", Name: "Nguyễn Thị Hồng", Sex: "F", BirthYear: 1971},
		Institution: "Trạm Y tế xã Đồng Tâm", Referred: time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC), ReferredTo: "Khoa Da liễu, BV tỉnh",
		Clinician: "Lê Văn An", Question: "Nốt ruồi gan bàn chân thay đổi màu: có cần sinh thiết?", Program: "Dermal test",
		Taken: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), Dermoscopic: dermoscopic, Photo: testPhoto(t, format), BodySite: "foot", Side: "left",
		Tier: "urgent", TierDriver: "mel", Probabilities: []Probability{{"mel", 0.61}, {"nv", 0.3}},
		SevenPoint: []string{"atypical_network", "blue_white_veil"}, ABCDE: []string{}, DiameterMM: &d,
		Diagnosis: "acral melanoma?", Model: "dermal-mobilenetv2 3.0.0", Letter: testLetter, GradCAM: testPhoto(t, "jpeg"),
	}
}

// dciodvfy checks a file against its IOD (Debian's dicom3tools) and returns its errors.
func dciodvfy(t *testing.T, path string) []string {
	t.Helper()
	bin, err := exec.LookPath("dciodvfy")
	if err != nil {
		t.Skip("dciodvfy (Debian's dicom3tools) is not installed: make deps installs it")
	}
	out, _ := exec.Command(bin, "-new", path).CombinedOutput()
	var errs []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Error") {
			errs = append(errs, l)
		}
	}
	t.Logf("%s:\n%s", filepath.Base(path), out)
	return errs
}

// Every object of a referral study passes dciodvfy without an error: a dermoscopic JPEG
// (DMS), a plain PNG (XC), the letter and the result.
func TestObjectsPassDciodvfy(t *testing.T) {
	for _, c := range []struct {
		format      string
		dermoscopic bool
	}{{"jpeg", true}, {"png", false}} {
		objs, err := testStudy(t, c.format, c.dermoscopic).Objects()
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		for _, o := range objs {
			p := filepath.Join(dir, o.Name)
			os.WriteFile(p, o.Bytes(), 0o600)
			if errs := dciodvfy(t, p); len(errs) > 0 {
				t.Errorf("%s %s: dciodvfy: %s", c.format, o.Name, strings.Join(errs, "; "))
			}
		}
	}
}

// The photo travels as it was captured: the JPEG's bytes are the encapsulated frame, byte
// for byte (padded to even length), and a PNG's pixels are sent unchanged.
func TestPhotoIsNotReencoded(t *testing.T) {
	st := testStudy(t, "jpeg", true)
	objs, err := st.Objects()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dicom.Parse(bytes.NewReader(objs[0].Bytes()), int64(len(objs[0].Bytes())), nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ds.FindElementByTag(tag.PixelData)
	if err != nil {
		t.Fatal(err)
	}
	info := dicom.MustGetPixelDataInfo(e.Value)
	if len(info.Frames) != 1 || !bytes.Equal(bytes.TrimSuffix(info.Frames[0].EncapsulatedData.Data, []byte{0}), bytes.TrimSuffix(st.Photo, []byte{0})) {
		t.Fatalf("the encapsulated frame is not the captured JPEG (%d frames)", len(info.Frames))
	}
	if ts, _ := ds.FindElementByTag(tag.TransferSyntaxUID); dicom.MustGetStrings(ts.Value)[0] != jpegBaseline {
		t.Errorf("transfer syntax %v", ts.Value)
	}
	// The Pixel Data written after the library's part is what the library writes itself, byte
	// for byte, for a frame of odd and of even length.
	for _, photo := range [][]byte{st.Photo, append(append([]byte(nil), st.Photo...), 0)} {
		st.Photo = photo
		objs, err := st.Objects()
		if err != nil {
			t.Fatal(err)
		}
		whole := objs[0].Bytes()
		ds, err := dicom.Parse(bytes.NewReader(whole), int64(len(whole)), nil)
		if err != nil {
			t.Fatal(err)
		}
		var again bytes.Buffer
		if err := dicom.Write(&again, ds, dicom.SkipVRVerification()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Bytes(), whole) {
			t.Errorf("a %d-byte frame: the file differs from the library's own writing of it (%d and %d bytes)", len(photo), len(whole), again.Len())
		}
	}
	st = testStudy(t, "jpeg", true)
	// A progressive JPEG cannot go as JPEG Baseline: refused with a reason, not re-encoded.
	prog := append([]byte(nil), st.Photo...)
	if i := bytes.Index(prog, []byte{0xFF, 0xC0}); i > 0 {
		prog[i+1] = 0xC2
	}
	st.Photo = prog
	if _, err := st.Objects(); err == nil || !strings.Contains(err.Error(), "progressive") {
		t.Errorf("a progressive JPEG: %v", err)
	}
}

// The UIDs are stable for the same referral (a retry sends the same instances: the hub keeps
// one copy), differ between referrals and between clinics' keys, and are valid 2.25 UIDs.
func TestUIDsAreStable(t *testing.T) {
	a, _ := testStudy(t, "jpeg", true).Objects()
	b, _ := testStudy(t, "jpeg", true).Objects()
	for i := range a {
		if a[i].SOPInstance != b[i].SOPInstance || !bytes.Equal(a[i].Bytes(), b[i].Bytes()) {
			t.Errorf("%s differs between two writes of the same referral", a[i].Name)
		}
		if len(a[i].SOPInstance) > 64 || !strings.HasPrefix(a[i].SOPInstance, "2.25.") || strings.Contains(a[i].SOPInstance[5:], ".") {
			t.Errorf("UID %q", a[i].SOPInstance)
		}
	}
	other := testStudy(t, "jpeg", true)
	other.ReferralID = 8
	c, _ := other.Objects()
	other.ReferralID, other.UIDKey = 7, []byte("another clinic's key, 32 bytes..")
	d, _ := other.Objects()
	for i := range a {
		if a[i].SOPInstance == c[i].SOPInstance || a[i].SOPInstance == d[i].SOPInstance {
			t.Errorf("%s: the same UID for another referral or another clinic", a[i].Name)
		}
	}
	if st := testStudy(t, "jpeg", true); st.UID("study") == st.UID("photo") {
		t.Error("the study and the photo share a UID")
	}
}

// Bad input is refused with what is wrong, before any file is made.
func TestBadStudyIsRefused(t *testing.T) {
	for name, change := range map[string]func(*Study){
		"no key":        func(s *Study) { s.UIDKey = nil },
		"no patient":    func(s *Study) { s.Patient.ID = "" },
		"no photo":      func(s *Study) { s.Photo = nil },
		"not a photo":   func(s *Study) { s.Photo = []byte("not an image") },
		"letter no PDF": func(s *Study) { s.Letter = []byte("<html>") },
	} {
		s := testStudy(t, "jpeg", true)
		change(&s)
		if _, err := s.Objects(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestPersonName(t *testing.T) {
	for in, want := range map[string]string{
		"Nguyễn Thị Hồng": "Nguyễn^Thị Hồng",
		"BS. Lê Văn An":   "Lê^Văn An^^BS.",
		"An":              "An",
		"Dr. Smith":       "Smith^^^Dr.",
	} {
		if got := personName(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// A specialist's reply passes dciodvfy, reads back as written, and the same reply written
// again has the same UID.
func TestReplyRoundTrip(t *testing.T) {
	r := Reply{UIDKey: []byte("the specialist's key, 32 bytes.."), StudyUID: "2.25.1234", StudyDate: "20261207", StudyTime: "093000",
		StudyID: "R7", PatientName: "Nguyễn^Thị Hồng", PatientID: "BN-7", Issuer: "Trạm Y tế", PatientSex: "F", Institution: "Trạm Y tế",
		Specialist: "BS. Trần Minh", Answered: time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC), Diagnosis: "Nốt ruồi loạn sản",
		Advice: "Theo dõi sau 3 tháng", Plan: PlanSee, SeeWithin: 14, Program: "Dermal test"}
	o, err := r.Object()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), o.Name)
	os.WriteFile(p, o.Bytes(), 0o600)
	if errs := dciodvfy(t, p); len(errs) > 0 {
		t.Errorf("dciodvfy: %s", strings.Join(errs, "; "))
	}
	back, err := ReadReply(o.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if back.Diagnosis != r.Diagnosis || back.Advice != r.Advice || back.Plan != r.Plan || back.SeeWithin != 14 || back.Specialist != r.Specialist ||
		back.StudyUID != r.StudyUID || !back.Answered.Equal(r.Answered) {
		t.Errorf("read back %+v", back)
	}
	again, _ := r.Object()
	if again.SOPInstance != o.SOPInstance {
		t.Error("the same reply got another UID")
	}
	pdf, err := r.PDFObject(testLetter)
	if err != nil {
		t.Fatal(err)
	}
	pp := filepath.Join(t.TempDir(), pdf.Name)
	os.WriteFile(pp, pdf.Bytes(), 0o600)
	if errs := dciodvfy(t, pp); len(errs) > 0 {
		t.Errorf("the reply's PDF: dciodvfy: %s", strings.Join(errs, "; "))
	}
	if back, _ := ReadObject(pdf.Bytes()); back.Title != "Specialist's reply" || !bytes.HasPrefix(back.Letter, []byte("%PDF-")) {
		t.Errorf("the reply's PDF read back: %q", back.Title)
	}
	r.Plan, r.SeeWithin = PlanSee, 0
	if _, err := r.Object(); !errors.Is(err, ErrInvalid) {
		t.Errorf("see within 0 days: %v", err)
	}
	if _, err := ReadReply(testStudyObject(t)); !errors.Is(err, ErrInvalid) {
		t.Errorf("a referral's result read as a reply: %v", err)
	}
}

func testStudyObject(t *testing.T) []byte {
	objs, err := testStudy(t, "jpeg", true).Objects()
	if err != nil {
		t.Fatal(err)
	}
	return objs[2].Bytes()
}

// A specialist's Dermal reads each object back: the photo's JPEG as sent, a PNG's pixels,
// the letter's PDF, and the result's lines.
func TestReadObject(t *testing.T) {
	for _, format := range []string{"jpeg", "png"} {
		st := testStudy(t, format, format == "jpeg")
		objs, err := st.Objects()
		if err != nil {
			t.Fatal(err)
		}
		photo, err := ReadObject(objs[0].Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if format == "jpeg" && !bytes.Equal(bytes.TrimSuffix(photo.JPEG, []byte{0}), bytes.TrimSuffix(st.Photo, []byte{0})) {
			t.Error("the JPEG read back differs")
		}
		if format == "png" && (len(photo.RGB) < 64*48*3 || photo.Width != 64 || photo.Height != 48) {
			t.Errorf("PNG pixels read back: %d bytes, %d×%d", len(photo.RGB), photo.Width, photo.Height)
		}
		letter, _ := ReadObject(objs[1].Bytes())
		if !bytes.HasPrefix(letter.Letter, []byte("%PDF-")) {
			t.Error("the letter read back is not the PDF")
		}
		result, _ := ReadObject(objs[2].Bytes())
		var lines []string
		for _, it := range result.Items {
			lines = append(lines, it.String())
		}
		text := strings.Join(lines, "\n")
		for _, want := range []string{"Risk tier: urgent", "Diameter: 6.5 mm", "Question to the specialist: Nốt ruồi", "Model probability: mel: 61 %"} {
			if !strings.Contains(text, want) {
				t.Errorf("result lines lack %q:\n%s", want, text)
			}
		}
	}
}
