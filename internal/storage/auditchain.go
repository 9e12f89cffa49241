package storage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// auditRow is one audit row as the chain hashes it.
type auditRow struct {
	id                                               int64
	at, actor, action, entity, detail, version, prev string
	entityID                                         sql.NullInt64
	hash                                             string
	// seal is the HMAC of hash under the audit key (seal.go); "" for a row written while no
	// data key was held (a failed login, setup) or before seals.
	seal string
}

// chainHash is a row's hash: SHA-256 over its fields, each length-prefixed (so no two rows'
// fields can run together into the same bytes), and the previous row's hash.
func (r auditRow) chainHash() string {
	h := sha256.New()
	entityID := "null"
	if r.entityID.Valid {
		entityID = strconv.FormatInt(r.entityID.Int64, 10)
	}
	for _, f := range []string{strconv.FormatInt(r.id, 10), r.at, r.actor, r.action, r.entity, entityID, r.detail, r.version, r.prev} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

const auditColumns = `id, at, actor, action, entity, entity_id, detail, app_version, prev_hash, hash`

func scanAudit(rows *sql.Rows) (auditRow, error) {
	var r auditRow
	err := rows.Scan(&r.id, &r.at, &r.actor, &r.action, &r.entity, &r.entityID, &r.detail, &r.version, &r.prev, &r.hash)
	return r, err
}

// audit appends a row to the trail, chained to the last one. It runs inside the write
// transaction that made the change, so the row and the change commit together and no other
// writer can chain to the same row.
func (s *Store) audit(tx *sql.Tx, action, entity string, id int64, detail string) error {
	var last auditRow
	err := tx.QueryRow(`SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1`).Scan(&last.id, &last.hash)
	if err != nil && err != sql.ErrNoRows {
		return err
	}
	r := auditRow{id: last.id + 1, at: s.stamp(), actor: s.Actor(), action: action, entity: entity, entityID: sql.NullInt64{Int64: id, Valid: true},
		detail: detail, version: versionString(), prev: last.hash}
	r.hash = r.chainHash()
	if key := s.sealKey("audit"); key != nil {
		r.seal = mac(key, r.hash)
	}
	_, err = tx.Exec(`INSERT INTO audit (`+auditColumns+`, seal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.id, r.at, r.actor, r.action, r.entity, r.entityID, r.detail, r.version, r.prev, r.hash, r.seal)
	if err == nil && r.seal != "" {
		s.headMu.Lock()
		s.head = &AuditHead{Row: r.id, Hash: r.hash}
		s.headMu.Unlock()
	}
	return err
}

// chainExistingAudit chains the rows written before the chain (migration 9), in id order;
// migration 10 then puts the append-only trigger back.
func chainExistingAudit(tx *sql.Tx) error {
	rows, err := tx.Query(`SELECT ` + auditColumns + ` FROM audit ORDER BY id`)
	if err != nil {
		return err
	}
	var all []auditRow
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			rows.Close()
			return err
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	prev := ""
	for _, r := range all {
		r.prev = prev
		r.hash = r.chainHash()
		if _, err := tx.Exec(`UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?`, r.prev, r.hash, r.id); err != nil {
			return err
		}
		prev = r.hash
	}
	return nil
}

// AuditBreak is the first place the audit chain does not hold.
type AuditBreak struct {
	Row    int64  // the row where it breaks (the first missing one, for a gap)
	Reason string // what is wrong there
}

func (b *AuditBreak) Error() string { return fmt.Sprintf("audit row %d: %s", b.Row, b.Reason) }

// VerifyAudit walks the whole trail and returns the number of rows and nil when every row
// follows the one before (ids consecutive, each commits to the previous row's hash, each hash
// matches its contents), else the first break (*AuditBreak). With the data key (a logged-in
// user) it also checks each row's seal: a file editor can recompute the chain but not the
// seals, so a row rewritten, inserted or removed breaks the seal of the next sealed row; and a
// row without a seal after the first sealed one must be one that is written before any login (a
// failed login, setup), never a change to the records. Rows cut off the end of the trail are
// caught by the head kept outside the records (VerifyHead).
func (s *Store) VerifyAudit(ctx context.Context) (int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+auditColumns+`, seal FROM audit ORDER BY id`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	key := s.sealKey("audit")
	n, prevID, prevHash, sealing := 0, int64(0), "", false
	for rows.Next() {
		var r auditRow
		if err := rows.Scan(&r.id, &r.at, &r.actor, &r.action, &r.entity, &r.entityID, &r.detail, &r.version, &r.prev, &r.hash, &r.seal); err != nil {
			return n, err
		}
		switch {
		case r.id != prevID+1:
			return n, &AuditBreak{Row: prevID + 1, Reason: fmt.Sprintf("missing: row %d is followed by row %d", prevID, r.id)}
		case r.prev != prevHash:
			return n, &AuditBreak{Row: r.id, Reason: fmt.Sprintf("does not commit to row %d (its previous hash is %.12s, row %d's is %.12s)", prevID, r.prev, prevID, prevHash)}
		case r.hash != r.chainHash():
			return n, &AuditBreak{Row: r.id, Reason: "its contents do not match its hash: it was changed after it was written"}
		}
		if key != nil {
			switch {
			case r.seal != "" && !hmac.Equal([]byte(r.seal), []byte(mac(key, r.hash))):
				return n, &AuditBreak{Row: r.id, Reason: "its seal does not match: this row or one before it was rewritten outside Dermal (the chain was recomputed)"}
			case r.seal != "":
				sealing = true
			case sealing && !unsealedKind(r):
				return n, &AuditBreak{Row: r.id, Reason: fmt.Sprintf("it has no seal, but it records %s %s: it was written outside Dermal", r.action, r.entity)}
			}
		}
		n, prevID, prevHash = n+1, r.id, r.hash
	}
	return n, rows.Err()
}

// unsealedKind reports whether a row is of the kinds written while no data key is held: the
// accounts' own rows (failed logins, a password reset with the recovery key), setup's, and a
// restore's note in the restored records.
func unsealedKind(r auditRow) bool {
	return r.entity == "user" || r.entity == "setup" || r.entity == "data key" || (r.entity == "clinic" && r.action == "update") ||
		(r.entity == "records" && r.action == "restore")
}

// AuditFilter selects audit rows: by the user who wrote them, by a patient (the patient's
// own rows and those of their lesions, assessments and referrals), from a date; zero fields
// select everything.
type AuditFilter struct {
	Actor   string
	Patient PatientID
	Since   time.Time
	Limit   int // 0: 1000; negative: every row
}

// QueryAudit lists the rows the filter selects, newest first.
func (s *Store) QueryAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	where := []string{"1 = 1"}
	var args []any
	if f.Actor != "" {
		where = append(where, "lower(actor) = lower(?)")
		args = append(args, f.Actor)
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, f.Since.UTC().Format(time.RFC3339Nano))
	}
	if f.Patient != 0 {
		where = append(where, `((entity = 'patient' AND entity_id = ?)
			OR (entity = 'lesion' AND entity_id IN (SELECT id FROM lesions WHERE patient_id = ?))
			OR (entity = 'assessment' AND entity_id IN (SELECT a.id FROM assessments a JOIN lesions l ON l.id = a.lesion_id WHERE l.patient_id = ?))
			OR (entity = 'referral' AND entity_id IN (SELECT r.id FROM referrals r JOIN assessments a ON a.id = r.assessment_id JOIN lesions l ON l.id = a.lesion_id WHERE l.patient_id = ?)))`)
		args = append(args, f.Patient, f.Patient, f.Patient, f.Patient)
	}
	limit := f.Limit
	if limit == 0 {
		limit = 1000
	}
	// A negative limit is none (SQLite's LIMIT -1): an export takes every row the filter selects.
	return s.queryAudit(ctx, `WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
}

// queryAudit reads audit rows as AuditEntry (where: the WHERE and ORDER clauses).
func (s *Store) queryAudit(ctx context.Context, where string, args ...any) ([]AuditEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, actor, action, entity, coalesce(entity_id, 0), detail, app_version FROM audit `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at string
		if err := rows.Scan(&e.Row, &at, &e.Actor, &e.Action, &e.Entity, &e.ID, &e.Detail, &e.Version); err != nil {
			return nil, err
		}
		e.At, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, e)
	}
	return out, rows.Err()
}
