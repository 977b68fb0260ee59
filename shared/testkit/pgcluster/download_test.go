package pgcluster_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/ulikunitz/xz"

	"github.com/todoevents/todo/migrations"
	"github.com/todoevents/todo/shared/testkit"
	"github.com/todoevents/todo/shared/testkit/maven"
	"github.com/todoevents/todo/shared/testkit/pgcluster"
)

// fakeDistribution is a jar shaped like the published ones: a .txz holding
// bin/initdb.
func fakeDistribution(t *testing.T) []byte {
	t.Helper()
	var txz bytes.Buffer
	xw, err := xz.NewWriter(&txz)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(xw)
	script := []byte("#!/bin/sh\nexit 0\n")
	for _, h := range []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "bin/initdb", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(script))},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write(script)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := xw.Close(); err != nil {
		t.Fatal(err)
	}
	var jar bytes.Buffer
	zw := zip.NewWriter(&jar)
	w, _ := zw.Create("postgres-test.txz")
	_, _ = w.Write(txz.Bytes())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return jar.Bytes()
}

// fakeRepository serves jar for any .jar path and sum as its .sha256,
// counting requests.
func fakeRepository(t *testing.T, jar []byte, sum string) (maven.Repository, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch {
		case strings.HasSuffix(r.URL.Path, ".jar"):
			_, _ = w.Write(jar)
		case strings.HasSuffix(r.URL.Path, ".jar.sha256"):
			_, _ = w.Write([]byte(sum + "\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return maven.Repository{URL: srv.URL}, &hits
}

func TestInstallVerifiesOnceAndReusesTheCache(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skipf("no PostgreSQL distribution is published for %s", runtime.GOOS)
	}
	jar := fakeDistribution(t)
	sum := sha256.Sum256(jar)
	repo, hits := fakeRepository(t, jar, hex.EncodeToString(sum[:]))
	cache := t.TempDir()
	bin, err := pgcluster.Install(context.Background(), repo, cache, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cache, "todo", "postgres", "1.0.0", "bin"); bin != want {
		t.Fatalf("installed into %s, want %s", bin, want)
	}
	if info, err := os.Stat(filepath.Join(bin, "initdb")); err != nil || info.Mode().Perm()&0o111 == 0 {
		t.Fatalf("initdb not installed as a program: %v", err)
	}
	first := hits.Load()
	if _, err := pgcluster.Install(context.Background(), repo, cache, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if first != 2 || hits.Load() != first {
		t.Fatalf("%d requests for the first install (want checksum and jar), %d more for the second (want 0)",
			first, hits.Load()-first)
	}
}

func TestInstallRefusesAChecksumMismatch(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skipf("no PostgreSQL distribution is published for %s", runtime.GOOS)
	}
	repo, _ := fakeRepository(t, fakeDistribution(t), strings.Repeat("0", 64))
	cache := t.TempDir()
	_, err := pgcluster.Install(context.Background(), repo, cache, "1.0.0")
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("got %v, want a checksum mismatch", err)
	}
	left, _ := os.ReadDir(filepath.Join(cache, "todo", "postgres"))
	if len(left) != 0 {
		t.Fatalf("a failed install left %v in the cache", left)
	}
}

// TestClusterFromTheDownloadedDistribution runs the real path: PostgreSQL
// from the Maven repository (downloaded once into the user's cache), even
// though this machine may have its own, and a migration round trip on it.
func TestClusterFromTheDownloadedDistribution(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("downloads and starts PostgreSQL; skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Source: pgcluster.SourceDownload})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Remove()
	url := c.URL("postgres")
	if err := migrations.Up(ctx, url); err != nil {
		t.Fatal(err)
	}
	if !testkit.Tables(t, url)["outbox"] {
		t.Fatal("migrations did not create the outbox")
	}
	if err := migrations.DownAll(ctx, url); err != nil {
		t.Fatal(err)
	}
	if left := testkit.Tables(t, url); len(left) != 0 {
		t.Fatalf("tables left after down: %v", left)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var version string
	if err := conn.QueryRow(ctx, `SHOW server_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if want := strings.SplitN(pgcluster.DefaultVersion, ".", 2)[0] + "."; !strings.HasPrefix(version, want) {
		t.Fatalf("server version %s, want the downloaded %s", version, pgcluster.DefaultVersion)
	}
}
