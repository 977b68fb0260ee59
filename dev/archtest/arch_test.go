// Package archtest checks the shape of the repository's dependencies (see
// docs/architecture.md): the modules require each other one way; every
// binary an image ships links only production code; the domain needs only
// the standard library; the contract names no client library; functions
// reach PostgreSQL and Kafka only through shared's adapters; and shared
// code never imports what sits above it.
package archtest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/todoevents/todo"

// goList runs go list with args, one line per package.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// root is the repository's top directory.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestModulesRequireEachOtherOneWay: migrations requires nothing of the
// repository, shared at most migrations, a function at most shared (and
// what shared brings, marked indirect), and nothing requires the root.
func TestModulesRequireEachOtherOneWay(t *testing.T) {
	t.Parallel()
	dir := root(t)
	mods, err := filepath.Glob(filepath.Join(dir, "functions", "*", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mods = append(mods, filepath.Join(dir, "shared", "go.mod"), filepath.Join(dir, "migrations", "go.mod"))
	if len(mods) < 10 {
		t.Fatalf("found %d modules, want every function's, shared's and migrations'", len(mods))
	}
	shared, migrations := module+"/shared", module+"/migrations"
	for _, gomod := range mods {
		out, err := exec.Command("go", "mod", "edit", "-json", gomod).Output()
		if err != nil {
			t.Fatalf("%s: %v", gomod, err)
		}
		var m struct {
			Module  struct{ Path string }
			Require []struct {
				Path     string
				Indirect bool
			}
		}
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		// What each module may require directly; the schema may also come
		// indirectly, through shared.
		var may []string
		switch m.Module.Path {
		case migrations:
		case shared, module + "/functions/migrate":
			may = []string{migrations}
		default:
			may = []string{shared}
		}
		for _, r := range m.Require {
			if !strings.HasPrefix(r.Path, module+"/") || slices.Contains(may, r.Path) || r.Indirect && r.Path == migrations {
				continue
			}
			t.Errorf("%s requires %s: modules require each other one way (functions → shared → migrations)", m.Module.Path, r.Path)
		}
	}
	// Nothing requires the root: its module path is in no go.mod but its own.
	for _, gomod := range mods {
		data, err := os.ReadFile(gomod)
		if err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`(?m)^\s*(require\s+)?` + regexp.QuoteMeta(module) + `\s+v`).Match(data) {
			t.Errorf("%s requires the root module %s", gomod, module)
		}
	}
}

// shipped lists the main packages the images are built from (.ko.yaml's
// builds, the same list `make images` builds), and checks it holds every
// functions/*/cmd.
func shipped(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root(t), ".ko.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	for _, m := range regexp.MustCompile(`(?m)^\s*dir:\s*\./(\S+)\s*\n\s*main:\s*\./(\S+)`).FindAllStringSubmatch(string(data), -1) {
		pkgs = append(pkgs, module+"/"+m[1]+"/"+m[2])
	}
	for _, pkg := range goList(t, module+"/functions/...") {
		if strings.HasSuffix(pkg, "/cmd") && !slices.Contains(pkgs, pkg) {
			t.Errorf("%s has no image in .ko.yaml", pkg)
		}
	}
	if len(pkgs) < 9 {
		t.Fatalf("found %d shipped binaries in .ko.yaml, want every function's and migrate's", len(pkgs))
	}
	return pkgs
}

// development is what no shipped binary may link: the development runner
// and tooling, the test kits and fakes, the downloaders, the fake broker,
// the fault proxy, the browser driver and the testing package itself.
var development = []string{
	module + "/dev/", module + "/cmd/", module + "/e2e", module + "/shared/testkit", module + "/shared/store/storetest",
	"github.com/twmb/franz-go/pkg/kfake", "github.com/Shopify/toxiproxy", "github.com/chromedp/",
}

func TestShippedBinariesLinkOnlyProductionCode(t *testing.T) {
	t.Parallel()
	for _, pkg := range shipped(t) {
		deps := goList(t, "-deps", pkg)
		if len(deps) < 5 {
			t.Fatalf("%s: go list found %d dependencies", pkg, len(deps))
		}
		for _, dep := range deps {
			bad := dep == "testing" || dep == module
			for _, prefix := range development {
				bad = bad || strings.HasPrefix(dep, prefix)
			}
			if bad {
				t.Errorf("%s links %s, which is for development and tests only", pkg, dep)
			}
		}
	}
}

func TestDomainImportsOnlyTheStandardLibrary(t *testing.T) {
	t.Parallel()
	domain := map[string]bool{module + "/shared/task": true, module + "/shared/recurrence": true, module + "/shared/apperr": true,
		module + "/shared/webhook": true}
	for pkg := range domain {
		for _, dep := range goList(t, "-deps", pkg) {
			first, _, _ := strings.Cut(dep, "/")
			if strings.Contains(first, ".") && !domain[dep] {
				t.Errorf("%s depends on %s; the domain imports only the standard library", pkg, dep)
			}
		}
	}
}

// clientLibraries are PostgreSQL's and Kafka's client libraries.
var clientLibraries = []string{"github.com/jackc/", "github.com/IBM/sarama", "github.com/twmb/franz-go"}

// adapters are the client libraries and the packages wrapping them.
var adapters = append(slices.Clone(clientLibraries), module+"/shared/store", module+"/shared/kafka",
	module+"/shared/outbox", module+"/shared/dapr")

func TestContractNamesNoAdapter(t *testing.T) {
	t.Parallel()
	for _, dep := range goList(t, "-deps", module+"/shared/contract") {
		for _, a := range adapters {
			if strings.HasPrefix(dep, a) {
				t.Errorf("shared/contract depends on %s; the types the functions speak name no adapter", dep)
			}
		}
	}
}

// TestFunctionsUseNoClientLibraryDirectly: a function's own code talks to
// PostgreSQL and Kafka through shared's adapters; only migrate, which is
// the schema's own binary, and the tests may use the client libraries.
func TestFunctionsUseNoClientLibraryDirectly(t *testing.T) {
	t.Parallel()
	n := 0
	for _, line := range goList(t, "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/functions/...") {
		pkg, imports, _ := strings.Cut(line, " ")
		if strings.HasPrefix(pkg, module+"/functions/migrate") {
			continue
		}
		n++
		for _, imp := range strings.Fields(imports) {
			for _, lib := range clientLibraries {
				if strings.HasPrefix(imp, lib) {
					t.Errorf("%s imports %s; functions use shared/store and shared/kafka", pkg, imp)
				}
			}
		}
	}
	if n < 16 {
		t.Fatalf("checked %d function packages, want every function and its cmd", n)
	}
}

func TestSharedCodeImportsNothingAboveIt(t *testing.T) {
	t.Parallel()
	for _, line := range goList(t, "-test", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/shared/...") {
		pkg, imports, _ := strings.Cut(line, " ")
		for _, imp := range strings.Fields(imports) {
			if imp == module {
				t.Errorf("%s imports the root module", pkg)
			}
			for _, above := range []string{"/functions/", "/cmd/", "/dev/", "/e2e"} {
				if strings.HasPrefix(imp, module+above) {
					t.Errorf("%s imports %s", pkg, imp)
				}
			}
		}
	}
}
