package storage

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"slices"
	"time"

	"github.com/disintegration/imaging"
)

// BodySites is the fixed list of body sites (HAM10000's localizations); free text goes in
// SiteDetail.
var BodySites = []string{"abdomen", "acral", "back", "chest", "ear", "face", "foot", "genital", "hand",
	"lower extremity", "neck", "scalp", "trunk", "upper extremity", "other"}

// Lesion is one lesion of a patient.
type Lesion struct {
	ID         LesionID
	PatientID  PatientID
	BodySite   string
	SiteDetail string
	FirstSeen  time.Time
	// MapView ("front", "back"; "" when not placed) and MapX, MapY (0..1 of the outline's
	// box) place the lesion on the body map; Side is the patient's side ("" unknown).
	MapView    string
	MapX, MapY float64
	Side       string
}

// AddLesion records a lesion of a patient.
func (s *Store) AddLesion(ctx context.Context, l Lesion) (id LesionID, err error) {
	if err := s.cleanLesion(&l); err != nil {
		return 0, err
	}
	err = s.write(ctx, func(tx *sql.Tx) (err error) {
		id, err = s.addLesion(tx, l)
		return err
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// cleanLesion normalizes and checks a new lesion.
func (s *Store) cleanLesion(l *Lesion) (err error) {
	if !slices.Contains(BodySites, l.BodySite) {
		return fmt.Errorf("%w: body site %q is not one of %v", ErrInvalid, l.BodySite, BodySites)
	}
	if l.SiteDetail, err = FieldSiteDetail.Clean(l.SiteDetail); err != nil {
		return err
	}
	if l.FirstSeen.IsZero() {
		l.FirstSeen = s.now()
	}
	if l.MapView != "" && (l.MapView != "front" && l.MapView != "back" || l.MapX < 0 || l.MapX > 1 || l.MapY < 0 || l.MapY > 1) {
		return fmt.Errorf("%w: body map position %s (%.3f, %.3f) is not on the front or back outline", ErrInvalid, l.MapView, l.MapX, l.MapY)
	}
	switch l.Side {
	case "", "left", "right", "midline":
	default:
		return fmt.Errorf("%w: side %q is not left, right or midline", ErrInvalid, l.Side)
	}
	return nil
}

func (s *Store) addLesion(tx *sql.Tx, l Lesion) (LesionID, error) {
	var alive int
	if err := tx.QueryRow(`SELECT count(*) FROM patients WHERE id = ? AND deleted_at IS NULL`, l.PatientID).Scan(&alive); err != nil {
		return 0, err
	}
	if alive == 0 {
		return 0, fmt.Errorf("%w: patient %d", ErrNotFound, l.PatientID)
	}
	var view, x, y any
	if l.MapView != "" {
		view, x, y = l.MapView, l.MapX, l.MapY
	}
	res, err := tx.Exec(`INSERT INTO lesions (patient_id, body_site, site_detail, first_seen, map_view, map_x, map_y, side) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		l.PatientID, l.BodySite, l.SiteDetail, l.FirstSeen.UTC().Format(time.RFC3339), view, x, y, l.Side)
	if err != nil {
		return 0, err
	}
	n, _ := res.LastInsertId()
	if err := s.sealLesions(tx, `l.id = ?`, n); err != nil {
		return 0, err
	}
	return LesionID(n), s.audit(tx, "create", "lesion", n, l.BodySite)
}

// Assessment is one analysed photo of a lesion with the clinician's findings.
type Assessment struct {
	ID          AssessmentID
	LesionID    LesionID
	TakenAt     time.Time
	Photo       []byte // as captured; stored once per content
	PhotoSHA256 string
	ThumbSHA256 string
	ModelName   string
	ModelSHA256 string
	// ModelCardSHA256 is the SHA-256 of the model card that ran (labels, calibration, views,
	// thresholds): the network alone does not decide the result. "" before schema 3.
	ModelCardSHA256 string
	Probabilities   map[string]float64
	RiskTier        string
	Warnings        []string
	GradCAMShown    bool
	Diagnosis       string
	Notes           string
	FollowUp        *time.Time
	// PhotoType is "dermoscopic" or "plain" (triage.PhotoType).
	PhotoType string
	// SevenPoint and ABCDE are the items the clinician found present (triage's names); nil
	// when the checklist was not done. DiameterMM is the longest diameter (nil: not measured).
	SevenPoint []string
	ABCDE      []string
	DiameterMM *float64
	// Dermoscopy is the dermoscopic 7-point checklist's criteria present (triage.Criterion
	// names); nil when it was not done.
	Dermoscopy []string
	// TierDriver is what decided RiskTier (triage.Driver: a class code, "seven_point", …).
	TierDriver string
	// AssessedBy is the clinician who saved it (their full name, else login name; "" before
	// staff accounts).
	AssessedBy string
	// Read only (History, Entry): whether a referral was recorded, and the latest outcome
	// ("" source: none yet).
	Referred         bool
	OutcomeSource    string
	OutcomeDiagnosis string
}

// jsonList stores a list that may be absent: nil is NULL (not done), empty is "[]".
func jsonList(l []string) any {
	if l == nil {
		return nil
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func parseJSONList(s sql.NullString) ([]string, error) {
	if !s.Valid {
		return nil, nil
	}
	l := []string{}
	return l, json.Unmarshal([]byte(s.String), &l)
}

// ThumbnailSide is the long side of stored thumbnails.
const ThumbnailSide = 160

// Thumbnail encodes the stored thumbnail of a photo from its decoded picture (the caller has
// it already: a photo is never decoded twice for one save).
func Thumbnail(img image.Image) ([]byte, error) {
	if img == nil || img.Bounds().Empty() {
		return nil, fmt.Errorf("%w: no picture to make a thumbnail of", ErrInvalid)
	}
	var b bytes.Buffer
	err := jpeg.Encode(&b, imaging.Fit(img, ThumbnailSide, ThumbnailSide, imaging.Lanczos), &jpeg.Options{Quality: 85})
	return b.Bytes(), err
}

// SaveAssessment stores the photo, its thumbnail and the result on an existing lesion of the
// patient, in one transaction: after a crash either all of it is there or none of it. A
// lesion of another patient is refused (ErrWrongPatient), never filed under its owner.
func (s *Store) SaveAssessment(ctx context.Context, patient PatientID, a Assessment, thumb []byte) (AssessmentID, error) {
	return s.saveAssessment(ctx, patient, nil, a, thumb)
}

// SaveAssessmentOfNewLesion records a new lesion and its first assessment in one transaction.
func (s *Store) SaveAssessmentOfNewLesion(ctx context.Context, l Lesion, a Assessment, thumb []byte) (lesionID LesionID, assessmentID AssessmentID, err error) {
	if err := s.cleanLesion(&l); err != nil {
		return 0, 0, err
	}
	id, err := s.saveAssessment(ctx, l.PatientID, &l, a, thumb)
	return l.ID, id, err
}

func (s *Store) saveAssessment(ctx context.Context, patient PatientID, newLesion *Lesion, a Assessment, thumb []byte) (id AssessmentID, err error) {
	if a.Diagnosis, err = FieldDiagnosis.Clean(a.Diagnosis); err != nil {
		return 0, err
	}
	if a.Notes, err = FieldNotes.Clean(a.Notes); err != nil {
		return 0, err
	}
	switch {
	case len(a.Photo) == 0:
		return 0, fmt.Errorf("%w: no photo", ErrInvalid)
	case len(thumb) == 0:
		return 0, fmt.Errorf("%w: no thumbnail", ErrInvalid)
	case len(a.ModelSHA256) != 64 || a.ModelName == "" || len(a.ModelCardSHA256) != 64:
		return 0, fmt.Errorf("%w: the model that judged the photo is not named", ErrInvalid)
	case len(a.Probabilities) == 0 || a.RiskTier == "":
		return 0, fmt.Errorf("%w: no result", ErrInvalid)
	case a.DiameterMM != nil && !(*a.DiameterMM > 0 && *a.DiameterMM <= 500):
		return 0, fmt.Errorf("%w: diameter %g mm is not between 0 and 500 mm", ErrInvalid, *a.DiameterMM)
	}
	if a.PhotoType == "" {
		a.PhotoType = "dermoscopic"
	}
	if a.PhotoType != "dermoscopic" && a.PhotoType != "plain" {
		return 0, fmt.Errorf("%w: photo type %q is not dermoscopic or plain", ErrInvalid, a.PhotoType)
	}
	if a.TakenAt.IsZero() {
		a.TakenAt = s.now()
	}
	// A visit entered after the fact has its own date; one in the future is a typing error
	// (a day's slack for clocks and time zones).
	if a.TakenAt.After(s.now().Add(24 * time.Hour)) {
		return 0, fmt.Errorf("%w: the photo's date %s is in the future", ErrInvalid, a.TakenAt.Format("2006-01-02"))
	}
	if a.FollowUp != nil && (a.FollowUp.Before(a.TakenAt.AddDate(0, 0, -1)) || a.FollowUp.After(a.TakenAt.AddDate(10, 0, 0))) {
		return 0, fmt.Errorf("%w: follow-up date %s is not within 10 years after the photo", ErrInvalid, a.FollowUp.Format("2006-01-02"))
	}
	probs, _ := json.Marshal(a.Probabilities)
	if a.Warnings == nil {
		a.Warnings = []string{}
	}
	warns, _ := json.Marshal(a.Warnings)
	var follow any
	if a.FollowUp != nil {
		follow = a.FollowUp.Format("2006-01-02")
	}
	err = s.write(ctx, func(tx *sql.Tx) (err error) {
		if newLesion != nil {
			if a.LesionID, err = s.addLesion(tx, *newLesion); err != nil {
				return err
			}
			newLesion.ID = a.LesionID
		}
		var owner PatientID
		err = tx.QueryRow(`SELECT patient_id FROM lesions WHERE id = ? AND deleted_at IS NULL`, a.LesionID).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: lesion %d", ErrNotFound, a.LesionID)
		}
		if err != nil {
			return err
		}
		if owner != patient {
			var code, name string
			tx.QueryRow(`SELECT code, full_name FROM patients WHERE id = ?`, owner).Scan(&code, &name)
			return fmt.Errorf("%w: lesion %d is %s %s's (patient id %d), not patient id %d's; nothing was saved", ErrWrongPatient, a.LesionID, code, name, owner, patient)
		}
		b := s.Blobs()
		if a.PhotoSHA256, err = b.Put(ctx, tx, a.Photo); err != nil {
			return err
		}
		if a.ThumbSHA256, err = b.Put(ctx, tx, thumb); err != nil {
			return err
		}
		res, err := tx.Exec(`INSERT INTO assessments (lesion_id, taken_at, photo_sha256, thumb_sha256, model_name, model_sha256, model_card_sha256,
			probabilities, risk_tier, warnings, gradcam_shown, diagnosis, notes, follow_up, created_at,
			photo_type, seven_point, abcde, diameter_mm, tier_driver, assessed_by, dermoscopy)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.LesionID, a.TakenAt.UTC().Format(time.RFC3339Nano), a.PhotoSHA256, a.ThumbSHA256, a.ModelName, a.ModelSHA256, a.ModelCardSHA256,
			string(probs), a.RiskTier, string(warns), a.GradCAMShown, a.Diagnosis, a.Notes, follow, s.stamp(),
			a.PhotoType, jsonList(a.SevenPoint), jsonList(a.ABCDE), a.DiameterMM, a.TierDriver, a.AssessedBy, jsonList(a.Dermoscopy))
		if err != nil {
			return err
		}
		n, _ := res.LastInsertId()
		id = AssessmentID(n)
		if err := markLatest(tx, `lesion_id = ?`, a.LesionID); err != nil {
			return err
		}
		if err := s.sealAssessments(tx, `a.id = ?`, n); err != nil {
			return err
		}
		return s.audit(tx, "create", "assessment", n, a.RiskTier)
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// HistoryEntry is one assessment in a patient's history (photo bytes not loaded).
type HistoryEntry struct {
	Lesion     Lesion
	Assessment Assessment
}

var historyColumns = `l.id, l.patient_id, l.body_site, l.site_detail, l.first_seen,
	coalesce(l.map_view, ''), coalesce(l.map_x, 0), coalesce(l.map_y, 0), l.side,
	a.id, a.taken_at, a.photo_sha256, a.thumb_sha256, a.model_name, a.model_sha256, a.model_card_sha256, a.probabilities,
	a.risk_tier, a.warnings, a.gradcam_shown, a.diagnosis, a.notes, coalesce(a.follow_up, ''),
	a.photo_type, a.seven_point, a.abcde, a.diameter_mm, a.tier_driver, a.assessed_by, a.dermoscopy,
	` + assessmentSealInput + `, a.seal, ` + lesionSealInput + `, l.seal,
	EXISTS (SELECT 1 FROM referrals r WHERE r.assessment_id = a.id AND r.deleted_at IS NULL AND r.referred_to != ''),
	coalesce((SELECT r.outcome_source FROM referrals r WHERE r.assessment_id = a.id AND r.deleted_at IS NULL AND r.outcome_source IS NOT NULL ORDER BY r.outcome_at DESC LIMIT 1), ''),
	coalesce((SELECT r.outcome_diagnosis FROM referrals r WHERE r.assessment_id = a.id AND r.deleted_at IS NULL AND r.outcome_source IS NOT NULL ORDER BY r.outcome_at DESC LIMIT 1), '')`

// History lists a patient's assessments, by lesion and then time.
func (s *Store) History(ctx context.Context, patientID PatientID) ([]HistoryEntry, error) {
	return s.queryHistory(ctx, `WHERE l.patient_id = ? AND l.deleted_at IS NULL AND a.deleted_at IS NULL
		ORDER BY l.id, a.taken_at`, patientID)
}

// Entry returns one assessment with its lesion (photo bytes not loaded).
func (s *Store) Entry(ctx context.Context, assessmentID AssessmentID) (HistoryEntry, error) {
	hs, err := s.queryHistory(ctx, `WHERE a.id = ? AND l.deleted_at IS NULL AND a.deleted_at IS NULL`, assessmentID)
	if err != nil {
		return HistoryEntry{}, err
	}
	if len(hs) == 0 {
		return HistoryEntry{}, fmt.Errorf("%w: assessment %d", ErrNotFound, assessmentID)
	}
	return hs[0], nil
}

func (s *Store) queryHistory(ctx context.Context, where string, args ...any) ([]HistoryEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+historyColumns+`
		FROM lesions l JOIN assessments a ON a.lesion_id = l.id `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []HistoryEntry
	for rows.Next() {
		var h HistoryEntry
		var first, taken, probs, warns, follow string
		var sevenPoint, abcde, dermoscopy sql.NullString
		var sealInput, seal, lesionInput, lesionSeal string
		var diameter sql.NullFloat64
		a := &h.Assessment
		if err := rows.Scan(&h.Lesion.ID, &h.Lesion.PatientID, &h.Lesion.BodySite, &h.Lesion.SiteDetail, &first,
			&h.Lesion.MapView, &h.Lesion.MapX, &h.Lesion.MapY, &h.Lesion.Side, &a.ID, &taken, &a.PhotoSHA256,
			&a.ThumbSHA256, &a.ModelName, &a.ModelSHA256, &a.ModelCardSHA256, &probs, &a.RiskTier, &warns, &a.GradCAMShown, &a.Diagnosis, &a.Notes, &follow,
			&a.PhotoType, &sevenPoint, &abcde, &diameter, &a.TierDriver, &a.AssessedBy, &dermoscopy, &sealInput, &seal, &lesionInput, &lesionSeal, &a.Referred, &a.OutcomeSource, &a.OutcomeDiagnosis); err != nil {
			return nil, err
		}
		if err := s.checkSeal(ctx, "assessment", int64(a.ID), sealInput, seal); err != nil {
			return nil, err
		}
		if err := s.checkSeal(ctx, "lesion", int64(h.Lesion.ID), lesionInput, lesionSeal); err != nil {
			return nil, err
		}
		if diameter.Valid {
			a.DiameterMM = &diameter.Float64
		}
		var errSP, errABCDE, errDerm error
		a.SevenPoint, errSP = parseJSONList(sevenPoint)
		a.ABCDE, errABCDE = parseJSONList(abcde)
		a.Dermoscopy, errDerm = parseJSONList(dermoscopy)
		if err := errors.Join(errSP, errABCDE, errDerm); err != nil {
			return nil, fmt.Errorf("assessment %d: %w", a.ID, err)
		}
		a.LesionID = h.Lesion.ID
		h.Lesion.FirstSeen, _ = time.Parse(time.RFC3339, first)
		a.TakenAt, _ = time.Parse(time.RFC3339Nano, taken)
		if err := errors.Join(json.Unmarshal([]byte(probs), &a.Probabilities), json.Unmarshal([]byte(warns), &a.Warnings)); err != nil {
			return nil, fmt.Errorf("assessment %d: %w", a.ID, err)
		}
		if follow != "" {
			if f, err := time.Parse("2006-01-02", follow); err == nil {
				a.FollowUp = &f
			}
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// latestSQL is what assessments.latest holds for the assessment row in scope: 1 for its
// lesion's latest assessment (the one the worklist counts: seeing the lesion again closes
// what the one before asked), by when its photo was taken, so that an old visit entered later
// (dermal import) does not reopen what a newer one closed; and 0 for every assessment of a
// deleted lesion or patient, so that the worklist counts its sections from an index alone.
const latestSQL = `(assessments.id = (SELECT a2.id FROM assessments a2 WHERE a2.lesion_id = assessments.lesion_id AND a2.deleted_at IS NULL
		ORDER BY a2.taken_at DESC, a2.id DESC LIMIT 1)
	AND EXISTS (SELECT 1 FROM lesions l2 JOIN patients p2 ON p2.id = l2.patient_id
		WHERE l2.id = assessments.lesion_id AND l2.deleted_at IS NULL AND p2.deleted_at IS NULL))`

// markLatest sets assessments.latest for the assessments of the lesions where selects (a SQL
// condition on lesion_id), in the transaction that changed them.
func markLatest(tx *sql.Tx, where string, args ...any) error {
	_, err := tx.Exec(`UPDATE assessments SET latest = `+latestSQL+` WHERE `+where, args...)
	return err
}
