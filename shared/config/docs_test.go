package config

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestManifestsAndDocsMatchTheCode keeps k8s/, config/, func.yaml files and
// the README in step with the variables the code reads.
func TestManifestsAndDocsMatchTheCode(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	var files []string
	for _, pattern := range []string{"k8s/*.yaml", "k8s/*/*.yaml", "k8s/*/*/*.yaml", "config/*.env", "functions/*/func.yaml", "func.yaml"} {
		m, _ := filepath.Glob(filepath.Join(root, pattern))
		files = append(files, m...)
	}
	if len(files) < 8 {
		t.Fatalf("found only %v", files)
	}
	// Variables set for programs other than the functions.
	notOurs := map[string]bool{
		"POD_NAME": true, // each Redpanda broker's advertised address (k8s/redpanda-cluster)
	}
	ref := regexp.MustCompile(`(?m)(?:- name: |^)([A-Z][A-Z0-9_]+)(?:=|\s*$)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ref.FindAllStringSubmatch(string(b), -1) {
			if name := m[1]; !slices.Contains(Variables, name) && !notOurs[name] {
				t.Errorf("%s sets %s, which the code does not read", f, name)
			}
		}
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Variables {
		if !strings.Contains(string(readme), "`"+v+"`") {
			t.Errorf("README does not document `%s`", v)
		}
	}
}
