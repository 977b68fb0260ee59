package check

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// funcModule is the knative/func release whose func.yaml JSON Schema the
// function directories follow.
const funcModule = "knative.dev/func@v0.50.1"

// TestFuncYAMLAgainstThePublishedSchema validates every function's
// func.yaml against the JSON Schema knative/func publishes
// (schema/func_yaml-schema.json of its module).
func TestFuncYAMLAgainstThePublishedSchema(t *testing.T) {
	t.Parallel()
	path := filepath.Join(moduleDir(t, funcModule), "schema", "func_yaml-schema.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("func_yaml-schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("func_yaml-schema.json")
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	validate := func(b []byte) error {
		j, err := yaml.YAMLToJSON(b)
		if err != nil {
			return err
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
		if err != nil {
			return err
		}
		return schema.Validate(v)
	}
	for _, fn := range functions {
		b, err := os.ReadFile(filepath.Join("..", "..", "functions", fn, "func.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(b); err != nil {
			t.Errorf("%s/func.yaml does not match the schema: %v", fn, err)
		}
	}
	// The schema is strict enough to matter: a misspelt option and a bad
	// variable name are refused.
	for _, bad := range []map[string]any{
		{"specVersion": "0.36.0", "name": "x", "runtime": "go", "deploy": map[string]any{"options": map[string]any{"scale": map[string]any{"minimum": 1}}}},
		{"specVersion": "0.36.0", "name": "x", "runtime": "go", "run": map[string]any{"envs": []any{map[string]any{"name": "1X", "value": "y"}}}},
	} {
		b, _ := json.Marshal(bad)
		if err := validate(b); err == nil {
			t.Errorf("the schema accepted %s", b)
		}
	}
}
