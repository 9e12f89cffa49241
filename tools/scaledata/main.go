// Command scaledata makes records of a clinic in its fifth year for the scale benchmarks
// (make scale-data, make bench-scale): N patients (codes S-000001…), three assessments each
// over the last two years with real photos and the model's real results, follow-ups,
// referral outcomes, entered through the app's own clinic layer under one administrator's
// login, as the clinic itself would have entered them. With -add K it adds a day's work
// instead: K assessments today, of patients already there.
//
// The model is run once per photo of the pool (the photos of ../shared's HAM10000, or the
// committed fixtures); each assessment stores its photo with bytes of its own after the end
// of the image (JPEG and PNG decoders ignore them: a tag, and random padding to -photo-kb),
// so that every assessment holds its own photo of a real size, as a clinic's records do.
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"dermal/internal/assets"
	"dermal/internal/clinic"
	"dermal/internal/inference"
	"dermal/internal/storage"
	"dermal/internal/triage"
)

var (
	n        = flag.Int("n", 100000, "patients to make")
	data     = flag.String("data", "", "the data folder (made if missing; records there are added to)")
	passFile = flag.String("password-file", "", "the administrator's password (admin); set up with it when the records are new")
	photos   = flag.String("photos", "", "a folder of photos for the pool (default: ../shared/data/ham10000/images, else the test fixtures)")
	poolSize = flag.Int("pool", 24, "photos in the pool (each analysed once by the model)")
	photoKB  = flag.Int("photo-kb", 100, "each stored photo's size: the pool photo padded to it (a dermatoscope's 1024×768 JPEG is 100-300 kB; ../shared's are 4 kB)")
	add      = flag.Int("add", 0, "instead: add a day's work of this many assessments today to the patients there")
	seed     = flag.Int64("seed", 1, "random seed")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "scaledata:", err)
		os.Exit(1)
	}
}

type pooled struct {
	photo    *inference.Photo
	analysis *inference.Assessment
}

var (
	families = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"}
	middles  = []string{"Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quốc", "Thu", "Kim"}
	givens   = []string{"An", "Bình", "Châu", "Dũng", "Hà", "Hạnh", "Hồng", "Hùng", "Lan", "Linh", "Mai", "Nam", "Phúc", "Quân", "Sơn", "Thảo", "Trang", "Tuấn", "Vy", "Yến", "Khoa", "Long"}
	sites    = []string{"back", "chest", "face", "scalp", "upper extremity", "lower extremity", "acral", "abdomen", "neck", "foot", "hand"}
)

func run() error {
	if *data == "" || *passFile == "" {
		return fmt.Errorf("give -data DIR and -password-file F")
	}
	pw, err := os.ReadFile(*passFile)
	if err != nil {
		return err
	}
	password := strings.TrimRight(string(pw), "\r\n")
	m, err := inference.LoadModel(assets.ModelCardJSON, assets.ModelONNX, assets.OODSubspace)
	if err != nil {
		return err
	}
	eng := inference.NewEngine(m, inference.Options{})
	defer eng.Close()
	store, err := clinic.OpenStore(*data, "scale-data")
	if err != nil {
		return err
	}
	c := clinic.New(eng, store, nil)
	defer c.Close()
	ctx := context.Background()
	if need, err := c.NeedsSetup(ctx); err != nil {
		return err
	} else if need {
		if _, err := c.Setup(ctx, clinic.ClinicProfile{Name: "Trạm Y tế xã Đồng Tâm", Address: "Xã Đồng Tâm, huyện Mỹ Đức", Phone: "024 3384 1234"}, "admin", "Quản trị viên", password); err != nil {
			return err
		}
	}
	if _, err := c.Login(ctx, "admin", password); err != nil {
		return err
	}
	pool, err := loadPool(c)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewSource(*seed))
	if *add > 0 {
		return addDay(ctx, c, pool, rng)
	}
	now := time.Now()
	start := time.Now()
	made := 0
	for i := 1; i <= *n; i++ {
		code := fmt.Sprintf("S-%06d", i)
		if _, err := c.PatientByCode(ctx, code); err == nil {
			continue // made by an earlier run
		}
		year := 1935 + rng.Intn(70)
		p := storage.Patient{Code: code, FullName: fmt.Sprintf("%s %s %s", pick(rng, families), pick(rng, middles), pick(rng, givens)),
			BirthYear: year, Sex: pick(rng, []string{"F", "M"}), Phone: fmt.Sprintf("09%08d", rng.Intn(100000000))}
		pid, err := c.AddPatient(ctx, p, true)
		if err != nil {
			return fmt.Errorf("patient %s: %w", code, err)
		}
		// Three visits over the last two years, in order.
		days := []int{rng.Intn(730), rng.Intn(730), rng.Intn(730)}
		slices.Sort(days)
		slices.Reverse(days)
		var lesion storage.LesionID
		for k, d := range days {
			taken := now.AddDate(0, 0, -d).Add(-time.Duration(rng.Intn(8*3600)) * time.Second)
			if k == 0 || rng.Intn(2) == 0 {
				lesion = 0 // a new lesion
			}
			r, err := visit(ctx, c, pool, rng, pid, lesion, taken, uint64(i)<<8|uint64(k))
			if err != nil {
				return fmt.Errorf("patient %s, visit %d: %w", code, k+1, err)
			}
			lesion = r.LesionID
			made++
			if r.Decision.Tier == inference.TierUrgent && rng.Intn(10) < 6 && d > 14 {
				diag := pick(rng, []string{"melanocytic naevus", "melanoma in situ", "seborrhoeic keratosis", "basal cell carcinoma", "melanoma"})
				if _, err := c.RecordOutcome(ctx, r.AssessmentID, storage.OutcomeHistology, diag, taken.AddDate(0, 0, 14)); err != nil {
					return fmt.Errorf("outcome of %s: %w", code, err)
				}
			}
		}
		if i%1000 == 0 {
			el := time.Since(start)
			fmt.Printf("%d patients, %d assessments, %.1f assessments/s\n", i, made, float64(made)/el.Seconds())
		}
	}
	fmt.Printf("done: %d patients, %d assessments made in %s\n", *n, made, time.Since(start).Round(time.Second))
	return nil
}

// visit saves one assessment of a photo of the pool, taken at taken, of lesion (0: a new one).
func visit(ctx context.Context, c *clinic.Clinic, pool []pooled, rng *rand.Rand, pid storage.PatientID, lesion storage.LesionID, taken time.Time, tag uint64) (*clinic.Result, error) {
	pp := pool[rng.Intn(len(pool))]
	photo := *pp.photo
	// The photo's own bytes: the pool photo with a tag after its end, padded with random
	// (incompressible, like JPEG data) bytes to the size of a real photo.
	photo.Bytes = binary.BigEndian.AppendUint64(slices.Clip(pp.photo.Bytes), tag)
	if pad := *photoKB<<10 - len(photo.Bytes); pad > 0 {
		b := make([]byte, pad)
		rng.Read(b)
		photo.Bytes = append(photo.Bytes, b...)
	}
	exam := clinic.Examination{PhotoType: triage.Dermoscopic}
	if rng.Intn(3) == 0 {
		var items []triage.Criterion
		for _, cr := range []triage.Criterion{triage.AtypicalNetwork, triage.BlueWhiteVeil, triage.AtypicalVessels, triage.IrregularStreaks, triage.IrregularBlotches, triage.IrregularDots, triage.Regression} {
			if rng.Intn(6) == 0 {
				items = append(items, cr)
			}
		}
		d, err := triage.NewDermoscopy(items)
		if err != nil {
			return nil, err
		}
		exam.Dermoscopy = d
	}
	var f storage.Findings
	if rng.Intn(2) == 0 {
		fu := taken.AddDate(0, 0, 42+rng.Intn(60))
		f.FollowUp = &fu
	}
	return c.Save(ctx, clinic.Visit{PatientID: pid, LesionID: lesion, Site: pick(rng, sites), Photo: &photo, Analysis: pp.analysis, Exam: exam, Findings: f, TakenAt: taken})
}

// addDay adds a day's work: -add assessments today, each of a random existing patient's
// (a new lesion or a lesion seen before).
func addDay(ctx context.Context, c *clinic.Clinic, pool []pooled, rng *rand.Rand) error {
	ps, err := c.SearchPatients(ctx, "S-", 1000)
	if err != nil || len(ps) == 0 {
		return fmt.Errorf("no patients to add a day's work to (make the records first): %v", err)
	}
	for k := range *add {
		p := ps[rng.Intn(len(ps))]
		if _, err := visit(ctx, c, pool, rng, p.ID, 0, time.Now(), uint64(time.Now().UnixNano())+uint64(k)); err != nil {
			return err
		}
	}
	fmt.Printf("added %d assessments today\n", *add)
	return nil
}

// loadPool decodes and analyses the pool's photos.
func loadPool(c *clinic.Clinic) ([]pooled, error) {
	dir := *photos
	if dir == "" {
		dir = "../shared/data/ham10000/images"
		if _, err := os.Stat(dir); err != nil {
			dir = "internal/inference/testdata/fixtures"
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var pool []pooled
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if ext != ".jpg" && ext != ".jpeg" && ext != ".png" {
			continue
		}
		photo, err := c.ReadPhoto(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		a, err := c.Analyse(photo)
		if err != nil {
			return nil, fmt.Errorf("analysing %s: %w", e.Name(), err)
		}
		pool = append(pool, pooled{photo, a})
		if len(pool) == *poolSize {
			break
		}
	}
	if len(pool) == 0 {
		return nil, fmt.Errorf("no photos in %s", dir)
	}
	fmt.Printf("pool: %d photos from %s, %d bytes on average\n", len(pool), dir, avgBytes(pool))
	return pool, nil
}

func avgBytes(pool []pooled) int {
	t := 0
	for _, p := range pool {
		t += len(p.photo.Bytes)
	}
	return t / len(pool)
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.Intn(len(xs))] }
