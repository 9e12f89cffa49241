package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The scale benchmark (make bench-scale → SCALE.md): records of a clinic's fifth year made by
// tools/scaledata at each size, and what the clinic feels of them: the window's start after
// login and its memory beside a bare Fyne window, the CLI's commands, full and incremental
// backups after a day's work.

var (
	scaleSizes = flag.String("scale", "", "instead of the model benchmarks: the scale benchmark at these patient counts (e.g. 1000,10000), written to -out")
	scaleData  = flag.String("scale-data", "build/scale", "where the scale records are made (one folder per size, kept between runs)")
)

func scaleBench() error {
	var sizes []int
	for _, f := range strings.Split(*scaleSizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return fmt.Errorf("-scale %q: give patient counts separated by commas", *scaleSizes)
		}
		sizes = append(sizes, n)
	}
	r := &report{}
	r.line("# Dermal at scale")
	r.line("")
	r.line("Made by `make bench-scale` (tools/bench -scale; records by `make scale-data`: tools/scaledata, through the clinic layer, one login, three assessments a patient over two years, 100 kB photos unless said, follow-ups and outcomes). %s, %s. One run; times are wall clock of the whole command (a login's argon2id included), memory is the peak resident set (GNU time).", time.Now().UTC().Format("2006-01-02"), machine())
	r.line("")
	pw := filepath.Join(*scaleData, "password")
	if _, err := os.Stat(pw); err != nil {
		os.MkdirAll(*scaleData, 0o700)
		if err := os.WriteFile(pw, []byte("scale benchmark password\n"), 0o600); err != nil {
			return err
		}
	}
	gen := filepath.Join(*work, "scaledata")
	if out, err := exec.Command("go", "build", "-o", gen, "./tools/scaledata").CombinedOutput(); err != nil {
		return fmt.Errorf("building tools/scaledata: %v: %s", err, out)
	}
	display, stopX, err := startXvfb()
	if err != nil {
		return err
	}
	defer stopX()
	hello := filepath.Join(*work, "fynehello")
	if out, err := exec.Command("go", "build", "-o", hello, "./tools/fynehello").CombinedOutput(); err != nil {
		return fmt.Errorf("building tools/fynehello: %v: %s", err, out)
	}
	bare, err := idleApp(display, 8*time.Second, hello)
	if err != nil {
		return err
	}
	r.line("| patients / assessments | dermal.db | make the records | window after login | window idle, logged in (× bare Fyne %s) | `followups --json` | `followups --json --limit 50` | `history` | `audit verify` | full backup (age) | daily backup into a folder after 100 new assessments (vs. full) |", mb(bare.rss))
	r.line("|---|---|---|---|---|---|---|---|---|---|---|")
	login := func(dir string) []string { return []string{"--data", dir, "--user", "admin", "--password-file", pw} }
	for _, n := range sizes {
		dir := filepath.Join(*scaleData, strconv.Itoa(n))
		t0 := time.Now()
		made := "kept from an earlier run"
		if _, err := os.Stat(filepath.Join(dir, "dermal.db")); err != nil {
			out, err := exec.Command(gen, "-n", strconv.Itoa(n), "-data", dir, "-password-file", pw).CombinedOutput()
			if err != nil {
				return fmt.Errorf("making %d patients: %v\n%s", n, err, lastLines(string(out), 5))
			}
			made = time.Since(t0).Round(time.Second).String()
		}
		cell := func(p proc, err error) string {
			if err != nil {
				return "failed: " + strings.ReplaceAll(lastLines(err.Error(), 1), "|", "/")
			}
			return fmt.Sprintf("%.2f s, %s", p.wall.Seconds(), mb(p.maxRSS))
		}
		win, idle, werr := windowStart(display, *binPath, login(dir))
		winCell := fmt.Sprintf("%.2f s", win.Seconds())
		idleCell := fmt.Sprintf("%s (%.2f×)", mb(idle.rss), float64(idle.rss)/float64(bare.rss))
		if werr != nil {
			winCell, idleCell = "failed: "+strings.ReplaceAll(werr.Error(), "|", "/"), ""
		}
		fu := cell(measure(nil, *binPath, append(login(dir), "followups", "--json")...))
		fu50 := cell(measure(nil, *binPath, append(login(dir), "followups", "--json", "--limit", "50")...))
		hist := cell(measure(nil, *binPath, append(login(dir), "history", "S-000001")...))
		verify := cell(measure(nil, *binPath, append(login(dir), "audit", "verify")...))
		key := filepath.Join(*scaleData, "backup-passphrase")
		os.WriteFile(key, []byte("a long backup passphrase\n"), 0o600)
		backups := filepath.Join(*work, "scale-backups", strconv.Itoa(n))
		os.RemoveAll(backups)
		os.MkdirAll(backups, 0o700)
		full := filepath.Join(backups, "full.age")
		fp, ferr := measure(nil, *binPath, append(login(dir), "backup", "--passphrase-file", key, full)...)
		fullCell := cell(fp, ferr)
		var fullBytes int64
		if st, err := os.Stat(full); err == nil {
			fullBytes = st.Size()
			fullCell += ", " + mb(uint64(fullBytes))
		}
		folder := filepath.Join(backups, "folder") + "/"
		incCell := ""
		if _, err := measure(nil, *binPath, append(login(dir), "backup", "--passphrase-file", key, folder)...); err != nil {
			incCell = cell(proc{}, err)
		} else if out, err := exec.Command(gen, "-data", dir, "-password-file", pw, "-add", "100").CombinedOutput(); err != nil {
			incCell = "failed to add the day's work: " + lastLines(string(out), 1)
		} else {
			ip, ierr := measure(nil, *binPath, append(login(dir), "backup", "--passphrase-file", key, folder)...)
			incCell = cell(ip, ierr)
			if ierr == nil {
				incBytes := newestRunBytes(folder)
				incCell += fmt.Sprintf(", %s (%.1f%% of the full backup's time, %.2f%% of its bytes)", mb(uint64(incBytes)),
					100*ip.wall.Seconds()/fp.wall.Seconds(), 100*float64(incBytes)/float64(max(fullBytes, 1)))
			}
		}
		os.RemoveAll(backups)
		size := "?"
		if st, err := os.Stat(filepath.Join(dir, "dermal.db")); err == nil {
			size = mb(uint64(st.Size()))
		}
		r.line("| %d / %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", n, 3*n, size, made, winCell, idleCell, fu, fu50, hist, verify, fullCell, incCell)
	}
	r.line("")
	r.line("The window's start is the time from the login's success to the built window (the app's own log line `window shown … after_login_ms`); its idle memory is read 8 s later. The daily backup's records had the 100 assessments added through the clinic layer (`tools/scaledata -add 100`) after the folder's first (full) run.")
	return os.WriteFile(*out, r.b.Bytes(), 0o644)
}

// windowStart opens the window logged in (--user, --password-file) and returns how long
// after the login it was shown (the app's log) and its memory once idle.
func windowStart(display, bin string, args []string) (time.Duration, smaps, error) {
	home, err := os.MkdirTemp("", "dermal-bench-home")
	if err != nil {
		return 0, smaps{}, err
	}
	defer os.RemoveAll(home)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "FYNE_THEME=light")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, smaps{}, err
	}
	if err := cmd.Start(); err != nil {
		return 0, smaps{}, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	shown := make(chan time.Duration, 1)
	re := regexp.MustCompile(`window shown.*after_login_ms=(\d+)`)
	var last []string
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			last = append(last, sc.Text())
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				ms, _ := strconv.Atoi(m[1])
				shown <- time.Duration(ms) * time.Millisecond
			}
		}
		close(shown)
	}()
	select {
	case d, ok := <-shown:
		if !ok {
			return 0, smaps{}, fmt.Errorf("the window exited: %s", strings.Join(last[max(0, len(last)-2):], " / "))
		}
		time.Sleep(8 * time.Second)
		s, err := readSmaps(cmd.Process.Pid)
		return d, s, err
	case <-time.After(10 * time.Minute):
		return 0, smaps{}, fmt.Errorf("no window after 10 minutes")
	}
}

// newestRunBytes is the size of a backup folder's newest run.
func newestRunBytes(folder string) int64 {
	m, _ := filepath.Glob(filepath.Join(folder, "*.run.age"))
	var newest string
	for _, f := range m {
		if f > newest {
			newest = f
		}
	}
	st, err := os.Stat(newest)
	if err != nil {
		return 0
	}
	return st.Size()
}
