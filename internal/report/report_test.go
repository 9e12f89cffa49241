package report

import (
	"bytes"
	"dermal/internal/testtool"
	"flag"
	"image"
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/disintegration/imaging"
	"golang.org/x/text/unicode/norm"

	"dermal/internal/locale"
	"dermal/internal/storage"
)

var update = flag.Bool("update", false, "rewrite the golden text files")

const fixtures = "../inference/testdata/fixtures"

var printed = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

func photo(t testing.TB, name string) image.Image {
	t.Helper()
	img, err := imaging.Open(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

var labels = []string{"akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"}
var labelNames = map[string]string{
	"akiec": "Actinic keratosis / intraepithelial carcinoma (Bowen's disease)", "bcc": "Basal cell carcinoma",
	"bkl": "Benign keratosis-like lesion", "df": "Dermatofibroma", "mel": "Melanoma", "nv": "Melanocytic nevus", "vasc": "Vascular lesion",
}

var diameter = 8.5

func testCase(t testing.TB, lang string) Case {
	follow := time.Date(2027, 2, 20, 0, 0, 0, 0, time.UTC)
	ph := photo(t, "ISIC_0024311.png")
	sha := strings.Repeat("ab", 32)
	return Case{
		Language: lang, Clinic: "Trạm Y tế xã Đồng Tâm", Printed: printed,
		// The name arrives decomposed (NFD), as some keyboards and file names produce it.
		Patient: storage.Patient{ID: 1, Code: "P001", FullName: norm.NFD.String("Nguyễn Thị Hồng"), Sex: "F", BirthYear: 1961},
		Lesion:  storage.Lesion{ID: 1, BodySite: "acral", SiteDetail: "gót chân trái, mặt trong, sát bờ ngoài của lòng bàn chân"},
		Labels:  labels, LabelNames: labelNames, Malignant: []string{"akiec", "bcc", "mel"}, ModelName: "dermal-test 1.0", ModelSHA: sha,
		Program: "Dermal 9.9.9-test",
		Current: Visit{
			Assessment: storage.Assessment{ID: 7, TakenAt: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), ModelName: "dermal-test 1.0", ModelSHA256: sha,
				Probabilities: map[string]float64{"akiec": 0.05, "bcc": 0.04, "bkl": 0.1, "df": 0.01, "mel": 0.62, "nv": 0.17, "vasc": 0.01},
				RiskTier:      "urgent", TierDriver: "mel", Warnings: []string{"blurry"}, Diagnosis: "Nghi ngờ u hắc tố", Notes: "Tổn thương to ra trong 3 tháng.", FollowUp: &follow,
				PhotoType: "dermoscopic", SevenPoint: []string{"size", "colour"}, ABCDE: []string{"asymmetry", "evolving"}, DiameterMM: &diameter},
			Photo:   ph,
			Overlay: imaging.Overlay(ph, imaging.New(ph.Bounds().Dx(), ph.Bounds().Dy(), color.NRGBA{255, 200, 0, 255}), image.Point{}, 0.4),
		},
	}
}

func render(t testing.TB, c Case) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, c); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// poppler runs a poppler-utils tool (installed by `make deps`) on a PDF and returns its output.
func poppler(t *testing.T, tool string, pdf []byte, args ...string) string {
	t.Helper()
	testtool.Need(t, tool)
	f := filepath.Join(t.TempDir(), "r.pdf")
	if err := os.WriteFile(f, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	args = append(args, f)
	if tool == "pdftotext" {
		args = append(args, "-")
	}
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, out)
	}
	return string(out)
}

func TestReportTextInBothLanguages(t *testing.T) {
	for _, tc := range []struct {
		lang                                   string
		title, topClass, disclaimer, tier, sex string
		followUp                               string
	}{
		{"en", "Skin lesion assessment report", "Melanoma", "This result is decision support, not a diagnosis.", "Urgent referral", "Female", "20 Feb 2027"},
		{"vi", "Phiếu đánh giá tổn thương da", "U hắc tố ác tính", "Kết quả này chỉ hỗ trợ quyết định, không phải chẩn đoán.", "Chuyển tuyến khẩn", "Nữ", "20/02/2027"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			txt := poppler(t, "pdftotext", render(t, testCase(t, tc.lang)), "-layout")
			txt = strings.Join(strings.Fields(txt), " ")
			for _, want := range []string{"Nguyễn Thị Hồng", "P001", "Trạm Y tế xã Đồng Tâm", tc.title, tc.topClass, tc.disclaimer, tc.tier, tc.sex,
				"Nghi ngờ u hắc tố", "Tổn thương to ra trong 3 tháng.", tc.followUp, map[string]string{"en": "62.0 %", "vi": "62,0 %"}[tc.lang], strings.Repeat("ab", 32), "gót chân trái", "Dermal 9.9.9-test"} {
				if !strings.Contains(txt, want) {
					t.Errorf("report text lacks %q:\n%s", want, txt)
				}
			}
			if !norm.NFC.IsNormalString(txt) {
				t.Error("report text is not NFC")
			}
		})
	}
}

func TestReportEmbedsPhotoAndOverlayUndistorted(t *testing.T) {
	c := testCase(t, "en")
	// A 4000x3000 photo must be scaled down, keeping its 4:3 shape.
	c.Current.Photo = imaging.Resize(c.Current.Photo, 4000, 3000, imaging.Linear)
	pdf := render(t, c)
	list := poppler(t, "pdfimages", pdf, "-list")
	var sizes []string
	for _, line := range strings.Split(list, "\n")[2:] {
		if f := strings.Fields(line); len(f) > 4 && f[2] == "image" {
			sizes = append(sizes, f[3]+"x"+f[4])
		}
	}
	if len(sizes) != 2 || sizes[0] != "800x600" || sizes[1] != "200x150" && sizes[1] != "199x149" {
		t.Errorf("images %v, want the photo scaled to 800x600 and the 200x150 overlay\n%s", sizes, list)
	}
	if len(pdf) > 1_500_000 {
		t.Errorf("report is %d bytes; the limit is 1.5 MB", len(pdf))
	}
}

func TestHistoryReportListsEarlierAssessments(t *testing.T) {
	c := testCase(t, "vi")
	for i, d := range []time.Time{time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC), time.Date(2026, 7, 14, 8, 5, 0, 0, time.UTC)} {
		c.Earlier = append(c.Earlier, Visit{Thumb: photo(t, "ISIC_0024318.png"), Assessment: storage.Assessment{ID: storage.AssessmentID(i + 1), TakenAt: d,
			Probabilities: map[string]float64{"nv": 0.8, "mel": 0.2}, RiskTier: "review", Diagnosis: "Theo dõi"}})
	}
	c.Earlier[1].Assessment.Dermoscopy = []string{"regression", "irregular-dots"}
	pdf := render(t, c)
	txt := poppler(t, "pdftotext", pdf)
	for _, want := range []string{"Phiếu theo dõi tổn thương da", "Các lần đánh giá trước", "02/03/2026", "14/07/2026", "Nốt ruồi (bớt sắc tố) 80 %", "Cần chuyên khoa xem", "Soi da 7 điểm: 2 / 10"} {
		if !strings.Contains(txt, want) {
			t.Errorf("history report lacks %q", want)
		}
	}
	if n := strings.Count(poppler(t, "pdfimages", pdf, "-list"), " image "); n != 4 {
		t.Errorf("%d images, want photo, overlay and 2 thumbnails", n)
	}
}

func TestReportWithoutOverlaySaysWhy(t *testing.T) {
	c := testCase(t, "en")
	c.Current.Overlay, c.Current.OverlayNote = nil, "Made by an earlier model."
	txt := poppler(t, "pdftotext", render(t, c))
	if !strings.Contains(txt, "Made by an earlier model.") {
		t.Error("the missing overlay is not explained")
	}
}

// Same case, same bytes: the creation date is the case's, and nothing else varies. The text
// is also compared with a golden file (go test ./report -update rewrites it).
func TestReportIsDeterministicAndMatchesGolden(t *testing.T) {
	for _, lang := range []string{"en", "vi"} {
		a, b := render(t, testCase(t, lang)), render(t, testCase(t, lang))
		if !bytes.Equal(a, b) {
			t.Fatalf("%s: two renders of the same case differ", lang)
		}
		txt := poppler(t, "pdftotext", a, "-layout")
		golden := filepath.Join("testdata", "report-"+lang+".txt")
		if *update {
			if err := os.WriteFile(golden, []byte(txt), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if string(want) != txt {
			t.Errorf("%s: report text differs from %s (run go test ./report -update and review the diff)", lang, golden)
		}
	}
}

func TestIncompleteCaseIsRefused(t *testing.T) {
	c := testCase(t, "en")
	c.Current.Photo = nil
	var b bytes.Buffer
	if err := Render(&b, c); err == nil || b.Len() != 0 {
		t.Errorf("a case without a photo: err %v, %d bytes written", err, b.Len())
	}
}

func BenchmarkRender(b *testing.B) {
	c := testCase(b, "vi")
	c.Current.Photo = imaging.Resize(c.Current.Photo, 1600, 1200, imaging.Lanczos)
	c.Current.Overlay = imaging.Resize(c.Current.Overlay, 1600, 1200, imaging.Lanczos)
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := Render(&bytes.Buffer{}, c); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "median-ms")
}

func TestMain(m *testing.M) {
	// Dates print in local time; the golden files are in UTC.
	time.Local = time.UTC
	os.Exit(m.Run())
}

// The result is headed by what drove the tier, the examination is printed, and a long body
// site has its own line instead of running into "Photo taken" (it did, in both languages).
func TestReportHeadlineExaminationAndLayout(t *testing.T) {
	for _, tc := range []struct{ lang, headline, photoTaken, site, checklist string }{
		{"en", "Melanoma 62% — refer urgently (seen within 2 weeks)", "Photo taken", "Acral (palm or sole)", "Change in size (2), Irregular colour or change in colour (2): 4 / 10"},
		{"vi", "U hắc tố ác tính 62% — chuyển tuyến khẩn (khám trong vòng 2 tuần)", "Thời điểm chụp", "gót chân trái", "Thay đổi kích thước (2), Màu không đều hoặc thay đổi màu (2): 4 / 10"},
	} {
		layout := poppler(t, "pdftotext", render(t, testCase(t, tc.lang)), "-layout")
		flat := strings.Join(strings.Fields(layout), " ")
		// Decimals as the language writes them (the clinic's day, item 12).
		for _, want := range []string{tc.headline, tc.checklist, map[string]string{"en": "8.5 mm", "vi": "8,5 mm"}[tc.lang]} {
			if !strings.Contains(flat, want) {
				t.Errorf("%s: report lacks %q", tc.lang, want)
			}
		}
		for _, line := range strings.Split(layout, "\n") {
			if strings.Contains(line, tc.site) && strings.Contains(line, tc.photoTaken) {
				t.Errorf("%s: the body site shares a line with %q: %q", tc.lang, tc.photoTaken, line)
			}
		}
		c := testCase(t, tc.lang)
		yes, no := true, false
		c.Patient.ConsentPhotos, c.Patient.ConsentReferral = &yes, &no
		c.Patient.ConsentAt = &printed
		c.Current.Assessment.AssessedBy = "BS. Lê Văn An"
		consent := locale.T(tc.lang, "photos stored") + ": " + locale.T(tc.lang, "agreed") + " · " + locale.T(tc.lang, "shared for referral") + ": " + locale.T(tc.lang, "refused")
		if flat := strings.Join(strings.Fields(poppler(t, "pdftotext", render(t, c), "-layout")), " "); !strings.Contains(flat, consent) ||
			!strings.Contains(flat, locale.T(tc.lang, "Assessed by")+" BS. Lê Văn An") {
			t.Errorf("%s: the report does not print the consent %q or who assessed: %s", tc.lang, consent, flat)
		}
		c.Current.Assessment.PhotoType = "plain"
		if flat := strings.Join(strings.Fields(poppler(t, "pdftotext", render(t, c))), " "); !strings.Contains(flat, locale.T(tc.lang, "model.not_validated")) {
			t.Errorf("%s: a plain photo's report does not say the model is not validated for it", tc.lang)
		}
	}
}

// The two photo captions do not run into each other (the Grad-CAM caption is wider than its
// photo; it overlapped the photo's caption once the photos were made smaller).
func TestPhotoCaptionsDoNotOverlap(t *testing.T) {
	bbox := poppler(t, "pdftotext", render(t, testCase(t, "en")), "-bbox")
	word := regexp.MustCompile(`<word xMin="([0-9.]+)" yMin="([0-9.]+)" xMax="([0-9.]+)" yMax="[0-9.]+">([^<]*)</word>`)
	type box struct{ x0, y, x1 float64 }
	var analysed, where *box
	for _, m := range word.FindAllStringSubmatch(bbox, -1) {
		x0, _ := strconv.ParseFloat(m[1], 64)
		y, _ := strconv.ParseFloat(m[2], 64)
		x1, _ := strconv.ParseFloat(m[3], 64)
		switch {
		case m[4] == "analysed)" && analysed == nil:
			analysed = &box{x0, y, x1}
		case m[4] == "Where" && where == nil:
			where = &box{x0, y, x1}
		}
	}
	if analysed == nil || where == nil {
		t.Fatalf("captions not found")
	}
	if math.Abs(analysed.y-where.y) < 2 && analysed.x1 > where.x0 {
		t.Errorf("the captions overlap: \"analysed)\" ends at %.1f, \"Where\" starts at %.1f", analysed.x1, where.x0)
	}
}

// A dermoscopic checklist that drove the tier is printed on its own line, apart from the
// clinical checklist, with the headline naming its score, in both languages; with the clinical
// checklist not done, the report stays one page.
func TestReportPrintsTheDermoscopicChecklist(t *testing.T) {
	for _, tc := range []struct{ lang, headline, line string }{
		{"en", "Dermoscopic 7-point score 3 — refer urgently", "Dermoscopy 7-pt Atypical pigment network (2), Regression structures (1): 3 / 10"},
		{"vi", "Bảng kiểm soi da 7 điểm: 3 điểm — chuyển tuyến khẩn", "Soi da 7 điểm Mạng sắc tố không điển hình (2), Cấu trúc thoái triển (1): 3 / 10"},
	} {
		c := testCase(t, tc.lang)
		c.Current.Assessment.TierDriver = "dermoscopy"
		c.Current.Assessment.Dermoscopy = []string{"atypical-network", "regression"}
		c.Current.Assessment.SevenPoint = nil
		pdf := render(t, c)
		flat := strings.Join(strings.Fields(poppler(t, "pdftotext", pdf, "-layout")), " ")
		for _, want := range []string{tc.headline, tc.line} {
			if !strings.Contains(flat, want) {
				t.Errorf("%s: report lacks %q", tc.lang, want)
			}
		}
		if info := poppler(t, "pdfinfo", pdf); !regexp.MustCompile(`Pages:\s+1\n`).MatchString(info) {
			t.Errorf("%s: the report is not one page: %s", tc.lang, info)
		}
	}
}
