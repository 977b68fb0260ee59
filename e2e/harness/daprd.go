package harness

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/todoevents/todo/internal/pgcluster"
)

// DaprdBinary returns the daprd binary scripts/daprd.sh builds (once, into
// ~/.cache), building it when missing.
func DaprdBinary() (string, error) {
	_, self, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(self), "..", "..", "scripts", "daprd.sh")
	var out, errOut bytes.Buffer
	cmd := exec.Command("bash", script)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build daprd: %w\n%s", err, errOut.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// DaprPorts are a sidecar's ports, chosen before its app starts (the app
// needs the HTTP port to publish).
type DaprPorts struct{ HTTP, GRPC, Internal, Metrics int }

// NewDaprPorts picks free loopback ports.
func NewDaprPorts() (DaprPorts, error) {
	var p DaprPorts
	for _, port := range []*int{&p.HTTP, &p.GRPC, &p.Internal, &p.Metrics} {
		var err error
		if *port, err = pgcluster.FreePort(); err != nil {
			return p, err
		}
	}
	return p, nil
}

// Daprd is a running sidecar.
type Daprd struct {
	Ports DaprPorts
	Proc  *Proc
}

// StartDaprd runs daprd for app appID listening on appPort, with the
// resources (components, resiliency) in resources and env (APP_API_TOKEN),
// logging to logDir/<appID>-daprd.log, and waits until it is healthy.
func StartDaprd(bin, appID string, appPort int, ports DaprPorts, resources string, env map[string]string, logDir string) (*Daprd, error) {
	log, err := os.OpenFile(filepath.Join(logDir, appID+"-daprd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--app-id", appID, "--app-port", strconv.Itoa(appPort),
		"--dapr-http-port", strconv.Itoa(ports.HTTP), "--dapr-grpc-port", strconv.Itoa(ports.GRPC),
		"--dapr-internal-grpc-port", strconv.Itoa(ports.Internal), "--metrics-port", strconv.Itoa(ports.Metrics),
		"--resources-path", resources, "--log-level", "info", "--app-protocol", "http")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = childProcAttr(false)
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	p := &Proc{Port: ports.HTTP, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); log.Close(); close(p.done) }()
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-p.done:
			return nil, fmt.Errorf("daprd of %s exited during start-up; see %s-daprd.log", appID, appID)
		default:
		}
		if resp, err := http.Get(p.URL() + "/v1.0/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return &Daprd{Ports: ports, Proc: p}, nil
			}
		}
		if time.Now().After(deadline) {
			p.Kill()
			return nil, fmt.Errorf("daprd of %s not healthy after 90s; see %s-daprd.log", appID, appID)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
