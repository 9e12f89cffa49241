package clinic

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"dermal/internal/backupset"
	"dermal/internal/capture"
	"dermal/internal/config"
	"dermal/internal/storage"
	"dermal/internal/watchdog"
)

// The records, as the window and the command line use them: every lookup by typed id, every
// text normalized and checked by storage (callers show what these return, and never
// normalize again).

// Patient returns a patient by record id.
func (c *Clinic) Patient(ctx context.Context, id PatientID) (Patient, error) {
	return c.store.PatientByID(ctx, id)
}

// PatientByCode returns a patient by clinic code.
func (c *Clinic) PatientByCode(ctx context.Context, code string) (Patient, error) {
	return c.store.PatientByCode(ctx, code)
}

// SearchPatients finds patients by name, code or phone, ignoring case and diacritics.
func (c *Clinic) SearchPatients(ctx context.Context, query string, limit int) ([]Patient, error) {
	return c.store.SearchPatients(ctx, query, limit)
}

// UpdatePatient replaces a patient's details and returns them as stored.
func (c *Clinic) UpdatePatient(ctx context.Context, p Patient) (Patient, error) {
	if err := c.store.UpdatePatient(ctx, p); err != nil {
		return Patient{}, err
	}
	return c.store.PatientByID(ctx, p.ID)
}

// DeletePatient hides a patient (hard: removes them and their photos for good).
func (c *Clinic) DeletePatient(ctx context.Context, id PatientID, hard bool) error {
	if hard {
		if err := c.requireAdmin("deleting a patient for good"); err != nil {
			return err
		}
	}
	return c.store.DeletePatient(ctx, id, hard)
}

// UndeletePatient brings back a hidden patient.
func (c *Clinic) UndeletePatient(ctx context.Context, id PatientID) error {
	return c.store.UndeletePatient(ctx, id)
}

// History lists a patient's assessments, by lesion and then time.
func (c *Clinic) History(ctx context.Context, id PatientID) ([]HistoryEntry, error) {
	return c.store.History(ctx, id)
}

// Entry returns one stored assessment with its lesion and patient.
func (c *Clinic) Entry(ctx context.Context, id AssessmentID) (HistoryEntry, Patient, error) {
	e, err := c.store.Entry(ctx, id)
	if err != nil {
		return e, Patient{}, err
	}
	p, err := c.store.PatientByID(ctx, e.Lesion.PatientID)
	return e, p, err
}

// RecordFindings stores the clinician's findings on an assessment and returns the assessment
// as stored.
func (c *Clinic) RecordFindings(ctx context.Context, id AssessmentID, f Findings) (Assessment, error) {
	if err := c.store.RecordFindings(ctx, id, f); err != nil {
		return Assessment{}, err
	}
	e, err := c.store.Entry(ctx, id)
	return e.Assessment, err
}

// AuditTrail lists the audit rows about one kind of record (id 0: all of that kind).
func (c *Clinic) AuditTrail(ctx context.Context, entity string, id int64) ([]AuditEntry, error) {
	return c.store.AuditTrail(ctx, entity, id)
}

// Backup writes a consistent backup of the records to dest, sealed with key (age), while
// the clinic goes on working; key nil with unencrypted true writes a plain copy of the
// database file, and key nil alone is refused. An encrypted backup is written as it is read,
// never as a plain copy first. When dest is a folder (an existing one, or a path ending in
// a separator), the backup goes into it as a backup folder (package backupset): the first
// time everything, then only what changed. A complete backup whose audit row could not be
// written is a success with a warning (the returned note).
func (c *Clinic) Backup(ctx context.Context, dest string, key *BackupKey, unencrypted bool) (note string, err error) {
	res, err := c.BackupTo(ctx, dest, key, unencrypted)
	return res.Note, err
}

// BackupResult says what a backup wrote.
type BackupResult struct {
	Note   string // the audit row could not be written (the backup is complete)
	Folder bool   // into a backup folder
	Full   bool   // everything (a file, or a folder's first run)
	Run    string // the folder's new run
	Bytes  int64  // the run's size (folder backups)
	Runs   int    // runs in the folder now
}

// BackupTo is Backup, saying what it wrote.
func (c *Clinic) BackupTo(ctx context.Context, dest string, key *BackupKey, unencrypted bool) (res BackupResult, err error) {
	if key == nil && !unencrypted {
		return res, fmt.Errorf("%w: %v", storage.ErrInvalid, errPlainBackupNeedsChoice)
	}
	how := "encrypted"
	switch {
	case key == nil:
		// Anyone holding a plain copy reads every record: the clinic's administrator decides.
		if err := c.requireAdmin("an unencrypted backup"); err != nil {
			return res, err
		}
		how = "unencrypted"
		// The audit row is written once the backup is complete: a failed backup is never
		// recorded as one made.
		if err = c.store.BackupNamed(ctx, dest, ""); err != nil {
			return res, err
		}
		res.Full = true
	case isFolderDest(dest):
		var indexKey []byte
		if k := c.store.DataKey(); k != nil {
			indexKey = k.Derive("backup index")
		}
		r, err := backupset.Backup(ctx, c.store, dest, *key, indexKey)
		if err != nil {
			return res, err
		}
		res = BackupResult{Folder: true, Full: r.Full, Run: r.Run, Bytes: r.RunBytes, Runs: r.FolderRun}
		how = fmt.Sprintf("encrypted, folder run %s: %d new parts of %d, %d new photos", r.Run, r.Stats.ChunksNew, r.Stats.Chunks, r.Stats.BlobsNew)
	default:
		if err := backupset.WriteFile(ctx, c.store, dest, *key); err != nil {
			return res, err
		}
		res.Full = true
	}
	if err := c.store.RecordExport(ctx, "backup", 0, fmt.Sprintf("%s (%s)", dest, how)); err != nil {
		res.Note = (&storage.AuditNotRecordedError{Dest: dest, Err: err}).Error()
	}
	return res, nil
}

// isFolderDest: a backup into a folder (an existing folder, or a path ending in a separator).
func isFolderDest(dest string) bool {
	if strings.HasSuffix(dest, string(filepath.Separator)) || strings.HasSuffix(dest, "/") {
		return true
	}
	st, err := os.Stat(dest)
	return err == nil && st.IsDir()
}

// PhotoName is the name a photo is (or would be) stored under: to find a photo already in
// the records without reading any.
func (c *Clinic) PhotoName(data []byte) string { return c.store.BlobName(data) }

// Card is the loaded model's card.
func (c *Clinic) Card() Card { return c.engine.Card() }

// LoadModel starts the model's session now rather than on the first analysis.
func (c *Clinic) LoadModel() error { return c.engine.Load() }

// MemoryReading is the latest memory sample with the budget, for the status bar.
type MemoryReading = watchdog.Reading

// Memory reads the process's and the system's memory against the budget; ok is false
// without a watchdog.
func (c *Clinic) Memory() (r MemoryReading, ok bool, err error) {
	if c.guard == nil {
		return r, false, nil
	}
	r, err = c.guard.Read()
	return r, true, err
}

// SetBudget changes the memory budget (and the Go heap limit that goes with it) and the idle
// period after which the model is unloaded.
func (c *Clinic) SetBudget(budget uint64, idleUnload time.Duration) {
	if c.guard == nil {
		return
	}
	c.guard.SetBudget(budget)
	c.guard.SetIdleUnload(idleUnload)
	debug.SetMemoryLimit(watchdog.GoHeapLimit(budget))
}

// ResolveBudget is the memory budget for a --memory-budget flag and the window's setting (MB,
// 0: unset), resolved as everywhere else (config.Budget).
func ResolveBudget(overrideMB, settingMB int) uint64 { return config.Budget(overrideMB, settingMB) }

// Budget is the memory budget in force (0 without a watchdog).
func (c *Clinic) Budget() uint64 {
	if c.guard == nil {
		return 0
	}
	return c.guard.Budget()
}

// StartPhone starts a phone capture session (see capture.StartPhone).
func (c *Clinic) StartPhone(opts PhoneOptions) (*PhoneSession, error) {
	return capture.StartPhone(opts)
}

// CameraSource lists and starts USB cameras: capture's V4L2 devices, or a test's own.
type CameraSource interface {
	Devices() ([]CameraDevice, error)
	Open(CameraDevice) (*Camera, error)
}

type usbCameras struct{}

func (usbCameras) Devices() ([]CameraDevice, error)     { return capture.Devices() }
func (usbCameras) Open(d CameraDevice) (*Camera, error) { return capture.OpenCamera(d) }

// Cameras is where USB cameras come from (the system's, unless SetCameras gave another).
func (c *Clinic) Cameras() CameraSource {
	if c.cameras == nil {
		return usbCameras{}
	}
	return c.cameras
}

// SetCameras replaces the camera source.
func (c *Clinic) SetCameras(s CameraSource) { c.cameras = s }

// MergePatients moves drop's lesions and assessments to keep and hides drop (a patient
// registered twice).
func (c *Clinic) MergePatients(ctx context.Context, keep, drop PatientID) error {
	if err := c.requireAdmin("merging patients"); err != nil {
		return err
	}
	return c.store.MergePatients(ctx, keep, drop)
}

// VerifyAudit checks the hash chain of the whole audit trail: the number of rows, or the
// first break (*storage.AuditBreak).
func (c *Clinic) VerifyAudit(ctx context.Context) (int, error) { return c.store.VerifyAudit(ctx) }

// AuditHead is the audit trail's last sealed row (nil when none is sealed), to print with a
// backup: a trail later cut short no longer reaches it.
func (c *Clinic) AuditHead(ctx context.Context) (*storage.AuditHead, error) {
	return c.store.LastSealedHead(ctx)
}

// Verification is what Verify found: each part's verdict (nil: holds).
type Verification struct {
	Schema      error
	AuditRows   int
	Audit       error
	Head        *storage.AuditHead // kept outside the records on this computer (nil: none)
	HeadErr     error
	Records     int
	RecordFault []storage.RecordFault
	RecordsErr  error
}

// Intact reports whether every part holds.
func (v Verification) Intact() bool {
	return v.Schema == nil && v.Audit == nil && v.HeadErr == nil && len(v.RecordFault) == 0 && v.RecordsErr == nil
}

// Verify checks everything a file editor could have changed: the schema (triggers dropped),
// the audit chain and its seals, the head kept outside the records, and every assessment's and
// referral's seal. The seals need the data key: a logged-in user.
func (c *Clinic) Verify(ctx context.Context) Verification {
	var v Verification
	v.Schema = c.store.VerifySchema(ctx)
	v.AuditRows, v.Audit = c.store.VerifyAudit(ctx)
	v.Head, v.HeadErr = c.store.VerifyHead(ctx)
	v.Records, v.RecordFault, v.RecordsErr = c.store.VerifyRecords(ctx)
	return v
}
