// Package audit reviews every service account in scope as the account itself
// and ranks them by the risky rights they hold.
//
// The design keeps the number of requests proportional to the accounts and
// the namespaces they are bound in, not to accounts × namespaces:
//
//  1. Inventory, with the caller's credentials: one LIST of ServiceAccounts
//     (per namespace audited, or one for all), one LIST of RoleBindings and
//     one of ClusterRoleBindings in all namespaces.
//  2. Plan, from the bindings alone (no request): for every account, the
//     namespaces where a RoleBinding binds it, directly or through a group it
//     belongs to (system:serviceaccounts, system:serviceaccounts:NS,
//     system:authenticated). A SelfSubjectRulesReview of a namespace lists
//     the rules of the ClusterRoleBindings too, so reviewing the account's
//     own namespace and those is enough to see every rule RBAC grants it.
//  3. Review, as each account's own token: one TokenRequest of the shortest
//     lifetime the API server accepts (held in memory, never written), one
//     SelfSubjectRulesReview per planned namespace and, when a review is
//     incomplete (a webhook authorizer decides too) or Verify is set, the
//     SelfSubjectAccessReviews of every risk action in those namespaces.
//
// Requests: 3 (or 2 + the namespaces audited) + per account 1 + its planned
// namespaces, plus the verification of incomplete reviews.
package audit

import (
	"cmp"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The groups the API server gives every service account token, besides
// system:serviceaccounts:NAMESPACE.
const (
	AllServiceAccountsGroup = "system:serviceaccounts"
	AuthenticatedGroup      = "system:authenticated"
	namespaceGroupPrefix    = "system:serviceaccounts:"
	userPrefix              = "system:serviceaccount:"
)

// Account is one service account in scope.
type Account struct {
	Namespace string
	Name      string
	UID       types.UID
}

// String is "namespace/name".
func (a Account) String() string { return a.Namespace + "/" + a.Name }

// IsDefault reports whether the account is a namespace's "default" service
// account, the one every pod that names none runs as.
func (a Account) IsDefault() bool { return a.Name == "default" }

// Username is the user name the API server gives the account's tokens.
func (a Account) Username() string { return userPrefix + a.Namespace + ":" + a.Name }

// Binding names a RoleBinding or ClusterRoleBinding that applies to an
// account, and through which of its subjects.
type Binding struct {
	// Kind is RoleBinding or ClusterRoleBinding.
	Kind string `json:"kind"`
	// Namespace is the RoleBinding's; "" for a ClusterRoleBinding.
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Role is "ClusterRole NAME" or "Role NAME".
	Role string `json:"role"`
	// Via is the subject that matched: "ServiceAccount" for the account
	// itself, "User" for its user name, or the group's name.
	Via string `json:"via"`
}

// String reads "RoleBinding ns/name → ClusterRole view (via system:serviceaccounts:ns)".
func (b Binding) String() string {
	name := b.Name
	if b.Namespace != "" {
		name = b.Namespace + "/" + b.Name
	}
	s := b.Kind + " " + name + " → " + b.Role
	if b.Via != "ServiceAccount" {
		s += " (via " + b.Via + ")"
	}
	return s
}

// universal reports whether the binding applies to every service account
// of the cluster (through system:serviceaccounts or system:authenticated):
// what it grants is the baseline every account holds.
func (b Binding) universal() bool {
	return b.Via == AllServiceAccountsGroup || b.Via == AuthenticatedGroup
}

// Plan is what the audit of one account asks, computed from the bindings.
type Plan struct {
	Account
	// Namespaces are the namespaces to review, sorted: the account's own,
	// and every namespace where a RoleBinding applies to it.
	Namespaces []string
	// RoleBindingNamespaces are the namespaces where a RoleBinding applies
	// to the account (universal ones included), sorted. A rule listed in a
	// reviewed namespace outside them is granted by a ClusterRoleBinding,
	// and so holds in every namespace.
	RoleBindingNamespaces []string
	// Bindings apply to the account, sorted; universal ones (through
	// system:serviceaccounts or system:authenticated) are left out: they
	// are the baseline, the same for every account.
	Bindings []Binding
}

// Baseline reports whether only the bindings every service account shares
// apply to the account: RBAC grants it the baseline and nothing more.
func (p Plan) Baseline() bool { return len(p.Bindings) == 0 }

// PlanAccounts plans the review of every account from the bindings: the
// namespaces to review and the bindings that apply, in account order.
func PlanAccounts(accounts []Account, roleBindings []rbacv1.RoleBinding, clusterRoleBindings []rbacv1.ClusterRoleBinding) []Plan {
	plans := make([]Plan, len(accounts))
	for i, a := range accounts {
		namespaces := map[string]bool{a.Namespace: true}
		bound := map[string]bool{}
		var bindings []Binding
		for _, rb := range roleBindings {
			via, ok := appliesTo(rb.Subjects, rb.Namespace, a)
			if !ok {
				continue
			}
			// A RoleBinding bound through a universal group still adds its
			// namespace: the rules it grants hold there, for every account.
			namespaces[rb.Namespace], bound[rb.Namespace] = true, true
			b := Binding{Kind: "RoleBinding", Namespace: rb.Namespace, Name: rb.Name, Role: rb.RoleRef.Kind + " " + rb.RoleRef.Name, Via: via}
			if !b.universal() {
				bindings = append(bindings, b)
			}
		}
		for _, crb := range clusterRoleBindings {
			via, ok := appliesTo(crb.Subjects, "", a)
			if !ok {
				continue
			}
			b := Binding{Kind: "ClusterRoleBinding", Name: crb.Name, Role: crb.RoleRef.Kind + " " + crb.RoleRef.Name, Via: via}
			if !b.universal() {
				bindings = append(bindings, b)
			}
		}
		sort.Slice(bindings, func(i, j int) bool { return bindings[i].String() < bindings[j].String() })
		plans[i] = Plan{Account: a, Namespaces: sortedSet(namespaces), RoleBindingNamespaces: sortedSet(bound), Bindings: bindings}
	}
	return plans
}

// appliesTo reports whether one of subjects is the account, by the rules of
// the RBAC authorizer (plugin/pkg/auth/authorizer/rbac, appliesToUser): a
// ServiceAccount subject matches by namespace and name (a RoleBinding's
// subject without a namespace means the binding's), a User by the account's
// user name, a Group by one of the account's groups. It returns how.
func appliesTo(subjects []rbacv1.Subject, bindingNamespace string, a Account) (via string, ok bool) {
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			ns := s.Namespace
			if ns == "" {
				ns = bindingNamespace
			}
			if ns == a.Namespace && s.Name == a.Name {
				return "ServiceAccount", true
			}
		case rbacv1.UserKind:
			if s.Name == a.Username() {
				return "User", true
			}
		case rbacv1.GroupKind:
			if s.Name == AllServiceAccountsGroup || s.Name == AuthenticatedGroup || s.Name == namespaceGroupPrefix+a.Namespace {
				return s.Name, true
			}
		}
	}
	return "", false
}

// AccountsOf returns the accounts of a ServiceAccount list.
func AccountsOf(items []corev1.ServiceAccount) []Account {
	out := make([]Account, 0, len(items))
	for _, sa := range items {
		out = append(out, Account{Namespace: sa.Namespace, Name: sa.Name, UID: sa.UID})
	}
	return out
}

// sortAccounts sorts accounts by namespace, then name.
func sortAccounts(accounts []Account) {
	slices.SortFunc(accounts, func(a, b Account) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
