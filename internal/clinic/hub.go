package clinic

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/disintegration/imaging"

	"dermal/internal/dicomstudy"
	"dermal/internal/hub"
	"dermal/internal/inference"
	"dermal/internal/locale"
	"dermal/internal/report"
	"dermal/internal/storage"
	"dermal/internal/version"
)

// Teleconsultation through the district hub (package hub): a referral letter written for a
// patient who consented to sharing queues the referral's DICOM study (ReferralStudy); a sync
// sends the queue one instance at a time and brings the specialists' replies home as the
// referrals' outcomes; a specialist's desk lists the hub's new referrals and answers them.

// Hub errors, re-exported for the window and the command line.
var (
	ErrNoHub          = storage.ErrNoHub
	ErrHubRefused     = hub.ErrRefused
	ErrHubUnreachable = hub.ErrUnreachable
	ErrHubCertificate = hub.ErrCertificate
)

// Where a referral stands with the hub (WorkItem.Hub).
const (
	HubQueued = storage.HubQueued
	HubSent   = storage.HubSent
	HubFailed = storage.HubFailed
)

// Hub reads the hub's settings (ErrNoHub when none is set).
func (c *Clinic) Hub(ctx context.Context) (HubSettings, error) { return c.store.Hub(ctx) }

// HubSettings are the hub's address and login as an administrator sets them.
type HubSettings = storage.HubSettings

// OutboxItem is one referral in the outbox.
type OutboxItem = storage.OutboxItem

// SetHub sets the district hub (administrators): the address is checked (HTTPS, except to
// this computer) and the password kept sealed with the records' key.
func (c *Clinic) SetHub(ctx context.Context, h HubSettings) error {
	if err := c.requireAdmin("setting the district hub"); err != nil {
		return err
	}
	if _, err := hub.New(h.URL, h.User, h.Password, h.CACert); err != nil {
		return err
	}
	if h.User == "" || h.Password == "" {
		return fmt.Errorf("%w: the hub needs the user name and password the district gave this clinic", ErrInvalid)
	}
	return c.store.SetHub(ctx, h)
}

// hubClient connects to the hub that is set.
func (c *Clinic) hubClient(ctx context.Context) (*hub.Client, HubSettings, error) {
	h, err := c.store.Hub(ctx)
	if err != nil {
		return nil, h, err
	}
	cl, err := hub.New(h.URL, h.User, h.Password, h.CACert)
	return cl, h, err
}

// queueForHub queues a new referral's study when a hub is set and the patient consented to
// sharing photos for a referral (not asked: not queued; the letter goes on paper).
func (c *Clinic) queueForHub(ctx context.Context, id storage.ReferralID, p Patient, a storage.Assessment, photo *inference.Photo, language string, letter []byte) error {
	if _, err := c.store.Hub(ctx); errors.Is(err, storage.ErrNoHub) || errors.Is(err, storage.ErrLocked) {
		return nil
	} else if err != nil {
		return err
	}
	if p.ConsentReferral == nil || !*p.ConsentReferral {
		return nil
	}
	return c.store.QueueReferral(ctx, id, locale.Supported(language), letter, c.gradcamAsSeen(a, photo))
}

// gradcamAsSeen is the referred assessment's photo (already read) with its Grad-CAM map as the
// clinic sees it (the report's map, the window's opacity), 800 px on the long side, as a JPEG:
// what the specialist sees beside the photo. nil when it cannot be made again (another model
// made the result, or the model cannot run here): the study then goes without it.
func (c *Clinic) gradcamAsSeen(a storage.Assessment, photo *inference.Photo) []byte {
	heat, err := c.storedHeatmap(a, photo)
	if err != nil {
		return nil
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, imaging.Fit(heat.Overlay(photo.Image, OverlayOpacity), 800, 800, imaging.Lanczos), &jpeg.Options{Quality: 85}); err != nil {
		return nil
	}
	return b.Bytes()
}

// QueueForHub puts an assessment's latest referral in the outbox by hand (a referral written
// before the hub was set, or consent recorded since).
func (c *Clinic) QueueForHub(ctx context.Context, id AssessmentID, language string) error {
	e, p, err := c.Entry(ctx, id)
	if err != nil {
		return err
	}
	if p.ConsentReferral == nil || !*p.ConsentReferral {
		return fmt.Errorf("%w: %s has not consented to having photos shared for a referral; record the consent first", ErrNoConsent, p.FullName)
	}
	rs, err := c.store.Referrals(ctx, id)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		return fmt.Errorf("%w (assessment %d)", ErrNoReferral, id)
	}
	photo, err := c.StoredPhoto(ctx, e.Assessment.PhotoSHA256)
	if err != nil {
		return err
	}
	return c.store.QueueReferral(ctx, rs[len(rs)-1].ID, locale.Supported(language), nil, c.gradcamAsSeen(e.Assessment, photo))
}

// Outbox lists the referrals queued for the hub and sent (unsent only, or all).
func (c *Clinic) Outbox(ctx context.Context, unsentOnly bool) ([]OutboxItem, error) {
	return c.store.Outbox(ctx, unsentOnly)
}

// HubStatus is the outbox in numbers, for `dermal hub status` and Settings.
type HubStatus struct {
	URL, User      string
	Queued, Sent   int
	Failing        []OutboxItem // unsent, with the last error
	Replies        int
	LastReplyCheck *time.Time
}

// HubStatus reads the outbox.
func (c *Clinic) HubStatus(ctx context.Context) (HubStatus, error) {
	h, err := c.store.Hub(ctx)
	if err != nil {
		return HubStatus{}, err
	}
	st := HubStatus{URL: h.URL, User: h.User, LastReplyCheck: h.LastReplyCheck}
	items, err := c.store.Outbox(ctx, false)
	if err != nil {
		return st, err
	}
	for _, it := range items {
		switch {
		case it.SentAt != nil:
			st.Sent++
		case it.LastError != "":
			st.Failing = append(st.Failing, it)
		default:
			st.Queued++
		}
		if it.ReplyAt != nil {
			st.Replies++
		}
	}
	return st, nil
}

// SyncResult says what a sync did.
type SyncResult struct {
	Sent      int           // referrals the hub now holds whole
	Instances int           // instances sent in this sync
	Failed    []OutboxItem  // still failing, with why
	Replies   []ReplyResult // replies that came home
}

// ReplyResult is one reply recorded as a referral's outcome.
type ReplyResult struct {
	Assessment AssessmentID
	Patient    string
	Summary    string
}

// backoff is how long a failed referral waits before the window's sender tries it again.
func backoff(attempts int) time.Duration {
	d := time.Minute << min(attempts, 6)
	return min(d, time.Hour)
}

// SyncHub sends the outbox and brings the replies home. due: only the referrals whose back-off
// has passed (the window's sender); false sends every unsent one now (the command line). Each
// instance is recorded as acknowledged as soon as the hub stored it, so a sync killed at any
// moment resumes where it stopped; a study is sent when the hub acknowledged all of it.
func (c *Clinic) SyncHub(ctx context.Context, due bool, log *slog.Logger) (SyncResult, error) {
	var res SyncResult
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cl, settings, err := c.hubClient(ctx)
	if err != nil {
		return res, err
	}
	items, err := c.store.Outbox(ctx, true)
	if err != nil {
		return res, err
	}
	now := time.Now()
	var stop error // the hub cannot be reached or refuses us: the rest waits
	for _, it := range items {
		if due && it.NextTry != nil && it.NextTry.After(now) {
			continue
		}
		if stop != nil {
			it.LastError = stop.Error()
			res.Failed = append(res.Failed, it)
			continue
		}
		n, err := c.sendOne(ctx, cl, settings.User, it)
		res.Instances += n
		if err != nil {
			log.Warn("hub: referral not sent", "referral", it.ReferralID, "err", err)
			if merr := c.store.MarkFailed(ctx, it.ID, err.Error(), time.Now().Add(backoff(it.Attempts))); merr != nil {
				return res, merr
			}
			it.LastError = err.Error()
			res.Failed = append(res.Failed, it)
			if errors.Is(err, hub.ErrRefused) || errors.Is(err, hub.ErrUnreachable) || errors.Is(err, hub.ErrCertificate) || ctx.Err() != nil {
				stop = err
			}
			continue
		}
		res.Sent++
	}
	if stop == nil {
		replies, err := c.fetchReplies(ctx, cl, log)
		res.Replies = replies
		if err != nil {
			return res, err
		}
	}
	return res, stop
}

// HubPatientID is a patient's id on the district hub: the clinic's login there, then the
// patient's code. Orthanc keys a patient by PatientID alone, so two clinics' BN-0142 would be
// one patient on the hub (one name shown for both); the hub also reads the clinic from it to
// keep clinics apart. IssuerOfPatientID names the clinic's login as well.
func HubPatientID(login, code string) string { return login + "/" + code }

// sendOne sends what the hub has not acknowledged of one referral's study.
func (c *Clinic) sendOne(ctx context.Context, cl *hub.Client, login string, it OutboxItem) (int, error) {
	letter, gradcam, err := c.store.OutboxFiles(ctx, it.ID)
	if err != nil {
		return 0, err
	}
	st, err := c.referralStudy(ctx, it.AssessmentID, it.ReferralID, it.Language, letter)
	if err != nil {
		return 0, err
	}
	st.GradCAM = gradcam
	st.Patient.ID, st.Patient.Issuer = HubPatientID(login, st.Patient.ID), login
	objs, err := st.Objects()
	if err != nil {
		return 0, err
	}
	// The objects hold the photo now: its decrypted bytes can go, and each object once the
	// hub has it (a 12 MP photo is 2-3 MB three times over otherwise).
	st.Photo, st.Letter, st.GradCAM = nil, nil, nil
	done := map[string]bool{}
	for _, a := range it.Acknowledged {
		done[a] = true
	}
	sent := 0
	for i, o := range objs {
		if done[o.SOPInstance] {
			continue
		}
		if err := cl.Store(ctx, st.UID("study"), o.SOPInstance, o.Parts()...); err != nil {
			return sent, err
		}
		objs[i].Data, objs[i].Frame = nil, nil
		sent++
		if err := c.store.Acknowledge(ctx, it.ID, st.UID("study"), o.SOPInstance); err != nil {
			return sent, err
		}
	}
	return sent, c.store.MarkSent(ctx, it.ID, st.UID("study"))
}

// fetchReplies asks the hub, study by study, for the specialists' replies to this clinic's
// referrals that are sent and not yet answered, and records each as its outcome. It asks
// about its own studies only (a hub that keeps clinics apart refuses a clinic any wider
// search). A reply whose patient is not the referral's is ignored with a log line: never
// attached to a patient.
func (c *Clinic) fetchReplies(ctx context.Context, cl *hub.Client, log *slog.Logger) ([]ReplyResult, error) {
	items, err := c.store.AwaitingReply(ctx)
	if err != nil {
		return nil, err
	}
	var out []ReplyResult
	for _, it := range items {
		study := it.StudyUID
		series, err := cl.Search(ctx, "studies/"+study+"/series", url.Values{"00080060": {"SR"}, "includefield": {"0008103E"}})
		if err != nil {
			return out, err
		}
		seriesUID := ""
		for _, s := range series {
			if s.String("0008103E") == dicomstudy.ReplySeriesDescription {
				seriesUID = s.String("0020000E")
			}
		}
		if seriesUID == "" {
			continue
		}
		instances, err := cl.Search(ctx, "studies/"+study+"/series/"+seriesUID+"/instances", nil)
		if err != nil {
			return out, err
		}
		for _, inst := range instances {
			data, err := cl.Retrieve(ctx, study, seriesUID, inst.String("00080018"))
			if err != nil {
				return out, err
			}
			r, err := dicomstudy.ReadReply(data)
			if err != nil {
				log.Warn("hub: a reply could not be read", "study", study, "err", err)
				continue
			}
			if r.PatientID != it.PatientCode && !strings.HasSuffix(r.PatientID, "/"+it.PatientCode) {
				log.Warn("hub: a reply names another patient than the referral's; ignored", "study", study, "reply_patient", r.PatientID)
				continue
			}
			when := r.Answered
			if when.IsZero() || when.After(time.Now()) {
				when = time.Now()
			}
			summary := r.Specialist + ": " + r.Summary(it.Language)
			if utf8.RuneCountInString(summary) > 500 {
				summary = string([]rune(summary)[:499]) + "…"
			}
			if _, err := c.store.RecordOutcome(ctx, it.AssessmentID, storage.OutcomeSpecialist, summary, when.Local()); err != nil {
				return out, fmt.Errorf("recording the reply to assessment %d: %w", it.AssessmentID, err)
			}
			if err := c.store.MarkReplied(ctx, it.ID, when); err != nil {
				return out, err
			}
			out = append(out, ReplyResult{Assessment: it.AssessmentID, Patient: it.PatientCode, Summary: summary})
			break
		}
	}
	return out, c.store.SetLastReplyCheck(ctx, time.Now())
}

// InboxCase is one referral on the hub, for a specialist.
type InboxCase struct {
	StudyUID    string
	Patient     string // name as the hub has it
	PatientID   string
	Clinic      string
	Tier        string
	Referred    time.Time
	Replied     bool
	Description string
}

// Inbox lists the hub's referrals not yet answered: urgent first, then review, then the rest,
// the oldest first within each (a specialist's desk).
func (c *Clinic) Inbox(ctx context.Context, all bool) ([]InboxCase, error) {
	cl, _, err := c.hubClient(ctx)
	if err != nil {
		return nil, err
	}
	// Orthanc's wildcard matching fails on a pattern with spaces: a word, then the prefix
	// checked here.
	studies, err := cl.Search(ctx, "studies", url.Values{"StudyDescription": {"Dermal*"},
		"includefield": {"00081030", "00100021", "00080080"}})
	if err != nil {
		return nil, err
	}
	replied := map[string]bool{}
	series, err := replySeries(ctx, cl)
	if err != nil {
		return nil, err
	}
	for _, s := range series {
		replied[s.String("0020000D")] = true
	}
	var out []InboxCase
	for _, s := range studies {
		desc := s.String("00081030")
		if !strings.HasPrefix(desc, dicomstudy.StudyDescriptionPrefix) {
			continue
		}
		ic := InboxCase{StudyUID: s.String("0020000D"), Patient: strings.ReplaceAll(s.String("00100010"), "^", " "), PatientID: s.String("00100020"),
			Clinic: cmp.Or(s.String("00080080"), s.String("00100021")), Tier: strings.TrimPrefix(desc, dicomstudy.StudyDescriptionPrefix), Description: desc}
		ic.Referred, _ = time.Parse("20060102150405", s.String("00080020")+s.String("00080030"))
		ic.Replied = replied[ic.StudyUID]
		if ic.Replied && !all {
			continue
		}
		out = append(out, ic)
	}
	rank := map[string]int{"urgent": 0, "review": 1}
	sortInbox(out, func(t string) int {
		if r, ok := rank[t]; ok {
			return r
		}
		return 2
	})
	return out, nil
}

// ReplyRequest is a specialist's answer.
type ReplyRequest struct {
	StudyUID  string
	Diagnosis string
	Advice    string
	SeeWithin int    // days; 0: manage locally unless Biopsy
	Biopsy    bool   // refer for a biopsy
	Language  string // of the reply's page (en or vi)
}

// Reply stores a specialist's answer in the referral's study on the hub.
func (c *Clinic) Reply(ctx context.Context, req ReplyRequest) (string, error) {
	cl, _, err := c.hubClient(ctx)
	if err != nil {
		return "", err
	}
	studies, err := cl.Search(ctx, "studies", url.Values{"StudyInstanceUID": {req.StudyUID},
		"includefield": {"00081030", "00100021", "00080080", "00200010", "00100040"}})
	if err != nil {
		return "", err
	}
	if len(studies) == 0 {
		return "", fmt.Errorf("%w: study %s is not on the hub", ErrNotFound, req.StudyUID)
	}
	s := studies[0]
	who := "specialist"
	if u := c.CurrentUser(); u != nil {
		who = u.FullName
		if who == "" {
			who = u.Name
		}
	}
	plan := dicomstudy.PlanLocal
	switch {
	case req.Biopsy:
		plan = dicomstudy.PlanBiopsy
	case req.SeeWithin > 0:
		plan = dicomstudy.PlanSee
	}
	key := c.store.DataKey()
	if key == nil {
		return "", fmt.Errorf("%w: log in with a staff account to reply", storage.ErrLocked)
	}
	r := dicomstudy.Reply{UIDKey: key.Derive("dicom uids"), StudyUID: req.StudyUID, StudyDate: s.String("00080020"), StudyTime: s.String("00080030"),
		StudyID: s.String("00200010"), AccessionNumber: s.String("00080050"), PatientName: s.String("00100010"), PatientID: s.String("00100020"),
		Issuer: s.String("00100021"), PatientSex: s.String("00100040"), Institution: s.String("00080080"),
		Specialist: who, Answered: time.Now().UTC().Truncate(time.Second), Diagnosis: strings.TrimSpace(req.Diagnosis), Advice: strings.TrimSpace(req.Advice),
		Plan: plan, SeeWithin: req.SeeWithin, Program: "Dermal " + version.String()}
	o, err := r.Object()
	if err != nil {
		return "", err
	}
	// The reply also as a page any viewer opens, in the specialist's language.
	language := locale.Supported(req.Language)
	planWords, _, _ := strings.Cut(strings.TrimPrefix(r.Summary(language), r.Diagnosis+" — "), " — ")
	var page bytes.Buffer
	if err := report.RenderReply(&page, report.SpecialistReply{Language: language, Answered: r.Answered, Program: r.Program,
		Patient: strings.ReplaceAll(r.PatientName, "^", " "), PatientID: r.PatientID, Clinic: cmp.Or(r.Institution, r.Issuer), Specialist: r.Specialist,
		Diagnosis: r.Diagnosis, Plan: planWords, Advice: r.Advice}); err != nil {
		return "", err
	}
	pdf, err := r.PDFObject(page.Bytes())
	if err != nil {
		return "", err
	}
	for _, obj := range []dicomstudy.Object{o, pdf} {
		if err := cl.Store(ctx, req.StudyUID, obj.SOPInstance, obj.Parts()...); err != nil {
			return "", err
		}
	}
	return o.SOPInstance, nil
}

func sortInbox(cases []InboxCase, rank func(string) int) {
	slices.SortStableFunc(cases, func(a, b InboxCase) int {
		if d := rank(a.Tier) - rank(b.Tier); d != 0 {
			return d
		}
		return a.Referred.Compare(b.Referred)
	})
}

// replySeries are the hub's series of specialists' replies (their description checked here:
// Orthanc's matching of a value with spaces is not to be relied on).
func replySeries(ctx context.Context, cl *hub.Client) ([]hub.Dataset, error) {
	series, err := cl.Search(ctx, "series", url.Values{"00080060": {"SR"}, "includefield": {"0020000D", "0008103E"}})
	if err != nil {
		return nil, err
	}
	var out []hub.Dataset
	for _, s := range series {
		if s.String("0008103E") == dicomstudy.ReplySeriesDescription {
			out = append(out, s)
		}
	}
	return out, nil
}

// ResultItem is one item of a referral's result as the hub holds it.
type ResultItem = dicomstudy.Item

// CaseFiles are a referral's objects as a specialist sees them: the photo, the Grad-CAM map as
// the clinic saw it, the result's lines and the letter.
type CaseFiles struct {
	Photo    image.Image
	GradCAM  image.Image  // nil: the clinic could not make one (another model made the result)
	Result   []ResultItem // the triage result's content
	Letter   []byte       // PDF
	Reply    *dicomstudy.Reply
	ReplyPDF []byte
}

// InboxCase fetches a referral's study from the hub (WADO-RS, the photo as it was sent).
func (c *Clinic) InboxCase(ctx context.Context, studyUID string) (CaseFiles, error) {
	var cf CaseFiles
	cl, _, err := c.hubClient(ctx)
	if err != nil {
		return cf, err
	}
	instances, err := cl.Search(ctx, "studies/"+studyUID+"/instances", url.Values{"includefield": {"00080016", "0020000E", "0008103E"}})
	if err != nil {
		return cf, err
	}
	if len(instances) == 0 {
		return cf, fmt.Errorf("%w: study %s is not on the hub", ErrNotFound, studyUID)
	}
	for _, in := range instances {
		data, err := cl.Retrieve(ctx, studyUID, in.String("0020000E"), in.String("00080018"))
		if err != nil {
			return cf, err
		}
		if r, err := dicomstudy.ReadReply(data); err == nil {
			cf.Reply = &r
			continue
		}
		obj, err := dicomstudy.ReadObject(data)
		if err != nil {
			return cf, err
		}
		switch {
		case obj.GradCAM && obj.JPEG != nil:
			img, _, err := image.Decode(bytes.NewReader(obj.JPEG))
			if err != nil {
				return cf, fmt.Errorf("%w: the Grad-CAM map on the hub cannot be decoded: %v", ErrInvalid, err)
			}
			cf.GradCAM = img
		case obj.JPEG != nil:
			img, _, err := image.Decode(bytes.NewReader(obj.JPEG))
			if err != nil {
				return cf, fmt.Errorf("%w: the photo on the hub cannot be decoded: %v", ErrInvalid, err)
			}
			cf.Photo = img
		case obj.RGB != nil:
			img := image.NewNRGBA(image.Rect(0, 0, obj.Width, obj.Height))
			for i := 0; i+2 < len(obj.RGB) && i/3 < obj.Width*obj.Height; i += 3 {
				p := i / 3 * 4
				img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = obj.RGB[i], obj.RGB[i+1], obj.RGB[i+2], 255
			}
			cf.Photo = img
		case obj.Letter != nil && obj.Title == "Specialist's reply":
			cf.ReplyPDF = obj.Letter
		case obj.Letter != nil:
			cf.Letter = obj.Letter
		default:
			cf.Result = append(cf.Result, obj.Items...)
		}
	}
	return cf, nil
}

// HubSet reports whether a district hub is set.
func (c *Clinic) HubSet(ctx context.Context) bool {
	_, err := c.store.Hub(ctx)
	return err == nil
}
