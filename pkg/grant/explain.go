package grant

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The groups the API server puts every request, or every service account,
// in; bindings to them make the baseline.
const (
	GroupAuthenticated   = "system:authenticated"
	GroupUnauthenticated = "system:unauthenticated"
	GroupServiceAccounts = "system:serviceaccounts"
	// serviceAccountsPrefix starts the group of a namespace's service
	// accounts, system:serviceaccounts:NS.
	serviceAccountsPrefix = GroupServiceAccounts + ":"
	// serviceAccountUserPrefix starts a service account's user name,
	// system:serviceaccount:NS:NAME.
	serviceAccountUserPrefix = "system:serviceaccount:"
)

// Baseline says who else holds a right because of the group it is granted
// to.
type Baseline string

const (
	// NotBaseline: the right is the subject's own (or granted outside RBAC).
	NotBaseline Baseline = ""
	// Authenticated: granted to system:authenticated or
	// system:unauthenticated, so every request holds it.
	Authenticated Baseline = "authenticated"
	// ServiceAccounts: granted to system:serviceaccounts, so every service
	// account holds it.
	ServiceAccounts Baseline = "serviceaccounts"
	// Namespace: granted to system:serviceaccounts:NS, so every service
	// account of that namespace holds it. It is marked, never folded: a
	// namespace's accounts are given such a right on purpose, and a
	// workload there may be the one that should not have it.
	Namespace Baseline = "namespace"
)

// rank orders the baselines from the subject's own to every request's.
func (b Baseline) rank() int {
	switch b {
	case Namespace:
		return 1
	case ServiceAccounts:
		return 2
	case Authenticated:
		return 3
	}
	return 0
}

// Folded reports whether a right of this baseline is one every service
// account holds, whatever its namespace: what the human table folds.
func (b Baseline) Folded() bool { return b == Authenticated || b == ServiceAccounts }

// BaselineOf says which baseline a binding to group makes.
func BaselineOf(group string) Baseline {
	switch {
	case group == GroupAuthenticated, group == GroupUnauthenticated:
		return Authenticated
	case group == GroupServiceAccounts:
		return ServiceAccounts
	case strings.HasPrefix(group, serviceAccountsPrefix):
		return Namespace
	}
	return NotBaseline
}

// weaker returns the baseline of two parts of one right: a right is the
// baseline of every request only when each part is.
func weaker(a, b Baseline) Baseline {
	if a.rank() < b.rank() {
		return a
	}
	return b
}

// stronger returns the baseline of a part granted twice.
func stronger(a, b Baseline) Baseline {
	if a.rank() > b.rank() {
		return a
	}
	return b
}

// Subject is who the rights are explained for: a user name and groups, as
// a SelfSubjectReview reports them.
type Subject struct {
	Username string
	Groups   []string
}

// ServiceAccount is the subject of the service account namespace/name,
// with the groups the API server gives every service account.
func ServiceAccount(namespace, name string) Subject {
	return Subject{
		Username: serviceAccountUserPrefix + namespace + ":" + name,
		Groups:   []string{GroupServiceAccounts, serviceAccountsPrefix + namespace, GroupAuthenticated},
	}
}

// named reports whether a binding's subject s, in a binding of namespace
// bindingNS ("" for a ClusterRoleBinding), names the subject, the way the
// RBAC authorizer matches it: a User by name, a Group by membership, a
// ServiceAccount by its user name, its namespace defaulting to the
// binding's.
func (sub Subject) named(s rbacv1.Subject, bindingNS string) bool {
	switch s.Kind {
	case rbacv1.UserKind:
		return s.Name == sub.Username
	case rbacv1.GroupKind:
		return slices.Contains(sub.Groups, s.Name)
	case rbacv1.ServiceAccountKind:
		ns := s.Namespace
		if ns == "" {
			ns = bindingNS
		}
		return ns != "" && sub.Username == serviceAccountUserPrefix+ns+":"+s.Name
	}
	return false
}

// Ref names an RBAC object.
type Ref struct {
	// Kind is RoleBinding, ClusterRoleBinding, Role or ClusterRole.
	Kind string `json:"kind"`
	// Namespace is set for a RoleBinding or a Role.
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// String is "RoleBinding ns/name", "ClusterRole name".
func (r Ref) String() string {
	if r.Namespace != "" {
		return r.Kind + " " + r.Namespace + "/" + r.Name
	}
	return r.Kind + " " + r.Name
}

// Grant is one way a subject holds a right: a binding, the role it refers
// to, and the binding's subject that names the subject.
type Grant struct {
	Binding Ref `json:"binding"`
	Role    Ref `json:"role"`
	// AggregatedFrom are the ClusterRoles whose rules an aggregated Role
	// took the right from (those its selectors match that grant it).
	AggregatedFrom []string `json:"aggregatedFrom,omitempty"`
	// Subject is the binding's subject that names the subject: the account
	// itself, or one of its groups.
	Subject rbacv1.Subject `json:"subject"`
}

// String is "RoleBinding ns/name → ClusterRole name", with the aggregated
// ClusterRoles the right comes from and, when the binding names one of the
// subject's groups rather than the subject itself, the group.
func (g Grant) String() string {
	s := g.Binding.String() + " → " + g.Role.String()
	if len(g.AggregatedFrom) > 0 {
		s += " (aggregated from " + strings.Join(g.AggregatedFrom, ", ") + ")"
	}
	if g.Subject.Kind == rbacv1.GroupKind {
		s += " to group " + g.Subject.Name
	}
	return s
}

// Baseline is the baseline the grant makes: that of its subject's group.
func (g Grant) Baseline() Baseline {
	if g.Subject.Kind != rbacv1.GroupKind {
		return NotBaseline
	}
	return BaselineOf(g.Subject.Name)
}

func (g Grant) key() string { return g.String() }

// Explanation is where a right, or a set of rights, comes from.
type Explanation struct {
	// Grants are every grant of some part of the rights, sorted by their
	// String, each once.
	Grants []Grant
	// Elsewhere says some part is granted by no RBAC object read: by a
	// webhook, the Node authorizer, another authorizer, or an object that
	// changed since.
	Elsewhere bool
	// Baseline is what every part is held through: Authenticated when
	// every part is granted to a group every request is in,
	// ServiceAccounts when every part is granted to that or to a service
	// account group, NotBaseline otherwise.
	Baseline Baseline
}

// bound is a binding that names the subject, with the rules of its role.
type bound struct {
	grant Grant
	// namespace is where it holds: a RoleBinding's namespace, "" for a
	// ClusterRoleBinding (everywhere).
	namespace string
	rules     []rbacv1.PolicyRule
	// sources are the ClusterRoles an aggregated role's selectors match.
	sources []rbacv1.ClusterRole
}

// Explainer explains the rights of one subject from the objects read. It
// is safe for concurrent use.
type Explainer struct {
	bound []bound
	// everywhere and in index bound: the ClusterRoleBindings, and each
	// namespace's RoleBindings. Every ClusterRoleBinding comes before every
	// RoleBinding in bound, so everywhere then in[ns] is bound's order.
	everywhere []int
	in         map[string][]int
	// In a namespace where no RoleBinding names the subject (none in in)
	// only ClusterRoleBindings grant, so an explanation is the same in all
	// of them. explained keeps each explanation computed, by the accesses
	// (and the namespace, where bound): whoami -A explains every rule in
	// every namespace, twice (table and record), and most namespaces are
	// bound in none.
	mu        sync.Mutex
	explained map[string]Explanation
}

// NewExplainer finds every binding of objs that names sub and the rules of
// the role each refers to. A binding whose role does not exist grants
// nothing, as in RBAC.
func NewExplainer(objs *Objects, sub Subject) *Explainer {
	clusterRoles := map[string]*rbacv1.ClusterRole{}
	for i := range objs.ClusterRoles {
		clusterRoles[objs.ClusterRoles[i].Name] = &objs.ClusterRoles[i]
	}
	roles := map[string]*rbacv1.Role{}
	for i := range objs.Roles {
		roles[objs.Roles[i].Namespace+"/"+objs.Roles[i].Name] = &objs.Roles[i]
	}
	e := &Explainer{in: map[string][]int{}, explained: map[string]Explanation{}}
	add := func(binding Ref, namespace string, ref rbacv1.RoleRef, subjects []rbacv1.Subject) {
		var through *rbacv1.Subject
		for i := range subjects {
			if sub.named(subjects[i], namespace) {
				through = &subjects[i]
				break
			}
		}
		if through == nil {
			return
		}
		b := bound{grant: Grant{Binding: binding, Subject: *through}, namespace: namespace}
		switch ref.Kind {
		case "ClusterRole":
			role := clusterRoles[ref.Name]
			if role == nil {
				return
			}
			b.grant.Role = Ref{Kind: "ClusterRole", Name: ref.Name}
			b.rules = role.Rules
			b.sources = aggregated(role, objs.ClusterRoles)
		case "Role":
			role := roles[namespace+"/"+ref.Name]
			if namespace == "" || role == nil {
				return
			}
			b.grant.Role = Ref{Kind: "Role", Namespace: namespace, Name: ref.Name}
			b.rules = role.Rules
		default:
			return
		}
		if namespace == "" {
			e.everywhere = append(e.everywhere, len(e.bound))
		} else {
			e.in[namespace] = append(e.in[namespace], len(e.bound))
		}
		e.bound = append(e.bound, b)
	}
	for _, crb := range objs.ClusterRoleBindings {
		add(Ref{Kind: "ClusterRoleBinding", Name: crb.Name}, "", crb.RoleRef, crb.Subjects)
	}
	for _, rb := range objs.RoleBindings {
		add(Ref{Kind: "RoleBinding", Namespace: rb.Namespace, Name: rb.Name}, rb.Namespace, rb.RoleRef, rb.Subjects)
	}
	return e
}

// aggregated returns the ClusterRoles (other than role) that role's
// aggregation selectors match; nil for a role that aggregates nothing.
func aggregated(role *rbacv1.ClusterRole, all []rbacv1.ClusterRole) []rbacv1.ClusterRole {
	if role.AggregationRule == nil {
		return nil
	}
	var out []rbacv1.ClusterRole
	for _, other := range all {
		if other.Name == role.Name {
			continue
		}
		for _, sel := range role.AggregationRule.ClusterRoleSelectors {
			s, err := metav1.LabelSelectorAsSelector(&sel)
			if err == nil && !s.Empty() && s.Matches(labels.Set(other.Labels)) {
				out = append(out, other)
				break
			}
		}
	}
	return out
}

// Grants returns every grant of a in namespace ns ("" for a right asked
// of the cluster, which only ClusterRoleBindings grant), sorted.
func (e *Explainer) Grants(ns string, a Access) []Grant {
	var out []Grant
	for _, i := range slices.Concat(e.everywhere, e.in[ns]) {
		b := e.bound[i]
		if !anyCovers(b.rules, a) {
			continue
		}
		g := b.grant
		for _, src := range b.sources {
			if anyCovers(src.Rules, a) {
				g.AggregatedFrom = append(g.AggregatedFrom, src.Name)
			}
		}
		out = append(out, g)
	}
	sortGrants(out)
	return out
}

// sortGrants sorts grants by their String, each computed once: a sort that
// wrote the strings at every comparison spent more on them than whoami -A
// spent explaining.
func sortGrants(grants []Grant) {
	keys := make([]string, len(grants))
	for i := range grants {
		keys[i] = grants[i].key()
	}
	sort.Sort(grantsByKey{grants, keys})
}

// grantsByKey sorts grants by keys, their Strings.
type grantsByKey struct {
	grants []Grant
	keys   []string
}

func (s grantsByKey) Len() int           { return len(s.grants) }
func (s grantsByKey) Less(i, j int) bool { return s.keys[i] < s.keys[j] }
func (s grantsByKey) Swap(i, j int) {
	s.grants[i], s.grants[j] = s.grants[j], s.grants[i]
	s.keys[i], s.keys[j] = s.keys[j], s.keys[i]
}

func anyCovers(rules []rbacv1.PolicyRule, a Access) bool {
	for _, r := range rules {
		if Covers(r, a) {
			return true
		}
	}
	return false
}

// Explain says where the accesses, held in namespace ns, come from: every
// grant of any of them, whether one has none, and the baseline all of them
// are held through. No access explains nothing: the baseline of an empty
// set is NotBaseline.
func (e *Explainer) Explain(ns string, accesses []Access) Explanation {
	return e.cached(ns, accesses, e.boundFor(ns, accesses)).clone()
}

// cached is Explain without the copy: the explanation kept, which the
// caller must not change. bound is boundFor(ns, accesses).
func (e *Explainer) cached(ns string, accesses []Access, bound bool) Explanation {
	key := accessesKey(accesses)
	if bound {
		key = ns + "\x02" + key
	}
	e.mu.Lock()
	x, ok := e.explained[key]
	e.mu.Unlock()
	if !ok {
		x = e.explain(ns, accesses)
		e.mu.Lock()
		e.explained[key] = x
		e.mu.Unlock()
	}
	return x
}

// ExplainAll is the Merge of the explanations of accesses in each of
// namespaces: what grants a right that holds in all of them. The
// namespaces where no RoleBinding of the subject grants one of the
// accesses all explain alike, and a merge is the same with a part once or
// many times, so they are explained once.
func (e *Explainer) ExplainAll(namespaces []string, accesses []Access) Explanation {
	parts := make([]Explanation, 0, len(namespaces))
	unbound := false
	for _, ns := range namespaces {
		bound := e.boundFor(ns, accesses)
		if !bound {
			if unbound {
				continue
			}
			unbound = true
		}
		parts = append(parts, e.cached(ns, accesses, bound))
	}
	return Merge(parts...)
}

// boundFor reports whether a RoleBinding in ns that names the subject
// grants one of accesses. Where none does, only ClusterRoleBindings grant
// them (Grants takes a binding only when its rules cover the access), so
// they are explained as in a namespace with no RoleBinding of the subject:
// whoami -A's baseline rows, which RoleBindings rarely grant, are explained
// once, not once per namespace the subject is bound in.
func (e *Explainer) boundFor(ns string, accesses []Access) bool {
	for _, i := range e.in[ns] {
		for _, a := range accesses {
			if anyCovers(e.bound[i].rules, a) {
				return true
			}
		}
	}
	return false
}

// accessesKey identifies a list of accesses: each field is written after
// its length, so that no two lists write the same key whatever their
// strings hold (a rule written into a role can hold any string).
func accessesKey(accesses []Access) string {
	var b strings.Builder
	for _, a := range accesses {
		for _, f := range []string{a.Verb, a.Group, a.Resource, a.Name, a.URL} {
			b.WriteString(strconv.Itoa(len(f)))
			b.WriteByte(':')
			b.WriteString(f)
		}
	}
	return b.String()
}

// clone returns a copy of x that shares no slice with it.
func (x Explanation) clone() Explanation {
	x.Grants = slices.Clone(x.Grants)
	for i := range x.Grants {
		x.Grants[i].AggregatedFrom = slices.Clone(x.Grants[i].AggregatedFrom)
	}
	return x
}

// explain is Explain, computed.
func (e *Explainer) explain(ns string, accesses []Access) Explanation {
	var x Explanation
	for i, a := range accesses {
		grants := e.Grants(ns, a)
		if len(grants) == 0 {
			x.Elsewhere = true
		}
		b := NotBaseline
		for _, g := range grants {
			b = stronger(b, g.Baseline())
		}
		if i == 0 {
			x.Baseline = b
		} else {
			x.Baseline = weaker(x.Baseline, b)
		}
		x.Grants = append(x.Grants, grants...)
	}
	x.Grants = unique(x.Grants)
	return x
}

// Merge joins the explanations of the parts of one right (the namespaces a
// row of a table holds in): all their grants, elsewhere when any part is,
// and the weakest baseline. Merging nothing gives NotBaseline.
func Merge(parts ...Explanation) Explanation {
	var x Explanation
	for i, p := range parts {
		x.Grants = append(x.Grants, p.Grants...)
		x.Elsewhere = x.Elsewhere || p.Elsewhere
		if i == 0 {
			x.Baseline = p.Baseline
		} else {
			x.Baseline = weaker(x.Baseline, p.Baseline)
		}
	}
	x.Grants = unique(x.Grants)
	return x
}

// unique sorts grants and joins those of one binding, role and subject,
// with the ClusterRoles each took the right from.
func unique(grants []Grant) []Grant {
	type id struct {
		binding, role                       Ref
		subjectKind, subjectNS, subjectName string
	}
	byID := make(map[id]int, len(grants))
	var out []Grant
	for _, g := range grants {
		k := id{g.Binding, g.Role, g.Subject.Kind, g.Subject.Namespace, g.Subject.Name}
		i, ok := byID[k]
		if !ok {
			byID[k] = len(out)
			g.AggregatedFrom = slices.Clone(g.AggregatedFrom)
			out = append(out, g)
			continue
		}
		out[i].AggregatedFrom = append(out[i].AggregatedFrom, g.AggregatedFrom...)
	}
	for i := range out {
		sort.Strings(out[i].AggregatedFrom)
		out[i].AggregatedFrom = slices.Compact(out[i].AggregatedFrom)
	}
	sortGrants(out)
	return out
}

// ElsewhereLabel is how a right no RBAC object explains is labelled.
const ElsewhereLabel = "granted elsewhere (webhook, Node authorizer or other)"

// Strings lists the grants of x as text, with ElsewhereLabel last when a
// part is granted by no RBAC object.
func (x Explanation) Strings() []string {
	out := make([]string, 0, len(x.Grants)+1)
	for _, g := range x.Grants {
		out = append(out, g.String())
	}
	if x.Elsewhere {
		out = append(out, ElsewhereLabel)
	}
	return out
}
