package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// profiler takes CPU profiles of the functions while a scenario runs
// (-profile DIR); with no directory it does nothing.
type profiler struct {
	dir string
	sys *system
	wg  sync.WaitGroup
}

// start profiles every function for d from now, into
// <dir>/<label>-<function>.pprof; wait waits for the profiles.
func (p *profiler) start(ctx context.Context, label string, d time.Duration) {
	if p == nil || p.dir == "" {
		return
	}
	for name, addr := range p.sys.debug {
		p.startOne(ctx, label, name, addr, d)
	}
}

// startOne profiles the function name serving profiles at addr.
func (p *profiler) startOne(ctx context.Context, label, name, addr string, d time.Duration) {
	if p == nil || p.dir == "" {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		path := filepath.Join(p.dir, label+"-"+name+".pprof")
		if err := fetchProfile(ctx, addr, d, path); err != nil {
			log("  profile of %s: %v", name, err)
		}
	}()
}

func (p *profiler) wait() {
	if p != nil {
		p.wg.Wait()
	}
}

func fetchProfile(ctx context.Context, addr string, d time.Duration, path string) error {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, max(1, int(d.Seconds())))
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
