package cmd

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubectl-access/kubectl-access/pkg/grant"
)

// withRBAC gives the fake the RBAC objects behind the rules of namespace
// a: pods (get, list) through RoleBinding a/pods → Role a/pods to the
// account, jobs (watch) through a ClusterRoleBinding to
// system:serviceaccounts:build, and GET /version (which every review
// lists) through a ClusterRoleBinding to system:authenticated.
func (c *fakeCluster) withRBAC() {
	c.t.Helper()
	group := func(name string) []rbacv1.Subject {
		return []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}}
	}
	objs := []runtime.Object{
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "basic"}, Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/version"}, Verbs: []string{"get"}}}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "jobs"}, Rules: []rbacv1.PolicyRule{{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"watch"}}}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "basic"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "basic"}, Subjects: group("system:authenticated")},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "build-jobs"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "jobs"}, Subjects: group("system:serviceaccounts:build")},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "pods"}, Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "pods"}, RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "pods"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "build", Name: "ci"}}},
	}
	for _, o := range objs {
		if err := c.caller.Tracker().Add(o); err != nil {
			c.t.Fatal(err)
		}
	}
	c.rules["a"] = []authorizationv1.ResourceRule{
		{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}},
		{Verbs: []string{"watch"}, APIGroups: []string{"batch"}, Resources: []string{"jobs"}},
	}
}

const ciIdentity = `ATTRIBUTE   VALUE
Username    system:serviceaccount:build:ci
UID         sa-uid
Groups      [system:serviceaccounts system:serviceaccounts:build system:authenticated]
Source      SelfSubjectReview (authentication.k8s.io/v1)

`

func TestWhoamiBaselineAndExplain(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "the baseline is folded; a right of the namespace's accounts is not",
			args: nil,
			want: ciIdentity + `RESOURCES    NON-RESOURCE URLS   RESOURCE NAMES   VERBS        WHERE   RISK
jobs.batch   []                  []               [watch]      a       
pods         []                  []               [get list]   a       
+ 1 rule every authenticated user holds; --show-baseline lists them
`,
		},
		{
			name: "--show-baseline lists and marks them",
			args: []string{"--show-baseline"},
			want: ciIdentity + `RESOURCES    NON-RESOURCE URLS   RESOURCE NAMES   VERBS        WHERE   RISK   BASELINE
jobs.batch   []                  []               [watch]      a              namespace
pods         []                  []               [get list]   a              
             [/version]          []               [get]        a              authenticated
`,
		},
		{
			name: "--explain names each shown rule's grant",
			args: []string{"--explain"},
			want: ciIdentity + `RESOURCES    NON-RESOURCE URLS   RESOURCE NAMES   VERBS        WHERE   RISK   GRANTED BY
jobs.batch   []                  []               [watch]      a              ClusterRoleBinding build-jobs → ClusterRole jobs to group system:serviceaccounts:build
pods         []                  []               [get list]   a              RoleBinding a/pods → Role a/pods
+ 1 rule every authenticated user holds; --show-baseline lists them
`,
		},
		{
			name: "-o wide with --show-baseline: every rule and its grant, through the group",
			args: []string{"-o", "wide", "--show-baseline"},
			want: ciIdentity + `RESOURCES    NON-RESOURCE URLS   RESOURCE NAMES   VERBS        WHERE   RISK   BASELINE        GRANTED BY
jobs.batch   []                  []               [watch]      a              namespace       ClusterRoleBinding build-jobs → ClusterRole jobs to group system:serviceaccounts:build
pods         []                  []               [get list]   a                              RoleBinding a/pods → Role a/pods
             [/version]          []               [get]        a              authenticated   ClusterRoleBinding basic → ClusterRole basic to group system:authenticated
`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t)
			c.withRBAC()
			stdout, stderr, err := c.whoami(append([]string{"ci", "--namespaces", "a"}, tc.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if diff := cmp.Diff(tc.want, stdout); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
		})
	}
}

func TestWhoamiNothingBeyondTheBaseline(t *testing.T) {
	c := newFakeCluster(t)
	c.withRBAC()
	c.rules["b"] = nil
	stdout, stderr, err := c.whoami("ci", "--namespaces", "b")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	want := ciIdentity + `system:serviceaccount:build:ci holds nothing beyond the baseline.
+ 1 rule every authenticated user holds; --show-baseline lists them
`
	if diff := cmp.Diff(want, stdout); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestWhoamiRiskyBaselineIsNeverFolded(t *testing.T) {
	c := newFakeCluster(t)
	c.withRBAC()
	_ = c.caller.Tracker().Add(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "leak"}, Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}}})
	_ = c.caller.Tracker().Add(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "leak"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "leak"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, Name: "system:authenticated"}}})
	c.rules["a"] = append(c.rules["a"], authorizationv1.ResourceRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}})
	stdout, _, err := c.whoami("ci", "--namespaces", "a")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "\nsecrets ") || !strings.Contains(stdout, "read-secrets") {
		t.Errorf("a risky right every user holds was folded away:\n%s", stdout)
	}
	if !strings.Contains(stdout, "+ 1 rule every authenticated user holds") {
		t.Errorf("the harmless baseline is not folded:\n%s", stdout)
	}
}

func TestWhoamiRecordMarksTheBaseline(t *testing.T) {
	for _, explain := range []bool{false, true} {
		c := newFakeCluster(t)
		c.withRBAC()
		args := []string{"ci", "--namespaces", "a", "-o", "json"}
		if explain {
			args = append(args, "--explain")
		}
		stdout, _, err := c.whoami(args...)
		if err != nil {
			t.Fatal(err)
		}
		rec := decodeRecord(t, stdout)
		ns := rec.Namespaces[0]
		var got []string
		for _, r := range ns.ResourceRules {
			got = append(got, r.Resources[0]+"="+string(r.Baseline)+" "+grantNames(r.GrantedBy))
		}
		for _, r := range ns.NonResourceRules {
			got = append(got, r.NonResourceURLs[0]+"="+string(r.Baseline)+" "+grantNames(r.GrantedBy))
		}
		want := []string{"pods= ", "jobs=namespace ", "/version=authenticated "}
		if explain {
			want = []string{"pods= RoleBinding a/pods → Role a/pods",
				"jobs=namespace ClusterRoleBinding build-jobs → ClusterRole jobs to group system:serviceaccounts:build",
				"/version=authenticated ClusterRoleBinding basic → ClusterRole basic to group system:authenticated"}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("explain=%t: rules (-want +got):\n%s", explain, diff)
		}
		if rec.RBACNote != "" {
			t.Errorf("rbacNote = %q with RBAC readable", rec.RBACNote)
		}
	}
}

func grantNames(grants []grant.Grant) string {
	var out []string
	for _, g := range grants {
		out = append(out, g.String())
	}
	return strings.Join(out, "; ")
}

// TestWhoamiCannotReadRBAC: a caller that may not list RBAC objects gets
// one note on stderr and in the record, and otherwise the output of a
// cluster with nothing to fold.
func TestWhoamiCannotReadRBAC(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: rbacv1.GroupName, Resource: "rolebindings"}, "", errors.New(`User "me" cannot list resource "rolebindings"`))
	for _, args := range [][]string{{"--explain"}, {"--show-baseline"}, nil} {
		plain := newFakeCluster(t)
		plain.rules["a"] = podsRule("get")
		want, _, err := plain.whoami("ci", "--namespaces", "a")
		if err != nil {
			t.Fatal(err)
		}

		c := newFakeCluster(t)
		c.withRBAC()
		c.rules["a"] = podsRule("get")
		c.caller.PrependReactor("list", "rolebindings", func(clienttesting.Action) (bool, runtime.Object, error) { return true, nil, forbidden })
		stdout, stderr, err := c.whoami(append([]string{"ci", "--namespaces", "a"}, args...)...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if diff := cmp.Diff(want, stdout); diff != "" {
			t.Errorf("%v: output differs from a plain run with nothing to fold (-want +got):\n%s", args, diff)
		}
		wantNote := `Note: no rule is folded into the baseline or explained: the kubeconfig's credentials may not list rolebindings in namespace a: rolebindings.rbac.authorization.k8s.io is forbidden: User "me" cannot list resource "rolebindings"` + "\n"
		if stderr != wantNote {
			t.Errorf("%v: stderr = %q, want %q", args, stderr, wantNote)
		}
	}

	c := newFakeCluster(t)
	c.caller.PrependReactor("list", "clusterroles", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("boom"))
	})
	stdout, stderr, err := c.whoami("ci", "-o", "json", "--explain")
	if err != nil {
		t.Fatal(err)
	}
	rec := decodeRecord(t, stdout)
	const note = "no rule is folded into the baseline or explained: reading RBAC with the kubeconfig's credentials failed: listing clusterroles: Internal error occurred: boom"
	if rec.RBACNote != note || stderr != "Note: "+note+"\n" {
		t.Errorf("rbacNote = %q, stderr = %q; want %q on both", rec.RBACNote, stderr, note)
	}
	for _, r := range rec.Namespaces[0].NonResourceRules {
		if r.Baseline != "" || r.GrantedBy != nil {
			t.Errorf("a rule is marked although RBAC was not read: %+v", r)
		}
	}
}

// TestWhoamiExplainsVerifiedActions: with --explain an allowed verified
// action names its RBAC grant, or is labelled as granted elsewhere.
func TestWhoamiExplainsVerifiedActions(t *testing.T) {
	c := newFakeCluster(t)
	c.withRBAC()
	c.allowed["a get pods"] = true
	c.allowed["a create pods/exec"] = true
	stdout, _, err := c.whoami("ci", "--namespaces", "a", "--explain", "--check", "get pods", "--check", "create pods/exec", "--check", "delete pods")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"create pods/exec   a           yes       granted elsewhere (webhook, Node authorizer or other)",
		"delete pods        a           no        -",
		"get pods           a           yes       RoleBinding a/pods → Role a/pods",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no line %q:\n%s", want, stdout)
		}
	}
	stdout, _, err = c.whoami("ci", "--namespaces", "a", "--check", "create pods/exec", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range decodeRecord(t, stdout).VerifiedActions {
		if v.GrantedElsewhere || v.GrantedBy != nil {
			t.Errorf("without --explain a verified action is explained: %+v", v)
		}
	}
}

// TestWhoamiOverlapsTheCallersListsWithTheTokensReviews proves that the
// RBAC lists (the caller's) do not wait for the token's reviews: the
// SelfSubjectReview is answered only once the ClusterRole list has
// arrived, and that list only once the review has. Run one after the
// other, each waits for the other in vain and fails.
func TestWhoamiOverlapsTheCallersListsWithTheTokensReviews(t *testing.T) {
	c := newFakeCluster(t)
	c.withRBAC()
	reviewArrived, listArrived := make(chan struct{}), make(chan struct{})
	meet := func(arrived, other chan struct{}, what string) error {
		close(arrived)
		select {
		case <-other:
			return nil
		case <-time.After(10 * time.Second):
			return fmt.Errorf("%s waited 10s for the other request: they were sent one after the other", what)
		}
	}
	c.asToken.PrependReactor("create", "selfsubjectreviews", func(clienttesting.Action) (bool, runtime.Object, error) {
		if err := meet(reviewArrived, listArrived, "the SelfSubjectReview"); err != nil {
			return true, nil, err
		}
		return false, nil, nil
	})
	c.caller.PrependReactor("list", "clusterroles", func(clienttesting.Action) (bool, runtime.Object, error) {
		if err := meet(listArrived, reviewArrived, "the ClusterRole list"); err != nil {
			return true, nil, err
		}
		return false, nil, nil
	})
	stdout, stderr, err := c.whoami("ci", "--namespaces", "a", "--explain")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "RoleBinding a/pods → Role a/pods") {
		t.Errorf("the rules are not explained:\n%s", stdout)
	}
}
