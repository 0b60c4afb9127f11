package review

import (
	"cmp"
	"fmt"
	"io"
	"iter"
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
	// action that is no risk. A combination check is left out when its
	// other half was verified denied.
	Checks []string `json:"checks,omitempty"`
	// Risks grade each of Checks where the action was asked, and say which
	// an exception accepts.
	Risks []VerifiedRisk `json:"risks,omitempty"`
	// Requested says the action was named with --check.
	Requested bool `json:"requested,omitempty"`
	// GrantedBy are the RBAC grants of an allowed action, with --explain.
	GrantedBy []grant.Grant `json:"grantedBy,omitempty"`
	// GrantedElsewhere says no RBAC object read grants the allowed action:
	// a webhook, the Node authorizer or another authorizer does, with
	// --explain.
	GrantedElsewhere bool `json:"grantedElsewhere,omitempty"`
}

// VerifiedRisk is one risk check a verified action realises.
type VerifiedRisk struct {
	Check    string        `json:"check"`
	Severity risk.Severity `json:"severity"`
	// SeverityNote says why Severity differs from the check's own.
	SeverityNote string `json:"severityNote,omitempty"`
	// PartnerUnverified says the check is a combination whose other half
	// could not be verified: the action alone proves nothing either way.
	PartnerUnverified bool `json:"partnerUnverified,omitempty"`
	// Accepted says an exception accepts the finding, for AcceptedReason.
	Accepted       bool   `json:"accepted,omitempty"`
	AcceptedReason string `json:"acceptedReason,omitempty"`
}

// Counts reports whether r fails a run of threshold (0: every severity):
// not accepted, and at least that severe.
func (r VerifiedRisk) Counts(threshold risk.Severity) bool {
	return !r.Accepted && r.Severity >= threshold
}

// OutsideRules reports whether the server allows the action although no
// listed rule grants it.
func (v VerifiedAction) OutsideRules() bool { return v.Verified && v.Allowed && !v.CoveredByRules }

// RiskActions returns every action of every risk check, each once, in check
// order: both halves of a combination check, which realises its risk only
// when both are allowed.
func RiskActions() []risk.Action {
	var out []risk.Action
	seen := map[risk.Action]bool{}
	for _, c := range risk.Checks() {
		for _, a := range slices.Concat(c.Actions, c.With) {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// checksOf maps each risk action to the checks it is part of.
func checksOf() map[risk.Action][]risk.Check {
	out := map[risk.Action][]risk.Check{}
	for _, c := range risk.Checks() {
		for _, a := range slices.Concat(c.Actions, c.With) {
			out[a] = append(out[a], c)
		}
	}
	return out
}

// answer is what the verifications say of a set of actions as a whole.
type answer int

const (
	// deniedAll: every action of the set was verified denied.
	deniedAll answer = iota
	// unknownSome: none verified allowed, and some not verified.
	unknownSome
	// allowedSome: at least one verified allowed, anywhere.
	allowedSome
)

// answerOf says whether any of actions was allowed, in any namespace.
// Actions none of which was asked (a --check of one half, where the review
// is complete) are answered by the listed rules of the namespaces reviewed.
func answerOf(results map[string]NamespaceResult, answers *Answers, actions []risk.Action) answer {
	out, asked := deniedAll, false
	for i := range answers.Len() {
		if _, a := answers.question(i); !slices.Contains(actions, a) {
			continue
		}
		asked = true
		v := answers.At(i)
		switch {
		case v.Err == nil && v.Allowed:
			return allowedSome
		case v.Err != nil || v.EvaluationError != "":
			out = unknownSome
		}
	}
	if asked {
		return out
	}
	for _, r := range results {
		for _, a := range actions {
			if a.AppliesIn(r.Namespace) && risk.Covers(r.ResourceRules, r.NonResourceRules, a) {
				return allowedSome
			}
		}
	}
	return deniedAll
}

// partner returns the other half of combination check c for a.
func partner(c risk.Check, a risk.Action) []risk.Action {
	if slices.Contains(c.Actions, a) {
		return c.With
	}
	return c.Actions
}

// Verified sets the answers beside the rules of results: whether the
// listed rules cover each action (a cluster-scoped action is covered when
// the rules of any namespace reviewed cover it), and which risk checks it
// realises. requested are the actions named with --check. There is one
// record per answer, in answer order.
func Verified(results []NamespaceResult, answers *Answers, requested []risk.Action) []VerifiedAction {
	out := make([]VerifiedAction, 0, answers.Len())
	for v := range EachVerified(results, answers, requested) {
		out = append(out, v)
	}
	return out
}

// EachVerified makes Verified's records one by one, for a caller that
// keeps few of them or writes them out as they come: with -A --verify a
// record each of tens of thousands of answers was most of what a run held.
func EachVerified(results []NamespaceResult, answers *Answers, requested []risk.Action) iter.Seq[VerifiedAction] {
	return func(yield func(VerifiedAction) bool) {
		byNS := map[string]NamespaceResult{}
		for _, r := range results {
			if r.Err == nil {
				byNS[r.Namespace] = r
			}
		}
		checks := checksOf()
		// There are tens of thousands of answers about a few dozen actions:
		// each action's name, and what the answers say of each
		// combination's other half, are worked out once.
		names := map[risk.Action]string{}
		type half struct {
			check    string
			ofAction bool
		}
		partners := map[half]answer{}
		for i := range answers.Len() {
			v := answers.At(i)
			a := v.Action
			name, ok := names[a]
			if !ok {
				name = a.String()
				names[a] = name
			}
			rec := VerifiedAction{
				Namespace: v.Namespace, Action: name, Verb: a.Verb, Group: a.Group, Resource: a.Resource,
				Subresource: a.Subresource, Name: a.Name, NonResourceURL: a.NonResourceURL,
				Allowed: v.Allowed, Reason: v.Reason, EvaluationError: v.EvaluationError,
				Requested: slices.Contains(requested, a),
			}
			for _, c := range checks[a] {
				partnerUnverified := false
				if len(c.With) > 0 {
					h := half{check: c.ID, ofAction: slices.Contains(c.Actions, a)}
					ans, ok := partners[h]
					if !ok {
						ans = answerOf(byNS, answers, partner(c, a))
						partners[h] = ans
					}
					switch ans {
					case deniedAll:
						continue
					case unknownSome:
						partnerUnverified = true
					}
				}
				sev, note := c.SeverityIn(v.Namespace)
				rec.Checks = append(rec.Checks, c.ID)
				rec.Risks = append(rec.Risks, VerifiedRisk{Check: c.ID, Severity: sev, SeverityNote: note, PartnerUnverified: partnerUnverified})
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
			if !yield(rec) {
				return
			}
		}
	}
}

// Notable reports whether v is worth a row of the VERIFIED ACTION table
// (named with --check, allowed outside the listed rules, or not verified)
// or may count in a verdict (VerifiedRisks: a combination allowed here
// whose other half could not be verified). Which exceptions accept its
// risks, and its grants, change neither.
func (v VerifiedAction) Notable() bool {
	if v.Requested || v.OutsideRules() || !v.Verified {
		return true
	}
	return v.Allowed && slices.ContainsFunc(v.Risks, func(r VerifiedRisk) bool { return r.PartnerUnverified })
}

// VerifiedRisks returns the verified actions through which the server
// grants, outside the listed rules, a risk at or above threshold (0: every
// severity) that no exception accepts, and those of such risks that could
// not be verified: the action's own review failed, or the other half of a
// combination could not be verified while this half is allowed.
func VerifiedRisks(actions []VerifiedAction, threshold risk.Severity) (held []VerifiedAction, unverified []VerifiedAction) {
	for _, v := range actions {
		isHeld, isUnverified := false, false
		for _, r := range v.Risks {
			if !r.Counts(threshold) {
				continue
			}
			switch {
			case !v.Verified:
				isUnverified = true
			case r.PartnerUnverified && v.Allowed:
				isUnverified = true
			case !r.PartnerUnverified && v.OutsideRules():
				isHeld = true
			}
		}
		switch {
		case isHeld:
			held = append(held, v)
		case isUnverified:
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
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", v.Action, ns, allowed, oneLine(by), verifiedRiskColumn(v.Risks))
	}
	return w.Flush()
}

// verifiedRiskColumn writes a verified action's risks as the RISK column
// writes a rule's: "check(severity)", "check(severity, accepted)".
func verifiedRiskColumn(risks []VerifiedRisk) string {
	parts := make([]string, 0, len(risks))
	for _, r := range risks {
		parts = append(parts, rowRisk{check: r.Check, severity: r.Severity, accepted: r.Accepted}.String())
	}
	return strings.Join(parts, ",")
}

// oneLine keeps a server's explanation on one table row.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}

// RiskActionCounts says how many SelfSubjectAccessReviews verifying the
// risk actions takes: perNamespace in every namespace reviewed, limited
// more in the one namespace each concerns (aws-auth, in kube-system) when
// it is reviewed, and clusterScoped once.
func RiskActionCounts() (perNamespace, limited, clusterScoped int) {
	for _, a := range RiskActions() {
		switch {
		case a.ClusterScoped():
			clusterScoped++
		case a.Namespace != "":
			limited++
		default:
			perNamespace++
		}
	}
	return perNamespace, limited, clusterScoped
}
