package grant

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
)

func s(v ...string) []string { return v }

func TestAccesses(t *testing.T) {
	cases := []struct {
		name string
		rule rbacv1.PolicyRule
		want []Access
	}{
		{
			name: "every verb of every resource of every group, for every name",
			rule: rbacv1.PolicyRule{APIGroups: s("", "apps"), Resources: s("pods", "deployments"), Verbs: s("get", "list")},
			want: []Access{
				{Verb: "get", Group: "", Resource: "pods"}, {Verb: "list", Group: "", Resource: "pods"},
				{Verb: "get", Group: "", Resource: "deployments"}, {Verb: "list", Group: "", Resource: "deployments"},
				{Verb: "get", Group: "apps", Resource: "pods"}, {Verb: "list", Group: "apps", Resource: "pods"},
				{Verb: "get", Group: "apps", Resource: "deployments"}, {Verb: "list", Group: "apps", Resource: "deployments"},
			},
		},
		{
			name: "resource names multiply",
			rule: rbacv1.PolicyRule{APIGroups: s(""), Resources: s("configmaps"), ResourceNames: s("a", "b"), Verbs: s("get")},
			want: []Access{{Verb: "get", Resource: "configmaps", Name: "a"}, {Verb: "get", Resource: "configmaps", Name: "b"}},
		},
		{
			name: "non-resource URLs by verb",
			rule: rbacv1.PolicyRule{NonResourceURLs: s("/healthz", "/api/*"), Verbs: s("get", "head")},
			want: []Access{{Verb: "get", URL: "/healthz"}, {Verb: "head", URL: "/healthz"}, {Verb: "get", URL: "/api/*"}, {Verb: "head", URL: "/api/*"}},
		},
		{name: "an empty rule has none", rule: rbacv1.PolicyRule{}, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Accesses(tc.rule)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	pods := Access{Verb: "get", Group: "", Resource: "pods"}
	cases := []struct {
		name string
		rule rbacv1.PolicyRule
		a    Access
		want bool
	}{
		{"the same verb, group and resource", rbacv1.PolicyRule{APIGroups: s(""), Resources: s("pods"), Verbs: s("get")}, pods, true},
		{"another verb does not", rbacv1.PolicyRule{APIGroups: s(""), Resources: s("pods"), Verbs: s("list")}, pods, false},
		{"every verb does", rbacv1.PolicyRule{APIGroups: s(""), Resources: s("pods"), Verbs: s("*")}, pods, true},
		{"another group does not", rbacv1.PolicyRule{APIGroups: s("apps"), Resources: s("pods"), Verbs: s("get")}, pods, false},
		{"every group does", rbacv1.PolicyRule{APIGroups: s("*"), Resources: s("pods"), Verbs: s("get")}, pods, true},
		{"another resource does not", rbacv1.PolicyRule{APIGroups: s(""), Resources: s("services"), Verbs: s("get")}, pods, false},
		{"every resource does", rbacv1.PolicyRule{APIGroups: s(""), Resources: s("*"), Verbs: s("get")}, pods, true},
		{"a subresource is not its resource", rbacv1.PolicyRule{APIGroups: s(""), Resources: s("pods"), Verbs: s("create")}, Access{Verb: "create", Resource: "pods/exec"}, false},
		{"the subresource exactly", rbacv1.PolicyRule{APIGroups: s(""), Resources: s("pods/exec"), Verbs: s("create")}, Access{Verb: "create", Resource: "pods/exec"}, true},
		{"*/sub covers the subresource of any resource", rbacv1.PolicyRule{APIGroups: s("apps"), Resources: s("*/scale"), Verbs: s("update")}, Access{Verb: "update", Group: "apps", Resource: "deployments/scale"}, true},
		{"*/sub does not cover another subresource", rbacv1.PolicyRule{APIGroups: s("apps"), Resources: s("*/scale"), Verbs: s("update")}, Access{Verb: "update", Group: "apps", Resource: "deployments/status"}, false},
		{"*/sub does not cover the resource itself", rbacv1.PolicyRule{APIGroups: s("apps"), Resources: s("*/scale"), Verbs: s("update")}, Access{Verb: "update", Group: "apps", Resource: "deployments"}, false},
		{"* covers a subresource", rbacv1.PolicyRule{APIGroups: s(""), Resources: s("*"), Verbs: s("create")}, Access{Verb: "create", Resource: "pods/exec"}, true},
		{"a listed */sub is covered by the same pattern", rbacv1.PolicyRule{APIGroups: s("apps"), Resources: s("*/scale"), Verbs: s("get")}, Access{Verb: "get", Group: "apps", Resource: "*/scale"}, true},
		{"a listed */sub is not covered by one resource's", rbacv1.PolicyRule{APIGroups: s("apps"), Resources: s("deployments/scale"), Verbs: s("get")}, Access{Verb: "get", Group: "apps", Resource: "*/scale"}, false},
		{"a listed * verb is covered only by *", rbacv1.PolicyRule{APIGroups: s(""), Resources: s("pods"), Verbs: s("get", "list")}, Access{Verb: "*", Resource: "pods"}, false},
		{"a listed * verb is covered by *", rbacv1.PolicyRule{APIGroups: s(""), Resources: s("pods"), Verbs: s("*")}, Access{Verb: "*", Resource: "pods"}, true},
		{"a listed * group is covered only by *", rbacv1.PolicyRule{APIGroups: s("", "apps"), Resources: s("pods"), Verbs: s("get")}, Access{Verb: "get", Group: "*", Resource: "pods"}, false},
		{"a listed * resource is covered only by *", rbacv1.PolicyRule{APIGroups: s(""), Resources: s("pods", "services"), Verbs: s("get")}, Access{Verb: "get", Resource: "*"}, false},
		{"a rule without names covers one name", rbacv1.PolicyRule{APIGroups: s(""), Resources: s("pods"), Verbs: s("get")}, Access{Verb: "get", Resource: "pods", Name: "web"}, true},
		{"a rule with names covers one of them", rbacv1.PolicyRule{APIGroups: s(""), Resources: s("pods"), ResourceNames: s("db", "web"), Verbs: s("get")}, Access{Verb: "get", Resource: "pods", Name: "web"}, true},
		{"a rule with names does not cover another", rbacv1.PolicyRule{APIGroups: s(""), Resources: s("pods"), ResourceNames: s("db"), Verbs: s("get")}, Access{Verb: "get", Resource: "pods", Name: "web"}, false},
		{"a rule with names does not cover every name", rbacv1.PolicyRule{APIGroups: s(""), Resources: s("pods"), ResourceNames: s("db"), Verbs: s("get")}, pods, false},
		{"a resource rule covers no URL", rbacv1.PolicyRule{APIGroups: s("*"), Resources: s("*"), Verbs: s("*")}, Access{Verb: "get", URL: "/healthz"}, false},
		{"a URL rule covers no resource", rbacv1.PolicyRule{NonResourceURLs: s("*"), Verbs: s("*")}, pods, false},
		{"the URL exactly", rbacv1.PolicyRule{NonResourceURLs: s("/healthz"), Verbs: s("get")}, Access{Verb: "get", URL: "/healthz"}, true},
		{"another URL does not", rbacv1.PolicyRule{NonResourceURLs: s("/healthz"), Verbs: s("get")}, Access{Verb: "get", URL: "/livez"}, false},
		{"a URL with another verb does not", rbacv1.PolicyRule{NonResourceURLs: s("/healthz"), Verbs: s("post")}, Access{Verb: "get", URL: "/healthz"}, false},
		{"* covers every URL", rbacv1.PolicyRule{NonResourceURLs: s("*"), Verbs: s("get")}, Access{Verb: "get", URL: "/metrics"}, true},
		{"a prefix covers what it starts", rbacv1.PolicyRule{NonResourceURLs: s("/healthz/*"), Verbs: s("get")}, Access{Verb: "get", URL: "/healthz/etcd"}, true},
		{"a prefix covers a listed pattern it starts", rbacv1.PolicyRule{NonResourceURLs: s("/api*"), Verbs: s("get")}, Access{Verb: "get", URL: "/api/*"}, true},
		{"a prefix does not cover what it does not start", rbacv1.PolicyRule{NonResourceURLs: s("/healthz/*"), Verbs: s("get")}, Access{Verb: "get", URL: "/livez"}, false},
		{"a URL without * is no prefix", rbacv1.PolicyRule{NonResourceURLs: s("/healthz"), Verbs: s("get")}, Access{Verb: "get", URL: "/healthz/etcd"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Covers(tc.rule, tc.a); got != tc.want {
				t.Errorf("Covers(%+v, %+v) = %t, want %t", tc.rule, tc.a, got, tc.want)
			}
		})
	}
}
