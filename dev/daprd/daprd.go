// Package daprd builds (once, cached) and runs real Dapr sidecars for the
// development command and the end-to-end tier.
package daprd

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/todoevents/todo/dev/subprocess"
	"github.com/todoevents/todo/shared/testkit/pgcluster"
)

// Binary returns the daprd binary scripts/daprd.sh builds once into
// ~/.cache (building it when missing, 5 to 20 minutes), or $DAPRD.
func Binary() (string, error) {
	if bin := os.Getenv("DAPRD"); bin != "" {
		return bin, nil
	}
	return build("daprd")
}

// SchedulerBinary returns the Dapr scheduler the same script builds once
// from the same module (the store and clock of the Jobs API).
func SchedulerBinary() (string, error) { return build("scheduler") }

func build(what string) (string, error) {
	_, self, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(self), "..", "..", "scripts", "daprd.sh")
	var out, errOut bytes.Buffer
	cmd := exec.Command("bash", script, what)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", what, err, errOut.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// Ports are a sidecar's ports, chosen before its app starts (the app needs
// the HTTP port to publish).
type Ports struct{ HTTP, GRPC, Internal, Metrics int }

// NewPorts picks free loopback ports.
func NewPorts() (Ports, error) {
	var p Ports
	for _, port := range []*int{&p.HTTP, &p.GRPC, &p.Internal, &p.Metrics} {
		var err error
		if *port, err = pgcluster.FreePort(); err != nil {
			return p, err
		}
	}
	return p, nil
}

// URL is the sidecar's HTTP API.
func (p Ports) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", p.HTTP) }

// Sidecar is a running daprd.
type Sidecar struct {
	Ports Ports
	*subprocess.Process
}

// Options describe a sidecar.
type Options struct {
	Bin, AppID string
	AppPort    int
	Ports      Ports
	// Resources is the directory of components and policies.
	Resources string
	// AppToken is the app API token daprd sends its app (APP_API_TOKEN).
	AppToken string
	// Scheduler is the Dapr scheduler's address (host:port) for the Jobs
	// API; empty runs daprd without one.
	Scheduler string
	// Config is a Dapr Configuration file (e.g. TracingConfig's); empty
	// runs daprd with the defaults.
	Config string
	Log    io.Writer
}

// Start runs daprd and waits until it is healthy.
func Start(o Options) (*Sidecar, error) {
	cmd := exec.Command(o.Bin, "--app-id", o.AppID, "--app-port", strconv.Itoa(o.AppPort), "--app-protocol", "http",
		"--dapr-http-port", strconv.Itoa(o.Ports.HTTP), "--dapr-grpc-port", strconv.Itoa(o.Ports.GRPC),
		"--dapr-internal-grpc-port", strconv.Itoa(o.Ports.Internal), "--metrics-port", strconv.Itoa(o.Ports.Metrics),
		"--resources-path", o.Resources, "--log-level", "info")
	if o.Scheduler != "" {
		cmd.Args = append(cmd.Args, "--scheduler-host-address", o.Scheduler)
	}
	if o.Config != "" {
		cmd.Args = append(cmd.Args, "--config", o.Config)
	}
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "APP_API_TOKEN=" + o.AppToken}
	cmd.Stdout, cmd.Stderr = o.Log, o.Log
	cmd.SysProcAttr = subprocess.Attr(false)
	proc, err := subprocess.Start(cmd, nil)
	if err != nil {
		return nil, err
	}
	if err := proc.WaitReady(o.Ports.URL()+"/v1.0/healthz", 90*time.Second); err != nil {
		return nil, fmt.Errorf("daprd of %s: %w", o.AppID, err)
	}
	return &Sidecar{Ports: o.Ports, Process: proc}, nil
}

// TracingConfig writes to file a Dapr Configuration that samples every
// trace a request does not decide and exports daprd's spans by OTLP/HTTP to
// endpoint (host:port, plain HTTP).
func TracingConfig(file, endpoint string) error {
	return os.WriteFile(file, []byte(`apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: tracing
spec:
  tracing:
    samplingRate: "1"
    otel:
      endpointAddress: "`+endpoint+`"
      isSecure: false
      protocol: http
`), 0o644)
}

// Tree is the one tree of Dapr resources, relative to the repository: the
// Kubernetes variant's (k8s/dapr). Self-hosted sidecars get the same
// resources through Resources.
const Tree = "k8s/dapr"

// Resources writes the Dapr resources of the Kubernetes tree dir
// (components/*.yaml, subscriptions.yaml, resiliency.yaml; not the
// kustomization or the Deployments) into out as a self-hosted daprd reads
// them with --resources-path: flat, without the cluster's namespace, and
// with brokers (host:port, comma-separated) in place of the cluster's.
func Resources(dir, out, brokers string) error {
	files, err := filepath.Glob(filepath.Join(dir, "components", "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no Dapr components in %s/components", dir)
	}
	files = append(files, filepath.Join(dir, "subscriptions.yaml"), filepath.Join(dir, "resiliency.yaml"))
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, filepath.Base(f)), SelfHosted(b, brokers), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// SelfHosted is the Kubernetes resource doc as self-hosted: its
// metadata.namespace line dropped and the value of a component's brokers
// set to brokers.
func SelfHosted(doc []byte, brokers string) []byte {
	var out []string
	brokersNext := false
	for _, line := range strings.Split(string(doc), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "  namespace:"):
			continue
		case brokersNext && strings.HasPrefix(trimmed, "value:"):
			line = line[:strings.Index(line, "value:")] + `value: "` + brokers + `"`
		}
		brokersNext = trimmed == "- name: brokers"
		out = append(out, line)
	}
	return []byte(strings.Join(out, "\n"))
}

// Scheduler is a running Dapr scheduler (standalone, its embedded etcd's
// data in a directory of its own, kept across restarts).
type Scheduler struct {
	Addr string // host:port for daprd's --scheduler-host-address
	*subprocess.Process
}

// StartScheduler runs the scheduler bin with its data in dataDir and waits
// until it is healthy.
func StartScheduler(bin, dataDir string, log io.Writer) (*Scheduler, error) {
	var port, health, metrics, client, peer int
	for _, p := range []*int{&port, &health, &metrics, &client, &peer} {
		var err error
		if *p, err = pgcluster.FreePort(); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(bin, "--mode", "standalone", "--listen-address", "127.0.0.1", "--port", strconv.Itoa(port),
		"--healthz-port", strconv.Itoa(health), "--metrics-port", strconv.Itoa(metrics),
		"--etcd-data-dir", dataDir, "--etcd-client-port", strconv.Itoa(client),
		"--etcd-initial-cluster", fmt.Sprintf("dapr-scheduler-server-0=http://127.0.0.1:%d", peer), "--log-level", "info")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = subprocess.Attr(false)
	proc, err := subprocess.Start(cmd, nil)
	if err != nil {
		return nil, err
	}
	if err := proc.WaitReady(fmt.Sprintf("http://127.0.0.1:%d/healthz", health), 90*time.Second); err != nil {
		return nil, fmt.Errorf("dapr scheduler: %w", err)
	}
	return &Scheduler{Addr: fmt.Sprintf("127.0.0.1:%d", port), Process: proc}, nil
}
