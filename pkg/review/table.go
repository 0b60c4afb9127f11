package review

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kubectl-access/kubectl-access/pkg/grant"
	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

// Row is one line of the compacted rules: verbs on one resource (with the
// same resource names) or on one non-resource URL, holding in the same
// namespaces.
type Row struct {
	// APIGroup and Resource name the resource ("" and "pods", "apps" and
	// "deployments", "*" and "*"); Resource is empty for a non-resource row.
	APIGroup string
	Resource string
	// NonResourceURL is set for a non-resource row.
	NonResourceURL string
	// ResourceNames limits the row to these names; empty means all names.
	ResourceNames []string
	// Verbs are the verbs allowed, sorted.
	Verbs []string
	// Namespaces are the reviewed namespaces where the row holds, sorted.
	Namespaces []string
	// Explanation is where the row comes from, in all its namespaces; nil
	// until Table.Explain.
	Explanation *grant.Explanation
}

// Rule returns the row as an RBAC rule.
func (r Row) Rule() rbacv1.PolicyRule {
	if r.Resource == "" {
		return rbacv1.PolicyRule{NonResourceURLs: []string{r.NonResourceURL}, Verbs: r.Verbs}
	}
	return rbacv1.PolicyRule{APIGroups: []string{r.APIGroup}, Resources: []string{r.Resource}, ResourceNames: r.ResourceNames, Verbs: r.Verbs}
}

// ResourceString names the resource the way kubectl auth can-i --list does:
// "pods", "deployments.apps", "*.*"; empty for a non-resource row.
func (r Row) ResourceString() string {
	if r.Resource == "" || r.APIGroup == "" {
		return r.Resource
	}
	return r.Resource + "." + r.APIGroup
}

// Table is the compacted rules of every namespace reviewed.
type Table struct {
	// Rows are sorted: resources by name, then non-resource URLs.
	Rows []Row
	// Reviewed are the namespaces whose review succeeded, sorted.
	Reviewed []string
	// Explained says Explain set every row's Explanation.
	Explained bool
}

// atom is one verb on one resource name of one resource, or one verb on one
// non-resource URL: what RBAC rules are unions of.
type atom struct {
	group, resource, name, url, verb string
}

// Compact breaks every rule of every reviewed namespace down to single verbs
// on single resources, finds the namespaces where each holds, and joins
// them again into rows: the verbs of a resource that hold in the same
// namespaces share a row, and so do resource names with the same verbs and
// namespaces. Namespaces that failed are left out.
func Compact(results []NamespaceResult) Table {
	// Where each atom holds, as indexes into results in increasing order:
	// with -A, hundreds of namespaces for each of a hundred atoms.
	where := map[atom][]int{}
	add := func(a atom, i int) {
		if in := where[a]; len(in) == 0 || in[len(in)-1] != i {
			where[a] = append(in, i)
		}
	}
	var t Table
	for i, res := range results {
		if res.Err != nil {
			continue
		}
		t.Reviewed = append(t.Reviewed, res.Namespace)
		for _, rule := range res.ResourceRules {
			names := rule.ResourceNames
			if len(names) == 0 {
				names = []string{""}
			}
			for _, g := range rule.APIGroups {
				for _, r := range rule.Resources {
					for _, n := range names {
						for _, v := range rule.Verbs {
							add(atom{group: g, resource: r, name: n, verb: v}, i)
						}
					}
				}
			}
		}
		for _, rule := range res.NonResourceRules {
			for _, u := range rule.NonResourceURLs {
				for _, v := range rule.Verbs {
					add(atom{url: u, verb: v}, i)
				}
			}
		}
	}
	sort.Strings(t.Reviewed)

	// Verbs of one resource name holding in the same namespaces.
	type nameKey struct {
		group, resource, name, url, namespaces string
	}
	verbs := map[nameKey][]string{}
	for a, in := range where {
		nss := make([]string, len(in))
		for j, i := range in {
			nss[j] = results[i].Namespace
		}
		slices.Sort(nss)
		k := nameKey{a.group, a.resource, a.name, a.url, strings.Join(slices.Compact(nss), ",")}
		verbs[k] = append(verbs[k], a.verb)
	}
	// Resource names with the same verbs and namespaces.
	type rowKey struct {
		group, resource, url, verbs, namespaces string
		named                                   bool
	}
	rows := map[rowKey]*Row{}
	for k, vs := range verbs {
		sort.Strings(vs)
		rk := rowKey{k.group, k.resource, k.url, strings.Join(vs, ","), k.namespaces, k.name != ""}
		row := rows[rk]
		if row == nil {
			row = &Row{APIGroup: k.group, Resource: k.resource, NonResourceURL: k.url, Verbs: vs, Namespaces: strings.Split(k.namespaces, ",")}
			rows[rk] = row
		}
		if k.name != "" {
			row.ResourceNames = append(row.ResourceNames, k.name)
		}
	}
	for _, row := range rows {
		sort.Strings(row.ResourceNames)
		t.Rows = append(t.Rows, *row)
	}
	sort.Slice(t.Rows, func(i, j int) bool { return rowLess(t.Rows[i], t.Rows[j]) })
	return t
}

// rowLess orders resource rows before non-resource rows, then by name,
// resource names, verbs and namespaces.
func rowLess(a, b Row) bool {
	if (a.Resource == "") != (b.Resource == "") {
		return a.Resource != ""
	}
	ka := []string{a.ResourceString(), a.NonResourceURL, strings.Join(a.ResourceNames, ","), strings.Join(a.Verbs, ","), strings.Join(a.Namespaces, ",")}
	kb := []string{b.ResourceString(), b.NonResourceURL, strings.Join(b.ResourceNames, ","), strings.Join(b.Verbs, ","), strings.Join(b.Namespaces, ",")}
	for i := range ka {
		if ka[i] != kb[i] {
			return ka[i] < kb[i]
		}
	}
	return false
}

// maxListed is how many namespaces Where names before it abbreviates.
const maxListed = 8

// Where says in words where row holds: the namespace when only one was
// reviewed, "all N reviewed namespaces", the list of namespaces, or, when
// that is shorter, "all N reviewed namespaces except ...". Long lists are
// cut; the structured output always has them all.
func (t Table) Where(row Row) string {
	n := len(t.Reviewed)
	switch {
	case len(row.Namespaces) == n && n == 1:
		return row.Namespaces[0]
	case len(row.Namespaces) == n:
		return fmt.Sprintf("all %d reviewed namespaces", n)
	}
	if len(row.Namespaces) > maxListed {
		in := map[string]bool{}
		for _, ns := range row.Namespaces {
			in[ns] = true
		}
		var except []string
		for _, ns := range t.Reviewed {
			if !in[ns] {
				except = append(except, ns)
			}
		}
		if len(except) <= maxListed {
			return fmt.Sprintf("all %d reviewed namespaces except %s", n, strings.Join(except, ", "))
		}
		return fmt.Sprintf("%s and %d more", strings.Join(row.Namespaces[:maxListed], ", "), len(row.Namespaces)-maxListed)
	}
	return strings.Join(row.Namespaces, ", ")
}

// Risk is a rule of a namespace that fails a risk check.
type Risk struct {
	// Namespace is where the rule holds.
	Namespace string
	// Rule is the rule as the server listed it.
	Rule rbacv1.PolicyRule
	// Finding is the check it fails, how severe that is there, and why
	// that is dangerous.
	Finding risk.Finding
	// Accepted is the exception that accepts the finding; nil when none
	// does (Accept).
	Accepted *risk.Exception
}

// Risks assesses the rules of every reviewed namespace, each namespace's
// rules together (a combination check needs two of them), in namespace
// order then rule order. Namespaces with the same rules, and no weight of
// their own (risk.WeightedNamespaces), are assessed once: with -A most
// namespaces hold only what ClusterRoleBindings grant.
func Risks(results []NamespaceResult) []Risk {
	var out []Risk
	weighted := risk.WeightedNamespaces()
	memo := map[string][]risk.Finding{}
	for _, res := range results {
		if res.Err != nil {
			continue
		}
		rules := make([]rbacv1.PolicyRule, 0, len(res.ResourceRules)+len(res.NonResourceRules))
		var key strings.Builder
		if slices.Contains(weighted, res.Namespace) {
			key.WriteString(res.Namespace)
		}
		key.WriteByte(0)
		for _, r := range res.ResourceRules {
			rules = append(rules, rbacv1.PolicyRule{APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames, Verbs: r.Verbs})
			writeKey(&key, r.APIGroups, r.Resources, r.ResourceNames, r.Verbs)
		}
		key.WriteByte(0)
		for _, r := range res.NonResourceRules {
			rules = append(rules, rbacv1.PolicyRule{NonResourceURLs: r.NonResourceURLs, Verbs: r.Verbs})
			writeKey(&key, r.NonResourceURLs, r.Verbs)
		}
		findings, ok := memo[key.String()]
		if !ok {
			findings = risk.Assess(res.Namespace, rules)
			memo[key.String()] = findings
		}
		for _, f := range findings {
			out = append(out, Risk{Namespace: res.Namespace, Rule: rules[f.Rule], Finding: f})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Namespace < out[j].Namespace })
	return out
}

// writeKey writes lists of strings to b so that different lists never
// write the same: each string and each list is preceded by its length. A
// rule written into a role can hold any string.
func writeKey(b *strings.Builder, lists ...[]string) {
	for _, l := range lists {
		b.WriteString(strconv.Itoa(len(l)))
		b.WriteByte(':')
		for _, s := range l {
			b.WriteString(strconv.Itoa(len(s)))
			b.WriteByte(':')
			b.WriteString(s)
		}
	}
}

// Accept marks the risks and the risks of verified actions that one of
// exceptions accepts. An accepted finding is still reported, with the
// exception's reason; it no longer counts against a threshold.
func Accept(risks []Risk, verified []VerifiedAction, exceptions risk.Exceptions) {
	for i := range risks {
		if e, ok := exceptions.Accepting(risks[i].Finding.Check, risks[i].Namespace); ok {
			risks[i].Accepted = &e
		}
	}
	for i := range verified {
		verified[i].Accept(exceptions)
	}
}

// Accept marks the risks of v that one of exceptions accepts, as Accept
// does.
func (v *VerifiedAction) Accept(exceptions risk.Exceptions) {
	for j := range v.Risks {
		r := &v.Risks[j]
		if e, ok := exceptions.Accepting(r.Check, v.Namespace); ok {
			r.Accepted, r.AcceptedReason = true, e.Reason
		}
	}
}

// Counts reports whether the risk fails a run whose threshold is
// threshold (0: every severity): not accepted, and at least that severe.
func (r Risk) Counts(threshold risk.Severity) bool {
	return r.Accepted == nil && r.Finding.Severity >= threshold
}

// rowRisk is what the RISK column says of one check on one row.
type rowRisk struct {
	check    string
	severity risk.Severity
	// accepted is true when an exception accepts the check in every
	// namespace the row holds in; severity is then the highest of them.
	accepted bool
}

// String is "check(severity)" or "check(severity, accepted)".
func (r rowRisk) String() string {
	if r.accepted {
		return fmt.Sprintf("%s(%s, accepted)", r.check, r.severity)
	}
	return fmt.Sprintf("%s(%s)", r.check, r.severity)
}

// rowRisks grades the rows the way Risks grades the listed rules: the rows
// holding in a namespace are that namespace's rules, assessed together and
// weighed there. A row holding in several namespaces shows, per check, the
// highest severity not accepted (or, when every one is accepted, the
// highest). Namespaces with the same rows, and no weight of their own, are
// assessed once.
func rowRisks(t Table, exceptions risk.Exceptions) [][]rowRisk {
	weighted := risk.WeightedNamespaces()
	type grade struct {
		severity, open risk.Severity
		acceptedAll    bool
	}
	grades := make([]map[string]*grade, len(t.Rows))
	memo := map[string][]risk.Finding{}
	// rowsIn are the rows holding in each namespace, in row order.
	rowsIn := map[string][]int{}
	for i, row := range t.Rows {
		for _, ns := range row.Namespaces {
			rowsIn[ns] = append(rowsIn[ns], i)
		}
	}
	for _, ns := range t.Reviewed {
		idx := rowsIn[ns]
		var key strings.Builder
		for _, i := range idx {
			key.WriteString(strconv.Itoa(i))
			key.WriteByte(',')
		}
		assessIn := ""
		if slices.Contains(weighted, ns) {
			assessIn = ns
			key.WriteString(ns)
		}
		findings, ok := memo[key.String()]
		if !ok {
			rules := make([]rbacv1.PolicyRule, len(idx))
			for j, i := range idx {
				rules[j] = t.Rows[i].Rule()
			}
			findings = risk.Assess(assessIn, rules)
			memo[key.String()] = findings
		}
		for _, f := range findings {
			i := idx[f.Rule]
			if grades[i] == nil {
				grades[i] = map[string]*grade{}
			}
			g := grades[i][f.Check]
			if g == nil {
				g = &grade{acceptedAll: true}
				grades[i][f.Check] = g
			}
			g.severity = max(g.severity, f.Severity)
			if _, accepted := exceptions.Accepting(f.Check, ns); !accepted {
				g.acceptedAll = false
				g.open = max(g.open, f.Severity)
			}
		}
	}
	out := make([][]rowRisk, len(t.Rows))
	for i := range t.Rows {
		for _, id := range risk.IDs() {
			g := grades[i][id]
			switch {
			case g == nil:
			case g.acceptedAll:
				out[i] = append(out[i], rowRisk{check: id, severity: g.severity, accepted: true})
			default:
				out[i] = append(out[i], rowRisk{check: id, severity: g.open})
			}
		}
	}
	return out
}
