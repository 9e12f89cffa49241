// Command faults is Dermal's fault benchmark (`make faults`): the hostile photos that once
// exhausted memory or time, each classified by the real `dermal` binary under /usr/bin/time
// (peak RSS, wall time, and whether it was refused and why); four phone uploads of the worst
// one at once into a real phone session; and the kill -9 crash test's figures. It writes
// FAULTS.md. Every number comes from this run on this machine.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"dermal/internal/assets"
	"dermal/internal/capture"
	"dermal/internal/clinic"
	"dermal/internal/hostile"
	"dermal/internal/inference"
	"dermal/internal/memory"
	"dermal/internal/watchdog"
)

var (
	binPath   = flag.String("bin", "bin/dermal", "the dermal binary to measure")
	out       = flag.String("out", "FAULTS.md", "where to write the report")
	work      = flag.String("work", "build/faults", "scratch folder for the hostile photos")
	sides     = flag.String("sides", "7071,3000", "sides of the hostile photos in pixels (7071² is the 50 MP limit; smaller ones are admitted and show their real peak)")
	phoneFile = flag.String("phone-child", "", "internal: run the 4-upload phone test on this file in this process")
	crash     = flag.Bool("crash", true, "run the kill -9 crash test (about a minute)")
)

func main() {
	flag.Parse()
	if *phoneFile != "" {
		if err := phoneChild(*phoneFile); err != nil {
			fmt.Fprintln(os.Stderr, "phone:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(1)
	}
}

// row is one classify run: its peak RSS, wall time, exit code and refusal message.
type row struct {
	rssMB    int
	seconds  float64
	message  string
	exitCode int
}

func run() error {
	if err := os.MkdirAll(*work, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	cpu := cpuName()
	fmt.Fprintf(&b, "# Fault benchmark\n\n`make faults` on %s, %d cores, %s. Each photo is classified by `%s classify --json` under `/usr/bin/time` (a fresh process: its peak RSS is the whole cost; the budget is min(400 MB, 25%% of RAM)).\n\n",
		cpu, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"), *binPath)
	fmt.Fprintf(&b, "| photo | size | file | peak RSS | time | result |\n|---|---|---|---|---|---|\n")
	var worst string
	for _, sd := range strings.Split(*sides, ",") {
		side, err := strconv.Atoi(strings.TrimSpace(sd))
		if err != nil {
			return fmt.Errorf("-sides: %w", err)
		}
		for _, kind := range hostile.Kinds {
			path, size, err := makePhoto(kind, side)
			if err != nil {
				return err
			}
			if kind == "jpeg-cmyk-progressive" && worst == "" {
				worst = path
			}
			r, err := classify(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "| %s | %d×%d | %s | %d MB | %.2f s | %s |\n", kind, side, side, kb(size), r.rssMB, r.seconds, r.result())
		}
	}
	// The repeated-scan JPEG, made from a small progressive one (the scans are what cost).
	h, err := hostile.Make("jpeg-444-progressive", 2000)
	if err != nil {
		return err
	}
	scans, err := hostile.RepeatScans(h.Data, 1000)
	if err != nil {
		return err
	}
	sp := filepath.Join(*work, "jpeg-1000-scans.jpg")
	if err := os.WriteFile(sp, scans, 0o644); err != nil {
		return err
	}
	r, err := classify(sp)
	if err != nil {
		return err
	}
	fmt.Fprintf(&b, "| progressive JPEG repeating a scan 1,000 times | 2000×2000 | %s | %d MB | %.2f s | %s |\n", kb(len(scans)), r.rssMB, r.seconds, r.result())

	// Four phone uploads of the worst photo at once, in one process holding a real session.
	cmd := exec.Command("/usr/bin/time", "-f", "RSS %M", os.Args[0], "-phone-child", worst)
	outp, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("phone child: %v\n%s", err, outp)
	}
	fmt.Fprintf(&b, "\n## Four phone uploads at once\n\nThe CMYK progressive JPEG above, POSTed four times at once to a real phone session whose receiver decodes under the watchdog (budget min(400 MB, 25%% of RAM)):\n\n```\n%s```\n", strings.TrimLeft(string(outp), "\n"))

	if *crash {
		c := exec.Command("go", "test", "-count=1", "-run", "TestCrashSafety", "-v", "./internal/storage/")
		t0 := time.Now()
		outp, err := c.CombinedOutput()
		if err != nil {
			return fmt.Errorf("crash test: %v\n%s", err, outp)
		}
		m := regexp.MustCompile(`(\d+) assessments reported saved across (\d+) kills, all present`).FindStringSubmatch(string(outp))
		if m == nil {
			return fmt.Errorf("crash test printed no figures:\n%s", outp)
		}
		fmt.Fprintf(&b, "\n## kill -9\n\n`go test -run TestCrashSafety ./internal/storage` (%.0f s): a child saving assessments in a loop is killed with SIGKILL at a random moment %s times; after each kill the database passes integrity_check and holds every assessment the child reported committed, photo included: **%s saves, all present**, no half-written case.\n",
			time.Since(t0).Seconds(), m[2], m[1])
		// Setup, restore and backup killed the same way (internal/storage/kill_test.go).
		c = exec.Command("go", "test", "-count=1", "-run", "TestKillDuringSetupRestoreAndBackup", "-v", "./internal/storage/")
		c.Env = append(os.Environ(), "DERMAL_KILL_ROUNDS=60")
		t0 = time.Now()
		outp, err = c.CombinedOutput()
		if err != nil {
			return fmt.Errorf("kill test of setup, restore and backup: %v\n%s", err, outp)
		}
		lines := regexp.MustCompile(`kill_test\.go:\d+: ((setup|restore|backup): .*)`).FindAllStringSubmatch(string(outp), -1)
		if len(lines) != 3 {
			return fmt.Errorf("kill test printed no figures:\n%s", outp)
		}
		fmt.Fprintf(&b, "\n`DERMAL_KILL_ROUNDS=60 go test -run TestKillDuringSetupRestoreAndBackup ./internal/storage` (%.0f s): a child doing setup (one transaction), restores (two backups in turn) or unencrypted backups (a plain copy; encrypted ones make none since session 17) is killed with SIGKILL at a random moment; after each kill the next start opens whole records, with no plain copy or half-finished restore left behind:\n\n", time.Since(t0).Seconds())
		for _, l := range lines {
			fmt.Fprintf(&b, "- %s\n", l[1])
		}
		// The upgrade's photo sealing and renaming, killed the same way.
		c = exec.Command("go", "test", "-count=1", "-run", "TestSealingSurvivesSIGKILL", "-v", "./internal/storage/")
		c.Env = append(os.Environ(), "DERMAL_KILL_ROUNDS=60")
		t0 = time.Now()
		outp, err = c.CombinedOutput()
		if err != nil {
			return fmt.Errorf("kill test of photo sealing: %v\n%s", err, outp)
		}
		ps := regexp.MustCompile(`keys_test\.go:\d+: (photo sealing: .*)`).FindStringSubmatch(string(outp))
		if ps == nil {
			return fmt.Errorf("kill test of photo sealing printed no figures:\n%s", outp)
		}
		fmt.Fprintf(&b, "\n`DERMAL_KILL_ROUNDS=60 go test -run TestSealingSurvivesSIGKILL ./internal/storage` (%.0f s): the upgrade that seals the photos of records from before accounts and renames them to keyed names is killed with SIGKILL after a random number of batches; after each kill every assessment opens its photo, and the next run finishes:\n\n- %s\n", time.Since(t0).Seconds(), ps[1])
		// Encrypted backups into a folder, killed the same way (internal/backupset).
		c = exec.Command("go", "test", "-count=1", "-run", "TestKillDuringFolderBackup", "-v", "./internal/backupset/")
		c.Env = append(os.Environ(), "DERMAL_KILL_ROUNDS=60")
		t0 = time.Now()
		outp, err = c.CombinedOutput()
		if err != nil {
			return fmt.Errorf("kill test of folder backups: %v\n%s", err, outp)
		}
		fb := regexp.MustCompile(`backupset_test\.go:\d+: (folder backup: .*)`).FindStringSubmatch(string(outp))
		if fb == nil {
			return fmt.Errorf("kill test of folder backups printed no figures:\n%s", outp)
		}
		fmt.Fprintf(&b, "\n`DERMAL_KILL_ROUNDS=60 go test -run TestKillDuringFolderBackup ./internal/backupset` (%.0f s): a child adding a patient and backing up into a backup folder (encrypted, incremental; no plain copy anywhere) in a loop is killed with SIGKILL at a random moment; after each kill the folder restores whole to its newest complete run:\n\n- %s\n", time.Since(t0).Seconds(), fb[1])
		// Syncs with the district hub (a real Orthanc), killed the same way (internal/clinic).
		c = exec.Command("go", "test", "-count=1", "-run", "TestKillDuringHubSync", "-v", "./internal/clinic/")
		c.Env = append(os.Environ(), "DERMAL_KILL_ROUNDS=50")
		t0 = time.Now()
		outp, err = c.CombinedOutput()
		if err != nil {
			return fmt.Errorf("kill test of hub syncs: %v\n%s", err, outp)
		}
		hs := regexp.MustCompile(`hubkill_test\.go:\d+: (hub sync: .*)`).FindStringSubmatch(string(outp))
		if hs == nil {
			return fmt.Errorf("kill test of hub syncs printed no figures (is Orthanc installed? make deps-test):\n%s", outp)
		}
		fmt.Fprintf(&b, "\n`DERMAL_KILL_ROUNDS=50 go test -run TestKillDuringHubSync ./internal/clinic` (%.0f s): a child writing referral letters (each queues its study) and syncing with a real Orthanc (DICOMweb, one instance at a time), in a loop, is killed with SIGKILL at a random moment after its login; after the kills one sync finishes the outbox:\n\n- %s\n", time.Since(t0).Seconds(), hs[1])
	}
	fmt.Print(b.String())
	return os.WriteFile(*out, []byte(b.String()), 0o644)
}

func (r row) result() string {
	if r.exitCode == 0 {
		return "classified"
	}
	return "refused: " + strings.ReplaceAll(r.message, "|", "/")
}

func kb(n int) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d kB", (n+1023)>>10)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

func makePhoto(kind string, side int) (string, int, error) {
	for _, ext := range []string{".jpg", ".png", ".tiff", ".webp"} {
		p := filepath.Join(*work, fmt.Sprintf("%s-%d%s", kind, side, ext))
		if st, err := os.Stat(p); err == nil {
			return p, int(st.Size()), nil
		}
	}
	h, err := hostile.Make(kind, side)
	if err != nil {
		return "", 0, err
	}
	ext := filepath.Ext(h.Name)
	p := filepath.Join(*work, fmt.Sprintf("%s-%d%s", kind, side, ext))
	return p, len(h.Data), os.WriteFile(p, h.Data, 0o644)
}

var rssLine = regexp.MustCompile(`RSS (\d+) WALL ([0-9.]+)`)

func classify(path string) (row, error) {
	cmd := exec.Command("/usr/bin/time", "-f", "RSS %M WALL %e", *binPath, "classify", "--json", path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := row{}
	if ee, ok := err.(*exec.ExitError); ok {
		r.exitCode = ee.ExitCode()
	} else if err != nil {
		return r, err
	}
	m := rssLine.FindStringSubmatch(stderr.String())
	if m == nil {
		return r, fmt.Errorf("no /usr/bin/time figures for %s:\n%s", path, stderr.String())
	}
	kbRSS, _ := strconv.Atoi(m[1])
	r.rssMB = kbRSS / 1024
	r.seconds, _ = strconv.ParseFloat(m[2], 64)
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(l, "dermal classify: ") && !strings.Contains(l, "images could not be classified") {
			r.message = strings.TrimPrefix(l, "dermal classify: ")
			break
		}
	}
	return r, nil
}

// phoneChild runs a phone session with the app's receiver (decode under the watchdog) and
// sends it four uploads of one file at once.
func phoneChild(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	m, err := inference.LoadModel(assets.ModelCardJSON, assets.ModelONNX, assets.OODSubspace)
	if err != nil {
		return err
	}
	eng := inference.NewEngine(m, inference.Options{})
	defer eng.Close()
	s, _ := memory.Read()
	budget := watchdog.DefaultBudget(s.Total)
	guard := watchdog.NewGuard(watchdog.Policy{Budget: budget, Costs: watchdog.DefaultCosts}, eng, memory.Read, 0, nil)
	c := clinic.New(eng, nil, guard)
	defer c.Close()
	sess, err := capture.StartPhone(capture.PhoneOptions{Addr: "127.0.0.1:0", OnPhoto: func(name string, b []byte, _ string) error {
		_, err := c.DecodePhoto(name, b)
		return err
	}})
	if err != nil {
		return err
	}
	defer sess.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[int]int{}
	t0 := time.Now()
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			fw, _ := mw.CreateFormFile("photo", filepath.Base(path))
			fw.Write(data)
			mw.Close()
			req, _ := http.NewRequestWithContext(context.Background(), "POST", sess.URL()+"upload", &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			resp, err := http.DefaultClient.Do(req)
			code := 0
			if err == nil {
				code = resp.StatusCode
				resp.Body.Close()
			}
			mu.Lock()
			counts[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	fmt.Printf("budget %d MB; 4 uploads of %s (%s) in %.2f s: HTTP status -> count %v\n",
		budget/watchdog.MB, filepath.Base(path), kb(len(data)), time.Since(t0).Seconds(), counts)
	fmt.Println("(200 taken; 422 refused by the watchdog, with the reason shown on the phone; 503 turned away while another upload was being received)")
	return nil
}

func cpuName() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			return strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
		}
	}
	return runtime.GOARCH
}
