package audit

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-access/kubectl-access/pkg/grant"
	"github.com/kubectl-access/kubectl-access/pkg/review"
	"github.com/kubectl-access/kubectl-access/pkg/risk"
	"github.com/kubectl-access/kubectl-access/pkg/version"
)

// RecordKind is the kind of the -o json|yaml record of audit.
const RecordKind = "AccessAudit"

// Record is what `kubectl access audit -o json|yaml` prints: one entry per
// cluster (kubeconfig context) audited.
type Record struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Clusters   []ClusterRecord `json:"clusters"`
}

// NewRecord returns an empty record of the current version.
func NewRecord() Record {
	return Record{APIVersion: version.RecordAPIVersion, Kind: RecordKind, Clusters: []ClusterRecord{}}
}

// ClusterRecord is the audit of one cluster.
type ClusterRecord struct {
	// Context is the kubeconfig context; "" for the current one.
	Context string `json:"context,omitempty"`
	// Server is the API server's URL.
	Server  string  `json:"server,omitempty"`
	Summary Summary `json:"summary"`
	// Accounts are every account audited (or not), sorted by severity,
	// then namespace and name.
	Accounts []AccountRecord `json:"accounts"`
	// MissingNamespaces are namespaces asked for that do not exist.
	MissingNamespaces []string `json:"missingNamespaces,omitempty"`
	// Error says why the cluster was not audited, or why its audit stopped.
	Error string `json:"error,omitempty"`
}

// Summary counts the accounts of a cluster.
type Summary struct {
	Accounts int `json:"accounts"`
	// Risky hold at least one risky right no exception accepts.
	Risky int `json:"risky"`
	// Accepted hold risky rights, every one accepted by an exception.
	Accepted int `json:"accepted"`
	// Baseline hold nothing beyond what RBAC grants every service account.
	Baseline int `json:"baseline"`
	// Other hold rules of their own, none of them risky.
	Other int `json:"other"`
	// DefaultBeyondBaseline are "default" accounts that hold more than the
	// baseline: every pod that names no service account gets those rights.
	DefaultBeyondBaseline int `json:"defaultBeyondBaseline"`
	// NotAudited could not be (fully) audited; see their errors.
	NotAudited int `json:"notAudited"`
	// Requests is the number of requests the audit sent.
	Requests int64 `json:"requests"`
}

// AccountRecord is the audit of one service account.
type AccountRecord struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Default marks a namespace's "default" account.
	Default bool `json:"default"`
	// Audited is false when the account's token could not be obtained or a
	// review failed; Error says why. Findings of the reviews that did
	// succeed are kept.
	Audited bool `json:"audited"`
	// Baseline says RBAC grants the account nothing beyond what it grants
	// every service account, and no risky action is allowed outside the
	// rules.
	Baseline bool `json:"baseline"`
	// Findings are the risk checks the account holds, sorted.
	Findings []FindingRecord `json:"findings"`
	// Bindings are the bindings that apply to the account itself or to its
	// namespace's group (the ones every account shares are left out).
	Bindings []Binding `json:"bindings"`
	// ReviewedNamespaces are the namespaces reviewed as the account.
	ReviewedNamespaces []string `json:"reviewedNamespaces"`
	// Incomplete says the server marked a review incomplete (a webhook
	// authorizer decides too); the risk actions were then verified.
	Incomplete bool `json:"incomplete,omitempty"`
	// Severity is the highest severity of the findings no exception
	// accepts; absent when there is none.
	Severity risk.Severity `json:"severity,omitempty"`
	// Unverified counts the risk actions that could not be verified, and
	// UnverifiedSeverity is the highest severity among them.
	Unverified         int           `json:"unverified,omitempty"`
	UnverifiedSeverity risk.Severity `json:"unverifiedSeverity,omitempty"`
	// Rules are the account's reviews, with --rules.
	Rules []review.NamespaceRecord `json:"rules,omitempty"`
	Error string                   `json:"error,omitempty"`
}

// FindingRecord is one risk check an account holds.
type FindingRecord struct {
	Check string `json:"check"`
	// Severity is the highest of the check's findings that no exception
	// accepts (of all of them when every one is accepted), weighted as in
	// whoami (kube-system, resourceNames).
	Severity risk.Severity `json:"severity"`
	// Accepted says an exception accepts every finding of the check:
	// reported, not counted by --fail-on-risk.
	Accepted       bool   `json:"accepted,omitempty"`
	AcceptedReason string `json:"acceptedReason,omitempty"`
	Reason         string `json:"reason"`
	// Namespaces are where it holds, sorted; ClusterWide says it holds in
	// every namespace (granted cluster-wide, or a cluster-scoped right).
	Namespaces  []string `json:"namespaces,omitempty"`
	ClusterWide bool     `json:"clusterWide,omitempty"`
	// Sources are "rules" (a listed rule grants it) and "verified" (the
	// server allows an action no listed rule grants).
	Sources []string `json:"sources"`
	// GrantedBy names the bindings and roles that grant it, with
	// --explain; GrantedElsewhere says some part is granted by no RBAC
	// object (a webhook, the Node authorizer).
	GrantedBy        []string `json:"grantedBy,omitempty"`
	GrantedElsewhere bool     `json:"grantedElsewhere,omitempty"`
}

// Risky reports whether the account holds a risky right no exception
// accepts.
func (a AccountRecord) Risky() bool { return a.Severity > 0 }

// RecordOptions say what the records hold.
type RecordOptions struct {
	// Rules keeps every account's reviews.
	Rules bool
	// Exceptions accept findings (filtered per account).
	Exceptions risk.Exceptions
	// RBAC, when set (--explain), names the grants of each finding.
	RBAC *grant.Objects
}

// NewAccountRecord builds the record of one account's audit. A finding in
// a reviewed namespace where no RoleBinding applies to the account
// (Plan.RoleBindingNamespaces) comes from a ClusterRoleBinding, and is
// marked as holding in every namespace.
func NewAccountRecord(r Result, opts RecordOptions) AccountRecord {
	rec := AccountRecord{
		Namespace: r.Namespace, Name: r.Name, Default: r.IsDefault(),
		Audited: r.Err == nil, Bindings: append([]Binding{}, r.Bindings...),
		ReviewedNamespaces: []string{}, Incomplete: r.Incomplete, Findings: []FindingRecord{},
	}
	if r.Err != nil {
		rec.Error = r.Err.Error()
	}
	for _, res := range r.Results {
		if res.Err == nil {
			rec.ReviewedNamespaces = append(rec.ReviewedNamespaces, res.Namespace)
		}
		if opts.Rules {
			rec.Rules = append(rec.Rules, review.NewNamespaceRecord(res))
		}
	}
	exceptions := opts.Exceptions.For(r.Username())
	risks := slices.Clone(r.Risks)
	verified := slices.Clone(r.Verified)
	for i := range verified {
		verified[i].Risks = slices.Clone(verified[i].Risks)
	}
	review.Accept(risks, verified, exceptions)
	var explainer *grant.Explainer
	if opts.RBAC != nil {
		explainer = grant.NewExplainer(opts.RBAC, grant.ServiceAccount(r.Namespace, r.Name))
		review.ExplainVerified(verified, explainer)
	}

	byCheck := map[string]*FindingRecord{}
	grants := map[string]map[string]bool{}
	// all and open are each check's highest severity, of every finding and
	// of those no exception accepts.
	all, open := map[string]risk.Severity{}, map[string]risk.Severity{}
	find := func(id, reason string) *FindingRecord {
		f, ok := byCheck[id]
		if !ok {
			f = &FindingRecord{Check: id, Reason: reason, Accepted: true}
			byCheck[id] = f
			grants[id] = map[string]bool{}
		}
		return f
	}
	// grade counts one finding of f: its severity, and whether an
	// exception accepts it.
	grade := func(f *FindingRecord, severity risk.Severity, accepted *risk.Exception) {
		all[f.Check] = max(all[f.Check], severity)
		if accepted == nil {
			f.Accepted = false
			open[f.Check] = max(open[f.Check], severity)
		} else if f.AcceptedReason == "" {
			f.AcceptedReason = accepted.Reason
		}
	}
	addSource := func(f *FindingRecord, s string) {
		if !slices.Contains(f.Sources, s) {
			f.Sources = append(f.Sources, s)
		}
	}
	for _, rk := range risks {
		f := find(rk.Finding.Check, rk.Finding.Reason)
		addSource(f, "rules")
		grade(f, rk.Finding.Severity, rk.Accepted)
		if !slices.Contains(r.RoleBindingNamespaces, rk.Namespace) {
			f.ClusterWide = true
		}
		f.Namespaces = append(f.Namespaces, rk.Namespace)
		if explainer != nil {
			x := explainer.Explain(rk.Namespace, grant.Accesses(rk.Rule))
			for _, g := range x.Strings() {
				grants[f.Check][g] = true
			}
			f.GrantedElsewhere = f.GrantedElsewhere || x.Elsewhere
		}
	}
	reasons := checkReasons()
	for _, v := range verified {
		for _, vr := range v.Risks {
			// As review.VerifiedRisks judges them, accepted ones included:
			// unverified when the review failed, or when this half of a
			// combination is allowed and the other could not be verified.
			if !v.Verified || vr.PartnerUnverified && v.Allowed {
				rec.Unverified++
				if !vr.Accepted {
					rec.UnverifiedSeverity = max(rec.UnverifiedSeverity, vr.Severity)
				}
				continue
			}
			if vr.PartnerUnverified || !v.OutsideRules() {
				continue
			}
			f := find(vr.Check, reasons[vr.Check])
			addSource(f, "verified")
			var accepted *risk.Exception
			if vr.Accepted {
				accepted = &risk.Exception{Check: vr.Check, Reason: vr.AcceptedReason}
			}
			grade(f, vr.Severity, accepted)
			if v.Namespace == "" {
				f.ClusterWide = true
			} else {
				f.Namespaces = append(f.Namespaces, v.Namespace)
			}
			if explainer != nil {
				x := grant.Explanation{Grants: v.GrantedBy, Elsewhere: v.GrantedElsewhere}
				for _, g := range x.Strings() {
					grants[f.Check][g] = true
				}
				f.GrantedElsewhere = f.GrantedElsewhere || v.GrantedElsewhere
			}
		}
	}
	for id, f := range byCheck {
		sort.Strings(f.Namespaces)
		f.Namespaces = slices.Compact(f.Namespaces)
		sort.Strings(f.Sources)
		if explainer != nil {
			f.GrantedBy = sortedKeys(grants[id])
		}
		f.Severity = open[id]
		if f.Accepted {
			f.Severity = all[id]
		} else {
			f.AcceptedReason = ""
		}
		rec.Severity = max(rec.Severity, open[id])
		rec.Findings = append(rec.Findings, *f)
	}
	order := checkOrder()
	accepted := func(f FindingRecord) int {
		if f.Accepted {
			return 1
		}
		return 0
	}
	slices.SortFunc(rec.Findings, func(a, b FindingRecord) int {
		return cmp.Or(cmp.Compare(accepted(a), accepted(b)), cmp.Compare(b.Severity, a.Severity), cmp.Compare(order[a.Check], order[b.Check]))
	})
	rec.Baseline = r.Err == nil && r.Baseline() && len(rec.Findings) == 0 && rec.Unverified == 0 && !allowedOutsideRules(r.Verified)
	return rec
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// allowedOutsideRules reports whether the server allowed any verified
// action that no listed rule grants: then the account holds more than its
// bindings say.
func allowedOutsideRules(actions []review.VerifiedAction) bool {
	return slices.ContainsFunc(actions, review.VerifiedAction.OutsideRules)
}

// checkOrder ranks the risk checks in catalog order. Like checkReasons it
// is built once, on first use: every account's record asks, and building
// them per account (a copy of the catalog each) was most of what an audit
// of 2,000 accounts allocated while it made its report.
var checkOrder = sync.OnceValue(func() map[string]int {
	out := map[string]int{}
	for i, c := range risk.Checks() {
		out[c.ID] = i
	}
	return out
})

// checkReasons maps each check to its reason; read only, as checkOrder.
var checkReasons = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	for _, c := range risk.Checks() {
		out[c.ID] = c.Reason
	}
	return out
})

// NewClusterRecord builds the record of one cluster's audit: the accounts
// sorted with the riskiest first, and the counts.
func NewClusterRecord(results []Result, opts RecordOptions) ClusterRecord {
	rec := ClusterRecord{Accounts: make([]AccountRecord, 0, len(results))}
	for _, r := range results {
		rec.Accounts = append(rec.Accounts, NewAccountRecord(r, opts))
	}
	order := checkOrder()
	// rank orders by the gravest open finding, then by the catalog order
	// of the first check.
	rank := func(a AccountRecord) int {
		if len(a.Findings) == 0 {
			return 0
		}
		return int(a.Severity)*1000 - order[a.Findings[0].Check]
	}
	clusterWide := func(a AccountRecord) int {
		n := 0
		for _, f := range a.Findings {
			if f.ClusterWide {
				n++
			}
		}
		return n
	}
	// The riskiest first: by the gravest check held, then by how many
	// checks hold in every namespace, then by how many checks in all.
	slices.SortStableFunc(rec.Accounts, func(a, b AccountRecord) int {
		return cmp.Or(cmp.Compare(rank(b), rank(a)), cmp.Compare(clusterWide(b), clusterWide(a)), cmp.Compare(len(b.Findings), len(a.Findings)),
			strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	s := &rec.Summary
	s.Accounts = len(rec.Accounts)
	for _, a := range rec.Accounts {
		switch {
		case a.Risky():
			s.Risky++
		case len(a.Findings) > 0:
			s.Accepted++
		case a.Baseline:
			s.Baseline++
		case a.Audited:
			s.Other++
		}
		if !a.Audited {
			s.NotAudited++
		}
		if a.Default && a.Audited && !a.Baseline {
			s.DefaultBeyondBaseline++
		}
	}
	return rec
}

// PrintCluster prints one cluster's audit for humans: a table of the
// accounts that hold risky rights, riskiest first, and one line each for
// the others, counted.
func PrintCluster(out io.Writer, c ClusterRecord) error {
	if c.Context != "" {
		fmt.Fprintf(out, "Context %s (%s)\n", c.Context, c.Server)
	}
	if c.Error != "" && len(c.Accounts) == 0 {
		_, err := fmt.Fprintf(out, "not audited: %s\n", c.Error)
		return err
	}
	if len(c.Accounts) == 0 {
		_, err := fmt.Fprintln(out, "no service accounts in scope")
		return err
	}
	shown := slices.ContainsFunc(c.Accounts, func(a AccountRecord) bool { return len(a.Findings) > 0 })
	if shown {
		explained := slices.ContainsFunc(c.Accounts, func(a AccountRecord) bool {
			return slices.ContainsFunc(a.Findings, func(f FindingRecord) bool { return len(f.GrantedBy) > 0 || f.GrantedElsewhere })
		})
		w := printers.GetNewTabWriter(out)
		header := "SERVICE ACCOUNT\tSEVERITY\tRISK\tWHERE"
		if explained {
			header += "\tGRANTED BY"
		}
		fmt.Fprintln(w, header)
		for _, a := range c.Accounts {
			if len(a.Findings) == 0 {
				continue
			}
			name := a.Namespace + "/" + a.Name
			if a.Default {
				name += " (default)"
			}
			severity := a.Severity.String()
			if a.Severity == 0 {
				severity = "accepted"
			}
			for i, f := range a.Findings {
				if i > 0 {
					name, severity = "", ""
				}
				row := fmt.Sprintf("%s\t%s\t%s\t%s", name, severity, findingCell(f), where(f))
				if explained {
					row += "\t" + grantedBy(f)
				}
				fmt.Fprintln(w, row)
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	s := c.Summary
	fmt.Fprintf(out, "%d service accounts: %d with risky rights, %d with other rights of their own, %d with nothing beyond the baseline", s.Accounts, s.Risky, s.Other, s.Baseline)
	if s.Accepted > 0 {
		fmt.Fprintf(out, ", %d with accepted risky rights only", s.Accepted)
	}
	if s.NotAudited > 0 {
		fmt.Fprintf(out, ", %d not audited", s.NotAudited)
	}
	fmt.Fprintln(out)
	var defaults []string
	for _, a := range c.Accounts {
		if a.Default && a.Audited && !a.Baseline {
			defaults = append(defaults, a.Namespace+"/"+a.Name)
		}
	}
	if len(defaults) > 0 {
		sort.Strings(defaults)
		fmt.Fprintf(out, "default service accounts with rights beyond the baseline (every pod that names no service account has them): %s\n", strings.Join(defaults, ", "))
	}
	_, err := fmt.Fprint(out)
	return err
}

// findingCell is "check(severity)" or "check(severity, accepted)", as in
// whoami's RISK column.
func findingCell(f FindingRecord) string {
	if f.Accepted {
		return fmt.Sprintf("%s(%s, accepted)", f.Check, f.Severity)
	}
	return fmt.Sprintf("%s(%s)", f.Check, f.Severity)
}

// grantedBy is the GRANTED BY cell of a finding with --explain.
func grantedBy(f FindingRecord) string {
	g := slices.Clone(f.GrantedBy)
	if f.GrantedElsewhere {
		g = append(g, "granted elsewhere (webhook, Node authorizer or other)")
	}
	return strings.Join(g, ", ")
}

// where says where a finding holds, the way whoami's table does.
func where(f FindingRecord) string {
	if f.ClusterWide {
		return "every namespace"
	}
	return strings.Join(f.Namespaces, ", ")
}
