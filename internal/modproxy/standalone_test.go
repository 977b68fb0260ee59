package modproxy_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/todoevents/todo/internal/modproxy"
	"github.com/todoevents/todo/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// scaffold is a main in the shape of Knative func's Go scaffolding for an
// instanced HTTP function: it imports the function's module, takes New(),
// and uses only the methods func's runtime calls: Start with the
// environment, Handle for requests, Ready and Alive for the health
// endpoints, Stop at the end.
const scaffold = `package main

import (
	"context"
	"net/http"
	"os"
	"strings"

	f "%s"
)

type instance interface {
	Handle(http.ResponseWriter, *http.Request)
	Start(context.Context, map[string]string) error
	Stop(context.Context) error
	Ready(context.Context) (bool, error)
	Alive(context.Context) (bool, error)
}

func main() {
	var i instance = f.New()
	cfg := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		cfg[k] = v
	}
	ctx := context.Background()
	if err := i.Start(ctx, cfg); err != nil {
		panic(err)
	}
	defer i.Stop(ctx)
	mux := http.NewServeMux()
	mux.HandleFunc("/health/readiness", func(w http.ResponseWriter, r *http.Request) {
		if ok, err := i.Ready(r.Context()); !ok || err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("/health/liveness", func(w http.ResponseWriter, r *http.Request) {
		if ok, _ := i.Alive(r.Context()); !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("/", i.Handle)
	panic(http.ListenAndServe(os.Getenv("LISTEN_ADDRESS"), mux))
}
`

// TestFunctionsBuildAlone builds each function directory the way Knative
// func's builders do: only that directory is copied (as ./f beside a
// scaffolding module that requires and replaces it, with the function's
// requirements and go.sum merged in, its replace directives not), with
// GOWORK=off, the repository's other modules resolved at their required
// version from a file-system module proxy, and a fresh module cache. One
// of them then serves a request on a real database.
func TestFunctionsBuildAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function from scratch")
	}
	t.Parallel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	mods, err := modproxy.Modules(root)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	proxy := filepath.Join(work, "proxy")
	if err := modproxy.Build(proxy, mods); err != nil {
		t.Fatal(err)
	}
	// Modules from elsewhere come from the machine's module cache, itself
	// laid out as a proxy, so the test needs no network.
	gomodcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	env := append(modproxy.Env(proxy, "file://"+filepath.Join(strings.TrimSpace(string(gomodcache)), "cache", "download")+",off"),
		"GOMODCACHE="+filepath.Join(work, "modcache"), "CGO_ENABLED=0", "GOFLAGS=-mod=mod -modcacherw")
	built := map[string]string{}
	for _, m := range mods {
		name, ok := strings.CutPrefix(m.Path, modproxy.Prefix+"/functions/")
		if !ok {
			continue
		}
		dir := filepath.Join(work, name)
		if err := os.CopyFS(filepath.Join(dir, "f"), os.DirFS(m.Dir)); err != nil {
			t.Fatal(err)
		}
		if err := scaffoldModule(dir, m.Path); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		bin := filepath.Join(work, "bin", name)
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s does not build alone: %v\n%s", name, err, out)
		}
		built[name] = bin
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "functions", "*", "func.yaml"))
	if len(built) != len(dirs) || len(built) < 7 {
		t.Fatalf("built %d functions, want every one of the %d", len(built), len(dirs))
	}
	serve(t, built["read-tasks"])
}

// scaffoldModule writes the scaffolding's go.mod, go.sum and main.go in
// dir for the function module fn in dir/f, as func's scaffolding does.
func scaffoldModule(dir, fn string) error {
	data, err := os.ReadFile(filepath.Join(dir, "f", "go.mod"))
	if err != nil {
		return err
	}
	fmod, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		return err
	}
	if len(fmod.Replace) > 0 {
		return fmt.Errorf("the function's go.mod has replace directives, which func's builders drop")
	}
	s := &modfile.File{}
	if err := s.AddModuleStmt("s"); err != nil {
		return err
	}
	if err := s.AddGoStmt(fmod.Go.Version); err != nil {
		return err
	}
	if err := s.AddReplace(fn, "", "./f", ""); err != nil {
		return err
	}
	if err := s.AddRequire(fn, "v0.0.0-00010101000000-000000000000"); err != nil {
		return err
	}
	for _, r := range fmod.Require {
		if err := s.AddRequire(r.Mod.Path, r.Mod.Version); err != nil {
			return err
		}
	}
	out, err := s.Format()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), out, 0o644); err != nil {
		return err
	}
	if sum, err := os.ReadFile(filepath.Join(dir, "f", "go.sum")); err == nil {
		if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "main.go"), []byte(fmt.Sprintf(scaffold, fn)), 0o644)
}

// serve runs bin on a migrated database and lists a user's tasks through it.
func serve(t *testing.T, bin string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "LISTEN_ADDRESS="+addr, "DATABASE_URL="+testenv.Database(t),
		"AUTH_JWT_SECRET="+testenv.Secret, "LOG_LEVEL=warn")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	testenv.Serves(t, "http://"+addr, "the scaffolded function")
}
