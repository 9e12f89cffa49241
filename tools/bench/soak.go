package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/disintegration/imaging"

	"dermal/internal/clinic"
	"dermal/internal/memory"
	"dermal/internal/watchdog"
)

type soakResult struct {
	RSS      []uint64 `json:"rss"`
	Refused  int      `json:"refused"`
	Degraded int      `json:"degraded"`
	Seconds  float64  `json:"seconds"`
	Budget   uint64   `json:"budget"`
}

// soak runs the soak in a child process (so its memory is the soak's alone) and reports it.
func soak(r *report, images []string) error {
	list := filepath.Join(*work, "soak-images.txt")
	// Every 100th photo is the 12 MP one: the big allocations a phone photo brings.
	var paths []string
	for i := range *soakN {
		if i%100 == 99 {
			paths = append(paths, filepath.Join(*work, "photo-12mp.jpg"))
		} else {
			paths = append(paths, images[i%len(images)])
		}
	}
	if err := os.WriteFile(list, []byte(strings.Join(paths, "\n")), 0o644); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	p, err := measure(nil, self, "-soak-child", "-work", *work)
	if err != nil {
		return err
	}
	var res soakResult
	if err := json.Unmarshal(p.stdout, &res); err != nil {
		return err
	}
	n := len(res.RSS)
	if n < 200 {
		return fmt.Errorf("only %d samples", n)
	}
	// Median RSS of each block of 100, and the least-squares trend across blocks: a leak
	// shows as a steady slope, while garbage-collector timing only moves single blocks.
	var blocks []float64
	for i := 0; i+100 <= n; i += 100 {
		blocks = append(blocks, float64(median(res.RSS[i:i+100]))/(1<<20))
	}
	var sx, sy, sxx, sxy float64
	for i, y := range blocks {
		x := float64(i)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	k := float64(len(blocks))
	slope := (k*sxy - sx*sy) / (k*sxx - sx*sx) // MB per 100 analyses
	verdict := "flat"
	if slope*k > 5 {
		verdict = "**growing**"
	}
	var bs []string
	for _, b := range blocks {
		bs = append(bs, fmt.Sprintf("%.0f", b))
	}
	r.line("%d analyses in %.0f s (%.0f/s), budget %s: %d refused, %d without Grad-CAM, no crash.", n, res.Seconds, float64(n)/res.Seconds, mb(res.Budget), res.Refused, res.Degraded)
	r.line("")
	r.line("Median RSS per 100 analyses (MB): %s. First hundred %.0f MB, last hundred %.0f MB; trend %+.2f MB per 100 analyses, %+.1f MB over the run (%s). Peak RSS %s.",
		strings.Join(bs, ", "), blocks[0], blocks[len(blocks)-1], slope, slope*k, verdict, mb(p.maxRSS))
	return nil
}

// soakChild analyses every listed photo the way the desktop app does (watchdog plan, analysis,
// display-sized Grad-CAM overlay) and prints the resident memory after each.
func soakChild() error {
	b, err := os.ReadFile(filepath.Join(*work, "soak-images.txt"))
	if err != nil {
		return err
	}
	paths := strings.Split(string(b), "\n")
	m, err := loadModel(filepath.Join("internal", "assets", "dermal-int8.onnx"))
	if err != nil {
		return err
	}
	s, err := memory.Read()
	if err != nil {
		return err
	}
	eng := newEngine(m)
	defer eng.Close()
	budget := watchdog.DefaultBudget(s.Total)
	debug.SetMemoryLimit(watchdog.GoHeapLimit(budget))
	guard := watchdog.NewGuard(watchdog.Policy{Budget: budget, Costs: watchdog.DefaultCosts}, eng, memory.Read, 0, nil)
	c := clinic.New(eng, nil, guard)
	defer c.Close()
	res := soakResult{Budget: budget}
	start := time.Now()
	for _, path := range paths {
		photo, err := c.ReadPhoto(path)
		if err != nil {
			return err
		}
		an, err := c.AnalyseGuarded(context.Background(), photo, true)
		var refused *watchdog.RefusedError
		switch {
		case errors.As(err, &refused):
			res.Refused++
		case err != nil:
			return err
		case an.GradCAMAllowed:
			heat, err := an.GradCAM(an.Top)
			if err != nil {
				return err
			}
			_ = heat.Overlay(imaging.Fit(photo.Image, 900, 900, imaging.Lanczos), 0.45)
		default:
			res.Degraded++
		}
		sample, err := memory.Read()
		if err != nil {
			return err
		}
		res.RSS = append(res.RSS, sample.RSS)
	}
	res.Seconds = time.Since(start).Seconds()
	_ = slices.Max(res.RSS)
	return json.NewEncoder(os.Stdout).Encode(res)
}
