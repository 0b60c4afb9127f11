package review

import (
	"fmt"
	"io"
	"slices"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kubectl-access/kubectl-access/pkg/grant"
	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

// Where the rules come from, set beside them: the baseline every
// authenticated user or every service account holds, folded out of the
// human table, and with --explain the bindings and roles of each rule.

// View says how PrintWhoami shows the rows of the rules table.
type View struct {
	// ShowBaseline lists the baseline rows with the others, marked in a
	// BASELINE column, instead of folding them into one line per kind.
	ShowBaseline bool
	// Explain adds a GRANTED BY column naming each row's grants.
	Explain bool
	// Incomplete says a review was marked incomplete: then "nothing beyond
	// the baseline" is only true of the listed rules.
	Incomplete bool
	// Exceptions accept findings: still shown, marked accepted.
	Exceptions risk.Exceptions
}

// rows splits the table's rows into those shown (their indexes) and those
// folded: a row is folded when its explanation is known, it is all
// baseline, it fails no risk check (graded, by row; a risky right is shown
// whoever else holds it) and the baseline is not to be shown.
func (v View) rows(all []Row, graded [][]rowRisk) (shown []int, folded []Row) {
	for i, row := range all {
		if !v.ShowBaseline && row.Explanation != nil && row.Explanation.Baseline.Folded() && len(graded[i]) == 0 {
			folded = append(folded, row)
			continue
		}
		shown = append(shown, i)
	}
	return shown, folded
}

// headers are the columns the view adds after RISK.
func (v View) headers(t Table) string {
	var h string
	if v.ShowBaseline && t.Explained {
		h += "\tBASELINE"
	}
	if v.Explain && t.Explained {
		h += "\tGRANTED BY"
	}
	return h
}

// cells are a row's cells of the columns of headers.
func (v View) cells(t Table, row Row) string {
	var c string
	x := row.Explanation
	if x == nil {
		x = &grant.Explanation{}
	}
	if v.ShowBaseline && t.Explained {
		c += "\t" + string(x.Baseline)
	}
	if v.Explain && t.Explained {
		c += "\t" + strings.Join(x.Strings(), ", ")
	}
	return c
}

// printFolded prints the one line the folded rows make: how many, and of
// which kind, since a right granted to a service account group is held by
// fewer subjects than one granted to every authenticated user. The subject
// in system:unauthenticated is an anonymous request.
func printFolded(out io.Writer, folded []Row, groups []string) {
	count := map[grant.Baseline]int{}
	for _, row := range folded {
		count[row.Explanation.Baseline]++
	}
	users, accounts := count[grant.Authenticated], count[grant.ServiceAccounts]
	who := "authenticated user"
	if slices.Contains(groups, grant.GroupUnauthenticated) {
		who = "anonymous request"
	}
	var line string
	switch {
	case users > 0 && accounts > 0:
		line = fmt.Sprintf("%d rules every %s or service account holds (%d every %s, %d every service account)", users+accounts, who, users, who, accounts)
	case users > 0:
		line = fmt.Sprintf("%d %s every %s holds", users, plural(users, "rule", "rules"), who)
	case accounts > 0:
		line = fmt.Sprintf("%d %s every service account holds", accounts, plural(accounts, "rule", "rules"))
	default:
		return
	}
	fmt.Fprintf(out, "+ %s; --show-baseline lists them\n", line)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Explain sets on every row where it comes from, in every namespace it
// holds in, as e says; afterwards t.Explained is true.
func (t Table) Explain(e *grant.Explainer) Table {
	out := Table{Reviewed: t.Reviewed, Explained: true, Rows: make([]Row, len(t.Rows))}
	for i, row := range t.Rows {
		x := e.ExplainAll(row.Namespaces, grant.Accesses(row.Rule()))
		row.Explanation = &x
		out.Rows[i] = row
	}
	return out
}

// ResourceRuleRecord is a resource rule as the server listed it, with
// where it comes from.
type ResourceRuleRecord struct {
	authorizationv1.ResourceRule `json:",inline"`
	RuleSource                   `json:",inline"`
}

// NonResourceRuleRecord is a non-resource rule as the server listed it,
// with where it comes from.
type NonResourceRuleRecord struct {
	authorizationv1.NonResourceRule `json:",inline"`
	RuleSource                      `json:",inline"`
}

// RuleSource is where a listed rule comes from. Every field is empty when
// the RBAC objects could not be read (Record.RBACNote says why).
type RuleSource struct {
	// Baseline is "authenticated" when every right of the rule is granted
	// to system:authenticated or system:unauthenticated, "serviceaccounts"
	// when to those or to system:serviceaccounts[:NS]; empty for the
	// subject's own rules.
	Baseline grant.Baseline `json:"baseline,omitempty"`
	// GrantedBy are the grants of the rule's rights in its namespace, with
	// --explain.
	GrantedBy []grant.Grant `json:"grantedBy,omitempty"`
	// GrantedElsewhere says some right of the rule is granted by no RBAC
	// object read (a webhook, the Node authorizer, another authorizer), with
	// --explain.
	GrantedElsewhere bool `json:"grantedElsewhere,omitempty"`
}

// source is the RuleSource of rule in ns; the grants only when explain.
func source(e *grant.Explainer, ns string, rule rbacv1.PolicyRule, explain bool) RuleSource {
	x := e.Explain(ns, grant.Accesses(rule))
	s := RuleSource{Baseline: x.Baseline}
	if explain {
		s.GrantedBy, s.GrantedElsewhere = x.Grants, x.Elsewhere
	}
	return s
}

// Explain marks the baseline rules of every namespace of the record as e
// says and, when explain, sets the grants of every rule. The verified
// actions are ExplainVerified's.
func (r *Record) Explain(e *grant.Explainer, explain bool) {
	for i := range r.Namespaces {
		nr := &r.Namespaces[i]
		for j := range nr.ResourceRules {
			rule := nr.ResourceRules[j]
			nr.ResourceRules[j].RuleSource = source(e, nr.Namespace, rbacv1.PolicyRule{APIGroups: rule.APIGroups, Resources: rule.Resources, ResourceNames: rule.ResourceNames, Verbs: rule.Verbs}, explain)
		}
		for j := range nr.NonResourceRules {
			rule := nr.NonResourceRules[j]
			nr.NonResourceRules[j].RuleSource = source(e, nr.Namespace, rbacv1.PolicyRule{NonResourceURLs: rule.NonResourceURLs, Verbs: rule.Verbs}, explain)
		}
	}
}

// ExplainVerified sets the grants of every verified action the server
// allowed, in its namespace ("" asks only ClusterRoleBindings).
func ExplainVerified(actions []VerifiedAction, e *grant.Explainer) {
	for i := range actions {
		actions[i].Explain(e)
	}
}

// Explain sets the grants of v, as ExplainVerified does.
func (v *VerifiedAction) Explain(e *grant.Explainer) {
	if !v.Verified || !v.Allowed {
		return
	}
	a := grant.Access{Verb: v.Verb, Group: v.Group, Resource: v.Resource, Name: v.Name, URL: v.NonResourceURL}
	if v.Subresource != "" {
		a.Resource += "/" + v.Subresource
	}
	x := e.Explain(v.Namespace, []grant.Access{a})
	v.GrantedBy, v.GrantedElsewhere = x.Grants, x.Elsewhere
}

// explained reports whether ExplainVerified set where v comes from.
func (v VerifiedAction) explained() bool { return len(v.GrantedBy) > 0 || v.GrantedElsewhere }

// grantedBy is the GRANTED BY cell of an allowed verified action with
// --explain: its grants, or the label of a right granted elsewhere with
// the authorizer's reason.
func (v VerifiedAction) grantedBy() string {
	x := grant.Explanation{Grants: v.GrantedBy, Elsewhere: v.GrantedElsewhere}
	s := strings.Join(x.Strings(), ", ")
	if v.GrantedElsewhere && v.Reason != "" {
		s += ": " + oneLine(v.Reason)
	}
	return s
}
