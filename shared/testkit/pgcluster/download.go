package pgcluster

import (
	"archive/tar"
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/ulikunitz/xz"

	"github.com/todoevents/todo/shared/testkit/maven"
)

// DefaultVersion is the PostgreSQL distribution fetched when the machine
// has no server binaries (PG_VERSION overrides it).
const DefaultVersion = "17.6.0"

// distribution is the Maven artifact of PostgreSQL's server binaries for
// this platform, as io.zonky.test.postgres publishes them.
func distribution(version string) (maven.Artifact, error) {
	platform := map[string]string{
		"linux/amd64": "linux-amd64", "linux/arm64": "linux-arm64v8",
		"darwin/amd64": "darwin-amd64", "darwin/arm64": "darwin-arm64v8",
	}[runtime.GOOS+"/"+runtime.GOARCH]
	if platform == "" {
		return maven.Artifact{}, fmt.Errorf("no PostgreSQL distribution for %s/%s: install PostgreSQL and set PG_BIN",
			runtime.GOOS, runtime.GOARCH)
	}
	return maven.Artifact{Group: "io.zonky.test.postgres", Name: "embedded-postgres-binaries-" + platform,
		Version: version}, nil
}

// Install returns the bin directory of PostgreSQL version unpacked under
// cacheRoot/todo/postgres/<version>, downloading and verifying it from repo
// the first time. A failed install leaves nothing in the cache.
func Install(ctx context.Context, repo maven.Repository, cacheRoot, version string) (string, error) {
	dir := filepath.Join(cacheRoot, "todo", "postgres", version)
	bin := filepath.Join(dir, "bin")
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err == nil {
		return bin, nil
	}
	art, err := distribution(version)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), version+".partial-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	jar := filepath.Join(tmp, art.FileName())
	if err := repo.Fetch(ctx, art, jar, ""); err != nil {
		return "", fmt.Errorf("PostgreSQL %s: %w", version, err)
	}
	if err := unpackDistribution(jar, tmp); err != nil {
		return "", fmt.Errorf("unpack PostgreSQL %s: %w", version, err)
	}
	if err := os.Remove(jar); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another process may have installed it meanwhile.
		if _, statErr := os.Stat(filepath.Join(bin, "initdb")); statErr == nil {
			return bin, nil
		}
		return "", err
	}
	return bin, nil
}

// unpackDistribution extracts the .txz archive inside jar into dir.
func unpackDistribution(jar, dir string) error {
	zr, err := zip.OpenReader(jar)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".txz") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		xr, err := xz.NewReader(rc)
		if err != nil {
			return err
		}
		return untar(tar.NewReader(xr), dir)
	}
	return errors.New("no .txz archive in the distribution")
}

// untar writes the archive's directories, files and symbolic links under
// dir, refusing paths that would leave it.
func untar(tr *tar.Reader, dir string) error {
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(h.Name)
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
			return fmt.Errorf("archive path %q leaves the install directory", h.Name)
		}
		target := filepath.Join(dir, name)
		// Readable and, for directories and programs, searchable by the
		// postgres user when started as root.
		mode := os.FileMode(h.Mode).Perm() | 0o444
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, mode|0o111)
		case tar.TypeReg:
			err = writeFile(target, tr, mode)
		case tar.TypeSymlink:
			if filepath.IsAbs(h.Linkname) {
				return fmt.Errorf("archive link %q points outside", h.Name)
			}
			if err = os.MkdirAll(filepath.Dir(target), 0o755); err == nil {
				err = os.Symlink(h.Linkname, target)
			}
		}
		if err != nil {
			return err
		}
	}
}

func writeFile(path string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
