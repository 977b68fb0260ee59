package allinone

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"

	"github.com/todoevents/todo/dev/daprd"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/server"
)

// DaprOptions put every function behind its own daprd.
type DaprOptions struct {
	Bin string // the daprd binary
	// Config is the tree of the Dapr resources (daprd.Tree, k8s/dapr);
	// WorkDir receives them with the broker's address.
	Config, WorkDir string
	Log             io.Writer // the sidecars' output
	// Scheduler is the Dapr scheduler's address for the Jobs API (empty:
	// the sidecars run without one).
	Scheduler string
}

// Sidecar describes one function's daprd, for the operator.
type Sidecar struct {
	Function string
	AppPort  int
	Ports    daprd.Ports
}

// sidecar is a function served on its own port beside its daprd.
type sidecar struct {
	Sidecar
	srv  *http.Server
	dapr *daprd.Sidecar
}

func (s *sidecar) stop() {
	if s.dapr != nil {
		s.dapr.Stop()
	}
	_ = s.srv.Close()
}

// Sidecars lists the running sidecars.
func (s *Stack) Sidecars() []Sidecar {
	out := make([]Sidecar, len(s.sidecars))
	for i, sc := range s.sidecars {
		out[i] = sc.Sidecar
	}
	return out
}

// prepare writes the resources for brokers and makes sure the topics exist
// (daprd subscribes and publishes only to existing topics).
func (o *DaprOptions) prepare(brokers string, partitions int32) (string, error) {
	dir := filepath.Join(o.WorkDir, "dapr-resources")
	if err := daprd.Resources(o.Config, dir, brokers); err != nil {
		return "", err
	}
	return dir, kafka.EnsureTopics(zerolog.Nop(), strings.Split(brokers, ","), max(partitions, 3), events.Topics...)
}

// start starts fn publishing through a new daprd, serves it on a loopback
// port and starts the daprd in front of it. A sidecar is returned as soon
// as the function started, so Close stops it whatever fails later.
func (o *DaprOptions) start(ctx context.Context, name string, fn server.Service, base map[string]string, resources string) (*sidecar, error) {
	ports, err := daprd.NewPorts()
	if err != nil {
		return nil, err
	}
	env := maps.Clone(base)
	env["EVENTS_TRANSPORT"] = config.TransportDapr
	env["DAPR_HTTP_PORT"] = fmt.Sprint(ports.HTTP)
	env["KAFKA_CONSUME"] = "false" // recur-task gets its events from its sidecar
	if err := fn.Start(ctx, env); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = fn.Stop(ctx)
		return nil, err
	}
	sc := &sidecar{Sidecar: Sidecar{Function: name, AppPort: ln.Addr().(*net.TCPAddr).Port, Ports: ports},
		srv: &http.Server{Handler: server.Mux(fn)}}
	go func() { _ = sc.srv.Serve(ln) }()
	sc.dapr, err = daprd.Start(daprd.Options{Bin: o.Bin, AppID: name, AppPort: sc.AppPort, Ports: ports,
		Resources: resources, AppToken: env["APP_API_TOKEN"], Scheduler: o.Scheduler, Log: o.Log})
	if err != nil {
		return sc, fmt.Errorf("daprd of %s: %w", name, err)
	}
	return sc, nil
}
