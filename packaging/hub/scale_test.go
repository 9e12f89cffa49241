package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"dermal/internal/assets"
	"dermal/internal/clinic"
	"dermal/internal/inference"
)

// scale is how many clinics send how many referrals each: 4×5 in make test, DERMAL_HUB_SCALE
// (such as 20x25) in make hub-test.
func scale(t *testing.T) (clinics, referrals int) {
	clinics, referrals = 4, 5
	if s := os.Getenv("DERMAL_HUB_SCALE"); s != "" {
		a, b, ok := strings.Cut(s, "x")
		var err1, err2 error
		clinics, err1 = strconv.Atoi(a)
		referrals, err2 = strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || clinics < 1 || referrals < 1 {
			t.Fatalf("DERMAL_HUB_SCALE=%q: give CLINICSxREFERRALS, such as 20x25", s)
		}
	}
	return clinics, referrals
}

// syncResult is `dermal hub sync --json`.
type syncResult struct {
	Sent, Instances int
	Failed          []struct{ Error string }
	Replies         []struct{ Reply string }
}

// Clinics as processes of `dermal hub sync`, each with its own records, send at once to a hub
// of one node and of two nodes on one PostgreSQL index; with two, one node is killed (kill -9)
// in the middle. Every instance arrives exactly once, every referral is one study, and every
// reply reaches its clinic. It logs referrals per second and the nodes' memory.
func TestScaleOut(t *testing.T) {
	nClinics, nRefs := scale(t)
	bin := filepath.Join(t.TempDir(), "dermal")
	if out, err := exec.Command("go", "build", "-o", bin, "dermal").CombinedOutput(); err != nil {
		t.Fatalf("building dermal: %v\n%s", err, out)
	}
	for _, nodes := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d nodes", nodes), func(t *testing.T) { scaleRun(t, bin, nodes, nClinics, nRefs) })
	}
}

func scaleRun(t *testing.T, bin string, nodes, nClinics, nRefs int) {
	var logins, dirs []string
	for i := range nClinics {
		login := fmt.Sprintf("c%02d", i+1)
		logins = append(logins, login)
		dirs = append(dirs, filepath.Join(t.TempDir(), login))
	}
	h := newHub(t, nodes, logins...)
	ctx := context.Background()
	adminPw := filepath.Join(t.TempDir(), "admin.pw")
	os.WriteFile(adminPw, []byte("admin password 1\n"), 0o600)

	// Each clinic's records, made through the clinic layer.
	start := time.Now()
	for i := range nClinics {
		makeClinic(t, h, dirs[i], logins[i], nRefs)
	}
	if t.Failed() {
		return
	}
	t.Logf("%d clinics' records with %d referrals each made in %.1f s", nClinics, nRefs, time.Since(start).Seconds())

	runSync := func(i int) (syncResult, error) {
		cmd := exec.Command(bin, "--data", dirs[i], "--user", "admin", "--password-file", adminPw, "hub", "sync", "--json")
		out, err := cmd.Output()
		var r syncResult
		if jerr := json.Unmarshal(out, &r); jerr != nil && err == nil {
			err = fmt.Errorf("%v: %s", jerr, out)
		}
		return r, err
	}
	total := nClinics * nRefs
	// All clinics at once; with two nodes, node 2 is killed once a third of the instances
	// are in.
	start = time.Now()
	results := make([]syncResult, nClinics)
	errs := make([]error, nClinics)
	killed := make(chan struct{})
	if nodes > 1 {
		go func() {
			defer close(killed)
			for time.Since(start) < 5*time.Minute {
				if h.instances(t) >= total*4/3 {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Logf("node 2 before the kill: %s", nodeMemory(h, 2))
			pid, _ := os.ReadFile(filepath.Join(h.dir, "run", "node2.pid"))
			if p, err := strconv.Atoi(strings.TrimSpace(string(pid))); err == nil {
				syscall.Kill(p, syscall.SIGKILL)
				t.Logf("node 2 killed at %.1f s, with %d instances in", time.Since(start).Seconds(), h.instances(t))
			}
		}()
	} else {
		close(killed)
	}
	var wg sync.WaitGroup
	for i := range nClinics {
		wg.Add(1)
		go func() { defer wg.Done(); results[i], errs[i] = runSync(i) }()
	}
	wg.Wait()
	<-killed
	first := time.Since(start)
	// A clinic whose sync failed when the node died sends the rest at its next sync.
	again := 0
	for round := 0; round < 5; round++ {
		left := 0
		for i := range nClinics {
			if errs[i] != nil || len(results[i].Failed) > 0 {
				left++
				results[i], errs[i] = runSync(i)
			}
		}
		if left == 0 {
			break
		}
		again += left
	}
	for i := range nClinics {
		if errs[i] != nil || len(results[i].Failed) > 0 {
			t.Fatalf("clinic %s still failing: %v %+v", logins[i], errs[i], results[i])
		}
	}
	all := time.Since(start)
	var studies []string
	h.adminJSON(t, "GET", "/studies", "", &studies)
	if got := h.instances(t); got != total*4 || len(studies) != total {
		t.Fatalf("the hub holds %d instances in %d studies; want %d in %d (each referral once, whole)", got, len(studies), total*4, total)
	}
	t.Logf("%d nodes: %d referrals (%d instances) from %d clinics at once in %.1f s (%.1f referrals/s; %.1f s to the end, %d clinic syncs run again)",
		nodes, total, total*4, nClinics, first.Seconds(), float64(total)/first.Seconds(), all.Seconds(), again)
	for n := 1; n <= nodes; n++ {
		t.Logf("node %d: %s", n, nodeMemory(h, n))
	}

	// The specialist answers every referral; each clinic gets its own replies.
	script(t, "start", h.dir) // the killed node comes back
	spec := dermalClinic(t, h, "spec", h.ca)
	inbox, err := spec.Inbox(ctx, false)
	if err != nil || len(inbox) != total {
		t.Fatalf("the inbox holds %d referrals, want %d: %v", len(inbox), total, err)
	}
	for _, c := range inbox {
		if _, err := spec.Reply(ctx, clinic.ReplyRequest{StudyUID: c.StudyUID, Diagnosis: "Reply to " + c.PatientID, Language: "en"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range nClinics {
		wg.Add(1)
		go func() { defer wg.Done(); results[i], errs[i] = runSync(i) }()
	}
	wg.Wait()
	for i := range nClinics {
		if errs[i] != nil || len(results[i].Replies) != nRefs {
			t.Fatalf("clinic %s: %d replies, want %d: %v", logins[i], len(results[i].Replies), nRefs, errs[i])
		}
		for _, r := range results[i].Replies {
			if !strings.Contains(r.Reply, "Reply to "+logins[i]+"/") {
				t.Errorf("clinic %s got another clinic's reply: %q", logins[i], r.Reply)
			}
		}
	}
}

// makeClinic makes a clinic's records in dir: set up, the hub set, nRefs referrals queued.
func makeClinic(t *testing.T, h *districtHub, dir, login string, nRefs int) {
	m, err := inference.LoadModel(assets.ModelCardJSON, assets.ModelONNX, assets.OODSubspace)
	if err != nil {
		t.Error(err)
		return
	}
	eng := inference.NewEngine(m, inference.Options{})
	defer eng.Close()
	store, err := clinic.OpenStore(dir, "test")
	if err != nil {
		t.Error(err)
		return
	}
	c := clinic.New(eng, store, nil)
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Setup(ctx, clinic.ClinicProfile{Name: "Trạm Y tế " + login, Address: "Xã " + login, Phone: "024 3384 1234"}, "admin", "Lê Văn An", "admin password 1"); err != nil {
		t.Error(err)
		return
	}
	if _, err := c.Login(ctx, "admin", "admin password 1"); err != nil {
		t.Error(err)
		return
	}
	if err := c.SetHub(ctx, clinic.HubSettings{URL: h.url, User: login, Password: h.passwords[login], CACert: h.ca}); err != nil {
		t.Error(err)
		return
	}
	for i := range nRefs {
		refer(t, c, fmt.Sprintf("BN-%04d", i))
	}
}

// nodeMemory is an Orthanc node's resident memory now and at its peak.
func nodeMemory(h *districtHub, n int) string {
	pid, _ := os.ReadFile(filepath.Join(h.dir, "run", fmt.Sprintf("node%d.pid", n)))
	b, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/status")
	if err != nil {
		return "not running"
	}
	var rss, hwm string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			rss = f[1]
		} else if len(f) >= 2 && f[0] == "VmHWM:" {
			hwm = f[1]
		}
	}
	if rss == "" {
		return "not running"
	}
	kb := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v / 1024 }
	return fmt.Sprintf("%.0f MB resident, %.0f MB at its peak", kb(rss), kb(hwm))
}
