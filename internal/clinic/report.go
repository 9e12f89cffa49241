package clinic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"sort"
	"time"

	"dermal/internal/locale"
	"dermal/internal/printing"
	"dermal/internal/report"
	"dermal/internal/storage"
	"dermal/internal/version"
)

// ReportRequest says which report to make.
type ReportRequest struct {
	AssessmentID storage.AssessmentID
	History      bool   // add the earlier assessments of the same lesion
	Language     string // "en" or "vi"
	Clinic       string // clinic name printed at the top
	Printed      time.Time
}

// OverlayOpacity is the Grad-CAM overlay's opacity: in reports, on screen and the command line's default.
const OverlayOpacity = 0.45

// ReportCase gathers what a report shows: the stored records, the photo, and the Grad-CAM
// overlay recomputed with the loaded model.
func (c *Clinic) ReportCase(ctx context.Context, req ReportRequest) (report.Case, error) {
	entry, err := c.store.Entry(ctx, req.AssessmentID)
	if err != nil {
		return report.Case{}, err
	}
	patient, err := c.store.PatientByID(ctx, entry.Lesion.PatientID)
	if err != nil {
		return report.Case{}, err
	}
	if req.Clinic == "" {
		profile, err := c.store.ClinicProfile(ctx)
		if err != nil {
			return report.Case{}, err
		}
		req.Clinic = profile.Name
	}
	card := c.engine.Card()
	rc := report.Case{
		Language: req.Language, Clinic: req.Clinic, Printed: req.Printed,
		Patient: patient, Lesion: entry.Lesion,
		Labels: card.Labels, LabelNames: card.LabelNames, Malignant: card.Malignant,
		ModelName: ModelName(card), ModelSHA: card.SHA256, Program: "Dermal " + version.String(),
	}
	if h, err := c.store.LastSealedHead(ctx); err == nil && h != nil {
		rc.AuditHead = h.String()
	}
	if rc.Referrals, err = c.store.Referrals(ctx, entry.Assessment.ID); err != nil {
		return report.Case{}, err
	}
	photo, err := c.StoredPhoto(ctx, entry.Assessment.PhotoSHA256)
	if err != nil {
		return report.Case{}, err
	}
	heat, err := c.storedHeatmap(entry.Assessment, photo)
	visit := report.Visit{Assessment: entry.Assessment}
	switch {
	case errors.Is(err, ErrOtherModel):
		visit.Photo = photo.Image
		visit.OverlayNote = locale.T(req.Language, "report.other_model") + "."
	case err != nil:
		return report.Case{}, err
	default:
		// The same 4:3 centre region on both sides, so the two pictures line up.
		visit.Photo = heat.Overlay(photo.Image, 0)
		visit.Overlay = heat.Overlay(photo.Image, OverlayOpacity)
	}
	rc.Current = visit
	if req.History {
		all, err := c.store.History(ctx, patient.ID)
		if err != nil {
			return report.Case{}, err
		}
		for _, h := range all {
			a := h.Assessment
			if h.Lesion.ID != entry.Lesion.ID || a.ID == entry.Assessment.ID || !a.TakenAt.Before(entry.Assessment.TakenAt) {
				continue
			}
			thumb, err := c.StoredPhoto(ctx, a.ThumbSHA256)
			if err != nil {
				return report.Case{}, fmt.Errorf("assessment %d: %w", a.ID, err)
			}
			rc.Earlier = append(rc.Earlier, report.Visit{Assessment: a, Thumb: thumb.Image})
		}
	}
	return rc, nil
}

// WriteReport renders a report to path (written to a temporary file first and renamed, so a
// failure never leaves half a PDF) and records the export in the audit trail.
func (c *Clinic) WriteReport(ctx context.Context, req ReportRequest, path string) error {
	rc, err := c.ReportCase(ctx, req)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.Render(&buf, rc); err != nil {
		return err
	}
	if err := writeAtomic(path, buf.Bytes(), "report"); err != nil {
		return err
	}
	kind := "report"
	if req.History {
		kind = "history report"
	}
	return c.store.RecordExport(ctx, "assessment", int64(req.AssessmentID), kind+" "+path)
}

// writeAtomic writes data to path through a temporary file renamed into place, so a failure
// never leaves half a file under the name.
func writeAtomic(path string, data []byte, what string) error {
	if err := storage.WriteFileAtomic(path, data); err != nil {
		return fmt.Errorf("cannot write the %s as %s: %w", what, path, err)
	}
	return nil
}

// ReferralRequest says which referral letter to write.
type ReferralRequest struct {
	AssessmentID storage.AssessmentID
	To           string // whom the patient is referred to (required)
	Reason       string // "" : the result's headline and advice
	Clinician    string // the referring clinician (required)
	Language     string
	Printed      time.Time
}

// WriteReferral writes a referral letter to path and records the referral (so the worklist
// waits for its outcome) and the export. Nothing is recorded when the letter is refused.
func (c *Clinic) WriteReferral(ctx context.Context, req ReferralRequest, path string) error {
	entry, err := c.store.Entry(ctx, req.AssessmentID)
	if err != nil {
		return err
	}
	patient, err := c.store.PatientByID(ctx, entry.Lesion.PatientID)
	if err != nil {
		return err
	}
	if patient.ConsentReferral != nil && !*patient.ConsentReferral {
		return fmt.Errorf("%w: %s refused to have photos shared for a referral (%s); write a letter without Dermal's photo, or record the new consent first",
			ErrNoConsent, patient.FullName, consentDate(patient))
	}
	profile, err := c.store.ClinicProfile(ctx)
	if err != nil {
		return err
	}
	photo, err := c.StoredPhoto(ctx, entry.Assessment.PhotoSHA256)
	if err != nil {
		return err
	}
	card := c.Card()
	l := report.Letter{Language: req.Language, Printed: req.Printed, Clinic: profile, Clinician: req.Clinician, Program: "Dermal " + version.String(),
		Patient: patient, Lesion: entry.Lesion, Assessment: entry.Assessment, Photo: photo.Image, LabelNames: card.LabelNames, Malignant: card.Malignant,
		ReferredTo: req.To, Reason: req.Reason}
	if l.Earlier, err = c.earlierVisits(ctx, entry); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.RenderLetter(&buf, l); err != nil {
		return err
	}
	if err := writeAtomic(path, buf.Bytes(), "referral letter"); err != nil {
		return err
	}
	refID, err := c.store.AddReferral(ctx, storage.Referral{AssessmentID: req.AssessmentID, ReferredTo: req.To, Reason: req.Reason, ReferredAt: req.Printed})
	if err != nil {
		return fmt.Errorf("the letter is written (%s) but the referral was not recorded: %w", path, err)
	}
	if err := c.store.RecordExport(ctx, "assessment", int64(req.AssessmentID), "referral letter "+path); err != nil {
		return err
	}
	return c.queueForHub(ctx, refID, patient, entry.Assessment, photo, req.Language, buf.Bytes())
}

// earlierVisits are the assessments of entry's lesion before it, oldest first.
func (c *Clinic) earlierVisits(ctx context.Context, entry storage.HistoryEntry) ([]storage.Assessment, error) {
	hs, err := c.store.History(ctx, entry.Lesion.PatientID)
	if err != nil {
		return nil, err
	}
	var out []storage.Assessment
	for _, h := range hs {
		a := h.Assessment
		if h.Lesion.ID == entry.Lesion.ID && a.ID != entry.Assessment.ID && a.TakenAt.Before(entry.Assessment.TakenAt) {
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].TakenAt.Before(out[j].TakenAt) })
	return out, nil
}

// Thumbnail decodes a stored thumbnail for lists and timelines.
func (c *Clinic) Thumbnail(ctx context.Context, a storage.Assessment) (image.Image, error) {
	p, err := c.StoredPhoto(ctx, a.ThumbSHA256)
	if err != nil {
		return nil, err
	}
	return p.Image, nil
}

// ErrNoViewer means no program on the computer opens PDF files.
var ErrNoViewer = printing.ErrNoViewer

// OpenPDF opens a PDF in the computer's viewer (ErrNoViewer when there is none).
func (c *Clinic) OpenPDF(path string) error { return printing.Open(path) }

// ErrNoPrintPath means the computer has no print command; open the PDF instead.
var ErrNoPrintPath = printing.ErrNoPrintPath

// Print sends a written PDF (a report, a referral letter) to the system's printer.
func (c *Clinic) Print(path string) error { return printing.Print(path) }
