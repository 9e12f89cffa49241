package storage

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tableDump is every row of every table of the database at path, as text, for comparing two
// databases cell by cell (types included).
func tableDump(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Not the change tags: each file's own (a restore gives every chunk new ones).
	names, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'backup_chunks' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for names.Next() {
		var n string
		names.Scan(&n)
		tables = append(tables, n)
	}
	names.Close()
	var b strings.Builder
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM ` + quoteIdent(table) + ` ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			rows.Scan(ptrs...)
			fmt.Fprintf(&b, "%s:", table)
			for _, v := range vals {
				fmt.Fprintf(&b, " %T=%v", v, v)
			}
			b.WriteByte('\n')
		}
		rows.Close()
	}
	return b.String()
}

// live is the store's records as a file (a checkpointed copy), for tableDump.
func live(t *testing.T, s *Store) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "live.db")
	if _, err := s.db.Exec("VACUUM INTO ?", p); err != nil {
		t.Fatal(err)
	}
	return p
}

// A full run rebuilds the records cell for cell, without any copy of the database written
// beside them, and the rebuilt records pass restore's checks and open with every seal whole.
func TestFullRunRebuildsTheRecords(t *testing.T) {
	r := newSealedRecords(t)
	ctx := context.Background()
	before, _ := os.ReadDir(filepath.Dir(r.path))
	var run bytes.Buffer
	st, err := r.s.WriteRun(ctx, &run, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadDir(filepath.Dir(r.path))
	if len(after) != len(before) {
		t.Errorf("the backup wrote files beside the records: %d entries, then %d", len(before), len(after))
	}
	if st.ChunksNew != st.Chunks || st.BlobsNew != 4 {
		t.Errorf("a full run wrote %d of %d chunks and %d photos; want all, and 2 photos with 2 thumbnails", st.ChunksNew, st.Chunks, st.BlobsNew)
	}
	built := filepath.Join(t.TempDir(), "built.db")
	if err := BuildFromRun(built, bytes.NewReader(run.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := checkBackup(built); err != nil {
		t.Fatalf("restore's checks refuse the rebuilt records: %v", err)
	}
	if got, want := tableDump(t, built), tableDump(t, live(t, r.s)); got != want {
		t.Errorf("the rebuilt records differ:\n%s", firstDiff(got, want))
	}
	s2, err := Open(built, "an")
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s2.SetDataKey(r.key)
	if _, faults, err := s2.VerifyRecords(ctx); err != nil || len(faults) > 0 {
		t.Errorf("seals of the rebuilt records: %v %v", err, faults)
	}
	if _, err := s2.VerifyAudit(ctx); err != nil {
		t.Errorf("audit chain of the rebuilt records: %v", err)
	}
	// A run cut short, or with a byte changed in a photo, is refused and leaves nothing.
	for name, damaged := range map[string][]byte{
		"cut short": run.Bytes()[:run.Len()-200],
	} {
		p := filepath.Join(t.TempDir(), "damaged.db")
		if err := BuildFromRun(p, bytes.NewReader(damaged)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s: a half-built database was left", name)
		}
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return "got  " + al[i] + "\nwant " + bl[i]
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(al), len(bl))
}

// An incremental run after a day's work holds only the changed chunks and the new photos;
// the older run and it together rebuild today's records exactly, and the older run alone
// still rebuilds yesterday's.
func TestIncrementalRunHoldsOnlyWhatChanged(t *testing.T) {
	r := newSealedRecords(t)
	ctx := context.Background()
	// Enough rows that most chunks stay as they were.
	for i := range 30 {
		if _, err := r.s.AddPatient(ctx, Patient{Code: fmt.Sprintf("P%04d", i), FullName: "Phạm Văn " + fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var base bytes.Buffer
	st1, err := r.s.WriteRun(ctx, &base, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	yesterday := tableDump(t, live(t, r.s))
	have := map[string]bool{}
	for _, n := range st1.NewNames {
		have[n] = true
	}
	// The day's work: a new patient with an assessment, findings edited on an old one.
	pid, err := r.s.AddPatient(ctx, Patient{Code: "NEW1", FullName: "Đỗ Thị Mới"})
	if err != nil {
		t.Fatal(err)
	}
	photo, _ := os.ReadFile("../inference/testdata/fixtures/ISIC_0024318.png")
	if _, _, err := r.s.SaveAssessmentOfNewLesion(ctx, Lesion{PatientID: pid, BodySite: "acral"}, Assessment{Photo: photo, ModelName: "m",
		ModelSHA256: strings.Repeat("a", 64), ModelCardSHA256: strings.Repeat("e", 64), Probabilities: map[string]float64{"mel": 0.2, "nv": 0.8},
		RiskTier: "routine"}, testThumb(t, photo)); err != nil {
		t.Fatal(err)
	}
	if err := r.s.RecordFindings(ctx, r.normal, Findings{Diagnosis: "seborrhoeic keratosis"}); err != nil {
		t.Fatal(err)
	}
	var inc bytes.Buffer
	st2, err := r.s.WriteRun(ctx, &inc, RunOptions{Have: func(n string) bool { return have[n] }})
	if err != nil {
		t.Fatal(err)
	}
	if st2.BlobsNew != 2 {
		t.Errorf("the increment holds %d photos; want the new photo and its thumbnail", st2.BlobsNew)
	}
	if st2.ChunksNew >= st2.Chunks {
		t.Errorf("the increment rewrote all %d chunks", st2.Chunks)
	}
	if inc.Len() >= base.Len() {
		t.Errorf("the increment is %d bytes, the base %d", inc.Len(), base.Len())
	}
	snap, err := ReadRunSnapshot(bytes.NewReader(inc.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	built := filepath.Join(t.TempDir(), "today.db")
	b, err := NewBuilder(built, snap)
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range [][]byte{base.Bytes(), inc.Bytes()} {
		if err := b.AddRun(bytes.NewReader(run)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := checkBackup(built); err != nil {
		t.Fatal(err)
	}
	if got, want := tableDump(t, built), tableDump(t, live(t, r.s)); got != want {
		t.Errorf("base + increment differ from today's records:\n%s", firstDiff(got, want))
	}
	// The increment without its base lacks parts, and says so.
	b, err = NewBuilder(filepath.Join(t.TempDir(), "partial.db"), snap)
	if err != nil {
		t.Fatal(err)
	}
	b.AddRun(bytes.NewReader(inc.Bytes()))
	if err := b.Finish(); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "lacks") {
		t.Errorf("an increment without its base: %v", err)
	}
	// The base alone is yesterday.
	old := filepath.Join(t.TempDir(), "yesterday.db")
	if err := BuildFromRun(old, bytes.NewReader(base.Bytes())); err != nil {
		t.Fatal(err)
	}
	if got := tableDump(t, old); got != yesterday {
		t.Errorf("the base alone differs from yesterday's records:\n%s", firstDiff(got, yesterday))
	}
}
