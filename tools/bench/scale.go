package main

import (
	"bufio"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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
	windowOnly = flag.Bool("window-only", false, "with -scale: only the window's rows (start, idle memory, through analyses), not the command line's or the backups' (make bench-window)")
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
	made := "`make bench-scale` (tools/bench -scale"
	if *windowOnly {
		made = "`make bench-window` (tools/bench -scale -window-only: the window's rows alone"
	}
	r.line("Made by %s; records by `make scale-data`: tools/scaledata, through the clinic layer, one login, three assessments a patient over two years, 100 kB photos unless said, follow-ups and outcomes). %s, %s. One run; times are wall clock of the whole command (a login's argon2id included), memory is the peak resident set (GNU time).", made, time.Now().UTC().Format("2006-01-02"), machine())
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
	// Each window's idle memory is the median of idleRuns starts: one start of the same bare
	// window read 117 to 133 MB on one machine in one hour (the graphics stack's shared
	// libraries are not always mapped alike), more than the margins the ratios are held to.
	bare, err := medianIdle(func() (smaps, error) { return idleApp(display, 8*time.Second, hello) })
	if err != nil {
		return err
	}
	// The same bare window at the size Dermal's window opens at on this screen (fitscreen.go):
	// the graphics stack's buffers grow with a window's area.
	bareFull, err := medianIdle(func() (smaps, error) { return idleApp(display, 8*time.Second, hello, "-size", "1280x720") })
	if err != nil {
		return err
	}
	ratios := func(rss uint64) string {
		return fmt.Sprintf("%.2f× / %.2f×", float64(rss)/float64(bare.rss), float64(rss)/float64(bareFull.rss))
	}
	r.line("| patients / assessments | dermal.db | make the records | window after login (median of %d starts) | window idle, logged in (median of the same starts; × bare Fyne window, a median of as many: label-sized %s / 1280×720 %s (%s)) | `followups --json` | `followups --json --limit 50` | `history` | `audit verify` | full backup (age) | daily backup into a folder after 100 new assessments (vs. full) |", idleRuns, mb(bare.rss), mb(bareFull.rss), parts(bareFull))
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
		// The same starts give the window's start time: their median too, not the last one's.
		var wins []time.Duration
		idle, werr := medianIdle(func() (smaps, error) {
			win, s, err := windowStart(display, *binPath, login(dir))
			wins = append(wins, win)
			return s, err
		})
		slices.Sort(wins)
		winCell := fmt.Sprintf("%.2f s", wins[len(wins)/2].Seconds())
		idleCell := fmt.Sprintf("%s (%s; %s)", mb(idle.rss), ratios(idle.rss), parts(idle))
		if werr != nil {
			winCell, idleCell = "failed: "+strings.ReplaceAll(werr.Error(), "|", "/"), ""
		}
		if *windowOnly {
			r.line("| %d / %d | | | %s | %s | | | | | | |", n, 3*n, winCell, idleCell)
			continue
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
	if err := windowAnalysesRows(r, display, login(filepath.Join(*scaleData, strconv.Itoa(sizes[len(sizes)-1]))), sizes[len(sizes)-1], bare, bareFull, ratios); err != nil {
		return err
	}
	r.line("")
	r.line("The window's start is the time from the login's success to the built window (the app's own log line `window shown … after_login_ms`); its idle memory is read 8 s later. The daily backup's records had the 100 assessments added through the clinic layer (`tools/scaledata -add 100`) after the folder's first (full) run.")
	return os.WriteFile(*out, r.b.Bytes(), 0o644)
}

// idleRuns is how many times each window is started for its idle memory.
const idleRuns = 3

// medianIdle starts a window idleRuns times and returns the reading of median resident size.
func medianIdle(start func() (smaps, error)) (smaps, error) {
	var runs []smaps
	for range idleRuns {
		s, err := start()
		if err != nil {
			return s, err
		}
		runs = append(runs, s)
	}
	slices.SortFunc(runs, func(a, b smaps) int { return cmp.Compare(a.rss, b.rss) })
	return runs[len(runs)/2], nil
}

// parts says how a resident size splits: the process's own (anonymous) pages and the pages
// of files it maps (its program, the shared libraries), which the kernel may share.
func parts(s smaps) string { return fmt.Sprintf("own %s, files %s", mb(s.anon), mb(s.file)) }

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

// windowAnalysesRows measures the window through analyses (DERMAL_BENCH_ANALYSES: the
// assessment screen's own steps, driven in the app): 50 analyses of a 1024×768 photo then the
// idle unload, and one 12 MP photo's peak beside the command line's.
func windowAnalysesRows(r *report, display string, login []string, n int, bare, bareFull smaps, ratios func(uint64) string) error {
	small := filepath.Join(fixtures, "ISIC_0024311.png")
	photo := filepath.Join(*work, "photo-1024.jpg")
	if err := makePhoto(small, photo, 1024, 768); err != nil {
		return err
	}
	big := filepath.Join(*work, "photo-12mp.jpg")
	if err := makeBigPhoto(small, big); err != nil {
		return err
	}
	r.line("The window through analyses, at %d patients (the app's assessment screen driven in-process by DERMAL_BENCH_ANALYSES: open the photo, analyse, as a clinician's clicks would; then the model unloaded as the idle period does). Ratios to the bare windows as above (label-sized / 1280×720).", n)
	r.line("")
	r.line("| window | resident | peak | target |")
	r.line("|---|---|---|---|")
	after, _, err := windowAnalyses(display, login, 50, photo)
	if err != nil {
		r.line("| after 50 analyses (1024×768 JPEG) and the idle unload | failed: %s | | ≤ 1.25× |", strings.ReplaceAll(err.Error(), "|", "/"))
	} else {
		r.line("| after 50 analyses (1024×768 JPEG) and the idle unload | %s (%s; %s) | %s | ≤ 1.25× |", mb(after.rss), ratios(after.rss), parts(after), mb(after.hwm))
	}
	cli, cerr := measure(nil, *binPath, "classify", "--gradcam", filepath.Join(*work, "overlay.png"), big)
	_, peak, err := windowAnalyses(display, login, 1, big)
	switch {
	case err != nil || cerr != nil:
		r.line("| one 12 MP JPEG analysed | failed: %s | | ≤ 1.5× the command line's peak |", strings.ReplaceAll(fmt.Sprint(errors.Join(err, cerr)), "|", "/"))
	default:
		r.line("| one 12 MP JPEG analysed | | %s (%.2f× `dermal classify --gradcam`'s %s) | ≤ 1.5× the command line's peak |", mb(peak), float64(peak)/float64(cli.maxRSS), mb(cli.maxRSS))
	}
	return nil
}

// windowAnalyses opens the window logged in with DERMAL_BENCH_ANALYSES=n:photo, and returns
// its memory 8 s after the idle unload, and its peak when the analyses were done.
func windowAnalyses(display string, login []string, n int, photo string) (smaps, uint64, error) {
	home, err := os.MkdirTemp("", "dermal-bench-home")
	if err != nil {
		return smaps{}, 0, err
	}
	defer os.RemoveAll(home)
	cmd := exec.Command(*binPath, login...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "FYNE_THEME=light",
		fmt.Sprintf("DERMAL_BENCH_ANALYSES=%d:%s", n, photo))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return smaps{}, 0, err
	}
	if err := cmd.Start(); err != nil {
		return smaps{}, 0, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	events := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			switch l := sc.Text(); {
			case strings.Contains(l, `msg="bench analysed"`):
				events <- "analysed"
			case strings.Contains(l, `msg="bench unloaded"`):
				events <- "unloaded"
			case strings.Contains(l, "bench analyses") || strings.Contains(l, "bench unload"):
				events <- "error: " + l
			}
		}
		close(events)
	}()
	var peak uint64
	for {
		select {
		case e, ok := <-events:
			switch {
			case !ok:
				return smaps{}, 0, fmt.Errorf("the window exited")
			case strings.HasPrefix(e, "error"):
				return smaps{}, 0, errors.New(e)
			case e == "analysed":
				s, err := readSmaps(cmd.Process.Pid)
				if err != nil {
					return smaps{}, 0, err
				}
				peak = s.hwm
			case e == "unloaded":
				time.Sleep(8 * time.Second)
				s, err := readSmaps(cmd.Process.Pid)
				return s, peak, err
			}
		case <-time.After(10 * time.Minute):
			return smaps{}, 0, fmt.Errorf("the analyses did not finish in 10 minutes")
		}
	}
}
