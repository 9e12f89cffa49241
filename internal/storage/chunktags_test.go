package storage

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// runKnowing writes a run that knows known, and returns its stats.
func runKnowing(t *testing.T, s *Store, known *ChunkNames) RunStats {
	t.Helper()
	st, err := s.WriteRun(context.Background(), io.Discard, RunOptions{Known: known})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// sameTables fails unless two runs list the same chunks for every table.
func sameTables(t *testing.T, what string, got, want RunStats) {
	t.Helper()
	if !reflect.DeepEqual(got.Snapshot.Tables, want.Snapshot.Tables) {
		for i := range want.Snapshot.Tables {
			if i < len(got.Snapshot.Tables) && !reflect.DeepEqual(got.Snapshot.Tables[i], want.Snapshot.Tables[i]) {
				t.Fatalf("%s: table %s: %d chunks %v, a full read gives %d %v", what, want.Snapshot.Tables[i].Name,
					len(got.Snapshot.Tables[i].Chunks), got.Snapshot.Tables[i].Chunks, len(want.Snapshot.Tables[i].Chunks), want.Snapshot.Tables[i].Chunks)
			}
		}
		t.Fatalf("%s: the run's tables differ from a full read's", what)
	}
}

// A run that knows the last run's chunk names by their change tags reads only the chunks
// written since, and lists exactly what a run reading every row lists: after inserts, edits
// and deletes through the store, writes in plain SQL, a chunk emptied, and rows whose tags
// were lost.
func TestKnownChunkNamesGiveWhatAFullReadGives(t *testing.T) {
	r := newSealedRecords(t)
	ctx := context.Background()
	// Rows across three chunks of the patients table, and more of the audit's.
	tx, err := r.s.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := 10; i < 2600; i++ {
		if _, err := tx.Exec(`INSERT INTO patients (id, code, code_key, full_name, search_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`,
			i, fmt.Sprintf("S-%06d", i), fmt.Sprintf("s-%06d", i), fmt.Sprintf("Lê Văn %d", i), fmt.Sprintf("le van %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	first := runKnowing(t, r.s, nil)
	if first.ChunksRead != first.Chunks || first.Known == nil || len(first.Known.Names) == 0 {
		t.Fatalf("a first run read %d of %d chunks and kept %v", first.ChunksRead, first.Chunks, first.Known)
	}
	same := runKnowing(t, r.s, first.Known)
	sameTables(t, "nothing written", same, first)
	if same.ChunksRead != 0 {
		t.Errorf("with nothing written, a run read %d chunks", same.ChunksRead)
	}

	// A day's work: a new patient (the last chunk), an edit in the first chunk, a patient
	// deleted for good in the middle one, a plain SQL edit, and the audit rows of it all.
	if _, err := r.s.AddPatient(ctx, Patient{Code: "NEW-1", FullName: "Đỗ Thị Mới"}); err != nil {
		t.Fatal(err)
	}
	p, err := r.s.PatientByID(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	p.FullName = "Nguyễn Văn Ánh"
	if err := r.s.UpdatePatient(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := r.s.DeletePatient(ctx, 1500, true); err != nil {
		t.Fatal(err)
	}
	if _, err := r.s.db.Exec(`UPDATE patients SET phone = '0912' WHERE id = 2500`); err != nil {
		t.Fatal(err)
	}
	day := runKnowing(t, r.s, first.Known)
	full := runKnowing(t, r.s, nil)
	sameTables(t, "after a day's work", day, full)
	if day.ChunksRead == 0 || day.ChunksRead > 8 {
		t.Errorf("after a day's work a run read %d of %d chunks; want the few written (patients 0, 1, 2, the audit's last, users)", day.ChunksRead, day.Chunks)
	}

	// A whole chunk emptied: it leaves the list.
	if _, err := r.s.db.Exec(`DELETE FROM patients WHERE id >= 2000 AND id < 3000 AND code LIKE 'S-%'`); err != nil {
		t.Fatal(err)
	}
	emptied := runKnowing(t, r.s, day.Known)
	sameTables(t, "a chunk emptied", emptied, runKnowing(t, r.s, nil))

	// Tags lost (rows written while a table had no triggers): the table is read whole, and
	// its names are not kept for the next run.
	if _, err := r.s.db.Exec(`DELETE FROM backup_chunks WHERE tbl = 'patients' AND chunk = 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := r.s.db.Exec(`UPDATE patients SET phone = '0913' WHERE id = 1200`); err != nil {
		t.Fatal(err)
	}
	if _, err := r.s.db.Exec(`DELETE FROM backup_chunks WHERE tbl = 'patients' AND chunk = 1`); err != nil {
		t.Fatal(err)
	}
	lost := runKnowing(t, r.s, emptied.Known)
	sameTables(t, "tags lost", lost, runKnowing(t, r.s, nil))
	for k := range lost.Known.Names {
		if k.Table == "patients" {
			t.Fatalf("the names of a table with untagged rows were kept: %v", k)
		}
	}

	// Names of another schema are not used.
	other := &ChunkNames{Schema: "another", Names: emptied.Known.Names}
	if st := runKnowing(t, r.s, other); st.ChunksRead != st.Chunks {
		t.Errorf("names of another schema: a run read %d of %d chunks", st.ChunksRead, st.Chunks)
	}
}

// Every table a backup holds has change-tag triggers: a table added without them would be
// read whole by every run (correct, but the daily backup's time would grow with it).
func TestEveryBackedUpTableIsTagged(t *testing.T) {
	s, _ := openTemp(t)
	rows, err := s.db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT IN ('blobs', 'backup_chunks') ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
		covered, err := func() (bool, error) { _, c, err := tableTags(context.Background(), s.db, n); return c, err }()
		if err != nil || !covered {
			t.Errorf("table %s: its change tags are not kept (%v)", n, err)
		}
	}
	rows.Close()
	want := append([]string(nil), taggedTables...)
	sort.Strings(want)
	if !reflect.DeepEqual(tables, want) {
		t.Errorf("tables %v; taggedTables %v", tables, want)
	}
}

// A restored file gets new tags: an older copy of the records carries the tags its rows had
// then, and a folder that saw other rows under them must not take its names for these.
func TestRestoreGivesNewChunkTags(t *testing.T) {
	r := newSealedRecords(t)
	ctx := context.Background()
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	if err := r.s.Backup(ctx, copyPath); err != nil {
		t.Fatal(err)
	}
	before := chunkTagsOf(t, r.s)
	r.s.Close()
	if _, err := Restore(copyPath, r.path); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(r.path, "an")
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	after := chunkTagsOf(t, s2)
	if len(after) == 0 || len(after) != len(before) {
		t.Fatalf("%d tagged chunks after the restore, %d before", len(after), len(before))
	}
	for k, tag := range after {
		if before[k] == tag {
			t.Errorf("chunk %v kept its tag through a restore", k)
		}
	}
}

func chunkTagsOf(t *testing.T, s *Store) map[[2]any]int64 {
	t.Helper()
	rows, err := s.db.Query(`SELECT tbl, chunk, tag FROM backup_chunks`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[[2]any]int64{}
	for rows.Next() {
		var tbl string
		var chunk, tag int64
		rows.Scan(&tbl, &chunk, &tag)
		out[[2]any{tbl, chunk}] = tag
	}
	return out
}

var _ = bytes.NewReader
