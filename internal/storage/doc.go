// Package storage keeps the clinic's case history in one embedded SQLite database
// (modernc.org/sqlite, pure Go): patients, lesions, assessments, photos and an append-only
// audit trail. WAL journal, foreign keys, synchronous=FULL (a power cut never loses a
// committed assessment), versioned forward-only migrations. All stored text is NFC. It never
// imports Fyne.
//
// Photos are stored as BLOBs inside the database rather than as files: one file to back up,
// copy or restore, and a photo and its assessment commit in the same transaction, so a power
// cut can never leave an assessment pointing at a missing photo (or an orphan file). The Blobs
// interface keeps the option of files or encryption open.
package storage
