package storage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
)

// Change tags of backup chunks. A backup run names each chunk of a table by a keyed hash of
// its rows, and a daily backup into a folder at 100,000 patients spent 5 of its 7 seconds
// reading and hashing every row again to find the few chunks that changed. Triggers on each
// table now give a chunk a new random tag whenever one of its rows is inserted, updated or
// deleted (table backup_chunks); the folder keeps the name it computed for each (chunk, tag),
// and the next run reads only the chunks whose tag it does not know.
//
// What keeps a known tag honest:
//   - every write through SQL fires the triggers (Dermal uses no REPLACE, whose deletes skip
//     them, and no VACUUM, which may renumber rowids);
//   - a restore gives every chunk a new tag (resetChunkTags): a file restored from anywhere
//     never carries tags a folder already knows for other rows;
//   - a schema change (a migration) discards every known name (the fingerprint of the schema
//     is part of what is known);
//   - a table whose rows the tags do not all count (rows written while it had no triggers)
//     is read whole, and its names are not kept;
//   - backupset reads every row again on every seventh run of a folder, whatever is known.

// taggedTables are the tables backups hold (all but the photos, which are named by their own
// content, and the tags themselves). A migration that makes a table adds it here and its
// triggers with chunkTriggers, in the same migration (TestEveryBackedUpTableIsTagged).
var taggedTables = append(append([]string(nil), taggedByMigration23...), "hub_settings", "hub_outbox")

// taggedByMigration23 are the tables migration 23 tagged: that migration's text must never
// change (TestMigrationsAreNeverEdited), whatever tables come after it.
var taggedByMigration23 = []string{"patients", "audit", "lesions", "assessments", "referrals",
	"clinic_profile", "users", "data_key", "login_unknown"}

// chunkTriggers is the SQL that makes the change-tag triggers of tables. Each also counts
// the chunk's rows, so that rows the tags do not cover show (tableTags).
func chunkTriggers(tables ...string) string {
	var b strings.Builder
	tag := func(table, rowid string, rows int) string {
		return fmt.Sprintf("INSERT INTO backup_chunks (tbl, chunk, tag, rows) VALUES ('%s', %s / %d, random(), %d) ON CONFLICT (tbl, chunk) DO UPDATE SET tag = excluded.tag, rows = rows + excluded.rows;\n", table, rowid, chunkRows, rows)
	}
	for _, t := range tables {
		fmt.Fprintf(&b, "\nCREATE TRIGGER backup_chunks_%s_insert AFTER INSERT ON %s BEGIN\n%sEND;", t, t, tag(t, "NEW.rowid", 1))
		fmt.Fprintf(&b, "\nCREATE TRIGGER backup_chunks_%s_update AFTER UPDATE ON %s BEGIN\n%s%sEND;", t, t, tag(t, "OLD.rowid", -1), tag(t, "NEW.rowid", 1))
		fmt.Fprintf(&b, "\nCREATE TRIGGER backup_chunks_%s_delete AFTER DELETE ON %s BEGIN\n%sEND;", t, t, tag(t, "OLD.rowid", -1))
	}
	return b.String()
}

type execer interface {
	Exec(string, ...any) (sql.Result, error)
	QueryRow(string, ...any) *sql.Row
}

// tagAllChunks gives every chunk of the tagged tables a new tag (the tags there are dropped).
func tagAllChunks(db execer) error {
	if _, err := db.Exec(`DELETE FROM backup_chunks`); err != nil {
		return err
	}
	for _, t := range taggedTables {
		var exists int
		if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, t).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			continue // a table of a later migration than the records' schema
		}
		if _, err := db.Exec(fmt.Sprintf(`INSERT INTO backup_chunks (tbl, chunk, tag, rows) SELECT '%s', c, random(), count(*) FROM (SELECT rowid / %d AS c FROM %s) GROUP BY c`, t, chunkRows, quoteIdent(t))); err != nil {
			return fmt.Errorf("tagging the chunks of %s: %w", t, err)
		}
	}
	return nil
}

// resetChunkTags gives every chunk of the database file at path a new tag, if its schema has
// tags (an older one gets them from its migration).
func resetChunkTags(path string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'backup_chunks'`).Scan(&n); err != nil || n == 0 {
		return err
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tagAllChunks(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return db.Close()
}

// ChunkTag is one chunk of a table as its change tag knows it.
type ChunkTag struct {
	Table      string
	Chunk, Tag int64
}

// ChunkNames are the names a backup run computed for chunks by their change tags: what the
// next run into the same destination need not read again.
type ChunkNames struct {
	// Schema fingerprints the schema the names were computed under: names of another are
	// not used.
	Schema string
	// Names holds each chunk's name; "" for a tagged chunk that had no rows.
	Names map[ChunkTag]string
}

// schemaFingerprint identifies a schema (its version and every statement).
func schemaFingerprint(version int, schema []SchemaEntry) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d\n", version)
	for _, e := range schema {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", e.Type, e.Name, e.SQL)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

type chunkWithTag struct{ chunk, tag int64 }

// tableTags returns a table's tagged chunks in order, and whether the tags cover it: its
// three triggers exist and every row is counted in a tagged chunk.
func tableTags(ctx context.Context, q querier, table string) ([]chunkWithTag, bool, error) {
	var triggers int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ? AND name IN (?, ?, ?)`,
		table, "backup_chunks_"+table+"_insert", "backup_chunks_"+table+"_update", "backup_chunks_"+table+"_delete").Scan(&triggers); err != nil {
		return nil, false, err
	}
	if triggers != 3 {
		return nil, false, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT chunk, tag FROM backup_chunks WHERE tbl = ? ORDER BY chunk`, table)
	if err != nil {
		return nil, false, err
	}
	var tags []chunkWithTag
	for rows.Next() {
		var c chunkWithTag
		if err := rows.Scan(&c.chunk, &c.tag); err != nil {
			rows.Close()
			return nil, false, err
		}
		tags = append(tags, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	// Every row is in a tagged chunk when the counts the triggers keep add up to the
	// table's (count(*) walks the table's smallest index, not its rows).
	var counted, total sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT sum(rows) FROM backup_chunks WHERE tbl = ?`, table).Scan(&counted); err != nil {
		return nil, false, err
	}
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(table)).Scan(&total); err != nil {
		return nil, false, err
	}
	if counted.Int64 != total.Int64 {
		return tags, false, nil
	}
	// Negative rowids would fall in other chunks in SQL's division than in floorDiv's.
	var lo sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT min(rowid) FROM `+quoteIdent(table)).Scan(&lo); err != nil {
		return nil, false, err
	}
	if lo.Valid && lo.Int64 < 0 {
		return tags, false, nil
	}
	return tags, true, nil
}
