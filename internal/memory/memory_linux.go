//go:build linux

package memory

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
)

func read() (Sample, error) {
	var s Sample
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return s, err
	}
	meminfo, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return s, err
	}
	fields := map[string]*uint64{"VmRSS:": &s.RSS, "VmHWM:": &s.PeakRSS, "MemAvailable:": &s.Available, "MemTotal:": &s.Total}
	for _, src := range [][]byte{status, meminfo} {
		sc := bufio.NewScanner(bytes.NewReader(src))
		for sc.Scan() {
			f := bytes.Fields(sc.Bytes())
			if len(f) < 2 {
				continue
			}
			if p, ok := fields[string(f[0])]; ok {
				kb, err := strconv.ParseUint(string(f[1]), 10, 64)
				if err != nil {
					return s, fmt.Errorf("parsing %s: %w", f[0], err)
				}
				*p = kb * 1024
			}
		}
	}
	return s, nil
}
