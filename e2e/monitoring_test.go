package e2e_test

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/todoevents/todo/dev/harness"
)

// metricName is a metric name as the rules and the dashboard spell them.
var metricName = regexp.MustCompile(`\b(?:todo|process|go)_[a-z0-9_]+\b`)

// Every metric an alert rule or a dashboard panel names is served on
// /metrics by a running function: the rules and panels cannot watch a
// metric that was renamed or never existed.
func TestRulesAndDashboardNameServedMetrics(t *testing.T) {
	served := map[string]bool{}
	read := func(p *harness.Proc) {
		for _, line := range strings.Split(scrape(t, p), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
				served[f[2]] = true
			}
		}
	}
	// A request, so the request histogram has a series.
	if _, _, err := call("read-tasks", "GET", "/api/someone/tasks", "", ""); err != nil {
		t.Fatal(err)
	}
	for _, p := range sys.api {
		read(p)
	}
	read(sys.recur[0])
	env := maps.Clone(sys.env)
	env["KAFKA_CONSUMER_GROUP"] = "metrics-check"
	notify, err := harness.StartProc(filepath.Join(sys.bins, "notify"), "metrics-notify", env, sys.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Stop()
	read(notify)

	named := map[string][]string{}
	for _, file := range []string{"monitoring/alerts.yml", "monitoring/dashboard.json"} {
		b, err := os.ReadFile(filepath.Join("..", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range metricName.FindAllString(string(b), -1) {
			named[m] = append(named[m], file)
		}
	}
	if len(named) < 20 {
		t.Fatalf("the rules and the dashboard name only %d metrics", len(named))
	}
	for _, name := range slices.Sorted(maps.Keys(named)) {
		base := name
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if b, ok := strings.CutSuffix(name, suffix); ok && served[b] {
				base = b
			}
		}
		if !served[base] {
			t.Errorf("%s names %s, which no function serves", strings.Join(slices.Compact(named[name]), " and "), name)
		}
	}
}
