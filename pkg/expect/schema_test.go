package expect

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// The JSON Schema editors use (docs/expectations.schema.json) must say what
// Parse accepts: the same fields, and the same verdict on documents.

const schemaPath = "../../docs/expectations.schema.json"

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	s, err := c.Compile(schemaPath)
	if err != nil {
		t.Fatalf("compiling the schema: %v", err)
	}
	return s
}

// schemaProperties returns the property names of the schema object at
// path (keys into the schema's JSON, e.g. "$defs", "set").
func schemaProperties(t *testing.T, path ...string) []string {
	t.Helper()
	data, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	var node any
	if err := json.Unmarshal(data, &node); err != nil {
		t.Fatal(err)
	}
	for _, p := range path {
		node = node.(map[string]any)[p]
	}
	var names []string
	for k := range node.(map[string]any)["properties"].(map[string]any) {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// jsonFields returns the JSON names of the fields of a struct type.
func jsonFields(v any) []string {
	var names []string
	typ := reflect.TypeOf(v)
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func TestSchemaFieldsAreTheGoTypes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		goType any
		path   []string
	}{
		{"Document", Document{}, nil},
		{"Set", Set{}, []string{"$defs", "set"}},
		{"Action", actionJSON{}, []string{"$defs", "actionFields"}},
	} {
		if diff := cmp.Diff(jsonFields(tc.goType), schemaProperties(t, tc.path...)); diff != "" {
			t.Errorf("%s: Go fields (-) and schema properties (+) differ:\n%s", tc.name, diff)
		}
	}
}

// validate checks a YAML document against the schema.
func validate(t *testing.T, s *jsonschema.Schema, doc string) error {
	t.Helper()
	data, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(v)
}

func TestSchemaAgreesWithParse(t *testing.T) {
	s := compileSchema(t)
	examples, err := filepath.Glob("../../docs/examples/*.yaml")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no example in docs/examples: %v", err)
	}
	var valid []string
	for _, path := range examples {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(path, data); err != nil {
			t.Errorf("the example does not parse: %v", err)
		}
		valid = append(valid, string(data))
	}
	for _, seed := range seeds[:3] {
		valid = append(valid, seed)
	}
	for _, doc := range valid {
		if err := validate(t, s, doc); err != nil {
			t.Errorf("the schema refuses a document Parse accepts: %v\n%s", err, doc)
		}
	}
	set := func(body string) string { return header + "expectations:\n- subjects: [a/b]\n" + body }
	for name, doc := range map[string]string{
		"an unknown field":                   set("  alow: [get pods]\n"),
		"an empty subject list":              header + "expectations:\n- subjects: []\n  allow: [get pods]\n",
		"a subject without a namespace":      header + "expectations:\n- subjects: [ci]\n  allow: [get pods]\n",
		"no verb":                            set("  allow:\n  - resource: pods\n"),
		"a resource and a URL":               set("  allow:\n  - {verb: get, resource: pods, nonResourceURL: /metrics}\n"),
		"neither allow nor deny":             header + "expectations:\n- subjects: [a/b]\n",
		"namespaces and a selector":          set("  namespaces: [a]\n  namespaceSelector: x=y\n  allow: [get pods]\n"),
		"another kind":                       "apiVersion: access.kubectl-access.io/v1alpha1\nkind: Pod\nexpectations: [{subjects: [a/b], allow: [get pods]}]\n",
		"an empty allow list":                set("  allow: []\n"),
		"a URL with namespaces":              set("  allow:\n  - {verb: get, nonResourceURL: /metrics, namespaces: [a]}\n"),
		"a one-line action without a target": set("  allow: [get]\n"),
	} {
		if _, err := Parse("e.yaml", []byte(doc)); err == nil {
			t.Errorf("%s: Parse accepts it", name)
		}
		if err := validate(t, s, doc); err == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
	}
}
