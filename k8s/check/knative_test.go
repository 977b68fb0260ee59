package check

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"
)

// functions are the function directories, each a Knative Service.
var functions = []string{"create-task", "complete-task", "skip-task", "read-tasks", "update-task", "delete-task", "recur-task", "live-updates", "notify"}

// readmeVariables are the variables of the README's configuration table.
func readmeVariables(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z0-9_]+)` \\|").FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = true
	}
	if len(out) < 20 {
		t.Fatalf("found %d variables in the README's table", len(out))
	}
	return out
}

// checkKustomization checks that a kustomization lists files that exist,
// and every manifest of its directory.
func checkKustomization(t *testing.T, d doc) {
	t.Helper()
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
		Components []string `json:"components"`
		Patches    []struct {
			Target map[string]string `json:"target"`
			Patch  string            `json:"patch"`
		} `json:"patches"`
	}
	if err := yaml.UnmarshalStrict(d.raw, &k); err != nil {
		t.Errorf("%v: %v", d, err)
	}
	dir := filepath.Dir(d.file)
	for _, r := range append(k.Resources, k.Components...) {
		if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
			t.Errorf("%v: resource %s: %v", d, r, err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" && !slices.Contains(k.Resources, base) {
			t.Errorf("%v: %s is not listed", d, base)
		}
	}
}

// checkKnative cross-checks the Knative variant: a Service per function
// with its image, probes and a restricted security context; recur-task
// cluster-local and fed by an ordered KafkaSource with a dead-letter sink
// on task-events-dlq and a consumer group no other variant uses; the
// route of the single API host reaching every API function; and the
// func.yaml files naming what exists.
func checkKnative(t *testing.T, o objects, documented map[string]bool) {
	t.Helper()
	ksvcs := map[string]bool{}
	for _, k := range o.ksvcs {
		ksvcs[k.Name] = true
		c := k.Spec.Template.Spec.Containers[0]
		if c.Image != "registry.example.com/todo/"+k.Name+":latest" {
			t.Errorf("ksvc %s: image %s", k.Name, c.Image)
		}
		if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/health/readiness" ||
			c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/health/liveness" {
			t.Errorf("ksvc %s: probes", k.Name)
		}
		sc := c.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.AllowPrivilegeEscalation == nil ||
			*sc.AllowPrivilegeEscalation || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
			sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("ksvc %s: the security context is not restricted", k.Name)
		}
		if (k.Labels["networking.knative.dev/visibility"] == "cluster-local") != (k.Name == "recur-task") {
			t.Errorf("ksvc %s: only recur-task is cluster-local", k.Name)
		}
		if k.Spec.Template.Spec.ContainerConcurrency == nil || k.Spec.Template.Annotations["autoscaling.knative.dev/max-scale"] == "" {
			t.Errorf("ksvc %s: no container concurrency or max scale", k.Name)
		}
	}
	for _, fn := range functions {
		if !ksvcs[fn] {
			t.Errorf("no Knative Service of %s", fn)
		}
	}
	for key := range o.configMaps["todo/todo-config"].Data {
		if !documented[key] {
			t.Errorf("config map todo-config: %s is not a documented variable", key)
		}
	}
	sinks := map[string]string{}
	for _, s := range o.kafkaSinks {
		sinks[s.Name] = s.Spec.Topic
	}
	if len(o.kafkaSources) != 1 {
		t.Fatalf("%d KafkaSources, want 1", len(o.kafkaSources))
	}
	src := o.kafkaSources[0]
	groups := map[string]string{"knative": src.Spec.ConsumerGroup, "dapr": daprGroup(o), "plain": plainGroup(o)}
	seen := map[string]string{}
	for variant, g := range groups {
		if other, dup := seen[g]; dup || g == "" {
			t.Errorf("consumer group %q of the %s variant is empty or also %s's", g, variant, other)
		}
		seen[g] = variant
	}
	if src.Spec.Ordering != "ordered" || src.Annotations["kafka.eventing.knative.dev/delivery.order"] != "ordered" || !slices.Equal(src.Spec.Topics, []string{"task-events"}) ||
		refers(&src.Spec.Sink) != "Service recur-task" || src.Spec.Delivery.Retry == nil ||
		refers(src.Spec.Delivery.DeadLetterSink) != "KafkaSink task-events-dlq" || sinks["task-events-dlq"] != "task-events-dlq" {
		t.Errorf("KafkaSource %s: %+v", src.Name, src.Spec)
	}
	if len(o.pingSources) != 1 {
		t.Fatalf("%d PingSources, want 1 (the reminders' tick)", len(o.pingSources))
	}
	if ps := o.pingSources[0]; ps.Spec.Schedule != "* * * * *" || refers(&ps.Spec.Sink) != "Service recur-task" {
		t.Errorf("PingSource %s: %+v, want a tick every minute to recur-task", ps.Name, ps.Spec)
	}
	routed := map[string]bool{}
	for _, r := range o.routes {
		for _, rule := range r.Spec.Rules {
			for _, b := range rule.BackendRefs {
				if !ksvcs[string(b.Name)] {
					t.Errorf("route %s: backend %s is no Knative Service", r.Name, b.Name)
				}
				routed[string(b.Name)] = true
			}
		}
		for _, p := range r.Spec.ParentRefs {
			if !slices.ContainsFunc(o.gateways, func(g gatewayv1.Gateway) bool { return g.Name == string(p.Name) }) {
				t.Errorf("route %s: gateway %s does not exist", r.Name, p.Name)
			}
		}
	}
	for _, fn := range functions {
		if routed[fn] == (fn == "recur-task") {
			t.Errorf("the API host routes to %s: %v (recur-task is internal, the others are the API)", fn, routed[fn])
		}
	}
	checkFuncYAML(t, o, documented)
}

func daprGroup(o objects) string {
	for _, c := range o.components {
		if g := metadataValue(c, "consumerGroup"); g != "" {
			return g
		}
	}
	return ""
}

func plainGroup(o objects) string {
	for _, d := range o.deployments {
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				if e.Name == "KAFKA_CONSUMER_GROUP" {
					return e.Value
				}
			}
		}
	}
	return ""
}

// funcYAML holds the fields of a func.yaml checked here (the schema test
// validates the whole file).
type funcYAML struct {
	Name   string `json:"name"`
	Invoke string `json:"invoke"`
	Run    struct {
		Envs []struct{ Name, Value string } `json:"envs"`
	} `json:"run"`
	Deploy struct {
		Namespace string                        `json:"namespace"`
		Labels    []struct{ Key, Value string } `json:"labels"`
		Options   struct {
			Scale struct {
				Min, Max *int64
				Metric   string
				Target   *float64
			} `json:"scale"`
			Resources struct {
				Requests struct{ CPU, Memory string } `json:"requests"`
				Limits   struct {
					CPU, Memory string
					Concurrency *int64
				} `json:"limits"`
			} `json:"resources"`
		} `json:"options"`
		HealthEndpoints struct{ Liveness, Readiness string } `json:"healthEndpoints"`
	} `json:"deploy"`
}

// checkFuncYAML reads each function's func.yaml: its name, invoke (every
// Handle has the HTTP signature), health endpoints, envs that name
// documented variables, existing secrets and config maps, and that the
// Service kn func deploy makes from it is the one k8s/knative declares.
func checkFuncYAML(t *testing.T, o objects, documented map[string]bool) {
	t.Helper()
	ref := regexp.MustCompile(`^\{\{ (secret|configMap):([a-z0-9-]+)(?::([A-Za-z0-9_.-]+))? \}\}$`)
	for _, fn := range functions {
		b, err := os.ReadFile(filepath.Join("..", "..", "functions", fn, "func.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var f funcYAML
		if err := yaml.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s/func.yaml: %v", fn, err)
		}
		if f.Name != fn || f.Invoke != "http" || f.Deploy.Namespace != "todo" ||
			f.Deploy.HealthEndpoints.Liveness != "/health/liveness" || f.Deploy.HealthEndpoints.Readiness != "/health/readiness" {
			t.Errorf("%s/func.yaml: %+v", fn, f)
		}
		for _, e := range f.Run.Envs {
			if e.Name != "" && !documented[e.Name] {
				t.Errorf("%s/func.yaml: %s is not a documented variable", fn, e.Name)
			}
			m := ref.FindStringSubmatch(e.Value)
			switch {
			case m == nil && strings.HasPrefix(e.Value, "{{"):
				t.Errorf("%s/func.yaml: %q is no secret or config map reference", fn, e.Value)
			case m == nil:
			case m[1] == "secret":
				if _, ok := o.secrets["todo/"+m[2]].StringData[m[3]]; !ok {
					t.Errorf("%s/func.yaml: secret %s key %s does not exist", fn, m[2], m[3])
				}
			default:
				cm, ok := o.configMaps["todo/"+m[2]]
				if _, has := cm.Data[m[3]]; !ok || (m[3] != "" && !has) {
					t.Errorf("%s/func.yaml: config map %s key %q does not exist", fn, m[2], m[3])
				}
			}
		}
		for _, svc := range o.ksvcs {
			if svc.Name == fn {
				sameService(t, fn, f, svc)
			}
		}
	}
}

// refers names what a destination refers to: "Kind name", or "".
func refers(d *duckv1.Destination) string {
	if d == nil || d.Ref == nil {
		return ""
	}
	return d.Ref.Kind + " " + d.Ref.Name
}

// sameService checks that the Service kn func deploy makes from f (scale,
// concurrency, resources, labels, environment) is svc: deploying a function
// with kn func or with k8s/knative gives the same thing.
func sameService(t *testing.T, fn string, f funcYAML, svc servingv1.Service) {
	t.Helper()
	opts, ann := f.Deploy.Options, svc.Spec.Template.Annotations
	num := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	target := ""
	if opts.Scale.Target != nil {
		target = strconv.FormatFloat(*opts.Scale.Target, 'f', -1, 64)
	}
	for key, want := range map[string]string{
		"autoscaling.knative.dev/min-scale": num(opts.Scale.Min),
		"autoscaling.knative.dev/max-scale": num(opts.Scale.Max),
		"autoscaling.knative.dev/target":    target,
	} {
		if ann[key] != want {
			t.Errorf("%s: %s is %q in func.yaml, %q in its Service", fn, key, want, ann[key])
		}
	}
	if m := opts.Scale.Metric; m != "" && m != "concurrency" && ann["autoscaling.knative.dev/metric"] != m {
		t.Errorf("%s: scale metric %s is not the Service's", fn, m)
	}
	if cc := svc.Spec.Template.Spec.ContainerConcurrency; num(opts.Resources.Limits.Concurrency) != num(cc) {
		t.Errorf("%s: concurrency %s in func.yaml, %s in its Service", fn, num(opts.Resources.Limits.Concurrency), num(cc))
	}
	c := svc.Spec.Template.Spec.Containers[0]
	for _, q := range []struct {
		name, want string
		list       corev1.ResourceList
		res        corev1.ResourceName
	}{
		{"requests.cpu", opts.Resources.Requests.CPU, c.Resources.Requests, corev1.ResourceCPU},
		{"requests.memory", opts.Resources.Requests.Memory, c.Resources.Requests, corev1.ResourceMemory},
		{"limits.cpu", opts.Resources.Limits.CPU, c.Resources.Limits, corev1.ResourceCPU},
		{"limits.memory", opts.Resources.Limits.Memory, c.Resources.Limits, corev1.ResourceMemory},
	} {
		got, has := q.list[q.res]
		if (q.want == "") == has || (has && got.Cmp(resource.MustParse(q.want)) != 0) {
			t.Errorf("%s: resources %s %q in func.yaml, %v in its Service", fn, q.name, q.want, q.list)
		}
	}
	for _, l := range f.Deploy.Labels {
		if svc.Labels[l.Key] != l.Value {
			t.Errorf("%s: label %s=%s of func.yaml is not on its Service", fn, l.Key, l.Value)
		}
	}
	if svc.Labels["networking.knative.dev/visibility"] == "cluster-local" &&
		!slices.ContainsFunc(f.Deploy.Labels, func(l struct{ Key, Value string }) bool { return l.Key == "networking.knative.dev/visibility" }) {
		t.Errorf("%s: its Service is cluster-local, func.yaml does not say so", fn)
	}
	// The environment, as kn func deploy writes it.
	var fromFunc, fromSvc []string
	for _, e := range f.Run.Envs {
		fromFunc = append(fromFunc, e.Name+"="+e.Value)
	}
	for _, e := range c.Env {
		v := e.Value
		if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil {
			v = "{{ secret:" + r.SecretKeyRef.Name + ":" + r.SecretKeyRef.Key + " }}"
		}
		fromSvc = append(fromSvc, e.Name+"="+v)
	}
	for _, e := range c.EnvFrom {
		if e.ConfigMapRef != nil {
			fromSvc = append(fromSvc, "={{ configMap:"+e.ConfigMapRef.Name+" }}")
		}
	}
	slices.Sort(fromFunc)
	slices.Sort(fromSvc)
	if !slices.Equal(fromFunc, fromSvc) {
		t.Errorf("%s: environment of func.yaml %v, of its Service %v", fn, fromFunc, fromSvc)
	}
}
