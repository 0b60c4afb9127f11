package review

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-access/kubectl-access/pkg/grant"
	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

// The answers of SelfSubjectAccessReviews set beside the listed rules. A
// SelfSubjectRulesReview lists what RBAC grants; where the server marks it
// incomplete (a webhook or the Node authorizer decides too, as on GKE, EKS
// and AKS), only asking the server about each action tells the whole truth.

// VerifiedAction is the record of one verified action in one namespace.
type VerifiedAction struct {
	// Namespace is where the action was asked; "" for a cluster-scoped one.
	Namespace string `json:"namespace"`
	// Action is the action as ParseAction reads it, e.g. "create pods/exec".
	Action         string `json:"action"`
	Verb           string `json:"verb"`
	Group          string `json:"group,omitempty"`
	Resource       string `json:"resource,omitempty"`
	Subresource    string `json:"subresource,omitempty"`
	Name           string `json:"name,omitempty"`
	NonResourceURL string `json:"nonResourceURL,omitempty"`
	// Allowed is the server's answer; meaningless when Verified is false.
	Allowed bool `json:"allowed"`
	// Verified is false when no trustworthy answer came: the review failed,
	// or an authorizer failed while evaluating it (EvaluationError).
	Verified bool `json:"verified"`
	// CoveredByRules says the listed rules already grant the action; an
	// allowed action they do not cover is granted outside them.
	CoveredByRules bool `json:"coveredByRules"`
	// Reason is the authorizer's explanation, e.g. the webhook's.
	Reason          string `json:"reason,omitempty"`
	EvaluationError string `json:"evaluationError,omitempty"`
	Error           string `json:"error,omitempty"`
	// Checks are the risk checks the action realises; empty for a --check
	// action that is no risk.
	Checks []string `json:"checks,omitempty"`
	// Requested says the action was named with --check.
	Requested bool `json:"requested,omitempty"`
	// GrantedBy are the RBAC grants of an allowed action, with --explain.
	GrantedBy []grant.Grant `json:"grantedBy,omitempty"`
	// GrantedElsewhere says no RBAC object read grants the allowed action:
	// a webhook, the Node authorizer or another authorizer does, with
	// --explain.
	GrantedElsewhere bool `json:"grantedElsewhere,omitempty"`
}

// OutsideRules reports whether the server allows the action although no
// listed rule grants it.
func (v VerifiedAction) OutsideRules() bool { return v.Verified && v.Allowed && !v.CoveredByRules }

// RiskActions returns every action of every risk check, each once, in check
// order.
func RiskActions() []risk.Action {
	var out []risk.Action
	seen := map[risk.Action]bool{}
	for _, c := range risk.Checks() {
		for _, a := range c.Actions {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// checksOf maps each risk action to the IDs of the checks it realises.
func checksOf() map[risk.Action][]string {
	out := map[risk.Action][]string{}
	for _, c := range risk.Checks() {
		for _, a := range c.Actions {
			out[a] = append(out[a], c.ID)
		}
	}
	return out
}

// Verified sets the verifications beside the rules of results: whether the
// listed rules cover each action (a cluster-scoped action is covered when
// the rules of any namespace reviewed cover it), and which risk checks it
// realises. requested are the actions named with --check.
func Verified(results []NamespaceResult, verifications []Verification, requested []risk.Action) []VerifiedAction {
	byNS := map[string]NamespaceResult{}
	for _, r := range results {
		if r.Err == nil {
			byNS[r.Namespace] = r
		}
	}
	checks := checksOf()
	out := make([]VerifiedAction, 0, len(verifications))
	for _, v := range verifications {
		a := v.Action
		rec := VerifiedAction{
			Namespace: v.Namespace, Action: a.String(), Verb: a.Verb, Group: a.Group, Resource: a.Resource,
			Subresource: a.Subresource, Name: a.Name, NonResourceURL: a.NonResourceURL,
			Allowed: v.Allowed, Reason: v.Reason, EvaluationError: v.EvaluationError,
			Checks: checks[a], Requested: slices.Contains(requested, a),
		}
		rec.Verified = v.Err == nil && (v.Allowed || v.EvaluationError == "")
		if v.Err != nil {
			rec.Error = v.Err.Error()
		}
		if r, ok := byNS[v.Namespace]; ok {
			rec.CoveredByRules = risk.Covers(r.ResourceRules, r.NonResourceRules, a)
		} else if v.Namespace == "" {
			for _, r := range byNS {
				if risk.Covers(r.ResourceRules, r.NonResourceRules, a) {
					rec.CoveredByRules = true
					break
				}
			}
		}
		out = append(out, rec)
	}
	return out
}

// VerifiedRisks returns the risk checks held through actions the server
// allows outside the listed rules, and the verified actions that could not
// be verified although they realise a risk check.
func VerifiedRisks(actions []VerifiedAction) (held []VerifiedAction, unverified []VerifiedAction) {
	for _, v := range actions {
		if len(v.Checks) == 0 {
			continue
		}
		switch {
		case v.OutsideRules():
			held = append(held, v)
		case !v.Verified:
			unverified = append(unverified, v)
		}
	}
	return held, unverified
}

// PrintVerified prints the table of verified actions worth a row: every
// action named with --check, and every action allowed outside the listed
// rules or not verifiable.
func PrintVerified(out io.Writer, actions []VerifiedAction) error {
	var rows []VerifiedAction
	for _, v := range actions {
		if v.Requested || v.OutsideRules() || !v.Verified {
			rows = append(rows, v)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Action != rows[j].Action {
			return rows[i].Action < rows[j].Action
		}
		return rows[i].Namespace < rows[j].Namespace
	})
	fmt.Fprintln(out)
	w := printers.GetNewTabWriter(out)
	fmt.Fprintf(w, "VERIFIED ACTION\tNAMESPACE\tALLOWED\tGRANTED BY\tRISK\n")
	for _, v := range rows {
		ns := v.Namespace
		if ns == "" {
			ns = "(cluster)"
		}
		allowed, by := "no", "-"
		if v.Allowed && v.explained() {
			// The grants are the plugin's own words: never cut.
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", v.Action, ns, "yes", v.grantedBy(), strings.Join(v.Checks, ","))
			continue
		}
		switch {
		case !v.Verified:
			allowed, by = "unknown", "not verified: "+cmp.Or(v.Error, v.EvaluationError)
		case v.Allowed && v.CoveredByRules:
			allowed, by = "yes", "the listed rules"
		case v.Allowed:
			allowed, by = "yes", "outside the listed rules"
			if v.Reason != "" {
				by += ": " + v.Reason
			}
		case v.Reason != "":
			by = v.Reason
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", v.Action, ns, allowed, oneLine(by), strings.Join(v.Checks, ","))
	}
	return w.Flush()
}

// oneLine keeps a server's explanation on one table row.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}
