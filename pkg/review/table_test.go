package review

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

func rr(groups, resources, verbs []string, names ...string) authorizationv1.ResourceRule {
	return authorizationv1.ResourceRule{APIGroups: groups, Resources: resources, Verbs: verbs, ResourceNames: names}
}

func nrr(urls, verbs []string) authorizationv1.NonResourceRule {
	return authorizationv1.NonResourceRule{NonResourceURLs: urls, Verbs: verbs}
}

func l(v ...string) []string { return v }

func TestCompact(t *testing.T) {
	defaults := []authorizationv1.ResourceRule{
		rr(l("authorization.k8s.io"), l("selfsubjectaccessreviews", "selfsubjectrulesreviews"), l("create")),
	}
	discovery := []authorizationv1.NonResourceRule{
		nrr(l("/api", "/version"), l("get")),
		nrr(l("/version"), l("get")), // repeated by another role
	}
	cases := []struct {
		name    string
		results []NamespaceResult
		want    Table
	}{
		{
			name: "one namespace: verbs of a resource from several rules share a row",
			results: []NamespaceResult{{
				Namespace: "a",
				ResourceRules: append([]authorizationv1.ResourceRule{
					rr(l(""), l("pods"), l("list", "get")),
					rr(l(""), l("pods", "services"), l("watch", "get")),
					rr(l("apps"), l("deployments"), l("get")),
				}, defaults...),
				NonResourceRules: discovery,
			}},
			want: Table{Reviewed: l("a"), Rows: []Row{
				{APIGroup: "apps", Resource: "deployments", Verbs: l("get"), Namespaces: l("a")},
				{Resource: "pods", Verbs: l("get", "list", "watch"), Namespaces: l("a")},
				{APIGroup: "authorization.k8s.io", Resource: "selfsubjectaccessreviews", Verbs: l("create"), Namespaces: l("a")},
				{APIGroup: "authorization.k8s.io", Resource: "selfsubjectrulesreviews", Verbs: l("create"), Namespaces: l("a")},
				{Resource: "services", Verbs: l("get", "watch"), Namespaces: l("a")},
				{NonResourceURL: "/api", Verbs: l("get"), Namespaces: l("a")},
				{NonResourceURL: "/version", Verbs: l("get"), Namespaces: l("a")},
			}},
		},
		{
			name: "rules split by where they hold",
			results: []NamespaceResult{
				{Namespace: "c", ResourceRules: append([]authorizationv1.ResourceRule{rr(l(""), l("pods"), l("get"))}, defaults...)},
				{Namespace: "a", ResourceRules: append([]authorizationv1.ResourceRule{rr(l(""), l("pods"), l("get", "delete")), rr(l(""), l("configmaps"), l("get"))}, defaults...)},
				{Namespace: "b", ResourceRules: append([]authorizationv1.ResourceRule{rr(l(""), l("pods"), l("get"))}, defaults...)},
			},
			want: Table{Reviewed: l("a", "b", "c"), Rows: []Row{
				{Resource: "configmaps", Verbs: l("get"), Namespaces: l("a")},
				{Resource: "pods", Verbs: l("delete"), Namespaces: l("a")},
				{Resource: "pods", Verbs: l("get"), Namespaces: l("a", "b", "c")},
				{APIGroup: "authorization.k8s.io", Resource: "selfsubjectaccessreviews", Verbs: l("create"), Namespaces: l("a", "b", "c")},
				{APIGroup: "authorization.k8s.io", Resource: "selfsubjectrulesreviews", Verbs: l("create"), Namespaces: l("a", "b", "c")},
			}},
		},
		{
			name: "resource names with the same verbs share a row; all names stays apart",
			results: []NamespaceResult{{
				Namespace: "a",
				ResourceRules: []authorizationv1.ResourceRule{
					rr(l(""), l("secrets"), l("get"), "tls", "db"),
					rr(l(""), l("secrets"), l("get", "update"), "api-key"),
					rr(l(""), l("secrets"), l("list")),
				},
			}},
			want: Table{Reviewed: l("a"), Rows: []Row{
				{Resource: "secrets", Verbs: l("list"), Namespaces: l("a")},
				{Resource: "secrets", ResourceNames: l("api-key"), Verbs: l("get", "update"), Namespaces: l("a")},
				{Resource: "secrets", ResourceNames: l("db", "tls"), Verbs: l("get"), Namespaces: l("a")},
			}},
		},
		{
			name: "failed namespaces are left out",
			results: []NamespaceResult{
				{Namespace: "a", ResourceRules: []authorizationv1.ResourceRule{rr(l("*"), l("*"), l("*"))}, NonResourceRules: []authorizationv1.NonResourceRule{nrr(l("*"), l("*"))}},
				{Namespace: "b", Err: errors.New("boom")},
			},
			want: Table{Reviewed: l("a"), Rows: []Row{
				{APIGroup: "*", Resource: "*", Verbs: l("*"), Namespaces: l("a")},
				{NonResourceURL: "*", Verbs: l("*"), Namespaces: l("a")},
			}},
		},
		{
			name:    "nothing reviewed",
			results: []NamespaceResult{{Namespace: "a", Err: errors.New("boom")}},
			want:    Table{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Compact(tc.results)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Compact (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompactIsDeterministic(t *testing.T) {
	var results []NamespaceResult
	for i := range 20 {
		results = append(results, NamespaceResult{
			Namespace:     fmt.Sprintf("ns-%02d", i),
			ResourceRules: []authorizationv1.ResourceRule{rr(l("", "apps"), l("pods", "deployments", "secrets"), l("get", "list", "watch", fmt.Sprint("v", i%3)))},
		})
	}
	first := Compact(results)
	for range 20 {
		if diff := cmp.Diff(first, Compact(results)); diff != "" {
			t.Fatalf("Compact is not deterministic:\n%s", diff)
		}
	}
}

func TestRowNames(t *testing.T) {
	cases := []struct {
		row      Row
		resource string
		rule     rbacv1.PolicyRule
	}{
		{Row{Resource: "pods", Verbs: l("get")}, "pods", rbacv1.PolicyRule{APIGroups: l(""), Resources: l("pods"), Verbs: l("get")}},
		{Row{APIGroup: "apps", Resource: "deployments", ResourceNames: l("web"), Verbs: l("get")}, "deployments.apps",
			rbacv1.PolicyRule{APIGroups: l("apps"), Resources: l("deployments"), ResourceNames: l("web"), Verbs: l("get")}},
		{Row{APIGroup: "*", Resource: "*", Verbs: l("*")}, "*.*", rbacv1.PolicyRule{APIGroups: l("*"), Resources: l("*"), Verbs: l("*")}},
		{Row{NonResourceURL: "/healthz", Verbs: l("get")}, "", rbacv1.PolicyRule{NonResourceURLs: l("/healthz"), Verbs: l("get")}},
	}
	for _, tc := range cases {
		if got := tc.row.ResourceString(); got != tc.resource {
			t.Errorf("%+v.ResourceString() = %q, want %q", tc.row, got, tc.resource)
		}
		if diff := cmp.Diff(tc.rule, tc.row.Rule()); diff != "" {
			t.Errorf("%+v.Rule() (-want +got):\n%s", tc.row, diff)
		}
	}
}

func TestWhere(t *testing.T) {
	many := make([]string, 20)
	for i := range many {
		many[i] = fmt.Sprintf("ns-%02d", i)
	}
	cases := []struct {
		name       string
		reviewed   []string
		namespaces []string
		want       string
	}{
		{"the only namespace", l("build"), l("build"), "build"},
		{"every namespace", l("a", "b", "c"), l("a", "b", "c"), "all 3 reviewed namespaces"},
		{"some namespaces", l("a", "b", "c"), l("a", "c"), "a, c"},
		{"one of several", l("a", "b", "c"), l("b"), "b"},
		{"all but a few, said the short way", many, many[2:], "all 20 reviewed namespaces except ns-00, ns-01"},
		{"a long list is cut", many, many[:10], "ns-00, ns-01, ns-02, ns-03, ns-04, ns-05, ns-06, ns-07 and 2 more"},
		{"the exception list is used when complete", many, many[:12], "all 20 reviewed namespaces except ns-12, ns-13, ns-14, ns-15, ns-16, ns-17, ns-18, ns-19"},
		{"up to eight are listed", many, many[:8], "ns-00, ns-01, ns-02, ns-03, ns-04, ns-05, ns-06, ns-07"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			table := Table{Reviewed: tc.reviewed}
			if got := table.Where(Row{Namespaces: tc.namespaces}); got != tc.want {
				t.Errorf("Where = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRisks(t *testing.T) {
	results := []NamespaceResult{
		{Namespace: "b", ResourceRules: []authorizationv1.ResourceRule{
			rr(l(""), l("secrets", "configmaps"), l("get")),
			rr(l(""), l("pods/exec"), l("create")),
		}},
		{Namespace: "a", ResourceRules: []authorizationv1.ResourceRule{rr(l("*"), l("*"), l("*"))}, NonResourceRules: []authorizationv1.NonResourceRule{nrr(l("*"), l("*"))}},
		{Namespace: "c", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("configmaps"), l("get", "list"))}},
		{Namespace: "d", Err: errors.New("not reviewed")},
	}
	var got []string
	for _, r := range Risks(results) {
		got = append(got, r.Namespace+" "+r.Finding.Check+" "+fmt.Sprint(r.Rule.Resources))
	}
	want := l(
		"a "+risk.Admin+" [*]",
		"b "+risk.ReadSecrets+" [secrets configmaps]",
		"b "+risk.Exec+" [pods/exec]",
	)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Risks (-want +got):\n%s", diff)
	}
}

// TestRisksAssessesAlikeNamespacesOnce: Risks assesses namespaces with the
// same rules once, so whatever tells rule sets apart must not take two for
// one. A resource named "pods,secrets" (a role can hold any string) is no
// pair of pods and secrets, in either order of the namespaces; kube-system,
// which weighs findings, is graded on its own; and a namespace like
// another gets the same findings, rule for rule.
func TestRisksAssessesAlikeNamespacesOnce(t *testing.T) {
	pair := []authorizationv1.ResourceRule{rr(l(""), l("pods", "secrets"), l("get"))}
	odd := []authorizationv1.ResourceRule{rr(l(""), l("pods,secrets"), l("get"))}
	for _, order := range [][]string{{"odd", "pair"}, {"pair", "odd"}} {
		var results []NamespaceResult
		for _, ns := range order {
			rules := pair
			if ns == "odd" {
				rules = odd
			}
			results = append(results, NamespaceResult{Namespace: ns, ResourceRules: rules})
		}
		results = append(results,
			NamespaceResult{Namespace: "kube-system", ResourceRules: pair},
			NamespaceResult{Namespace: "twin", ResourceRules: pair})
		var got []string
		for _, r := range Risks(results) {
			got = append(got, fmt.Sprintf("%s %s %s %v", r.Namespace, r.Finding.Check, r.Finding.Severity, r.Rule.Resources))
		}
		want := l(
			"kube-system "+risk.ReadSecrets+" critical [pods secrets]",
			"pair "+risk.ReadSecrets+" high [pods secrets]",
			"twin "+risk.ReadSecrets+" high [pods secrets]",
		)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("namespaces in order %v: Risks (-want +got):\n%s", order, diff)
		}
	}
}
