package clinic

import (
	"dermal/internal/capture"
	"dermal/internal/inference"
	"dermal/internal/storage"
	"dermal/internal/watchdog"
)

// The value types the window and the command line show, re-exported so that they reach the
// records, the model, the watchdog and the cameras through this package alone.
type (
	Patient      = storage.Patient
	PatientID    = storage.PatientID
	LesionID     = storage.LesionID
	AssessmentID = storage.AssessmentID
	Lesion       = storage.Lesion
	// Assessment is a stored assessment (photo, result, findings).
	Assessment   = storage.Assessment
	HistoryEntry = storage.HistoryEntry
	Findings     = storage.Findings
	AuditEntry   = storage.AuditEntry
	TextField    = storage.TextField

	// Photo is a decoded photo and the bytes it came from.
	Photo = inference.Photo
	// ModelResult is what the model said of a photo (probabilities, tier, Grad-CAM source).
	ModelResult = inference.Assessment
	Heatmap     = inference.Heatmap
	Tier        = inference.Tier
	Warning     = inference.Warning
	Card        = inference.Card

	// Decision is the memory watchdog's plan for one analysis or decode.
	Decision     = watchdog.Decision
	RefusedError = watchdog.RefusedError

	CameraDevice = capture.Device
	Camera       = capture.Camera
	PhoneSession = capture.PhoneSession
	PhoneOptions = capture.PhoneOptions
)

// Tiers, most to least urgent.
const (
	TierUrgent  = inference.TierUrgent
	TierReview  = inference.TierReview
	TierRetake  = inference.TierRetake
	TierRoutine = inference.TierRoutine
)

// RunWithoutGradCAM is the watchdog's "analyse, but without the overlay" verdict.
const RunWithoutGradCAM = watchdog.RunWithoutGradCAM

// MB is a megabyte, for memory figures.
const MB = watchdog.MB

// Errors for errors.Is, from the layers below.
var (
	ErrInvalid           = storage.ErrInvalid
	ErrNotFound          = storage.ErrNotFound
	ErrDuplicateCode     = storage.ErrDuplicateCode
	ErrCorrupt           = storage.ErrCorrupt
	ErrBusy              = storage.ErrBusy
	ErrReadOnly          = storage.ErrReadOnly
	ErrWrongPatient      = storage.ErrWrongPatient
	ErrAmbiguous         = storage.ErrAmbiguous
	ErrNoMemory          = watchdog.ErrNoMemory
	ErrUnsupportedFormat = inference.ErrUnsupportedFormat
	ErrFileTooLarge      = inference.ErrFileTooLarge
	ErrTooManyPixels     = inference.ErrTooManyPixels
	ErrTooMuchWork       = inference.ErrTooMuchWork
	ErrCorruptImage      = inference.ErrCorruptImage
	ErrEmptyFile         = inference.ErrEmptyFile
	ErrNotRegularFile    = inference.ErrNotRegularFile
	ErrLibraryNotFound   = inference.ErrLibraryNotFound
	ErrModelMismatch     = inference.ErrModelMismatch
)

// BodySites is the fixed list of body sites.
var BodySites = storage.BodySites

// The text fields' rules (limits in characters), for the forms.
var (
	FieldCode      = storage.FieldCode
	FieldName      = storage.FieldName
	FieldPhone     = storage.FieldPhone
	FieldAddress   = storage.FieldAddress
	FieldNotes     = storage.FieldNotes
	FieldDiagnosis = storage.FieldDiagnosis
)

// NFC is how stored text is normalized (to compare what is typed with what is stored).
func NFC(s string) string { return storage.NFC(s) }
