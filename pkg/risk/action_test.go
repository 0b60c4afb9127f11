package risk

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
)

func TestActionString(t *testing.T) {
	cases := []struct {
		name   string
		action Action
		want   string
	}{
		{"core resource", Action{Verb: "get", Resource: "secrets"}, "get secrets"},
		{"subresource", Action{Verb: "create", Resource: "pods", Subresource: "exec"}, "create pods/exec"},
		{"group", Action{Verb: "escalate", Group: "rbac.authorization.k8s.io", Resource: "roles"}, "escalate roles.rbac.authorization.k8s.io"},
		{"subresource before group", Action{Verb: "update", Group: "apps", Resource: "deployments", Subresource: "scale"}, "update deployments/scale.apps"},
		{"one object", Action{Verb: "get", Resource: "secrets", Name: "app-config"}, "get secrets app-config"},
		{"everything", Action{Verb: "*", Group: "*", Resource: "*"}, "* *.*"},
		{"non-resource URL", Action{Verb: "get", NonResourceURL: "/metrics"}, "get /metrics"},
		{"a URL hides resource fields", Action{Verb: "get", Resource: "pods", NonResourceURL: "/healthz"}, "get /healthz"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.action.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseAction(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want Action
	}{
		{"core resource", "get secrets", Action{Verb: "get", Resource: "secrets"}},
		{"subresource", "create pods/exec", Action{Verb: "create", Resource: "pods", Subresource: "exec"}},
		{"group after the first dot", "escalate roles.rbac.authorization.k8s.io", Action{Verb: "escalate", Group: "rbac.authorization.k8s.io", Resource: "roles"}},
		{"group", "get deployments.apps", Action{Verb: "get", Group: "apps", Resource: "deployments"}},
		{"subresource and group", "update deployments/scale.apps", Action{Verb: "update", Group: "apps", Resource: "deployments", Subresource: "scale"}},
		{"one object", "get secrets app-config", Action{Verb: "get", Resource: "secrets", Name: "app-config"}},
		{"wildcards", "* *.*", Action{Verb: "*", Group: "*", Resource: "*"}},
		{"any subresource", "impersonate userextras/*.authentication.k8s.io", Action{Verb: "impersonate", Group: "authentication.k8s.io", Resource: "userextras", Subresource: "*"}},
		{"verb with a colon", "impersonate:serviceaccount serviceaccounts", Action{Verb: "impersonate:serviceaccount", Resource: "serviceaccounts"}},
		{"non-resource URL", "get /healthz", Action{Verb: "get", NonResourceURL: "/healthz"}},
		{"URL with a wildcard", "get /healthz/*", Action{Verb: "get", NonResourceURL: "/healthz/*"}},
		{"root URL", "get /", Action{Verb: "get", NonResourceURL: "/"}},
		{"a leading slash makes a URL", "create /exec.x", Action{Verb: "create", NonResourceURL: "/exec.x"}},
		{"extra spaces", "  list\t secrets  ", Action{Verb: "list", Resource: "secrets"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAction(tc.in)
			if err != nil {
				t.Fatalf("ParseAction(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseAction(%q) (-want +got):\n%s", tc.in, diff)
			}
			again, err := ParseAction(got.String())
			if err != nil || again != got {
				t.Errorf("ParseAction(%q.String() = %q) = %+v, %v; want it back", tc.in, got.String(), again, err)
			}
		})
	}
}

func TestParseActionRefuses(t *testing.T) {
	const syntax = `want VERB RESOURCE[/SUBRESOURCE][.GROUP] [NAME], e.g. "create pods/exec", or VERB /PATH, e.g. "get /metrics"`
	cases := []struct {
		name    string
		in      string
		problem string
	}{
		{"nothing", "", "empty; " + syntax},
		{"blanks", "  ", "empty; " + syntax},
		{"a verb alone", "get", "no resource or URL after the verb; " + syntax},
		{"four words", "get secrets a b", "4 words; " + syntax},
		{"the resource first", "pods/exec create", `"pods/exec" is not a verb: the verb comes first, e.g. "create pods/exec"`},
		{"a grouped resource first", "deployments.apps get", `"deployments.apps" is not a verb: the verb comes first, e.g. "create pods/exec"`},
		{"upper-case verb", "GET pods", `verb "GET" is not lower case: verbs are, e.g. "get"`},
		{"a kind", "get Pod", `resource "Pod" is not lower case: resources are written as their plural, lower-case names, e.g. "pods"`},
		{"empty group", "get pods.", `no API group after the dot in "pods."; the core group is written without one, e.g. "pods"`},
		{"subresource after the group", "update deployments.apps/scale", `the subresource comes before the API group: "deployments/scale.apps"`},
		{"no resource before the group", "get .apps", `no resource in ".apps"; ` + syntax},
		{"empty subresource", "create pods/", `no subresource after the slash in "pods/"`},
		{"two subresources", "create pods/exec/x", `more than one slash in "pods/exec/x": a resource has one level of subresource`},
		{"two subresources around a group", "create pods/exec.apps/x", `more than one slash in "pods/exec.apps/x": a resource has one level of subresource`},
		{"a name with a slash", "get secrets ns/name", `object name "ns/name" contains a slash; names never do`},
		{"a URL with a name", "get /metrics x", "a non-resource URL names no object; " + syntax},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAction(tc.in)
			var actionErr *ActionError
			if !errors.As(err, &actionErr) {
				t.Fatalf("ParseAction(%q) = %+v, %v; want an *ActionError", tc.in, got, err)
			}
			want := &ActionError{Action: tc.in, Problem: tc.problem}
			if diff := cmp.Diff(want, actionErr); diff != "" {
				t.Errorf("ParseAction(%q) error (-want +got):\n%s", tc.in, diff)
			}
			if got != (Action{}) {
				t.Errorf("ParseAction(%q) returned %+v with its error, want the zero Action", tc.in, got)
			}
		})
	}
}

func TestActionErrorMessage(t *testing.T) {
	err := &ActionError{Action: "get", Problem: "no resource"}
	if got, want := err.Error(), `action "get": no resource`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestAccessReviewSpec(t *testing.T) {
	cases := []struct {
		name      string
		action    Action
		namespace string
		want      authorizationv1.SelfSubjectAccessReviewSpec
	}{
		{
			"every field of a resource action", Action{Verb: "update", Group: "apps", Resource: "deployments", Subresource: "scale", Name: "web"}, "w",
			authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: "w", Verb: "update", Group: "apps", Resource: "deployments", Subresource: "scale", Name: "web",
			}},
		},
		{
			"cluster-wide", Action{Verb: "get", Resource: "nodes", Subresource: "proxy"}, "",
			authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: "get", Resource: "nodes", Subresource: "proxy",
			}},
		},
		{
			"a non-resource URL ignores the namespace", Action{Verb: "get", NonResourceURL: "/metrics"}, "w",
			authorizationv1.SelfSubjectAccessReviewSpec{NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.action.AccessReviewSpec(tc.namespace)); diff != "" {
				t.Errorf("AccessReviewSpec(%q) (-want +got):\n%s", tc.namespace, diff)
			}
		})
	}
}

func TestClusterScoped(t *testing.T) {
	cases := []struct {
		name   string
		action string
		want   bool
	}{
		{"a non-resource URL", "get /metrics", true},
		{"nodes/proxy", "get nodes/proxy", true},
		{"nodes", "list nodes", true},
		{"impersonating users", "impersonate users", true},
		{"impersonating groups", "impersonate groups", true},
		{"impersonating service accounts is per namespace", "impersonate serviceaccounts", false},
		{"ClusterRoles", "escalate clusterroles.rbac.authorization.k8s.io", true},
		{"ClusterRoleBindings", "create clusterrolebindings.rbac.authorization.k8s.io", true},
		{"binding a ClusterRole is checked in a RoleBinding's namespace", "bind clusterroles.rbac.authorization.k8s.io", false},
		{"bind on another RBAC resource", "bind clusterrolebindings.rbac.authorization.k8s.io", true},
		{"bind on a same-named resource of another group", "bind clusterroles.example.com", false},
		{"admission webhooks", "create validatingwebhookconfigurations.admissionregistration.k8s.io", true},
		{"Roles", "escalate roles.rbac.authorization.k8s.io", false},
		{"pods", "create pods/exec", false},
		{"secrets", "get secrets", false},
		{"the group matters", "list nodes.example.com", false},
		{"a custom resource counts as namespaced", "get widgets.example.com", false},
		{"every resource counts as namespaced", "* *.*", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAction(tc.action)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.ClusterScoped(); got != tc.want {
				t.Errorf("%q.ClusterScoped() = %t, want %t", tc.action, got, tc.want)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	rr := func(groups, resources, verbs []string, names ...string) authorizationv1.ResourceRule {
		return authorizationv1.ResourceRule{APIGroups: groups, Resources: resources, Verbs: verbs, ResourceNames: names}
	}
	nr := func(urls, verbs []string) authorizationv1.NonResourceRule {
		return authorizationv1.NonResourceRule{NonResourceURLs: urls, Verbs: verbs}
	}
	core := s("")
	cases := []struct {
		name     string
		resource []authorizationv1.ResourceRule
		nonRes   []authorizationv1.NonResourceRule
		action   string
		want     bool
	}{
		{"no rules", nil, nil, "get secrets", false},
		{"exact rule", []authorizationv1.ResourceRule{rr(core, s("secrets"), s("get"))}, nil, "get secrets", true},
		{"another verb", []authorizationv1.ResourceRule{rr(core, s("secrets"), s("list"))}, nil, "get secrets", false},
		{"every verb", []authorizationv1.ResourceRule{rr(core, s("secrets"), s("*"))}, nil, "get secrets", true},
		{"one of several verbs", []authorizationv1.ResourceRule{rr(core, s("secrets"), s("list", "get"))}, nil, "get secrets", true},
		{"every verb is asked of a rule with some", []authorizationv1.ResourceRule{rr(core, s("secrets"), s("get", "list", "watch"))}, nil, "* secrets", false},
		{"another group", []authorizationv1.ResourceRule{rr(s("apps"), s("secrets"), s("get"))}, nil, "get secrets", false},
		{"every group", []authorizationv1.ResourceRule{rr(s("*"), s("deployments"), s("get"))}, nil, "get deployments.apps", true},
		{"the core group is not every group", []authorizationv1.ResourceRule{rr(core, s("deployments"), s("get"))}, nil, "get deployments.apps", false},
		{"one of several groups", []authorizationv1.ResourceRule{rr(s("", "apps"), s("deployments"), s("get"))}, nil, "get deployments.apps", true},
		{"another resource", []authorizationv1.ResourceRule{rr(core, s("configmaps"), s("get"))}, nil, "get secrets", false},
		{"every resource", []authorizationv1.ResourceRule{rr(core, s("*"), s("get"))}, nil, "get secrets", true},
		{"every resource includes subresources", []authorizationv1.ResourceRule{rr(core, s("*"), s("create"))}, nil, "create pods/exec", true},
		{"the resource is not its subresource", []authorizationv1.ResourceRule{rr(core, s("pods"), s("create"))}, nil, "create pods/exec", false},
		{"the subresource is not the resource", []authorizationv1.ResourceRule{rr(core, s("pods/exec"), s("create"))}, nil, "create pods", false},
		{"exact subresource", []authorizationv1.ResourceRule{rr(core, s("pods/exec"), s("create"))}, nil, "create pods/exec", true},
		{"another subresource", []authorizationv1.ResourceRule{rr(core, s("pods/attach"), s("create"))}, nil, "create pods/exec", false},
		{"the subresource of every resource", []authorizationv1.ResourceRule{rr(core, s("*/exec"), s("create"))}, nil, "create pods/exec", true},
		{"*/sub is not another subresource", []authorizationv1.ResourceRule{rr(core, s("*/exec"), s("create"))}, nil, "create pods/attach", false},
		{"*/sub is not a resource", []authorizationv1.ResourceRule{rr(core, s("*/exec"), s("create"))}, nil, "create pods", false},
		{"*/sub is not a longer subresource", []authorizationv1.ResourceRule{rr(core, s("*/exec"), s("create"))}, nil, "create pods/xexec", false},
		{"*/ with no subresource is nothing", []authorizationv1.ResourceRule{rr(core, s("*/"), s("create"))}, nil, "create pods", false},
		{"RBAC knows no resource/*", []authorizationv1.ResourceRule{rr(core, s("pods/*"), s("create"))}, nil, "create pods/exec", false},
		{"*/* is not every subresource", []authorizationv1.ResourceRule{rr(core, s("*/*"), s("create"))}, nil, "create pods/exec", false},
		{"resource/* asked literally", []authorizationv1.ResourceRule{rr(core, s("pods/*"), s("create"))}, nil, "create pods/*", true},
		{"a listed name", []authorizationv1.ResourceRule{rr(core, s("secrets"), s("get"), "a", "b")}, nil, "get secrets b", true},
		{"an unlisted name", []authorizationv1.ResourceRule{rr(core, s("secrets"), s("get"), "a")}, nil, "get secrets b", false},
		{"names do not cover every object", []authorizationv1.ResourceRule{rr(core, s("secrets"), s("get"), "a")}, nil, "get secrets", false},
		{"no names cover one object", []authorizationv1.ResourceRule{rr(core, s("secrets"), s("get"))}, nil, "get secrets a", true},
		{"the second rule covers", []authorizationv1.ResourceRule{rr(core, s("configmaps"), s("get")), rr(core, s("secrets"), s("get"))}, nil, "get secrets", true},
		{"each part from another rule is not enough", []authorizationv1.ResourceRule{rr(core, s("secrets"), s("list")), rr(core, s("configmaps"), s("get"))}, nil, "get secrets", false},
		{"everything", []authorizationv1.ResourceRule{rr(s("*"), s("*"), s("*"))}, nil, "* *.*", true},
		{"everything in one group is not everything", []authorizationv1.ResourceRule{rr(core, s("*"), s("*"))}, nil, "* *.*", false},
		{"non-resource rules do not cover resources", nil, []authorizationv1.NonResourceRule{nr(s("*"), s("*"))}, "get secrets", false},

		{"exact URL", nil, []authorizationv1.NonResourceRule{nr(s("/metrics"), s("get"))}, "get /metrics", true},
		{"another URL", nil, []authorizationv1.NonResourceRule{nr(s("/healthz"), s("get"))}, "get /metrics", false},
		{"URL with another verb", nil, []authorizationv1.NonResourceRule{nr(s("/metrics"), s("post"))}, "get /metrics", false},
		{"URL with every verb", nil, []authorizationv1.NonResourceRule{nr(s("/metrics"), s("*"))}, "get /metrics", true},
		{"every URL", nil, []authorizationv1.NonResourceRule{nr(s("*"), s("get"))}, "get /metrics", true},
		{"URL prefix", nil, []authorizationv1.NonResourceRule{nr(s("/healthz/*"), s("get"))}, "get /healthz/etcd", true},
		{"URL prefix is not the bare path", nil, []authorizationv1.NonResourceRule{nr(s("/healthz/*"), s("get"))}, "get /healthz", false},
		{"URL prefix without a slash", nil, []authorizationv1.NonResourceRule{nr(s("/healthz*"), s("get"))}, "get /healthzx", true},
		{"every trailing star is trimmed", nil, []authorizationv1.NonResourceRule{nr(s("/healthz**"), s("get"))}, "get /healthz/etcd", true},
		{"a star inside is literal", nil, []authorizationv1.NonResourceRule{nr(s("/*/etcd"), s("get"))}, "get /healthz/etcd", false},
		{"a path is not a prefix", nil, []authorizationv1.NonResourceRule{nr(s("/healthz"), s("get"))}, "get /healthz/etcd", false},
		{"the second URL rule covers", nil, []authorizationv1.NonResourceRule{nr(s("/a"), s("get")), nr(s("/metrics"), s("get"))}, "get /metrics", true},
		{"resource rules do not cover URLs", []authorizationv1.ResourceRule{rr(s("*"), s("*"), s("*"))}, nil, "get /metrics", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAction(tc.action)
			if err != nil {
				t.Fatal(err)
			}
			if got := Covers(tc.resource, tc.nonRes, a); got != tc.want {
				t.Errorf("Covers(%v, %v, %q) = %t, want %t", tc.resource, tc.nonRes, tc.action, got, tc.want)
			}
		})
	}
}
