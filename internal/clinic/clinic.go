// Package clinic is the application layer: "assess this photo for this patient", "show this
// patient's history". It owns the one inference engine and the case store, and is what the
// command line and the GUI call; neither talks to SQL or ONNX Runtime directly.
package clinic

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"dermal/internal/accounts"
	"dermal/internal/inference"
	"dermal/internal/storage"
	"dermal/internal/triage"
	"dermal/internal/watchdog"
)

// Clinic joins the model and the records.
type Clinic struct {
	engine *inference.Engine // nil: records only (commands that run no model)
	store  *storage.Store    // nil: the model only (classify)
	// guard keeps decodes and analyses inside the memory budget; nil runs without a budget
	// (tests, eval).
	guard   *watchdog.Guard
	cameras CameraSource // nil: the system's USB cameras

	userMu sync.Mutex
	user   *storage.User    // who is logged in (nil: nobody, or records before accounts)
	params *accounts.Params // argon2id costs (nil: accounts.Default)
	// lockMinutes is the idle lock as last read from the records, plus one (0: not read):
	// the window asks every two seconds, on its UI thread.
	lockMinutes atomic.Int64
}

// New joins an engine, a store and a guard; any may be nil where a command needs none. The
// clinic owns the store from then on (Close closes it); the engine stays the caller's.
func New(engine *inference.Engine, store *storage.Store, guard *watchdog.Guard) *Clinic {
	return &Clinic{engine: engine, store: store, guard: guard}
}

// Close closes the records (the store handed to New, or the one a Restore opened in its
// place). The engine belongs to the caller.
func (c *Clinic) Close() error {
	if c.store != nil {
		return c.store.Close()
	}
	return nil
}

// DatabaseFile is the database's name inside the data folder.
const DatabaseFile = "dermal.db"

// OpenStore opens (creating if needed) the case database in dataDir.
func OpenStore(dataDir, actor string) (*storage.Store, error) {
	return OpenStoreWith(dataDir, actor, storage.Options{})
}

// OpenStoreWith is OpenStore with options (the command line skips an integrity check that
// passed within the hour).
func OpenStoreWith(dataDir, actor string, opts storage.Options) (*storage.Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the data folder: %w", err)
	}
	return storage.OpenWith(filepath.Join(dataDir, DatabaseFile), actor, opts)
}

type Result struct {
	AssessmentID storage.AssessmentID
	LesionID     storage.LesionID
	Patient      storage.Patient
	Analysis     *inference.Assessment
	Decision     triage.Decision
}

// ResolvePatient turns what a person typed to name a patient into one patient: "id:N" is a
// record id, "code:X" a clinic code, and plain text either — refused as ambiguous when it is
// one patient's code and another's id (clinics use plain numbers as codes). It is for the edge
// where text is typed (the command line); inside the program patients go by storage.PatientID.
func (c *Clinic) ResolvePatient(ctx context.Context, ref string) (storage.Patient, error) {
	if rest, ok := strings.CutPrefix(ref, "code:"); ok {
		return c.store.PatientByCode(ctx, rest)
	}
	if rest, ok := strings.CutPrefix(ref, "id:"); ok {
		id, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			return storage.Patient{}, fmt.Errorf("%w: patient id %q is not a number", storage.ErrInvalid, rest)
		}
		return c.store.PatientByID(ctx, storage.PatientID(id))
	}
	byCode, codeErr := c.store.PatientByCode(ctx, ref)
	if codeErr != nil && !errors.Is(codeErr, storage.ErrNotFound) {
		return storage.Patient{}, codeErr
	}
	id, numErr := strconv.ParseInt(ref, 10, 64)
	if numErr != nil {
		return byCode, codeErr
	}
	byID, idErr := c.store.PatientByID(ctx, storage.PatientID(id))
	switch {
	case idErr != nil && !errors.Is(idErr, storage.ErrNotFound):
		return storage.Patient{}, idErr
	case codeErr == nil && idErr == nil && byCode.ID != byID.ID:
		return storage.Patient{}, fmt.Errorf("%w: %q is the clinic code of %s (id %d) and the id of %s (code %s); say code:%s or id:%s",
			storage.ErrAmbiguous, ref, byCode.FullName, byCode.ID, byID.FullName, byID.Code, ref, ref)
	case codeErr == nil:
		return byCode, nil
	case idErr == nil:
		return byID, nil
	}
	return storage.Patient{}, fmt.Errorf("%w: no patient with clinic code or id %q", storage.ErrNotFound, ref)
}

// SimilarPatientsError means a new patient looks like one already registered (same name and
// birth year, or same phone): registering them again would split their history in two.
type SimilarPatientsError struct{ Similar []storage.Patient }

func (e *SimilarPatientsError) Error() string {
	var names []string
	for _, p := range e.Similar {
		names = append(names, fmt.Sprintf("%s %s (id %d, born %d, phone %s)", p.Code, p.FullName, p.ID, p.BirthYear, p.Phone))
	}
	return "this may be a patient already registered: " + strings.Join(names, "; ")
}

// AddPatient registers a patient. Unless allowSimilar, a patient who looks like an existing
// one is refused with *SimilarPatientsError, so the clinician can open the existing record.
func (c *Clinic) AddPatient(ctx context.Context, p storage.Patient, allowSimilar bool) (storage.PatientID, error) {
	if !allowSimilar {
		similar, err := c.store.SimilarPatients(ctx, p)
		if err != nil {
			return 0, err
		}
		if len(similar) > 0 {
			return 0, &SimilarPatientsError{similar}
		}
	}
	return c.store.AddPatient(ctx, p)
}

// Assess analyses a photo and stores it for the patient: on the given lesion (which must be
// the patient's), or on a new lesion at site when lesionID is 0. Nothing is stored if any
// step fails.
func (c *Clinic) Assess(ctx context.Context, patient storage.PatientID, lesionID storage.LesionID, site string, photo *inference.Photo, exam Examination, findings storage.Findings) (*Result, error) {
	p, err := c.store.PatientByID(ctx, patient)
	if err != nil {
		return nil, err
	}
	if lesionID == 0 && !slices.Contains(storage.BodySites, site) {
		return nil, fmt.Errorf("%w: body site %q is not one of %v", storage.ErrInvalid, site, storage.BodySites)
	}
	an, err := c.AnalyseGuarded(ctx, photo, false)
	if err != nil {
		return nil, err
	}
	a := an.Assessment
	return c.Save(ctx, Visit{PatientID: p.ID, LesionID: lesionID, Site: site, Photo: photo, Analysis: a, Exam: exam, Findings: findings})
}

// AssessAt is Assess for a new lesion placed on the body map at point.
func (c *Clinic) AssessAt(ctx context.Context, patient storage.PatientID, site string, point BodyPoint, photo *inference.Photo, exam Examination, findings storage.Findings) (*Result, error) {
	if _, err := point.Place(); err != nil {
		return nil, err
	}
	p, err := c.store.PatientByID(ctx, patient)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(storage.BodySites, site) {
		return nil, fmt.Errorf("%w: body site %q is not one of %v", storage.ErrInvalid, site, storage.BodySites)
	}
	an, err := c.AnalyseGuarded(ctx, photo, false)
	if err != nil {
		return nil, err
	}
	return c.Save(ctx, Visit{PatientID: p.ID, Site: site, Map: &point, Photo: photo, Analysis: an.Assessment, Exam: exam, Findings: findings})
}

// Analyse runs the model on a photo without storing anything, with Grad-CAM allowed.
func (c *Clinic) Analyse(photo *inference.Photo) (*inference.Assessment, error) {
	an, err := c.AnalyseGuarded(context.Background(), photo, true)
	if err != nil {
		return nil, err
	}
	return an.Assessment, nil
}

// Analysis is an assessment with what the memory watchdog allowed.
type Analysis struct {
	*inference.Assessment
	// GradCAMAllowed is false when the overlay was not wanted or the watchdog ruled it out;
	// then Note says why (empty when simply not wanted).
	GradCAMAllowed bool
	Note           string
	// Plan is the watchdog's decision (zero without a watchdog).
	Plan watchdog.Decision
}

// AnalyseGuarded waits its turn (one analysis at a time), asks the watchdog for a plan, and
// runs the model. A refusal is a *watchdog.RefusedError with the reason in clinic words.
func (c *Clinic) AnalyseGuarded(ctx context.Context, photo *inference.Photo, wantGradCAM bool) (*Analysis, error) {
	assess := func() (*inference.Assessment, error) { return c.engine.Assess(photo) }
	if c.guard == nil {
		a, err := assess()
		if err != nil {
			return nil, err
		}
		return &Analysis{Assessment: a, GradCAMAllowed: wantGradCAM}, nil
	}
	release, err := c.guard.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	b := photo.Image.Bounds()
	d := c.guard.Plan(b.Dx()*b.Dy(), wantGradCAM)
	if d.Verdict == watchdog.Refuse {
		return nil, &watchdog.RefusedError{Decision: d}
	}
	a, err := assess()
	if err != nil {
		return nil, err
	}
	return &Analysis{Assessment: a, GradCAMAllowed: wantGradCAM && d.Verdict == watchdog.Run, Note: d.Reason, Plan: d}, nil
}

// ReadPhoto reads a photo file, asking the watchdog before decoding it.
func (c *Clinic) ReadPhoto(path string) (*inference.Photo, error) {
	return inference.ReadPhotoFileAdmit(path, c.admit())
}

// DecodePhoto decodes photo bytes (paste, phone), asking the watchdog before decoding them.
func (c *Clinic) DecodePhoto(name string, data []byte) (*inference.Photo, error) {
	return inference.DecodePhotoAdmit(name, data, c.admit())
}

func (c *Clinic) admit() inference.Admit {
	if c.guard == nil {
		return nil
	}
	return func(cost inference.DecodeCost) (func(), error) {
		return c.guard.AdmitDecode(context.Background(), cost.Bytes, cost.What)
	}
}

// Visit is an analysed photo with the clinician's findings, ready to be stored.
type Visit struct {
	PatientID  storage.PatientID
	LesionID   storage.LesionID // 0: a new lesion at Site
	Site       string           // body site of a new lesion (storage.BodySites)
	SiteDetail string
	// Map places a new lesion on the body map (nil: not placed). Its side comes from there.
	Map      *BodyPoint
	Photo    *inference.Photo
	Analysis *inference.Assessment
	Exam     Examination
	Findings storage.Findings
	// TakenAt is when the photo was taken, for visits entered after the fact (records moved
	// from paper or another system); zero: now.
	TakenAt time.Time
}

// Examination is what the clinician found beside the photo: how it was taken, the clinical
// weighted 7-point checklist, the dermoscopic 7-point checklist and ABCDE (nil: not done), and
// the longest diameter (nil: not measured).
type Examination struct {
	PhotoType  triage.PhotoType
	SevenPoint *triage.SevenPoint
	Dermoscopy *triage.Dermoscopy
	ABCDE      []triage.Sign
	DiameterMM *float64
}

// Check refuses an examination that cannot be true: dermoscopic criteria are read through a
// dermatoscope, so they do not go with a photo taken without one.
func (e Examination) Check() error {
	if e.Dermoscopy != nil && e.PhotoType == triage.Plain {
		return fmt.Errorf("%w: the dermoscopic checklist is read through a dermatoscope; it does not go with a plain photo (choose dermoscopic, or leave the dermoscopic checklist out)", storage.ErrInvalid)
	}
	return nil
}

// Decide is the tier shown for an analysis and an examination, and what drove it.
func Decide(a *inference.Assessment, e Examination) triage.Decision {
	pt := e.PhotoType
	if pt == "" {
		pt = triage.Dermoscopic
	}
	return triage.Decide(a, triage.Findings{PhotoType: pt, SevenPoint: e.SevenPoint, Dermoscopy: e.Dermoscopy})
}

// Result is a stored assessment with the analysis behind it.

// Save stores an analysed photo with the clinician's findings (and the new lesion, if any) in
// one transaction.
func (c *Clinic) Save(ctx context.Context, v Visit) (*Result, error) {
	if v.Photo == nil || v.Analysis == nil {
		return nil, fmt.Errorf("%w: nothing analysed to save", storage.ErrInvalid)
	}
	if err := v.Exam.Check(); err != nil {
		return nil, err
	}
	p, err := c.store.PatientByID(ctx, v.PatientID)
	if err != nil {
		return nil, err
	}
	if p.ConsentPhotos != nil && !*p.ConsentPhotos {
		return nil, fmt.Errorf("%w: %s refused to have photos stored (%s); nothing was saved — record the new consent in the patient's details first",
			ErrNoConsent, p.FullName, consentDate(p))
	}
	// The thumbnail comes from the picture already decoded for the analysis: a stored photo
	// is never decoded a second time (outside the watchdog) to save it.
	thumb, err := storage.Thumbnail(v.Photo.Image)
	if err != nil {
		return nil, err
	}
	card := c.engine.Card()
	a := v.Analysis
	var warnings []string
	for _, w := range a.Warnings {
		warnings = append(warnings, w.Code)
	}
	d := Decide(a, v.Exam)
	rec := storage.Assessment{
		LesionID: v.LesionID, Photo: v.Photo.Bytes, ModelName: ModelName(card), ModelSHA256: card.SHA256, ModelCardSHA256: card.DocSHA256,
		Probabilities: a.ProbabilityMap(), RiskTier: string(d.Tier), TierDriver: string(d.Driver), Warnings: warnings,
		GradCAMShown: v.Findings.GradCAMShown, Diagnosis: v.Findings.Diagnosis, Notes: v.Findings.Notes, FollowUp: v.Findings.FollowUp,
		PhotoType: string(d.PhotoType()), DiameterMM: v.Exam.DiameterMM, AssessedBy: c.assessor(),
		Dermoscopy: v.Exam.Dermoscopy.Names(), TakenAt: v.TakenAt,
	}
	if v.Exam.SevenPoint != nil {
		rec.SevenPoint = []string{}
		for _, it := range v.Exam.SevenPoint.Items {
			rec.SevenPoint = append(rec.SevenPoint, string(it))
		}
	}
	if v.Exam.ABCDE != nil {
		rec.ABCDE = []string{}
		for _, sg := range triage.OrderSigns(v.Exam.ABCDE) {
			rec.ABCDE = append(rec.ABCDE, string(sg))
		}
	}
	var id storage.AssessmentID
	lesionID := v.LesionID
	if lesionID == 0 {
		l := storage.Lesion{PatientID: p.ID, BodySite: v.Site, SiteDetail: v.SiteDetail, FirstSeen: v.TakenAt}
		if v.Map != nil {
			place, err := v.Map.Place()
			if err != nil {
				return nil, err
			}
			l.MapView, l.MapX, l.MapY, l.Side = string(v.Map.View), v.Map.X, v.Map.Y, string(place.Side)
			if l.BodySite == "" {
				l.BodySite = place.Site
			}
		}
		lesionID, id, err = c.store.SaveAssessmentOfNewLesion(ctx, l, rec, thumb)
	} else {
		id, err = c.store.SaveAssessment(ctx, p.ID, rec, thumb)
	}
	if err != nil {
		return nil, err
	}
	return &Result{AssessmentID: id, LesionID: lesionID, Patient: p, Analysis: a, Decision: d}, nil
}

// Restore puts a backup in place of the open records, from inside the app: it closes the
// store (a restore never swaps the file under an open store), checks and replaces the file,
// and opens the restored records. If the restore fails, the records as they were are opened
// again. The caller must not use the store while it runs.
func (c *Clinic) Restore(src string, key BackupKey) (kept string, err error) {
	if err := c.requireAdmin("restoring a backup"); err != nil {
		return "", err
	}
	path, actor, srcName := c.store.Path(), c.store.Actor(), src
	// An encrypted backup is opened first, while the records stay open: a wrong passphrase
	// changes nothing.
	plain, cleanup, err := openedBackup(src, filepath.Dir(path), key)
	if err != nil {
		return "", err
	}
	defer cleanup()
	src = plain
	key0 := c.store.DataKey()
	if err := c.store.Close(); err != nil {
		return "", fmt.Errorf("closing the records before the restore: %w", err)
	}
	kept, restoreErr := storage.Restore(src, path)
	s, openErr := storage.Open(path, actor)
	if openErr != nil {
		return kept, errors.Join(restoreErr, fmt.Errorf("opening the records after the restore: %w", openErr))
	}
	c.store = s
	c.lockMinutes.Store(0) // the records' setting, restored or not
	if restoreErr == nil {
		// The restored records have their own accounts and data key: log in again.
		c.Logout()
		if err := s.RecordRestore(context.Background(), srcName, kept); err != nil {
			return kept, fmt.Errorf("restored, but the restore could not be noted in the records' audit trail: %w", err)
		}
	} else if u := c.CurrentUser(); u != nil {
		// The records as they were, reopened: the same user, the same key.
		s.SetActor(u.Name)
		s.SetDataKey(key0)
	}
	return kept, restoreErr
}

// ModelName is how assessments name the model that made them: card name and version.
func ModelName(card inference.Card) string { return card.Name + " " + card.Version }

// StoredPhoto decodes a stored photo or thumbnail (verified against its SHA-256 on read).
func (c *Clinic) StoredPhoto(ctx context.Context, sha string) (*inference.Photo, error) {
	data, err := c.store.Blobs().Get(ctx, sha)
	if err != nil {
		return nil, err
	}
	// Under the watchdog like any other decode: a report must not decode a stored photo
	// beside an analysis.
	return inference.DecodePhotoAdmit(sha[:12]+".jpg", data, c.admit())
}

// Reanalyse recomputes the analysis of a stored assessment (for its Grad-CAM map, which is not
// stored). It refuses when the assessment was made by another model than the loaded one, since
// the map would then explain a result that model never gave.
func (c *Clinic) Reanalyse(ctx context.Context, a storage.Assessment) (*inference.Photo, *inference.Assessment, error) {
	photo, err := c.StoredPhoto(ctx, a.PhotoSHA256)
	if err != nil {
		return nil, nil, err
	}
	an, err := c.reanalysePhoto(a, photo)
	return photo, an, err
}

// reanalysePhoto is Reanalyse of a stored assessment's photo already read.
func (c *Clinic) reanalysePhoto(a storage.Assessment, photo *inference.Photo) (*inference.Assessment, error) {
	card := c.engine.Card()
	// The same network file with another card (version) can give other results (views,
	// calibration), so both must match.
	if a.ModelSHA256 != card.SHA256 || a.ModelName != ModelName(card) || (a.ModelCardSHA256 != "" && a.ModelCardSHA256 != card.DocSHA256) {
		return nil, fmt.Errorf("%w: assessment %d was made by model %s", ErrOtherModel, a.ID, a.ModelName)
	}
	return c.Analyse(photo)
}

// storedHeatmap is a stored assessment's Grad-CAM map, made again from its photo (already
// read), for the class its stored headline names (the most probable class otherwise): the map
// the report prints and the referral sends. ErrOtherModel when another model made the result.
func (c *Clinic) storedHeatmap(a storage.Assessment, photo *inference.Photo) (*Heatmap, error) {
	analysis, err := c.reanalysePhoto(a, photo)
	if err != nil {
		return nil, err
	}
	card := c.engine.Card()
	class := analysis.Top
	if code := triage.HeadlineClass(triage.Driver(a.TierDriver), a.Probabilities, card.Malignant); code != "" {
		class = card.LabelIndex(code)
	}
	return analysis.GradCAM(class)
}

// ErrNoConsent means the patient refused what was asked (photos stored, or shared).
var ErrNoConsent = errors.New("no consent")

func consentDate(p storage.Patient) string {
	if p.ConsentAt == nil {
		return "date not recorded"
	}
	return p.ConsentAt.Format("2006-01-02")
}

// ErrOtherModel means a stored result came from a different model than the one loaded.
var ErrOtherModel = errors.New("the assessment was made by a different model")
