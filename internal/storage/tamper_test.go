package storage

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dermal/internal/sealbox"
)

// sealedRecords are records set up with a data key held (as after a login): two patients, an
// urgent and a routine assessment, a referral with its outcome.
type sealedRecords struct {
	s              *Store
	path           string
	key            *sealbox.Key
	urgent, normal AssessmentID
	a, b           PatientID
}

func newSealedRecords(t *testing.T) sealedRecords {
	t.Helper()
	t.Setenv("DERMAL_ANCHOR_DIR", t.TempDir())
	s, path := openTemp(t)
	ctx := context.Background()
	key, _ := sealbox.NewKey()
	if _, err := s.SetUp(ctx, Setup{Profile: ClinicProfile{Name: "Trạm"}, RecoveryWrapped: "r", Admin: User{Name: "an", Role: "admin"}, Hash: "$argon2id$h", Wrapped: "w"}); err != nil {
		t.Fatal(err)
	}
	s.SetDataKey(key)
	s.SetActor("an")
	if err := s.SealRecords(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SealPlainBlobs(ctx, 10, nil); err != nil {
		t.Fatal(err)
	}
	r := sealedRecords{s: s, path: path, key: key}
	photo, err := os.ReadFile("../inference/testdata/fixtures/ISIC_0024311.png")
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.ReadFile("../inference/testdata/fixtures/ISIC_0024367.png")
	if err != nil {
		t.Fatal(err)
	}
	for i, pc := range []struct {
		code, name, tier string
		photo            []byte
	}{{"A1", "Nguyễn Văn A", "urgent", other}, {"B1", "Trần Thị B", "routine", photo}} {
		pid, err := s.AddPatient(ctx, Patient{Code: pc.code, FullName: pc.name})
		if err != nil {
			t.Fatal(err)
		}
		_, id, err := s.SaveAssessmentOfNewLesion(ctx, Lesion{PatientID: pid, BodySite: "back"}, Assessment{Photo: pc.photo, ModelName: "m",
			ModelSHA256: strings.Repeat("a", 64), ModelCardSHA256: strings.Repeat("e", 64), Probabilities: map[string]float64{"mel": 0.5, "nv": 0.5},
			RiskTier: pc.tier, Diagnosis: "d"}, testThumb(t, pc.photo))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			r.urgent, r.a = id, pid
		} else {
			r.normal, r.b = id, pid
		}
	}
	if _, err := s.RecordOutcome(ctx, r.urgent, OutcomeHistology, "melanoma in situ", time.Now()); err != nil {
		t.Fatal(err)
	}
	return r
}

// raw edits the records as an attacker with the file and sqlite3 would.
func (r sealedRecords) raw(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := r.s.db.Exec(sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// verify runs every check and returns what failed, joined ("" when all hold).
func (r sealedRecords) verify(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	var out []string
	if err := r.s.VerifySchema(ctx); err != nil {
		out = append(out, err.Error())
	}
	if _, err := r.s.VerifyAudit(ctx); err != nil {
		out = append(out, err.Error())
	}
	if _, err := r.s.VerifyHead(ctx); err != nil {
		out = append(out, err.Error())
	}
	_, faults, err := r.s.VerifyRecords(ctx)
	if err != nil {
		out = append(out, err.Error())
	}
	for _, f := range faults {
		out = append(out, f.Err.Error())
	}
	return strings.Join(out, "\n")
}

// rechain recomputes the whole audit chain after an edit, as an attacker who read this code
// would (the hashes are unkeyed; the seals are not).
func (r sealedRecords) rechain(t *testing.T) {
	t.Helper()
	r.raw(t, `DROP TRIGGER audit_no_update`)
	rows, err := r.s.db.Query(`SELECT ` + auditColumns + ` FROM audit ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var all []auditRow
	for rows.Next() {
		a, err := scanAudit(rows)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, a)
	}
	rows.Close()
	prev := ""
	for _, a := range all {
		a.prev = prev
		a.hash = a.chainHash()
		r.raw(t, `UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?`, a.prev, a.hash, a.id)
		prev = a.hash
	}
	r.raw(t, `CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END`)
}

// Every kind of tampering of the records-trust issue is detected by verify, and a record being
// shown or printed is refused at that moment (History, Entry, the photo).
func TestTamperingIsDetected(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, r sealedRecords)
		want   string // in what verify reports
		shown  bool   // Entry of the urgent assessment must fail too
	}{
		{"edit: urgent made routine", func(t *testing.T, r sealedRecords) {
			r.raw(t, `UPDATE assessments SET risk_tier = 'routine' WHERE id = ?`, r.urgent)
		}, "no longer matches its seal", true},
		{"edit: the diagnosis", func(t *testing.T, r sealedRecords) {
			r.raw(t, `UPDATE assessments SET diagnosis = 'benign' WHERE id = ?`, r.urgent)
		}, "no longer matches its seal", true},
		{"swap: two patients' photo links", func(t *testing.T, r sealedRecords) {
			r.raw(t, `UPDATE assessments SET photo_sha256 = CASE id WHEN ?1 THEN (SELECT photo_sha256 FROM assessments WHERE id = ?2) ELSE (SELECT photo_sha256 FROM assessments WHERE id = ?1) END WHERE id IN (?1, ?2)`, r.urgent, r.normal)
		}, "no longer matches its seal", true},
		{"move: a lesion to another patient", func(t *testing.T, r sealedRecords) {
			r.raw(t, `UPDATE lesions SET patient_id = ? WHERE id = (SELECT lesion_id FROM assessments WHERE id = ?)`, r.b, r.urgent)
		}, "no longer matches its seal", true},
		{"copy a seal: insert a forged assessment", func(t *testing.T, r sealedRecords) {
			r.raw(t, `INSERT INTO assessments (lesion_id, taken_at, photo_sha256, thumb_sha256, model_name, model_sha256, model_card_sha256, probabilities, risk_tier, created_at, seal)
				SELECT lesion_id, taken_at, photo_sha256, thumb_sha256, model_name, model_sha256, model_card_sha256, probabilities, 'routine', created_at, seal FROM assessments WHERE id = ?`, r.urgent)
		}, "no longer matches its seal", false},
		{"blank a seal", func(t *testing.T, r sealedRecords) {
			r.raw(t, `UPDATE assessments SET seal = '', risk_tier = 'routine' WHERE id = ?`, r.urgent)
		}, "has no seal", true},
		{"delete: an assessment", func(t *testing.T, r sealedRecords) {
			r.raw(t, `DELETE FROM referrals WHERE assessment_id = ?`, r.urgent)
			r.raw(t, `DELETE FROM assessments WHERE id = ?`, r.urgent)
		}, "is gone, with no deletion recorded", false},
		{"edit: a patient's name", func(t *testing.T, r sealedRecords) {
			r.raw(t, `UPDATE patients SET full_name = 'Nguyễn Văn B' WHERE id = ?`, r.a)
		}, "patient 1 no longer matches its seal", false},
		{"edit: a lesion's body site", func(t *testing.T, r sealedRecords) {
			r.raw(t, `UPDATE lesions SET body_site = 'face' WHERE id = (SELECT lesion_id FROM assessments WHERE id = ?)`, r.urgent)
		}, "lesion 1 no longer matches its seal", true},
		{"edit: a referral's outcome", func(t *testing.T, r sealedRecords) {
			r.raw(t, `UPDATE referrals SET outcome_diagnosis = 'benign naevus'`)
		}, "referral", false},
		{"a plain photo under its own name", func(t *testing.T, r sealedRecords) {
			photo, _ := os.ReadFile("../inference/testdata/fixtures/ISIC_0024367.png")
			r.raw(t, `UPDATE blobs SET data = ? WHERE sha256 = (SELECT photo_sha256 FROM assessments WHERE id = ?)`, photo, r.urgent)
		}, "", false},
		{"drop the append-only triggers", func(t *testing.T, r sealedRecords) {
			r.raw(t, `DROP TRIGGER audit_no_delete`)
		}, "audit_no_delete", false},
		{"audit: edit a row", func(t *testing.T, r sealedRecords) {
			r.raw(t, `DROP TRIGGER audit_no_update`)
			r.raw(t, `UPDATE audit SET actor = 'nobody' WHERE id = 5`)
			r.raw(t, `CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END`)
		}, "audit row 5", false},
		{"audit: edit a row and rewrite the chain", func(t *testing.T, r sealedRecords) {
			r.raw(t, `DROP TRIGGER audit_no_update`)
			r.raw(t, `UPDATE audit SET detail = 'routine' WHERE entity = 'assessment' AND detail = 'urgent'`)
			r.raw(t, `CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END`)
			r.rechain(t)
		}, "seal does not match", false},
		{"audit: delete a row in the middle", func(t *testing.T, r sealedRecords) {
			r.raw(t, `DROP TRIGGER audit_no_delete`)
			r.raw(t, `DELETE FROM audit WHERE id = 6`)
			r.raw(t, `CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END`)
		}, "audit row 6", false},
		{"audit: cut off the tail", func(t *testing.T, r sealedRecords) {
			r.raw(t, `DROP TRIGGER audit_no_delete`)
			r.raw(t, `DELETE FROM audit WHERE id > (SELECT max(id) - 3 FROM audit)`)
			r.raw(t, `CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END`)
		}, "cut off its end", false},
		{"audit: insert a forged row at the end", func(t *testing.T, r sealedRecords) {
			var last auditRow
			r.s.db.QueryRow(`SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1`).Scan(&last.id, &last.hash)
			f := auditRow{id: last.id + 1, at: "2026-12-01T00:00:00Z", actor: "an", action: "delete", entity: "patient", entityID: sql.NullInt64{Int64: 1, Valid: true}, detail: "A1", prev: last.hash}
			f.hash = f.chainHash()
			r.raw(t, `INSERT INTO audit (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, f.id, f.at, f.actor, f.action, f.entity, f.entityID, f.detail, f.version, f.prev, f.hash)
		}, "no seal", false},
		{"audit: reorder two rows", func(t *testing.T, r sealedRecords) {
			r.raw(t, `DROP TRIGGER audit_no_update`)
			r.raw(t, `UPDATE audit SET id = -1 WHERE id = 4; UPDATE audit SET id = 4 WHERE id = 5; UPDATE audit SET id = 5 WHERE id = -1`)
			r.raw(t, `CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END`)
		}, "audit row 4", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newSealedRecords(t)
			if got := r.verify(t); got != "" {
				t.Fatalf("untouched records fail: %s", got)
			}
			tc.tamper(t, r)
			ctx := context.Background()
			if tc.name == "a plain photo under its own name" {
				var sha string
				r.s.db.QueryRow(`SELECT photo_sha256 FROM assessments WHERE id = ?`, r.urgent).Scan(&sha)
				if _, err := r.s.Blobs().Get(ctx, sha); !errors.Is(err, ErrTampered) {
					t.Errorf("a plain photo linked under its hash was shown: %v", err)
				}
				return
			}
			got := r.verify(t)
			if got == "" || !strings.Contains(got, tc.want) {
				t.Errorf("verify says %q, want it to name %q", got, tc.want)
			}
			if strings.HasPrefix(tc.name, "edit: a patient's") {
				if _, err := r.s.PatientByID(ctx, r.a); !errors.Is(err, ErrTampered) {
					t.Errorf("the tampered patient was shown: %v", err)
				}
			}
			if tc.shown {
				if _, err := r.s.Entry(ctx, r.urgent); !errors.Is(err, ErrTampered) {
					t.Errorf("the tampered assessment was shown: %v", err)
				}
				if _, err := r.s.History(ctx, r.a); !errors.Is(err, ErrTampered) && tc.name != "move: a lesion to another patient" {
					t.Errorf("the tampered history was shown: %v", err)
				}
			}
		})
	}
}

// Legitimate changes keep every seal: findings edited, a patient merged into another (the
// moved lesion's seals follow it), a patient deleted for good; and a restore starts a new
// head instead of calling the older backup's shorter trail a cut.
func TestLegitimateChangesKeepTheSeals(t *testing.T) {
	r := newSealedRecords(t)
	ctx := context.Background()
	if err := r.s.RecordFindings(ctx, r.normal, Findings{Diagnosis: "seborrhoeic keratosis", Notes: "ghi chú"}); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "b.db")
	if err := r.s.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	if err := r.s.MergePatients(ctx, r.a, r.b); err != nil {
		t.Fatal(err)
	}
	if got := r.verify(t); got != "" {
		t.Fatalf("after findings and a merge: %s", got)
	}
	if hs, err := r.s.History(ctx, r.a); err != nil || len(hs) != 2 {
		t.Fatalf("merged history: %d, %v", len(hs), err)
	}
	if err := r.s.DeletePatient(ctx, r.a, true); err != nil {
		t.Fatal(err)
	}
	if got := r.verify(t); got != "" {
		t.Fatalf("after a permanent delete: %s", got)
	}
	key := r.key
	r.s.Close()
	if _, err := Restore(backup, r.path); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(r.path, "an")
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s2.SetDataKey(key)
	if _, err := s2.VerifyHead(ctx); err != nil {
		t.Errorf("the restored (older) trail is called cut: %v", err)
	}
}

// Holding a photo must not prove it is in the records (records-trust item 16): no blob name,
// no photo link and no byte of the database file or its journal carries the photo's plain
// SHA-256; the photo is still stored once and opens under its keyed name.
func TestPhotoNamesAreKeyed(t *testing.T) {
	r := newSealedRecords(t)
	ctx := context.Background()
	e, err := r.s.Entry(ctx, r.normal)
	if err != nil {
		t.Fatal(err)
	}
	photo, err := os.ReadFile("../inference/testdata/fixtures/ISIC_0024311.png")
	if err != nil {
		t.Fatal(err)
	}
	plain := plainName(photo)
	if e.Assessment.PhotoSHA256 == plain || !strings.HasPrefix(e.Assessment.PhotoSHA256, keyedPrefix) {
		t.Errorf("the photo is linked as %s; want a keyed name, not its SHA-256", e.Assessment.PhotoSHA256)
	}
	if got, err := r.s.Blobs().Get(ctx, e.Assessment.PhotoSHA256); err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("the photo under its keyed name: %v", err)
	}
	r.s.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	for _, f := range []string{r.path, r.path + "-wal"} {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte(plain)) || bytes.Contains(b, []byte(plain[:16])) {
			t.Errorf("%s holds the photo's plain SHA-256", filepath.Base(f))
		}
	}
	// Another key names the same photo otherwise: the name is of no use without the key.
	other, _ := sealbox.NewKey()
	r.s.SetDataKey(other)
	if r.s.BlobName(photo) == e.Assessment.PhotoSHA256 {
		t.Error("the name does not depend on the clinic's key")
	}
}

// Records from before keyed names: plain-named photos linked from sealed assessments are
// renamed at the next login, the whole assessments keep whole seals and open their photos,
// and an assessment tampered with before the rename is still called tampered after it.
func TestOldPhotoNamesAreRenamedWithoutHidingTampering(t *testing.T) {
	t.Setenv("DERMAL_ANCHOR_DIR", t.TempDir())
	s, _ := openTemp(t)
	ctx := context.Background()
	photos := map[string][]byte{}
	ids := map[string]AssessmentID{}
	// Without staff accounts, photos are stored plain under their SHA-256 (the old way).
	for _, f := range []string{"ISIC_0024311", "ISIC_0024367"} {
		photo, err := os.ReadFile("../inference/testdata/fixtures/" + f + ".png")
		if err != nil {
			t.Fatal(err)
		}
		pid, err := s.AddPatient(ctx, Patient{Code: f, FullName: "Lê Thị " + f})
		if err != nil {
			t.Fatal(err)
		}
		_, id, err := s.SaveAssessmentOfNewLesion(ctx, Lesion{PatientID: pid, BodySite: "back"}, Assessment{Photo: photo, ModelName: "m",
			ModelSHA256: strings.Repeat("a", 64), ModelCardSHA256: strings.Repeat("e", 64), Probabilities: map[string]float64{"mel": 0.5, "nv": 0.5},
			RiskTier: "urgent"}, testThumb(t, photo))
		if err != nil {
			t.Fatal(err)
		}
		photos[f], ids[f] = photo, id
	}
	if _, err := s.SetUp(ctx, Setup{Profile: ClinicProfile{Name: "Trạm"}, RecoveryWrapped: "r", Admin: User{Name: "an", Role: "admin"}, Hash: "$argon2id$h", Wrapped: "w"}); err != nil {
		t.Fatal(err)
	}
	key, _ := sealbox.NewKey()
	s.SetDataKey(key)
	s.SetActor("an")
	if err := s.SealRecords(ctx); err != nil {
		t.Fatal(err)
	}
	// Tampered with while its photo still had the old name.
	if _, err := s.db.Exec(`UPDATE assessments SET risk_tier = 'routine' WHERE id = ?`, ids["ISIC_0024367"]); err != nil {
		t.Fatal(err)
	}
	if n, err := s.SealPlainBlobs(ctx, 1, nil); err != nil || n != 4 {
		t.Fatalf("renamed %d blobs (%v); want 2 photos and 2 thumbnails", n, err)
	}
	var old int
	s.db.QueryRow(`SELECT count(*) FROM blobs WHERE sha256 NOT LIKE 'k-%'`).Scan(&old)
	if old != 0 || !s.photosSealed(ctx) {
		t.Errorf("%d blobs keep plain names (finished: %v)", old, s.photosSealed(ctx))
	}
	e, err := s.Entry(ctx, ids["ISIC_0024311"])
	if err != nil {
		t.Fatalf("the whole assessment after the rename: %v", err)
	}
	if got, err := s.Blobs().Get(ctx, e.Assessment.PhotoSHA256); err != nil || !bytes.Equal(got, photos["ISIC_0024311"]) {
		t.Errorf("its photo after the rename: %v", err)
	}
	if _, err := s.Entry(ctx, ids["ISIC_0024367"]); !errors.Is(err, ErrTampered) {
		t.Errorf("the assessment tampered with before the rename is shown after it: %v", err)
	}
	// A plain-named photo slipped in afterwards is refused.
	photo := photos["ISIC_0024311"]
	if _, err := s.db.Exec(`INSERT INTO blobs (sha256, size, data) VALUES (?, ?, ?)`, plainName(photo), len(photo), key.Seal(photo, []byte(plainName(photo)))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Blobs().Get(ctx, plainName(photo)); !errors.Is(err, ErrTampered) {
		t.Errorf("a photo under its plain name, added after the rename, was opened: %v", err)
	}
}
