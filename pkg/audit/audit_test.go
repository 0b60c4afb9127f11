package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/grant"
	"github.com/kubectl-access/kubectl-access/pkg/review"
	"github.com/kubectl-access/kubectl-access/pkg/risk"
	"github.com/kubectl-access/kubectl-access/pkg/subject"
)

// fakeIdentities mints "token-NS-NAME" for every account, or fails as
// told per namespace.
type fakeIdentities struct {
	mu       sync.Mutex
	requests []subject.Request
	fail     map[string]error
}

func (f *fakeIdentities) Resolve(_ context.Context, req subject.Request) (*subject.Identity, error) {
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	if err := f.fail[req.Namespace]; err != nil {
		return nil, &subject.ObtainError{Err: err}
	}
	return &subject.Identity{Mode: req.Mode, Namespace: req.Namespace, Config: &rest.Config{BearerToken: "token-" + req.Namespace + "-" + req.Name}}, nil
}

// rulesOf is what the fake server's SelfSubjectRulesReview lists, by token
// and namespace.
type rulesOf map[string]map[string][]authorizationv1.ResourceRule

// fakeTokenClients builds, per token, a clientset whose reviews answer
// from rules; incomplete marks every review incomplete, and allow lists
// the "verb resource ns" a SelfSubjectAccessReview allows.
func fakeTokenClients(rules rulesOf, incomplete bool, allow []string, reviewErr error) func(id *subject.Identity) (authorizationv1client.AuthorizationV1Interface, error) {
	return func(id *subject.Identity) (authorizationv1client.AuthorizationV1Interface, error) {
		token := id.Config.BearerToken
		c := fake.NewClientset()
		c.PrependReactor("create", "selfsubjectrulesreviews", func(a clienttesting.Action) (bool, runtime.Object, error) {
			if reviewErr != nil {
				return true, nil, reviewErr
			}
			r := a.(clienttesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectRulesReview)
			r.Status = authorizationv1.SubjectRulesReviewStatus{ResourceRules: rules[token][r.Spec.Namespace], Incomplete: incomplete}
			return true, r, nil
		})
		c.PrependReactor("create", "selfsubjectaccessreviews", func(a clienttesting.Action) (bool, runtime.Object, error) {
			r := a.(clienttesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
			ra := r.Spec.ResourceAttributes
			if ra != nil {
				res := ra.Resource
				if ra.Subresource != "" {
					res += "/" + ra.Subresource
				}
				r.Status.Allowed = slices.Contains(allow, ra.Verb+" "+res+" "+ra.Namespace)
			}
			return true, r, nil
		})
		return c.AuthorizationV1(), nil
	}
}

func sa(ns, name string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func secretsRule(verbs ...string) authorizationv1.ResourceRule {
	return authorizationv1.ResourceRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: verbs}
}

func TestAudit(t *testing.T) {
	caller := fake.NewClientset(
		sa("a1", "ci"), sa("a1", "default"), sa("b2", "app"), sa("c3", "bare"),
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "b2", Name: "ci-secrets"}, RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "secrets"}, Subjects: []rbacv1.Subject{saSubject("a1", "ci")}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "default-secrets"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "secrets"}, Subjects: []rbacv1.Subject{saSubject("a1", "default")}},
	)
	rules := rulesOf{
		"token-a1-ci":      {"b2": {secretsRule("get")}},
		"token-a1-default": {"a1": {secretsRule("list")}},
	}
	ids := &fakeIdentities{}
	var progress []int
	var mu sync.Mutex
	a := &Auditor{
		Caller: caller, Identities: ids, NewClient: fakeTokenClients(rules, false, nil, nil), Concurrency: 2, ReviewConcurrency: 2,
		Progress: func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			if total != 4 {
				t.Errorf("progress total %d, want 4", total)
			}
			progress = append(progress, done)
		},
	}
	ctx := context.Background()
	inv, err := a.Inventory(ctx, Scope{})
	if err != nil {
		t.Fatal(err)
	}
	results, err := a.Audit(ctx, inv.Plans)
	if err != nil {
		t.Fatal(err)
	}
	rec := NewClusterRecord(results, RecordOptions{})

	t.Run("every account is reviewed as its own TokenRequest token of the shortest lifetime, in its planned namespaces", func(t *testing.T) {
		if len(ids.requests) != 4 {
			t.Fatalf("%d identities resolved, want 4", len(ids.requests))
		}
		for _, r := range ids.requests {
			if r.Mode != subject.ServiceAccount || r.Token.Source != "request" || r.Token.Duration != TokenLifetime || r.Token.CreateSecret {
				t.Errorf("identity request %+v: want a TokenRequest of %s, never a Secret", r, TokenLifetime)
			}
		}
		var reviewed []string
		for _, a := range rec.Accounts {
			reviewed = append(reviewed, a.Namespace+"/"+a.Name+":"+strings.Join(a.ReviewedNamespaces, ","))
		}
		want := []string{"a1/default:a1", "a1/ci:a1,b2", "b2/app:b2", "c3/bare:c3"}
		if diff := cmp.Diff(want, reviewed); diff != "" {
			t.Errorf("reviewed namespaces, riskiest first (-want +got):\n%s", diff)
		}
	})

	t.Run("findings say where they hold: cluster-wide when no RoleBinding explains the namespace", func(t *testing.T) {
		got := map[string]FindingRecord{}
		for _, a := range rec.Accounts {
			for _, f := range a.Findings {
				got[a.Namespace+"/"+a.Name] = FindingRecord{Check: f.Check, Namespaces: f.Namespaces, ClusterWide: f.ClusterWide, Sources: f.Sources}
			}
		}
		want := map[string]FindingRecord{
			"a1/ci":      {Check: "read-secrets", Namespaces: []string{"b2"}, Sources: []string{"rules"}},
			"a1/default": {Check: "read-secrets", Namespaces: []string{"a1"}, ClusterWide: true, Sources: []string{"rules"}},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("findings (-want +got):\n%s", diff)
		}
	})

	t.Run("the summary counts every kind of account", func(t *testing.T) {
		want := Summary{Accounts: 4, Risky: 2, Baseline: 2, DefaultBeyondBaseline: 1}
		if diff := cmp.Diff(want, rec.Summary); diff != "" {
			t.Errorf("summary (-want +got):\n%s", diff)
		}
	})

	t.Run("requests: 3 lists, then per account 1 token and its reviews", func(t *testing.T) {
		if got := a.Requests(); got != 3+4+5 {
			t.Errorf("Requests() = %d, want 12", got)
		}
		if len(progress) != 4 || slices.Max(progress) != 4 {
			t.Errorf("progress calls %v, want 4 ending at 4", progress)
		}
	})
}

func TestAuditInventory(t *testing.T) {
	ctx := context.Background()
	t.Run("namespaces given: one list each, and a missing one is reported", func(t *testing.T) {
		caller := fake.NewClientset(sa("a1", "ci"), sa("b2", "x"), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "empty"}})
		a := &Auditor{Caller: caller}
		inv, err := a.Inventory(ctx, Scope{Namespaces: []string{"a1", "empty", "gone"}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"gone"}, inv.Missing); diff != "" {
			t.Errorf("missing (-want +got):\n%s", diff)
		}
		if len(inv.Accounts) != 1 || inv.Accounts[0].String() != "a1/ci" {
			t.Errorf("accounts %v, want a1/ci only", inv.Accounts)
		}
	})
	for _, tc := range []struct {
		resource, want string
	}{
		{"serviceaccounts", "list serviceaccounts in all namespaces"},
		{"rolebindings", "list rolebindings.rbac.authorization.k8s.io in all namespaces"},
		{"clusterrolebindings", "list clusterrolebindings.rbac.authorization.k8s.io (cluster-scoped)"},
	} {
		t.Run("a forbidden list of "+tc.resource+" names the permission", func(t *testing.T) {
			caller := fake.NewClientset()
			caller.PrependReactor("list", tc.resource, func(clienttesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: tc.resource}, "", errors.New("no"))
			})
			_, err := (&Auditor{Caller: caller}).Inventory(ctx, Scope{})
			var perm *PermissionError
			if !errors.As(err, &perm) || perm.Permission != tc.want {
				t.Fatalf("error %v, want a PermissionError for %q", err, tc.want)
			}
			if exitcode.Code(err) != exitcode.Forbidden {
				t.Errorf("exit code %d, want %d", exitcode.Code(err), exitcode.Forbidden)
			}
		})
	}
}

func TestAuditFaults(t *testing.T) {
	ctx := context.Background()
	plans := PlanAccounts([]Account{{Namespace: "a1", Name: "x"}, {Namespace: "b2", Name: "y"}, {Namespace: "c3", Name: "z"}}, nil, nil)

	t.Run("an account whose token cannot be minted is not audited; the others are", func(t *testing.T) {
		ids := &fakeIdentities{fail: map[string]error{"b2": apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts/token"}, "y", errors.New("no"))}}
		a := &Auditor{Identities: ids, NewClient: fakeTokenClients(nil, false, nil, nil), Concurrency: 1}
		results, err := a.Audit(ctx, plans)
		if err != nil {
			t.Fatal(err)
		}
		var perm *PermissionError
		if !errors.As(results[1].Err, &perm) || perm.Permission != "create serviceaccounts/token in namespace b2" {
			t.Errorf("b2/y: error %v, want the missing permission named", results[1].Err)
		}
		if results[0].Err != nil || results[2].Err != nil {
			t.Errorf("the other accounts failed: %v, %v", results[0].Err, results[2].Err)
		}
	})

	t.Run("an unreachable server stops the run: the accounts left are not reviewed", func(t *testing.T) {
		down := exitcode.WithCode(exitcode.Unreachable, errors.New("connection refused"))
		a := &Auditor{Identities: &fakeIdentities{}, NewClient: fakeTokenClients(nil, false, nil, down), Concurrency: 1}
		results, err := a.Audit(ctx, plans)
		if err != nil {
			t.Fatal(err)
		}
		if exitcode.Code(results[0].Err) != exitcode.Unreachable {
			t.Errorf("first account: %v, want unreachable", results[0].Err)
		}
		var skipped *review.NotReviewedError
		for _, r := range results[1:] {
			if !errors.As(r.Err, &skipped) {
				t.Errorf("%s: %v, want not reviewed", r.Account, r.Err)
			}
		}
	})

	t.Run("a review that fails on its own does not stop the others", func(t *testing.T) {
		forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "selfsubjectrulesreviews"}, "", errors.New("no"))
		a := &Auditor{Identities: &fakeIdentities{}, NewClient: fakeTokenClients(nil, false, nil, forbidden), Concurrency: 1}
		results, _ := a.Audit(ctx, plans)
		for _, r := range results {
			var skipped *review.NotReviewedError
			if r.Err == nil || errors.As(r.Err, &skipped) {
				t.Errorf("%s: %v, want its own review error", r.Account, r.Err)
			}
		}
	})

	t.Run("an incomplete review is verified: a right only the webhook grants is found", func(t *testing.T) {
		a := &Auditor{Identities: &fakeIdentities{}, NewClient: fakeTokenClients(nil, true, []string{"create pods/exec a1"}, nil), Concurrency: 1}
		results, err := a.Audit(ctx, plans[:1])
		if err != nil {
			t.Fatal(err)
		}
		rec := NewAccountRecord(results[0], RecordOptions{})
		if !rec.Incomplete || len(rec.Findings) != 1 || rec.Findings[0].Check != "exec" || !slices.Equal(rec.Findings[0].Sources, []string{"verified"}) || rec.Baseline {
			t.Errorf("record %+v: want an incomplete review, one verified exec finding, not baseline", rec)
		}
		if got := a.Requests(); got != int64(1+1+len(review.RiskActions())) && got < 3 {
			t.Errorf("Requests() = %d", got)
		}
	})

	t.Run("--verify verifies complete reviews too", func(t *testing.T) {
		a := &Auditor{Identities: &fakeIdentities{}, NewClient: fakeTokenClients(nil, false, nil, nil), Concurrency: 1, Verify: true}
		results, _ := a.Audit(ctx, plans[:1])
		if len(results[0].Verified) == 0 {
			t.Errorf("no action verified with Verify")
		}
		a.Verify = false
		results, _ = a.Audit(ctx, plans[:1])
		if len(results[0].Verified) != 0 {
			t.Errorf("%d actions verified of a complete review without Verify, want 0", len(results[0].Verified))
		}
	})
}

func TestPrintCluster(t *testing.T) {
	rec := ClusterRecord{
		Accounts: []AccountRecord{
			{Namespace: "a1", Name: "default", Default: true, Audited: true, Severity: risk.High, Findings: []FindingRecord{
				{Check: "read-secrets", Severity: risk.High, ClusterWide: true},
				{Check: "exec", Severity: risk.High, Accepted: true, AcceptedReason: "debugging", Namespaces: []string{"a1", "b2"}},
			}},
			{Namespace: "b2", Name: "app", Audited: true, Baseline: true},
		},
		Summary: Summary{Accounts: 2, Risky: 1, Baseline: 1, DefaultBeyondBaseline: 1},
	}
	var b strings.Builder
	if err := PrintCluster(&b, rec); err != nil {
		t.Fatal(err)
	}
	want := `SERVICE ACCOUNT        SEVERITY   RISK                   WHERE
a1/default (default)   high       read-secrets(high)     every namespace
                                  exec(high, accepted)   a1, b2
2 service accounts: 1 with risky rights, 0 with other rights of their own, 1 with nothing beyond the baseline
default service accounts with rights beyond the baseline (every pod that names no service account has them): a1/default
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("PrintCluster (-want +got):\n%s", diff)
	}
	b.Reset()
	_ = PrintCluster(&b, ClusterRecord{Context: "prod", Server: "https://x", Error: "unreachable"})
	if got := b.String(); got != "Context prod (https://x)\nnot audited: unreachable\n" {
		t.Errorf("PrintCluster of a failed cluster = %q", got)
	}
	b.Reset()
	_ = PrintCluster(&b, ClusterRecord{})
	if got := b.String(); got != "no service accounts in scope\n" {
		t.Errorf("PrintCluster of no accounts = %q", got)
	}
}

func TestAccountRecordGrades(t *testing.T) {
	secrets := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}
	exec := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create"}}
	results := []review.NamespaceResult{
		{Namespace: "a1", ResourceRules: []authorizationv1.ResourceRule{{APIGroups: secrets.APIGroups, Resources: secrets.Resources, Verbs: secrets.Verbs}}},
		{Namespace: "kube-system", ResourceRules: []authorizationv1.ResourceRule{
			{APIGroups: secrets.APIGroups, Resources: secrets.Resources, Verbs: secrets.Verbs},
			{APIGroups: exec.APIGroups, Resources: exec.Resources, Verbs: exec.Verbs},
		}},
	}
	plan := Plan{Account: Account{Namespace: "a1", Name: "ci"}, Namespaces: []string{"a1", "kube-system"}, RoleBindingNamespaces: []string{"a1", "kube-system"},
		Bindings: []Binding{{Kind: "RoleBinding", Namespace: "kube-system", Name: "x", Role: "ClusterRole x", Via: "ServiceAccount"}}}
	r := Result{Plan: &plan, Results: results, Risks: review.Risks(results)}

	t.Run("the gravest open finding grades the account; kube-system weighs more", func(t *testing.T) {
		rec := NewAccountRecord(r, RecordOptions{})
		if rec.Severity != risk.Critical {
			t.Errorf("account severity %s, want critical (read-secrets in kube-system)", rec.Severity)
		}
		if len(rec.Findings) != 2 || rec.Findings[0].Check != "read-secrets" || rec.Findings[0].Severity != risk.Critical || !slices.Equal(rec.Findings[0].Namespaces, []string{"a1", "kube-system"}) {
			t.Errorf("findings %+v, want read-secrets (critical, in a1 and kube-system) first", rec.Findings)
		}
	})

	t.Run("an exception accepts a check: still reported, marked, and no longer grading the account", func(t *testing.T) {
		rec := NewAccountRecord(r, RecordOptions{Exceptions: risk.Exceptions{{Check: "read-secrets", Reason: "the backup job"}}})
		var got []string
		for _, f := range rec.Findings {
			got = append(got, fmt.Sprintf("%s %s accepted=%v %q", f.Check, f.Severity, f.Accepted, f.AcceptedReason))
		}
		want := []string{`exec critical accepted=false ""`, `read-secrets critical accepted=true "the backup job"`}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("findings (-want +got):\n%s", diff)
		}
		if rec.Severity != risk.Critical {
			t.Errorf("account severity %s, want critical (exec in kube-system, not accepted)", rec.Severity)
		}
		only := NewAccountRecord(r, RecordOptions{Exceptions: risk.Exceptions{{Check: "read-secrets", Reason: "r"}, {Check: "exec", Reason: "r"}}})
		if only.Risky() || only.Severity != 0 {
			t.Errorf("every finding accepted: Risky() = %v, severity %s; want not risky", only.Risky(), only.Severity)
		}
		c := NewClusterRecord([]Result{r}, RecordOptions{Exceptions: risk.Exceptions{{Check: "read-secrets", Reason: "r"}, {Check: "exec", Reason: "r"}}})
		if c.Summary.Risky != 0 || c.Summary.Accepted != 1 {
			t.Errorf("summary %+v, want 0 risky, 1 accepted", c.Summary)
		}
		narrowed := NewAccountRecord(r, RecordOptions{Exceptions: risk.Exceptions{{Check: "read-secrets", Namespace: "a1", Reason: "r"}}})
		if f := narrowed.Findings[0]; f.Check != "read-secrets" || f.Accepted {
			t.Errorf("an exception for a1 alone accepted the kube-system finding too: %+v", f)
		}
	})

	t.Run("--explain names the binding and role of each finding", func(t *testing.T) {
		objs := &grant.Objects{
			ClusterRoles: []rbacv1.ClusterRole{{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Rules: []rbacv1.PolicyRule{secrets, exec}}},
			RoleBindings: []rbacv1.RoleBinding{{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "x"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "x"}, Subjects: []rbacv1.Subject{saSubject("a1", "ci")}}},
		}
		rec := NewAccountRecord(r, RecordOptions{RBAC: objs})
		for _, f := range rec.Findings {
			if f.Check == "exec" && !slices.Equal(f.GrantedBy, []string{"RoleBinding kube-system/x → ClusterRole x"}) {
				t.Errorf("exec granted by %q", f.GrantedBy)
			}
			if f.Check == "read-secrets" && !f.GrantedElsewhere {
				t.Errorf("read-secrets in a1 has no RBAC grant here, want it labelled granted elsewhere: %+v", f)
			}
		}
	})
}

func TestAuditKeepRules(t *testing.T) {
	ctx := context.Background()
	plans := PlanAccounts([]Account{{Namespace: "a1", Name: "x"}}, nil, nil)
	// In the order the review sorts them.
	listed := []authorizationv1.ResourceRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"list"}}, secretsRule("get")}
	rules := rulesOf{"token-a1-x": {"a1": listed}}
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("KeepRules=%v", keep), func(t *testing.T) {
			a := &Auditor{Identities: &fakeIdentities{}, NewClient: fakeTokenClients(rules, false, nil, nil), Concurrency: 1, KeepRules: keep}
			results, err := a.Audit(ctx, plans)
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != 1 || len(results[0].Results) != 1 {
				t.Fatalf("results %+v, want one account reviewed in one namespace", results)
			}
			var want []authorizationv1.ResourceRule
			if keep {
				want = listed
			}
			if diff := cmp.Diff(want, results[0].Results[0].ResourceRules); diff != "" {
				t.Errorf("rules kept (-want +got):\n%s", diff)
			}
			// The rules are graded before they are dropped: the risky one is
			// found either way.
			rec := NewAccountRecord(results[0], RecordOptions{Rules: keep})
			if len(rec.Findings) != 1 || rec.Findings[0].Check != "read-secrets" {
				t.Errorf("findings %+v, want read-secrets", rec.Findings)
			}
		})
	}
}

func TestAuditVerifyNothingReviewed(t *testing.T) {
	// With --verify, an account none of whose reviews succeeded is not
	// verified: not even its cluster-scoped risk actions are asked.
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "selfsubjectrulesreviews"}, "", errors.New("no"))
	a := &Auditor{Identities: &fakeIdentities{}, NewClient: fakeTokenClients(nil, false, []string{"get nodes/proxy "}, forbidden), Concurrency: 1, Verify: true}
	results, err := a.Audit(context.Background(), PlanAccounts([]Account{{Namespace: "a1", Name: "x"}}, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if results[0].Err == nil || len(results[0].Verified) != 0 {
		t.Errorf("result %+v: want its review error and nothing verified", results[0])
	}
	if got := a.Requests(); got != 2 {
		t.Errorf("Requests() = %d, want 2 (the token and the one review)", got)
	}
}

func TestAccountRecordVerified(t *testing.T) {
	// The webhook allows exec in a1 and nodes/proxy (cluster-scoped); no
	// listed rule grants either.
	a := &Auditor{Identities: &fakeIdentities{}, NewClient: fakeTokenClients(nil, true, []string{"create pods/exec a1", "get nodes/proxy "}, nil), Concurrency: 1}
	results, err := a.Audit(context.Background(), PlanAccounts([]Account{{Namespace: "a1", Name: "x"}}, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	where := func(rec AccountRecord) map[string]FindingRecord {
		got := map[string]FindingRecord{}
		for _, f := range rec.Findings {
			got[f.Check] = FindingRecord{Namespaces: f.Namespaces, ClusterWide: f.ClusterWide, Sources: f.Sources, GrantedBy: f.GrantedBy, GrantedElsewhere: f.GrantedElsewhere}
		}
		return got
	}

	t.Run("a verified finding holds in its namespace, a cluster-scoped one in every namespace", func(t *testing.T) {
		want := map[string]FindingRecord{
			"exec":        {Namespaces: []string{"a1"}, Sources: []string{"verified"}},
			"nodes-proxy": {ClusterWide: true, Sources: []string{"verified"}},
		}
		if diff := cmp.Diff(want, where(NewAccountRecord(results[0], RecordOptions{}))); diff != "" {
			t.Errorf("findings (-want +got):\n%s", diff)
		}
	})

	t.Run("--explain labels a verified finding no RBAC object grants as granted elsewhere", func(t *testing.T) {
		want := map[string]FindingRecord{
			"exec":        {Namespaces: []string{"a1"}, Sources: []string{"verified"}, GrantedBy: []string{grant.ElsewhereLabel}, GrantedElsewhere: true},
			"nodes-proxy": {ClusterWide: true, Sources: []string{"verified"}, GrantedBy: []string{grant.ElsewhereLabel}, GrantedElsewhere: true},
		}
		if diff := cmp.Diff(want, where(NewAccountRecord(results[0], RecordOptions{RBAC: &grant.Objects{}}))); diff != "" {
			t.Errorf("findings (-want +got):\n%s", diff)
		}
	})
}

func TestClusterRecordOrder(t *testing.T) {
	// Same severity (high), one finding each, neither cluster-wide: the
	// check earlier in the catalog (read-secrets before exec) ranks first,
	// whatever the names.
	account := func(ns, name string, rule authorizationv1.ResourceRule) Result {
		results := []review.NamespaceResult{{Namespace: ns, ResourceRules: []authorizationv1.ResourceRule{rule}}}
		plan := Plan{Account: Account{Namespace: ns, Name: name}, Namespaces: []string{ns}, RoleBindingNamespaces: []string{ns},
			Bindings: []Binding{{Kind: "RoleBinding", Namespace: ns, Name: name, Role: "Role " + name, Via: "ServiceAccount"}}}
		return Result{Plan: &plan, Results: results, Risks: review.Risks(results)}
	}
	execRule := authorizationv1.ResourceRule{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create"}}
	rec := NewClusterRecord([]Result{
		account("a1", "execer", execRule),
		account("z9", "reader", secretsRule("get")),
	}, RecordOptions{})
	var got []string
	for _, a := range rec.Accounts {
		var checks []string
		for _, f := range a.Findings {
			checks = append(checks, f.Check)
		}
		got = append(got, fmt.Sprintf("%s/%s %s %s", a.Namespace, a.Name, a.Severity, strings.Join(checks, ",")))
	}
	want := []string{"z9/reader high read-secrets", "a1/execer high exec"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("accounts, riskiest first (-want +got):\n%s", diff)
	}
}

func TestPrintClusterTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  ClusterRecord
		want string
	}{{
		name: "only baseline accounts: no table, no default line",
		rec: ClusterRecord{
			Accounts: []AccountRecord{{Namespace: "a1", Name: "default", Default: true, Audited: true, Baseline: true}},
			Summary:  Summary{Accounts: 1, Baseline: 1},
		},
		want: "1 service accounts: 0 with risky rights, 0 with other rights of their own, 1 with nothing beyond the baseline\n",
	}, {
		name: "every account risky: the table, no default line",
		rec: ClusterRecord{
			Accounts: []AccountRecord{{Namespace: "a1", Name: "ci", Audited: true, Severity: risk.High, Findings: []FindingRecord{
				{Check: "exec", Severity: risk.High, Namespaces: []string{"a1"}},
			}}},
			Summary: Summary{Accounts: 1, Risky: 1},
		},
		want: `SERVICE ACCOUNT   SEVERITY   RISK         WHERE
a1/ci             high       exec(high)   a1
1 service accounts: 1 with risky rights, 0 with other rights of their own, 0 with nothing beyond the baseline
`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := PrintCluster(&b, tc.rec); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("PrintCluster (-want +got):\n%s", diff)
			}
		})
	}
}
