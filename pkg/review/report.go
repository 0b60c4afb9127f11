package review

import (
	"cmp"
	"fmt"
	"io"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/rest"

	"github.com/kubectl-access/kubectl-access/pkg/risk"
	"github.com/kubectl-access/kubectl-access/pkg/version"
)

// The -o json|yaml record of whoami, and its human table.

// RecordKind is the kind of the -o json|yaml record of whoami.
const RecordKind = "WhoAmI"

// Record is what `kubectl access whoami -o json|yaml` prints.
type Record struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// User is who the subject is.
	User UserRecord `json:"user"`
	// IdentitySource is SelfSubjectReview or TokenClaims.
	IdentitySource string `json:"identitySource"`
	// Namespaces holds one entry per namespace reviewed, sorted.
	Namespaces []NamespaceRecord `json:"namespaces"`
	// Risks lists every rule that fails a risk check.
	Risks []RiskRecord `json:"risks"`
	// VerifiedActions are the SelfSubjectAccessReview answers, when actions
	// were verified (an incomplete review, --verify or --check).
	VerifiedActions []VerifiedAction `json:"verifiedActions,omitempty"`
	// RBACNote says why no rule is marked baseline or explained: the RBAC
	// objects could not be read with the caller's credentials.
	RBACNote string `json:"rbacNote,omitempty"`
}

// UserRecord is the identity of the subject.
type UserRecord struct {
	Username string              `json:"username"`
	UID      string              `json:"uid"`
	Groups   []string            `json:"groups"`
	Extra    map[string][]string `json:"extra"`
}

// NamespaceRecord is the SelfSubjectRulesReview status of one namespace,
// or the error that kept it from being reviewed.
type NamespaceRecord struct {
	Namespace        string                  `json:"namespace"`
	ResourceRules    []ResourceRuleRecord    `json:"resourceRules"`
	NonResourceRules []NonResourceRuleRecord `json:"nonResourceRules"`
	Incomplete       bool                    `json:"incomplete"`
	EvaluationError  string                  `json:"evaluationError"`
	// Error is set when the namespace was not reviewed.
	Error string `json:"error,omitempty"`
}

// RiskRecord is a rule of a namespace that fails a risk check.
type RiskRecord struct {
	Namespace string            `json:"namespace"`
	Rule      rbacv1.PolicyRule `json:"rule"`
	Check     string            `json:"check"`
	// Severity is the check's severity weighted by the namespace and the
	// rule's resourceNames, SeverityNote why it differs from the check's.
	Severity     risk.Severity `json:"severity"`
	SeverityNote string        `json:"severityNote,omitempty"`
	Reason       string        `json:"reason"`
	// Accepted says an exception accepts the finding, for AcceptedReason:
	// it is reported, and does not fail --fail-on-risk.
	Accepted       bool   `json:"accepted,omitempty"`
	AcceptedReason string `json:"acceptedReason,omitempty"`
}

// NewNamespaceRecord is the record of one namespace's review (whoami's,
// and each account's in audit --rules); lists are never null.
func NewNamespaceRecord(r NamespaceResult) NamespaceRecord {
	nr := NamespaceRecord{
		Namespace:        r.Namespace,
		ResourceRules:    []ResourceRuleRecord{},
		NonResourceRules: []NonResourceRuleRecord{},
		Incomplete:       r.Incomplete,
		EvaluationError:  r.EvaluationError,
	}
	for _, rule := range r.ResourceRules {
		nr.ResourceRules = append(nr.ResourceRules, ResourceRuleRecord{ResourceRule: rule})
	}
	for _, rule := range r.NonResourceRules {
		nr.NonResourceRules = append(nr.NonResourceRules, NonResourceRuleRecord{NonResourceRule: rule})
	}
	if r.Err != nil {
		nr.Error = r.Err.Error()
	}
	return nr
}

// NewRecord builds the -o json|yaml record; lists are never null.
func NewRecord(id *Identity, results []NamespaceResult, risks []Risk) Record {
	rec := Record{
		APIVersion: version.RecordAPIVersion,
		Kind:       RecordKind,
		User: UserRecord{
			Username: id.User.Username,
			UID:      id.User.UID,
			Groups:   append([]string{}, id.User.Groups...),
			Extra:    map[string][]string{},
		},
		IdentitySource: string(id.Source),
		Namespaces:     []NamespaceRecord{},
		Risks:          []RiskRecord{},
	}
	for k, v := range id.User.Extra {
		rec.User.Extra[k] = append([]string{}, v...)
	}
	for _, r := range results {
		rec.Namespaces = append(rec.Namespaces, NewNamespaceRecord(r))
	}
	for _, r := range risks {
		rr := RiskRecord{
			Namespace: r.Namespace, Rule: r.Rule, Check: r.Finding.Check,
			Severity: r.Finding.Severity, SeverityNote: r.Finding.SeverityNote, Reason: r.Finding.Reason,
		}
		if r.Accepted != nil {
			rr.Accepted, rr.AcceptedReason = true, r.Accepted.Reason
		}
		rec.Risks = append(rec.Risks, rr)
	}
	return rec
}

// PrintWhoami prints the identity, the table of rules with where each holds
// and its risks with their severities, what each risk means, and the
// findings exceptions accept. How the rows are shown (the baseline folded
// or listed, the grants of each) and which exceptions apply is view's.
func PrintWhoami(out io.Writer, id *Identity, table Table, view View) error {
	w := printers.GetNewTabWriter(out)
	fmt.Fprintf(w, "ATTRIBUTE\tVALUE\n")
	fmt.Fprintf(w, "Username\t%s\n", id.User.Username)
	if id.User.UID != "" {
		fmt.Fprintf(w, "UID\t%s\n", id.User.UID)
	}
	fmt.Fprintf(w, "Groups\t%v\n", id.User.Groups)
	for _, k := range ExtraKeys(id.User.Extra) {
		fmt.Fprintf(w, "Extra: %s\t%v\n", k, []string(id.User.Extra[k]))
	}
	source := string(id.Source) + " (" + id.APIVersion + ")"
	if id.Source == SourceTokenClaims {
		source = string(id.Source) + " (not verified by the server)"
	}
	fmt.Fprintf(w, "Source\t%s\n", source)
	if err := w.Flush(); err != nil {
		return err
	}
	if len(table.Reviewed) == 0 {
		return nil
	}

	graded := rowRisks(table, view.Exceptions)
	rows, folded := view.rows(table.Rows, graded)
	fmt.Fprintln(out)
	switch {
	case len(rows) > 0 || len(folded) == 0:
	case view.Incomplete:
		fmt.Fprintf(out, "%s holds no listed rule beyond the baseline; the server says the list may be incomplete.\n", id.User.Username)
	default:
		fmt.Fprintf(out, "%s holds nothing beyond the baseline.\n", id.User.Username)
	}
	used := map[string]bool{}
	weighted := false
	if len(rows) > 0 {
		w = printers.GetNewTabWriter(out)
		fmt.Fprintf(w, "RESOURCES\tNON-RESOURCE URLS\tRESOURCE NAMES\tVERBS\tWHERE\tRISK%s\n", view.headers(table))
		for _, i := range rows {
			row := table.Rows[i]
			var checks []string
			for _, r := range graded[i] {
				checks = append(checks, r.String())
				used[r.check] = true
				if c, _ := risk.Lookup(r.check); c.Severity != r.severity {
					weighted = true
				}
			}
			urls := []string{}
			if row.NonResourceURL != "" {
				urls = append(urls, row.NonResourceURL)
			}
			names := row.ResourceNames
			if names == nil {
				names = []string{}
			}
			fmt.Fprintf(w, "%s\t%v\t%v\t%v\t%s\t%s%s\n", row.ResourceString(), urls, names, row.Verbs, table.Where(row), strings.Join(checks, ","), view.cells(table, row))
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	printFolded(out, folded, id.User.Groups)
	if len(used) == 0 {
		return nil
	}
	fmt.Fprintln(out)
	w = printers.GetNewTabWriter(out)
	fmt.Fprintf(w, "RISK\tSEVERITY\tREASON\n")
	for _, c := range risk.Checks() {
		if used[c.ID] {
			fmt.Fprintf(w, "%s\t%s\t%s\n", c.ID, c.Severity, c.Reason)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if weighted {
		fmt.Fprintln(out, "A rule's severity differs from its check's when the rule holds in kube-system (raised) or is narrowed by resourceNames (lowered); -o json says why (severityNote).")
	}
	return printAccepted(out, view.Exceptions, used)
}

// printAccepted lists the exceptions that accept a check found, with their
// reasons: an accepted finding is marked, never hidden.
func printAccepted(out io.Writer, exceptions risk.Exceptions, used map[string]bool) error {
	var rows []risk.Exception
	for _, e := range exceptions {
		if used[e.Check] {
			rows = append(rows, e)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(out)
	w := printers.GetNewTabWriter(out)
	fmt.Fprintf(w, "ACCEPTED\tNAMESPACE\tREASON\n")
	for _, e := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\n", e.Check, cmp.Or(e.Namespace, "(all)"), oneLine(e.Reason))
	}
	return w.Flush()
}

// RiskChecks returns the IDs of the checks risks fail at or above
// threshold (0: every severity) and no exception accepts, in check order.
func RiskChecks(risks []Risk, threshold risk.Severity) []string {
	found := map[string]bool{}
	for _, r := range risks {
		if r.Counts(threshold) {
			found[r.Finding.Check] = true
		}
	}
	var ids []string
	for _, c := range risk.Checks() {
		if found[c.ID] {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// FanOutConfig raises the client-side rate limit of base for a fan-out of
// concurrency requests in flight: client-go's default of 5 requests per
// second would make a review of hundreds of namespaces take minutes. The
// load is bounded by the concurrency; the rate limit only guards against a
// server that answers implausibly fast (docs/benchmarks.md has the
// measurements). The server's own throttling (429 with Retry-After, from API
// Priority and Fairness) is honoured, with the wait capped (pkg/transport).
func FanOutConfig(base *rest.Config, concurrency int) *rest.Config {
	cfg := rest.CopyConfig(base)
	qps := max(100, 25*concurrency)
	cfg.QPS = float32(qps)
	cfg.Burst = qps
	cfg.RateLimiter = nil
	return cfg
}
