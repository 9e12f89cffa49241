package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"dermal/internal/hub/hubtest"
)

// The whole loop against a real Orthanc: a clinic's referral letter queues its study; the hub
// is down, so it stays queued and sync says why; the hub is back, and the study is sent; a
// specialist finds it in the inbox and replies; the clinic's next sync brings the reply home
// as the referral's outcome. A wrong password is reported in words a clinician acts on.
func TestHubLoop(t *testing.T) {
	t.Setenv("DERMAL_ANCHOR_DIR", t.TempDir())
	h := hubtest.ForTest(t, map[string]string{"clinic1": "clinic one password", "specialist": "specialist password"})
	dir := t.TempDir()
	secret := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text+"\n"), 0o600)
		return p
	}
	adminPw := secret("admin", "admin password")
	clinicData, specData := filepath.Join(dir, "clinic"), filepath.Join(dir, "specialist")
	mustRun(t, "--data", clinicData, "setup", "--clinic", "Trạm Y tế xã Đồng Tâm", "--admin", "admin", "--password-file", adminPw)
	mustRun(t, "--data", specData, "setup", "--clinic", "Khoa Da liễu tỉnh", "--admin", "admin", "--password-file", adminPw)
	at := func(data string) func(args ...string) (int, string, string) {
		return func(args ...string) (int, string, string) {
			return run(t, append([]string{"--data", data, "--user", "admin", "--password-file", adminPw}, args...)...)
		}
	}
	clinicRun, specRun := at(clinicData), at(specData)
	must := func(r func(...string) (int, string, string), args ...string) string {
		t.Helper()
		code, out, stderr := r(args...)
		if code != 0 {
			t.Fatalf("dermal %v: exit %d %s", args, code, stderr)
		}
		return out
	}
	must(clinicRun, "clinic", "--address", "Xã Đồng Tâm", "--phone", "024 3384 1234")
	must(clinicRun, "patients", "add", "--name", "Nguyễn Thị Hồng", "--code", "BN-1", "--sex", "F", "--birth-year", "1971",
		"--consent-photos", "yes", "--consent-referral", "yes")
	must(clinicRun, "assess", "--patient", "BN-1", "--site", "foot", filepath.Join(fixtures, "ISIC_0024311.png"))
	must(clinicRun, "hub", "set", "--url", h.URL(), "--user", "clinic1", "--password-file", secret("c1", "clinic one password"))
	must(clinicRun, "report", "--assessment", "1", "--referral", "--to", "Khoa Da liễu tỉnh", "--reason", "Nốt ruồi gan bàn chân đổi màu",
		"--clinician", "Lê Văn An", "--lang", "en", "-o", filepath.Join(dir, "letter.pdf"))
	var status struct {
		Queued, Sent, Replies int
		Failed                []struct{ Error string }
	}
	json.Unmarshal([]byte(must(clinicRun, "hub", "status", "--json")), &status)
	if status.Queued != 1 || status.Sent != 0 {
		t.Fatalf("after the letter: %+v; want one referral queued", status)
	}

	// The hub is down: the referral stays queued, and sync says why and exits 1.
	h.Stop()
	code, out, stderr := clinicRun("hub", "sync")
	if code != 1 || !strings.Contains(out+stderr, "cannot be reached") {
		t.Errorf("sync with the hub down: exit %d %s %s", code, out, stderr)
	}
	if err := h.Restart(); err != nil {
		t.Fatal(err)
	}
	var sync struct {
		Sent, Instances int
		Failed          []struct{ Error string }
		Replies         []struct{ Reply string }
	}
	json.Unmarshal([]byte(must(clinicRun, "hub", "sync", "--json")), &sync)
	if sync.Sent != 1 || sync.Instances != 4 || len(sync.Failed) != 0 {
		t.Fatalf("sync with the hub back: %+v", sync)
	}
	// Nothing is sent twice.
	json.Unmarshal([]byte(must(clinicRun, "hub", "sync", "--json")), &sync)
	if sync.Sent != 0 || sync.Instances != 0 {
		t.Errorf("a second sync sent %+v", sync)
	}

	// The specialist's desk.
	must(specRun, "hub", "set", "--url", h.URL(), "--user", "specialist", "--password-file", secret("sp", "specialist password"))
	var inbox []struct {
		Study, Patient, Tier string
		Replied              bool
	}
	json.Unmarshal([]byte(must(specRun, "hub", "inbox", "--json")), &inbox)
	if len(inbox) != 1 || inbox[0].Patient != "Nguyễn Thị Hồng" || inbox[0].Tier == "" {
		t.Fatalf("inbox %+v", inbox)
	}
	must(specRun, "hub", "reply", "--study", inbox[0].Study, "--diagnosis", "Nốt ruồi loạn sản", "--advice", "Chụp lại sau 3 tháng", "--see-within", "14")
	json.Unmarshal([]byte(must(specRun, "hub", "inbox", "--json")), &inbox)
	if len(inbox) != 0 {
		t.Errorf("the answered referral is still in the inbox: %+v", inbox)
	}

	// The reply comes home.
	json.Unmarshal([]byte(must(clinicRun, "hub", "sync", "--json")), &sync)
	if len(sync.Replies) != 1 || !strings.Contains(sync.Replies[0].Reply, "Nốt ruồi loạn sản") || !strings.Contains(sync.Replies[0].Reply, "14 days") {
		t.Fatalf("the reply did not come home: %+v", sync)
	}
	if hist := must(clinicRun, "history", "--json", "BN-1"); !strings.Contains(hist, "specialist") || !strings.Contains(hist, "Nốt ruồi loạn sản") {
		t.Errorf("the history does not show the specialist's reply: %s", hist)
	}
	// The next report prints it.
	reportPDF := filepath.Join(dir, "report.pdf")
	must(clinicRun, "report", "--assessment", "1", "--lang", "vi", "-o", reportPDF)
	if bin, err := exec.LookPath("pdftotext"); err == nil {
		text, err := exec.Command(bin, reportPDF, "-").Output()
		if err != nil || !strings.Contains(string(text), "Nốt ruồi loạn sản") || !strings.Contains(string(text), "Bác sĩ chuyên khoa") {
			t.Errorf("the report does not print the specialist's reply (%v):\n%s", err, text)
		}
	}
	json.Unmarshal([]byte(must(clinicRun, "hub", "status", "--json")), &status)
	if status.Sent != 1 || status.Replies != 1 {
		t.Errorf("status after the reply: %+v", status)
	}

	// A wrong password: refused, in words a clinician acts on, and the referral stays queued.
	must(clinicRun, "hub", "set", "--url", h.URL(), "--user", "clinic1", "--password-file", secret("bad", "not the password"))
	must(clinicRun, "report", "--assessment", "1", "--referral", "--to", "Khoa Da liễu tỉnh", "--clinician", "Lê Văn An", "-o", filepath.Join(dir, "letter2.pdf"))
	code, out, stderr = clinicRun("hub", "sync")
	if code != 1 || !strings.Contains(out+stderr, "refused the user name or password") {
		t.Errorf("sync with a wrong password: exit %d %s %s", code, out, stderr)
	}
	// Plain HTTP to another computer is refused before any password is sent.
	if code, _, stderr := clinicRun("hub", "set", "--url", "http://192.0.2.1/dicom-web/", "--user", "clinic1", "--password-file", secret("c2", "x")); code != 1 || !strings.Contains(stderr, "plain HTTP") {
		t.Errorf("plain HTTP: exit %d %s", code, stderr)
	}
}
