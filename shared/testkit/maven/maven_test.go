package maven

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestArtifactPath(t *testing.T) {
	t.Parallel()
	a, err := ParseCoordinates("org.apache.kafka:kafka_2.13:4.1.1")
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Path(); got != "org/apache/kafka/kafka_2.13/4.1.1/kafka_2.13-4.1.1.jar" {
		t.Fatalf("path %s", got)
	}
	for _, bad := range []string{"", "a:b", "a::c", "a:b:c:d"} {
		if _, err := ParseCoordinates(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestFetchVerifiesPinnedAndPublishedChecksums(t *testing.T) {
	t.Parallel()
	body := []byte("jar bytes")
	sum := sha1.Sum(body)
	good := hex.EncodeToString(sum[:])
	published := good
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, ".jar"):
			_, _ = w.Write(body)
		case strings.HasSuffix(r.URL.Path, ".jar.sha1"): // no .sha256: the SHA-1 is used
			_, _ = w.Write([]byte(published + "  x.jar\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	repo := Repository{URL: srv.URL}
	a := Artifact{Group: "g", Name: "n", Version: "1"}
	dir := t.TempDir()
	cases := []struct {
		name, pinned, published string
		ok                      bool
	}{
		{"pinned", good, "", true},
		{"pinned mismatch", strings.Repeat("0", 40), good, false},
		{"published sha1", "", good, true},
		{"published mismatch", "", strings.Repeat("1", 40), false},
		{"published garbage", "", "not-a-digest", false},
	}
	for _, tc := range cases {
		published = tc.published
		dest := filepath.Join(dir, tc.name+".jar")
		err := repo.Fetch(context.Background(), a, dest, tc.pinned)
		if tc.ok != (err == nil) {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, statErr := os.Stat(dest)
		if tc.ok == (statErr != nil) {
			t.Fatalf("%s: file present = %v after err = %v", tc.name, statErr == nil, err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*partial*")); len(left) != 0 {
		t.Fatalf("partial downloads left: %v", left)
	}
}
