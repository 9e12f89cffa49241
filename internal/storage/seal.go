package storage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Record seals. The hash-chained audit trail alone could be recomputed by anyone with the file,
// and the clinical rows were not covered at all: an urgent assessment edited to routine, or two
// patients' photo links swapped, went unnoticed. Every assessment and referral therefore carries
// a seal: HMAC-SHA256, under a key derived from the clinic's data key (which only a logged-in
// user holds), over its clinical content, the patient its lesion belongs to and the photo it
// links to. A file editor can change a row but cannot make its seal. Seals are checked whenever
// a record is shown or printed (History, Entry) and by Verify for all of them.
//
// The canonical content is built by SQLite itself (sealInput), so that writing and checking
// read the same bytes, whatever Go would make of the stored floats and JSON.

// ErrTampered means a record's content no longer matches its seal: it was changed outside
// Dermal.
var ErrTampered = errors.New("changed outside Dermal")

// field is one column as it enters a seal: length-prefixed text, NULL as "~".
func field(expr string) string {
	v := "ifnull(CAST(" + expr + " AS TEXT), '~')"
	return "length(" + v + ") || ':' || " + v + " || ';'"
}

func sealExpr(cols ...string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = field(c)
	}
	return strings.Join(parts, " || ")
}

// assessmentSealInput is the canonical content of assessment a (lesion l joined).
var assessmentSealInput = `'assessment;' || ` + sealExpr("a.id", "a.lesion_id", "l.patient_id", "a.taken_at", "a.photo_sha256", "a.thumb_sha256",
	"a.model_name", "a.model_sha256", "a.model_card_sha256", "a.probabilities", "a.risk_tier", "a.tier_driver", "a.warnings", "a.gradcam_shown",
	"a.diagnosis", "a.notes", "a.follow_up", "a.photo_type", "a.seven_point", "a.dermoscopy", "a.abcde", "a.diameter_mm", "a.assessed_by", "a.deleted_at")

// referralSealInput is the canonical content of referral r.
var referralSealInput = `'referral;' || ` + sealExpr("r.id", "r.assessment_id", "r.referred_at", "r.referred_to", "r.reason", "r.urgency",
	"r.outcome_source", "r.outcome_diagnosis", "r.outcome_date", "r.outcome_at", "r.deleted_at")

// patientSealInput is the canonical content of patient p: identity, contacts, consent.
var patientSealInput = `'patient;' || ` + sealExpr("p.id", "p.code", "p.full_name", "p.sex", "p.birth_year", "p.phone", "p.address", "p.notes",
	"p.insurance_number", "p.id_number", "p.consent_photos", "p.consent_referral", "p.consent_at", "p.deleted_at")

// lesionSealInput is the canonical content of lesion l: whose it is and where.
var lesionSealInput = `'lesion;' || ` + sealExpr("l.id", "l.patient_id", "l.body_site", "l.site_detail", "l.first_seen", "l.map_view", "l.map_x",
	"l.map_y", "l.side", "l.deleted_at")

// sealKey is the records' sealing key (nil: no data key, nobody logged in).
func (s *Store) sealKey(purpose string) []byte {
	k := s.dataKey()
	if k == nil {
		return nil
	}
	return k.Derive(purpose)
}

func mac(key []byte, input string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(input))
	return hex.EncodeToString(m.Sum(nil))
}

// sealAssessments (re)seals the assessments that where selects (a SQL condition on a and l),
// inside the transaction that changed them. Without a data key it leaves them as they are:
// records without staff accounts are not sealed.
func (s *Store) sealAssessments(tx *sql.Tx, where string, args ...any) error {
	return s.reseal(tx, "assessments", `SELECT a.id, `+assessmentSealInput+` FROM assessments a JOIN lesions l ON l.id = a.lesion_id WHERE `+where, args...)
}

// sealReferrals (re)seals the referrals that where selects (a SQL condition on r).
func (s *Store) sealReferrals(tx *sql.Tx, where string, args ...any) error {
	return s.reseal(tx, "referrals", `SELECT r.id, `+referralSealInput+` FROM referrals r WHERE `+where, args...)
}

// sealPatients (re)seals the patients that where selects (a SQL condition on p).
func (s *Store) sealPatients(tx *sql.Tx, where string, args ...any) error {
	return s.reseal(tx, "patients", `SELECT p.id, `+patientSealInput+` FROM patients p WHERE `+where, args...)
}

// sealLesions (re)seals the lesions that where selects (a SQL condition on l).
func (s *Store) sealLesions(tx *sql.Tx, where string, args ...any) error {
	return s.reseal(tx, "lesions", `SELECT l.id, `+lesionSealInput+` FROM lesions l WHERE `+where, args...)
}

// reseal sets the seal of each row that query selects (id, seal input) in table.
func (s *Store) reseal(tx *sql.Tx, table, query string, args ...any) error {
	key := s.sealKey("records")
	if key == nil {
		return nil
	}
	rows, err := tx.Query(query, args...)
	if err != nil {
		return err
	}
	var ids []int64
	var seals []string
	for rows.Next() {
		var id int64
		var in string
		if err := rows.Scan(&id, &in); err != nil {
			rows.Close()
			return err
		}
		ids, seals = append(ids, id), append(seals, mac(key, in))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i, id := range ids {
		if _, err := tx.Exec(`UPDATE `+table+` SET seal = ? WHERE id = ?`, seals[i], id); err != nil {
			return err
		}
	}
	return nil
}

// recordsSealed reports whether every record has been sealed once (data_key.records_sealed):
// from then on a record without a seal is a record made outside Dermal, never sealed again.
func recordsSealed(q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, ctx context.Context) bool {
	var done int
	q.QueryRowContext(ctx, `SELECT records_sealed FROM data_key WHERE id = 1`).Scan(&done)
	return done == 1
}

// checkSeal compares a record's seal with its content; seal "" is accepted only before the
// records were first sealed (an upgrade not yet through its first login).
func (s *Store) checkSeal(ctx context.Context, kind string, id int64, input, seal string) error {
	key := s.sealKey("records")
	if key == nil {
		return nil // nobody logged in (records without accounts, or read-only lists)
	}
	if seal == "" {
		if !recordsSealed(s.db, ctx) {
			return nil
		}
		return fmt.Errorf("%w: %s %d has no seal: it was added or altered outside Dermal; restore a backup from before, and see the audit trail", ErrTampered, kind, id)
	}
	if !hmac.Equal([]byte(seal), []byte(mac(key, input))) {
		return fmt.Errorf("%w: %s %d no longer matches its seal: its content was changed outside Dermal; do not rely on it: restore a backup from before, and see the audit trail", ErrTampered, kind, id)
	}
	return nil
}

// SealRecords seals every record not sealed yet, once, after the upgrade that brought seals
// (at the first login that has the data key); then it marks the records sealed. It never runs
// again after that: an unsealed record later is tampering, not an old record.
func (s *Store) SealRecords(ctx context.Context) error {
	if s.sealKey("records") == nil || recordsSealed(s.db, ctx) {
		return nil
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := s.sealPatients(tx, `p.seal = ''`); err != nil {
			return err
		}
		if err := s.sealLesions(tx, `l.seal = ''`); err != nil {
			return err
		}
		if err := s.sealAssessments(tx, `a.seal = ''`); err != nil {
			return err
		}
		if err := s.sealReferrals(tx, `r.seal = ''`); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE data_key SET records_sealed = 1 WHERE id = 1`); err != nil {
			return err
		}
		return s.audit(tx, "update", "records", 0, "every patient, lesion, assessment and referral sealed")
	})
}

// RecordFault is one record that fails its seal.
type RecordFault struct {
	Kind string
	ID   int64
	Err  error
}

// VerifyRecords checks every patient's, lesion's, assessment's and referral's seal (with the data key: a logged-in
// user) and returns the number checked and the records that fail.
func (s *Store) VerifyRecords(ctx context.Context) (int, []RecordFault, error) {
	if s.sealKey("records") == nil {
		return 0, nil, fmt.Errorf("%w: checking the records' seals needs the data key", ErrLocked)
	}
	n := 0
	var faults []RecordFault
	for _, q := range []struct{ kind, sql string }{
		{"patient", `SELECT p.id, ` + patientSealInput + `, p.seal FROM patients p ORDER BY p.id`},
		{"lesion", `SELECT l.id, ` + lesionSealInput + `, l.seal FROM lesions l ORDER BY l.id`},
		{"assessment", `SELECT a.id, ` + assessmentSealInput + `, a.seal FROM assessments a JOIN lesions l ON l.id = a.lesion_id ORDER BY a.id`},
		{"referral", `SELECT r.id, ` + referralSealInput + `, r.seal FROM referrals r ORDER BY r.id`},
	} {
		rows, err := s.db.QueryContext(ctx, q.sql)
		if err != nil {
			return n, faults, err
		}
		for rows.Next() {
			var id int64
			var in, seal string
			if err := rows.Scan(&id, &in, &seal); err != nil {
				rows.Close()
				return n, faults, err
			}
			n++
			if err := s.checkSeal(ctx, q.kind, id, in, seal); err != nil {
				faults = append(faults, RecordFault{q.kind, id, err})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, faults, err
		}
	}
	// A sealed record created (its audit row is sealed) and gone without a delete row was
	// removed outside Dermal.
	for _, entity := range []string{"assessment", "referral"} {
		table := entity + "s"
		rows, err := s.db.QueryContext(ctx, `SELECT c.entity_id, c.id FROM audit c WHERE c.action = 'create' AND c.entity = ? AND c.seal != ''
			AND NOT EXISTS (SELECT 1 FROM `+table+` x WHERE x.id = c.entity_id)
			AND NOT EXISTS (SELECT 1 FROM audit d WHERE d.action = 'delete' AND d.entity = ? AND d.entity_id = c.entity_id)`, entity, entity)
		if err != nil {
			return n, faults, err
		}
		for rows.Next() {
			var id, row int64
			if err := rows.Scan(&id, &row); err != nil {
				rows.Close()
				return n, faults, err
			}
			faults = append(faults, RecordFault{entity, id, fmt.Errorf("%w: %s %d was created (audit row %d) and is gone, with no deletion recorded: it was removed outside Dermal", ErrTampered, entity, id, row)})
		}
		rows.Close()
	}
	// An assessment whose lesion row is gone escapes the join above: count them too.
	var orphans int
	s.db.QueryRowContext(ctx, `SELECT count(*) FROM assessments a WHERE NOT EXISTS (SELECT 1 FROM lesions l WHERE l.id = a.lesion_id)`).Scan(&orphans)
	if orphans > 0 {
		faults = append(faults, RecordFault{"assessment", 0, fmt.Errorf("%w: %d assessments belong to no lesion (lesion rows deleted outside Dermal)", ErrTampered, orphans)})
	}
	return n, faults, nil
}

// VerifySchema compares the records' tables, indexes and triggers with the ones Dermal made:
// a dropped append-only trigger, or a table or trigger added outside Dermal, is named.
func (s *Store) VerifySchema(ctx context.Context) error {
	v, err := s.SchemaVersion()
	if err != nil {
		return err
	}
	got, err := schemaRows(s.db)
	if err != nil {
		return err
	}
	want, err := expectedSchema(v)
	if err != nil {
		return err
	}
	diff := schemaDiff(got, want)
	if len(diff) > 0 {
		return fmt.Errorf("%w: the records' schema was changed outside Dermal (%s)", ErrTampered, strings.Join(diff, "; "))
	}
	return nil
}
