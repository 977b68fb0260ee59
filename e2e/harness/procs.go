package harness

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/todoevents/todo/internal/pgcluster"
)

// Functions are the function binaries the tier runs.
var Functions = []string{"create-task", "complete-task", "read-tasks", "recur-task"}

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
	Port int
	cmd  *exec.Cmd
	done chan struct{}
}

// StartProc runs binary bin with env (PORT is chosen here), logging to
// logDir/<label>.log, and waits until it is ready.
func StartProc(bin, label string, env map[string]string, logDir string) (*Proc, error) {
	port, err := pgcluster.FreePort()
	if err != nil {
		return nil, err
	}
	log, err := os.OpenFile(filepath.Join(logDir, label+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"PORT=" + strconv.Itoa(port), "PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = childProcAttr(false)
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	p := &Proc{Port: port, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); log.Close(); close(p.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited during start-up; see %s.log", label, label)
		default:
		}
		if resp, err := http.Get(p.URL() + "/health/readiness"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.Kill()
			return nil, fmt.Errorf("%s not ready after 60s", label)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URL is the process's base URL.
func (p *Proc) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", p.Port) }

// Stop sends SIGTERM and waits for a graceful exit.
func (p *Proc) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.Kill()
	}
}

// Kill ends the process at once (SIGKILL), as a crash would.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}
