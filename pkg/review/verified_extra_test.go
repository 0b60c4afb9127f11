package review

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"

	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

// everything is a rule set that covers every action.
var everything = NamespaceResult{
	ResourceRules:    []authorizationv1.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}},
	NonResourceRules: []authorizationv1.NonResourceRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}},
}

// riskAndPlain returns an action some risk check names and one none does.
func riskAndPlain(t *testing.T) (risky, plain risk.Action) {
	t.Helper()
	risky = RiskActions()[0]
	plain, err := risk.ParseAction("get kubectl-access-test-widgets")
	if err != nil {
		t.Fatal(err)
	}
	if len(checksOf()[plain]) != 0 {
		t.Fatalf("%v realises a risk check; pick another plain action", plain)
	}
	return risky, plain
}

func TestVerified(t *testing.T) {
	risky, plain := riskAndPlain(t)
	covering := everything
	covering.Namespace = "covered"
	failed := everything
	failed.Namespace = "failed"
	failed.Err = errors.New("forbidden")
	results := []NamespaceResult{covering, failed, {Namespace: "bare"}}
	verifications := []Verification{
		{Namespace: "covered", Action: risky, Allowed: true},
		{Namespace: "failed", Action: risky, Allowed: true, Reason: "webhook says yes"},
		{Namespace: "bare", Action: plain, Allowed: false, Denied: true},
		{Namespace: "bare", Action: plain, Allowed: false, EvaluationError: "webhook timed out"},
		{Namespace: "bare", Action: plain, Allowed: true, EvaluationError: "one webhook timed out, another allowed it"},
		{Namespace: "unknown", Action: plain, Err: errors.New("the review failed")},
		{Namespace: "", Action: risky, Allowed: true},
	}
	got := Verified(results, answersOf(t, verifications), []risk.Action{plain})
	record := func(ns string, a risk.Action) VerifiedAction {
		return VerifiedAction{Namespace: ns, Action: a.String(), Verb: a.Verb, Group: a.Group, Resource: a.Resource,
			Subresource: a.Subresource, Name: a.Name, NonResourceURL: a.NonResourceURL, Checks: checkIDs(a), Requested: a == plain}
	}
	graded := func(v VerifiedAction) VerifiedAction {
		for _, c := range checksOf()[risky] {
			sev, note := c.SeverityIn(v.Namespace)
			v.Risks = append(v.Risks, VerifiedRisk{Check: c.ID, Severity: sev, SeverityNote: note})
		}
		return v
	}
	want := []VerifiedAction{
		graded(record("covered", risky)),
		graded(record("failed", risky)),
		record("bare", plain),
		record("bare", plain),
		record("bare", plain),
		record("unknown", plain),
		graded(record("", risky)),
	}
	// The rules of the namespace asked cover it.
	want[0].Allowed, want[0].Verified, want[0].CoveredByRules = true, true, true
	// A namespace whose review failed has no rules to cover anything.
	want[1].Allowed, want[1].Verified, want[1].Reason = true, true, "webhook says yes"
	// A plain denial is a verified answer.
	want[2].Verified = true
	// A denial while an authorizer failed is not.
	want[3].EvaluationError = "webhook timed out"
	// An allowance stands even though another authorizer failed.
	want[4].Allowed, want[4].Verified, want[4].EvaluationError = true, true, "one webhook timed out, another allowed it"
	want[5].Error = "the review failed"
	// A cluster-scoped action is covered by the rules of any namespace.
	want[6].Allowed, want[6].Verified, want[6].CoveredByRules = true, true, true
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Verified (-want +got):\n%s", diff)
	}
}

func TestVerifiedClusterScopedNotCovered(t *testing.T) {
	risky, _ := riskAndPlain(t)
	got := Verified([]NamespaceResult{{Namespace: "bare"}}, answersOf(t, []Verification{{Action: risky, Allowed: true}}), nil)
	if len(got) != 1 || got[0].CoveredByRules || !got[0].OutsideRules() {
		t.Errorf("Verified = %+v, want one action allowed outside the rules", got)
	}
}

func TestOutsideRules(t *testing.T) {
	cases := []struct {
		v    VerifiedAction
		want bool
	}{
		{VerifiedAction{Verified: true, Allowed: true}, true},
		{VerifiedAction{Verified: true, Allowed: true, CoveredByRules: true}, false},
		{VerifiedAction{Verified: true}, false},
		{VerifiedAction{Allowed: true}, false},
	}
	for _, tc := range cases {
		if got := tc.v.OutsideRules(); got != tc.want {
			t.Errorf("%+v.OutsideRules() = %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestPrintVerified(t *testing.T) {
	actions := []VerifiedAction{
		// Not worth a row: verified, not requested, covered or denied.
		{Action: "get secrets", Namespace: "a", Verified: true, Allowed: true, CoveredByRules: true, Checks: []string{"read-secrets"}},
		{Action: "get nodes", Verified: true},
		// Rows, to be sorted by action, then namespace.
		{Action: "create pods", Namespace: "b", Verified: true, Allowed: true, Reason: "webhook\n  says   yes", Checks: []string{"run", "x"},
			Risks: []VerifiedRisk{{Check: "run", Severity: risk.High}, {Check: "x", Severity: risk.Low, Accepted: true}}},
		{Action: "create pods", Namespace: "a", Verified: true, Allowed: true, Requested: true},
		{Action: "bind roles", Namespace: "a", Error: "the review failed", EvaluationError: "ignored"},
		{Action: "bind roles", EvaluationError: "webhook timed out"},
		{Action: "list pods", Namespace: "a", Verified: true, Requested: true, Reason: "denied by policy"},
		{Action: "list pods", Namespace: "b", Verified: true, Requested: true},
		{Action: "watch pods", Namespace: "a", Verified: true, Allowed: true, CoveredByRules: true, Requested: true},
	}
	var b strings.Builder
	if err := PrintVerified(&b, actions); err != nil {
		t.Fatal(err)
	}
	// The tab writer pads every column to its widest cell plus three.
	want := `
VERIFIED ACTION   NAMESPACE   ALLOWED   GRANTED BY                                   RISK
bind roles        (cluster)   unknown   not verified: webhook timed out              
bind roles        a           unknown   not verified: the review failed              
create pods       a           yes       outside the listed rules                     
create pods       b           yes       outside the listed rules: webhook says yes   run(high),x(low, accepted)
list pods         a           no        denied by policy                             
list pods         b           no        -                                            
watch pods        a           yes       the listed rules                             
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("PrintVerified (-want +got):\n%s", diff)
	}
}

func TestPrintVerifiedNothingWorthARow(t *testing.T) {
	var b strings.Builder
	if err := PrintVerified(&b, []VerifiedAction{{Action: "get nodes", Verified: true}}); err != nil || b.Len() != 0 {
		t.Errorf("PrintVerified = %q, %v; want nothing at all", b.String(), err)
	}
}

func TestOneLine(t *testing.T) {
	cases := []struct{ in, want string }{
		{"a\n b\t\tc ", "a b c"},
		{strings.Repeat("x", 100), strings.Repeat("x", 100)},
		{strings.Repeat("x", 101), strings.Repeat("x", 97) + "..."},
	}
	for _, tc := range cases {
		if got := oneLine(tc.in); got != tc.want {
			t.Errorf("oneLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRiskActionsEachOnceInCheckOrder(t *testing.T) {
	var want []risk.Action
	for _, c := range risk.Checks() {
		for _, a := range slices.Concat(c.Actions, c.With) {
			found := false
			for _, w := range want {
				found = found || w == a
			}
			if !found {
				want = append(want, a)
			}
		}
	}
	if diff := cmp.Diff(want, RiskActions()); diff != "" {
		t.Errorf("RiskActions (-want +got):\n%s", diff)
	}
	checks := checksOf()
	for _, c := range risk.Checks() {
		for _, a := range slices.Concat(c.Actions, c.With) {
			n := 0
			for _, other := range checks[a] {
				if other.ID == c.ID {
					n++
				}
			}
			if n != 1 {
				t.Errorf("checksOf()[%v] names %s %d times, want once", a, c.ID, n)
			}
		}
	}
}

// checkIDs are the IDs of the risk checks action a is part of.
func checkIDs(a risk.Action) []string {
	var ids []string
	for _, c := range checksOf()[a] {
		ids = append(ids, c.ID)
	}
	return ids
}
