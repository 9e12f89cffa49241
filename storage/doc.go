// Package storage keeps the clinic's case history in one embedded SQLite database
// (modernc.org/sqlite, pure Go): patients, lesions, assessments, photos and an append-only
// audit trail. WAL journal, foreign keys, synchronous=FULL (a power cut never loses a
// committed assessment), versioned forward-only migrations. All stored text is NFC. It never
// imports Fyne.
//
// Status: schema, migrations, patients, search and the photo blob store. Lesions and
// assessments CRUD, soft delete, backup/restore and the CLI are the rest of the storage issue.
package storage
