package harness

import (
	"context"
	"fmt"
	"strings"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/todoevents/todo/shared/testkit/pgcluster"
)

// Proxy is a toxiproxy TCP proxy on loopback, used to inject network faults
// between the functions and Kafka.
type Proxy struct {
	Port  int
	proxy *toxiproxy.Proxy
}

// NewProxy listens on a free loopback port; Forward starts relaying.
func NewProxy() (*Proxy, error) {
	port, err := pgcluster.FreePort()
	if err != nil {
		return nil, err
	}
	return &Proxy{Port: port}, nil
}

// Forward starts relaying connections to upstream.
func (p *Proxy) Forward(upstream string) error {
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p.proxy = toxiproxy.NewProxy(server, "kafka", fmt.Sprintf("127.0.0.1:%d", p.Port), upstream)
	return p.proxy.Start()
}

// Addr is the proxy's address.
func (p *Proxy) Addr() string { return fmt.Sprintf("127.0.0.1:%d", p.Port) }

// AddToxic adds a toxic, e.g. kind "latency" with attributes `{"latency":300}`,
// on both directions.
func (p *Proxy) AddToxic(name, kind, attributes string) error {
	for _, stream := range []string{"upstream", "downstream"} {
		body := fmt.Sprintf(`{"name":%q,"type":%q,"stream":%q,"toxicity":1,"attributes":%s}`,
			name+"-"+stream, kind, stream, attributes)
		if _, err := p.proxy.Toxics.AddToxicJson(strings.NewReader(body)); err != nil {
			return err
		}
	}
	return nil
}

// Heal removes every toxic.
func (p *Proxy) Heal() { p.proxy.Toxics.ResetToxics(context.Background()) }

// Close stops the proxy.
func (p *Proxy) Close() { p.proxy.Stop() }
