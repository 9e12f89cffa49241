// Tests of the district hub as `hub` sets it up (Orthanc + DICOMweb on a PostgreSQL index,
// nginx as the TLS proxy, the Lua filter): Dermal clinics and a specialist through HTTPS, every
// route one clinic could try against another's study, TLS refusals, and backup and restore.
// They run where Debian's engines are installed (make test installs them).
package hub_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
	"dermal/internal/dicomstudy"
	"dermal/internal/hub"
	"dermal/internal/hub/hubtest"
	"dermal/internal/storage"
	"dermal/internal/testtool"
)

// districtHub is a hub made by the script in a folder of the test's.
type districtHub struct {
	dir, url, ca, admin string
	port                int
	passwords           map[string]string
}

// script runs the hub script.
func script(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("./hub", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("hub %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// freePort is a port nothing listens on now, with the next three free too (the nodes').
func freePort(t testing.TB) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		free := p < 60000
		for i := 1; i <= 3 && free; i++ {
			if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+i)); err != nil {
				free = false
			} else {
				l.Close()
			}
		}
		if free {
			return p
		}
	}
	t.Fatal("no four free ports in a row")
	return 0
}

// newHub makes and starts a hub with clinic-a, clinic-b, a specialist and the clinics named;
// it stops with the test.
func newHub(t *testing.T, nodes int, clinics ...string) *districtHub {
	t.Helper()
	testtool.Need(t, "Orthanc", "nginx", "openssl", "curl")
	pg, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	for _, f := range []string{"/usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so", "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"} {
		if _, err := os.Stat(f); err != nil || len(pg) == 0 {
			if testtool.Required() {
				t.Fatalf("%s or PostgreSQL missing: make test installs them (scripts/deps.sh --test)", f)
			}
			t.Skip("orthanc-postgresql, orthanc-dicomweb or postgresql not installed: make test installs them")
		}
	}
	// A folder the postgres user can reach when the test runs as root (t.TempDir's parents
	// are private).
	dir, err := os.MkdirTemp("", "dermal-hub-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o711)
	h := &districtHub{dir: filepath.Join(dir, "hub"), port: freePort(t), passwords: map[string]string{}}
	script(t, "init", h.dir, "--port", fmt.Sprint(h.port), "--nodes", fmt.Sprint(nodes))
	t.Cleanup(func() {
		exec.Command("./hub", "stop", h.dir).Run()
		if !t.Failed() {
			os.RemoveAll(dir)
		}
	})
	logins := []struct{ role, name string }{{"clinic", "clinic-a"}, {"clinic", "clinic-b"}, {"specialist", "spec"}}
	for _, c := range clinics {
		logins = append(logins, struct{ role, name string }{"clinic", c})
	}
	for _, l := range logins {
		h.passwords[l.name] = "pw-" + l.name + "-0123456789"
		f := filepath.Join(dir, l.name+".pw")
		os.WriteFile(f, []byte(h.passwords[l.name]+"\n"), 0o600)
		script(t, "add-"+l.role, h.dir, l.name, "--password-file", f)
	}
	script(t, "start", h.dir)
	h.url = script(t, "url", h.dir)
	ca, err := os.ReadFile(filepath.Join(h.dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := os.ReadFile(filepath.Join(h.dir, "admin-password"))
	h.ca, h.admin = string(ca), strings.TrimSpace(string(admin))
	return h
}

// client is an HTTPS client that trusts the hub's CA.
func (h *districtHub) client() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(h.ca))
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: time.Minute}
}

// call makes one request as a login and returns the status and body.
func (h *districtHub) call(t testing.TB, user, method, path string, body []byte, contentType string) (int, []byte) {
	t.Helper()
	base := strings.TrimSuffix(h.url, "/dicom-web/")
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	pw := h.passwords[user]
	if user == "hub-admin" {
		pw = h.admin
	}
	req.SetBasicAuth(user, pw)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "*/*")
	resp, err := h.client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// adminJSON is a REST answer to the hub's maintenance login.
func (h *districtHub) adminJSON(t testing.TB, method, path string, body string, v any) {
	t.Helper()
	code, b := h.call(t, "hub-admin", method, path, []byte(body), "")
	if code != http.StatusOK {
		t.Fatalf("admin %s %s: HTTP %d %s", method, path, code, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("admin %s %s: %v", method, path, err)
	}
}

// instances counts the instances on the hub.
func (h *districtHub) instances(t testing.TB) int {
	var ids []string
	h.adminJSON(t, "GET", "/instances", "", &ids)
	return len(ids)
}

// dermalClinic is a set-up Dermal clinic, logged in, with the hub set as login.
func dermalClinic(t *testing.T, h *districtHub, login, ca string) *clinic.Clinic {
	t.Helper()
	ctx := context.Background()
	c := clinictest.New(t)
	if _, err := c.Setup(ctx, clinic.ClinicProfile{Name: "Trạm Y tế " + login, Address: "Xã Đồng Tâm", Phone: "024 3384 1234"}, "admin", "Lê Văn An", "admin password 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, "admin", "admin password 1"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetHub(ctx, clinic.HubSettings{URL: h.url, User: login, Password: h.passwords[login], CACert: ca}); err != nil {
		t.Fatal(err)
	}
	return c
}

// refer saves an assessment of a consenting patient with a referral letter (which queues it).
func refer(t *testing.T, c *clinic.Clinic, code string) storage.AssessmentID {
	t.Helper()
	ctx := context.Background()
	photo := clinictest.Photo(t, "ISIC_0024311.png")
	an, err := c.Analyse(photo)
	if err != nil {
		t.Fatal(err)
	}
	yes, now := true, time.Now()
	pid, err := c.AddPatient(ctx, storage.Patient{Code: code, FullName: "Phạm Thị Hoa", Sex: "F", BirthYear: 1980,
		ConsentPhotos: &yes, ConsentReferral: &yes, ConsentAt: &now}, true)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Save(ctx, clinic.Visit{PatientID: pid, Site: "foot", Photo: photo, Analysis: an})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteReferral(ctx, clinic.ReferralRequest{AssessmentID: res.AssessmentID, To: "Khoa Da liễu tỉnh", Clinician: "Lê Văn An",
		Language: "vi", Printed: now}, filepath.Join(t.TempDir(), "letter.pdf")); err != nil {
		t.Fatal(err)
	}
	return res.AssessmentID
}

// Two clinics and a specialist on one hub: each clinic's referral arrives, the specialist sees
// both, the reply reaches only its clinic, and clinic B's password opens none of clinic A's
// study by any route (every DICOMweb and REST route tried, listed below).
func TestClinicsApart(t *testing.T) {
	h := newHub(t, 1)
	ctx := context.Background()
	a := dermalClinic(t, h, "clinic-a", h.ca)
	b := dermalClinic(t, h, "clinic-b", h.ca)
	idA := refer(t, a, "BN-0142")
	refer(t, b, "BN-0142") // the same code at another clinic: another patient
	for name, c := range map[string]*clinic.Clinic{"A": a, "B": b} {
		if res, err := c.SyncHub(ctx, false, nil); err != nil || res.Sent != 1 {
			t.Fatalf("clinic %s's sync: %+v %v", name, res, err)
		}
	}
	spec := dermalClinic(t, h, "spec", h.ca)
	inbox, err := spec.Inbox(ctx, false)
	if err != nil || len(inbox) != 2 {
		t.Fatalf("the specialist's inbox: %+v %v", inbox, err)
	}
	var patients []string
	for _, c := range inbox {
		patients = append(patients, c.PatientID)
	}
	if !strings.Contains(strings.Join(patients, " "), "clinic-a/BN-0142") || !strings.Contains(strings.Join(patients, " "), "clinic-b/BN-0142") {
		t.Errorf("the inbox does not keep the two clinics' BN-0142 apart: %v", patients)
	}
	st, err := a.ReferralStudy(ctx, idA, "vi")
	if err != nil {
		t.Fatal(err)
	}
	studyA := st.UID("study")
	if _, err := spec.Reply(ctx, clinic.ReplyRequest{StudyUID: studyA, Diagnosis: "Dày sừng tiết bã", Language: "vi"}); err != nil {
		t.Fatalf("the specialist's reply: %v", err)
	}
	if res, err := b.SyncHub(ctx, false, nil); err != nil || len(res.Replies) != 0 {
		t.Fatalf("clinic B: %+v %v", res, err)
	}
	if res, err := a.SyncHub(ctx, false, nil); err != nil || len(res.Replies) != 1 {
		t.Fatalf("clinic A's reply: %+v %v", res, err)
	}

	// What clinic B could aim at: clinic A's study, series and instance, by UID and by
	// Orthanc id.
	var series []map[string]any
	h.adminJSON(t, "GET", "/studies/"+orthancID(t, h, studyA)+"/series", "", &series)
	seriesA := series[0]["MainDicomTags"].(map[string]any)["SeriesInstanceUID"].(string)
	var inst []map[string]any
	h.adminJSON(t, "GET", "/series/"+series[0]["ID"].(string)+"/instances", "", &inst)
	instA := inst[0]["MainDicomTags"].(map[string]any)["SOPInstanceUID"].(string)
	oStudy, oSeries, oInst := orthancID(t, h, studyA), series[0]["ID"].(string), inst[0]["ID"].(string)
	var study map[string]any
	h.adminJSON(t, "GET", "/studies/"+oStudy, "", &study)
	oPatient := study["ParentPatient"].(string)
	_, fileA := h.call(t, "hub-admin", "GET", "/instances/"+oInst+"/file", nil, "")
	before := h.instances(t)

	stow := func(f []byte) ([]byte, string) {
		body := append([]byte("--XX\r\nContent-Type: application/dicom\r\n\r\n"), f...)
		return append(body, []byte("\r\n--XX--\r\n")...), `multipart/related; type="application/dicom"; boundary=XX`
	}
	body, ct := stow(fileA)
	dw := "/dicom-web/studies/" + studyA
	routes := []struct {
		method, path string
		body         []byte
		ct           string
	}{
		// DICOMweb: QIDO, WADO-RS, WADO-URI, STOW-RS, and what the plugin adds.
		{"GET", "/dicom-web/studies", nil, ""},
		{"GET", "/dicom-web/studies?StudyInstanceUID=" + studyA, nil, ""},
		{"GET", "/dicom-web/studies?PatientID=clinic-a*", nil, ""},
		{"GET", "/dicom-web/series", nil, ""},
		{"GET", "/dicom-web/series?0020000D=" + studyA, nil, ""},
		{"GET", "/dicom-web/instances", nil, ""},
		{"GET", "/dicom-web/instances?0020000D=" + studyA, nil, ""},
		{"GET", dw, nil, ""},
		{"GET", dw + "/metadata", nil, ""},
		{"GET", dw + "/rendered", nil, ""},
		{"GET", dw + "/series", nil, ""},
		{"GET", dw + "/instances", nil, ""},
		{"GET", dw + "/series/" + seriesA, nil, ""},
		{"GET", dw + "/series/" + seriesA + "/metadata", nil, ""},
		{"GET", dw + "/series/" + seriesA + "/instances", nil, ""},
		{"GET", dw + "/series/" + seriesA + "/rendered", nil, ""},
		{"GET", dw + "/series/" + seriesA + "/instances/" + instA, nil, ""},
		{"GET", dw + "/series/" + seriesA + "/instances/" + instA + "/metadata", nil, ""},
		{"GET", dw + "/series/" + seriesA + "/instances/" + instA + "/frames/1", nil, ""},
		{"GET", dw + "/series/" + seriesA + "/instances/" + instA + "/rendered", nil, ""},
		{"GET", dw + "/series/" + seriesA + "/instances/" + instA + "/bulk/7fe00010", nil, ""},
		{"GET", "/dicom-web/studies/2.25.1/../" + studyA, nil, ""},
		{"GET", "/dicom-web/studies/" + studyA + "%2F", nil, ""},
		{"GET", "/dicom-web/servers", nil, ""},
		{"GET", "/dicom-web/info", nil, ""},
		{"GET", "/wado?requestType=WADO&studyUID=" + studyA + "&seriesUID=" + seriesA + "&objectUID=" + instA, nil, ""},
		{"POST", "/dicom-web/studies", body, ct},
		{"POST", dw, body, ct}, // an instance into clinic A's study (here: one of its own, again)
		{"DELETE", dw, nil, ""},
		// Orthanc's REST API.
		{"GET", "/", nil, ""},
		{"GET", "/app/explorer.html", nil, ""},
		{"GET", "/ui/app/", nil, ""},
		{"GET", "/system", nil, ""},
		{"GET", "/statistics", nil, ""},
		{"GET", "/changes", nil, ""},
		{"GET", "/changes?since=0&limit=100", nil, ""},
		{"GET", "/exports", nil, ""},
		{"GET", "/patients", nil, ""},
		{"GET", "/studies", nil, ""},
		{"GET", "/series", nil, ""},
		{"GET", "/instances", nil, ""},
		{"GET", "/patients/" + oPatient, nil, ""},
		{"GET", "/patients/" + oPatient + "/archive", nil, ""},
		{"GET", "/studies/" + oStudy, nil, ""},
		{"GET", "/studies/" + oStudy + "/archive", nil, ""},
		{"GET", "/studies/" + oStudy + "/media", nil, ""},
		{"GET", "/series/" + oSeries, nil, ""},
		{"GET", "/instances/" + oInst, nil, ""},
		{"GET", "/instances/" + oInst + "/file", nil, ""},
		{"GET", "/instances/" + oInst + "/tags", nil, ""},
		{"GET", "/instances/" + oInst + "/simplified-tags", nil, ""},
		{"GET", "/instances/" + oInst + "/preview", nil, ""},
		{"GET", "/instances/" + oInst + "/content/0010-0010", nil, ""},
		{"GET", "/plugins", nil, ""},
		{"GET", "/jobs", nil, ""},
		{"GET", "/modalities", nil, ""},
		{"GET", "/peers", nil, ""},
		{"GET", "/tools/now", nil, ""},
		{"POST", "/tools/find", []byte(`{"Level":"Study","Query":{},"Expand":true}`), "application/json"},
		{"POST", "/tools/lookup", []byte(studyA), "text/plain"},
		{"POST", "/tools/execute-script", []byte(`print(1)`), "text/plain"},
		{"POST", "/instances", fileA, "application/dicom"},
		{"POST", "/studies/" + oStudy + "/modify", []byte(`{"Replace":{"PatientName":"X"}}`), "application/json"},
		{"POST", "/studies/" + oStudy + "/anonymize", []byte(`{}`), "application/json"},
		{"POST", "/studies/" + oStudy + "/archive", []byte(`{}`), "application/json"},
		{"PUT", "/studies/" + oStudy + "/metadata/1024", []byte("x"), "text/plain"},
		{"PUT", "/tools/log-level", []byte("verbose"), "text/plain"},
		{"DELETE", "/studies/" + oStudy, nil, ""},
		{"DELETE", "/patients/" + oPatient, nil, ""},
		{"DELETE", "/instances/" + oInst, nil, ""},
		{"DELETE", "/changes", nil, ""},
	}
	for _, r := range routes {
		code, got := h.call(t, "clinic-b", r.method, r.path, r.body, r.ct)
		if code != http.StatusForbidden && code != http.StatusUnauthorized && code != http.StatusNotFound {
			t.Errorf("clinic B: %s %s → HTTP %d (want a refusal) %.200s", r.method, r.path, code, got)
		}
		if code == http.StatusNotFound && (bytes.Contains(got, []byte(studyA)) || bytes.Contains(got, []byte("clinic-a"))) {
			t.Errorf("clinic B: %s %s → HTTP 404 naming clinic A's study: %.200s", r.method, r.path, got)
		}
	}
	t.Logf("%d routes tried with clinic B's password against clinic A's study: all refused", len(routes))
	// Clinic B's own study URL with clinic A's instance: the study UID does not match, refused.
	if code, got := h.call(t, "clinic-b", "POST", "/dicom-web/studies/2.25.1", body, ct); code == http.StatusOK {
		t.Errorf("clinic B stored clinic A's instance under another study's URL: %.300s", got)
	}
	// Clinic B's own study, asked with clinic A's study UID as a search key: nothing of A's.
	if _, got := h.call(t, "clinic-b", "GET", "/dicom-web/studies/2.25.1/series?StudyInstanceUID="+studyA, nil, ""); bytes.Contains(got, []byte(studyA)) {
		t.Errorf("clinic B's own-study search returned clinic A's study: %.300s", got)
	}
	// The specialist reads everything over DICOMweb but deletes nothing and has no REST API.
	if code, _ := h.call(t, "spec", "GET", dw+"/metadata", nil, ""); code != http.StatusOK {
		t.Errorf("the specialist cannot read clinic A's study: HTTP %d", code)
	}
	for _, r := range []struct{ method, path string }{{"DELETE", dw}, {"DELETE", "/studies/" + oStudy}, {"GET", "/changes"}, {"GET", "/instances/" + oInst + "/file"}} {
		if code, _ := h.call(t, "spec", r.method, r.path, nil, ""); code != http.StatusForbidden {
			t.Errorf("the specialist: %s %s → HTTP %d, want 403", r.method, r.path, code)
		}
	}
	// Clinic A still reads its own study; nothing was added, changed or deleted.
	if code, _ := h.call(t, "clinic-a", "GET", dw+"/series", nil, ""); code != http.StatusOK {
		t.Errorf("clinic A cannot read its own study: HTTP %d", code)
	}
	if after := h.instances(t); after != before {
		t.Errorf("the hub held %d instances before clinic B's tries and %d after", before, after)
	}

	// A new study of clinic B's in clinic A's name is refused; the same in its own name is
	// stored (the refusal is the name's), and the maintenance login stores what it must.
	for _, c := range []struct {
		login, patient string
		stored         bool
	}{{"clinic-b", "clinic-a/BN-9999", false}, {"clinic-b", "clinic-b/BN-9999", true}, {"hub-admin", "clinic-a/BN-8888", true}} {
		photo, err := os.ReadFile(clinictest.Fixture("ISIC_0024311.png"))
		if err != nil {
			t.Fatal(err)
		}
		st := dicomstudy.Study{UIDKey: []byte(c.patient + " key of 32 bytes, at least"), ReferralID: 1, AssessmentID: 1, LesionID: 1,
			Patient: dicomstudy.Patient{ID: c.patient, Issuer: "clinic-b", Name: "Giả Mạo"}, Institution: "Trạm Y tế clinic-b",
			Referred: time.Now(), Taken: time.Now(), Photo: photo, Tier: "routine", Program: "test",
			Letter: []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")}
		objs, err := st.Objects()
		if err != nil {
			t.Fatal(err)
		}
		pw := h.passwords[c.login]
		if c.login == "hub-admin" {
			pw = h.admin // the maintenance login stores anything, over DICOMweb too
		}
		cl, err := hub.New(h.url, c.login, pw, h.ca)
		if err != nil {
			t.Fatal(err)
		}
		// Orthanc drops an instance its filter refuses while the DICOMweb plugin still answers
		// success: what counts is what the hub holds.
		if err := cl.Store(ctx, st.UID("study"), objs[0].SOPInstance, objs[0].Parts()...); err != nil && c.stored {
			t.Errorf("%s storing a new study of patient %s: %v", c.login, c.patient, err)
		}
		var found []map[string]any
		h.adminJSON(t, "POST", "/tools/lookup", st.UID("study"), &found)
		if (len(found) == 1) != c.stored {
			t.Errorf("%s stored a new study of patient %s: on the hub %v, want %v", c.login, c.patient, len(found) == 1, c.stored)
		}
	}
	if after := h.instances(t); after != before+2 {
		t.Errorf("the hub holds %d instances; want %d (clinic B's study in its own name and the maintenance login's added)", after, before+2)
	}
}

// orthancID is a study's Orthanc id.
func orthancID(t testing.TB, h *districtHub, studyUID string) string {
	var found []map[string]any
	h.adminJSON(t, "POST", "/tools/lookup", studyUID, &found)
	if len(found) != 1 {
		t.Fatalf("study %s on the hub: %v", studyUID, found)
	}
	return found[0]["ID"].(string)
}

// recorder forwards connections to addr and keeps every byte the client sent.
type recorder struct {
	port int
	mu   sync.Mutex
	sent bytes.Buffer
}

func newRecorder(t *testing.T, addr string) *recorder {
	r := &recorder{}
	_, port, _ := net.SplitHostPort(hubtest.Proxy(t, addr, func(server io.Writer) io.Writer { return io.MultiWriter(server, r) }))
	r.port, _ = strconv.Atoi(port)
	return r
}

func (r *recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent.Write(b)
}

// holds reports whether the recorded bytes hold the password, plain or as HTTP Basic.
func (r *recorder) holds(user, password string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	return bytes.Contains(r.sent.Bytes(), []byte(password)) || bytes.Contains(r.sent.Bytes(), []byte(basic))
}

// TLS: a referral through the proxy carries no password readable on the wire; a server with
// another authority's certificate, an expired one or another host's is refused before any
// request is sent; plain HTTP to another computer is refused outright.
func TestTLS(t *testing.T) {
	h := newHub(t, 1)
	ctx := context.Background()
	rec := newRecorder(t, fmt.Sprintf("127.0.0.1:%d", h.port))
	a := dermalClinic(t, h, "clinic-a", h.ca)
	// The proxy's certificate names 127.0.0.1 and localhost: go through the recorder as localhost.
	if err := a.SetHub(ctx, clinic.HubSettings{URL: fmt.Sprintf("https://localhost:%d/dicom-web/", rec.port),
		User: "clinic-a", Password: h.passwords["clinic-a"], CACert: h.ca}); err != nil {
		t.Fatal(err)
	}
	refer(t, a, "BN-1")
	if res, err := a.SyncHub(ctx, false, nil); err != nil || res.Sent != 1 {
		t.Fatalf("sync through the recorder: %+v %v", res, err)
	}
	rec.mu.Lock()
	seen := rec.sent.Len()
	rec.mu.Unlock()
	if seen < 10000 {
		t.Fatalf("the recorder saw %d bytes: the referral did not go through it", seen)
	}
	if rec.holds("clinic-a", h.passwords["clinic-a"]) {
		t.Error("the password crossed the wire readable")
	}

	// Servers whose certificates must be refused, each counting the requests that reached it.
	caKey := loadKey(t, filepath.Join(h.dir, "tls", "ca.key"))
	caCert := loadCert(t, h.ca)
	otherCA, otherKey := newCA(t)
	cases := []struct {
		name             string
		signer           *x509.Certificate
		signerKey        any
		hosts            []string
		notBefore, after time.Time
	}{
		{"another authority's certificate", otherCA, otherKey, []string{"127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour)},
		{"an expired certificate", caCert, caKey, []string{"127.0.0.1"}, time.Now().Add(-48 * time.Hour), time.Now().Add(-24 * time.Hour)},
		{"another host's certificate", caCert, caKey, []string{"hub.other-district.example"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour)},
	}
	for _, tc := range cases {
		var requests int
		var mu sync.Mutex
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			requests++
			mu.Unlock()
			w.WriteHeader(http.StatusOK)
		}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{leaf(t, tc.signer, tc.signerKey, tc.hosts, tc.notBefore, tc.after)}}}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.ServeTLS(ln, "", "")
		srec := newRecorder(t, ln.Addr().String())
		url := fmt.Sprintf("https://127.0.0.1:%d/dicom-web/", srec.port)
		cl, err := hub.New(url, "clinic-a", h.passwords["clinic-a"], h.ca)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cl.Search(ctx, "studies/2.25.1/series", nil)
		if !errors.Is(err, hub.ErrCertificate) {
			t.Errorf("%s: %v, want the certificate refused", tc.name, err)
		}
		mu.Lock()
		if requests != 0 || srec.holds("clinic-a", h.passwords["clinic-a"]) {
			t.Errorf("%s: %d requests reached the server (the password with them)", tc.name, requests)
		}
		mu.Unlock()
		srv.Close()
	}
	if _, err := hub.New("http://192.0.2.10/dicom-web/", "clinic-a", "pw", ""); !errors.Is(err, hub.ErrURL) {
		t.Errorf("plain HTTP to another computer: %v, want refused", err)
	}
}

// Backup while the hub runs, restore into a new folder: the restored hub serves every instance,
// byte for byte.
func TestBackupAndRestore(t *testing.T) {
	h := newHub(t, 1)
	ctx := context.Background()
	a := dermalClinic(t, h, "clinic-a", h.ca)
	refer(t, a, "BN-1")
	refer(t, a, "BN-2")
	if res, err := a.SyncHub(ctx, false, nil); err != nil || res.Sent != 2 {
		t.Fatalf("sync: %+v %v", res, err)
	}
	var ids []string
	h.adminJSON(t, "GET", "/instances", "", &ids)
	files := map[string][]byte{}
	for _, id := range ids {
		_, files[id] = h.call(t, "hub-admin", "GET", "/instances/"+id+"/file", nil, "")
	}
	backup := filepath.Join(filepath.Dir(h.dir), "backup")
	script(t, "backup", h.dir, backup)

	r := &districtHub{dir: filepath.Join(filepath.Dir(h.dir), "restored"), port: freePort(t), passwords: h.passwords, ca: h.ca, admin: h.admin}
	script(t, "restore", backup, r.dir, "--port", fmt.Sprint(r.port))
	t.Cleanup(func() { exec.Command("./hub", "stop", r.dir).Run() })
	script(t, "start", r.dir)
	r.url = script(t, "url", r.dir)
	var got []string
	r.adminJSON(t, "GET", "/instances", "", &got)
	if len(got) != len(ids) {
		t.Fatalf("the restored hub holds %d instances, the backed-up one %d", len(got), len(ids))
	}
	for id, want := range files {
		if _, b := r.call(t, "hub-admin", "GET", "/instances/"+id+"/file", nil, ""); !bytes.Equal(b, want) {
			t.Errorf("instance %s differs after restore", id)
		}
	}
	// The clinic goes on with the restored hub: a reply there reaches it.
	spec := dermalClinic(t, r, "spec", r.ca)
	inbox, err := spec.Inbox(ctx, false)
	if err != nil || len(inbox) != 2 {
		t.Fatalf("the restored hub's inbox: %+v %v", inbox, err)
	}
	if _, err := spec.Reply(ctx, clinic.ReplyRequest{StudyUID: inbox[0].StudyUID, Diagnosis: "Nốt ruồi", Language: "vi"}); err != nil {
		t.Fatal(err)
	}
	if err := a.SetHub(ctx, clinic.HubSettings{URL: r.url, User: "clinic-a", Password: h.passwords["clinic-a"], CACert: r.ca}); err != nil {
		t.Fatal(err)
	}
	if res, err := a.SyncHub(ctx, false, nil); err != nil || len(res.Replies) != 1 {
		t.Fatalf("the reply from the restored hub: %+v %v", res, err)
	}
}

func loadKey(t *testing.T, path string) any {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s holds no PEM key", path)
	}
	if k, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
		return k
	}
	k, err := x509.ParseECPrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func loadCert(t *testing.T, pemText string) *x509.Certificate {
	blk, _ := pem.Decode([]byte(pemText))
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Another district's CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

// leaf is a server certificate for hosts, signed by signer.
func leaf(t *testing.T, signer *x509.Certificate, signerKey any, hosts []string, notBefore, notAfter time.Time) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: hosts[0]},
		NotBefore: notBefore, NotAfter: notAfter, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
