// Package check decodes every manifest in k8s/ strictly
// (an unknown field is an error) into the upstream Go types (k8s.io/api,
// Dapr's pkg/apis, Knative Serving's, Gateway API's), runs Knative Serving's
// and Eventing's own validation, and cross-checks what they reference:
// namespaces, secrets, config maps, environment variables, images, probes,
// app ids, pub/sub components, topics, sinks, routes, kustomizations,
// func.yaml files and consumer groups. It is a module of its own, so these types stay out of
// the functions' dependencies.
package check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	componentsv1alpha1 "github.com/dapr/dapr/pkg/apis/components/v1alpha1"
	resiliencyv1alpha1 "github.com/dapr/dapr/pkg/apis/resiliency/v1alpha1"
	subscriptionsv2alpha1 "github.com/dapr/dapr/pkg/apis/subscriptions/v2alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/eventing/pkg/apis/feature"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"
)

// doc is one YAML document of a manifest file.
type doc struct {
	file string
	meta struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata"`
	}
	raw []byte
}

func (d doc) String() string { return fmt.Sprintf("%s: %s %s", d.file, d.meta.Kind, d.meta.Name) }

func load(t *testing.T, patterns ...string) []doc {
	t.Helper()
	var out []doc
	for _, p := range patterns {
		files, _ := filepath.Glob(filepath.Join("..", "..", p))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, part := range strings.Split(string(b), "\n---\n") {
				d := doc{file: f, raw: []byte(part)}
				if err := yaml.Unmarshal(d.raw, &d.meta); err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				if d.meta.Kind != "" {
					out = append(out, d)
				}
			}
		}
	}
	return out
}

// objects holds the decoded manifests by kind.
type objects struct {
	namespaces    map[string]bool
	secrets       map[string]corev1.Secret
	configMaps    map[string]corev1.ConfigMap
	deployments   []appsv1.Deployment
	statefulSets  []appsv1.StatefulSet
	jobs          []batchv1.Job
	components    []componentsv1alpha1.Component
	subscriptions []subscriptionsv2alpha1.Subscription
	resiliencies  []resiliencyv1alpha1.Resiliency
	ksvcs         []servingv1.Service
	kafkaSources  []kafkaSource
	pingSources   []sourcesv1.PingSource
	kafkaSinks    []kafkaSink
	gateways      []gatewayv1.Gateway
	routes        []gatewayv1.HTTPRoute
	podMonitors   []monitoringv1.PodMonitor
	rules         []monitoringv1.PrometheusRule
}

// kafkaSource and kafkaSink hold the fields cross-checked here; the API
// server test validates them whole against their CRDs. A KafkaSource's
// delivery and sink are Knative Eventing's own types, validated by
// Eventing's code.
type kafkaSource struct {
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Ordering      string                      `json:"ordering"`
		ConsumerGroup string                      `json:"consumerGroup"`
		Topics        []string                    `json:"topics"`
		Delivery      eventingduckv1.DeliverySpec `json:"delivery"`
		Sink          duckv1.Destination          `json:"sink"`
	} `json:"spec"`
}

type kafkaSink struct {
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Topic string `json:"topic"`
	} `json:"spec"`
}

// decodeAs strictly decodes d into a new T and, when into is set, keeps it.
func decodeAs[T any](t *testing.T, d doc, into *[]T) T {
	t.Helper()
	var v T
	if err := yaml.UnmarshalStrict(d.raw, &v); err != nil {
		t.Errorf("%v: %v", d, err)
	}
	if into != nil {
		*into = append(*into, v)
	}
	return v
}

// decodeLoose reads the fields of T from d, ignoring the others.
func decodeLoose[T any](t *testing.T, d doc) T {
	t.Helper()
	var v T
	if err := yaml.Unmarshal(d.raw, &v); err != nil {
		t.Errorf("%v: %v", d, err)
	}
	return v
}

// decode strictly decodes every document of a kind it knows (the Kafka
// extension's kinds, whose Go module needs newer Knative and Kubernetes
// modules than Serving v0.42.2's, are read loosely, their delivery and sink
// through Eventing's types, and validated whole by the API server test).
func decode(t *testing.T, docs []doc) objects {
	t.Helper()
	o := objects{namespaces: map[string]bool{}, secrets: map[string]corev1.Secret{}, configMaps: map[string]corev1.ConfigMap{}}
	for _, d := range docs {
		switch d.meta.APIVersion + " " + d.meta.Kind {
		case "v1 Namespace":
			o.namespaces[decodeAs[corev1.Namespace](t, d, nil).Name] = true
		case "v1 Secret":
			v := decodeAs[corev1.Secret](t, d, nil)
			o.secrets[v.Namespace+"/"+v.Name] = v
		case "v1 ConfigMap":
			v := decodeAs[corev1.ConfigMap](t, d, nil)
			o.configMaps[v.Namespace+"/"+v.Name] = v
		case "v1 Service":
			decodeAs[corev1.Service](t, d, nil)
		case "apps/v1 Deployment":
			decodeAs(t, d, &o.deployments)
		case "apps/v1 StatefulSet":
			decodeAs(t, d, &o.statefulSets)
		case "batch/v1 Job":
			decodeAs(t, d, &o.jobs)
		case "dapr.io/v1alpha1 Component":
			decodeAs(t, d, &o.components)
		case "dapr.io/v2alpha1 Subscription":
			decodeAs(t, d, &o.subscriptions)
		case "dapr.io/v1alpha1 Resiliency":
			decodeAs(t, d, &o.resiliencies)
		case "serving.knative.dev/v1 Service":
			v := decodeAs(t, d, &o.ksvcs)
			v.SetDefaults(context.Background())
			if err := v.Validate(context.Background()); err != nil {
				t.Errorf("%v: Knative's validation: %v", d, err)
			}
		case "sources.knative.dev/v1beta1 KafkaSource":
			v := decodeLoose[kafkaSource](t, d)
			// The features a cluster has by default (delivery timeouts on).
			ctx := feature.ToContext(context.Background(), feature.FromContextOrDefaults(context.Background()))
			if err := v.Spec.Delivery.Validate(ctx).Also(v.Spec.Sink.Validate(ctx).ViaField("sink")); err != nil {
				t.Errorf("%v: Knative Eventing's validation: %v", d, err)
			}
			o.kafkaSources = append(o.kafkaSources, v)
		case "sources.knative.dev/v1 PingSource":
			v := decodeAs(t, d, &o.pingSources)
			v.SetDefaults(context.Background())
			if err := v.Validate(context.Background()); err != nil {
				t.Errorf("%v: Knative Eventing's validation: %v", d, err)
			}
		case "eventing.knative.dev/v1alpha1 KafkaSink":
			o.kafkaSinks = append(o.kafkaSinks, decodeLoose[kafkaSink](t, d))
		case "gateway.networking.k8s.io/v1 Gateway":
			decodeAs(t, d, &o.gateways)
		case "gateway.networking.k8s.io/v1 HTTPRoute":
			decodeAs(t, d, &o.routes)
		case "kustomize.config.k8s.io/v1beta1 Kustomization", "kustomize.config.k8s.io/v1alpha1 Component":
			checkKustomization(t, d)
		case "monitoring.coreos.com/v1 PodMonitor":
			decodeAs(t, d, &o.podMonitors)
		case "monitoring.coreos.com/v1 PrometheusRule":
			decodeAs(t, d, &o.rules)
		case "policy/v1 PodDisruptionBudget":
			decodeAs[policyv1.PodDisruptionBudget](t, d, nil)
		default:
			t.Errorf("%v: kind not checked here", d)
		}
	}
	return o
}

func metadataValue(c componentsv1alpha1.Component, name string) string {
	for _, m := range c.Spec.Metadata {
		if m.Name == name {
			return m.Value.String()
		}
	}
	return ""
}

func TestKubernetesManifests(t *testing.T) {
	t.Parallel()
	docs := load(t, "k8s/*.yaml", "k8s/*/*.yaml", "k8s/*/*/*.yaml")
	o := decode(t, docs)
	for _, d := range docs {
		if ns := d.meta.Namespace; ns != "" && !o.namespaces[ns] {
			t.Errorf("%v: namespace %q is not created by any manifest", d, ns)
		}
	}
	// Every secret and config map a pod uses exists, with the key.
	type pod struct {
		ns   string
		spec corev1.PodTemplateSpec
	}
	var pods []pod
	appIDs := map[string]corev1.PodTemplateSpec{}
	for _, d := range o.deployments {
		pods = append(pods, pod{d.Namespace, d.Spec.Template})
		if id := d.Spec.Template.Annotations["dapr.io/app-id"]; id != "" {
			appIDs[id] = d.Spec.Template
			if d.Spec.Template.Annotations["dapr.io/enabled"] != "true" {
				t.Errorf("deployment %s: an app id without dapr.io/enabled", d.Name)
			}
		}
	}
	for _, s := range o.statefulSets {
		pods = append(pods, pod{s.Namespace, s.Spec.Template})
	}
	for _, j := range o.jobs {
		pods = append(pods, pod{j.Namespace, j.Spec.Template})
	}
	for _, k := range o.ksvcs {
		pods = append(pods, pod{k.Namespace, corev1.PodTemplateSpec{ObjectMeta: k.Spec.Template.ObjectMeta,
			Spec: k.Spec.Template.Spec.PodSpec}})
	}
	documented := readmeVariables(t)
	for i, pd := range pods {
		ns, p := pd.ns, pd.spec
		for _, c := range p.Spec.Containers {
			if strings.Contains(c.Image, "/todo/") {
				for _, e := range c.Env {
					if !documented[e.Name] {
						t.Errorf("pod %d, %s: %s is not a documented variable", i, c.Name, e.Name)
					}
				}
			}
			for _, e := range c.Env {
				if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
					s, ok := o.secrets[ns+"/"+ref.SecretKeyRef.Name]
					if _, has := s.StringData[ref.SecretKeyRef.Key]; !ok || !has {
						t.Errorf("pod %d, %s: secret %s/%s key %s does not exist", i, c.Name, ns, ref.SecretKeyRef.Name, ref.SecretKeyRef.Key)
					}
				}
			}
			for _, from := range c.EnvFrom {
				if from.ConfigMapRef != nil {
					if _, ok := o.configMaps[ns+"/"+from.ConfigMapRef.Name]; !ok {
						t.Errorf("pod %d, %s: config map %s does not exist", i, c.Name, from.ConfigMapRef.Name)
					}
				}
			}
		}
		if secret := p.Annotations["dapr.io/app-token-secret"]; secret != "" {
			if _, ok := o.secrets[ns+"/"+secret].StringData["token"]; !ok {
				t.Errorf("pod %d: app token secret %s has no key token", i, secret)
			}
		}
	}
	for _, want := range []string{"create-task", "complete-task", "skip-task", "read-tasks", "update-task", "delete-task", "recur-task"} {
		if _, ok := appIDs[want]; !ok {
			t.Errorf("no Dapr-enabled deployment of %s", want)
		}
	}
	checkDapr(t, o, appIDs)
	checkKnative(t, o, documented)
}

// checkDapr cross-checks the Dapr resources against the apps.
func checkDapr(t *testing.T, o objects, appIDs map[string]corev1.PodTemplateSpec) {
	t.Helper()
	components := map[string]componentsv1alpha1.Component{}
	for _, c := range o.components {
		components[c.Name] = c
		for _, s := range c.Scopes {
			if _, ok := appIDs[s]; !ok {
				t.Errorf("component %s scoped to unknown app %s", c.Name, s)
			}
		}
	}
	pubsub := o.configMaps["todo/todo-dapr"].Data["DAPR_PUBSUB"]
	if _, ok := components[pubsub]; !ok {
		t.Errorf("DAPR_PUBSUB %q names no component", pubsub)
	}
	for _, s := range o.subscriptions {
		if _, ok := components[s.Spec.Pubsubname]; !ok {
			t.Errorf("subscription %s: pub/sub %s does not exist", s.Name, s.Spec.Pubsubname)
		}
		if s.Spec.Topic != "task-events" || s.Spec.DeadLetterTopic != "task-events-dlq" || len(s.Spec.Routes.Rules) != 2 {
			t.Errorf("subscription %s: %+v", s.Name, s.Spec)
		}
		for _, r := range s.Spec.Routes.Rules {
			if r.Path != "/api/events/task-completed" {
				t.Errorf("subscription %s: rule %+v goes elsewhere than recur-task's route", s.Name, r)
			}
		}
		for _, sc := range s.Scopes {
			if _, ok := appIDs[sc]; !ok {
				t.Errorf("subscription %s scoped to unknown app %s", s.Name, sc)
			}
		}
	}
	if len(o.resiliencies) == 0 {
		t.Error("no resiliency policy: daprd would dead-letter at the first RETRY")
	}
	for _, r := range o.resiliencies {
		for name := range r.Spec.Targets.Components {
			if _, ok := components[name]; !ok {
				t.Errorf("resiliency %s targets unknown component %s", r.Name, name)
			}
		}
	}
}
