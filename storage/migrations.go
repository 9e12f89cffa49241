package storage

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
}
