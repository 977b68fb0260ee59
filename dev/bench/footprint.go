package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/todoevents/todo/dev/harness"
)

// footprintResult is scenario 5 for one function.
type footprintResult struct {
	Function      string  `json:"function"`
	ReadyMs       float64 `json:"ready_ms_median"`
	IdleRSSMB     float64 `json:"idle_rss_mb"`
	LoadedRSSMB   float64 `json:"rss_after_load_mb"`
	BinaryMB      float64 `json:"binary_mb_stripped"`
	StartsMeasure int     `json:"starts"`
}

// footprint measures create-task: exec to ready (median of 20 starts), its
// resident memory idle on a fresh start and after scenario 1's load (the
// process that served it), and the size of its stripped static binary.
func footprint(_ context.Context, s *system, rep *report) error {
	const starts = 20
	bin := filepath.Join(s.bin, "create-task")
	var readies []time.Duration
	var idle float64
	for i := range starts {
		t := time.Now()
		p, err := harness.StartProc(bin, "create-task-start", s.env, s.dir)
		if err != nil {
			return err
		}
		readies = append(readies, time.Since(t))
		if i == starts-1 {
			time.Sleep(500 * time.Millisecond)
			idle = rss(p.Pid())
		}
		p.Stop()
	}
	slices.Sort(readies)
	loaded := rss(s.create.Pid())
	stripped := filepath.Join(s.dir, "create-task-stripped")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", stripped, "./functions/create-task/cmd")
	build.Dir = repoRoot()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	fi, err := os.Stat(stripped)
	if err != nil {
		return err
	}
	rep.Footprint = footprintResult{Function: "create-task", ReadyMs: ms(readies[len(readies)/2]), IdleRSSMB: idle,
		LoadedRSSMB: loaded, BinaryMB: float64(fi.Size()) / (1 << 20), StartsMeasure: starts}
	log("  ready in %.1f ms (median of %d), %.1f MB resident idle, %.1f MB after the load, binary %.1f MB",
		rep.Footprint.ReadyMs, starts, idle, loaded, rep.Footprint.BinaryMB)
	return nil
}

// rss is a process's resident memory in MB (Linux).
func rss(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			return kb / 1024
		}
	}
	return 0
}
