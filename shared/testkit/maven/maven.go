// Package maven downloads artifacts from a Maven repository (Maven Central
// unless MAVEN_REPOSITORY names a mirror) over HTTPS and verifies each
// against a checksum: a pinned SHA-1, or the SHA-256 (else SHA-1) the
// repository publishes beside it. Nothing unverified is left behind.
package maven

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Central is Maven Central's repository URL.
const Central = "https://repo1.maven.org/maven2"

// Artifact names one file of a Maven repository.
type Artifact struct {
	Group, Name, Version string
	Ext                  string // "jar" when empty
}

// ParseCoordinates reads "group:name:version".
func ParseCoordinates(s string) (Artifact, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return Artifact{}, fmt.Errorf("%q is not group:name:version", s)
	}
	return Artifact{Group: parts[0], Name: parts[1], Version: parts[2]}, nil
}

// FileName is the artifact's file name, name-version.ext.
func (a Artifact) FileName() string {
	ext := a.Ext
	if ext == "" {
		ext = "jar"
	}
	return a.Name + "-" + a.Version + "." + ext
}

// Path is the artifact's path in a repository.
func (a Artifact) Path() string {
	return strings.ReplaceAll(a.Group, ".", "/") + "/" + a.Name + "/" + a.Version + "/" + a.FileName()
}

// Repository fetches from one Maven repository.
type Repository struct {
	URL    string
	Client *http.Client
}

// Default is MAVEN_REPOSITORY, or Maven Central.
func Default() Repository {
	url := strings.TrimRight(os.Getenv("MAVEN_REPOSITORY"), "/")
	if url == "" {
		url = Central
	}
	return Repository{URL: url}
}

func (r Repository) client() *http.Client {
	if r.Client != nil {
		return r.Client
	}
	return &http.Client{Timeout: 10 * time.Minute}
}

// Fetch downloads a to the file dest, verified against sha1Hex when given,
// else against the checksum the repository publishes. The file appears
// only once verified; on any error nothing is left at dest.
func (r Repository) Fetch(ctx context.Context, a Artifact, dest, sha1Hex string) error {
	url := r.URL + "/" + a.Path()
	var h hash.Hash
	want := strings.ToLower(sha1Hex)
	if want == "" {
		var err error
		if h, want, err = r.published(ctx, url); err != nil {
			return err
		}
	} else {
		h = sha1.New()
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), filepath.Base(dest)+".partial-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	body, err := r.get(ctx, url)
	if err != nil {
		tmp.Close()
		return err
	}
	_, err = io.Copy(io.MultiWriter(tmp, h), body)
	body.Close()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("download %s: %w", url, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("checksum mismatch for %s: got %s, want %s; nothing was installed", url, got, want)
	}
	return os.Rename(tmp.Name(), dest)
}

// published returns the hash and hex digest the repository lists for url:
// its .sha256 when there is one, else its .sha1.
func (r Repository) published(ctx context.Context, url string) (hash.Hash, string, error) {
	for _, c := range []struct {
		ext  string
		hash func() hash.Hash
		size int
	}{{"sha256", sha256.New, 64}, {"sha1", sha1.New, 40}} {
		body, err := r.get(ctx, url+"."+c.ext)
		if errors.Is(err, errNotFound) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		b, err := io.ReadAll(io.LimitReader(body, 1024))
		body.Close()
		if err != nil {
			return nil, "", fmt.Errorf("checksum of %s: %w", url, err)
		}
		sum := strings.ToLower(strings.TrimSpace(strings.SplitN(strings.TrimSpace(string(b)), " ", 2)[0]))
		if len(sum) != c.size {
			return nil, "", fmt.Errorf("checksum of %s: %q is not a %s digest", url, sum, c.ext)
		}
		return c.hash(), sum, nil
	}
	return nil, "", fmt.Errorf("the repository publishes no checksum for %s", url)
}

var errNotFound = errors.New("not found")

func (r Repository) get(ctx context.Context, url string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", url, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		resp.Body.Close()
		return nil, fmt.Errorf("%s: %w", url, errNotFound)
	case resp.StatusCode != http.StatusOK:
		resp.Body.Close()
		return nil, fmt.Errorf("download %s: %s", url, resp.Status)
	}
	return resp.Body, nil
}
