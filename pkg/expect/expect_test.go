package expect

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

const header = "apiVersion: access.kubectl-access.io/v1alpha1\nkind: AccessExpectations\n"

// ignorePos compares documents by content only.
var ignorePos = cmpopts.IgnoreFields(Set{}, "Pos", "SubjectPos")
var ignoreActionPos = cmpopts.IgnoreFields(Action{}, "Pos")

func TestParse(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []Document
	}{
		{
			name: "one-line and written-out actions, namespaces, several subjects",
			in: header + `expectations:
- subjects: [build/ci, current]
  namespaces: [build, prod]
  allow:
  - create pods/exec
  - get deployments.apps -n prod
  - {verb: get, resource: secrets, name: app-config}
  - verb: update
    group: apps
    resource: deployments
    subresource: scale
    namespaces: [a, b]
  deny:
  - get /metrics
  - {verb: get, nonResourceURL: /logs}
`,
			want: []Document{{APIVersion: APIVersion, Kind: Kind, Expectations: []Set{{
				Subjects:   []string{"build/ci", "current"},
				Namespaces: []string{"build", "prod"},
				Allow: []Action{
					{Action: risk.Action{Verb: "create", Resource: "pods", Subresource: "exec"}},
					{Action: risk.Action{Verb: "get", Group: "apps", Resource: "deployments"}, Namespaces: []string{"prod"}},
					{Action: risk.Action{Verb: "get", Resource: "secrets", Name: "app-config"}},
					{Action: risk.Action{Verb: "update", Group: "apps", Resource: "deployments", Subresource: "scale"}, Namespaces: []string{"a", "b"}},
				},
				Deny: []Action{
					{Action: risk.Action{Verb: "get", NonResourceURL: "/metrics"}},
					{Action: risk.Action{Verb: "get", NonResourceURL: "/logs"}},
				},
			}}}},
		},
		{
			name: "every namespace, a selector, and two documents",
			in: header + `expectations:
- subjects: [a/b]
  namespaces: ["*"]
  deny: ["* *.*"]
---
` + header + `expectations:
- subjects: [a/c]
  namespaceSelector: team=a,env!=dev
  allow: [list pods]
`,
			want: []Document{
				{APIVersion: APIVersion, Kind: Kind, Expectations: []Set{{Subjects: []string{"a/b"}, Namespaces: []string{"*"},
					Deny: []Action{{Action: risk.Action{Verb: "*", Group: "*", Resource: "*"}}}}}},
				{APIVersion: APIVersion, Kind: Kind, Expectations: []Set{{Subjects: []string{"a/c"}, NamespaceSelector: "team=a,env!=dev",
					Allow: []Action{{Action: risk.Action{Verb: "list", Resource: "pods"}}}}}},
			},
		},
		{
			name: "JSON is YAML too",
			in:   `{"apiVersion": "access.kubectl-access.io/v1alpha1", "kind": "AccessExpectations", "expectations": [{"subjects": ["a/b"], "allow": ["get pods --namespace=x"]}]}`,
			want: []Document{{APIVersion: APIVersion, Kind: Kind, Expectations: []Set{{Subjects: []string{"a/b"},
				Allow: []Action{{Action: risk.Action{Verb: "get", Resource: "pods"}, Namespaces: []string{"x"}}}}}}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse("e.yaml", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, ignorePos, ignoreActionPos); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePositions(t *testing.T) {
	in := header + "expectations:\n- subjects:\n  - a/b\n  - current\n  allow:\n  - get pods\n  - verb: list\n    resource: pods\n"
	docs, err := Parse("e.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	s := docs[0].Expectations[0]
	got := []string{s.Pos.String(), s.SubjectPos[0].String(), s.SubjectPos[1].String(), s.Allow[0].Pos.String(), s.Allow[1].Pos.String()}
	want := []string{"e.yaml:4", "e.yaml:5", "e.yaml:6", "e.yaml:8", "e.yaml:9"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("positions (-want +got):\n%s", diff)
	}
}

// TestParseErrors is every malformed document the issue names, and more:
// each is refused with the file, the line and the field at fault.
func TestParseErrors(t *testing.T) {
	set := func(body string) string { return header + "expectations:\n- subjects: [a/b]\n" + body }
	cases := []struct {
		name, in, want string
	}{
		{"a YAML syntax error", "expectations: [a\n", "e.yaml:1: not valid YAML: "},
		{"no document at all", "", "e.yaml: no document"},
		{"a document that is not a mapping", "- a\n", "e.yaml:1: want a mapping with apiVersion, kind, expectations, got a list"},
		{"an unknown top-level field", header + "expectations: []\nextra: 1\n", "e.yaml:4: extra: unknown field; known fields: apiVersion, kind, expectations"},
		{"a field given twice", header + "kind: AccessExpectations\nexpectations: []\n", `e.yaml:3: kind: given twice (first on line 2)`},
		{"a missing apiVersion", "kind: AccessExpectations\nexpectations: []\n", "e.yaml:1: apiVersion: missing"},
		{"a missing kind", "apiVersion: access.kubectl-access.io/v1alpha1\nexpectations: []\n", "e.yaml:1: kind: missing"},
		{"a missing expectations", header, "e.yaml:1: expectations: missing"},
		{"another apiVersion", "apiVersion: v1\nkind: AccessExpectations\nexpectations: []\n", `e.yaml:1: apiVersion: want access.kubectl-access.io/v1alpha1, got "v1"`},
		{"another kind", "apiVersion: access.kubectl-access.io/v1alpha1\nkind: Pod\nexpectations: []\n", `e.yaml:2: kind: want AccessExpectations, got "Pod"`},
		{"a kind that is not a string", "apiVersion: access.kubectl-access.io/v1alpha1\nkind: 3\nexpectations: []\n", `e.yaml:2: kind: want a string, got "3" (int); quote it`},
		{"a kind that is null", "apiVersion: access.kubectl-access.io/v1alpha1\nkind:\nexpectations: []\n", "e.yaml:2: kind: want a string, got nothing"},
		{"empty expectations", header + "expectations: []\n", "e.yaml:3: expectations: empty"},
		{"expectations that are not a list", header + "expectations: {}\n", "e.yaml:3: expectations: want a list, got a mapping"},
		{"an unknown field in a set", header + "expectations:\n- subjects: [a/b]\n  alow: [get pods]\n", "e.yaml:5: expectations[0].alow: unknown field; known fields: subjects, namespaces, namespaceSelector, allow, deny"},
		{"a set that is not a mapping", header + "expectations:\n- get pods\n", `e.yaml:4: expectations[0]: want a mapping with subjects`},
		{"no subjects field", header + "expectations:\n- allow: [get pods]\n", "e.yaml:4: expectations[0].subjects: missing"},
		{"an empty subject list", header + "expectations:\n- subjects: []\n  allow: [get pods]\n", "e.yaml:4: expectations[0].subjects: empty"},
		{"subjects that are not a list", header + "expectations:\n- subjects: a/b\n  allow: [get pods]\n", `e.yaml:4: expectations[0].subjects: want a list, got "a/b"`},
		{"a subject without a namespace", header + "expectations:\n- subjects: [ci]\n  allow: [get pods]\n", `e.yaml:4: expectations[0].subjects[0]: not a subject: want a service account as namespace/name`},
		{"a subject with a bad namespace", header + "expectations:\n- subjects: [Build/ci]\n  allow: [get pods]\n", "e.yaml:4: expectations[0].subjects[0]: the namespace of a subject is not a valid namespace name"},
		{"a subject with a bad name", header + "expectations:\n- subjects: [build/C_I]\n  allow: [get pods]\n", "e.yaml:4: expectations[0].subjects[0]: the name of a subject is not a valid service account name"},
		{"neither allow nor deny", header + "expectations:\n- subjects: [a/b]\n", "e.yaml:4: expectations[0]: neither allow nor deny"},
		{"an empty allow list", set("  allow: []\n"), "e.yaml:5: expectations[0].allow: empty"},
		{"an empty deny list", set("  deny: []\n"), "e.yaml:5: expectations[0].deny: empty"},
		{"empty namespaces", set("  namespaces: []\n  allow: [get pods]\n"), "e.yaml:5: expectations[0].namespaces: empty"},
		{"a bad namespace", set("  namespaces: [a, B]\n  allow: [get pods]\n"), "e.yaml:5: expectations[0].namespaces[1]: is not a valid namespace name"},
		{"a star among namespaces", set("  namespaces: [a, \"*\"]\n  allow: [get pods]\n"), `e.yaml:5: expectations[0].namespaces[1]: "*" means every namespace: it stands alone`},
		{"namespaces and a selector", set("  namespaces: [a]\n  namespaceSelector: x=y\n  allow: [get pods]\n"), "e.yaml:6: expectations[0].namespaceSelector: namespaces and namespaceSelector cannot be used together"},
		{"a bad selector", set("  namespaceSelector: \"x in (\"\n  allow: [get pods]\n"), "e.yaml:5: expectations[0].namespaceSelector: not a label selector"},
		{"an empty selector", set("  namespaceSelector: \" \"\n  allow: [get pods]\n"), "e.yaml:5: expectations[0].namespaceSelector: empty"},
		{"a bad one-line action", set("  allow:\n  - get Pods\n"), `e.yaml:6: expectations[0].allow[0]: action "get Pods": resource "Pods" is not lower case`},
		{"a one-line action with two -n", set("  allow:\n  - get pods -n a -n b\n"), "e.yaml:6: expectations[0].allow[0]: action \"get pods -n a -n b\": -n/--namespace given twice"},
		{"a one-line URL with -n", set("  allow:\n  - get /metrics -n a\n"), "a non-resource URL is asked once for the cluster; it takes no -n"},
		{"an action with no verb", set("  deny:\n  - resource: secrets\n"), "e.yaml:6: expectations[0].deny[0].verb: missing: every action has a verb"},
		{"an action with an empty verb", set("  deny:\n  - {verb: \"\", resource: secrets}\n"), "e.yaml:6: expectations[0].deny[0].verb: missing"},
		{"a resource and a nonResourceURL in one action", set("  allow:\n  - verb: get\n    resource: pods\n    nonResourceURL: /metrics\n"), "e.yaml:8: expectations[0].allow[0].nonResourceURL: an action names a resource (resource, group, subresource, name) or a nonResourceURL, not both"},
		{"a name and a nonResourceURL", set("  allow:\n  - {verb: get, name: x, nonResourceURL: /metrics}\n"), "e.yaml:6: expectations[0].allow[0].nonResourceURL: an action names a resource"},
		{"neither a resource nor a URL", set("  allow:\n  - verb: get\n"), "e.yaml:6: expectations[0].allow[0].resource: missing"},
		{"a URL without a slash", set("  allow:\n  - {verb: get, nonResourceURL: metrics}\n"), `e.yaml:6: expectations[0].allow[0].nonResourceURL: "metrics" is not a path`},
		{"a URL with namespaces", set("  allow:\n  - {verb: get, nonResourceURL: /metrics, namespaces: [a]}\n"), "e.yaml:6: expectations[0].allow[0].namespaces: a nonResourceURL is asked once"},
		{"an unknown action field", set("  allow:\n  - {verb: get, resources: pods}\n"), "e.yaml:6: expectations[0].allow[0].resources: unknown field; known fields: verb, group, resource, subresource, name, nonResourceURL, namespaces"},
		{"an upper-case verb", set("  allow:\n  - {verb: GET, resource: pods}\n"), `e.yaml:6: expectations[0].allow[0].verb: "GET" is not lower case`},
		{"a verb with a slash", set("  allow:\n  - {verb: get/x, resource: pods}\n"), `e.yaml:6: expectations[0].allow[0].verb: "get/x" is not a verb`},
		{"a resource with a slash", set("  allow:\n  - {verb: get, resource: pods/exec}\n"), `e.yaml:6: expectations[0].allow[0].resource: "pods/exec" contains a character a resource never has`},
		{"an upper-case resource", set("  allow:\n  - {verb: get, resource: Pods}\n"), `e.yaml:6: expectations[0].allow[0].resource: "Pods" is not lower case`},
		{"a name with a slash", set("  allow:\n  - {verb: get, resource: pods, name: a/b}\n"), `e.yaml:6: expectations[0].allow[0].name: "a/b" contains a character a name never has`},
		{"an empty action namespaces", set("  allow:\n  - {verb: get, resource: pods, namespaces: []}\n"), "e.yaml:6: expectations[0].allow[0].namespaces: empty"},
		{"an action that is a list", set("  allow:\n  - [get, pods]\n"), "e.yaml:6: expectations[0].allow[0]: want a mapping with verb"},
		{"a number for a name", set("  allow:\n  - {verb: get, resource: pods, name: 12}\n"), `e.yaml:6: expectations[0].allow[0].name: want a string, got "12" (int); quote it`},
		{"an error in the second document", header + "expectations:\n- subjects: [a/b]\n  allow: [get pods]\n---\nkind: x\n", "e.yaml:7: apiVersion: missing"},
		{"a long value is not repeated", header + "expectations:\n- subjects: eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnc2lnc2ln\n  allow: [get pods]\n", "e.yaml:4: expectations[0].subjects: want a list, got a value of str type"},
		{"a token as a subject is not repeated", header + "expectations:\n- subjects: [eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln]\n  allow: [get pods]\n", "e.yaml:4: expectations[0].subjects[0]: not a subject"},
		{"an alias", header + "expectations:\n- subjects: [&x a/b, *x]\n  allow: [get pods]\n", `e.yaml:4: expectations[0].subjects[1]: want a string, got an alias`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("e.yaml", []byte(tc.in))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.in)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Errorf("%T is not an *Error: %v", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n  %v\nwant it to contain\n  %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "eyJhbGci") {
				t.Errorf("the error repeats a token: %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("the error spans several lines: %q", err)
			}
		})
	}
}

func TestParseAction(t *testing.T) {
	cases := []struct {
		in      string
		want    Action
		wantErr string
	}{
		{in: "create pods/exec", want: Action{Action: risk.Action{Verb: "create", Resource: "pods", Subresource: "exec"}}},
		{in: "get deployments.apps -n prod", want: Action{Action: risk.Action{Verb: "get", Group: "apps", Resource: "deployments"}, Namespaces: []string{"prod"}}},
		{in: "get -n prod deployments.apps web", want: Action{Action: risk.Action{Verb: "get", Group: "apps", Resource: "deployments", Name: "web"}, Namespaces: []string{"prod"}}},
		{in: "get pods --namespace prod", want: Action{Action: risk.Action{Verb: "get", Resource: "pods"}, Namespaces: []string{"prod"}}},
		{in: "get pods --namespace=prod", want: Action{Action: risk.Action{Verb: "get", Resource: "pods"}, Namespaces: []string{"prod"}}},
		{in: "get pods -n=prod", want: Action{Action: risk.Action{Verb: "get", Resource: "pods"}, Namespaces: []string{"prod"}}},
		{in: "get pods -nprod", want: Action{Action: risk.Action{Verb: "get", Resource: "pods"}, Namespaces: []string{"prod"}}},
		{in: "get /metrics", want: Action{Action: risk.Action{Verb: "get", NonResourceURL: "/metrics"}}},
		{in: "get pods -n", wantErr: `action "get pods -n": -n needs a namespace after it`},
		{in: "get pods --namespace", wantErr: "--namespace needs a namespace after it"},
		{in: "get pods -n Prod", wantErr: "-n: is not a valid namespace name"},
		{in: "get pods --namespace=", wantErr: "-n: is not a valid namespace name: it is empty"},
		{in: "get pods -n a --namespace b", wantErr: "given twice"},
		{in: "get pods --all", wantErr: `unknown option "--all"`},
		{in: "get /metrics -n a", wantErr: "takes no -n"},
		{in: "get", wantErr: `action "get": no resource or URL after the verb`},
		{in: "-n a", wantErr: `action "-n a": empty`},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseAction(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				var ae *risk.ActionError
				if !errors.As(err, &ae) {
					t.Errorf("%T is not a *risk.ActionError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestActionMarshal(t *testing.T) {
	cases := []struct {
		name string
		in   Action
		want string
	}{
		{"one line", Action{Action: risk.Action{Verb: "get", Group: "apps", Resource: "deployments", Name: "web"}}, `"get deployments.apps web"`},
		{"one line with one namespace", Action{Action: risk.Action{Verb: "get", Resource: "pods"}, Namespaces: []string{"x"}}, `"get pods -n x"`},
		{"a URL", Action{Action: risk.Action{Verb: "get", NonResourceURL: "/metrics"}}, `"get /metrics"`},
		{"several namespaces are written out", Action{Action: risk.Action{Verb: "get", Resource: "pods"}, Namespaces: []string{"x", "y"}},
			`{"verb":"get","resource":"pods","namespaces":["x","y"]}`},
		{"every namespace is written out", Action{Action: risk.Action{Verb: "get", Resource: "pods"}, Namespaces: []string{"*"}},
			`{"verb":"get","resource":"pods","namespaces":["*"]}`},
		{"a name that reads back otherwise is written out", Action{Action: risk.Action{Verb: "get", Resource: "pods", Name: "-n"}},
			`{"verb":"get","resource":"pods","name":"-n"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, err := tc.in.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != tc.want {
				t.Errorf("got %s, want %s", data, tc.want)
			}
		})
	}
}

func TestKnownVerb(t *testing.T) {
	for _, v := range []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "proxy", "*", "use", "bind", "escalate", "impersonate", "approve", "sign", "attest"} {
		if !KnownVerb(v) {
			t.Errorf("%q is not known", v)
		}
	}
	for _, v := range []string{"frobnicate", "post", "", "GET"} {
		if KnownVerb(v) {
			t.Errorf("%q is known", v)
		}
	}
}

func TestValidateSubject(t *testing.T) {
	for _, ok := range []string{"current", "a/b", "kube-system/default", "a/b.c"} {
		if err := ValidateSubject(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "b", "/b", "a/", "A/b", "a/b/c", "Current"} {
		if err := ValidateSubject(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPosString(t *testing.T) {
	if got := (Pos{File: "f"}).String(); got != "f" {
		t.Errorf("%q", got)
	}
	if got := (Pos{File: "f", Line: 3}).String(); got != "f:3" {
		t.Errorf("%q", got)
	}
	if got := (&Error{Pos: Pos{File: "f", Line: 1}, Problem: "p"}).Error(); got != "f:1: p" {
		t.Errorf("%q", got)
	}
}

// roundTrip writes docs as YAML and parses them back.
func roundTrip(t testing.TB, docs []Document) []Document {
	t.Helper()
	var b strings.Builder
	for i, d := range docs {
		data, err := yaml.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(data)
	}
	back, err := Parse("back.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("the written document does not parse: %v\n%s", err, b.String())
	}
	return back
}

func TestRoundTrip(t *testing.T) {
	for _, seed := range seeds {
		docs, err := Parse("e.yaml", []byte(seed))
		if err != nil {
			continue
		}
		if diff := cmp.Diff(docs, roundTrip(t, docs), ignorePos, ignoreActionPos, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("round trip of\n%s\n(-want +got):\n%s", seed, diff)
		}
	}
}

// seeds are the fuzz corpus, and the round-trip cases.
var seeds = []string{
	header + "expectations:\n- subjects: [build/ci, current]\n  namespaces: [build, prod]\n  allow:\n  - create pods/exec\n  - get deployments.apps -n prod\n  - {verb: get, resource: secrets, name: app-config}\n  deny:\n  - get /metrics\n",
	header + "expectations:\n- subjects: [a/b]\n  namespaces: [\"*\"]\n  deny: [\"* *.*\", \"get */scale\"]\n",
	header + "expectations:\n- subjects: [a/b]\n  namespaceSelector: team=a\n  allow:\n  - {verb: update, group: apps, resource: deployments, subresource: scale, namespaces: [x, z]}\n",
	header + "expectations:\n- subjects: [a/b]\n  allow: [frobnicate widgets.example.com]\n---\n" + header + "expectations:\n- subjects: [current]\n  deny: [impersonate serviceaccounts]\n",
	header + "expectations:\n- subjects: []\n",
	"expectations: [a\n",
	"{\"apiVersion\": \"access.kubectl-access.io/v1alpha1\", \"kind\": \"AccessExpectations\", \"expectations\": [{\"subjects\": [\"a/b\"], \"allow\": [\"get pods --namespace=x\"]}]}",
}

// FuzzParse holds the parser to two rules: it never panics, and every
// document it accepts reads back the same once written out.
func FuzzParse(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		docs, err := Parse("fuzz.yaml", []byte(in))
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("%T is not an *Error: %v", err, err)
			}
			return
		}
		if diff := cmp.Diff(docs, roundTrip(t, docs), ignorePos, ignoreActionPos, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	})
}
