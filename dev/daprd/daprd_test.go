package daprd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The self-hosted resources are the Kubernetes tree's, less its namespace
// and with the local brokers: one tree, nothing to keep in step by hand.
func TestResourcesAreTheKubernetesTreeSelfHosted(t *testing.T) {
	t.Parallel()
	tree := filepath.Join("..", "..", Tree)
	out := t.TempDir()
	if err := Resources(tree, out, "127.0.0.1:1234,127.0.0.1:1235"); err != nil {
		t.Fatal(err)
	}
	sources := map[string]string{"kafka-pubsub.yaml": "components/kafka-pubsub.yaml",
		"subscriptions.yaml": "subscriptions.yaml", "resiliency.yaml": "resiliency.yaml"}
	written, _ := filepath.Glob(filepath.Join(out, "*.yaml"))
	if len(written) != len(sources) {
		t.Fatalf("wrote %v, want %d resources", written, len(sources))
	}
	for name, src := range sources {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(tree, src))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(got), "namespace:") || strings.Contains(string(got), "svc.cluster.local") {
			t.Errorf("%s keeps the cluster's namespace or brokers:\n%s", name, got)
		}
		// Every other line is the tree's, in order.
		var kept []string
		for _, line := range strings.Split(string(want), "\n") {
			if !strings.HasPrefix(line, "  namespace:") && !strings.Contains(line, "svc.cluster.local") {
				kept = append(kept, line)
			}
		}
		var gotLines []string
		for _, line := range strings.Split(string(got), "\n") {
			if !strings.Contains(line, "127.0.0.1:1234,127.0.0.1:1235") {
				gotLines = append(gotLines, line)
			}
		}
		if strings.Join(kept, "\n") != strings.Join(gotLines, "\n") {
			t.Errorf("%s differs from %s beyond namespace and brokers:\n%s", name, src, got)
		}
	}
	pubsub, _ := os.ReadFile(filepath.Join(out, "kafka-pubsub.yaml"))
	if !strings.Contains(string(pubsub), "- name: brokers\n      value: \"127.0.0.1:1234,127.0.0.1:1235\"") {
		t.Errorf("brokers not set:\n%s", pubsub)
	}
}
