package clinic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"dermal/internal/dicomstudy"
	"dermal/internal/report"
	"dermal/internal/storage"
	"dermal/internal/version"
)

// ErrNoReferral means an assessment has no referral to send or export.
var ErrNoReferral = errors.New("no referral letter was made for this assessment")

// ReferralStudy is the DICOM study of an assessment's latest referral (package dicomstudy):
// its photo as captured, the letter, and the result. The letter is written again from the
// referral's record in language (en or vi), dated as the referral, so that the study written
// again for the same referral is the same, byte for byte, with the same UIDs.
func (c *Clinic) ReferralStudy(ctx context.Context, id AssessmentID, language string) (dicomstudy.Study, error) {
	return c.referralStudy(ctx, id, 0, language, nil)
}

// referralStudy is the study of one referral of an assessment (0: the latest), with the letter
// as printed when it was kept (nil: written again, which decodes the photo).
func (c *Clinic) referralStudy(ctx context.Context, id AssessmentID, referral storage.ReferralID, language string, printed []byte) (dicomstudy.Study, error) {
	entry, err := c.store.Entry(ctx, id)
	if err != nil {
		return dicomstudy.Study{}, err
	}
	patient, err := c.store.PatientByID(ctx, entry.Lesion.PatientID)
	if err != nil {
		return dicomstudy.Study{}, err
	}
	if patient.ConsentReferral != nil && !*patient.ConsentReferral {
		return dicomstudy.Study{}, fmt.Errorf("%w: %s refused to have photos shared for a referral (%s); record the new consent first",
			ErrNoConsent, patient.FullName, consentDate(patient))
	}
	referrals, err := c.store.Referrals(ctx, id)
	if err != nil {
		return dicomstudy.Study{}, err
	}
	if len(referrals) == 0 {
		return dicomstudy.Study{}, fmt.Errorf("%w (assessment %d): write the referral letter first (dermal report --assessment %d --referral --to NAME)", ErrNoReferral, id, id)
	}
	ref := referrals[len(referrals)-1]
	if referral != 0 {
		found := false
		for _, r := range referrals {
			if r.ID == referral {
				ref, found = r, true
			}
		}
		if !found {
			return dicomstudy.Study{}, fmt.Errorf("%w: referral %d of assessment %d", ErrNotFound, referral, id)
		}
	}
	key := c.store.DataKey()
	if key == nil {
		return dicomstudy.Study{}, fmt.Errorf("%w: DICOM identifiers need the records' key: log in with a staff account", storage.ErrLocked)
	}
	profile, err := c.store.ClinicProfile(ctx)
	if err != nil {
		return dicomstudy.Study{}, err
	}
	photoBytes, err := c.store.Blobs().Get(ctx, entry.Assessment.PhotoSHA256)
	if err != nil {
		return dicomstudy.Study{}, err
	}
	clinician := entry.Assessment.AssessedBy
	if clinician == "" {
		if u := c.CurrentUser(); u != nil {
			clinician = u.FullName
		}
	}
	letter := printed
	if letter == nil {
		photo, err := c.StoredPhoto(ctx, entry.Assessment.PhotoSHA256)
		if err != nil {
			return dicomstudy.Study{}, err
		}
		card := c.Card()
		l := report.Letter{Language: language, Printed: ref.ReferredAt, Clinic: profile, Clinician: clinician, Program: "Dermal " + version.String(),
			Patient: patient, Lesion: entry.Lesion, Assessment: entry.Assessment, Photo: photo.Image, LabelNames: card.LabelNames, Malignant: card.Malignant,
			ReferredTo: ref.ReferredTo, Reason: ref.Reason}
		if l.Earlier, err = c.earlierVisits(ctx, entry); err != nil {
			return dicomstudy.Study{}, err
		}
		var buf bytes.Buffer
		if err := report.RenderLetter(&buf, l); err != nil {
			return dicomstudy.Study{}, err
		}
		letter = buf.Bytes()
	}
	a := entry.Assessment
	var probs []dicomstudy.Probability
	for class, p := range a.Probabilities {
		probs = append(probs, dicomstudy.Probability{Class: class, P: p})
	}
	sort.Slice(probs, func(i, j int) bool {
		return probs[i].P > probs[j].P || probs[i].P == probs[j].P && probs[i].Class < probs[j].Class
	})
	question := ref.Reason
	if question == "" {
		question = "Please assess this lesion (Dermal result: " + a.RiskTier + ")."
	}
	return dicomstudy.Study{
		UIDKey: key.Derive("dicom uids"), ReferralID: int64(ref.ID), AssessmentID: int64(a.ID), LesionID: int64(entry.Lesion.ID),
		Patient:     dicomstudy.Patient{ID: patient.Code, Issuer: profile.Name, Name: patient.FullName, Sex: patient.Sex, BirthYear: patient.BirthYear},
		Institution: profile.Name, Referred: ref.ReferredAt.UTC(), ReferredTo: ref.ReferredTo, Clinician: clinician, Question: question,
		Program: "Dermal " + version.String(), Taken: a.TakenAt.UTC(), Dermoscopic: a.PhotoType != "plain", Photo: photoBytes,
		BodySite: entry.Lesion.BodySite, Side: entry.Lesion.Side, Tier: a.RiskTier, TierDriver: a.TierDriver, Probabilities: probs,
		SevenPoint: a.SevenPoint, ABCDE: a.ABCDE, Dermoscopy: a.Dermoscopy, DiameterMM: a.DiameterMM, Diagnosis: a.Diagnosis, Notes: a.Notes,
		Model: a.ModelName + " sha256:" + a.ModelSHA256, Letter: letter,
	}, nil
}

// ExportDICOM writes the DICOM files of an assessment's latest referral into dir (made if
// missing; for a USB stick, or to check them) and records the export. It returns the paths.
func (c *Clinic) ExportDICOM(ctx context.Context, id AssessmentID, dir, language string) ([]string, error) {
	st, err := c.ReferralStudy(ctx, id, language)
	if err != nil {
		return nil, err
	}
	objs, err := st.Objects()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot make the folder %s: %w", dir, err)
	}
	var paths []string
	for _, o := range objs {
		p := filepath.Join(dir, o.Name)
		if err := writeAtomic(p, o.Bytes(), "DICOM file"); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, c.store.RecordExport(ctx, "assessment", int64(id), fmt.Sprintf("DICOM study %s to %s", st.UID("study"), dir))
}
