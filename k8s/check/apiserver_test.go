package check

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// apiServer is a real kube-apiserver on etcd, on loopback, for this test.
type apiServer struct {
	dir, kubeconfig string
}

// freePort returns a port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startAPIServer runs etcd and the kube-apiserver binary at bin until the
// test ends, with a token for an administrator.
func startAPIServer(t *testing.T, bin string) *apiServer {
	t.Helper()
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		t.Fatalf("etcd is not installed (Debian: etcd-server): %v", err)
	}
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	saKey := write("sa.key", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	saPub := write("sa.pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	tokens := write("tokens.csv", []byte("admintoken,admin,admin,system:masters\n"))
	ctx, cancel := context.WithCancel(context.Background())
	start := func(name string, args ...string) {
		cmd := exec.CommandContext(ctx, name, args...)
		logf, err := os.Create(filepath.Join(dir, filepath.Base(name)+".log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cancel(); _ = cmd.Wait(); logf.Close() })
	}
	client, peer, secure := freePort(t), freePort(t), freePort(t)
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", client)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	start(etcd, "--name", "check", "--data-dir", filepath.Join(dir, "etcd"), "--listen-client-urls", etcdURL,
		"--advertise-client-urls", etcdURL, "--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "check="+peerURL)
	start(bin, "--etcd-servers="+etcdURL, "--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", secure),
		"--cert-dir="+filepath.Join(dir, "certs"), "--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+saPub, "--service-account-signing-key-file="+saKey,
		"--token-auth-file="+tokens, "--authorization-mode=RBAC", "--service-cluster-ip-range=10.96.0.0/16")
	s := &apiServer{dir: dir, kubeconfig: write("kubeconfig", []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: check, cluster: {server: "https://127.0.0.1:%d", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: admintoken}}]
contexts: [{name: check, context: {cluster: check, user: admin}}]
current-context: check
`, secure)))}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := s.kubectl(nil, "get", "--raw", "/readyz"); err == nil {
			return s
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, filepath.Base(bin)+".log"))
			t.Fatalf("the API server did not get ready:\n%s", tail(string(log), 3000))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// kubectl runs kubectl against the server with stdin.
func (s *apiServer) kubectl(stdin []byte, args ...string) (string, error) {
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", s.kubeconfig}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// moduleDir downloads module path@version (once, into the module cache)
// and returns its directory.
func moduleDir(t *testing.T, pathAtVersion string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", pathAtVersion)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	var m struct{ Dir, Error string }
	if err == nil {
		err = json.Unmarshal(out, &m)
	}
	if err != nil || m.Dir == "" {
		t.Fatalf("go mod download %s: %v %s", pathAtVersion, err, m.Error)
	}
	return m.Dir
}

// crdSource is where a module published CRDs: files matching glob, of
// which the CustomResourceDefinitions named (all when none are) are kept.
type crdSource struct {
	module, glob string
	names        []string
}

// crdSources are the CRDs the manifests need, from the Go modules of the
// projects that publish them.
var crdSources = []crdSource{
	{module: "knative.dev/serving@v0.51.0", glob: "config/core/300-resources/*.yaml"},
	{module: "sigs.k8s.io/gateway-api@v1.2.1", glob: "config/crd/standard/*.yaml"},
	{module: "knative.dev/eventing@v0.42.3", glob: "config/core/resources/pingsource.yaml"},
	{module: "github.com/dapr/dapr@v1.14.0", glob: "charts/dapr/crds/*.yaml"},
	{module: "knative.dev/eventing-kafka-broker@v0.50.1", glob: "control-plane/config/eventing-kafka-broker/100-*/100-kafka-s*.yaml",
		names: []string{"kafkasources.sources.knative.dev", "kafkasinks.eventing.knative.dev"}},
}

// crds reads the CustomResourceDefinitions of src as one YAML stream.
func crds(t *testing.T, src crdSource) []byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(moduleDir(t, src.module), src.glob))
	var out bytes.Buffer
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
		for {
			part, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var meta struct {
				Kind     string
				Metadata struct{ Name string }
			}
			if err := yaml.Unmarshal(part, &meta); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if meta.Kind == "CustomResourceDefinition" && (len(src.names) == 0 || slices.Contains(src.names, meta.Metadata.Name)) {
				out.WriteString("---\n")
				out.Write(part)
				n++
			}
		}
	}
	if n == 0 || (len(src.names) > 0 && n != len(src.names)) {
		t.Fatalf("%d CRDs in %s/%s, want %v", n, src.module, src.glob, src.names)
	}
	return out.Bytes()
}

// TestManifestsOnARealAPIServer installs the CRDs of Knative Serving,
// Knative's Kafka extension, Eventing's PingSource, Gateway API and Dapr, from Go modules
// (Serving's newest; Gateway API and Dapr at the versions whose Go types the
// other tests decode into), on a real kube-apiserver, then has it validate
// every manifest of both variants, as rendered by kustomize, with
// kubectl apply --dry-run=server --validate=strict: schemas, unknown
// fields, defaults and admission, as a cluster would.
func TestManifestsOnARealAPIServer(t *testing.T) {
	bin := os.Getenv("KUBE_APISERVER")
	if bin == "" {
		t.Skip("KUBE_APISERVER is not set (make test builds the API server once and sets it)")
	}
	s := startAPIServer(t, bin)
	var all []byte
	for _, src := range crdSources {
		all = append(all, crds(t, src)...)
	}
	if out, err := s.kubectl(all, "apply", "--server-side", "-f", "-"); err != nil {
		t.Fatalf("installing the CRDs: %v\n%s", err, out)
	}
	if out, err := s.kubectl(nil, "wait", "--for=condition=established", "--timeout=60s", "crd", "--all"); err != nil {
		t.Fatalf("CRDs not established: %v\n%s", err, out)
	}
	// Namespaces exist in a real cluster before its objects are checked.
	for _, ns := range []string{"todo", "kafka"} {
		if out, err := s.kubectl(nil, "create", "namespace", ns, "--save-config"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	check := func(name string, manifest []byte) {
		t.Helper()
		out, err := s.kubectl(manifest, "apply", "--dry-run=server", "--validate=strict", "-f", "-")
		if err != nil {
			t.Errorf("%s is refused by the API server: %v\n%s", name, err, out)
		}
	}
	for _, variant := range []string{"k8s/knative", "k8s/knative/platform", "k8s/dapr", "k8s/cluster/knative", "k8s/cluster/dapr"} {
		rendered, err := exec.Command("kubectl", "kustomize", filepath.Join("..", "..", variant)).Output()
		if err != nil {
			t.Fatalf("kubectl kustomize %s: %v", variant, err)
		}
		check(variant, rendered)
		if strings.HasPrefix(variant, "k8s/cluster/") {
			checkBrokerCluster(t, variant, rendered)
		}
	}
	for _, file := range []string{"k8s/plain/recur-task.yaml", "k8s/secrets.example.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", file))
		if err != nil {
			t.Fatal(err)
		}
		check(file, b)
	}
	// The check is strict: an unknown field is refused, in a Knative Service
	// and in a KafkaSource, and so is a KafkaSource without its topics.
	for _, bad := range []string{
		"apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: x, namespace: todo}\n" +
			"spec: {template: {spec: {containers: [{image: x, colour: red}]}}}\n",
		"apiVersion: sources.knative.dev/v1beta1\nkind: KafkaSource\nmetadata: {name: x, namespace: todo}\n" +
			"spec: {bootstrapServers: [k:9092], topics: [t], orderd: ordered, sink: {uri: http://x}}\n",
		"apiVersion: sources.knative.dev/v1beta1\nkind: KafkaSource\nmetadata: {name: x, namespace: todo}\n" +
			"spec: {bootstrapServers: [k:9092], sink: {uri: http://x}}\n",
	} {
		if out, err := s.kubectl([]byte(bad), "apply", "--dry-run=server", "--validate=strict", "-f", "-"); err == nil {
			t.Errorf("the API server accepted\n%s\n%s", bad, out)
		}
	}
}

// checkBrokerCluster checks that a cluster variant runs three brokers that
// find each other, one of which a disruption may take at a time, and
// creates its topics with three replicas.
func checkBrokerCluster(t *testing.T, variant string, rendered []byte) {
	t.Helper()
	var brokers, pdb, topics bool
	for _, part := range strings.Split(string(rendered), "\n---\n") {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(part), &meta); err != nil {
			t.Fatal(err)
		}
		switch meta.Kind {
		case "StatefulSet":
			var s appsv1.StatefulSet
			if err := yaml.UnmarshalStrict([]byte(part), &s); err != nil {
				t.Fatal(err)
			}
			args := strings.Join(s.Spec.Template.Spec.Containers[0].Args, " ")
			brokers = s.Name == "redpanda" && *s.Spec.Replicas == 3 && strings.Contains(args, "--seeds=redpanda-0.") &&
				strings.Contains(args, "redpanda-2.redpanda.kafka.svc.cluster.local:33145") && strings.Contains(args, "$(POD_NAME)")
		case "PodDisruptionBudget":
			var b policyv1.PodDisruptionBudget
			if err := yaml.UnmarshalStrict([]byte(part), &b); err != nil {
				t.Fatal(err)
			}
			pdb = b.Spec.MaxUnavailable != nil && b.Spec.MaxUnavailable.IntValue() == 1
		case "Job":
			var j batchv1.Job
			if err := yaml.UnmarshalStrict([]byte(part), &j); err != nil {
				t.Fatal(err)
			}
			if j.Name == "redpanda-topics" {
				topics = strings.Contains(strings.Join(j.Spec.Template.Spec.Containers[0].Args, " "), "--replicas 3")
			}
		}
	}
	if !brokers || !pdb || !topics {
		t.Errorf("%s: three seeded brokers %v, a disruption budget of one %v, topics with three replicas %v", variant, brokers, pdb, topics)
	}
}
