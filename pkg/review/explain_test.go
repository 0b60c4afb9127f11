package review

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-access/kubectl-access/pkg/grant"
)

// explainer explains for build/ci: /version to every user, /healthz to
// every service account, pods (get) in a by a RoleBinding, and secrets
// (get) to every user (a risky baseline).
func explainer() *grant.Explainer {
	groupSubject := func(name string) []rbacv1.Subject {
		return []rbacv1.Subject{{Kind: rbacv1.GroupKind, Name: name}}
	}
	clusterRole := func(name string, rule rbacv1.PolicyRule) rbacv1.ClusterRole {
		return rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{rule}}
	}
	ref := func(name string) rbacv1.RoleRef { return rbacv1.RoleRef{Kind: "ClusterRole", Name: name} }
	objs := &grant.Objects{
		ClusterRoles: []rbacv1.ClusterRole{
			clusterRole("version", rbacv1.PolicyRule{NonResourceURLs: l("/version"), Verbs: l("get")}),
			clusterRole("health", rbacv1.PolicyRule{NonResourceURLs: l("/healthz"), Verbs: l("get")}),
			clusterRole("pods", rbacv1.PolicyRule{APIGroups: l(""), Resources: l("pods"), Verbs: l("get")}),
			clusterRole("secrets", rbacv1.PolicyRule{APIGroups: l(""), Resources: l("secrets"), Verbs: l("get")}),
		},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{
			{ObjectMeta: metav1.ObjectMeta{Name: "version"}, RoleRef: ref("version"), Subjects: groupSubject(grant.GroupAuthenticated)},
			{ObjectMeta: metav1.ObjectMeta{Name: "unauth"}, RoleRef: ref("version"), Subjects: groupSubject(grant.GroupUnauthenticated)},
			{ObjectMeta: metav1.ObjectMeta{Name: "health"}, RoleRef: ref("health"), Subjects: groupSubject(grant.GroupServiceAccounts)},
			{ObjectMeta: metav1.ObjectMeta{Name: "secrets"}, RoleRef: ref("secrets"), Subjects: groupSubject(grant.GroupAuthenticated)},
		},
		RoleBindings: []rbacv1.RoleBinding{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "pods"}, RoleRef: ref("pods"), Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "build", Name: "ci"}}},
		},
	}
	return grant.NewExplainer(objs, grant.ServiceAccount("build", "ci"))
}

func ciIdentity(groups ...string) *Identity {
	return &Identity{User: authenticationv1.UserInfo{Username: "u", Groups: groups}, Source: SourceSelfSubjectReview, APIVersion: "v1"}
}

// rulesTable prints the part of PrintWhoami after the identity.
func rulesTable(t *testing.T, id *Identity, table Table, view View) string {
	t.Helper()
	var b bytes.Buffer
	if err := PrintWhoami(&b, id, table, view); err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(b.String(), "\n\n")
	return after
}

func TestPrintWhoamiFolds(t *testing.T) {
	results := func(rules []authorizationv1.ResourceRule, urls ...string) []NamespaceResult {
		var nr []authorizationv1.NonResourceRule
		for _, u := range urls {
			nr = append(nr, nrr(l(u), l("get")))
		}
		return []NamespaceResult{{Namespace: "a", ResourceRules: rules, NonResourceRules: nr}}
	}
	pods := []authorizationv1.ResourceRule{rr(l(""), l("pods"), l("get"))}
	cases := []struct {
		name    string
		id      *Identity
		results []NamespaceResult
		want    string
	}{
		{
			name: "one rule every user holds", id: ciIdentity(), results: results(pods, "/version"),
			want: "RESOURCES   NON-RESOURCE URLS   RESOURCE NAMES   VERBS   WHERE   RISK\npods        []                  []               [get]   a       \n" +
				"+ 1 rule every authenticated user holds; --show-baseline lists them\n",
		},
		{
			name: "a rule every service account holds, listed twice, is one row", id: ciIdentity(), results: results(pods, "/healthz", "/healthz"),
			want: "RESOURCES   NON-RESOURCE URLS   RESOURCE NAMES   VERBS   WHERE   RISK\npods        []                  []               [get]   a       \n" +
				"+ 1 rule every service account holds; --show-baseline lists them\n",
		},
		{
			name: "an anonymous request", id: ciIdentity(grant.GroupUnauthenticated), results: results(nil, "/version"),
			want: "u holds nothing beyond the baseline.\n+ 1 rule every anonymous request holds; --show-baseline lists them\n",
		},
		{
			name: "both kinds, counted apart", id: ciIdentity(), results: results(nil, "/version", "/healthz"),
			want: "u holds nothing beyond the baseline.\n+ 2 rules every authenticated user or service account holds (1 every authenticated user, 1 every service account); --show-baseline lists them\n",
		},
		{
			name: "a right granted elsewhere is never baseline", id: ciIdentity(), results: results(nil, "/metrics"),
			want: "RESOURCES   NON-RESOURCE URLS   RESOURCE NAMES   VERBS   WHERE   RISK\n            [/metrics]          []               [get]   a       \n",
		},
		{
			name: "a risky right every user holds is shown", id: ciIdentity(), results: results([]authorizationv1.ResourceRule{rr(l(""), l("secrets"), l("get"))}),
			want: "RESOURCES   NON-RESOURCE URLS   RESOURCE NAMES   VERBS   WHERE   RISK\nsecrets     []                  []               [get]   a       read-secrets(high)\n\n" +
				"RISK           SEVERITY   REASON\nread-secrets   high       reads Secrets, which hold credentials and other service accounts' tokens\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			table := Compact(tc.results).Explain(explainer())
			if diff := cmp.Diff(tc.want, rulesTable(t, tc.id, table, View{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrintWhoamiNothingBeyondAnIncompleteList(t *testing.T) {
	table := Compact([]NamespaceResult{{Namespace: "a", NonResourceRules: []authorizationv1.NonResourceRule{nrr(l("/version"), l("get"))}}}).Explain(explainer())
	want := "u holds no listed rule beyond the baseline; the server says the list may be incomplete.\n+ 1 rule every authenticated user holds; --show-baseline lists them\n"
	if diff := cmp.Diff(want, rulesTable(t, ciIdentity(), table, View{Incomplete: true})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPrintWhoamiUnexplainedShowsEverything(t *testing.T) {
	table := Compact([]NamespaceResult{{Namespace: "a", NonResourceRules: []authorizationv1.NonResourceRule{nrr(l("/version"), l("get"))}}})
	want := "RESOURCES   NON-RESOURCE URLS   RESOURCE NAMES   VERBS   WHERE   RISK\n            [/version]          []               [get]   a       \n"
	for _, view := range []View{{}, {ShowBaseline: true}, {Explain: true}, {ShowBaseline: true, Explain: true}} {
		if diff := cmp.Diff(want, rulesTable(t, ciIdentity(), table, view)); diff != "" {
			t.Errorf("%+v: without explanations nothing is folded or added (-want +got):\n%s", view, diff)
		}
	}
}

func TestTableExplainMergesNamespaces(t *testing.T) {
	// pods holds in a through a RoleBinding of a, in b through nothing.
	table := Compact([]NamespaceResult{
		{Namespace: "a", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("pods"), l("get"))}},
		{Namespace: "b", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("pods"), l("get"))}},
	}).Explain(explainer())
	if !table.Explained || len(table.Rows) != 1 {
		t.Fatalf("table %+v", table)
	}
	x := table.Rows[0].Explanation
	if got := x.Strings(); cmp.Diff(l("RoleBinding a/pods → ClusterRole pods", grant.ElsewhereLabel), got) != "" || x.Baseline != grant.NotBaseline {
		t.Errorf("explanation %q baseline %q", got, x.Baseline)
	}
}

func TestRecordExplain(t *testing.T) {
	results := []NamespaceResult{{Namespace: "a",
		ResourceRules:    []authorizationv1.ResourceRule{rr(l(""), l("pods"), l("get"))},
		NonResourceRules: []authorizationv1.NonResourceRule{nrr(l("/version"), l("get")), nrr(l("/metrics"), l("get"))},
	}}
	for _, explain := range []bool{false, true} {
		rec := NewRecord(ciIdentity(), results, nil)
		rec.Explain(explainer(), explain)
		data, err := json.Marshal(rec.Namespaces[0])
		if err != nil {
			t.Fatal(err)
		}
		want := `{"namespace":"a","resourceRules":[{"verbs":["get"],"apiGroups":[""],"resources":["pods"]}],"nonResourceRules":[{"verbs":["get"],"nonResourceURLs":["/version"],"baseline":"authenticated"},{"verbs":["get"],"nonResourceURLs":["/metrics"]}],"incomplete":false,"evaluationError":""}`
		if explain {
			want = `{"namespace":"a","resourceRules":[{"verbs":["get"],"apiGroups":[""],"resources":["pods"],"grantedBy":[{"binding":{"kind":"RoleBinding","namespace":"a","name":"pods"},"role":{"kind":"ClusterRole","name":"pods"},"subject":{"kind":"ServiceAccount","name":"ci","namespace":"build"}}]}],` +
				`"nonResourceRules":[{"verbs":["get"],"nonResourceURLs":["/version"],"baseline":"authenticated","grantedBy":[{"binding":{"kind":"ClusterRoleBinding","name":"version"},"role":{"kind":"ClusterRole","name":"version"},"subject":{"kind":"Group","name":"system:authenticated"}}]},{"verbs":["get"],"nonResourceURLs":["/metrics"],"grantedElsewhere":true}],"incomplete":false,"evaluationError":""}`
		}
		if diff := cmp.Diff(want, string(data)); diff != "" {
			t.Errorf("explain=%t: the rules keep their fields and gain their source (-want +got):\n%s", explain, diff)
		}
	}
}

func TestExplainVerified(t *testing.T) {
	actions := []VerifiedAction{
		{Namespace: "a", Action: "get pods", Verb: "get", Resource: "pods", Allowed: true, Verified: true},
		{Namespace: "a", Action: "create pods/exec", Verb: "create", Resource: "pods", Subresource: "exec", Allowed: true, Verified: true, Reason: "webhook says yes"},
		{Namespace: "a", Action: "get secrets", Verb: "get", Resource: "secrets", Allowed: false, Verified: true},
		{Namespace: "", Action: "get /version", Verb: "get", NonResourceURL: "/version", Allowed: true, Verified: true},
		{Namespace: "b", Action: "get pods", Verb: "get", Resource: "pods", Allowed: true, Verified: false},
	}
	ExplainVerified(actions, explainer())
	var got []string
	for _, v := range actions {
		by := "-"
		if v.explained() {
			by = v.grantedBy()
		}
		got = append(got, v.Namespace+" "+v.Action+": "+by)
	}
	want := l(
		"a get pods: RoleBinding a/pods → ClusterRole pods",
		"a create pods/exec: "+grant.ElsewhereLabel+": webhook says yes",
		"a get secrets: -",
		" get /version: ClusterRoleBinding version → ClusterRole version to group system:authenticated",
		"b get pods: -",
	)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var b bytes.Buffer
	if err := PrintVerified(&b, []VerifiedAction{actions[1]}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "create pods/exec   a           yes       "+grant.ElsewhereLabel+": webhook says yes") {
		t.Errorf("the VERIFIED ACTION table does not label the action:\n%s", b.String())
	}
}

func TestPrintWhoamiColumns(t *testing.T) {
	table := Compact([]NamespaceResult{{Namespace: "a",
		ResourceRules:    []authorizationv1.ResourceRule{rr(l(""), l("pods"), l("get"))},
		NonResourceRules: []authorizationv1.NonResourceRule{nrr(l("/version"), l("get")), nrr(l("/metrics"), l("get"))},
	}}).Explain(explainer())
	cases := []struct {
		name string
		view View
		want string
	}{
		{"--show-baseline marks each row", View{ShowBaseline: true}, `RESOURCES   NON-RESOURCE URLS   RESOURCE NAMES   VERBS   WHERE   RISK   BASELINE
pods        []                  []               [get]   a              
            [/metrics]          []               [get]   a              
            [/version]          []               [get]   a              authenticated
`},
		{"--explain names the grants of the rows shown", View{Explain: true}, `RESOURCES   NON-RESOURCE URLS   RESOURCE NAMES   VERBS   WHERE   RISK   GRANTED BY
pods        []                  []               [get]   a              RoleBinding a/pods → ClusterRole pods
            [/metrics]          []               [get]   a              granted elsewhere (webhook, Node authorizer or other)
+ 1 rule every authenticated user holds; --show-baseline lists them
`},
		{"both", View{ShowBaseline: true, Explain: true}, `RESOURCES   NON-RESOURCE URLS   RESOURCE NAMES   VERBS   WHERE   RISK   BASELINE        GRANTED BY
pods        []                  []               [get]   a                              RoleBinding a/pods → ClusterRole pods
            [/metrics]          []               [get]   a                              granted elsewhere (webhook, Node authorizer or other)
            [/version]          []               [get]   a              authenticated   ClusterRoleBinding version → ClusterRole version to group system:authenticated
`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, rulesTable(t, ciIdentity(), table, tc.view)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
