package grant

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func rule(group, resource string, verbs ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: s(group), Resources: s(resource), Verbs: verbs}
}

func clusterRole(name string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	return rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
}

func role(ns, name string, rules ...rbacv1.PolicyRule) rbacv1.Role {
	return rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules}
}

func toClusterRole(name string) rbacv1.RoleRef {
	return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}
}

func toRole(name string) rbacv1.RoleRef {
	return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}
}

func crb(name string, ref rbacv1.RoleRef, subjects ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
	return rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: ref, Subjects: subjects}
}

func rb(ns, name string, ref rbacv1.RoleRef, subjects ...rbacv1.Subject) rbacv1.RoleBinding {
	return rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, RoleRef: ref, Subjects: subjects}
}

func group(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}

func sa(ns, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
}

func user(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

// cluster is the RBAC of the tests: build/ci holds
//   - get pods in build through RoleBinding build/pods → Role pods,
//   - list configmaps in build through RoleBinding build/view → ClusterRole cm,
//   - watch jobs everywhere through ClusterRoleBinding sa-group → ClusterRole
//     jobs, granted to system:serviceaccounts:build,
//   - get deployments everywhere through ClusterRoleBinding agg → the
//     aggregated ClusterRole agg, from ClusterRole deploy-src,
//   - create selfsubjectreviews through ClusterRoleBinding basic →
//     ClusterRole basic, granted to system:authenticated,
//   - get /healthz through ClusterRoleBinding health → ClusterRole health,
//     granted to system:serviceaccounts.
//
// Bindings to others, a binding to a missing role and a Role of another
// namespace grant it nothing.
func cluster() *Objects {
	aggRole := clusterRole("agg", rule("apps", "deployments", "get"))
	aggRole.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"agg": "true"}}}}
	src := clusterRole("deploy-src", rule("apps", "deployments", "get"))
	src.Labels = map[string]string{"agg": "true"}
	unrelated := clusterRole("unrelated", rule("apps", "deployments", "get"))
	unrelated.Labels = map[string]string{"agg": "false"}
	return &Objects{
		ClusterRoles: []rbacv1.ClusterRole{
			aggRole, src, unrelated,
			clusterRole("basic", rule("authentication.k8s.io", "selfsubjectreviews", "create")),
			clusterRole("cm", rule("", "configmaps", "list")),
			clusterRole("health", rbacv1.PolicyRule{NonResourceURLs: s("/healthz"), Verbs: s("get")}),
			clusterRole("jobs", rule("batch", "jobs", "watch")),
			clusterRole("secrets", rule("", "secrets", "get")),
		},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{
			crb("agg", toClusterRole("agg"), sa("build", "ci")),
			crb("basic", toClusterRole("basic"), group(GroupAuthenticated)),
			crb("health", toClusterRole("health"), group(GroupServiceAccounts)),
			crb("missing", toClusterRole("no-such-role"), sa("build", "ci")),
			crb("others", toClusterRole("secrets"), sa("build", "other"), user("alice")),
			crb("sa-group", toClusterRole("jobs"), group("system:serviceaccounts:build")),
			crb("to-a-role", toRole("pods"), sa("build", "ci")),
		},
		Roles: []rbacv1.Role{
			role("build", "pods", rule("", "pods", "get")),
			role("other", "pods", rule("", "pods", "get", "list")),
		},
		RoleBindings: []rbacv1.RoleBinding{
			rb("build", "pods", toRole("pods"), sa("build", "ci")),
			rb("build", "view", toClusterRole("cm"), rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "ci"}),
			rb("other", "elsewhere", toClusterRole("cm"), sa("other", "ci")),
			rb("other", "pods", toRole("pods"), sa("other", "ci")),
		},
	}
}

func TestGrants(t *testing.T) {
	ci := ServiceAccount("build", "ci")
	cases := []struct {
		name string
		sub  Subject
		ns   string
		a    Access
		want []string
	}{
		{"a RoleBinding to a Role", ci, "build", Access{Verb: "get", Resource: "pods"}, s("RoleBinding build/pods → Role build/pods")},
		{"a RoleBinding's Role holds in its namespace only", ci, "other", Access{Verb: "get", Resource: "pods"}, nil},
		{"a RoleBinding to a ClusterRole, its service account's namespace defaulted", ci, "build", Access{Verb: "list", Resource: "configmaps"}, s("RoleBinding build/view → ClusterRole cm")},
		{"a RoleBinding to a ClusterRole holds in its namespace only", ci, "kube-system", Access{Verb: "list", Resource: "configmaps"}, nil},
		{"a ClusterRoleBinding to a group the account is in", ci, "anywhere", Access{Verb: "watch", Group: "batch", Resource: "jobs"}, s("ClusterRoleBinding sa-group → ClusterRole jobs to group system:serviceaccounts:build")},
		{"a ClusterRoleBinding holds for a cluster-wide request", ci, "", Access{Verb: "watch", Group: "batch", Resource: "jobs"}, s("ClusterRoleBinding sa-group → ClusterRole jobs to group system:serviceaccounts:build")},
		{"an aggregated ClusterRole names the roles it took the right from", ci, "build", Access{Verb: "get", Group: "apps", Resource: "deployments"}, s("ClusterRoleBinding agg → ClusterRole agg (aggregated from deploy-src)")},
		{"the baseline of every authenticated user", ci, "build", Access{Verb: "create", Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}, s("ClusterRoleBinding basic → ClusterRole basic to group system:authenticated")},
		{"a non-resource URL", ci, "build", Access{Verb: "get", URL: "/healthz"}, s("ClusterRoleBinding health → ClusterRole health to group system:serviceaccounts")},
		{"bindings to other subjects grant nothing", ci, "build", Access{Verb: "get", Resource: "secrets"}, nil},
		{"a user named in a binding", Subject{Username: "alice"}, "build", Access{Verb: "get", Resource: "secrets"}, s("ClusterRoleBinding others → ClusterRole secrets")},
		{"a user is not in the service accounts' groups", Subject{Username: "alice", Groups: s(GroupAuthenticated)}, "build", Access{Verb: "get", URL: "/healthz"}, nil},
		{"a ClusterRoleBinding to a Role grants nothing", ci, "build", Access{Verb: "get", Resource: "pods", Name: "x"}, s("RoleBinding build/pods → Role build/pods")},
		{"a verb the role lacks", ci, "build", Access{Verb: "delete", Resource: "pods"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, g := range NewExplainer(cluster(), tc.sub).Grants(tc.ns, tc.a) {
				got = append(got, g.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("grants (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGrantRecordsTheSubject(t *testing.T) {
	got := NewExplainer(cluster(), ServiceAccount("build", "ci")).Grants("build", Access{Verb: "list", Resource: "configmaps"})
	want := []Grant{{
		Binding: Ref{Kind: "RoleBinding", Namespace: "build", Name: "view"},
		Role:    Ref{Kind: "ClusterRole", Name: "cm"},
		Subject: rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "ci"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSubjectNamed(t *testing.T) {
	ci := ServiceAccount("build", "ci")
	cases := []struct {
		name      string
		s         rbacv1.Subject
		bindingNS string
		want      bool
	}{
		{"the service account", sa("build", "ci"), "", true},
		{"another service account", sa("build", "cd"), "", false},
		{"the same name in another namespace", sa("other", "ci"), "", false},
		{"the binding's namespace by default", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "ci"}, "build", true},
		{"the default is the binding's namespace", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "ci"}, "other", false},
		{"no namespace at all matches nothing", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "ci"}, "", false},
		{"a group it is in", group("system:serviceaccounts:build"), "", true},
		{"a group it is not in", group("system:serviceaccounts:other"), "", false},
		{"its user name as a User", user("system:serviceaccount:build:ci"), "", true},
		{"another user", user("alice"), "", false},
		{"an unknown kind", rbacv1.Subject{Kind: "Robot", Name: "system:serviceaccount:build:ci"}, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ci.named(tc.s, tc.bindingNS); got != tc.want {
				t.Errorf("named(%+v, %q) = %t, want %t", tc.s, tc.bindingNS, got, tc.want)
			}
		})
	}
}

func TestServiceAccount(t *testing.T) {
	want := Subject{Username: "system:serviceaccount:build:ci", Groups: s("system:serviceaccounts", "system:serviceaccounts:build", "system:authenticated")}
	if diff := cmp.Diff(want, ServiceAccount("build", "ci")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestBaselineOf(t *testing.T) {
	for group, want := range map[string]Baseline{
		"system:authenticated":         Authenticated,
		"system:unauthenticated":       Authenticated,
		"system:serviceaccounts":       ServiceAccounts,
		"system:serviceaccounts:build": Namespace,
		"system:serviceaccount":        NotBaseline,
		"system:masters":               NotBaseline,
		"developers":                   NotBaseline,
	} {
		if got := BaselineOf(group); got != want {
			t.Errorf("BaselineOf(%q) = %q, want %q", group, got, want)
		}
	}
}

func TestGrantBaseline(t *testing.T) {
	cases := []struct {
		subject rbacv1.Subject
		want    Baseline
	}{
		{group(GroupAuthenticated), Authenticated},
		{group(GroupServiceAccounts), ServiceAccounts},
		{group("ops"), NotBaseline},
		// A User named like the group is no group.
		{user(GroupAuthenticated), NotBaseline},
		{sa("build", "ci"), NotBaseline},
	}
	for _, tc := range cases {
		if got := (Grant{Subject: tc.subject}).Baseline(); got != tc.want {
			t.Errorf("a grant to %+v has baseline %q, want %q", tc.subject, got, tc.want)
		}
	}
}

func TestWeakerAndStronger(t *testing.T) {
	all := []Baseline{NotBaseline, ServiceAccounts, Authenticated}
	rank := map[Baseline]int{NotBaseline: 0, ServiceAccounts: 1, Authenticated: 2}
	for _, a := range all {
		for _, b := range all {
			wantWeaker, wantStronger := a, b
			if rank[b] < rank[a] {
				wantWeaker, wantStronger = b, a
			}
			if got := weaker(a, b); got != wantWeaker {
				t.Errorf("weaker(%q, %q) = %q, want %q", a, b, got, wantWeaker)
			}
			if got := stronger(a, b); got != wantStronger {
				t.Errorf("stronger(%q, %q) = %q, want %q", a, b, got, wantStronger)
			}
		}
	}
}

func TestExplain(t *testing.T) {
	ci := ServiceAccount("build", "ci")
	basic := Access{Verb: "create", Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}
	health := Access{Verb: "get", URL: "/healthz"}
	pods := Access{Verb: "get", Resource: "pods"}
	cases := []struct {
		name          string
		ns            string
		accesses      []Access
		wantGrants    []string
		wantElsewhere bool
		wantBaseline  Baseline
	}{
		{name: "nothing explains nothing", ns: "build"},
		{name: "all granted to system:authenticated", ns: "build", accesses: []Access{basic},
			wantGrants: s("ClusterRoleBinding basic → ClusterRole basic to group system:authenticated"), wantBaseline: Authenticated},
		{name: "granted to every service account", ns: "build", accesses: []Access{health},
			wantGrants: s("ClusterRoleBinding health → ClusterRole health to group system:serviceaccounts"), wantBaseline: ServiceAccounts},
		{name: "every service account and every user: every service account", ns: "build", accesses: []Access{basic, health},
			wantGrants: s("ClusterRoleBinding basic → ClusterRole basic to group system:authenticated", "ClusterRoleBinding health → ClusterRole health to group system:serviceaccounts"), wantBaseline: ServiceAccounts},
		{name: "own rights and the baseline: not the baseline", ns: "build", accesses: []Access{pods, basic},
			wantGrants: s("ClusterRoleBinding basic → ClusterRole basic to group system:authenticated", "RoleBinding build/pods → Role build/pods"), wantBaseline: NotBaseline},
		{name: "a right no object grants is elsewhere", ns: "build", accesses: []Access{{Verb: "delete", Resource: "nodes"}},
			wantElsewhere: true, wantBaseline: NotBaseline},
		{name: "part elsewhere, part the baseline", ns: "build", accesses: []Access{basic, {Verb: "delete", Resource: "nodes"}},
			wantGrants: s("ClusterRoleBinding basic → ClusterRole basic to group system:authenticated"), wantElsewhere: true, wantBaseline: NotBaseline},
		{name: "a right granted twice lists both", ns: "build", accesses: []Access{pods, {Verb: "get", Resource: "pods", Name: "web"}},
			wantGrants: s("RoleBinding build/pods → Role build/pods"), wantBaseline: NotBaseline},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := NewExplainer(cluster(), ci).Explain(tc.ns, tc.accesses)
			var got []string
			for _, g := range x.Grants {
				got = append(got, g.String())
			}
			if diff := cmp.Diff(tc.wantGrants, got); diff != "" {
				t.Errorf("grants (-want +got):\n%s", diff)
			}
			if x.Elsewhere != tc.wantElsewhere || x.Baseline != tc.wantBaseline {
				t.Errorf("elsewhere %t, baseline %q; want %t, %q", x.Elsewhere, x.Baseline, tc.wantElsewhere, tc.wantBaseline)
			}
		})
	}
}

func TestBaselineAlsoGrantedOwnIsBaseline(t *testing.T) {
	objs := cluster()
	objs.RoleBindings = append(objs.RoleBindings, rb("build", "own-basic", toClusterRole("basic"), sa("build", "ci")))
	x := NewExplainer(objs, ServiceAccount("build", "ci")).Explain("build", []Access{{Verb: "create", Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}})
	if x.Baseline != Authenticated || len(x.Grants) != 2 {
		t.Errorf("a right every user holds, granted to the account too: baseline %q with %d grants, want authenticated with 2", x.Baseline, len(x.Grants))
	}
}

func TestAggregatedFromSeveralSources(t *testing.T) {
	objs := cluster()
	more := clusterRole("deploy-src-2", rule("apps", "deployments", "get", "list"))
	more.Labels = map[string]string{"agg": "true"}
	other := clusterRole("list-src", rule("apps", "deployments", "list"))
	other.Labels = map[string]string{"agg": "true"}
	objs.ClusterRoles = append(objs.ClusterRoles, more, other)
	objs.ClusterRoles[0].Rules = []rbacv1.PolicyRule{rule("apps", "deployments", "get", "list")}
	e := NewExplainer(objs, ServiceAccount("build", "ci"))

	got := e.Explain("build", []Access{{Verb: "get", Group: "apps", Resource: "deployments"}, {Verb: "list", Group: "apps", Resource: "deployments"}})
	want := []Grant{{
		Binding:        Ref{Kind: "ClusterRoleBinding", Name: "agg"},
		Role:           Ref{Kind: "ClusterRole", Name: "agg"},
		AggregatedFrom: s("deploy-src", "deploy-src-2", "list-src"),
		Subject:        sa("build", "ci"),
	}}
	if diff := cmp.Diff(want, got.Grants); diff != "" {
		t.Errorf("one grant with every source of a part (-want +got):\n%s", diff)
	}
	if got := e.Grants("build", Access{Verb: "list", Group: "apps", Resource: "deployments"}); len(got) != 1 || cmp.Diff(s("deploy-src-2", "list-src"), got[0].AggregatedFrom) != "" {
		t.Errorf("list is aggregated from %+v, want deploy-src-2 and list-src", got)
	}
}

func TestAggregated(t *testing.T) {
	labelled := func(name string, l map[string]string) rbacv1.ClusterRole {
		r := clusterRole(name)
		r.Labels = l
		return r
	}
	all := []rbacv1.ClusterRole{
		labelled("a", map[string]string{"x": "1"}),
		labelled("b", map[string]string{"y": "1"}),
		labelled("c", nil),
		labelled("self", map[string]string{"x": "1"}),
	}
	cases := []struct {
		name string
		rule *rbacv1.AggregationRule
		want []string
	}{
		{"no aggregation rule", nil, nil},
		{"one selector", &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"x": "1"}}}}, s("a")},
		{"any of several selectors", &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"x": "1"}}, {MatchLabels: map[string]string{"y": "1"}}}}, s("a", "b")},
		{"an empty selector matches nothing", &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{}}}, nil},
		{"an invalid selector matches nothing", &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "x", Operator: "Bogus"}}}}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			self := labelled("self", map[string]string{"x": "1"})
			self.AggregationRule = tc.rule
			var got []string
			for _, r := range aggregated(&self, all) {
				got = append(got, r.Name)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	g1 := Grant{Binding: Ref{Kind: "ClusterRoleBinding", Name: "a"}, Role: Ref{Kind: "ClusterRole", Name: "r"}, Subject: group(GroupAuthenticated)}
	g2 := Grant{Binding: Ref{Kind: "RoleBinding", Namespace: "n", Name: "b"}, Role: Ref{Kind: "ClusterRole", Name: "r"}, Subject: sa("n", "ci")}
	cases := []struct {
		name  string
		parts []Explanation
		want  Explanation
	}{
		{"nothing", nil, Explanation{}},
		{"one part is itself", []Explanation{{Grants: []Grant{g1}, Baseline: Authenticated}}, Explanation{Grants: []Grant{g1}, Baseline: Authenticated}},
		{"the grants of all parts, each once, sorted", []Explanation{{Grants: []Grant{g2}}, {Grants: []Grant{g1, g2}}}, Explanation{Grants: []Grant{g1, g2}}},
		{"elsewhere if any part is", []Explanation{{Baseline: Authenticated}, {Elsewhere: true, Baseline: Authenticated}}, Explanation{Elsewhere: true, Baseline: Authenticated}},
		{"the weakest baseline", []Explanation{{Baseline: Authenticated}, {Baseline: ServiceAccounts}}, Explanation{Baseline: ServiceAccounts}},
		{"not the baseline when one part is not", []Explanation{{Baseline: Authenticated}, {Baseline: NotBaseline}, {Baseline: Authenticated}}, Explanation{Baseline: NotBaseline}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Merge(tc.parts...)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	g := Grant{Binding: Ref{Kind: "RoleBinding", Namespace: "n", Name: "b"}, Role: Ref{Kind: "Role", Namespace: "n", Name: "r"}, Subject: sa("n", "ci")}
	agg := Grant{Binding: Ref{Kind: "ClusterRoleBinding", Name: "c"}, Role: Ref{Kind: "ClusterRole", Name: "admin"}, AggregatedFrom: s("x", "y"), Subject: group("system:serviceaccounts:n")}
	cases := []struct {
		name string
		x    Explanation
		want []string
	}{
		{"nothing", Explanation{}, []string{}},
		{"a grant to the account", Explanation{Grants: []Grant{g}}, s("RoleBinding n/b → Role n/r")},
		{"an aggregated role through a group", Explanation{Grants: []Grant{agg}}, s("ClusterRoleBinding c → ClusterRole admin (aggregated from x, y) to group system:serviceaccounts:n")},
		{"elsewhere last", Explanation{Grants: []Grant{g}, Elsewhere: true}, s("RoleBinding n/b → Role n/r", "granted elsewhere (webhook, Node authorizer or other)")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.x.Strings()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestBaselineOrder(t *testing.T) {
	// From the subject's own right to every request's: a right made of two
	// parts is as common as its rarer part, a part granted twice as its
	// commoner grant.
	order := []Baseline{NotBaseline, Namespace, ServiceAccounts, Authenticated}
	for i, a := range order {
		for j, b := range order {
			if got, want := weaker(a, b), order[min(i, j)]; got != want {
				t.Errorf("weaker(%q, %q) = %q, want %q", a, b, got, want)
			}
			if got, want := stronger(a, b), order[max(i, j)]; got != want {
				t.Errorf("stronger(%q, %q) = %q, want %q", a, b, got, want)
			}
		}
	}
	for _, b := range order {
		if got, want := b.Folded(), b == ServiceAccounts || b == Authenticated; got != want {
			t.Errorf("%q.Folded() = %v, want %v", b, got, want)
		}
	}
}

func TestGrantsAreSortedByTheirText(t *testing.T) {
	// Three ways to one right, read in no particular order (a
	// ClusterRoleBinding listed before one it sorts after, RoleBindings
	// after every ClusterRoleBinding): the grants name them sorted, so the
	// output does not depend on the order the objects were listed in.
	objs := cluster()
	objs.ClusterRoleBindings = append([]rbacv1.ClusterRoleBinding{crb("zz-basic", toClusterRole("basic"), sa("build", "ci"))}, objs.ClusterRoleBindings...)
	objs.RoleBindings = append(objs.RoleBindings, rb("build", "own-basic", toClusterRole("basic"), sa("build", "ci")))
	var got []string
	for _, g := range NewExplainer(objs, ServiceAccount("build", "ci")).Grants("build", Access{Verb: "create", Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}) {
		got = append(got, g.String())
	}
	want := s(
		"ClusterRoleBinding basic → ClusterRole basic to group system:authenticated",
		"ClusterRoleBinding zz-basic → ClusterRole basic",
		"RoleBinding build/own-basic → ClusterRole basic",
	)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("grants (-want +got):\n%s", diff)
	}
}

// TestExplainOnceWhereOnlyClusterRoleBindingsGrant: in namespaces where no
// RoleBinding names the subject an explanation is computed once and reused;
// it must be what a fresh Explainer computes in each of them, in the
// namespace with a RoleBinding too, and a caller changing what it got must
// not change what the next caller gets.
func TestExplainOnceWhereOnlyClusterRoleBindingsGrant(t *testing.T) {
	ci := ServiceAccount("build", "ci")
	accesses := []Access{{Verb: "get", Resource: "pods"}, {Verb: "create", Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}}
	shared := NewExplainer(cluster(), ci)
	for _, ns := range []string{"other", "build", "third", "other", "build"} {
		want := NewExplainer(cluster(), ci).Explain(ns, accesses)
		got := shared.Explain(ns, accesses)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("namespace %s (-fresh +reused):\n%s", ns, diff)
		}
		if len(got.Grants) > 0 {
			got.Grants[0].Binding.Name = "changed by the caller"
			got.Grants[0].AggregatedFrom = append(got.Grants[0].AggregatedFrom, "changed")
		}
	}
	// The namespace with the RoleBinding is explained with it.
	if x := shared.Explain("build", accesses); len(x.Grants) != 2 || x.Baseline != NotBaseline {
		t.Errorf("in build: %+v, want the RoleBinding's grant beside the baseline's", x)
	}
	if x := shared.Explain("other", accesses); len(x.Grants) != 1 || x.Baseline != NotBaseline || !x.Elsewhere {
		t.Errorf("in other: %+v, want only the baseline's grant, the pods right elsewhere", x)
	}
}

// TestExplainAllIsTheMergeOfEveryNamespace: explaining the namespaces that
// no RoleBinding binds once gives what merging every namespace's
// explanation gives.
func TestExplainAllIsTheMergeOfEveryNamespace(t *testing.T) {
	ci := ServiceAccount("build", "ci")
	for _, accesses := range [][]Access{
		{{Verb: "get", Resource: "pods"}},
		{{Verb: "create", Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}},
		{{Verb: "get", URL: "/healthz"}, {Verb: "delete", Resource: "nodes"}},
	} {
		for _, namespaces := range [][]string{nil, {"other"}, {"build"}, {"a", "build", "b", "c"}, {"a", "b"}} {
			e := NewExplainer(cluster(), ci)
			var parts []Explanation
			for _, ns := range namespaces {
				parts = append(parts, e.Explain(ns, accesses))
			}
			if diff := cmp.Diff(Merge(parts...), NewExplainer(cluster(), ci).ExplainAll(namespaces, accesses)); diff != "" {
				t.Errorf("%v in %v (-merged +ExplainAll):\n%s", accesses, namespaces, diff)
			}
		}
	}
}

// TestExplainKeepsBoundNamespacesApart: an explanation is shared only
// between namespaces no RoleBinding of the subject is in. Two namespaces
// each with their own RoleBinding are explained each with its own, in
// either order, and any number of namespaces without one cost one
// explanation.
func TestExplainKeepsBoundNamespacesApart(t *testing.T) {
	ci := ServiceAccount("build", "ci")
	objs := &Objects{
		ClusterRoles: []rbacv1.ClusterRole{clusterRole("view", rule("", "pods", "get"))},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{
			crb("everywhere", toClusterRole("view"), sa("build", "ci")),
		},
		RoleBindings: []rbacv1.RoleBinding{
			rb("a", "in-a", toClusterRole("view"), sa("build", "ci")),
			rb("b", "in-b", toClusterRole("view"), sa("build", "ci")),
		},
	}
	accesses := []Access{{Verb: "get", Resource: "pods"}}
	for _, order := range [][]string{{"a", "b"}, {"b", "a"}} {
		e := NewExplainer(objs, ci)
		for _, ns := range order {
			var got []string
			for _, g := range e.Explain(ns, accesses).Grants {
				got = append(got, g.String())
			}
			want := s("ClusterRoleBinding everywhere → ClusterRole view", "RoleBinding "+ns+"/in-"+ns+" → ClusterRole view")
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("order %v, namespace %s (-want +got):\n%s", order, ns, diff)
			}
		}
	}
	e := NewExplainer(objs, ci)
	for _, ns := range []string{"c", "d", "e", "", "c"} {
		e.Explain(ns, accesses)
	}
	if n := len(e.explained); n != 1 {
		t.Errorf("namespaces without a RoleBinding of the subject took %d explanations, want 1", n)
	}
}

// TestAccessesKeyTellsListsApart: lists of accesses whose fields joined
// with a separator read alike get different keys, so one list's
// explanation is never handed out for another.
func TestAccessesKeyTellsListsApart(t *testing.T) {
	pairs := [][2][]Access{
		{{{Verb: "get", Group: "x\x00"}}, {{Verb: "get", Group: "x", URL: "\x00"}}},
		{{{Verb: "get"}, {Verb: "list"}}, {{Verb: "get"}, {Verb: "list"}, {}}},
		{{{Verb: "get", Resource: "pods"}}, {{Verb: "get", Name: "pods"}}},
		{{{Verb: "1:a"}}, {{Verb: "", Group: "a"}}},
	}
	for _, p := range pairs {
		if accessesKey(p[0]) == accessesKey(p[1]) {
			t.Errorf("%q and %q have the same key %q", p[0], p[1], accessesKey(p[0]))
		}
	}
	if accessesKey([]Access{{Verb: "get", Resource: "pods"}}) != accessesKey([]Access{{Verb: "get", Resource: "pods"}}) {
		t.Error("equal lists have different keys")
	}
}

// TestExplainSharesNamespacesWhoseRoleBindingsGrantOtherRights: a
// namespace where a RoleBinding names the subject but grants none of the
// accesses explains them as a namespace with no RoleBinding does, and
// shares its explanation; one whose RoleBinding grants them does not.
func TestExplainSharesNamespacesWhoseRoleBindingsGrantOtherRights(t *testing.T) {
	ci := ServiceAccount("build", "ci")
	objs := &Objects{
		ClusterRoles: []rbacv1.ClusterRole{
			clusterRole("view", rule("", "pods", "get")),
			clusterRole("secrets", rule("", "secrets", "get")),
		},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("everywhere", toClusterRole("view"), sa("build", "ci"))},
		RoleBindings:        []rbacv1.RoleBinding{rb("other", "secrets", toClusterRole("secrets"), sa("build", "ci"))},
	}
	pods := []Access{{Verb: "get", Resource: "pods"}}
	secrets := []Access{{Verb: "get", Resource: "secrets"}}
	e := NewExplainer(objs, ci)
	want := s("ClusterRoleBinding everywhere → ClusterRole view")
	for _, ns := range []string{"other", "plain"} {
		if diff := cmp.Diff(want, e.Explain(ns, pods).Strings()); diff != "" {
			t.Errorf("pods in %s (-want +got):\n%s", ns, diff)
		}
	}
	if n := len(e.explained); n != 1 {
		t.Errorf("pods in a namespace whose RoleBinding grants only secrets took %d explanations, want 1 shared", n)
	}
	if diff := cmp.Diff(s("RoleBinding other/secrets → ClusterRole secrets"), e.Explain("other", secrets).Strings()); diff != "" {
		t.Errorf("secrets in other (-want +got):\n%s", diff)
	}
	if got := e.Explain("plain", secrets); !got.Elsewhere || len(got.Grants) != 0 {
		t.Errorf("secrets in plain = %+v, want granted by no RBAC object read", got)
	}
	all := e.ExplainAll([]string{"plain", "other"}, secrets)
	if diff := cmp.Diff(s("RoleBinding other/secrets → ClusterRole secrets", ElsewhereLabel), all.Strings()); diff != "" {
		t.Errorf("secrets in plain and other (-want +got):\n%s", diff)
	}
}
