package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/todoevents/todo/dev/subprocess"
	"github.com/todoevents/todo/shared/testkit/pgcluster"
)

// Functions are the function binaries the tier runs.
var Functions = []string{"create-task", "complete-task", "skip-task", "read-tasks", "update-task", "delete-task", "recur-task",
	"live-updates", "notify"}

// Build compiles every function binary into dir.
func Build(dir string) error {
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(self), "..", "..")
	for _, fn := range Functions {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, fn), "./functions/"+fn+"/cmd")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %w\n%s", fn, err, out)
		}
	}
	return nil
}

// Proc is one running function binary.
type Proc struct {
	Label             string // as given to StartProc
	Port, MetricsPort int
	*subprocess.Process
}

// StartProc runs binary bin with env (PORT and METRICS_ADDR are chosen
// here), logging to logDir/<label>.log, and waits until it is ready.
func StartProc(bin, label string, env map[string]string, logDir string) (*Proc, error) {
	port, err := pgcluster.FreePort()
	if err != nil {
		return nil, err
	}
	metricsPort, err := pgcluster.FreePort()
	if err != nil {
		return nil, err
	}
	log, err := os.OpenFile(filepath.Join(logDir, label+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"PORT=" + strconv.Itoa(port), "METRICS_ADDR=127.0.0.1:" + strconv.Itoa(metricsPort),
		"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = subprocess.Attr(false)
	proc, err := subprocess.Start(cmd, func() { log.Close() })
	if err != nil {
		log.Close()
		return nil, err
	}
	p := &Proc{Label: label, Port: port, MetricsPort: metricsPort, Process: proc}
	if err := proc.WaitReady(p.URL()+"/health/readiness", 60*time.Second); err != nil {
		return nil, fmt.Errorf("%s: %w; see %s.log", label, err, label)
	}
	return p, nil
}

// URL is the process's base URL.
func (p *Proc) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", p.Port) }

// MetricsURL is where the process serves /metrics.
func (p *Proc) MetricsURL() string { return fmt.Sprintf("http://127.0.0.1:%d/metrics", p.MetricsPort) }
