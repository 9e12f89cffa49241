// Package clinic is the application layer: "assess this photo for this patient", "show this
// patient's history". It owns the one inference engine and the case store, and is what the
// command line and the GUI call; neither talks to SQL or ONNX Runtime directly.
package clinic

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"dermal/inference"
	"dermal/storage"
)

// Clinic joins the model and the records.
type Clinic struct {
	Engine *inference.Engine
	Store  *storage.Store
}

// DatabaseFile is the database's name inside the data folder.
const DatabaseFile = "dermal.db"

// OpenStore opens (creating if needed) the case database in dataDir.
func OpenStore(dataDir, actor string) (*storage.Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the data folder: %w", err)
	}
	return storage.Open(filepath.Join(dataDir, DatabaseFile), actor)
}

// Result is a stored assessment with the analysis behind it.
type Result struct {
	AssessmentID int64
	LesionID     int64
	Patient      storage.Patient
	Analysis     *inference.Assessment
}

// Assess analyses a photo and stores it for the patient: on the given lesion, or on a new
// lesion at site when lesionID is 0. Nothing is stored if any step fails.
func (c *Clinic) Assess(ctx context.Context, patient string, lesionID int64, site string, photo *inference.Photo) (*Result, error) {
	p, err := c.Store.Patient(ctx, patient)
	if err != nil {
		return nil, err
	}
	if lesionID == 0 && !slices.Contains(storage.BodySites, site) {
		return nil, fmt.Errorf("%w: body site %q is not one of %v", storage.ErrInvalid, site, storage.BodySites)
	}
	a, err := c.Engine.Assess(photo)
	if err != nil {
		return nil, err
	}
	card := c.Engine.Card()
	var warnings []string
	for _, w := range a.Warnings {
		warnings = append(warnings, w.Code)
	}
	rec := storage.Assessment{
		LesionID: lesionID, Photo: photo.Bytes, ModelName: card.Name + " " + card.Version, ModelSHA256: card.SHA256,
		Probabilities: a.ProbabilityMap(), RiskTier: string(a.Tier), Warnings: warnings,
	}
	var id int64
	if lesionID == 0 {
		lesionID, id, err = c.Store.SaveAssessmentOfNewLesion(ctx, storage.Lesion{PatientID: p.ID, BodySite: site}, rec)
	} else {
		id, err = c.Store.SaveAssessment(ctx, rec)
	}
	if err != nil {
		return nil, err
	}
	return &Result{AssessmentID: id, LesionID: lesionID, Patient: p, Analysis: a}, nil
}
