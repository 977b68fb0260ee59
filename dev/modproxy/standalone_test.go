package modproxy_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"

	"github.com/todoevents/todo/dev/modproxy"
	"github.com/todoevents/todo/shared/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// funcModule is the knative/func release whose Go scaffolding the
// functions are built with here, as its `func build` would.
const funcModule = "knative.dev/func@v0.50.1"

// download fetches module path@version into the module cache and returns
// its directory.
func download(t *testing.T, pathAtVersion string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", pathAtVersion)
	cmd.Dir, cmd.Env = t.TempDir(), append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
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

// scaffolding returns the files of func's scaffolding for instanced HTTP
// Go functions (go/scaffolding/instanced-http of its templates: go.mod,
// go.sum, and a main that hands New() to Knative's Go middleware,
// knative.dev/func-go). func compiles its templates in as a zip written out
// as a byte-slice literal (generate/zz_filesystem_generated.go), read here.
func scaffolding(t *testing.T) map[string][]byte {
	t.Helper()
	src := filepath.Join(download(t, funcModule), "generate", "zz_filesystem_generated.go")
	file, err := parser.ParseFile(token.NewFileSet(), src, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var zipped []byte
	ast.Inspect(file, func(n ast.Node) bool {
		if l, ok := n.(*ast.BasicLit); ok && l.Kind == token.INT {
			b, err := strconv.ParseUint(l.Value, 0, 8)
			if err != nil {
				t.Fatalf("%s: %v", src, err)
			}
			zipped = append(zipped, byte(b))
		}
		return true
	})
	z, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	files := map[string][]byte{}
	for _, e := range z.File {
		name, ok := strings.CutPrefix(e.Name, "go/scaffolding/instanced-http/")
		if !ok || !e.Mode().IsRegular() {
			continue
		}
		r, err := e.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	if files["main.go"] == nil || files["go.mod"] == nil {
		t.Fatalf("no Go scaffolding for instanced HTTP functions in %s", funcModule)
	}
	return files
}

// TestFunctionsBuildAlone builds each function directory the way Knative
// func's builders do: only that directory is copied, as ./f beside func's
// own scaffolding module, which requires and replaces it, with the
// function's requirements and go.sum merged in (its replace directives
// not); GOWORK=off, the repository's other modules resolved at their
// required version from a file-system module proxy, and a fresh module
// cache. One of them then serves a request on a real database through
// Knative's Go middleware. The migrate binary, not a Knative function,
// builds from its directory alone the same way, with its own main.
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
	scaffold := scaffolding(t)
	// Modules from elsewhere come from the machine's module cache, itself
	// laid out as a proxy, else from the usual proxy.
	goenv, err := exec.Command("go", "env", "GOMODCACHE", "GOPROXY").Output()
	if err != nil {
		t.Fatal(err)
	}
	gomodcache, goproxy, _ := strings.Cut(strings.TrimSpace(string(goenv)), "\n")
	env := append(modproxy.Env(proxy, "file://"+filepath.Join(gomodcache, "cache", "download")+","+goproxy),
		"GOMODCACHE="+filepath.Join(work, "modcache"), "CGO_ENABLED=0", "GOFLAGS=-mod=mod -modcacherw")
	built, plain := map[string]string{}, 0
	for _, m := range mods {
		name, ok := strings.CutPrefix(m.Path, modproxy.Prefix+"/functions/")
		if !ok {
			continue
		}
		dir := filepath.Join(work, name)
		if err := os.CopyFS(filepath.Join(dir, "f"), os.DirFS(m.Dir)); err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(work, "bin", name)
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Dir, cmd.Env = dir, env
		if _, err := os.Stat(filepath.Join(m.Dir, "func.yaml")); err != nil {
			// Not a Knative function (migrate): its directory alone, with
			// its own main, as an image builder such as ko builds it.
			cmd.Dir = filepath.Join(dir, "f")
			cmd.Args = append(cmd.Args[:len(cmd.Args)-1], "./cmd")
			plain++
		} else if err := scaffoldModule(dir, m.Path, scaffold); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s does not build alone: %v\n%s", name, err, out)
		}
		built[name] = bin
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "functions", "*", "func.yaml"))
	if len(built)-plain != len(dirs) || len(built) < 8 || plain != 1 {
		t.Fatalf("built %d functions, want every one of the %d", len(built), len(dirs))
	}
	serve(t, built["read-tasks"])
}

// scaffoldModule writes func's scaffolding into dir for the function
// module fn in dir/f and patches it as func does: the scaffolding's go.mod
// takes the function's Go version when newer, requires fn and replaces it
// with ./f, and gains the function's requirements it lacks; the function's
// go.sum is appended to the scaffolding's; main.go imports fn.
func scaffoldModule(dir, fn string, scaffold map[string][]byte) error {
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
	s, err := modfile.Parse("go.mod", scaffold["go.mod"], nil)
	if err != nil {
		return err
	}
	if s.Go == nil || semver.Compare("v"+fmod.Go.Version, "v"+s.Go.Version) > 0 {
		if err := s.AddGoStmt(fmod.Go.Version); err != nil {
			return err
		}
	}
	if err := s.DropReplace("function", ""); err != nil {
		return err
	}
	if err := s.DropRequire("function"); err != nil {
		return err
	}
	if err := s.AddReplace(fn, "", "./f", ""); err != nil {
		return err
	}
	if err := s.AddRequire(fn, "v0.0.0-00010101000000-000000000000"); err != nil {
		return err
	}
	has := map[string]bool{}
	for _, r := range s.Require {
		has[r.Mod.Path] = true
	}
	for _, r := range fmod.Require {
		if !has[r.Mod.Path] {
			if err := s.AddRequire(r.Mod.Path, r.Mod.Version); err != nil {
				return err
			}
		}
	}
	gomod, err := s.Format()
	if err != nil {
		return err
	}
	fsum, err := os.ReadFile(filepath.Join(dir, "f", "go.sum"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for name, b := range map[string][]byte{
		"go.mod":  gomod,
		"go.sum":  append(slices.Clip(scaffold["go.sum"]), fsum...),
		"main.go": bytes.ReplaceAll(scaffold["main.go"], []byte("function"), []byte(fn)),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
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
	cmd.Env = append(os.Environ(), "LISTEN_ADDRESS="+addr, "DATABASE_URL="+testkit.Database(t),
		"AUTH_JWT_SECRET="+testkit.Secret, "LOG_LEVEL=warn")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	testkit.Serves(t, "http://"+addr, "the scaffolded function")
}
