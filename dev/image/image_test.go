package image_test

import (
	"archive/tar"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/todoevents/todo/dev/image"
	"github.com/todoevents/todo/shared/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// TestImage builds read-tasks' image into a tarball, reads it back as a
// registry or `docker load` would, checks its configuration and contents
// (one static binary, no shell, a non-root user), then runs that binary as
// the image's user from a directory it cannot write, on a real database.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image")
	}
	t.Parallel()
	root, _ := filepath.Abs("../..")
	img, err := image.Build(context.Background(), image.Spec{Name: "read-tasks", Root: root, Arch: runtime.GOARCH})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "read-tasks.tar")
	const ref = "registry.example.com/todo/read-tasks:test"
	if err := image.Write(path, ref, img); err != nil {
		t.Fatal(err)
	}
	loaded, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loaded.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Config
	if c.User != image.User || !slices.Equal(c.Entrypoint, []string{image.Entrypoint}) || len(c.Cmd) != 0 ||
		cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH || !slices.Contains(c.Env, "PORT=8080") {
		t.Fatalf("config: user %q entrypoint %v cmd %v os %s/%s env %v", c.User, c.Entrypoint, c.Cmd, cfg.OS,
			cfg.Architecture, c.Env)
	}
	layers, err := loaded.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers (%v), want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	var files []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		files = append(files, h.Name)
		f, err := os.OpenFile(filepath.Join(rootfs, h.Name), os.O_CREATE|os.O_WRONLY, os.FileMode(h.Mode))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, tr); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if !slices.Equal(files, []string{"app"}) {
		t.Fatalf("image files %v, want only the binary (no shell, no libc)", files)
	}
	if out, _ := exec.Command("file", filepath.Join(rootfs, "app")).CombinedOutput(); strings.Contains(string(out), "dynamically") {
		t.Fatalf("the binary is not static: %s", out)
	}
	run(t, dir, rootfs)
}

// run starts rootfs/app as the image's user (as root: uid 65532 through
// setpriv) in rootfs, which that user cannot write, with no writable home
// or temporary directory, and checks it serves.
func run(t *testing.T, dir, rootfs string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bin := filepath.Join(rootfs, "app")
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		// The user must reach the binary: open the path to it, but not for writing.
		for d := rootfs; d != "/" && d != "."; d = filepath.Dir(d) {
			if strings.HasPrefix(d, os.TempDir()) && d != os.TempDir() {
				_ = os.Chmod(d, 0o555)
			}
		}
		t.Cleanup(func() { _ = os.Chmod(rootfs, 0o755); _ = os.Chmod(dir, 0o755) })
		uid, gid, _ := strings.Cut(image.User, ":")
		cmd = exec.CommandContext(ctx, "setpriv", "--reuid="+uid, "--regid="+gid, "--clear-groups", "--", bin)
	} else {
		cmd = exec.CommandContext(ctx, bin)
	}
	cmd.Dir = rootfs
	cmd.Env = []string{"PORT=" + strconv.Itoa(port), "DATABASE_URL=" + testkit.Database(t), "AUTH_JWT_SECRET=" + testkit.Secret,
		"HOME=/nonexistent", "TMPDIR=" + rootfs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	testkit.Serves(t, "http://127.0.0.1:"+strconv.Itoa(port), "the image's binary")
}
