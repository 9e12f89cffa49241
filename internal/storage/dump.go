package storage

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"
)

// Backup runs. An encrypted backup is not a copy of the database file (that needed a full
// plain copy written beside the records first, and free space for it): it is a stream of
// entries read in one read transaction, sealed as it is written. A run holds the snapshot
// (the schema and, for each table, the names of the chunks that make it up), then every
// chunk and photo the destination does not hold yet:
//
//   - a table's rows are cut into chunks by rowid (chunkRows rowids each), so that a day's
//     work changes the last chunks and the few edited ones, and the rest keep their names;
//   - a chunk is named by a keyed hash of its content (the data key's "backup chunks" key;
//     a plain SHA-256 only for records without staff accounts), a photo by its blob name,
//     stored as it is stored in the records (sealed).
//
// A full backup is one run with everything; an incremental backup (package backupset) writes
// a run with only what its folder lacks. BuildFromRuns makes a database from runs, which
// restore then checks and puts in place like any backup.

// RunMagic starts every run stream.
const RunMagic = "dermal-backup-run/1\n"

// chunkRows is how many rowids one chunk spans.
const chunkRows = 1000

// Entry kinds in a run.
const (
	entrySnapshot = 'S'
	entryChunk    = 'C'
	entryBlob     = 'B'
	entryEnd      = 'E'
)

// Snapshot is what a run restores to: the schema, and each table as its chunks' names.
type Snapshot struct {
	Format      int           `json:"format"`
	Created     time.Time     `json:"created"`
	UserVersion int           `json:"user_version"`
	Schema      []SchemaEntry `json:"schema"`
	Tables      []TableChunks `json:"tables"`
	Blobs       int           `json:"blobs"`
	// Patients and Assessments (not deleted) say what the backup holds, for the question
	// before a restore.
	Patients    int `json:"patients"`
	Assessments int `json:"assessments"`
}

// SchemaEntry is one row of sqlite_schema.
type SchemaEntry struct {
	Type string `json:"type"`
	Name string `json:"name"`
	SQL  string `json:"sql"`
}

// TableChunks is one table of a snapshot.
type TableChunks struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	// Rowid: the chunks carry each row's rowid first (a table whose rowid no column
	// names); false when a column is the rowid or the table has none.
	Rowid  bool     `json:"rowid,omitempty"`
	Chunks []string `json:"chunks"`
}

// RunStats says what a run wrote.
type RunStats struct {
	Snapshot          Snapshot
	Chunks, ChunksNew int
	// ChunksRead is how many chunks were read from the records (the others' names were
	// known by their change tags).
	ChunksRead int
	BlobsNew   int
	Bytes      int64 // entry bytes written (before sealing)
	NewNames   []string
	// Known is what the next run into the same destination may take as known.
	Known *ChunkNames
}

// RunOptions say what the destination of a run holds.
type RunOptions struct {
	// Have reports whether the destination holds a chunk or photo (nil: it holds nothing).
	Have func(name string) bool
	// Known are the chunk names the destination's last run computed (RunStats.Known); nil:
	// every chunk is read.
	Known *ChunkNames
}

// WriteRun writes a run to w: the snapshot of the records as they are now and every chunk
// and photo the destination does not have. The records are read in one read transaction, so
// the snapshot is consistent while the clinic goes on working. The schema is compared with
// Dermal's first, as restore will: a backup restore would refuse is not written.
func (s *Store) WriteRun(ctx context.Context, w io.Writer, opt RunOptions) (RunStats, error) {
	var st RunStats
	have := opt.Have
	if have == nil {
		have = func(string) bool { return false }
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return st, err
	}
	defer tx.Rollback()
	snap := Snapshot{Format: 1, Created: time.Now().UTC()}
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&snap.UserVersion); err != nil {
		return st, err
	}
	if err := s.checkLiveSchema(ctx, tx, snap.UserVersion); err != nil {
		return st, err
	}
	if snap.Schema, err = schemaEntries(ctx, tx); err != nil {
		return st, err
	}
	known := opt.Known
	next := &ChunkNames{Schema: schemaFingerprint(snap.UserVersion, snap.Schema), Names: map[ChunkTag]string{}}
	if known != nil && known.Schema != next.Schema {
		known = nil
	}
	chunkKey := s.sealKey("backup chunks")
	bw := bufio.NewWriterSize(w, 1<<20)
	out := &entryWriter{w: bw}
	out.raw([]byte(RunMagic))
	// Two passes over the rows, in the same read transaction: the first names every chunk
	// (the snapshot, which comes first in the run, lists them) and keeps nothing but the
	// names; the second reads again only the chunks the destination lacks and writes them.
	// Memory stays at one chunk, whatever the size of the records. A chunk whose change tag
	// the destination's last run saw is not read in the first pass: its name is known.
	type pending struct {
		table int
		k     int64
		name  string
	}
	var fresh []pending
	for _, e := range snap.Schema {
		if e.Type != "table" || e.Name == "blobs" || e.Name == "backup_chunks" || strings.HasPrefix(e.Name, "sqlite_stat") {
			continue
		}
		tc, err := tableShape(ctx, tx, e.Name)
		if err != nil {
			return st, err
		}
		ti := len(snap.Tables)
		add := func(k int64, name string) {
			tc.Chunks = append(tc.Chunks, name)
			st.Chunks++
			if !have(name) {
				fresh = append(fresh, pending{ti, k, name})
			}
		}
		tags, covered, err := tableTags(ctx, tx, e.Name)
		if err != nil {
			return st, fmt.Errorf("reading the change tags of %s: %w", e.Name, err)
		}
		if covered && known != nil {
			for _, t := range tags {
				key := ChunkTag{Table: tc.Name, Chunk: t.chunk, Tag: t.tag}
				name, ok := known.Names[key]
				if !ok {
					k := t.chunk
					err := chunkTable(ctx, tx, tc, &k, func(_ int64, content []byte) error {
						name = chunkName(chunkKey, tc.Name, content)
						return nil
					})
					if err != nil {
						return st, fmt.Errorf("reading table %s: %w", e.Name, err)
					}
					st.ChunksRead++
				}
				next.Names[key] = name
				if name != "" {
					add(t.chunk, name)
				}
			}
		} else {
			tagOf := make(map[int64]int64, len(tags))
			for _, t := range tags {
				tagOf[t.chunk] = t.tag
			}
			names := map[int64]string{}
			err = chunkTable(ctx, tx, tc, nil, func(k int64, content []byte) error {
				name := chunkName(chunkKey, tc.Name, content)
				st.ChunksRead++
				if _, ok := tagOf[k]; !ok {
					covered = false // rows in an untagged chunk: this table's names are not kept
				}
				names[k] = name
				add(k, name)
				return nil
			})
			if err != nil {
				return st, fmt.Errorf("reading table %s: %w", e.Name, err)
			}
			if covered {
				for _, t := range tags {
					next.Names[ChunkTag{Table: tc.Name, Chunk: t.chunk, Tag: t.tag}] = names[t.chunk]
				}
			}
		}
		snap.Tables = append(snap.Tables, tc)
	}
	// The photos: those the assessments link (restore drops any other), named from the
	// assessments' rows. Not from the blobs table: its rows hold the photos inline, and
	// walking it for the names alone read most of the file (6 s of a 6.4 s daily backup at
	// 10,000 patients).
	rows, err := tx.QueryContext(ctx, `SELECT photo_sha256 FROM assessments UNION SELECT thumb_sha256 FROM assessments ORDER BY 1`)
	if err != nil {
		return st, err
	}
	var missing []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return st, err
		}
		snap.Blobs++
		if !have(n) {
			missing = append(missing, n)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM patients WHERE deleted_at IS NULL), (SELECT count(*) FROM assessments WHERE deleted_at IS NULL)`).Scan(&snap.Patients, &snap.Assessments); err != nil {
		return st, err
	}
	js, err := json.Marshal(snap)
	if err != nil {
		return st, err
	}
	out.entry(entrySnapshot, "snapshot", js)
	for _, p := range fresh {
		tc := snap.Tables[p.table]
		err := chunkTable(ctx, tx, tc, &p.k, func(_ int64, content []byte) error {
			if chunkName(chunkKey, tc.Name, content) != p.name {
				return fmt.Errorf("chunk %d of %s changed between two reads of one snapshot", p.k, tc.Name)
			}
			out.entry(entryChunk, p.name, content)
			return out.err
		})
		if err != nil {
			return st, classifyWrite(err)
		}
		st.ChunksNew++
		st.NewNames = append(st.NewNames, p.name)
	}
	for _, n := range missing {
		var data []byte
		var size int64
		if err := tx.QueryRowContext(ctx, `SELECT size, data FROM blobs WHERE sha256 = ?`, n).Scan(&size, &data); err != nil {
			return st, fmt.Errorf("photo %s: %w", n, err)
		}
		out.entry(entryBlob, n, append(binary.AppendUvarint(nil, uint64(size)), data...))
		st.BlobsNew++
		st.NewNames = append(st.NewNames, n)
		if out.err != nil {
			break
		}
	}
	out.entry(entryEnd, "", nil)
	if out.err == nil {
		out.err = bw.Flush()
	}
	if out.err != nil {
		return st, classifyWrite(out.err)
	}
	st.Snapshot, st.Bytes, st.Known = snap, out.n, next
	return st, nil
}

// classifyWrite names a full disk as such.
func classifyWrite(err error) error {
	if isDiskFull(err) {
		return fmt.Errorf("%w: %v", ErrDiskFull, err)
	}
	return err
}

// chunkName is the chunk's content name: keyed when the records have a data key.
func chunkName(key []byte, table string, content []byte) string {
	var sum []byte
	if key != nil {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(table + "\x00"))
		m.Write(content)
		sum = m.Sum(nil)
	} else {
		h := sha256.New()
		h.Write([]byte(table + "\x00"))
		h.Write(content)
		sum = h.Sum(nil)
	}
	return "c-" + hex.EncodeToString(sum)[:62]
}

// checkLiveSchema compares the records' schema with what Dermal's migrations make, as
// restore will compare the backup's.
func (s *Store) checkLiveSchema(ctx context.Context, tx *sql.Tx, version int) error {
	got, err := schemaRowsQ(ctx, tx)
	if err != nil {
		return err
	}
	want, err := expectedSchema(version)
	if err != nil {
		return err
	}
	if d := schemaDiff(got, want); len(d) > 0 {
		return fmt.Errorf("no backup was written, because restore would refuse it (the records themselves differ from what Dermal made: run dermal audit verify, and restore the last good backup): %w: %s", ErrCorrupt, strings.Join(d, "; "))
	}
	return nil
}

type querier interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

func schemaRowsQ(ctx context.Context, q querier) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ, name, tbl, text string
		if err := rows.Scan(&typ, &name, &tbl, &text); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%s %s on %s: %s", typ, name, tbl, strings.Join(strings.Fields(text), " ")))
	}
	return out, rows.Err()
}

// schemaEntries is sqlite_schema as it must be made again: tables first (in the order they
// were made), then indexes, views and triggers; internal objects are SQLite's to make.
func schemaEntries(ctx context.Context, q querier) ([]SchemaEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'
		ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 ELSE 3 END, rowid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SchemaEntry
	for rows.Next() {
		var e SchemaEntry
		if err := rows.Scan(&e.Type, &e.Name, &e.SQL); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// tableShape is a table's columns and whether its rows need their rowid carried.
func tableShape(ctx context.Context, q querier, table string) (TableChunks, error) {
	tc := TableChunks{Name: table}
	rows, err := q.QueryContext(ctx, `SELECT name, upper(type), pk FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return tc, err
	}
	pks, alias := 0, false
	for rows.Next() {
		var name, typ string
		var pk int
		if err := rows.Scan(&name, &typ, &pk); err != nil {
			rows.Close()
			return tc, err
		}
		tc.Columns = append(tc.Columns, name)
		if pk > 0 {
			pks++
			alias = typ == "INTEGER"
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return tc, err
	}
	tc.Rowid = !(pks == 1 && alias)
	return tc, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// chunkTable reads a table in rowid order and hands each chunk's encoded rows to emit with
// the chunk's number (rowid / chunkRows); only chunk *only when only is not nil.
func chunkTable(ctx context.Context, q querier, tc TableChunks, only *int64, emit func(int64, []byte) error) error {
	cols := make([]string, len(tc.Columns))
	for i, c := range tc.Columns {
		cols[i] = quoteIdent(c)
	}
	query := `SELECT rowid, ` + strings.Join(cols, ", ") + ` FROM ` + quoteIdent(tc.Name)
	var args []any
	if only != nil {
		query += ` WHERE rowid >= ? AND rowid < ?`
		args = append(args, *only*chunkRows, (*only+1)*chunkRows)
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY rowid`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]any, len(cols)+1)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var buf []byte
	cur := int64(math.MinInt64)
	start := 1
	if tc.Rowid {
		start = 0
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		rowid, _ := vals[0].(int64)
		if k := floorDiv(rowid, chunkRows); k != cur {
			if len(buf) > 0 {
				if err := emit(cur, buf); err != nil {
					return err
				}
			}
			buf, cur = buf[:0], k
		}
		for _, v := range vals[start:] {
			if buf, err = appendValue(buf, v); err != nil {
				return fmt.Errorf("row %d: %w", rowid, err)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(buf) > 0 {
		return emit(cur, buf)
	}
	return nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// Value tags in a chunk.
const (
	tagNull  = 'n'
	tagInt   = 'i'
	tagFloat = 'f'
	tagText  = 't'
	tagBlob  = 'b'
)

func appendValue(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(buf, tagNull), nil
	case int64:
		return binary.AppendVarint(append(buf, tagInt), x), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(buf, tagFloat), math.Float64bits(x)), nil
	case string:
		return append(binary.AppendUvarint(append(buf, tagText), uint64(len(x))), x...), nil
	case []byte:
		return append(binary.AppendUvarint(append(buf, tagBlob), uint64(len(x))), x...), nil
	case bool:
		var i int64
		if x {
			i = 1
		}
		return binary.AppendVarint(append(buf, tagInt), i), nil
	default:
		return nil, fmt.Errorf("a value of type %T cannot be backed up", v)
	}
}

func readValue(b []byte) (any, []byte, error) {
	if len(b) == 0 {
		return nil, nil, io.ErrUnexpectedEOF
	}
	tag, b := b[0], b[1:]
	switch tag {
	case tagNull:
		return nil, b, nil
	case tagInt:
		v, n := binary.Varint(b)
		if n <= 0 {
			return nil, nil, io.ErrUnexpectedEOF
		}
		return v, b[n:], nil
	case tagFloat:
		if len(b) < 8 {
			return nil, nil, io.ErrUnexpectedEOF
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), b[8:], nil
	case tagText, tagBlob:
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return nil, nil, io.ErrUnexpectedEOF
		}
		data := b[n : n+int(l)]
		if tag == tagText {
			return string(data), b[n+int(l):], nil
		}
		return append([]byte{}, data...), b[n+int(l):], nil
	}
	return nil, nil, fmt.Errorf("unknown value tag %q", tag)
}

// entryWriter writes length-prefixed entries, keeping the first error.
type entryWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (e *entryWriter) raw(b []byte) {
	if e.err != nil {
		return
	}
	n, err := e.w.Write(b)
	e.n += int64(n)
	e.err = err
}

func (e *entryWriter) entry(kind byte, name string, payload []byte) {
	head := []byte{kind}
	head = binary.AppendUvarint(head, uint64(len(name)))
	head = append(head, name...)
	head = binary.AppendUvarint(head, uint64(len(payload)))
	e.raw(head)
	e.raw(payload)
}

// maxEntry bounds one entry (a photo is at most tens of MB; a chunk far less).
const maxEntry = 1 << 30

// runReader reads a run's entries.
type runReader struct {
	r *bufio.Reader
}

// ErrNotARun means a stream is not a backup run (an older backup is a database file).
var ErrNotARun = errors.New("not a Dermal backup run")

func newRunReader(r io.Reader) (*runReader, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	head, err := br.Peek(len(RunMagic))
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err // the decryption's (a wrong key), through a pipe
	}
	if string(head) != RunMagic {
		return nil, ErrNotARun
	}
	br.Discard(len(RunMagic))
	return &runReader{r: br}, nil
}

func (rr *runReader) next() (kind byte, name string, payload []byte, err error) {
	kind, err = rr.r.ReadByte()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // a run always ends with its end entry
		}
		return 0, "", nil, err
	}
	nl, err := binary.ReadUvarint(rr.r)
	if err != nil || nl > 1024 {
		return 0, "", nil, fmt.Errorf("damaged entry name")
	}
	nb := make([]byte, nl)
	if _, err := io.ReadFull(rr.r, nb); err != nil {
		return 0, "", nil, err
	}
	pl, err := binary.ReadUvarint(rr.r)
	if err != nil || pl > maxEntry {
		return 0, "", nil, fmt.Errorf("damaged entry %s", nb)
	}
	payload = make([]byte, pl)
	if _, err := io.ReadFull(rr.r, payload); err != nil {
		return 0, "", nil, err
	}
	return kind, string(nb), payload, nil
}

// ReadRunSnapshot reads a run's snapshot (its first entry).
func ReadRunSnapshot(r io.Reader) (Snapshot, error) {
	var snap Snapshot
	rr, err := newRunReader(r)
	if err != nil {
		return snap, err
	}
	kind, _, payload, err := rr.next()
	if err != nil {
		return snap, fmt.Errorf("reading the backup's snapshot: %w", err)
	}
	if kind != entrySnapshot {
		return snap, fmt.Errorf("%w: the run does not start with its snapshot", ErrCorrupt)
	}
	if err := json.Unmarshal(payload, &snap); err != nil {
		return snap, fmt.Errorf("%w: the backup's snapshot: %v", ErrCorrupt, err)
	}
	return snap, nil
}

// Builder makes a database from a snapshot and the runs that hold its chunks and photos.
type Builder struct {
	snap   Snapshot
	db     *sql.DB
	path   string
	tables map[string]TableChunks
	need   map[string]string // chunk name → table
}

// NewBuilder creates the database at path (which must not exist) with the snapshot's
// schema, tables first: indexes and triggers are made by Finish, after the rows are in.
func NewBuilder(path string, snap Snapshot) (*Builder, error) {
	if snap.Format != 1 {
		return nil, fmt.Errorf("%w: backup format %d (this program reads 1)", ErrTooNew, snap.Format)
	}
	if snap.UserVersion > len(migrations) {
		return nil, fmt.Errorf("%w (schema %d, this program knows %d)", ErrTooNew, snap.UserVersion, len(migrations))
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=secure_delete(1)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	b := &Builder{snap: snap, db: db, path: path, tables: map[string]TableChunks{}, need: map[string]string{}}
	for _, t := range snap.Tables {
		b.tables[t.Name] = t
		for _, c := range t.Chunks {
			b.need[c] = t.Name
		}
	}
	for _, e := range snap.Schema {
		if e.Type != "table" {
			continue
		}
		if _, err := db.Exec(e.SQL); err != nil {
			db.Close()
			return nil, fmt.Errorf("%w: making table %s: %v", ErrCorrupt, e.Name, err)
		}
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", snap.UserVersion)); err != nil {
		db.Close()
		return nil, err
	}
	return b, nil
}

// BuildFromRun makes the database at path from a run that holds everything (a full
// backup), in one pass: the snapshot, then its chunks and photos.
func BuildFromRun(path string, r io.Reader) error {
	rr, err := newRunReader(r)
	if err != nil {
		return err
	}
	kind, _, payload, err := rr.next()
	if err != nil || kind != entrySnapshot {
		return fmt.Errorf("%w: the backup does not start with its snapshot", ErrCorrupt)
	}
	var snap Snapshot
	if err := json.Unmarshal(payload, &snap); err != nil {
		return fmt.Errorf("%w: the backup's snapshot: %v", ErrCorrupt, err)
	}
	b, err := NewBuilder(path, snap)
	if err != nil {
		return err
	}
	if err := b.addEntries(rr); err != nil {
		b.Abort()
		return err
	}
	if err := b.Finish(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// AddRun takes from the run r every chunk the snapshot needs and every photo.
func (b *Builder) AddRun(r io.Reader) error {
	rr, err := newRunReader(r)
	if err != nil {
		return err
	}
	return b.addEntries(rr)
}

func (b *Builder) addEntries(rr *runReader) error {
	tx, err := b.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for {
		kind, name, payload, err := rr.next()
		if err != nil {
			return fmt.Errorf("%w: the backup is damaged or cut short: %v", ErrCorrupt, err)
		}
		switch kind {
		case entryEnd:
			return tx.Commit()
		case entrySnapshot:
		case entryChunk:
			table, ok := b.need[name]
			if !ok {
				continue // a chunk of another snapshot
			}
			if err := b.insertChunk(tx, b.tables[table], payload); err != nil {
				return fmt.Errorf("%w: chunk of %s: %v", ErrCorrupt, table, err)
			}
			delete(b.need, name)
		case entryBlob:
			size, n := binary.Uvarint(payload)
			if n <= 0 {
				return fmt.Errorf("%w: photo %s", ErrCorrupt, name)
			}
			if _, err := tx.Exec(`INSERT INTO blobs (sha256, size, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, name, int64(size), payload[n:]); err != nil {
				return classifyWrite(err)
			}
		default:
			return fmt.Errorf("%w: unknown entry %q", ErrCorrupt, kind)
		}
	}
}

func (b *Builder) insertChunk(tx *sql.Tx, tc TableChunks, data []byte) error {
	cols := make([]string, 0, len(tc.Columns)+1)
	if tc.Rowid {
		cols = append(cols, "rowid")
	}
	for _, c := range tc.Columns {
		cols = append(cols, quoteIdent(c))
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
	stmt, err := tx.Prepare(`INSERT INTO ` + quoteIdent(tc.Name) + ` (` + strings.Join(cols, ", ") + `) VALUES (` + marks + `)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	row := make([]any, len(cols))
	for len(data) > 0 {
		for i := range row {
			v, rest, err := readValue(data)
			if err != nil {
				return err
			}
			row[i], data = v, rest
		}
		if _, err := stmt.Exec(row...); err != nil {
			return classifyWrite(err)
		}
	}
	return nil
}

// Finish checks that every chunk arrived, drops the photos no assessment links (photos of
// records deleted since an older run), makes the indexes and triggers, and closes the
// database; restore then checks it like any backup.
func (b *Builder) Finish() error {
	defer b.db.Close()
	if len(b.need) > 0 {
		return fmt.Errorf("%w: the backup lacks %d part(s) of its records (a file of the backup folder is missing)", ErrCorrupt, len(b.need))
	}
	if _, err := b.db.Exec(`DELETE FROM blobs WHERE sha256 NOT IN (SELECT photo_sha256 FROM assessments UNION SELECT thumb_sha256 FROM assessments)`); err != nil {
		return err
	}
	var n int
	if err := b.db.QueryRow(`SELECT count(*) FROM blobs`).Scan(&n); err != nil {
		return err
	}
	if n != b.snap.Blobs {
		return fmt.Errorf("%w: the backup holds %d of its %d photos (a file of the backup folder is missing)", ErrCorrupt, n, b.snap.Blobs)
	}
	for _, e := range b.snap.Schema {
		if e.Type == "table" {
			continue
		}
		if _, err := b.db.Exec(e.SQL); err != nil {
			return fmt.Errorf("%w: making %s %s: %v", ErrCorrupt, e.Type, e.Name, err)
		}
	}
	var tagged int
	if err := b.db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'backup_chunks'`).Scan(&tagged); err != nil {
		return err
	}
	if tagged > 0 {
		if err := tagAllChunks(b.db); err != nil {
			return err
		}
	}
	rows, err := b.db.Query(`PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	bad := rows.Next()
	rows.Close()
	if bad {
		return fmt.Errorf("%w: the backup's records link to rows it does not hold", ErrCorrupt)
	}
	// Left in rollback-journal mode, like a copy made by VACUUM INTO: restore's read-only
	// checks then leave no -wal and -shm files beside it (the records switch to WAL when
	// they are opened).
	if err := b.db.Close(); err != nil {
		return err
	}
	return os.Chmod(b.path, 0o600)
}

// Abort closes and removes the unfinished database.
func (b *Builder) Abort() {
	b.db.Close()
	os.Remove(b.path)
}
