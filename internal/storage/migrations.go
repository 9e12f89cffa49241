package storage

import (
	"database/sql"
	"fmt"
)

// migrations are applied in order, each in its own transaction; PRAGMA user_version records
// how many have run. Never edit a released migration: add a new one.
var migrations = []string{
	// 1: the first schema.
	`CREATE TABLE patients (
		id          INTEGER PRIMARY KEY,
		code        TEXT NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 64),
		full_name   TEXT NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
		search_key  TEXT NOT NULL,
		sex         TEXT CHECK (sex IN ('F', 'M')),
		birth_year  INTEGER CHECK (birth_year BETWEEN 1880 AND 2200),
		phone       TEXT NOT NULL DEFAULT '' CHECK (length(phone) <= 40),
		address     TEXT NOT NULL DEFAULT '' CHECK (length(address) <= 500),
		notes       TEXT NOT NULL DEFAULT '' CHECK (length(notes) <= 20000),
		created_at  TEXT NOT NULL,
		updated_at  TEXT NOT NULL,
		deleted_at  TEXT
	);
	CREATE INDEX patients_search ON patients (search_key);
	CREATE TABLE blobs (
		sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
		size   INTEGER NOT NULL,
		data   BLOB NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE audit (
		id        INTEGER PRIMARY KEY,
		at        TEXT NOT NULL,
		actor     TEXT NOT NULL,
		action    TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete', 'restore', 'export')),
		entity    TEXT NOT NULL,
		entity_id INTEGER,
		detail    TEXT NOT NULL DEFAULT ''
	);
	CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
	CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;`,
	// 2: lesions and assessments.
	`CREATE TABLE lesions (
		id          INTEGER PRIMARY KEY,
		patient_id  INTEGER NOT NULL REFERENCES patients (id),
		body_site   TEXT NOT NULL,
		site_detail TEXT NOT NULL DEFAULT '' CHECK (length(site_detail) <= 200),
		first_seen  TEXT NOT NULL,
		deleted_at  TEXT
	);
	CREATE INDEX lesions_patient ON lesions (patient_id);
	CREATE TABLE assessments (
		id             INTEGER PRIMARY KEY,
		lesion_id      INTEGER NOT NULL REFERENCES lesions (id),
		taken_at       TEXT NOT NULL,
		photo_sha256   TEXT NOT NULL REFERENCES blobs (sha256),
		thumb_sha256   TEXT NOT NULL REFERENCES blobs (sha256),
		model_name     TEXT NOT NULL,
		model_sha256   TEXT NOT NULL CHECK (length(model_sha256) = 64),
		probabilities  TEXT NOT NULL CHECK (json_valid(probabilities)),
		risk_tier      TEXT NOT NULL,
		warnings       TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(warnings)),
		gradcam_shown  INTEGER NOT NULL DEFAULT 0,
		diagnosis      TEXT NOT NULL DEFAULT '' CHECK (length(diagnosis) <= 500),
		notes          TEXT NOT NULL DEFAULT '' CHECK (length(notes) <= 20000),
		follow_up      TEXT,
		created_at     TEXT NOT NULL,
		deleted_at     TEXT
	);
	CREATE INDEX assessments_lesion ON assessments (lesion_id, taken_at);`,
	// 3: codes compared as CodeKey (case and width folded), and the model card that judged
	// each assessment (its SHA-256; '' for assessments made before it was recorded).
	`ALTER TABLE patients ADD COLUMN code_key TEXT;
	CREATE INDEX patients_code_key ON patients (code_key);
	ALTER TABLE assessments ADD COLUMN model_card_sha256 TEXT NOT NULL DEFAULT '';`,
	// 4: the Dermal version that wrote each audit row ('' for rows written before it was
	// recorded), so an upgrade or a downgrade shows in the trail.
	`ALTER TABLE audit ADD COLUMN app_version TEXT NOT NULL DEFAULT '';`,
	// 5: how the photo was taken (every earlier photo was taken as dermoscopic), the clinician's
	// 7-point checklist and ABCDE (JSON lists of the items present; NULL: not done), the
	// lesion's longest diameter, and what decided the tier (triage.Driver; '' before).
	`ALTER TABLE assessments ADD COLUMN photo_type TEXT NOT NULL DEFAULT 'dermoscopic' CHECK (photo_type IN ('dermoscopic', 'plain'));
	ALTER TABLE assessments ADD COLUMN seven_point TEXT CHECK (seven_point IS NULL OR json_valid(seven_point));
	ALTER TABLE assessments ADD COLUMN abcde TEXT CHECK (abcde IS NULL OR json_valid(abcde));
	ALTER TABLE assessments ADD COLUMN diameter_mm REAL CHECK (diameter_mm IS NULL OR (diameter_mm > 0 AND diameter_mm <= 500));
	ALTER TABLE assessments ADD COLUMN tier_driver TEXT NOT NULL DEFAULT '';`,
	// 6: the patient identifiers a referral letter carries (health-insurance (BHYT) and ID
	// card numbers), and referrals: to whom, why, how urgently, and later what the specialist
	// or histology found.
	`ALTER TABLE patients ADD COLUMN insurance_number TEXT NOT NULL DEFAULT '' CHECK (length(insurance_number) <= 40);
	ALTER TABLE patients ADD COLUMN id_number TEXT NOT NULL DEFAULT '' CHECK (length(id_number) <= 40);
	CREATE TABLE referrals (
		id                INTEGER PRIMARY KEY,
		assessment_id     INTEGER NOT NULL REFERENCES assessments (id),
		referred_at       TEXT NOT NULL,
		referred_to       TEXT NOT NULL DEFAULT '' CHECK (length(referred_to) <= 200),
		reason            TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 2000),
		urgency           TEXT NOT NULL,
		outcome_source    TEXT CHECK (outcome_source IS NULL OR outcome_source IN ('specialist', 'histology')),
		outcome_diagnosis TEXT CHECK (outcome_diagnosis IS NULL OR length(outcome_diagnosis) <= 500),
		outcome_date      TEXT,
		outcome_at        TEXT,
		deleted_at        TEXT
	);
	CREATE INDEX referrals_assessment ON referrals (assessment_id);`,
	// 7: the clinic itself (one row): reports and referral letters print its name, address
	// and phone. It lives with the records, not in one user's preferences, so every report
	// from this database names the same clinic.
	`CREATE TABLE clinic_profile (
		id         INTEGER PRIMARY KEY CHECK (id = 1),
		name       TEXT NOT NULL CHECK (length(name) <= 200),
		address    TEXT NOT NULL DEFAULT '' CHECK (length(address) <= 500),
		phone      TEXT NOT NULL DEFAULT '' CHECK (length(phone) <= 40),
		updated_at TEXT NOT NULL
	);`,
	// 8: where on the body map a lesion is (front or back outline, x and y in 0..1 of its box)
	// and the patient's side; NULL for lesions placed before.
	`ALTER TABLE lesions ADD COLUMN map_view TEXT CHECK (map_view IS NULL OR map_view IN ('front', 'back'));
	ALTER TABLE lesions ADD COLUMN map_x REAL CHECK (map_x IS NULL OR (map_x >= 0 AND map_x <= 1));
	ALTER TABLE lesions ADD COLUMN map_y REAL CHECK (map_y IS NULL OR (map_y >= 0 AND map_y <= 1));
	ALTER TABLE lesions ADD COLUMN side TEXT NOT NULL DEFAULT '' CHECK (side IN ('', 'left', 'right', 'midline'));`,
	// 9: the audit trail is hash-chained: each row stores the previous row's hash and its own
	// (SHA-256 over its fields and that previous hash), so an edited, inserted or removed row
	// breaks the chain (audit verify). The rows already there are chained by the backfill.
	`DROP TRIGGER audit_no_update;
	ALTER TABLE audit ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
	ALTER TABLE audit ADD COLUMN hash TEXT NOT NULL DEFAULT '';`,
	// 10: the trail is append-only again (its rows chained by 9's backfill).
	`CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;`,
	// 11: the patient's consent: to photos being stored, and to them being shared for a
	// referral (NULL: not asked; 0: refused; 1: agreed), and when it was given or refused.
	`ALTER TABLE patients ADD COLUMN consent_photos INTEGER CHECK (consent_photos IS NULL OR consent_photos IN (0, 1));
	ALTER TABLE patients ADD COLUMN consent_referral INTEGER CHECK (consent_referral IS NULL OR consent_referral IN (0, 1));
	ALTER TABLE patients ADD COLUMN consent_at TEXT;`,
	// 12: staff accounts. The password is an argon2id hash (accounts.Hash); failures and
	// locked_until make the growing delay after wrong passwords survive a restart.
	`CREATE TABLE users (
		id           INTEGER PRIMARY KEY,
		name         TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
		full_name    TEXT NOT NULL DEFAULT '' CHECK (length(full_name) <= 200),
		role         TEXT NOT NULL CHECK (role IN ('admin', 'clinician')),
		pw_hash      TEXT NOT NULL CHECK (pw_hash LIKE '$argon2id$%'),
		failures     INTEGER NOT NULL DEFAULT 0,
		locked_until TEXT,
		disabled_at  TEXT,
		created_at   TEXT NOT NULL,
		updated_at   TEXT NOT NULL
	);
	ALTER TABLE assessments ADD COLUMN assessed_by TEXT NOT NULL DEFAULT '';`,
	// 13: photos at rest. The clinic's data key (sealbox) wrapped for each account's password
	// and, once, for the recovery key shown at setup; photos_sealed marks the end of the
	// upgrade's sealing, so a login does not walk the photos again.
	`ALTER TABLE users ADD COLUMN wrapped_key TEXT NOT NULL DEFAULT '';
	CREATE TABLE data_key (
		id               INTEGER PRIMARY KEY CHECK (id = 1),
		recovery_wrapped TEXT NOT NULL,
		created_at       TEXT NOT NULL,
		photos_sealed    INTEGER NOT NULL DEFAULT 0 -- 1 once no plain photo is left
	);`,
	// 14: the dermoscopic 7-point checklist (Argenziano), kept apart from the clinical weighted
	// 7-point checklist in seven_point: a JSON list of the criteria present (triage.Criterion
	// names); NULL: not done.
	`ALTER TABLE assessments ADD COLUMN dermoscopy TEXT CHECK (dermoscopy IS NULL OR json_valid(dermoscopy));`,
	// 15: record seals (seal.go): each assessment and referral carries an HMAC of its content
	// under a key derived from the data key, and each audit row one of its chain hash; the
	// data key row says when every record was first sealed (from then on a missing seal is
	// tampering).
	`ALTER TABLE assessments ADD COLUMN seal TEXT NOT NULL DEFAULT '';
	ALTER TABLE referrals ADD COLUMN seal TEXT NOT NULL DEFAULT '';
	ALTER TABLE audit ADD COLUMN seal TEXT NOT NULL DEFAULT '';
	ALTER TABLE data_key ADD COLUMN records_sealed INTEGER NOT NULL DEFAULT 0;`,
	// 16: codes compared by their confusable skeleton too (CodeKey): the backfill recomputes
	// every code_key.
	`SELECT 1;`,
	// 17: wrong logins under names no account has are counted too (by the name as typed,
	// case-folded), so the wait after them is the same as for a real account's: the waits do not
	// tell which names exist.
	`CREATE TABLE login_unknown (
		name_key     TEXT PRIMARY KEY CHECK (length(name_key) <= 64),
		failures     INTEGER NOT NULL DEFAULT 0,
		locked_until TEXT
	);`,
	// 18: patients and lesions are sealed too (their identity, consent and body site); every
	// record is sealed again at the next login.
	`ALTER TABLE patients ADD COLUMN seal TEXT NOT NULL DEFAULT '';
	ALTER TABLE lesions ADD COLUMN seal TEXT NOT NULL DEFAULT '';
	UPDATE data_key SET records_sealed = 0;`,
	// 19: photos are named by a keyed hash (Store.BlobName), not their plain SHA-256; the
	// next login renames the stored ones (SealPlainBlobs), so their sealing is not finished.
	`UPDATE data_key SET photos_sealed = 0 WHERE EXISTS (SELECT 1 FROM blobs WHERE sha256 < 'k-');`,
	// 20: the idle lock is the clinic's setting, kept with the records (it was each OS
	// user's preference, which anyone who could edit a file could set to "never"); NULL: the
	// default.
	`ALTER TABLE clinic_profile ADD COLUMN lock_minutes INTEGER CHECK (lock_minutes IS NULL OR lock_minutes BETWEEN 0 AND 120);`,
	// 21: a phone number's digits (phoneKey), indexed: the duplicate check of a new patient
	// looked at every patient with a phone (at 100,000 patients, all of them) to compare
	// numbers in Go.
	`ALTER TABLE patients ADD COLUMN phone_key TEXT NOT NULL DEFAULT '';
	CREATE INDEX patients_phone_key ON patients (phone_key);`,
	// 22: each lesion's latest assessment is marked (markLatest), and the worklist's sections
	// are read through indexes of the latest ones: at 100,000 patients the worklist looked up
	// the latest of every one of 300,000 assessments to list a page.
	`ALTER TABLE assessments ADD COLUMN latest INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX assessments_latest_follow_up ON assessments (follow_up, id) WHERE latest = 1 AND follow_up IS NOT NULL;
	CREATE INDEX assessments_latest_tier ON assessments (risk_tier DESC, taken_at, id) WHERE latest = 1;`,
	// 23: each chunk of a table a backup holds (chunkRows rowids) gets a change tag, set anew
	// by triggers whenever one of its rows is written (chunktags.go): a daily backup into a
	// folder then reads only the chunks whose tag changed since its last run, not every row.
	`CREATE TABLE backup_chunks (
		tbl   TEXT NOT NULL,
		chunk INTEGER NOT NULL,
		tag   INTEGER NOT NULL,
		rows  INTEGER NOT NULL,
		PRIMARY KEY (tbl, chunk)
	) WITHOUT ROWID;` + chunkTriggers(taggedByMigration23...),
	// 24: the district hub (teleconsultation): where it is and how to log in (the password
	// sealed with the data key), and the outbox of referrals to send there, each with the
	// letter as printed and the Grad-CAM map as the clinic saw it (sealed), the instances the hub has acknowledged, so that a sync
	// killed half-way resumes without sending twice what was stored, and the reply that came
	// back.
	`CREATE TABLE hub_settings (
		id              INTEGER PRIMARY KEY CHECK (id = 1),
		url             TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 500),
		user            TEXT NOT NULL CHECK (length(user) BETWEEN 1 AND 100),
		password_sealed BLOB NOT NULL,
		ca_cert         TEXT NOT NULL DEFAULT '' CHECK (length(ca_cert) <= 100000),
		updated_at      TEXT NOT NULL,
		last_reply_check TEXT
	);
	CREATE TABLE hub_outbox (
		id            INTEGER PRIMARY KEY,
		referral_id   INTEGER NOT NULL UNIQUE REFERENCES referrals (id),
		language      TEXT NOT NULL CHECK (language IN ('en', 'vi')),
		queued_at     TEXT NOT NULL,
		study_uid     TEXT NOT NULL DEFAULT '',
		acknowledged  TEXT NOT NULL DEFAULT '',
		attempts      INTEGER NOT NULL DEFAULT 0,
		next_try      TEXT,
		last_error    TEXT NOT NULL DEFAULT '',
		sent_at       TEXT,
		reply_at      TEXT,
		letter        BLOB,
		gradcam       BLOB
	);
	CREATE INDEX hub_outbox_unsent ON hub_outbox (id) WHERE sent_at IS NULL;` + chunkTriggers("hub_settings", "hub_outbox"),
	// 25: a staff role for the district's specialists (their window opens on the hub's
	// inbox). SQLite cannot change a CHECK constraint: the table is made again, rows and
	// rowids kept, and its change-tag triggers with it.
	`CREATE TABLE users_v25 (
		id           INTEGER PRIMARY KEY,
		name         TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
		full_name    TEXT NOT NULL DEFAULT '' CHECK (length(full_name) <= 200),
		role         TEXT NOT NULL CHECK (role IN ('admin', 'clinician', 'specialist')),
		pw_hash      TEXT NOT NULL CHECK (pw_hash LIKE '$argon2id$%'),
		failures     INTEGER NOT NULL DEFAULT 0,
		locked_until TEXT,
		disabled_at  TEXT,
		created_at   TEXT NOT NULL,
		updated_at   TEXT NOT NULL,
		wrapped_key  TEXT NOT NULL DEFAULT ''
	);
	INSERT INTO users_v25 (id, name, full_name, role, pw_hash, failures, locked_until, disabled_at, created_at, updated_at, wrapped_key)
		SELECT id, name, full_name, role, pw_hash, failures, locked_until, disabled_at, created_at, updated_at, wrapped_key FROM users;
	DROP TABLE users;
	ALTER TABLE users_v25 RENAME TO users;` + chunkTriggers("users"),
}

// backfills run in the same transaction right after the migration of the same index, for
// what SQL alone cannot compute (Unicode case folding).
var backfills = map[int]func(tx *sql.Tx) error{
	2: func(tx *sql.Tx) error { return rekeyPatients(tx, "code", "code_key", CodeKey) },
}

// rekeyPatients sets each patient's column to, from what key makes of column from.
func rekeyPatients(tx *sql.Tx, from, to string, key func(string) string) error {
	rows, err := tx.Query(`SELECT id, ` + from + ` FROM patients`)
	if err != nil {
		return err
	}
	type row struct {
		id    int64
		value string
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.value); err != nil {
			rows.Close()
			return err
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range all {
		if _, err := tx.Exec(`UPDATE patients SET `+to+` = ? WHERE id = ?`, key(r.value), r.id); err != nil {
			return fmt.Errorf("patient %d: %w", r.id, err)
		}
	}
	return nil
}

func init() {
	// Index 8 is migration 9 (the chain).
	backfills[8] = chainExistingAudit
	// Index 15 is migration 16: CodeKey learnt confusables; the keys are made again.
	backfills[15] = backfills[2]
	// Index 21 is migration 22: each lesion's latest assessment marked (latestSQL).
	backfills[21] = func(tx *sql.Tx) error { return markLatest(tx, `1`) }
	// Index 20 is migration 21: the phone keys of the patients there.
	backfills[20] = func(tx *sql.Tx) error { return rekeyPatients(tx, "phone", "phone_key", phoneKey) }
	// Index 22 is migration 23: the chunks already there get their first tags.
	backfills[22] = func(tx *sql.Tx) error { return tagAllChunks(tx) }
}

func applyMigration(tx *sql.Tx, i int) error {
	if _, err := tx.Exec(migrations[i]); err != nil {
		return err
	}
	if b := backfills[i]; b != nil {
		return b(tx)
	}
	return nil
}
