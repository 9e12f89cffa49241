package storage

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// benchDB builds (once, cached in the temp folder) a clinic database of 100,000 patients and
// 300,000 assessments with small photos, as the storage issue's targets ask.
func benchDB(b *testing.B) string {
	path := filepath.Join(os.TempDir(), "dermal-bench-100k-v2.db")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	b.Logf("building %s (once)", path)
	s, err := Open(path+".tmp", "bench")
	if err != nil {
		b.Fatal(err)
	}
	family := []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"}
	middle := []string{"Thị", "Văn", "Hữu", "Đức", "Minh", "Ngọc", "Quốc", "Thanh", "Xuân", "Hoài"}
	given := []string{"Hồng", "Lan", "Mai", "Hùng", "Dũng", "Tuấn", "Anh", "Bình", "Châu", "Giang", "Hà", "Khánh", "Linh", "Nam", "Phương", "Quân", "Sơn", "Thảo", "Trang", "Yến"}
	rng := rand.New(rand.NewSource(7))
	tx, err := s.db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	pst, _ := tx.Prepare(`INSERT INTO patients (code, full_name, search_key, phone, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`)
	lst, _ := tx.Prepare(`INSERT INTO lesions (patient_id, body_site, first_seen) VALUES (?, 'back', ?)`)
	bst, _ := tx.Prepare(`INSERT INTO blobs (sha256, size, data) VALUES (?, ?, ?)`)
	ast, _ := tx.Prepare(`INSERT INTO assessments (lesion_id, taken_at, photo_sha256, thumb_sha256, model_name, model_sha256, probabilities, risk_tier, created_at)
		VALUES (?, ?, ?, ?, 'm', ?, '{"nv":1}', 'routine', ?)`)
	thumb := strings.Repeat("0", 64)
	bst.Exec(thumb, 1, []byte{0})
	model := strings.Repeat("a", 64)
	n := 0
	for i := 1; i <= 100_000; i++ {
		name := family[rng.Intn(len(family))] + " " + middle[rng.Intn(len(middle))] + " " + given[rng.Intn(len(given))]
		code := fmt.Sprintf("BN-%06d", i)
		phone := fmt.Sprintf("09%08d", rng.Intn(1e8))
		if _, err := pst.Exec(code, name, Fold(name+" "+code+" "+phone), phone, now, now); err != nil {
			b.Fatal(err)
		}
		res, err := lst.Exec(i, now)
		if err != nil {
			b.Fatal(err)
		}
		lid, _ := res.LastInsertId()
		for k := 0; k < 3; k++ {
			n++
			sha := fmt.Sprintf("%064x", n)
			photo := make([]byte, 256)
			rng.Read(photo)
			bst.Exec(sha, len(photo), photo)
			if _, err := ast.Exec(lid, now, sha, thumb, model, now); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	s.Close()
	if err := os.Rename(path+".tmp", path); err != nil {
		b.Fatal(err)
	}
	os.Rename(path+".tmp-wal", path+"-wal")
	os.Remove(path + ".tmp-shm")
	return path
}

// BenchmarkOpen is the time until the records can be read (the first patient list page).
// The integrity check of the record tables goes on behind it and holds back writes only.
func BenchmarkOpen(b *testing.B) {
	path := benchDB(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := Open(path, "bench")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.SearchPatients(ctx, "", 50); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

// BenchmarkOpenVerified is the time until writes are allowed (integrity check finished).
func BenchmarkOpenVerified(b *testing.B) {
	path := benchDB(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := Open(path, "bench")
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Verify(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

func BenchmarkSearchPatients(b *testing.B) {
	s, err := Open(benchDB(b), "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Verify(); err != nil { // let the start-up check finish: measure steady state
		b.Fatal(err)
	}
	queries := []string{"nguyen thi hong", "dang", "BN-04217", "0912", "tran van"}
	ctx := context.Background()
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := s.SearchPatients(ctx, queries[i%len(queries)], 50); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(t0))
	}
	reportMedian(b, times)
}

// reportMedian adds the median (the storage targets are medians) to the benchmark line.
func reportMedian(b *testing.B, times []time.Duration) {
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
}

func BenchmarkHistory(b *testing.B) {
	s, err := Open(benchDB(b), "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Verify(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		h, err := s.History(ctx, PatientID(1+i*7919%100_000))
		if err != nil || len(h) != 3 {
			b.Fatalf("%d entries, %v", len(h), err)
		}
		times = append(times, time.Since(t0))
	}
	reportMedian(b, times)
}
