package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// smaps is a process's memory from /proc: resident in total, anonymous (the process's own
// heap), and file-backed (shared libraries, fonts: clean pages shared with other processes).
// smaps is a process's memory from /proc: resident, its anonymous and file-backed parts, and
// the peak resident set so far (hwm).
type smaps struct{ rss, anon, file, hwm uint64 }

func readSmaps(pid int) (smaps, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return smaps{}, err
	}
	var s smaps
	fields := map[string]*uint64{"VmRSS:": &s.rss, "RssAnon:": &s.anon, "RssFile:": &s.file, "VmHWM:": &s.hwm}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 {
			if p, ok := fields[f[0]]; ok {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				*p = kb * 1024
			}
		}
	}
	var shmem uint64
	if i := bytes.Index(b, []byte("RssShmem:")); i >= 0 {
		f := strings.Fields(string(b[i:]))
		kb, _ := strconv.ParseUint(f[1], 10, 64)
		shmem = kb * 1024
	}
	s.file += shmem
	return s, nil
}

// startXvfb starts a private X server and returns its DISPLAY and a stop function.
func startXvfb() (string, func(), error) {
	if _, err := exec.LookPath("Xvfb"); err != nil {
		return "", nil, fmt.Errorf("the X server Xvfb is not installed (make deps)")
	}
	for n := 150 + os.Getpid()%50; n < 250; n++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
			continue
		}
		cmd := exec.Command("Xvfb", fmt.Sprintf(":%d", n), "-screen", "0", "1366x768x24", "-nolisten", "tcp")
		if err := cmd.Start(); err != nil {
			return "", nil, err
		}
		for range 50 {
			if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
				return fmt.Sprintf(":%d", n), func() { cmd.Process.Kill(); cmd.Wait() }, nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
	return "", nil, fmt.Errorf("no free X display")
}

// idleApp starts a GUI program, waits for it to settle and reads its memory.
func idleApp(display string, settle time.Duration, name string, args ...string) (smaps, error) {
	home, err := os.MkdirTemp("", "dermal-bench-home")
	if err != nil {
		return smaps{}, err
	}
	defer os.RemoveAll(home)
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "FYNE_THEME=light")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return smaps{}, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	time.Sleep(settle)
	s, err := readSmaps(cmd.Process.Pid)
	if err != nil {
		return s, fmt.Errorf("%s exited early: %s", name, lastLines(stderr.String(), 3))
	}
	return s, nil
}

func guiIdle(r *report, bin string) error {
	display, stop, err := startXvfb()
	if err != nil {
		return err
	}
	defer stop()
	hello := filepath.Join(*work, "fynehello")
	if out, err := exec.Command("go", "build", "-o", hello, "./tools/fynehello").CombinedOutput(); err != nil {
		return fmt.Errorf("building tools/fynehello: %v: %s", err, out)
	}
	empty, err := os.MkdirTemp("", "dermal-bench-data")
	if err != nil {
		return err
	}
	defer os.RemoveAll(empty)
	withCase, err := os.MkdirTemp("", "dermal-bench-data")
	if err != nil {
		return err
	}
	defer os.RemoveAll(withCase)
	// Both set up, and the windows logged in (--user): before, the "patient list" row measured
	// the setup screen of records without accounts, not a clinician's window.
	pw := filepath.Join(*work, "gui-password")
	if err := os.WriteFile(pw, []byte("bench window password\n"), 0o600); err != nil {
		return err
	}
	login := []string{"--user", "admin", "--password-file", pw}
	for _, dir := range []string{empty, withCase} {
		if _, err := measure(nil, bin, "--data", dir, "setup", "--clinic", "Trạm Y tế xã Đồng Tâm", "--admin", "admin", "--password-file", pw); err != nil {
			return err
		}
	}
	for _, args := range [][]string{
		{"patients", "add", "--name", "Nguyễn Thị Hồng", "--code", "BN-1"},
		{"assess", "--patient", "BN-1", "--site", "back", filepath.Join(fixtures, "ISIC_0024367.png")},
	} {
		if _, err := measure(nil, bin, append(append([]string{"--data", withCase}, login...), args...)...); err != nil {
			return err
		}
	}
	r.line("| window | RSS | anonymous (own heap) | file-backed (shared libraries, fonts) | target |")
	r.line("|---|---|---|---|---|")
	const settle = 8 * time.Second
	rows := []struct {
		name, target string
		prog         string
		args         []string
	}{
		{"bare Fyne window (tools/fynehello): the toolkit's floor", "", hello, nil},
		{"bare Fyne window at Dermal's size (tools/fynehello -size 1280x720)", "", hello, []string{"-size", "1280x720"}},
		{"Dermal, logged in, Today, model not loaded", "≤ 100 MB", bin, append([]string{"--data", empty}, login...)},
		{"Dermal, logged in, an assessment open with Grad-CAM, model loaded", "", bin, append([]string{"--data", withCase, "--open", "1"}, login...)},
	}
	for _, row := range rows {
		s, err := idleApp(display, settle, row.prog, row.args...)
		if err != nil {
			r.line("| %s | not measured: %v | | | |", row.name, err)
			continue
		}
		r.line("| %s | %s | %s | %s | %s |", row.name, mb(s.rss), mb(s.anon), mb(s.file), row.target)
	}
	r.line("")
	r.line("Xvfb renders with Mesa's llvmpipe (software OpenGL); its libraries are most of the file-backed part.")
	return nil
}
