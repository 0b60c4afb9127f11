package audit

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func rb(ns, name string, ref string, subjects ...rbacv1.Subject) rbacv1.RoleBinding {
	kind, role, _ := cutRef(ref)
	return rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, RoleRef: rbacv1.RoleRef{Kind: kind, Name: role}, Subjects: subjects}
}

func crb(name, ref string, subjects ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
	kind, role, _ := cutRef(ref)
	return rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: rbacv1.RoleRef{Kind: kind, Name: role}, Subjects: subjects}
}

func cutRef(ref string) (kind, name string, ok bool) {
	for i := range ref {
		if ref[i] == ' ' {
			return ref[:i], ref[i+1:], true
		}
	}
	return "", ref, false
}

func saSubject(ns, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
}

func group(name string) rbacv1.Subject { return rbacv1.Subject{Kind: rbacv1.GroupKind, Name: name} }
func user(name string) rbacv1.Subject  { return rbacv1.Subject{Kind: rbacv1.UserKind, Name: name} }

func TestAppliesTo(t *testing.T) {
	a := Account{Namespace: "a1", Name: "ci"}
	tests := []struct {
		name      string
		subjects  []rbacv1.Subject
		bindingNS string
		wantVia   string
		wantOK    bool
	}{
		{"the service account by namespace and name", []rbacv1.Subject{saSubject("a1", "ci")}, "b2", "ServiceAccount", true},
		{"a RoleBinding's subject without a namespace means the binding's", []rbacv1.Subject{saSubject("", "ci")}, "a1", "ServiceAccount", true},
		{"... and not the account's when the binding is elsewhere", []rbacv1.Subject{saSubject("", "ci")}, "b2", "", false},
		{"the same name in another namespace is another account", []rbacv1.Subject{saSubject("b2", "ci")}, "a1", "", false},
		{"another name in the namespace is another account", []rbacv1.Subject{saSubject("a1", "cd")}, "a1", "", false},
		{"its user name", []rbacv1.Subject{user("system:serviceaccount:a1:ci")}, "b2", "User", true},
		{"another user", []rbacv1.Subject{user("system:serviceaccount:a1:cd")}, "b2", "", false},
		{"a user named like the account is not its service account subject", []rbacv1.Subject{user("ci")}, "a1", "", false},
		{"its namespace's group", []rbacv1.Subject{group("system:serviceaccounts:a1")}, "b2", "system:serviceaccounts:a1", true},
		{"another namespace's group", []rbacv1.Subject{group("system:serviceaccounts:b2")}, "b2", "", false},
		{"every service account", []rbacv1.Subject{group("system:serviceaccounts")}, "b2", "system:serviceaccounts", true},
		{"every authenticated user", []rbacv1.Subject{group("system:authenticated")}, "b2", "system:authenticated", true},
		{"unauthenticated users are not it", []rbacv1.Subject{group("system:unauthenticated")}, "b2", "", false},
		{"the first matching subject names how", []rbacv1.Subject{group("other"), user("system:serviceaccount:a1:ci"), saSubject("a1", "ci")}, "a1", "User", true},
		{"no subjects", nil, "a1", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			via, ok := appliesTo(tc.subjects, tc.bindingNS, a)
			if via != tc.wantVia || ok != tc.wantOK {
				t.Errorf("appliesTo = %q, %v; want %q, %v", via, ok, tc.wantVia, tc.wantOK)
			}
		})
	}
}

func TestPlanAccounts(t *testing.T) {
	accounts := []Account{{Namespace: "a1", Name: "ci"}, {Namespace: "a1", Name: "default"}, {Namespace: "b2", Name: "app"}}
	rbs := []rbacv1.RoleBinding{
		rb("b2", "ci-view", "ClusterRole view", saSubject("a1", "ci")),
		rb("c3", "all-sa", "Role reader", group("system:serviceaccounts")),
		rb("a1", "ns-group", "Role lister", group("system:serviceaccounts:a1")),
		rb("b2", "other", "Role x", saSubject("b2", "someone-else")),
	}
	crbs := []rbacv1.ClusterRoleBinding{
		crb("default-admin", "ClusterRole admin", saSubject("a1", "default")),
		crb("discovery", "ClusterRole system:discovery", group("system:authenticated")),
	}
	got := PlanAccounts(accounts, rbs, crbs)
	want := []Plan{
		{
			Account:               accounts[0],
			Namespaces:            []string{"a1", "b2", "c3"},
			RoleBindingNamespaces: []string{"a1", "b2", "c3"},
			Bindings: []Binding{
				{Kind: "RoleBinding", Namespace: "a1", Name: "ns-group", Role: "Role lister", Via: "system:serviceaccounts:a1"},
				{Kind: "RoleBinding", Namespace: "b2", Name: "ci-view", Role: "ClusterRole view", Via: "ServiceAccount"},
			},
		},
		{
			Account:               accounts[1],
			Namespaces:            []string{"a1", "c3"},
			RoleBindingNamespaces: []string{"a1", "c3"},
			Bindings: []Binding{
				{Kind: "ClusterRoleBinding", Name: "default-admin", Role: "ClusterRole admin", Via: "ServiceAccount"},
				{Kind: "RoleBinding", Namespace: "a1", Name: "ns-group", Role: "Role lister", Via: "system:serviceaccounts:a1"},
			},
		},
		{
			// Bound only through the groups every account shares: the
			// baseline, but the universal RoleBinding's namespace is
			// reviewed all the same.
			Account:               accounts[2],
			Namespaces:            []string{"b2", "c3"},
			RoleBindingNamespaces: []string{"c3"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PlanAccounts (-want +got):\n%s", diff)
	}
	for i, wantBaseline := range []bool{false, false, true} {
		if got[i].Baseline() != wantBaseline {
			t.Errorf("%s: Baseline() = %v, want %v", got[i].Account, got[i].Baseline(), wantBaseline)
		}
	}
}

func TestBindingString(t *testing.T) {
	tests := []struct {
		b    Binding
		want string
	}{
		{Binding{Kind: "RoleBinding", Namespace: "b2", Name: "ci-view", Role: "ClusterRole view", Via: "ServiceAccount"}, "RoleBinding b2/ci-view → ClusterRole view"},
		{Binding{Kind: "ClusterRoleBinding", Name: "x", Role: "ClusterRole admin", Via: "system:serviceaccounts:a1"}, "ClusterRoleBinding x → ClusterRole admin (via system:serviceaccounts:a1)"},
		{Binding{Kind: "RoleBinding", Namespace: "a1", Name: "u", Role: "Role r", Via: "User"}, "RoleBinding a1/u → Role r (via User)"},
	}
	for _, tc := range tests {
		if got := tc.b.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestAccounts(t *testing.T) {
	items := []corev1.ServiceAccount{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "a", UID: "1"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "a-x", Name: "b", UID: "2"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "z", UID: "3"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "default", UID: "4"}},
	}
	got := AccountsOf(items)
	sortAccounts(got)
	want := []Account{{"a", "default", "4"}, {"a", "z", "3"}, {"a-x", "b", "2"}, {"b", "a", "1"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sorted accounts (-want +got):\n%s", diff)
	}
	if !got[0].IsDefault() || got[1].IsDefault() {
		t.Errorf("IsDefault: %v %v, want true false", got[0].IsDefault(), got[1].IsDefault())
	}
	if u := got[1].Username(); u != "system:serviceaccount:a:z" {
		t.Errorf("Username() = %q", u)
	}
	if s := got[2].String(); s != "a-x/b" {
		t.Errorf("String() = %q", s)
	}
}
