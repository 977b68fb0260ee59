// Package harness runs the real parts of the end-to-end tier: an Apache
// Kafka broker in KRaft mode (jars downloaded once into ~/.cache), the
// functions as their real binaries, and helpers to break them.
package harness

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/todoevents/todo/dev/subprocess"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/testkit/maven"
	"github.com/todoevents/todo/shared/testkit/pgcluster"
)

// KafkaVersion must match kafka/pom.xml (and so jars.lock).
const KafkaVersion = "4.1.1"

// Kafka is a KRaft node, broker and controller: alone, or one of a
// KafkaCluster.
type Kafka struct {
	Dir        string
	ID         int32 // node.id
	Port       int   // client listener
	controller int
	libs       string
	heap       string // -Xmx, when not the single broker's
	// Proxy, in a KafkaCluster, is the proxy in front of the client
	// listener, which the node advertises.
	Proxy *Proxy
	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{}
}

// KafkaLibs returns the broker's jar directory, downloading the jars
// pinned in kafka/jars.lock (each verified against its SHA-1) the first
// time, and any that are missing or damaged later.
func KafkaLibs() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	libs := filepath.Join(cache, "todo-kafka", KafkaVersion, "libs")
	_, self, _, _ := runtime.Caller(0)
	lock, err := os.ReadFile(filepath.Join(filepath.Dir(self), "kafka", "jars.lock"))
	if err != nil {
		return "", err
	}
	repo := maven.Default()
	for _, line := range strings.Split(string(lock), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		coords, sum, _ := strings.Cut(line, " ")
		art, err := maven.ParseCoordinates(coords)
		if err != nil {
			return "", fmt.Errorf("jars.lock: %w", err)
		}
		dest := filepath.Join(libs, art.FileName())
		if fileSHA1(dest) == sum {
			continue
		}
		if err := repo.Fetch(context.Background(), art, dest, sum); err != nil {
			return "", fmt.Errorf("Kafka jars: %w", err)
		}
	}
	return libs, nil
}

// fileSHA1 is the hex SHA-1 of the file at path, or "" when it cannot be
// read.
func fileSHA1(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha1.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// NewKafka formats a data directory under dir for a broker on free
// loopback ports; Start runs it. advertise, when not 0, is the port clients
// are told to use (a proxy in front of the broker).
func NewKafka(dir string, advertise int) (*Kafka, error) {
	nodes, err := newNodes(dir, 1, advertise)
	if err != nil {
		return nil, err
	}
	return nodes[0], nil
}

// KafkaCluster is several KRaft nodes, each a broker and a controller, with
// one quorum: internal topics replicated to three (two in sync), and a
// broker that stops heartbeating fenced after 6 s, so a SIGKILLed broker's
// partitions get new leaders within seconds.
type KafkaCluster struct {
	Nodes []*Kafka
}

// NewKafkaCluster formats n nodes under dir/node-<id>; Start runs them.
// Each node's client listener is behind a proxy of its own (Kafka.Proxy),
// which it advertises, so clients and the other brokers' replication reach
// it through the proxy while the controller quorum talks directly: cutting
// a proxy partitions that broker's data path, as a network fault would.
func NewKafkaCluster(dir string, n int) (*KafkaCluster, error) {
	nodes, err := newNodes(dir, n, -1)
	if err != nil {
		return nil, err
	}
	for _, k := range nodes {
		if err := k.Proxy.Forward(fmt.Sprintf("127.0.0.1:%d", k.Port)); err != nil {
			return nil, err
		}
	}
	return &KafkaCluster{Nodes: nodes}, nil
}

// Start starts every node (a quorum needs most of them at once) and waits
// until each serves.
func (c *KafkaCluster) Start() error {
	errs := make(chan error, len(c.Nodes))
	for _, k := range c.Nodes {
		go func() { errs <- k.Start() }()
	}
	var all []error
	for range c.Nodes {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

// Addrs are the nodes' client addresses (their proxies).
func (c *KafkaCluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, k := range c.Nodes {
		out[i] = k.Proxy.Addr()
	}
	return out
}

// Node is the node with Kafka node id id (1-based).
func (c *KafkaCluster) Node(id int32) *Kafka { return c.Nodes[id-1] }

// Stop stops every node and its proxy.
func (c *KafkaCluster) Stop() {
	for _, k := range c.Nodes {
		k.Stop()
		k.Proxy.Close()
	}
}

// newNodes formats n nodes of one cluster: under dir itself when n is 1,
// else under dir/node-<id>. advertise is the port clients are told to use:
// 0 the node's own, -1 a new proxy's per node (not yet forwarding).
func newNodes(dir string, n, advertise int) ([]*Kafka, error) {
	libs, err := KafkaLibs()
	if err != nil {
		return nil, err
	}
	nodes := make([]*Kafka, n)
	var voters []string
	for i := range nodes {
		k := &Kafka{Dir: dir, ID: int32(i + 1), libs: libs}
		if n > 1 {
			k.Dir = filepath.Join(dir, fmt.Sprintf("node-%d", k.ID))
			k.heap = "-Xmx400m"
		}
		if k.Port, err = pgcluster.FreePort(); err != nil {
			return nil, err
		}
		if k.controller, err = pgcluster.FreePort(); err != nil {
			return nil, err
		}
		voters = append(voters, fmt.Sprintf("%d@127.0.0.1:%d", k.ID, k.controller))
		nodes[i] = k
	}
	replicas, insync := min(n, 3), min(n, 2)
	id := clusterID()
	for _, k := range nodes {
		adv := k.Port
		switch {
		case advertise > 0:
			adv = advertise
		case advertise < 0:
			if k.Proxy, err = NewProxy(); err != nil {
				return nil, err
			}
			adv = k.Proxy.Port
		}
		props := fmt.Sprintf(`process.roles=broker,controller
node.id=%[6]d
controller.quorum.voters=%[5]s
listeners=PLAINTEXT://127.0.0.1:%[1]d,CONTROLLER://127.0.0.1:%[2]d
advertised.listeners=PLAINTEXT://127.0.0.1:%[3]d
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=%[4]s
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=%[7]d
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=%[7]d
transaction.state.log.min.isr=%[8]d
group.initial.rebalance.delay.ms=0
share.coordinator.state.topic.replication.factor=%[7]d
share.coordinator.state.topic.min.isr=%[8]d
broker.session.timeout.ms=6000
broker.heartbeat.interval.ms=1000
`, k.Port, k.controller, adv, filepath.Join(k.Dir, "data"), strings.Join(voters, ","), k.ID, replicas, insync)
		if err := os.MkdirAll(k.Dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(k.props(), []byte(props), 0o644); err != nil {
			return nil, err
		}
		format := k.java("kafka.tools.StorageTool", "format", "-t", id, "-c", k.props())
		if out, err := format.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("format Kafka storage: %w\n%s", err, out)
		}
	}
	return nodes, nil
}

// clusterID is a random cluster id in Kafka's form (16 bytes, base64url).
// Like Kafka's own, it never starts with '-', which the storage tool's
// argument parser would take for an option.
func clusterID() string {
	for {
		id := make([]byte, 16)
		_, _ = rand.Read(id)
		if s := base64.RawURLEncoding.EncodeToString(id); s[0] != '-' {
			return s
		}
	}
}

func (k *Kafka) props() string { return filepath.Join(k.Dir, "server.properties") }

func (k *Kafka) java(main string, args ...string) *exec.Cmd {
	heap := k.heap
	if heap == "" {
		heap = "-Xmx768m"
	}
	cmd := exec.Command("java", append([]string{"-Xms256m", heap, "-XX:+UseSerialGC",
		"-Dlog4j2.level=WARN", "-cp", filepath.Join(k.libs, "*"), main}, args...)...)
	cmd.SysProcAttr = subprocess.Attr(true)
	return cmd
}

// Addr is the broker's client address.
func (k *Kafka) Addr() string { return fmt.Sprintf("127.0.0.1:%d", k.Port) }

// Start (re)starts the broker process on its data and ports and waits until
// it serves metadata.
func (k *Kafka) Start() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	log, err := os.OpenFile(filepath.Join(k.Dir, "broker.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := k.java("kafka.Kafka", k.props())
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); log.Close(); close(done) }()
	k.cmd, k.done = cmd, done
	return k.waitReady(done)
}

func (k *Kafka) waitReady(done chan struct{}) error {
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("Kafka exited during start-up; see %s", filepath.Join(k.Dir, "broker.log"))
		default:
		}
		if conn, err := net.DialTimeout("tcp", k.Addr(), 200*time.Millisecond); err == nil {
			conn.Close()
			if err := kafka.EnsureTopics(zerolog.Nop(), []string{k.Addr()}, 3, "readiness-probe"); err == nil {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("Kafka not ready after 90s")
}

// Kill ends the broker at once (SIGKILL), as a crash would; Start brings it
// back on its data.
func (k *Kafka) Kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cmd == nil {
		return
	}
	_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
	<-k.done
	k.cmd = nil
}

// Tool runs one of Kafka's command-line tools (its main class, e.g.
// org.apache.kafka.tools.TopicCommand) with the broker's jars and returns
// its output.
func (k *Kafka) Tool(main string, args ...string) ([]byte, error) {
	return k.java(main, args...).CombinedOutput()
}

// Stop shuts the broker down (SIGTERM, then SIGKILL after 30 s).
func (k *Kafka) Stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cmd == nil {
		return
	}
	_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-k.done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
		<-k.done
	}
	k.cmd = nil
}
