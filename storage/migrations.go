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
}
