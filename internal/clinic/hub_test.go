package clinic_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"net/http"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/disintegration/imaging"

	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
	"dermal/internal/dicomstudy"
	"dermal/internal/hub"
	"dermal/internal/hub/hubtest"
	"dermal/internal/inference"
	"dermal/internal/storage"
)

const hubUser, hubPassword = "clinic1", "clinic one password"

// hubClinic is a set-up clinic, logged in, with the hub at url set.
func hubClinic(t testing.TB, url string) *clinic.Clinic {
	t.Helper()
	ctx := context.Background()
	c := clinictest.New(t)
	if _, err := c.Setup(ctx, clinic.ClinicProfile{Name: "Trạm Y tế xã Đồng Tâm", Address: "Xã Đồng Tâm", Phone: "024 3384 1234"}, "admin", "Lê Văn An", "admin password 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, "admin", "admin password 1"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetHub(ctx, clinic.HubSettings{URL: url, User: hubUser, Password: hubPassword}); err != nil {
		t.Fatal(err)
	}
	return c
}

// referrals saves n assessments of consenting patients, each with a referral letter (which
// queues it), all of one photo analysed once.
func referrals(t testing.TB, c *clinic.Clinic, n int, photo *inference.Photo) []storage.AssessmentID {
	t.Helper()
	ctx := context.Background()
	an, err := c.Analyse(photo)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	now := time.Now()
	var ids []storage.AssessmentID
	for i := range n {
		pid, err := c.AddPatient(ctx, storage.Patient{Code: fmt.Sprintf("H-%04d", i), FullName: "Phạm Thị Hoa " + fmt.Sprint(i), Sex: "F", BirthYear: 1980,
			ConsentPhotos: &yes, ConsentReferral: &yes, ConsentAt: &now}, true)
		if err != nil {
			t.Fatal(err)
		}
		p := *photo
		res, err := c.Save(ctx, clinic.Visit{PatientID: pid, Site: "foot", Photo: &p, Analysis: an})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WriteReferral(ctx, clinic.ReferralRequest{AssessmentID: res.AssessmentID, To: "Khoa Da liễu tỉnh", Clinician: "Lê Văn An",
			Language: "vi", Printed: time.Now()}, filepath.Join(t.TempDir(), "letter.pdf")); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.AssessmentID)
	}
	return ids
}

// instancesOnHub counts the instances the hub holds (Orthanc's REST API).
func instancesOnHub(t testing.TB, h *hubtest.Hub) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.REST()+"instances", nil)
	req.SetBasicAuth(hubUser, hubPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ids []string
	if err := json.NewDecoder(resp.Body).Decode(&ids); err != nil {
		t.Fatal(err)
	}
	return len(ids)
}

// cutProxy forwards connections to the hub, and while cut is set closes each after that many
// bytes of the request: a connection lost in the middle of an instance.
type cutProxy struct {
	addr string
	cut  atomic.Int64
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	p := &cutProxy{}
	p.addr = hubtest.Proxy(t, target, func(server io.Writer) io.Writer {
		if n := p.cut.Load(); n > 0 {
			return &cutWriter{w: server, left: n}
		}
		return server
	})
	return p
}

// cutWriter passes on its first left bytes, then fails.
type cutWriter struct {
	w    io.Writer
	left int64
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.ErrClosedPipe
	}
	if int64(len(b)) > c.left {
		n, _ := c.w.Write(b[:c.left])
		c.left = 0
		return n, io.ErrClosedPipe
	}
	n, err := c.w.Write(b)
	c.left -= int64(n)
	return n, err
}

// A connection cut in the middle of an instance leaves the referral queued with what the hub
// acknowledged; the next sync sends the rest, and the hub holds each instance once.
func TestSyncResumesAfterACutConnection(t *testing.T) {
	h := hubtest.ForTest(t, map[string]string{hubUser: hubPassword})
	proxy := newCutProxy(t, fmt.Sprintf("127.0.0.1:%d", h.Port))
	c := hubClinic(t, fmt.Sprintf("http://%s/dicom-web/", proxy.addr))
	ids := referrals(t, c, 2, clinictest.Photo(t, "ISIC_0024311.png"))
	ctx := context.Background()
	proxy.cut.Store(20 << 10) // 20 kB into each request: inside the first photo
	res, err := c.SyncHub(ctx, false, nil)
	if err == nil || res.Sent != 0 || len(res.Failed) != 2 {
		t.Fatalf("sync through a cut connection: %+v %v", res, err)
	}
	// The first referral failed; the second waited (the hub could not be reached).
	st, _ := c.HubStatus(ctx)
	if len(st.Failing) != 1 || st.Queued != 1 || st.Failing[0].LastError == "" {
		t.Errorf("status after the cut: %+v", st)
	}
	proxy.cut.Store(0)
	res, err = c.SyncHub(ctx, false, nil)
	if err != nil || res.Sent != 2 || res.Instances != 2*perReferral {
		t.Fatalf("sync after the cut: %+v %v", res, err)
	}
	if n := instancesOnHub(t, h); n != perReferral*len(ids) {
		t.Errorf("the hub holds %d instances; want %d, each once", n, perReferral*len(ids))
	}
}

// perReferral is how many instances a referral's study holds here: the photo, the letter, the
// result, and the Grad-CAM map (the test model makes one).
const perReferral = 4

// Many referrals queued while the hub was away all go in one sync, each whole, each once.
func TestManyQueuedReferrals(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 20
	}
	h := hubtest.ForTest(t, map[string]string{hubUser: hubPassword})
	c := hubClinic(t, h.URL())
	referrals(t, c, n, clinictest.Photo(t, "ISIC_0024311.png"))
	start := time.Now()
	res, err := c.SyncHub(context.Background(), false, nil)
	if err != nil || res.Sent != n || res.Instances != perReferral*n {
		t.Fatalf("sync of %d queued referrals: %+v %v", n, res, err)
	}
	t.Logf("%d referrals (%d instances) sent in %.1f s", n, res.Instances, time.Since(start).Seconds())
	if got := instancesOnHub(t, h); got != perReferral*n {
		t.Errorf("the hub holds %d instances; want %d", got, perReferral*n)
	}
}

// countingProxy forwards connections to the hub and counts the bytes sent to it.
type countingProxy struct {
	addr string
	sent atomic.Int64
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	p := &countingProxy{}
	p.addr = hubtest.Proxy(t, target, func(server io.Writer) io.Writer { return countingWriter{server, &p.sent} })
	return p
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// Two referrals of 12 MP phone photos reach the hub with bytes on the wire within 1.1× the
// photos and letters (the JPEGs travel as they are: DICOM and HTTP add headers of a few kB).
// Their time is logged (a benchmark figure, not a test).
func TestTwelveMegapixelReferrals(t *testing.T) {
	h := hubtest.ForTest(t, map[string]string{hubUser: hubPassword})
	proxy := newCountingProxy(t, fmt.Sprintf("127.0.0.1:%d", h.Port))
	c := hubClinic(t, fmt.Sprintf("http://%s/dicom-web/", proxy.addr))
	big := filepath.Join(t.TempDir(), "phone.jpg")
	img, err := imaging.Open(clinictest.Fixture("ISIC_0024311.png"))
	if err != nil {
		t.Fatal(err)
	}
	// Sensor grain, so that the JPEG is as large as a phone's (an upscaled photo alone
	// compresses to a tenth of that).
	phone := imaging.Resize(img, 4000, 3000, imaging.Linear)
	rng := rand.New(rand.NewSource(1))
	for i := range phone.Pix {
		if i%4 != 3 {
			phone.Pix[i] = byte(max(0, min(255, int(phone.Pix[i])+rng.Intn(17)-8)))
		}
	}
	if err := imaging.Save(phone, big, imaging.JPEGQuality(92)); err != nil {
		t.Fatal(err)
	}
	photo, err := c.ReadPhoto(big)
	if err != nil {
		t.Fatal(err)
	}
	ids := referrals(t, c, 2, photo)
	ctx := context.Background()
	var payload int64
	for _, id := range ids {
		st, err := c.ReferralStudy(ctx, id, "vi")
		if err != nil {
			t.Fatal(err)
		}
		payload += int64(len(st.Photo) + len(st.Letter))
	}
	// What sending holds in memory: the Go heap's live objects, sampled while it runs, above
	// where they were before.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			metrics.Read(samples)
			if v := samples[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
		}
	}()
	start := time.Now()
	res, err := c.SyncHub(ctx, false, nil)
	took := time.Since(start)
	close(stop)
	<-sampled
	if err != nil || res.Sent != 2 {
		t.Fatalf("sync: %+v %v", res, err)
	}
	wire := proxy.sent.Load()
	t.Logf("two referrals of a 12 MP JPEG (%d kB each): sent in %.2f s; %d kB on the wire for %d kB of photos and letters (%.3f×); Go heap during the sync at most %d MB above before",
		len(photo.Bytes)>>10, took.Seconds(), wire>>10, payload>>10, float64(wire)/float64(payload), (int64(peak.Load())-int64(base))>>20)
	if float64(wire) > 1.1*float64(payload) {
		t.Errorf("%d bytes on the wire for %d bytes of photos and letters: more than 1.1×", wire, payload)
	}
}

// Replies find their own clinic only: a clinic whose referral was answered gets the reply; a
// second clinic on the same hub, which did not send that study, never asks about it and
// records nothing.
func TestReplyReachesOnlyItsClinic(t *testing.T) {
	h := hubtest.ForTest(t, map[string]string{hubUser: hubPassword})
	ctx := context.Background()
	a := hubClinic(t, h.URL())
	ids := referrals(t, a, 1, clinictest.Photo(t, "ISIC_0024311.png"))
	if res, err := a.SyncHub(ctx, false, nil); err != nil || res.Sent != 1 {
		t.Fatalf("clinic A's sync: %+v %v", res, err)
	}
	b := hubClinic(t, h.URL())
	referrals(t, b, 1, clinictest.Photo(t, "ISIC_0024367.png"))
	if res, err := b.SyncHub(ctx, false, nil); err != nil || res.Sent != 1 {
		t.Fatalf("clinic B's sync: %+v %v", res, err)
	}
	spec := hubClinic(t, h.URL())
	st, err := a.ReferralStudy(ctx, ids[0], "vi")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spec.Reply(ctx, clinic.ReplyRequest{StudyUID: st.UID("study"), Diagnosis: "Dày sừng tiết bã", Language: "vi"}); err != nil {
		t.Fatal(err)
	}
	res, err := b.SyncHub(ctx, false, nil)
	if err != nil || len(res.Replies) != 0 {
		t.Fatalf("clinic B took a reply to clinic A's study: %+v %v", res, err)
	}
	res, err = a.SyncHub(ctx, false, nil)
	if err != nil || len(res.Replies) != 1 || res.Replies[0].Assessment != ids[0] {
		t.Fatalf("clinic A's reply: %+v %v", res, err)
	}
}

// A reply in the clinic's own study that names another patient than the referral's is ignored
// with a log line: never recorded as anyone's outcome.
func TestReplyNamingAnotherPatientIsIgnored(t *testing.T) {
	h := hubtest.ForTest(t, map[string]string{hubUser: hubPassword})
	ctx := context.Background()
	c := hubClinic(t, h.URL())
	ids := referrals(t, c, 1, clinictest.Photo(t, "ISIC_0024311.png"))
	if res, err := c.SyncHub(ctx, false, nil); err != nil || res.Sent != 1 {
		t.Fatalf("sync: %+v %v", res, err)
	}
	st, err := c.ReferralStudy(ctx, ids[0], "vi")
	if err != nil {
		t.Fatal(err)
	}
	r := dicomstudy.Reply{UIDKey: []byte("a specialist's key of 32 bytes.."), StudyUID: st.UID("study"), PatientID: clinic.HubPatientID(hubUser, "H-9999"),
		PatientName: "Someone^Else", Issuer: hubUser, Specialist: "BS. Lan", Answered: time.Now(), Diagnosis: "Nốt ruồi", Plan: dicomstudy.PlanLocal, Program: "test"}
	o, err := r.Object()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := hub.New(h.URL(), hubUser, hubPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Store(ctx, r.StudyUID, o.SOPInstance, o.Parts()...); err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	res, err := c.SyncHub(ctx, false, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil || len(res.Replies) != 0 {
		t.Fatalf("a reply naming another patient was recorded: %+v %v", res, err)
	}
	if !strings.Contains(logged.String(), "names another patient") {
		t.Errorf("no log line for the ignored reply: %s", logged.String())
	}
	if rs, err := c.Referrals(ctx, ids[0]); err != nil || len(rs) != 1 || rs[0].HasOutcome() {
		t.Errorf("the referral's outcome: %+v %v", rs, err)
	}
}
