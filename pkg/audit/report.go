package audit

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"k8s.io/cli-runtime/pkg/printers"

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
	// Risky hold at least one risky right.
	Risky int `json:"risky"`
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
	// Unverified counts the risk actions that could not be verified.
	Unverified int `json:"unverified,omitempty"`
	// Rules are the account's reviews, with --rules.
	Rules []review.NamespaceRecord `json:"rules,omitempty"`
	Error string                   `json:"error,omitempty"`
}

// FindingRecord is one risk check an account holds.
type FindingRecord struct {
	Check  string `json:"check"`
	Reason string `json:"reason"`
	// Namespaces are where it holds, sorted; ClusterWide says it holds in
	// every namespace (granted cluster-wide, or a cluster-scoped right).
	Namespaces  []string `json:"namespaces,omitempty"`
	ClusterWide bool     `json:"clusterWide,omitempty"`
	// Sources are "rules" (a listed rule grants it) and "verified" (the
	// server allows an action no listed rule grants).
	Sources []string `json:"sources"`
}

// Risky reports whether the account holds a risky right.
func (a AccountRecord) Risky() bool { return len(a.Findings) > 0 }

// NewAccountRecord builds the record of one account's audit. A finding in
// a reviewed namespace where no RoleBinding applies to the account
// (Plan.RoleBindingNamespaces) comes from a ClusterRoleBinding, and is
// marked as holding in every namespace.
func NewAccountRecord(r Result, withRules bool) AccountRecord {
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
		if withRules {
			nr := review.NamespaceRecord{Namespace: res.Namespace, ResourceRules: res.ResourceRules, NonResourceRules: res.NonResourceRules, Incomplete: res.Incomplete, EvaluationError: res.EvaluationError}
			if res.Err != nil {
				nr.Error = res.Err.Error()
			}
			rec.Rules = append(rec.Rules, nr)
		}
	}
	byCheck := map[string]*FindingRecord{}
	find := func(id, reason string) *FindingRecord {
		f, ok := byCheck[id]
		if !ok {
			f = &FindingRecord{Check: id, Reason: reason}
			byCheck[id] = f
		}
		return f
	}
	addSource := func(f *FindingRecord, s string) {
		if !slices.Contains(f.Sources, s) {
			f.Sources = append(f.Sources, s)
		}
	}
	for _, rk := range r.Risks {
		f := find(rk.Finding.Check, rk.Finding.Reason)
		addSource(f, "rules")
		if !slices.Contains(r.RoleBindingNamespaces, rk.Namespace) {
			f.ClusterWide = true
		}
		f.Namespaces = append(f.Namespaces, rk.Namespace)
	}
	held, unverified := review.VerifiedRisks(r.Verified)
	rec.Unverified = len(unverified)
	reasons := checkReasons()
	for _, v := range held {
		for _, c := range v.Checks {
			f := find(c, reasons[c])
			addSource(f, "verified")
			if v.Namespace == "" {
				f.ClusterWide = true
			} else {
				f.Namespaces = append(f.Namespaces, v.Namespace)
			}
		}
	}
	for _, f := range byCheck {
		sort.Strings(f.Namespaces)
		f.Namespaces = slices.Compact(f.Namespaces)
		sort.Strings(f.Sources)
		rec.Findings = append(rec.Findings, *f)
	}
	order := checkOrder()
	slices.SortFunc(rec.Findings, func(a, b FindingRecord) int { return cmp.Compare(order[a.Check], order[b.Check]) })
	rec.Baseline = r.Err == nil && r.Baseline() && len(rec.Findings) == 0 && rec.Unverified == 0 && !allowedOutsideRules(r.Verified)
	return rec
}

// allowedOutsideRules reports whether the server allowed any verified
// action that no listed rule grants: then the account holds more than its
// bindings say.
func allowedOutsideRules(actions []review.VerifiedAction) bool {
	return slices.ContainsFunc(actions, review.VerifiedAction.OutsideRules)
}

// checkOrder ranks the risk checks in catalog order.
func checkOrder() map[string]int {
	out := map[string]int{}
	for i, c := range risk.Checks() {
		out[c.ID] = i
	}
	return out
}

// checkReasons maps each check to its reason.
func checkReasons() map[string]string {
	out := map[string]string{}
	for _, c := range risk.Checks() {
		out[c.ID] = c.Reason
	}
	return out
}

// NewClusterRecord builds the record of one cluster's audit: the accounts
// sorted with the riskiest first, and the counts.
func NewClusterRecord(results []Result, withRules bool) ClusterRecord {
	rec := ClusterRecord{Accounts: make([]AccountRecord, 0, len(results))}
	for _, r := range results {
		rec.Accounts = append(rec.Accounts, NewAccountRecord(r, withRules))
	}
	order := checkOrder()
	rank := func(a AccountRecord) int {
		if len(a.Findings) == 0 {
			return len(order) + 1
		}
		return order[a.Findings[0].Check]
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
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(clusterWide(b), clusterWide(a)), cmp.Compare(len(b.Findings), len(a.Findings)),
			strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	s := &rec.Summary
	s.Accounts = len(rec.Accounts)
	for _, a := range rec.Accounts {
		switch {
		case a.Risky():
			s.Risky++
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
	if c.Summary.Risky > 0 {
		w := printers.GetNewTabWriter(out)
		fmt.Fprintln(w, "SERVICE ACCOUNT\tRISK\tWHERE")
		for _, a := range c.Accounts {
			if !a.Risky() {
				continue
			}
			name := a.Namespace + "/" + a.Name
			if a.Default {
				name += " (default)"
			}
			for i, f := range a.Findings {
				if i > 0 {
					name = ""
				}
				fmt.Fprintf(w, "%s\t%s\t%s\n", name, f.Check, where(f))
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	s := c.Summary
	fmt.Fprintf(out, "%d service accounts: %d with risky rights, %d with other rights of their own, %d with nothing beyond the baseline", s.Accounts, s.Risky, s.Other, s.Baseline)
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

// where says where a finding holds, the way whoami's table does.
func where(f FindingRecord) string {
	if f.ClusterWide {
		return "every namespace"
	}
	return strings.Join(f.Namespaces, ", ")
}
