// Package image builds a function's container image without Docker: the
// function's static binary (CGO_ENABLED=0, stripped) as the only file of
// an image on an empty base, run as a non-root user, written as a tarball
// that `docker load`, `crane push` or `skopeo copy` take. Time zones and
// TLS roots are compiled into the binary, so nothing else is needed.
package image

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// User is the image's user: the conventional unprivileged "nonroot" of
// distroless images, matching runAsUser in k8s/.
const User = "65532:65532"

// Entrypoint is where the binary sits in the image.
const Entrypoint = "/app"

// Spec says what to build.
type Spec struct {
	Name    string // the image's name: a directory of functions/ (a function, or migrate)
	Package string // its main package, relative to Root ("" means ./functions/<Name>/cmd)
	Root    string // the repository root
	Arch    string // GOARCH; the image is linux/Arch
}

// Build compiles the function and returns its image.
func Build(ctx context.Context, s Spec) (v1.Image, error) {
	dir, err := os.MkdirTemp("", "image")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "app")
	pkg := s.Package
	if pkg == "" {
		pkg = "./functions/" + s.Name + "/cmd"
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", bin, pkg)
	cmd.Dir = s.Root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+s.Arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building %s: %v\n%s", s.Name, err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	layer, err := binaryLayer(data)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", s.Arch
	cfg.Created = v1.Time{Time: time.Unix(0, 0).UTC()} // reproducible
	cfg.Config.Entrypoint = []string{Entrypoint}
	cfg.Config.User = User
	cfg.Config.WorkingDir = "/"
	cfg.Config.Env = []string{"PORT=8080"}
	cfg.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.title":  s.Name,
		"org.opencontainers.image.source": "https://github.com/todoevents/todo",
	}
	return mutate.ConfigFile(img, cfg)
}

// binaryLayer is a layer holding only the executable at Entrypoint.
func binaryLayer(bin []byte) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Name: Entrypoint[1:], Mode: 0o555, Size: int64(len(bin)), Typeflag: tar.TypeReg,
		ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
}

// Write saves img as a tarball tagged tag.
func Write(path, tag string, img v1.Image) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(path, ref, img)
}
