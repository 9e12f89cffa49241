package clinic_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"dermal/internal/assets"
	"dermal/internal/clinic"
	"dermal/internal/clinic/clinictest"
	"dermal/internal/hub/hubtest"
	"dermal/internal/inference"
	"dermal/internal/storage"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("DERMAL_HUBSYNC_CHILD"); dir != "" {
		hubSyncChild(dir)
		return
	}
	os.Exit(m.Run())
}

// openHubClinic opens the clinic in dir with the shipped model, logged in as admin.
func openHubClinic(dir string) (*clinic.Clinic, error) {
	m, err := inference.LoadModel(assets.ModelCardJSON, assets.ModelONNX, assets.OODSubspace)
	if err != nil {
		return nil, err
	}
	store, err := clinic.OpenStore(dir, "test")
	if err != nil {
		return nil, err
	}
	c := clinic.New(inference.NewEngine(m, inference.Options{}), store, nil)
	if _, err := c.Login(context.Background(), "admin", "admin password 1"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// hubSyncChild writes a referral and syncs the outbox of the records in dir, again and again,
// until it is killed.
func hubSyncChild(dir string) {
	c, err := openHubClinic(dir)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	ctx := context.Background()
	photo, err := c.ReadPhoto(clinictest.Fixture("ISIC_0024311.png"))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	an, err := c.Analyse(photo)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	fmt.Println("READY")
	yes := true
	for i := 0; ; i++ {
		now := time.Now()
		pid, err := c.AddPatient(ctx, storage.Patient{Code: fmt.Sprintf("K%d-%d", os.Getpid(), i), FullName: "Vũ Thị Lan", ConsentPhotos: &yes, ConsentReferral: &yes, ConsentAt: &now}, true)
		if err == nil {
			p := *photo
			var res *clinic.Result
			if res, err = c.Save(ctx, clinic.Visit{PatientID: pid, Site: "foot", Photo: &p, Analysis: an}); err == nil {
				err = c.WriteReferral(ctx, clinic.ReferralRequest{AssessmentID: res.AssessmentID, To: "Khoa Da liễu tỉnh", Clinician: "Lê Văn An",
					Language: "vi", Printed: now}, filepath.Join(os.TempDir(), fmt.Sprintf("dermal-kill-letter-%d.pdf", os.Getpid())))
			}
		}
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		sent, err := c.SyncHub(ctx, false, nil)
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		fmt.Println("SENT", sent.Sent, sent.Instances)
	}
}

// kill -9 during syncs with the hub (records-trust fault benchmark; make faults runs 50
// rounds): after every kill the records open, and once a sync completes, every referral is on
// the hub whole and once (each instance acknowledged once, the hub holding 3 per referral).
func TestKillDuringHubSync(t *testing.T) {
	rounds := 5
	if n, err := strconv.Atoi(os.Getenv("DERMAL_KILL_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	t.Setenv("DERMAL_ANCHOR_DIR", t.TempDir())
	h := hubtest.ForTest(t, map[string]string{hubUser: hubPassword})
	dir := t.TempDir()
	const n = 10
	func() {
		store, err := clinic.OpenStore(dir, "test")
		if err != nil {
			t.Fatal(err)
		}
		m, _ := inference.LoadModel(assets.ModelCardJSON, assets.ModelONNX, assets.OODSubspace)
		c := clinic.New(inference.NewEngine(m, inference.Options{}), store, nil)
		defer c.Close()
		ctx := context.Background()
		if _, err := c.Setup(ctx, clinic.ClinicProfile{Name: "Trạm Y tế", Address: "Xã Đồng Tâm", Phone: "024 3384 1234"}, "admin", "Lê Văn An", "admin password 1"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Login(ctx, "admin", "admin password 1"); err != nil {
			t.Fatal(err)
		}
		if err := c.SetHub(ctx, clinic.HubSettings{URL: h.URL(), User: hubUser, Password: hubPassword}); err != nil {
			t.Fatal(err)
		}
		referrals(t, c, n, clinictest.Photo(t, "ISIC_0024311.png"))
	}()
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	exe, _ := os.Executable()
	midSync := 0
	for round := range rounds {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), "DERMAL_HUBSYNC_CHILD="+dir)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Wait for the login, then kill within the first sync.
		var ready bool
		for l := range lines {
			if strings.HasPrefix(l, "ERR") {
				t.Fatalf("round %d: child: %s", round, l)
			}
			if l == "READY" {
				ready = true
				break
			}
		}
		if !ready {
			t.Fatalf("round %d: the child exited before it logged in", round)
		}
		time.Sleep(time.Duration(rng.Int63n(int64(600 * time.Millisecond))))
		cmd.Process.Signal(syscall.SIGKILL)
		completed := false
		for l := range lines {
			if strings.HasPrefix(l, "ERR") {
				t.Fatalf("round %d: child: %s", round, l)
			}
			if strings.HasPrefix(l, "SENT") {
				completed = true
			}
		}
		cmd.Wait()
		if !completed {
			midSync++
		}
	}
	c, err := openHubClinic(dir)
	if err != nil {
		t.Fatalf("the records after %d kills: %v", rounds, err)
	}
	defer c.Close()
	res, err := c.SyncHub(context.Background(), false, nil)
	if err != nil || len(res.Failed) > 0 {
		t.Fatalf("the sync after the kills: %+v %v", res, err)
	}
	items, _ := c.Outbox(context.Background(), false)
	for _, it := range items {
		if it.SentAt == nil || len(it.Acknowledged) != perReferral {
			t.Errorf("referral %d: sent %v, %d instances acknowledged", it.ReferralID, it.SentAt, len(it.Acknowledged))
		}
	}
	if got := instancesOnHub(t, h); got != perReferral*len(items) {
		t.Errorf("the hub holds %d instances; want %d (%d for each of %d referrals, each once)", got, perReferral*len(items), perReferral, len(items))
	}
	t.Logf("hub sync: %d kills (%d of them before the child's first sync finished), %d referrals written and queued, all on the hub whole, each instance once, nothing lost", rounds, midSync, len(items))
}
