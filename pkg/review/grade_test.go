package review

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"

	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

// The grading of findings: severities, combinations, exceptions and
// thresholds, on listed rules, table rows and verified actions.

func TestRisksAreGradedPerNamespace(t *testing.T) {
	results := []NamespaceResult{
		{Namespace: "kube-system", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("secrets"), l("get"))}},
		{Namespace: "app", ResourceRules: []authorizationv1.ResourceRule{
			rr(l(""), l("secrets"), l("get")),
			rr(l(""), l("nodes"), l("patch")),
			rr(l(""), l("pods/eviction"), l("create")),
		}},
		{Namespace: "web", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("nodes"), l("patch"))}},
	}
	var got []string
	for _, r := range Risks(results) {
		got = append(got, fmt.Sprintf("%s %s(%s) %v %s", r.Namespace, r.Finding.Check, r.Finding.Severity, r.Rule.Resources, r.Finding.SeverityNote))
	}
	want := l(
		"app read-secrets(high) [secrets] ",
		"app pod-stealing(high) [nodes] ",
		"kube-system read-secrets(critical) [secrets] raised from high: in namespace kube-system",
	)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Risks (-want +got):\n%s", diff)
	}
}

func TestAcceptAndCounts(t *testing.T) {
	risks := []Risk{
		{Namespace: "a", Finding: risk.Finding{Check: risk.Exec, Severity: risk.High}},
		{Namespace: "b", Finding: risk.Finding{Check: risk.Exec, Severity: risk.High}},
		{Namespace: "b", Finding: risk.Finding{Check: risk.ReadSecrets, Severity: risk.Medium}},
	}
	verified := []VerifiedAction{
		{Namespace: "a", Risks: []VerifiedRisk{{Check: risk.Exec, Severity: risk.High}}},
		{Namespace: "", Risks: []VerifiedRisk{{Check: risk.Impersonate, Severity: risk.Critical}, {Check: risk.Exec, Severity: risk.High}}},
	}
	Accept(risks, verified, risk.Exceptions{{Check: risk.Exec, Namespace: "a", Reason: "debugging"}, {Check: risk.Impersonate, Reason: "the operator"}})
	var got []string
	for _, r := range risks {
		s := r.Namespace + " " + r.Finding.Check
		if r.Accepted != nil {
			s += " accepted: " + r.Accepted.Reason
		}
		got = append(got, fmt.Sprintf("%s high=%t medium=%t", s, r.Counts(risk.High), r.Counts(risk.Medium)))
	}
	for _, v := range verified {
		for _, r := range v.Risks {
			got = append(got, fmt.Sprintf("%q %s accepted=%t %q high=%t any=%t", v.Namespace, r.Check, r.Accepted, r.AcceptedReason, r.Counts(risk.High), r.Counts(0)))
		}
	}
	want := l(
		"a exec accepted: debugging high=false medium=false",
		"b exec high=true medium=true",
		"b read-secrets high=false medium=true",
		`"a" exec accepted=true "debugging" high=false any=false`,
		`"" impersonate accepted=true "the operator" high=false any=false`,
		`"" exec accepted=false "" high=true any=true`,
	)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("accepted (-want +got):\n%s", diff)
	}
}

// TestVerifiedCombinations: a half of a combination check realises it only
// when the other half is allowed somewhere; when the other half could not
// be verified, the risk is unverified, not held.
func TestVerifiedCombinations(t *testing.T) {
	patchNodes := risk.Action{Verb: "patch", Resource: "nodes"}
	deletePods := risk.Action{Verb: "delete", Resource: "pods"}
	evict := risk.Action{Verb: "create", Resource: "pods", Subresource: "eviction"}
	secrets := risk.Action{Verb: "get", Resource: "secrets"}
	allowed := func(ns string, a risk.Action) Verification {
		return Verification{Namespace: ns, Action: a, Allowed: true}
	}
	denied := func(ns string, a risk.Action) Verification { return Verification{Namespace: ns, Action: a} }
	failed := func(ns string, a risk.Action) Verification {
		return Verification{Namespace: ns, Action: a, Err: errors.New("webhook down")}
	}
	cases := []struct {
		name          string
		verifications []Verification
		want          []string
		held          []string
		unverified    []string
	}{
		{
			name:          "patch nodes without evicting or deleting pods",
			verifications: []Verification{allowed("", patchNodes), denied("a", deletePods), denied("a", evict)},
			// The denied halves list the check they would complete.
			want: l(` patch nodes []`, `a delete pods [write-workloads(high) pod-stealing(high)]`, `a create pods/eviction [pod-stealing(high)]`),
		},
		{
			name:          "patch nodes and evict pods",
			verifications: []Verification{allowed("", patchNodes), denied("a", deletePods), allowed("a", evict)},
			want:          l(` patch nodes [pod-stealing(high)]`, `a delete pods [write-workloads(high) pod-stealing(high)]`, `a create pods/eviction [pod-stealing(high)]`),
			held:          l(" patch nodes", "a create pods/eviction"),
		},
		{
			name:          "evicting in any namespace completes it",
			verifications: []Verification{allowed("", patchNodes), denied("a", evict), allowed("b", evict)},
			want:          l(` patch nodes [pod-stealing(high)]`, `a create pods/eviction [pod-stealing(high)]`, `b create pods/eviction [pod-stealing(high)]`),
			held:          l(" patch nodes", "b create pods/eviction"),
		},
		{
			name:          "patch nodes while the other half could not be verified",
			verifications: []Verification{allowed("", patchNodes), failed("a", deletePods), denied("a", evict)},
			want:          l(` patch nodes [pod-stealing(high) partner unverified]`, `a delete pods [write-workloads(high) pod-stealing(high)]`, `a create pods/eviction [pod-stealing(high)]`),
			unverified:    l(" patch nodes", "a delete pods"),
		},
		{
			name:          "an authorizer's failure on the other half leaves it unverified",
			verifications: []Verification{allowed("", patchNodes), {Namespace: "a", Action: evict, EvaluationError: "webhook timed out"}},
			want:          l(` patch nodes [pod-stealing(high) partner unverified]`, `a create pods/eviction [pod-stealing(high)]`),
			unverified:    l(" patch nodes", "a create pods/eviction"),
		},
		{
			name:          "an allowed answer despite an authorizer's failure is allowed",
			verifications: []Verification{allowed("", patchNodes), {Namespace: "a", Action: evict, Allowed: true, EvaluationError: "one webhook timed out"}},
			want:          l(` patch nodes [pod-stealing(high)]`, `a create pods/eviction [pod-stealing(high)]`),
			held:          l(" patch nodes", "a create pods/eviction"),
		},
		{
			name:          "neither half allowed",
			verifications: []Verification{denied("", patchNodes), failed("a", deletePods)},
			want:          l(` patch nodes [pod-stealing(high) partner unverified]`, `a delete pods [write-workloads(high)]`),
			unverified:    l("a delete pods"),
		},
		{
			name:          "a verified action of kube-system is raised there",
			verifications: []Verification{allowed("kube-system", secrets), allowed("a", secrets)},
			want:          l(`kube-system get secrets [read-secrets(critical)]`, `a get secrets [read-secrets(high)]`),
			held:          l("kube-system get secrets", "a get secrets"),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := Verified(nil, answersOf(t, tc.verifications), nil)
			var got []string
			for _, v := range out {
				var risks []string
				for _, r := range v.Risks {
					w := r.Check + "(" + r.Severity.String() + ")"
					if r.PartnerUnverified {
						w += " partner unverified"
					}
					risks = append(risks, w)
				}
				got = append(got, fmt.Sprintf("%s %s [%s]", v.Namespace, v.Action, strings.Join(risks, " ")))
				if len(v.Checks) != len(v.Risks) {
					t.Errorf("%s: checks %v and risks %v differ", v.Action, v.Checks, v.Risks)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Verified (-want +got):\n%s", diff)
			}
			held, unverified := VerifiedRisks(out, risk.High)
			if diff := cmp.Diff(tc.held, names(held)); diff != "" {
				t.Errorf("held (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.unverified, names(unverified)); diff != "" {
				t.Errorf("unverified (-want +got):\n%s", diff)
			}
		})
	}
}

func names(actions []VerifiedAction) []string {
	var out []string
	for _, v := range actions {
		out = append(out, v.Namespace+" "+v.Action)
	}
	return out
}

// TestVerifiedRisksThreshold: only risks at or above the threshold that
// no exception accepts are held or unverified.
func TestVerifiedRisksThreshold(t *testing.T) {
	outside := func(action string, risks ...VerifiedRisk) VerifiedAction {
		return VerifiedAction{Action: action, Verified: true, Allowed: true, Risks: risks}
	}
	notVerified := func(action string, risks ...VerifiedRisk) VerifiedAction {
		return VerifiedAction{Action: action, Risks: risks}
	}
	medium := VerifiedRisk{Check: risk.WriteCRDs, Severity: risk.Medium}
	high := VerifiedRisk{Check: risk.Exec, Severity: risk.High}
	critical := VerifiedRisk{Check: risk.Admin, Severity: risk.Critical}
	accepted := VerifiedRisk{Check: risk.Admin, Severity: risk.Critical, Accepted: true}
	actions := []VerifiedAction{
		outside("m", medium), outside("h", high), outside("c", critical), outside("ca", accepted), outside("mc", medium, critical),
		notVerified("um", medium), notVerified("uh", high), notVerified("ua", accepted),
		{Action: "covered", Verified: true, Allowed: true, CoveredByRules: true, Risks: []VerifiedRisk{critical}},
		{Action: "denied", Verified: true, Risks: []VerifiedRisk{critical}},
		outside("none"),
	}
	cases := []struct {
		threshold        risk.Severity
		held, unverified []string
	}{
		{0, l(" m", " h", " c", " mc"), l(" um", " uh")},
		{risk.Low, l(" m", " h", " c", " mc"), l(" um", " uh")},
		{risk.Medium, l(" m", " h", " c", " mc"), l(" um", " uh")},
		{risk.High, l(" h", " c", " mc"), l(" uh")},
		{risk.Critical, l(" c", " mc"), nil},
	}
	for _, tc := range cases {
		held, unverified := VerifiedRisks(actions, tc.threshold)
		if diff := cmp.Diff(tc.held, names(held)); diff != "" {
			t.Errorf("threshold %s: held (-want +got):\n%s", tc.threshold, diff)
		}
		if diff := cmp.Diff(tc.unverified, names(unverified)); diff != "" {
			t.Errorf("threshold %s: unverified (-want +got):\n%s", tc.threshold, diff)
		}
	}
}

func TestRowRisks(t *testing.T) {
	rows := func(results ...NamespaceResult) Table { return Compact(results) }
	cases := []struct {
		name       string
		table      Table
		exceptions risk.Exceptions
		want       []string
	}{
		{
			name: "a row in kube-system and elsewhere shows the higher severity",
			table: rows(
				NamespaceResult{Namespace: "a", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("secrets"), l("get"))}},
				NamespaceResult{Namespace: "kube-system", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("secrets"), l("get"))}},
			),
			want: l("secrets read-secrets(critical)"),
		},
		{
			name: "accepted in kube-system only, the other namespace's severity shows",
			table: rows(
				NamespaceResult{Namespace: "a", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("secrets"), l("get"))}},
				NamespaceResult{Namespace: "kube-system", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("secrets"), l("get"))}},
			),
			exceptions: risk.Exceptions{{Check: risk.ReadSecrets, Namespace: "kube-system"}},
			want:       l("secrets read-secrets(high)"),
		},
		{
			name: "accepted everywhere, marked with the highest severity",
			table: rows(
				NamespaceResult{Namespace: "a", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("secrets"), l("get"))}},
				NamespaceResult{Namespace: "kube-system", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("secrets"), l("get"))}},
			),
			exceptions: risk.Exceptions{{Check: risk.ReadSecrets}},
			want:       l("secrets read-secrets(critical, accepted)"),
		},
		{
			name: "a combination across rows holds where both do",
			table: rows(
				NamespaceResult{Namespace: "a", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("nodes"), l("patch")), rr(l(""), l("pods"), l("delete"))}},
				NamespaceResult{Namespace: "b", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("nodes"), l("patch"))}},
			),
			want: l("nodes pod-stealing(high)", "pods write-workloads(high)"),
		},
		{
			name: "no combination where the rows never meet",
			table: rows(
				NamespaceResult{Namespace: "a", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("pods"), l("delete"))}},
				NamespaceResult{Namespace: "b", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("nodes"), l("patch"))}},
			),
			want: l("pods write-workloads(high)"),
		},
		{
			name: "aws-auth only in kube-system",
			table: rows(
				NamespaceResult{Namespace: "a", ResourceRules: []authorizationv1.ResourceRule{{Verbs: l("update"), APIGroups: l(""), Resources: l("configmaps"), ResourceNames: l("aws-auth")}}},
				NamespaceResult{Namespace: "kube-system", ResourceRules: []authorizationv1.ResourceRule{{Verbs: l("update"), APIGroups: l(""), Resources: l("configmaps"), ResourceNames: l("aws-auth")}}},
			),
			want: l("configmaps write-aws-auth(critical)"),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			graded := rowRisks(tc.table, tc.exceptions)
			var got []string
			for i, row := range tc.table.Rows {
				for _, r := range graded[i] {
					got = append(got, row.ResourceString()+" "+r.String())
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("rowRisks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyUnitsOfOneNamespace(t *testing.T) {
	awsAuth := risk.Action{Verb: "update", Resource: "configmaps", Name: "aws-auth", Namespace: "kube-system"}
	got := questionList(t, []string{"a", "kube-system"}, []risk.Action{awsAuth})
	if diff := cmp.Diff([]Verification{{Namespace: "kube-system", Action: awsAuth}}, got); diff != "" {
		t.Errorf("verifyQuestions (-want +got):\n%s", diff)
	}
	if got := questionList(t, []string{"a"}, []risk.Action{awsAuth}); len(got) != 0 {
		t.Errorf("verifyQuestions outside kube-system = %v, want none", got)
	}
}

// TestRiskActionCounts pins the numbers the help text computes and the
// README quotes: a new check changes them here and there.
func TestRiskActionCounts(t *testing.T) {
	perNamespace, limited, clusterScoped := RiskActionCounts()
	if perNamespace != 69 || limited != 2 || clusterScoped != 61 {
		t.Errorf("RiskActionCounts() = %d, %d, %d; want 69, 2, 61", perNamespace, limited, clusterScoped)
	}
	if n := len(RiskActions()); n != perNamespace+limited+clusterScoped {
		t.Errorf("%d risk actions, counted as %d", n, perNamespace+limited+clusterScoped)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	quoted := fmt.Sprintf("every risky action (%d per namespace, %d more in\nkube-system, %d cluster-scoped ones once)", perNamespace, limited, clusterScoped)
	if !strings.Contains(string(readme), quoted) {
		t.Errorf("README.md does not quote the counts of RiskActionCounts as %q", quoted)
	}
}

func TestNewRecordRisks(t *testing.T) {
	id := &Identity{}
	risks := []Risk{
		{Namespace: "a", Finding: risk.Finding{Check: risk.ReadSecrets, Severity: risk.Medium, SeverityNote: "lowered", Reason: "r"}},
		{Namespace: "b", Finding: risk.Finding{Check: risk.Exec, Severity: risk.High, Reason: "e"}, Accepted: &risk.Exception{Check: risk.Exec, Reason: "ok"}},
	}
	rec := NewRecord(id, nil, risks)
	want := []RiskRecord{
		{Namespace: "a", Check: risk.ReadSecrets, Severity: risk.Medium, SeverityNote: "lowered", Reason: "r"},
		{Namespace: "b", Check: risk.Exec, Severity: risk.High, Reason: "e", Accepted: true, AcceptedReason: "ok"},
	}
	if diff := cmp.Diff(want, rec.Risks); diff != "" {
		t.Errorf("record risks (-want +got):\n%s", diff)
	}
}

// TestVerifiedHalfAskedAlone: a --check of one half of a combination, on a
// complete review, is judged with the other half's listed rules.
func TestVerifiedHalfAskedAlone(t *testing.T) {
	patchNodes := risk.Action{Verb: "patch", Resource: "nodes"}
	checked := []Verification{{Namespace: "", Action: patchNodes, Allowed: true}}
	withEviction := []NamespaceResult{{Namespace: "a", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("pods/eviction"), l("create"))}}}
	without := []NamespaceResult{{Namespace: "a", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("pods"), l("get"))}}}
	failed := []NamespaceResult{{Namespace: "a", Err: errors.New("not reviewed"), ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("pods/eviction"), l("create"))}}}
	for _, tc := range []struct {
		name    string
		results []NamespaceResult
		want    []string
	}{
		{"the listed rules hold the other half", withEviction, l(risk.PodStealing)},
		{"the listed rules lack the other half", without, nil},
		{"a namespace not reviewed says nothing", failed, nil},
	} {
		got := Verified(tc.results, answersOf(t, checked), []risk.Action{patchNodes})
		if diff := cmp.Diff(tc.want, got[0].Checks); diff != "" {
			t.Errorf("%s: checks (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestPrintVerifiedRiskColumn(t *testing.T) {
	var b strings.Builder
	err := PrintVerified(&b, []VerifiedAction{
		{Namespace: "a", Action: "delete pods", Verified: true, Allowed: true, Risks: []VerifiedRisk{
			{Check: risk.WriteWorkloads, Severity: risk.High, Accepted: true}, {Check: risk.PodStealing, Severity: risk.High}}},
		{Namespace: "", Action: "get /metrics", Verified: true, Requested: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `
VERIFIED ACTION   NAMESPACE   ALLOWED   GRANTED BY                 RISK
delete pods       a           yes       outside the listed rules   write-workloads(high, accepted),pod-stealing(high)
get /metrics      (cluster)   no        -                          
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("PrintVerified (-want +got):\n%s", diff)
	}
}

func TestPrintWhoamiRisks(t *testing.T) {
	id := &Identity{User: authenticationv1.UserInfo{Username: "system:serviceaccount:a:ci"}, Source: SourceSelfSubjectReview, APIVersion: "authentication.k8s.io/v1"}
	table := Compact([]NamespaceResult{
		{Namespace: "a", ResourceRules: []authorizationv1.ResourceRule{
			rr(l(""), l("secrets"), l("get"), "tls"),
			rr(l(""), l("pods/exec"), l("create")),
		}},
		{Namespace: "b", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("pods/exec"), l("create"))}},
	})
	cases := []struct {
		name       string
		table      Table
		exceptions risk.Exceptions
		want       string
	}{
		{
			name:       "severities, the weighting note and the accepted findings",
			table:      table,
			exceptions: risk.Exceptions{{Check: risk.Exec, Namespace: "b", Reason: "debugging in b"}, {Check: risk.Admin, Reason: "unused"}},
			want: `
RESOURCES   NON-RESOURCE URLS   RESOURCE NAMES   VERBS      WHERE                       RISK
pods/exec   []                  []               [create]   all 2 reviewed namespaces   exec(high)
secrets     []                  [tls]            [get]      a                           read-secrets(medium)

RISK           SEVERITY   REASON
read-secrets   high       reads Secrets, which hold credentials and other service accounts' tokens
exec           high       runs commands in or attaches to containers (create on pods/exec or pods/attach), and so acts as their service accounts
A rule's severity differs from its check's when the rule holds in kube-system (raised) or is narrowed by resourceNames (lowered); -o json says why (severityNote).

ACCEPTED   NAMESPACE   REASON
exec       b           debugging in b
`,
		},
		{
			name: "no note when every severity is its check's, every namespace accepted",
			table: Compact([]NamespaceResult{
				{Namespace: "a", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("pods/exec"), l("create"))}},
			}),
			exceptions: risk.Exceptions{{Check: risk.Exec, Reason: "debugging"}},
			want: `
RESOURCES   NON-RESOURCE URLS   RESOURCE NAMES   VERBS      WHERE   RISK
pods/exec   []                  []               [create]   a       exec(high, accepted)

RISK   SEVERITY   REASON
exec   high       runs commands in or attaches to containers (create on pods/exec or pods/attach), and so acts as their service accounts

ACCEPTED   NAMESPACE   REASON
exec       (all)       debugging
`,
		},
		{
			name: "no risk, no legend",
			table: Compact([]NamespaceResult{
				{Namespace: "a", ResourceRules: []authorizationv1.ResourceRule{rr(l(""), l("pods"), l("get"))}},
			}),
			exceptions: risk.Exceptions{{Check: risk.Exec, Reason: "debugging"}},
			want: `
RESOURCES   NON-RESOURCE URLS   RESOURCE NAMES   VERBS   WHERE   RISK
pods        []                  []               [get]   a       
`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := PrintWhoami(&b, id, tc.table, View{Exceptions: tc.exceptions}); err != nil {
				t.Fatal(err)
			}
			_, got, _ := strings.Cut(b.String(), "Source")
			_, got, _ = strings.Cut(got, "\n")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("PrintWhoami (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRiskChecksThreshold(t *testing.T) {
	risks := []Risk{
		{Finding: risk.Finding{Check: risk.WriteCRDs, Severity: risk.Medium}},
		{Finding: risk.Finding{Check: risk.Exec, Severity: risk.High}},
		{Finding: risk.Finding{Check: risk.Admin, Severity: risk.Critical}},
		{Finding: risk.Finding{Check: risk.Impersonate, Severity: risk.Critical}, Accepted: &risk.Exception{Check: risk.Impersonate}},
		{Finding: risk.Finding{Check: risk.Exec, Severity: risk.High}},
	}
	for _, tc := range []struct {
		threshold risk.Severity
		want      []string
	}{
		{0, l(risk.Admin, risk.Exec, risk.WriteCRDs)},
		{risk.Medium, l(risk.Admin, risk.Exec, risk.WriteCRDs)},
		{risk.High, l(risk.Admin, risk.Exec)},
		{risk.Critical, l(risk.Admin)},
	} {
		if diff := cmp.Diff(tc.want, RiskChecks(risks, tc.threshold)); diff != "" {
			t.Errorf("RiskChecks(%s) (-want +got):\n%s", tc.threshold, diff)
		}
	}
}
