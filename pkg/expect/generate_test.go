package expect

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
)

func TestGenerate(t *testing.T) {
	rules := []Rules{
		{
			Namespace: "b",
			ResourceRules: []authorizationv1.ResourceRule{
				{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"configmaps"}},
				{Verbs: []string{"update"}, APIGroups: []string{"apps"}, Resources: []string{"deployments/scale"}, ResourceNames: []string{"web", "api"}},
				{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}},
				{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"Pods"}},
				{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"a/b"}},
			},
			NonResourceRules: []authorizationv1.NonResourceRule{
				{Verbs: []string{"get"}, NonResourceURLs: []string{"/api", "/api/*"}},
				{Verbs: []string{"get"}, NonResourceURLs: []string{"*"}},
			},
			Incomplete: true, EvaluationError: "webhook",
		},
		{
			Namespace: "a",
			ResourceRules: []authorizationv1.ResourceRule{
				{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}},
			},
			NonResourceRules: []authorizationv1.NonResourceRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/api", "/api/*"}}},
		},
	}
	out := string(Generate("x/app", rules))
	docs, err := Parse("gen.yaml", []byte(out))
	if err != nil {
		t.Fatalf("the generated document does not parse: %v\n%s", err, out)
	}
	var got [][]string
	for _, s := range docs[0].Expectations {
		row := []string{strings.Join(s.Subjects, ","), strings.Join(s.Namespaces, ",")}
		for _, a := range s.Allow {
			row = append(row, a.String())
		}
		if len(s.Deny) > 0 {
			t.Errorf("deny generated: %v", s.Deny)
		}
		got = append(got, row)
	}
	want := [][]string{
		{"x/app", "a,b", "get /api", "get /api/*", "get configmaps"},
		{"x/app", "b", "* *.*", "list configmaps", "update deployments/scale.apps api", "update deployments/scale.apps web"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sets (-want +got):\n%s\n%s", diff, out)
	}
	for _, comment := range []string{
		"# namespace(s) a, b.",
		"# The server says the rules of namespace b (webhook) may be incomplete",
		`# Left out: verb "get" on resource "Pods" of group "", name "" in namespace b, which cannot be written as an action.`,
		`# Left out: verb "get" on resource "secrets" of group "", name "a/b" in namespace b, which cannot be written as an action.`,
		`# Left out: verb "get" on every non-resource URL ("*") in namespace b, which a review asks one path at a time.`,
		"# Allowed in every namespace reviewed.\n- subjects:",
	} {
		if !strings.Contains(out, comment) {
			t.Errorf("no %q in\n%s", comment, out)
		}
	}
}

func TestGenerateNoRules(t *testing.T) {
	out := Generate("current", []Rules{{Namespace: "a"}})
	docs, err := Parse("gen.yaml", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	s := docs[0].Expectations[0]
	if diff := cmp.Diff([]string{"current"}, s.Subjects); diff != "" || len(s.Deny) != 1 || s.Deny[0].String() != "* *.*" || len(s.Allow) != 0 {
		t.Errorf("%+v\n%s", s, out)
	}
}

func TestGenerateOneNamespace(t *testing.T) {
	out := string(Generate("x/app", []Rules{{Namespace: "a", ResourceRules: []authorizationv1.ResourceRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}}}}))
	if strings.Contains(out, "every namespace reviewed") {
		t.Errorf("one namespace is not every namespace:\n%s", out)
	}
	if !strings.Contains(out, "- subjects: [\"x/app\"]\n  namespaces: [\"a\"]\n  allow:\n  - \"get pods\"\n") {
		t.Errorf("%s", out)
	}
}
