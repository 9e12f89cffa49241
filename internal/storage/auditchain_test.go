package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// The test: someone drops the audit triggers through raw SQL and edits a row, removes
// one, or forges one; VerifyAudit names the first broken or missing link.
func TestAuditChainCatchesTampering(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) *Store {
		s, _ := openTemp(t)
		for i := 0; i < 5; i++ {
			if _, err := s.AddPatient(ctx, Patient{Code: fmt.Sprintf("A%d", i), FullName: "Trần Thị " + fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.VerifyAudit(ctx); err != nil || n != 5 {
			t.Fatalf("fresh trail: %d rows, %v", n, err)
		}
		if _, err := s.db.Exec(`DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete`); err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tc := range []struct {
		name, sql string
		row       int64
		reason    string
	}{
		{"edited", `UPDATE audit SET detail = 'A9' WHERE id = 3`, 3, "changed after it was written"},
		{"actor rewritten", `UPDATE audit SET actor = 'someone else' WHERE id = 2`, 2, "changed after it was written"},
		{"removed", `DELETE FROM audit WHERE id = 4`, 4, "missing"},
		{"re-hashed after an edit", `UPDATE audit SET detail = 'A9', hash = 'x' WHERE id = 3`, 3, "changed"},
		{"forged at the end", `INSERT INTO audit (id, at, actor, action, entity, entity_id, detail, app_version, prev_hash, hash)
			VALUES (6, '2026-01-01T00:00:00Z', 'x', 'delete', 'patient', 1, '', '', 'bogus', 'bogus')`, 6, "does not commit to row 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := setup(t)
			if _, err := s.db.Exec(tc.sql); err != nil {
				t.Fatal(err)
			}
			_, err := s.VerifyAudit(ctx)
			var b *AuditBreak
			if !errors.As(err, &b) || b.Row != tc.row || !strings.Contains(b.Reason, tc.reason) {
				t.Errorf("verify: %v, want row %d: %s", err, tc.row, tc.reason)
			}
		})
	}
}

// Rows written before the chain existed are chained by the upgrade (migration 9), so an old
// database verifies, and its later rows chain on.
func TestAuditChainOnUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dermal.db")
	// A schema 8 database, as 0.7 left it, with audit rows written the old way.
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		tx, _ := db.Begin()
		if err := applyMigration(tx, i); err != nil {
			t.Fatal(err)
		}
		tx.Commit()
	}
	for _, q := range []string{
		`INSERT INTO patients (code, code_key, full_name, search_key, created_at, updated_at) VALUES ('U1', 'u1', 'Lê Văn Tám', 'le van tam', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`,
		`INSERT INTO audit (at, actor, action, entity, entity_id, detail, app_version) VALUES ('2026-01-01T00:00:00Z', 'old', 'create', 'patient', 1, 'U1', '0.7.0')`,
		`INSERT INTO audit (at, actor, action, entity, entity_id, detail, app_version) VALUES ('2026-01-02T00:00:00Z', 'old', 'update', 'patient', 1, 'U1', '0.7.0')`,
		`PRAGMA user_version = 8`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	db.Close()
	s, err := Open(path, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.AddPatient(ctx, Patient{Code: "U2", FullName: "Lê Văn Chín"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.VerifyAudit(ctx); err != nil || n != 3 {
		t.Errorf("after the upgrade: %d rows, %v", n, err)
	}
	if _, err := s.db.Exec(`UPDATE audit SET detail = 'x' WHERE id = 1`); err == nil {
		t.Error("the upgraded trail is not append-only")
	}
}
