package storage

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/png"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The crash child: saves assessments in a loop, printing each id after its commit returns.
func TestMain(m *testing.M) {
	if path := os.Getenv("DERMAL_CRASH_CHILD"); path != "" {
		crashChild(path)
		return
	}
	if path := os.Getenv("DERMAL_SEAL_CHILD"); path != "" {
		sealChild(path)
		return
	}
	if path := os.Getenv("DERMAL_HOLD_CHILD"); path != "" {
		holdChild(path)
		return
	}
	if what := os.Getenv("DERMAL_KILL_CHILD"); what != "" {
		killChild(what, os.Getenv("DERMAL_KILL_PATH"))
		return
	}
	if path := os.Getenv("DERMAL_OPEN_CHILD"); path != "" {
		openChild(path)
		return
	}
	os.Exit(m.Run())
}

func crashChild(path string) {
	s, err := Open(path, "crash-child")
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	ctx := context.Background()
	photo, err := os.ReadFile(os.Getenv("DERMAL_CRASH_PHOTO"))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	img, _, err := image.Decode(bytes.NewReader(photo))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	thumb, err := Thumbnail(img)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	ps, _ := s.SearchPatients(ctx, "", 1)
	var pid PatientID
	if len(ps) == 0 {
		pid, err = s.AddPatient(ctx, Patient{Code: "CRASH", FullName: "Crash Test"})
	} else {
		pid = ps[0].ID
	}
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	for i := 0; ; i++ {
		p := append([]byte{}, photo...)
		p = append(p, []byte(strconv.Itoa(rand.Int()))...) // a new photo each time (trailing bytes after PNG IEND are ignored)
		_, id, err := s.SaveAssessmentOfNewLesion(ctx, Lesion{PatientID: pid, BodySite: "back"}, Assessment{
			Photo: p, ModelName: "m", ModelSHA256: strings.Repeat("b", 64), ModelCardSHA256: strings.Repeat("e", 64),
			Probabilities: map[string]float64{"nv": 1}, RiskTier: "routine"}, thumb)
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		fmt.Printf("SAVED %d %x\n", id, p[len(p)-8:])
	}
}

// TestCrashSafety kills a writing process with SIGKILL at random moments, 100 times, and
// checks after each kill that the database is intact and holds every assessment the child
// reported as committed, photo included.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	photo, err := filepath.Abs("../inference/testdata/fixtures/ISIC_0024311.png")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	saved := map[int64]bool{}
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 100; round++ {
		// Every line printed before the kill reports a committed save.
		for _, l := range killAfter(t, rng, []string{"DERMAL_CRASH_CHILD=" + path, "DERMAL_CRASH_PHOTO=" + photo}, "", 20*time.Millisecond, 220*time.Millisecond) {
			var id int64
			if _, err := fmt.Sscanf(l, "SAVED %d", &id); err == nil {
				saved[id] = true
			}
		}

		s, err := Open(path, "checker")
		if err != nil {
			t.Fatalf("round %d: reopening after kill: %v", round, err)
		}
		var check string
		if err := s.db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
			t.Fatalf("round %d: integrity_check %q %v", round, check, err)
		}
		for id := range saved {
			var sha string
			if err := s.db.QueryRow(`SELECT photo_sha256 FROM assessments WHERE id = ?`, id).Scan(&sha); err != nil {
				t.Fatalf("round %d: reported assessment %d is gone: %v", round, id, err)
			}
			if _, err := s.Blobs().Get(context.Background(), sha); err != nil {
				t.Fatalf("round %d: photo of assessment %d: %v", round, id, err)
			}
		}
		var orphans int
		s.db.QueryRow(`SELECT count(*) FROM lesions l WHERE NOT EXISTS (SELECT 1 FROM assessments a WHERE a.lesion_id = l.id)`).Scan(&orphans)
		if orphans != 0 {
			t.Fatalf("round %d: %d lesions without their assessment (half-written case)", round, orphans)
		}
		s.Close()
	}
	t.Logf("%d assessments reported saved across 100 kills, all present", len(saved))
}
