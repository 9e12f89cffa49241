package storage

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"dermal/internal/sealbox"
)

var testKey, _ = sealbox.KeyFrom(bytes.Repeat([]byte{7}, sealbox.KeySize))

// sealChild runs SealPlainBlobs slowly, one blob a batch, printing its progress, until the
// parent test kills it (SIGKILL).
func sealChild(path string) {
	s, err := Open(path, "child")
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	s.SetDataKey(testKey)
	sealDelay = 30 * time.Millisecond
	s.SealPlainBlobs(context.Background(), 1, func(done, left int) { fmt.Printf("sealed %d left %d\n", done, left) })
	os.Exit(0)
}

// The test: the upgrade's photo encryption (sealing and keyed names) is killed with
// SIGKILL half-way, DERMAL_KILL_ROUNDS times (make faults: 60), then run again: after every
// kill each assessment opens its photo through its link (old name or new, never a link to
// nothing), and the next run completes with every photo sealed under its keyed name.
func TestSealingSurvivesSIGKILL(t *testing.T) {
	rounds := 1
	if n, err := strconv.Atoi(os.Getenv("DERMAL_KILL_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	ctx := context.Background()
	photo, err := os.ReadFile("../inference/testdata/fixtures/ISIC_0024311.png")
	if err != nil {
		t.Fatal(err)
	}
	thumb := testThumb(t, photo)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	killedMidway := 0
	for round := range rounds {
		path := filepath.Join(t.TempDir(), "dermal.db")
		s, err := Open(path, "test")
		if err != nil {
			t.Fatal(err)
		}
		// Records from before accounts: 20 assessments, plain photos under plain names.
		var ids []AssessmentID
		for i := range 20 {
			pid, err := s.AddPatient(ctx, Patient{Code: fmt.Sprintf("K%02d", i), FullName: "Kim " + fmt.Sprint(i)})
			if err != nil {
				t.Fatal(err)
			}
			p := append(append([]byte{}, photo...), byte(i)) // each photo its own
			_, id, err := s.SaveAssessmentOfNewLesion(ctx, Lesion{PatientID: pid, BodySite: "back"}, Assessment{Photo: p, ModelName: "m",
				ModelSHA256: strings.Repeat("a", 64), ModelCardSHA256: strings.Repeat("e", 64), Probabilities: map[string]float64{"mel": 0.5, "nv": 0.5},
				RiskTier: "urgent"}, thumb)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		s.SetDataKey(testKey)
		if err := s.SealRecords(ctx); err != nil {
			t.Fatal(err)
		}
		s.Close()
		cmd := exec.Command(os.Args[0], "-test.run", "^$")
		cmd.Env = append(os.Environ(), "DERMAL_SEAL_CHILD="+path)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Killed after a random number of batches (21 blobs: 20 photos, one shared thumbnail).
		want := 1 + rng.Intn(19)
		lines := bufio.NewScanner(out)
		seen := 0
		for seen < want && lines.Scan() {
			if strings.HasPrefix(lines.Text(), "sealed ") {
				seen++
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if seen == want {
			killedMidway++
		}
		s, err = Open(path, "test")
		if err != nil {
			t.Fatalf("round %d: the records after the kill: %v", round, err)
		}
		s.SetDataKey(testKey)
		check := func(when string) {
			for _, id := range ids {
				e, err := s.Entry(ctx, id)
				if err != nil {
					t.Fatalf("round %d, %s: assessment %d: %v", round, when, id, err)
				}
				got, err := s.Blobs().Get(ctx, e.Assessment.PhotoSHA256)
				if err != nil || !bytes.HasPrefix(got, []byte("\x89PNG")) {
					t.Fatalf("round %d, %s: the photo of assessment %d: %v", round, when, id, err)
				}
			}
		}
		check("after the kill")
		if _, err := s.SealPlainBlobs(ctx, 10, nil); err != nil {
			t.Fatalf("round %d: the next run: %v", round, err)
		}
		check("after the next run")
		var plain, unkeyed int
		s.db.QueryRow(`SELECT count(*) FROM blobs WHERE substr(data, 1, 4) != CAST('DRM1' AS BLOB)`).Scan(&plain)
		s.db.QueryRow(`SELECT count(*) FROM blobs WHERE sha256 NOT LIKE 'k-%'`).Scan(&unkeyed)
		if plain != 0 || unkeyed != 0 {
			t.Fatalf("round %d: %d blobs still plain, %d under plain names", round, plain, unkeyed)
		}
		s.Close()
	}
	t.Logf("photo sealing: %d kills (%d in the middle of the walk), every assessment opened its photo after each, and the next run finished", rounds, killedMidway)
}

// BenchmarkOpenSealedPhoto is what decryption adds to opening an assessment: one 2 MB photo
// (a 12 MP phone JPEG) read and opened.
func BenchmarkOpenSealedPhoto(b *testing.B) {
	photo := bytes.Repeat([]byte{0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4}, 2<<20/8)
	sealed := testKey.Seal(photo, []byte("sha"))
	b.SetBytes(int64(len(photo)))
	for b.Loop() {
		if _, err := testKey.Open(sealed, []byte("sha")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealAtUpgrade is the upgrade's cost per stored photo (a 2 MB photo and its
// thumbnail are each read, sealed and written back; here the sealing alone).
func BenchmarkSealAtUpgrade(b *testing.B) {
	photo := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7, 8}, 2<<20/8)
	b.SetBytes(int64(len(photo)))
	for b.Loop() {
		testKey.Seal(photo, []byte("sha"))
	}
}
