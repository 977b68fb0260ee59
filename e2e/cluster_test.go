package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/todoevents/todo/dev/harness"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/testkit"
	"github.com/todoevents/todo/shared/testkit/pgcluster"
)

// scaled is the cluster tier: a three-node KRaft Kafka cluster, two
// replicas of create-task and complete-task behind the test's own
// round-robin, three recur-task replicas in one group, two live-updates
// replicas, and one relay
// active among all of them (the outbox lock), on a PostgreSQL primary with
// a synchronous standby, which every process reaches through one
// multi-host DATABASE_URL (target_session_attrs=read-write).
type scaled struct {
	kafka            *harness.KafkaCluster
	primary, standby *pgcluster.Cluster
	brokers          string
	env              map[string]string
	db               *pgxpool.Pool
	dir              string

	mu    sync.Mutex
	procs map[string][]*harness.Proc // by function
	next  map[string]int             // round-robin position
	seq   int                        // labels of started processes

	fivexx  atomic.Int64 // 5xx answers other than 503 (with Retry-After)
	retried atomic.Int64 // requests sent again after a 503 or a refused connection
	stopMu  sync.Mutex
	stopped []string // graceful-stop failures
}

func startScaled(t *testing.T) *scaled {
	t.Helper()
	ctx := context.Background()
	s := &scaled{dir: filepath.Join(sys.dir, "cluster"), procs: map[string][]*harness.Proc{}, next: map[string]int{}}
	var err error
	if s.kafka, err = harness.NewKafkaCluster(filepath.Join(s.dir, "kafka"), 3); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.kafka.Stop)
	if err := s.kafka.Start(); err != nil {
		t.Fatal(err)
	}
	s.brokers = strings.Join(s.kafka.Addrs(), ",")
	if s.primary, err = pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(s.dir, "pg-primary"), Durable: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.primary.Stop)
	if err := s.primary.CreateDatabase(ctx, "cluster"); err != nil {
		t.Fatal(err)
	}
	if err := runMigrations(ctx, s.primary.URL("cluster")); err != nil {
		t.Fatal(err)
	}
	if s.standby, err = s.primary.StartStandby(ctx, filepath.Join(s.dir, "pg-standby"), true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.standby.Stop)
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/cluster?sslmode=disable&target_session_attrs=read-write",
		s.primary.Port, s.standby.Port)
	if s.db, err = pgxpool.New(ctx, url); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.db.Close)
	s.env = testkit.Env(url, map[string]string{"KAFKA_BROKERS": s.brokers, "KAFKA_PARTITIONS": "6",
		"LOG_LEVEL": "info", "DB_MAX_CONNS": "6"})
	for fn, n := range map[string]int{"create-task": 2, "complete-task": 2, "recur-task": 3, "live-updates": 2} {
		for range n {
			s.start(t, fn)
		}
	}
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, ps := range s.procs {
			for _, p := range ps {
				p.Stop()
			}
		}
	})
	return s
}

// start adds a replica of fn; its database connections carry its label as
// application_name, so the test can tell which one holds the relay lock.
func (s *scaled) start(t *testing.T, fn string) {
	t.Helper()
	s.mu.Lock()
	s.seq++
	label := fmt.Sprintf("%s-%d", fn, s.seq)
	s.mu.Unlock()
	env := map[string]string{"PGAPPNAME": label}
	for k, v := range s.env {
		env[k] = v
	}
	p, err := harness.StartProc(filepath.Join(sys.bins, fn), label, env, s.dir)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.procs[fn] = append(s.procs[fn], p)
	s.mu.Unlock()
}

// remove takes p out of the round-robin (as an endpoint leaves a Service).
func (s *scaled) remove(fn string, p *harness.Proc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.procs[fn]
	for i := range ps {
		if ps[i] == p {
			s.procs[fn] = append(ps[:i:i], ps[i+1:]...)
			return
		}
	}
}

// rolling restarts every replica of fn, one at a time, the way a
// Deployment does: a new one first, then the old one gets SIGTERM and must
// exit by itself, with status 0, within the platform's grace period.
func (s *scaled) rolling(t *testing.T, fn string) {
	t.Helper()
	s.mu.Lock()
	old := append([]*harness.Proc(nil), s.procs[fn]...)
	s.mu.Unlock()
	for _, p := range old {
		s.start(t, fn)
		s.remove(fn, p)
		if inTime, code := p.Terminate(25 * time.Second); !inTime || code != 0 {
			s.stopMu.Lock()
			s.stopped = append(s.stopped, fmt.Sprintf("%s: exited in time %v, status %d", p.Label, inTime, code))
			s.stopMu.Unlock()
		}
	}
}

// kill SIGKILLs the replica of fn labelled label (or the first, when
// empty) and starts another.
func (s *scaled) kill(t *testing.T, fn, label string) string {
	t.Helper()
	s.mu.Lock()
	var victim *harness.Proc
	for _, p := range s.procs[fn] {
		if label == "" || p.Label == label {
			victim = p
			break
		}
	}
	s.mu.Unlock()
	if victim == nil {
		t.Fatalf("no %s replica %q", fn, label)
	}
	s.remove(fn, victim)
	victim.Kill()
	s.start(t, fn)
	return victim.Label
}

// activeRelay is the label of the process whose relay holds the outbox
// lock.
func (s *scaled) activeRelay(t *testing.T) (fn, label string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		err := s.db.QueryRow(context.Background(), `SELECT a.application_name FROM pg_locks l
			JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			  AND l.objsubid = 1 AND (l.classid::bigint << 32 | l.objid::bigint) = x'746f646f0001'::bigint`).Scan(&label)
		if err == nil && label != "" {
			return label[:strings.LastIndex(label, "-")], label
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("no relay holds the outbox lock")
	return "", ""
}

// do sends a request to a replica of fn, in turn, again (with the same
// body and headers) after a refused connection or a 503, for up to a
// minute. It returns the final status and body.
func (s *scaled) do(fn, method, path, user, body string, header http.Header) (int, []byte) {
	tok, _ := testenvToken(user)
	deadline := time.Now().Add(time.Minute)
	for {
		s.mu.Lock()
		ps := s.procs[fn]
		var base string
		if len(ps) > 0 {
			base = ps[s.next[fn]%len(ps)].URL()
			s.next[fn]++
		}
		s.mu.Unlock()
		code, out := 0, []byte(nil)
		if base != "" {
			req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
			req.Header = header.Clone()
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			if resp, err := client.Do(req); err == nil {
				out, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				code = resp.StatusCode
				if code == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
					s.fivexx.Add(1) // a 503 must say when to come back
				}
			}
		}
		switch {
		case code >= 500 && code != http.StatusServiceUnavailable:
			s.fivexx.Add(1)
			return code, out
		case code != 0 && code != http.StatusServiceUnavailable:
			return code, out
		case time.Now().After(deadline):
			return code, out
		}
		s.retried.Add(1)
		time.Sleep(100 * time.Millisecond)
	}
}

// acked is what the load's clients were told succeeded.
type acked struct {
	mu        sync.Mutex
	created   map[string]string // task id → user
	completed map[string]string
	titles    []string
	failures  []string
	finished  chan struct{} // closed once every worker has stopped
}

// load creates and completes recurring tasks for users, each worker with
// users of its own, until ctx ends; every create carries an
// Idempotency-Key, so a retried one never makes a second task.
func (s *scaled) load(ctx context.Context, workers, usersEach int) *acked {
	a := &acked{created: map[string]string{}, completed: map[string]string{}, finished: make(chan struct{})}
	var wg sync.WaitGroup
	for w := range workers {
		users := make([]string, usersEach)
		for i := range users {
			users[i] = testkit.User()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				user := users[n%len(users)]
				title := fmt.Sprintf("w%d-%d", w, n)
				code, body := s.do("create-task", "POST", "/api/"+user+"/tasks", user,
					fmt.Sprintf(`{"title":%q,"recurring_type":"daily"}`, title), http.Header{"Idempotency-Key": {uuid.NewString()}})
				var tk struct{ ID string }
				if code != http.StatusCreated || json.Unmarshal(body, &tk) != nil {
					a.fail(fmt.Sprintf("create %s: %d %s", title, code, body))
					continue
				}
				a.mu.Lock()
				a.created[tk.ID], a.titles = user, append(a.titles, title)
				a.mu.Unlock()
				code, body = s.do("complete-task", "PATCH", "/api/"+user+"/tasks/"+tk.ID+"/complete", user, "", http.Header{})
				if code != http.StatusOK || !bytes.Contains(body, []byte(`"status":"done"`)) {
					a.fail(fmt.Sprintf("complete %s: %d %s", tk.ID, code, body))
					continue
				}
				a.mu.Lock()
				a.completed[tk.ID] = user
				a.mu.Unlock()
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	go func() { wg.Wait(); close(a.finished) }()
	return a
}

func (a *acked) fail(msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failures = append(a.failures, msg)
}

// leaderOfMost is the node leading the most partitions of topic.
func (s *scaled) leaderOfMost(t *testing.T, topic string) int32 {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(s.kafka.Addrs(), kafka.Config("e2e-leaders"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	meta, err := admin.DescribeTopics([]string{topic})
	if err != nil || len(meta) != 1 {
		t.Fatalf("describe %s: %v", topic, err)
	}
	led := map[int32]int{}
	best := int32(-1)
	for _, p := range meta[0].Partitions {
		led[p.Leader]++
		if best < 0 || led[p.Leader] > led[best] {
			best = p.Leader
		}
	}
	return best
}

// On a three-broker cluster, under steady creates and completions, a
// schedule of faults: the broker leading most partitions SIGKILLed and
// back; the one leading most then cut off for 12 s and healed; a recur-task
// replica SIGKILLed mid-stream; the active relay
// SIGKILLed; a rolling SIGTERM restart of every function; the PostgreSQL
// primary SIGKILLed and its synchronous standby promoted. Afterwards every
// acknowledged write is there, every acknowledged completion has exactly
// one next occurrence, every event is on the topic in each task's order,
// and the group has read everything.
func TestClusterRidesOutBrokerReplicaAndDatabaseFaults(t *testing.T) {
	s := startScaled(t)

	// A page on each live-updates replica, for a user of its own.
	watcher := testkit.User()
	var pages []*page
	s.mu.Lock()
	for _, p := range s.procs["live-updates"] {
		pages = append(pages, openPage(t, p, watcher))
	}
	s.mu.Unlock()

	ctx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	a := s.load(ctx, 4, 3)

	time.Sleep(3 * time.Second)
	leader := s.kafka.Node(s.leaderOfMost(t, events.TopicTaskEvents))
	leader.Kill()
	t.Logf("%s SIGKILLed broker %d, the leader of most task-events partitions", time.Now().Format("15:04:05.000"), leader.ID)
	time.Sleep(10 * time.Second)
	if err := leader.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s broker %d is back", time.Now().Format("15:04:05.000"), leader.ID)
	time.Sleep(3 * time.Second)
	// A broker cut off: nothing reaches its client listener, clients' or
	// the other brokers' (it still talks to the controller quorum), and
	// nothing is refused either: requests hang, as behind a dead switch.
	cut := s.kafka.Node(s.leaderOfMost(t, events.TopicTaskEvents))
	if err := cut.Proxy.AddToxic("cut", "timeout", `{"timeout":0}`); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s cut broker %d off", time.Now().Format("15:04:05.000"), cut.ID)
	time.Sleep(12 * time.Second)
	cut.Proxy.Heal()
	t.Logf("%s healed broker %d", time.Now().Format("15:04:05.000"), cut.ID)
	time.Sleep(3 * time.Second)
	t.Logf("%s SIGKILLed %s", time.Now().Format("15:04:05.000"), s.kill(t, "recur-task", ""))
	time.Sleep(3 * time.Second)
	fn, relay := s.activeRelay(t)
	s.kill(t, fn, relay)
	t.Logf("%s SIGKILLed %s, the active relay", time.Now().Format("15:04:05.000"), relay)
	time.Sleep(3 * time.Second)
	for _, fn := range []string{"create-task", "complete-task", "recur-task"} {
		s.rolling(t, fn)
	}
	time.Sleep(3 * time.Second)
	// The primary's machine dies; two seconds later (an operator or
	// Patroni noticing) the synchronous standby is promoted.
	s.primary.Kill()
	t.Logf("%s SIGKILLed the PostgreSQL primary", time.Now().Format("15:04:05.000"))
	time.Sleep(2 * time.Second)
	if err := s.standby.Promote(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s promoted the standby", time.Now().Format("15:04:05.000"))
	time.Sleep(5 * time.Second)
	stopLoad()
	<-a.finished

	// After all of that, a new task of the watcher reaches both pages.
	code, body := s.do("create-task", "POST", "/api/"+watcher+"/tasks", watcher, `{"title":"watched"}`, http.Header{})
	var watched struct{ ID string }
	if code != http.StatusCreated || json.Unmarshal(body, &watched) != nil {
		t.Fatalf("create the watched task: %d %s", code, body)
	}
	for i, pg := range pages {
		if !pg.waitFor(watched.ID, 30*time.Second) {
			t.Fatalf("the page on live-updates replica %d never saw task %s", i+1, watched.ID)
		}
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.failures) > 0 {
		t.Fatalf("%d requests failed, e.g. %s", len(a.failures), a.failures[0])
	}
	if n := s.fivexx.Load(); n != 0 {
		t.Fatalf("%d answers were 5xx other than a 503 with Retry-After", n)
	}
	if len(s.stopped) > 0 {
		t.Fatalf("not every function stopped gracefully on SIGTERM: %v", s.stopped)
	}
	if len(a.completed) < 50 {
		t.Fatalf("only %d completions under load; the test did not load the cluster", len(a.completed))
	}

	// The topics the functions made are made for the cluster: checked with Kafka's own tool.
	for _, topic := range events.Topics {
		out, err := s.kafka.Nodes[0].Tool("org.apache.kafka.tools.TopicCommand", "--bootstrap-server", s.brokers,
			"--describe", "--topic", topic)
		if err != nil {
			t.Fatalf("describe %s: %v\n%s", topic, err, out)
		}
		for _, want := range []string{"ReplicationFactor: 3", "min.insync.replicas=2", "unclean.leader.election.enable=false"} {
			if !bytes.Contains(out, []byte(want)) {
				t.Fatalf("topic %s lacks %q:\n%s", topic, want, out)
			}
		}
	}

	// Every acknowledged create is stored once (retries with one key made
	// one task), and every acknowledged completion has exactly one next
	// occurrence.
	ctx = context.Background()
	var stored, titles int
	if err := s.db.QueryRow(ctx, `SELECT count(*), count(DISTINCT title) FROM tasks
		WHERE parent_task_id IS NULL AND user_id <> $1`, watcher).Scan(&stored, &titles); err != nil {
		t.Fatal(err)
	}
	if stored != titles || titles != len(a.titles) {
		t.Fatalf("%d root tasks with %d titles stored for %d acknowledged creates", stored, titles, len(a.titles))
	}
	parents := make([]string, 0, len(a.completed))
	for id := range a.completed {
		parents = append(parents, id)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		var have, doubled int
		if err := s.db.QueryRow(ctx, `SELECT count(DISTINCT parent_task_id), count(*) - count(DISTINCT parent_task_id)
			FROM tasks WHERE parent_task_id = ANY($1)`, parents).Scan(&have, &doubled); err != nil {
			t.Fatal(err)
		}
		if doubled != 0 {
			t.Fatalf("%d duplicate next occurrences", doubled)
		}
		if have == len(parents) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged completions have their next occurrence", have, len(parents))
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitCaughtUpOn(t, s.brokers, s.db, "recur-task")

	// Every event the outbox holds (published rows are kept for
	// OUTBOX_RETENTION, a day) is on the topic, in its user's order, and so
	// each task's creation before its completion.
	type outboxed struct {
		seq     int64
		key     string
		summary string
	}
	rows, err := s.db.Query(ctx, `SELECT seq, event_id, event->>'type', partition_key, created_at, published_at FROM outbox
		WHERE topic = $1 ORDER BY seq`, events.TopicTaskEvents)
	if err != nil {
		t.Fatal(err)
	}
	written := map[string]outboxed{}
	for rows.Next() {
		var o outboxed
		var id, typ string
		var created time.Time
		var published *time.Time
		if err := rows.Scan(&o.seq, &id, &typ, &o.key, &created, &published); err != nil {
			t.Fatal(err)
		}
		o.summary = fmt.Sprintf("%s %s (user %s) written %s, marked published %s", typ, id, o.key, created.Format("15:04:05.000"), published)
		written[id] = o
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Each user's events first appear on the topic in the order the outbox
	// holds them (its sequence is each user's commit order); later copies
	// (re-sent after a crash) do not count.
	onTopic := map[string]bool{}
	lastSeq := map[string]int64{} // user → outbox sequence of the last event first seen
	firstSeen := map[string]int{} // type/task id → 1 + position of its first appearance
	for pos, r := range testkit.ReadTopic(t, s.brokers, events.TopicTaskEvents) {
		e, err := kafka.DecodeRecord(ctx, r)
		if err != nil {
			t.Fatalf("record %d/%d does not decode: %v", r.Partition, r.Offset, err)
		}
		if onTopic[e.ID()] {
			continue
		}
		onTopic[e.ID()] = true
		if o, ok := written[e.ID()]; ok {
			if o.seq < lastSeq[o.key] {
				t.Fatalf("user %s's events are out of order on the topic: %s after the event at outbox sequence %d",
					o.key, o.summary, lastSeq[o.key])
			}
			lastSeq[o.key] = o.seq
		}
		if key := e.Type() + "/" + e.Subject(); firstSeen[key] == 0 { // the subject is the task's id
			firstSeen[key] = pos + 1
		}
	}
	var missing []string
	for id, o := range written {
		if !onTopic[id] {
			missing = append(missing, o.summary)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d published outbox events are not on the topic:\n%s", len(missing), len(written), strings.Join(missing, "\n"))
	}
	for id := range a.completed {
		created, completed := firstSeen[events.TypeTaskCreated+"/"+id], firstSeen[events.TypeTaskCompleted+"/"+id]
		if created == 0 || completed < created {
			t.Fatalf("task %s: creation at %d, completion at %d on the topic (0: absent); want both, in that order",
				id, created-1, completed-1)
		}
	}
	report(t, "%d creates and %d completions from 12 users on 3 brokers while one broker was SIGKILLed and one cut off, a recur-task replica and the active relay "+
		"were SIGKILLed, every function restarted with SIGTERM and the PostgreSQL primary SIGKILLed for its synchronous standby: each completion has one next occurrence, %d requests retried after a 503 or a refused connection, 0 other 5xx",
		len(a.created), len(a.completed), s.retried.Load())
}

// page is an open event stream of live-updates, as the web app holds one.
type page struct {
	mu   sync.Mutex
	seen string // every data line so far
}

// openPage opens user's stream on p and reads it until the test ends.
func openPage(t *testing.T, p *harness.Proc, user string) *page {
	t.Helper()
	tok, _ := testenvToken(user)
	req, _ := http.NewRequest("GET", p.URL()+"/api/"+user+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := (&http.Client{}).Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("open a stream on %s: %v %v", p.Label, resp, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	pg := &page{}
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "data:") {
				pg.mu.Lock()
				pg.seen += line + "\n"
				pg.mu.Unlock()
			}
		}
	}()
	return pg
}

// waitFor reports whether the page sees text within d.
func (pg *page) waitFor(text string, d time.Duration) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		pg.mu.Lock()
		ok := strings.Contains(pg.seen, text)
		pg.mu.Unlock()
		if ok {
			return true
		}
	}
	return false
}
