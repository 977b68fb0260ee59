package check

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"
)

// TestMonitoringManifests: the PrometheusRule holds exactly the rules of
// monitoring/alerts.yml (which promtool checks and tests), and the pod
// monitors scrape the metrics port of every function of both variants.
func TestMonitoringManifests(t *testing.T) {
	t.Parallel()
	o := decode(t, load(t, "k8s/monitoring/*.yaml"))
	b, err := os.ReadFile(filepath.Join("..", "..", "monitoring", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var want monitoringv1.PrometheusRuleSpec
	if err := yaml.UnmarshalStrict(b, &want); err != nil {
		t.Fatalf("monitoring/alerts.yml: %v", err)
	}
	if len(o.rules) != 1 || !reflect.DeepEqual(o.rules[0].Spec, want) {
		t.Fatalf("k8s/monitoring/prometheusrule.yaml does not hold monitoring/alerts.yml's groups")
	}
	if len(want.Groups) == 0 || len(want.Groups[0].Rules) < 8 {
		t.Fatalf("alerts.yml has %d groups", len(want.Groups))
	}

	functions := []string{}
	for _, d := range load(t, "k8s/dapr/functions.yaml", "k8s/knative/*.yaml") {
		if d.meta.Kind == "Deployment" || d.meta.Kind == "Service" && d.meta.APIVersion == "serving.knative.dev/v1" {
			if !slices.Contains(functions, d.meta.Name) {
				functions = append(functions, d.meta.Name)
			}
		}
	}
	if len(functions) < 9 {
		t.Fatalf("found only the functions %v", functions)
	}
	var dapr, knative bool
	for _, pm := range o.podMonitors {
		if len(pm.Spec.Selector.MatchExpressions) != 1 || len(pm.Spec.PodMetricsEndpoints) != 1 {
			t.Fatalf("%s: want one selector expression and one endpoint", pm.Name)
		}
		sel, ep := pm.Spec.Selector.MatchExpressions[0], pm.Spec.PodMetricsEndpoints[0]
		for _, fn := range functions {
			if !slices.Contains(sel.Values, fn) {
				t.Errorf("%s does not select %s", pm.Name, fn)
			}
		}
		switch sel.Key {
		case "app":
			dapr = ep.Port == "metrics" && slices.Contains(pm.Spec.PodTargetLabels, "app")
		case "serving.knative.dev/service":
			//lint:ignore SA1019 a Knative container cannot declare (and so name) a second port
			knative = ep.TargetPort != nil && ep.TargetPort.IntValue() == 9464 && len(ep.RelabelConfigs) == 1 &&
				ep.RelabelConfigs[0].TargetLabel == "app"
		}
	}
	if !dapr || !knative {
		t.Fatalf("pod monitors: the Dapr variant's by port name and label app %v, Knative's by port 9464 relabelled to app %v", dapr, knative)
	}
}
