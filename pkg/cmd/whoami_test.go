package cmd

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/review"
	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

func decodeRecord(t *testing.T, stdout string) review.Record {
	t.Helper()
	var rec review.Record
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, stdout)
	}
	return rec
}

func podsRule(verbs ...string) []authorizationv1.ResourceRule {
	return []authorizationv1.ResourceRule{{Verbs: verbs, APIGroups: []string{""}, Resources: []string{"pods"}}}
}

// reviewedNamespaces are the namespaces of the SelfSubjectRulesReviews a
// fake saw, sorted.
func reviewedNamespaces(client interface{ Actions() []clienttesting.Action }) []string {
	got := []string{}
	for _, a := range client.Actions() {
		if a.Matches("create", "selfsubjectrulesreviews") {
			got = append(got, a.(clienttesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectRulesReview).Spec.Namespace)
		}
	}
	sort.Strings(got)
	return got
}

// writeTokenFile writes testToken to a file for --token-file.
func writeTokenFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestWhoamiRequests pins the requests of a run, and which credentials
// send each: the token is obtained with the caller's credentials (one GET
// of the ServiceAccount and one LIST of the Secrets, at once, then a
// TokenRequest), -A lists namespaces with them too, and the token alone
// sends one SelfSubjectReview and one SelfSubjectRulesReview per namespace.
// After the reviews the caller's credentials read RBAC once, concurrently:
// one LIST of ClusterRoles and of ClusterRoleBindings, and of Roles and
// RoleBindings one per namespace reviewed, or one cluster-wide with -A.
// Nothing else: no discovery, and no SelfSubjectAccessReview when the
// reviews are complete.
func TestWhoamiRequests(t *testing.T) {
	tokenFile := writeTokenFile(t)
	obtain := []string{"get serviceaccounts in build", "list secrets in build", "create serviceaccounts/token in build"}
	rbacIn := func(namespaces ...string) []string {
		out := []string{"list clusterrolebindings", "list clusterroles"}
		for _, ns := range namespaces {
			out = append(out, "list rolebindings"+ns, "list roles"+ns)
		}
		sort.Strings(out)
		return out
	}
	cases := []struct {
		name           string
		args           []string
		wantCaller     []string
		wantRBAC       []string // with the caller's credentials, in any order
		wantToken      []string
		wantNamespaces []string
	}{
		{
			name:           "a service account, in its namespace",
			wantRBAC:       rbacIn(" in build"),
			args:           []string{"ci", "-n", "build"},
			wantCaller:     obtain,
			wantToken:      []string{"create selfsubjectreviews", "create selfsubjectrulesreviews"},
			wantNamespaces: []string{"build"},
		},
		{
			name:           "the context's namespace",
			wantRBAC:       rbacIn(" in build"),
			args:           []string{"ci"},
			wantCaller:     obtain,
			wantToken:      []string{"create selfsubjectreviews", "create selfsubjectrulesreviews"},
			wantNamespaces: []string{"build"},
		},
		{
			name:           "-A lists the namespaces with the caller's credentials, once",
			wantRBAC:       rbacIn(""),
			args:           []string{"ci", "-A"},
			wantCaller:     append(append([]string{}, obtain...), "list namespaces"),
			wantToken:      []string{"create selfsubjectreviews", "create selfsubjectrulesreviews", "create selfsubjectrulesreviews", "create selfsubjectrulesreviews", "create selfsubjectrulesreviews"},
			wantNamespaces: []string{"build", "x", "y", "z"},
		},
		{
			name:           "--namespaces reviews each named namespace once",
			wantRBAC:       rbacIn(" in x", " in y"),
			args:           []string{"ci", "--namespaces", "y,x,y"},
			wantCaller:     obtain,
			wantToken:      []string{"create selfsubjectreviews", "create selfsubjectrulesreviews", "create selfsubjectrulesreviews"},
			wantNamespaces: []string{"x", "y"},
		},
		{
			name:           "--current obtains no token: the caller's credentials review themselves",
			wantRBAC:       rbacIn(" in build"),
			args:           []string{"--current"},
			wantCaller:     []string{"create selfsubjectreviews", "create selfsubjectrulesreviews"},
			wantToken:      []string{},
			wantNamespaces: []string{},
		},
		{
			name:           "--token-file obtains no token",
			wantRBAC:       rbacIn(" in x"),
			args:           []string{"--token-file", tokenFile, "-n", "x"},
			wantCaller:     []string{},
			wantToken:      []string{"create selfsubjectreviews", "create selfsubjectrulesreviews"},
			wantNamespaces: []string{"x"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t)
			if _, stderr, err := c.whoami(tc.args...); err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			var caller, rbac []string
			for _, r := range requests(c.caller) {
				if strings.HasPrefix(r, "list cluster") || strings.HasPrefix(r, "list role") {
					rbac = append(rbac, r)
				} else {
					caller = append(caller, r)
				}
			}
			if caller == nil {
				caller = []string{}
			}
			sort.Strings(rbac)
			if diff := cmp.Diff(tc.wantRBAC, rbac); diff != "" {
				t.Errorf("RBAC lists with the caller's credentials (-want +got):\n%s", diff)
			}
			// The ServiceAccount GET and the Secret LIST are sent at once,
			// in no particular order.
			if len(caller) >= 2 && caller[0] > caller[1] {
				caller[0], caller[1] = caller[1], caller[0]
			}
			if diff := cmp.Diff(tc.wantCaller, caller); diff != "" {
				t.Errorf("requests with the caller's credentials (-want +got):\n%s", diff)
			}
			// The SelfSubjectReview and the rules reviews go out together,
			// in no particular order.
			token := requests(c.asToken)
			sort.Strings(token)
			if diff := cmp.Diff(tc.wantToken, token); diff != "" {
				t.Errorf("requests with the token (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantNamespaces, reviewedNamespaces(c.asToken)); diff != "" {
				t.Errorf("namespaces reviewed with the token (-want +got):\n%s", diff)
			}
			for _, client := range []interface{ Actions() []clienttesting.Action }{c.caller, c.asToken} {
				for _, a := range client.Actions() {
					if a.Matches("create", "selfsubjectaccessreviews") {
						t.Errorf("a complete review sent a SelfSubjectAccessReview: %v", a)
					}
				}
			}
			// The token's client is sized for the fan-out.
			fanOut := review.FanOutConfig(&rest.Config{}, review.DefaultConcurrency)
			for _, cfg := range c.tokenConfigs {
				if cfg.QPS != fanOut.QPS || cfg.Burst != fanOut.Burst || cfg.RateLimiter != nil {
					t.Errorf("the token's client has QPS %v, burst %d, rate limiter %v; want %v, %d, none", cfg.QPS, cfg.Burst, cfg.RateLimiter, fanOut.QPS, fanOut.Burst)
				}
			}
		})
	}
}

// TestWhoamiOneNamespaceFailingKeepsTheOthers: a failed namespace is
// reported, the others are printed, and the exit code is that of the
// failure that explains most (exitcode.Worst). The reviews are sent one at
// a time, so that which namespace stops the run is certain.
func TestWhoamiOneNamespaceFailingKeepsTheOthers(t *testing.T) {
	serverError := apierrors.NewInternalError(errors.New("boom"))
	ssrr := schema.GroupResource{Group: "authorization.k8s.io", Resource: "selfsubjectrulesreviews"}
	endpoint := testServer + "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
	cases := []struct {
		name       string
		fail       map[string]error
		code       int
		want       []string // namespace summaries in -o json
		wantErr    string
		wantStderr []string // one line per namespace that failed on its own
	}{
		{
			name:       "a server error in one namespace keeps the rules of the others",
			fail:       map[string]error{"b": serverError},
			code:       exitcode.BadStatus,
			want:       []string{"a rules=1 error=false", "b rules=0 error=true", "c rules=1 error=false"},
			wantErr:    "1 of 3 namespaces were not reviewed: b",
			wantStderr: []string{`namespace "b": Internal error occurred: boom`},
		},
		{
			name:       "another HTTP status explains more than a plain error",
			fail:       map[string]error{"a": errors.New("the fake failed"), "b": serverError},
			code:       exitcode.BadStatus,
			want:       []string{"a rules=0 error=true", "b rules=0 error=true", "c rules=1 error=false"},
			wantErr:    "2 of 3 namespaces were not reviewed: a, b",
			wantStderr: []string{`namespace "a": the fake failed`, `namespace "b": Internal error occurred: boom`},
		},
		{
			name:       "a forbidden review explains more than a server error, and stops the run",
			fail:       map[string]error{"a": serverError, "b": apierrors.NewForbidden(ssrr, "", errors.New("no"))},
			code:       exitcode.Forbidden,
			want:       []string{"a rules=0 error=true", "b rules=0 error=true", "c rules=0 error=true"},
			wantErr:    "3 of 3 namespaces were not reviewed: a, b, c (1 of them because the run stopped after the first failure)",
			wantStderr: []string{`namespace "a": Internal error occurred: boom`, `namespace "b": selfsubjectrulesreviews.authorization.k8s.io is forbidden`},
		},
		{
			name:       "a rejected token explains more than a server error",
			fail:       map[string]error{"a": serverError, "b": apierrors.NewUnauthorized("expired")},
			code:       exitcode.Unauthorized,
			want:       []string{"a rules=0 error=true", "b rules=0 error=true", "c rules=0 error=true"},
			wantErr:    "3 of 3 namespaces were not reviewed: a, b, c (1 of them because the run stopped after the first failure)",
			wantStderr: []string{`namespace "a": Internal error occurred: boom`, `namespace "b": expired`},
		},
		{
			name:       "a TLS failure explains more than a server error",
			fail:       map[string]error{"a": serverError, "b": &url.Error{Op: "Post", URL: endpoint, Err: x509.UnknownAuthorityError{}}},
			code:       exitcode.TLS,
			want:       []string{"a rules=0 error=true", "b rules=0 error=true", "c rules=0 error=true"},
			wantErr:    "3 of 3 namespaces were not reviewed: a, b, c (1 of them because the run stopped after the first failure)",
			wantStderr: []string{`namespace "a": Internal error occurred: boom`, `namespace "b": Post "` + endpoint + `": x509: certificate signed by unknown authority`},
		},
		{
			name: "an unreachable server explains more than a server error",
			fail: map[string]error{"a": serverError, "b": &url.Error{Op: "Post", URL: endpoint,
				Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}},
			code:       exitcode.Unreachable,
			want:       []string{"a rules=0 error=true", "b rules=0 error=true", "c rules=0 error=true"},
			wantErr:    "3 of 3 namespaces were not reviewed: a, b, c (1 of them because the run stopped after the first failure)",
			wantStderr: []string{`namespace "a": Internal error occurred: boom`, `namespace "b": Post "` + endpoint + `": dial tcp: connection refused`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t)
			c.rules["a"] = podsRule("get")
			c.rules["c"] = podsRule("list")
			c.fail = tc.fail
			stdout, stderr, err := c.whoami("ci", "--namespaces", "c,b,a", "--concurrency", "1", "-o", "json")
			if code := exitcode.Code(err); code != tc.code {
				t.Errorf("exit %d, want %d: %v", code, tc.code, err)
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("error = %v, want %q", err, tc.wantErr)
			}
			rec := decodeRecord(t, stdout)
			got := []string{}
			for _, ns := range rec.Namespaces {
				got = append(got, fmt.Sprintf("%s rules=%d error=%t", ns.Namespace, len(ns.ResourceRules), ns.Error != ""))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("namespaces in -o json (-want +got):\n%s", diff)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if len(lines) != len(tc.wantStderr) {
				t.Fatalf("stderr has %d lines, want %d:\n%s", len(lines), len(tc.wantStderr), stderr)
			}
			for i, want := range tc.wantStderr {
				if !strings.HasPrefix(lines[i], want) {
					t.Errorf("stderr line %d = %q, want it to start with %q", i+1, lines[i], want)
				}
			}
		})
	}
}

func TestWhoamiHumanOutput(t *testing.T) {
	c := newFakeCluster(t)
	c.user.Extra = map[string]authenticationv1.ExtraValue{"authentication.kubernetes.io/credential-id": {"JTI=j1"}}
	c.rules["a"] = []authorizationv1.ResourceRule{
		{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}},
		{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"tls"}},
	}
	c.rules["b"] = podsRule("get", "list")
	stdout, stderr, err := c.whoami("ci", "--namespaces", "a,b")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	want := `ATTRIBUTE                                           VALUE
Username                                            system:serviceaccount:build:ci
UID                                                 sa-uid
Groups                                              [system:serviceaccounts system:serviceaccounts:build system:authenticated]
Extra: authentication.kubernetes.io/credential-id   [JTI=j1]
Source                                              SelfSubjectReview (authentication.k8s.io/v1)

RESOURCES   NON-RESOURCE URLS   RESOURCE NAMES   VERBS        WHERE                       RISK
pods        []                  []               [get list]   all 2 reviewed namespaces   
secrets     []                  [tls]            [get]        a                           read-secrets(medium)
            [/version]          []               [get]        all 2 reviewed namespaces   

RISK           SEVERITY   REASON
read-secrets   high       reads Secrets, which hold credentials and other service accounts' tokens
A rule's severity differs from its check's when the rule holds in kube-system (raised) or is narrowed by resourceNames (lowered); -o json says why (severityNote).
`
	if diff := cmp.Diff(want, stdout); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want nothing", stderr)
	}
}

// TestWhoamiFailOnRisk: --fail-on-risk compares each finding's severity
// with its threshold (plain, =true: high), and findings that --risk-ignore
// or --risk-exceptions accept are printed, marked, and not counted.
func TestWhoamiFailOnRisk(t *testing.T) {
	admin := []authorizationv1.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}
	secrets := []authorizationv1.ResourceRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}}}
	crds := []authorizationv1.ResourceRule{{Verbs: []string{"create"}, APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"}}}
	exceptions := writeTempFile(t, "exceptions.yaml", `apiVersion: access.kubectl-access.io/v1alpha1
kind: RiskExceptions
exceptions:
- check: read-secrets
  serviceAccount: build/ci
  reason: ci reads back what it deploys
- check: admin
  serviceAccount: build/other
  reason: not for ci
`)
	cases := []struct {
		name      string
		args      []string
		fail      bool // b fails
		code      int
		wantErr   string
		wantRisks []string
	}{
		{name: "a risky rule with --fail-on-risk exits 8 after printing", args: []string{"--namespaces", "a", "--fail-on-risk"}, code: exitcode.Risk,
			wantErr: "--fail-on-risk=high: risky rights (admin) hold in 1 of 1 namespaces reviewed", wantRisks: []string{"a admin critical"}},
		{name: "the namespaces where risky rules hold are counted", args: []string{"--namespaces", "a,b", "--fail-on-risk"}, code: exitcode.Risk,
			wantErr: "--fail-on-risk=high: risky rights (admin) hold in 1 of 2 namespaces reviewed", wantRisks: []string{"a admin critical"}},
		{name: "no risky rule passes --fail-on-risk", args: []string{"--namespaces", "b", "--fail-on-risk"}},
		{name: "without --fail-on-risk risky rules are only shown", args: []string{"--namespaces", "a"}, wantRisks: []string{"a admin critical"}},
		{name: "a namespace not reviewed explains more than a risk", args: []string{"--namespaces", "a,b", "--fail-on-risk"}, fail: true, code: exitcode.BadStatus,
			wantErr: "1 of 2 namespaces were not reviewed: b", wantRisks: []string{"a admin critical"}},

		// Thresholds.
		{name: "a high finding passes the critical threshold", args: []string{"--namespaces", "h", "--fail-on-risk=critical"}, wantRisks: []string{"h read-secrets high"}},
		{name: "a critical finding fails the critical threshold", args: []string{"--namespaces", "a,h", "--fail-on-risk=critical"}, code: exitcode.Risk,
			wantErr: "--fail-on-risk=critical: risky rights (admin) hold in 1 of 2 namespaces reviewed", wantRisks: []string{"a admin critical", "h read-secrets high"}},
		{name: "a high finding fails the high threshold", args: []string{"--namespaces", "h", "--fail-on-risk=high"}, code: exitcode.Risk,
			wantErr: "--fail-on-risk=high: risky rights (read-secrets) hold in 1 of 1 namespaces reviewed", wantRisks: []string{"h read-secrets high"}},
		{name: "true is high", args: []string{"--namespaces", "h", "--fail-on-risk=true"}, code: exitcode.Risk,
			wantErr: "--fail-on-risk=high: risky rights (read-secrets) hold in 1 of 1 namespaces reviewed", wantRisks: []string{"h read-secrets high"}},
		{name: "false is off", args: []string{"--namespaces", "a", "--fail-on-risk=false"}, wantRisks: []string{"a admin critical"}},
		{name: "a medium finding passes the high threshold", args: []string{"--namespaces", "m", "--fail-on-risk"}, wantRisks: []string{"m write-crds medium"}},
		{name: "a medium finding fails the medium threshold", args: []string{"--namespaces", "m", "--fail-on-risk=medium"}, code: exitcode.Risk,
			wantErr: "--fail-on-risk=medium: risky rights (write-crds) hold in 1 of 1 namespaces reviewed", wantRisks: []string{"m write-crds medium"}},
		{name: "a medium finding fails the low threshold", args: []string{"--namespaces", "m", "--fail-on-risk=low"}, code: exitcode.Risk,
			wantErr: "--fail-on-risk=low: risky rights (write-crds) hold in 1 of 1 namespaces reviewed", wantRisks: []string{"m write-crds medium"}},
		{name: "only the findings at the threshold are named", args: []string{"--namespaces", "a,h,m", "--fail-on-risk=high"}, code: exitcode.Risk,
			wantErr:   "--fail-on-risk=high: risky rights (admin, read-secrets) hold in 2 of 3 namespaces reviewed",
			wantRisks: []string{"a admin critical", "h read-secrets high", "m write-crds medium"}},

		// Exceptions.
		{name: "an ignored check is accepted", args: []string{"--namespaces", "a", "--fail-on-risk", "--risk-ignore", "admin"},
			wantRisks: []string{"a admin critical accepted: accepted on the command line"}},
		{name: "an ignored check in another namespace is not", args: []string{"--namespaces", "a", "--fail-on-risk", "--risk-ignore", "admin:b"}, code: exitcode.Risk,
			wantErr: "--fail-on-risk=high: risky rights (admin) hold in 1 of 1 namespaces reviewed", wantRisks: []string{"a admin critical"}},
		{name: "an ignored check in its namespace is accepted there only", args: []string{"--namespaces", "a,h", "--fail-on-risk", "--risk-ignore", "admin:a", "--risk-ignore", "read-secrets:a"}, code: exitcode.Risk,
			wantErr: "--fail-on-risk=high: risky rights (read-secrets) hold in 1 of 2 namespaces reviewed", wantRisks: []string{"a admin critical accepted: accepted on the command line", "h read-secrets high"}},
		{name: "an exception of the file for this service account is accepted", args: []string{"--namespaces", "a,h", "--fail-on-risk=high", "--risk-exceptions", exceptions}, code: exitcode.Risk,
			wantErr:   "--fail-on-risk=high: risky rights (admin) hold in 1 of 2 namespaces reviewed",
			wantRisks: []string{"a admin critical", "h read-secrets high accepted: ci reads back what it deploys"}},
		{name: "exceptions accept every finding", args: []string{"--namespaces", "a,h", "--fail-on-risk", "--risk-exceptions", exceptions, "--risk-ignore", "admin"},
			wantRisks: []string{"a admin critical accepted: accepted on the command line", "h read-secrets high accepted: ci reads back what it deploys"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t)
			c.rules["a"] = admin
			c.rules["b"] = podsRule("get")
			c.rules["h"] = secrets
			c.rules["m"] = crds
			if tc.fail {
				c.fail["b"] = apierrors.NewInternalError(errors.New("boom"))
			}
			stdout, _, err := c.whoami(append([]string{"ci", "-o", "json"}, tc.args...)...)
			if code := exitcode.Code(err); code != tc.code {
				t.Errorf("exit %d, want %d: %v", code, tc.code, err)
			}
			if tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Errorf("error = %v, want %q", err, tc.wantErr)
			}
			rec := decodeRecord(t, stdout)
			var risks []string
			for _, r := range rec.Risks {
				s := r.Namespace + " " + r.Check + " " + r.Severity.String()
				if r.Accepted {
					s += " accepted: " + r.AcceptedReason
				}
				risks = append(risks, s)
				if r.Reason == "" {
					t.Errorf("risk %s %s has no reason", r.Namespace, r.Check)
				}
			}
			if diff := cmp.Diff(tc.wantRisks, risks); diff != "" {
				t.Errorf("risks in -o json (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWhoamiAcceptedHumanOutput: an accepted finding is marked in the RISK
// column and listed with its reason, never hidden.
func TestWhoamiAcceptedHumanOutput(t *testing.T) {
	c := newFakeCluster(t)
	c.rules["a"] = []authorizationv1.ResourceRule{
		{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}},
		{Verbs: []string{"create"}, APIGroups: []string{""}, Resources: []string{"pods/exec"}},
	}
	c.rules["kube-system"] = []authorizationv1.ResourceRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}}}
	stdout, stderr, err := c.whoami("ci", "--namespaces", "a,kube-system", "--risk-ignore", "read-secrets:a", "--fail-on-risk")
	if code := exitcode.Code(err); code != exitcode.Risk {
		t.Fatalf("exit %d, want %d: %v\n%s", code, exitcode.Risk, err, stderr)
	}
	if want := "--fail-on-risk=high: risky rights (read-secrets, exec) hold in 2 of 2 namespaces reviewed"; err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
	_, table, _ := strings.Cut(stdout, "RESOURCES")
	want := `   NON-RESOURCE URLS   RESOURCE NAMES   VERBS      WHERE                       RISK
pods/exec   []                  []               [create]   a                           exec(high)
secrets     []                  []               [get]      all 2 reviewed namespaces   read-secrets(critical)
            [/version]          []               [get]      all 2 reviewed namespaces   

RISK           SEVERITY   REASON
read-secrets   high       reads Secrets, which hold credentials and other service accounts' tokens
exec           high       runs commands in or attaches to containers (create on pods/exec or pods/attach), and so acts as their service accounts
A rule's severity differs from its check's when the rule holds in kube-system (raised) or is narrowed by resourceNames (lowered); -o json says why (severityNote).

ACCEPTED       NAMESPACE   REASON
read-secrets   a           accepted on the command line
`
	if diff := cmp.Diff(want, table); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}

	// Accepted everywhere, the row says so.
	stdout, stderr, err = c.whoami("ci", "--namespaces", "a,kube-system", "--risk-ignore", "read-secrets", "--risk-ignore", "exec", "--fail-on-risk")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, row := range []string{"exec(high, accepted)", "read-secrets(critical, accepted)", "read-secrets   (all)       accepted on the command line", "exec           (all)       accepted on the command line"} {
		if !strings.Contains(stdout, row) {
			t.Errorf("output lacks %q:\n%s", row, stdout)
		}
	}
}

// TestWhoamiRiskFlagsUsageErrors: a bad --fail-on-risk, --risk-ignore or
// --risk-exceptions is a usage error naming the flag, and nothing is sent.
func TestWhoamiRiskFlagsUsageErrors(t *testing.T) {
	bad := writeTempFile(t, "bad.yaml", "apiVersion: access.kubectl-access.io/v1alpha1\nkind: RiskExceptions\nexceptions:\n- check: exec\n  reason: x\n  until: tomorrow\n")
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"an unknown severity", []string{"--fail-on-risk=severe"}, `--fail-on-risk: "severe" is not one of critical, high, medium, low, true (high) or false (off)`},
		{"an empty severity", []string{"--fail-on-risk="}, `--fail-on-risk: "" is not one of critical, high, medium, low, true (high) or false (off)`},
		{"an unknown check to ignore", []string{"--risk-ignore", "exec", "--risk-ignore", "root"}, `--risk-ignore (value 2 of 2): "root": unknown check "root": want one of `},
		{"an ignore without its namespace", []string{"--risk-ignore", "exec:"}, `--risk-ignore (value 1 of 1): "exec:": no namespace after the colon`},
		{"a missing exceptions file", []string{"--risk-exceptions", missing}, "--risk-exceptions: open " + missing + ": no such file or directory"},
		{"an unknown field in the exceptions file", []string{"--risk-exceptions", bad}, "--risk-exceptions " + bad + ": yaml: unmarshal errors:\n  line 6: unknown field until"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t)
			_, _, err := c.whoami(append([]string{"ci"}, tc.args...)...)
			if code := exitcode.Code(err); code != exitcode.Usage {
				t.Errorf("exit %d, want %d: %v", code, exitcode.Usage, err)
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("error = %v\nwant    %s...", err, tc.wantErr)
			}
			if len(c.caller.Actions())+len(c.asToken.Actions()) != 0 {
				t.Errorf("a usage error sent %v and %v", requests(c.caller), requests(c.asToken))
			}
		})
	}
}

// writeTempFile writes content to a file of a temporary directory.
func writeTempFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestWhoamiTokenClaimsFallbackAndIncomplete(t *testing.T) {
	c := newFakeCluster(t)
	c.user = nil // no SelfSubjectReview in any version
	c.incomplete["a"] = "webhook authorizer does not list rules"
	stdout, stderr, err := c.whoami("ci", "--namespaces", "a", "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	rec := decodeRecord(t, stdout)
	wantUser := review.UserRecord{Username: "system:serviceaccount:build:ci", UID: "sa-uid",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:build", "system:authenticated"},
		Extra:  map[string][]string{"authentication.kubernetes.io/credential-id": {"JTI=j1"}}}
	if diff := cmp.Diff(wantUser, rec.User); diff != "" {
		t.Errorf("user from claims (-want +got):\n%s", diff)
	}
	if rec.IdentitySource != "TokenClaims" {
		t.Errorf("identitySource = %q, want TokenClaims", rec.IdentitySource)
	}
	if len(rec.Namespaces) != 1 || !rec.Namespaces[0].Incomplete || rec.Namespaces[0].EvaluationError != c.incomplete["a"] {
		t.Errorf("namespaces = %+v, want a marked incomplete with the evaluation error", rec.Namespaces)
	}
	wantStderr := []string{
		"Warning: the API server serves no SelfSubjectReview: the identity is decoded from the token's claims, which were not verified",
		"Warning: the server says the rules of namespace(s) a may be incomplete (webhook authorizer does not list rules): a rule missing from the list is no proof that the access is denied",
	}
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if len(lines) != len(wantStderr) {
		t.Fatalf("stderr has %d lines, want %d:\n%s", len(lines), len(wantStderr), stderr)
	}
	for i, want := range wantStderr {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("stderr line %d = %q, want it to start with %q", i+1, lines[i], want)
		}
	}
	var versions []string
	for _, a := range c.asToken.Actions() {
		if a.Matches("create", "selfsubjectreviews") {
			versions = append(versions, a.GetResource().GroupVersion().String())
		}
	}
	want := []string{"authentication.k8s.io/v1", "authentication.k8s.io/v1beta1", "authentication.k8s.io/v1alpha1"}
	if diff := cmp.Diff(want, versions); diff != "" {
		t.Errorf("SelfSubjectReviews sent (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a"}, reviewedNamespaces(c.asToken)); diff != "" {
		t.Errorf("namespaces reviewed (-want +got):\n%s", diff)
	}
}

func TestWhoamiTokenRejected(t *testing.T) {
	c := newFakeCluster(t)
	c.reviewErr = apierrors.NewUnauthorized("token expired")
	stdout, _, err := c.whoami("ci")
	if code := exitcode.Code(err); code != exitcode.Unauthorized {
		t.Errorf("exit %d, want %d: %v", code, exitcode.Unauthorized, err)
	}
	want := "the API server does not accept system:serviceaccount:build:ci (401 Unauthorized): it may be expired, revoked, or meant for another cluster: SelfSubjectReview (authentication.k8s.io/v1): token expired"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	// One namespace's rules review goes out beside the SelfSubjectReview;
	// it may or may not have been sent when the rejection cancels it.
	if got := requests(c.asToken); len(got) == 0 || got[0] != "create selfsubjectreviews" || len(got) > 2 {
		t.Errorf("requests after a rejected token = %q, want the SelfSubjectReview and at most the one namespace's rules review", got)
	}

	// With several namespaces the fan-out waits for the SelfSubjectReview,
	// so a rejected token is sent nothing more.
	c = newFakeCluster(t)
	c.reviewErr = apierrors.NewUnauthorized("token expired")
	if _, _, err := c.whoami("ci", "--namespaces", "a,b,c"); exitcode.Code(err) != exitcode.Unauthorized {
		t.Errorf("--namespaces a,b,c: exit %d, want %d: %v", exitcode.Code(err), exitcode.Unauthorized, err)
	}
	if diff := cmp.Diff([]string{"create selfsubjectreviews"}, requests(c.asToken)); diff != "" {
		t.Errorf("requests after a rejected token with several namespaces, want only the SelfSubjectReview (-want +got):\n%s", diff)
	}
}

// TestWhoamiRefusesAnotherIdentity: when the server says the token is not
// the service account asked for, whoami reports nothing of its access.
func TestWhoamiRefusesAnotherIdentity(t *testing.T) {
	tokenFile := writeTokenFile(t)
	cases := []struct {
		name     string
		args     []string
		username string
		wantErr  string // "" = the run succeeds
	}{
		{
			name:     "a service account's token identified as another account",
			args:     []string{"ci", "-n", "build"},
			username: "system:serviceaccount:build:other",
			wantErr:  `the API server identifies the token as "system:serviceaccount:build:other", not as the requested "system:serviceaccount:build:ci": refusing to report another identity's access as this one's`,
		},
		{
			name:     "a service account's token identified as a user",
			args:     []string{"ci"},
			username: "kubernetes-admin",
			wantErr:  `the API server identifies the token as "kubernetes-admin", not as the requested "system:serviceaccount:build:ci"`,
		},
		{name: "--current names nobody, so nobody is wrong", args: []string{"--current"}, username: "kubernetes-admin"},
		{name: "--token-file names nobody, so nobody is wrong", args: []string{"--token-file", tokenFile}, username: "system:serviceaccount:build:other"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t)
			c.user = &authenticationv1.UserInfo{Username: tc.username}
			stdout, _, err := c.whoami(tc.args...)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if code := exitcode.Code(err); code != exitcode.WrongSubject {
				t.Errorf("exit %d, want %d: %v", code, exitcode.WrongSubject, err)
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("error = %v\nwant    %s", err, tc.wantErr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			// The one namespace's review may have gone out beside the
			// SelfSubjectReview; nothing of it is reported, and no fan-out
			// follows.
			if got := reviewedNamespaces(c.asToken); len(got) > 1 {
				t.Errorf("the rules of another identity were reviewed in %v", got)
			}
			// With several namespaces the fan-out waits for the identity.
			c = newFakeCluster(t)
			c.user = &authenticationv1.UserInfo{Username: tc.username}
			if _, _, err := c.whoami(append(tc.args, "--namespaces", "a,b")...); exitcode.Code(err) != exitcode.WrongSubject {
				t.Errorf("--namespaces a,b: exit %d, want %d: %v", exitcode.Code(err), exitcode.WrongSubject, err)
			}
			if got := reviewedNamespaces(c.asToken); len(got) != 0 {
				t.Errorf("--namespaces a,b: the rules of another identity were reviewed in %v", got)
			}
		})
	}
}

func TestWhoamiAllNamespaces(t *testing.T) {
	c := newFakeCluster(t)
	c.rules["y"] = podsRule("get")
	stdout, stderr, err := c.whoami("ci", "-A", "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var got []string
	for _, ns := range decodeRecord(t, stdout).Namespaces {
		got = append(got, ns.Namespace)
	}
	if diff := cmp.Diff([]string{"build", "x", "y", "z"}, got); diff != "" {
		t.Errorf("namespaces reviewed, sorted (-want +got):\n%s", diff)
	}
	for _, a := range c.asToken.Actions() {
		if a.Matches("list", "namespaces") {
			t.Error("the namespaces were listed with the token, not the caller's credentials")
		}
	}
}

func TestWhoamiRunErrors(t *testing.T) {
	nsResource := schema.GroupResource{Resource: "namespaces"}
	cases := []struct {
		name    string
		setup   func(c *fakeCluster)
		args    []string
		code    int
		wantErr string
		// printed says the identity is printed: it was answered before
		// the failure.
		printed bool
	}{
		{
			name:    "a review forbidden in the only namespace",
			printed: true,
			setup: func(c *fakeCluster) {
				c.fail["a"] = apierrors.NewForbidden(schema.GroupResource{}, "", errors.New("no"))
			},
			args:    []string{"ci", "--namespaces", "a"},
			code:    exitcode.Forbidden,
			wantErr: `SelfSubjectRulesReview in namespace "a": `,
		},
		{
			name:    "-A when the caller may not list namespaces",
			setup:   func(c *fakeCluster) { c.listErr = apierrors.NewForbidden(nsResource, "", errors.New("no")) },
			args:    []string{"ci", "-A"},
			code:    exitcode.Error,
			wantErr: `--all-namespaces lists namespaces with the kubeconfig's credentials, and they may not: namespaces is forbidden: no; name the namespaces to review with --namespaces instead`,
		},
		{
			name: "-A when the server cannot be reached",
			setup: func(c *fakeCluster) {
				c.listErr = &url.Error{Op: "Get", URL: testServer + "/api/v1/namespaces", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
			},
			args:    []string{"ci", "-A"},
			code:    exitcode.Unreachable,
			wantErr: `listing namespaces for --all-namespaces: Get "` + testServer + `/api/v1/namespaces": dial tcp: connection refused`,
		},
		{
			name:    "an unknown service account",
			args:    []string{"nobody"},
			code:    exitcode.Error,
			wantErr: `service account "nobody" not found in namespace "build"`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t)
			if tc.setup != nil {
				tc.setup(c)
			}
			stdout, _, err := c.whoami(tc.args...)
			if code := exitcode.Code(err); code != tc.code {
				t.Errorf("exit %d, want %d: %v", code, tc.code, err)
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("error = %v\nwant    %s...", err, tc.wantErr)
			}
			if printed := strings.HasPrefix(stdout, "ATTRIBUTE"); printed != tc.printed || !printed && stdout != "" {
				t.Errorf("stdout = %q, want the identity printed: %v", stdout, tc.printed)
			}
		})
	}
}

// TestWhoamiUsageErrors: bad values are refused with exit code 2 before
// the kubeconfig's server is even looked up, and never echo a value that
// may be a token.
func TestWhoamiUsageErrors(t *testing.T) {
	tokenFile := writeTokenFile(t)
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YnVpbGQ6Y2kifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"-A and --namespaces", []string{"-A", "--namespaces", "a"}, "--namespaces and -A/--all-namespaces cannot be used together"},
		{"no --namespaces", []string{"--namespaces="}, "--namespaces must name at least one namespace"},
		{"empty --namespaces entry", []string{"--namespaces", "a,,b"}, "--namespaces: value 2 of 3 is not a valid namespace name: it is empty"},
		{"invalid namespace name", []string{"--namespaces", "a,Not_A_Namespace"}, "--namespaces: value 2 of 2 is not a valid namespace name: a lowercase RFC 1123 label must consist of"},
		{"a token in --namespaces", []string{"--namespaces", jwt}, "--namespaces: value 1 of 1 is not a valid namespace name: it looks like a token"},
		{"a token as SERVICEACCOUNT", []string{jwt}, "the SERVICEACCOUNT argument is not a valid service account name: it looks like a token; pass a token with --token-file (or --token-file - for stdin), never as an argument"},
		{"a token as -n", []string{"-n", jwt}, "the namespace (-n or the context's) is not a valid namespace name: it looks like a token"},
		{"an empty SERVICEACCOUNT", []string{""}, "SERVICEACCOUNT must not be empty"},
		{"bad concurrency", []string{"--concurrency", "0"}, "--concurrency must be at least 1 (got 0)"},
		{"bad output", []string{"-o", "xml"}, `--output must be one of json, yaml, wide (got "xml")`},
		{"token flag with --token-file", []string{"--token-file", tokenFile, "--duration", "1h"}, "--duration obtains a service account token; it cannot be used with --token-file"},
		{"token flag with --current", []string{"--current", "--create-secret"}, "--create-secret obtains a service account token; it cannot be used with --current or --token-file"},
		{"service account with --token-file", []string{"--token-file", tokenFile, "ci"}, "--token-file gives the token; it cannot be used with a SERVICEACCOUNT argument"},
		{"a token as SERVICEACCOUNT with --current", []string{"--current", jwt}, "--current acts as the kubeconfig's credentials; it cannot be used with a SERVICEACCOUNT argument"},
		{"--current and --token-file", []string{"--current", "--token-file", tokenFile}, "--current and --token-file cannot be used together"},
		{"--source=mounted", []string{"--source=mounted"}, "--source=mounted is only for kubectl access token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t)
			stdout, stderr, err := c.whoami(tc.args...)
			if code := exitcode.Code(err); code != exitcode.Usage {
				t.Errorf("exit %d, want %d: %v", code, exitcode.Usage, err)
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error = %v\nwant    %s", err, tc.want)
			}
			if err != nil {
				for _, value := range []string{"Not_A_Namespace", jwt[:20], jwt[30:50]} {
					if strings.Contains(err.Error(), value) {
						t.Errorf("the error echoes %q: %v", value, err)
					}
				}
			}
			if stdout != "" || stderr != "" {
				t.Errorf("a usage error printed %q and %q", stdout, stderr)
			}
			if c.callerConfigs != 0 || len(c.caller.Actions()) != 0 || len(c.asToken.Actions()) != 0 {
				t.Errorf("a usage error loaded the caller's config %d times and sent %v and %v", c.callerConfigs, requests(c.caller), requests(c.asToken))
			}
		})
	}
}

func TestFanOutConfig(t *testing.T) {
	base := &rest.Config{Host: "https://example.test", BearerToken: "t", QPS: 5, Burst: 10, RateLimiter: flowcontrol.NewFakeAlwaysRateLimiter()}
	for _, tc := range []struct{ concurrency, want int }{{1, 100}, {16, 400}, {64, 1600}} {
		cfg := review.FanOutConfig(base, tc.concurrency)
		if cfg.QPS != float32(tc.want) || cfg.Burst != tc.want || cfg.RateLimiter != nil {
			t.Errorf("concurrency %d: QPS %v, burst %d, rate limiter %v; want %d, %d, none", tc.concurrency, cfg.QPS, cfg.Burst, cfg.RateLimiter, tc.want, tc.want)
		}
		if cfg.BearerToken != "t" || cfg.Host != base.Host {
			t.Errorf("FanOutConfig changed the credentials or the server: %+v", cfg)
		}
	}
	if base.QPS != 5 || base.RateLimiter == nil {
		t.Error("FanOutConfig changed its input")
	}
}

// accessReviews counts the SelfSubjectAccessReviews a fake saw.
func accessReviews(client interface{ Actions() []clienttesting.Action }) int {
	n := 0
	for _, a := range client.Actions() {
		if a.Matches("create", "selfsubjectaccessreviews") {
			n++
		}
	}
	return n
}

// TestWhoamiVerifies: where the rules review is incomplete (or with
// --verify), every risky action is asked with a SelfSubjectAccessReview
// as the token; --check asks the named actions. --fail-on-risk exits 8
// for a risky action allowed outside the listed rules, and fails closed
// with 9 when a risky action of an incomplete review cannot be verified.
func TestWhoamiVerifies(t *testing.T) {
	// Each asked once with one namespace; those of kube-system not there.
	namespaced, _, clusterScoped := review.RiskActionCounts()
	riskActions := namespaced + clusterScoped
	cases := []struct {
		name       string
		args       []string
		incomplete bool
		allowed    []string
		accessErr  error
		code       int
		wantErr    string
		wantAsked  int
		// wantVerified are the verified actions of -o json worth a
		// summary: allowed, not verified, or requested, with their risks.
		wantVerified []string
	}{
		{
			name:       "an incomplete review asks about every risky action",
			incomplete: true,
			wantAsked:  riskActions,
		},
		{
			name:       "a risky action allowed outside the listed rules fails --fail-on-risk",
			args:       []string{"--fail-on-risk"},
			incomplete: true,
			allowed:    []string{"a create pods/exec"},
			code:       exitcode.Risk,
			wantErr:    "--fail-on-risk=high: risky rights (" + risk.Exec + ") hold in 1 of 1 namespaces reviewed",
			wantAsked:  riskActions,
			wantVerified: []string{
				"a create pods/exec allowed=true verified=true covered=false [exec(high)]",
			},
		},
		{
			name:         "a high risky action allowed outside the listed rules passes --fail-on-risk=critical",
			args:         []string{"--fail-on-risk=critical"},
			incomplete:   true,
			allowed:      []string{"a create pods/exec"},
			wantAsked:    riskActions,
			wantVerified: []string{"a create pods/exec allowed=true verified=true covered=false [exec(high)]"},
		},
		{
			name:         "an accepted risky action allowed outside the listed rules passes --fail-on-risk",
			args:         []string{"--fail-on-risk", "--risk-ignore", "exec:a"},
			incomplete:   true,
			allowed:      []string{"a create pods/exec"},
			wantAsked:    riskActions,
			wantVerified: []string{"a create pods/exec allowed=true verified=true covered=false [exec(high) accepted]"},
		},
		{
			name:         "a cluster-scoped risky action holds in every namespace reviewed, each counted once",
			args:         []string{"--fail-on-risk", "--namespaces", "a,b,c"},
			incomplete:   true,
			allowed:      []string{" impersonate users", "a create pods/exec"},
			code:         exitcode.Risk,
			wantErr:      "--fail-on-risk=high: risky rights (" + risk.Impersonate + ", " + risk.Exec + ") hold in 3 of 3 namespaces reviewed",
			wantAsked:    riskActions + 2*namespaced,
			wantVerified: []string{" impersonate users allowed=true verified=true covered=false [impersonate(critical)]", "a create pods/exec allowed=true verified=true covered=false [exec(high)]"},
		},
		{
			name:         "patching nodes alone steals no pods",
			args:         []string{"--fail-on-risk"},
			incomplete:   true,
			allowed:      []string{" patch nodes"},
			wantAsked:    riskActions,
			wantVerified: []string{" patch nodes allowed=true verified=true covered=false []"},
		},
		{
			name:       "patching nodes and deleting pods steal pods",
			args:       []string{"--fail-on-risk=critical", "--risk-ignore", "write-workloads"},
			incomplete: true,
			allowed:    []string{" patch nodes", "a delete pods"},
			wantAsked:  riskActions,
			wantVerified: []string{
				"a delete pods allowed=true verified=true covered=false [write-workloads(high) accepted pod-stealing(high)]",
				" patch nodes allowed=true verified=true covered=false [pod-stealing(high)]",
			},
		},
		{
			name:       "patching nodes and evicting pods fail --fail-on-risk",
			args:       []string{"--fail-on-risk"},
			incomplete: true,
			allowed:    []string{" patch nodes", "a create pods/eviction"},
			code:       exitcode.Risk,
			wantErr:    "--fail-on-risk=high: risky rights (" + risk.PodStealing + ") hold in 1 of 1 namespaces reviewed",
			wantAsked:  riskActions,
			wantVerified: []string{
				" patch nodes allowed=true verified=true covered=false [pod-stealing(high)]",
				"a create pods/eviction allowed=true verified=true covered=false [pod-stealing(high)]",
			},
		},
		{
			name:         "without --fail-on-risk an allowed risky action is only reported",
			incomplete:   true,
			allowed:      []string{"a create pods/exec"},
			wantAsked:    riskActions,
			wantVerified: []string{"a create pods/exec allowed=true verified=true covered=false [exec(high)]"},
		},
		{
			name:       "risky actions that cannot be verified fail --fail-on-risk closed",
			args:       []string{"--fail-on-risk"},
			incomplete: true,
			accessErr:  apierrors.NewInternalError(errors.New("webhook down")),
			code:       exitcode.Unverified,
			wantErr:    fmt.Sprintf("--fail-on-risk=high: the review is incomplete and %d risky action(s) could not be verified", riskActions-len(mediumActions())),
			wantAsked:  riskActions,
		},
		{
			name:       "only the risky actions at the threshold fail closed",
			args:       []string{"--fail-on-risk=critical"},
			incomplete: true,
			accessErr:  apierrors.NewInternalError(errors.New("webhook down")),
			code:       exitcode.Unverified,
			wantErr:    fmt.Sprintf("--fail-on-risk=critical: the review is incomplete and %d risky action(s) could not be verified", criticalActions()),
			wantAsked:  riskActions,
		},
		{
			name:      "--verify asks although the review is complete",
			args:      []string{"--verify"},
			wantAsked: riskActions,
		},
		{
			name:         "--check asks the named action only",
			args:         []string{"--check", "create pods/exec"},
			wantAsked:    1,
			wantVerified: []string{"a create pods/exec allowed=false verified=true covered=false [exec(high)] requested"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t)
			c.rules["a"] = podsRule("get")
			if tc.incomplete {
				c.incomplete["a"] = "webhook authorizer does not list rules"
			}
			for _, a := range tc.allowed {
				c.allowed[a] = true
			}
			c.accessErr = tc.accessErr
			stdout, stderr, err := c.whoami(append([]string{"ci", "--namespaces", "a", "-o", "json"}, tc.args...)...)
			if code := exitcode.Code(err); code != tc.code {
				t.Errorf("exit %d, want %d: %v\n%s", code, tc.code, err, stderr)
			}
			if tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr)) {
				t.Errorf("error = %v\nwant    %s...", err, tc.wantErr)
			}
			if got := accessReviews(c.asToken); got != tc.wantAsked {
				t.Errorf("%d SelfSubjectAccessReviews sent as the token, want %d", got, tc.wantAsked)
			}
			if got := accessReviews(c.caller); got != 0 {
				t.Errorf("%d SelfSubjectAccessReviews sent with the caller's credentials", got)
			}
			rec := decodeRecord(t, stdout)
			if tc.wantAsked > 0 && len(rec.VerifiedActions) != tc.wantAsked {
				t.Errorf("-o json has %d verified actions, want %d", len(rec.VerifiedActions), tc.wantAsked)
			}
			var got []string
			for _, v := range rec.VerifiedActions {
				if !v.Allowed && v.Verified && !v.Requested {
					continue
				}
				if !v.Verified && tc.accessErr != nil {
					continue // every one; counted above
				}
				var risks []string
				for _, r := range v.Risks {
					w := r.Check + "(" + r.Severity.String() + ")"
					if r.Accepted {
						w += " accepted"
					}
					risks = append(risks, w)
				}
				s := fmt.Sprintf("%s %s allowed=%t verified=%t covered=%t %v", v.Namespace, v.Action, v.Allowed, v.Verified, v.CoveredByRules, risks)
				if v.Requested {
					s += " requested"
				}
				got = append(got, s)
			}
			if diff := cmp.Diff(tc.wantVerified, got); diff != "" {
				t.Errorf("verified actions in -o json (-want +got):\n%s", diff)
			}
			// One warning for all of them, with their number and the first.
			if tc.accessErr != nil && (!strings.Contains(stderr, fmt.Sprintf(`Warning: %d risky action(s) could not be verified`, riskActions)+` (first: "* *.*" in namespace a: Internal error occurred: webhook down)`) || strings.Count(stderr, "could not be verified") != 1) {
				t.Errorf("stderr does not say once how many actions could not be verified, and the first:\n%s", stderr)
			}
		})
	}
}

// mediumActions are the risk actions whose checks are all below high.
func mediumActions() []risk.Action {
	var out []risk.Action
	for _, a := range review.RiskActions() {
		worst := risk.Severity(0)
		for _, c := range risk.Checks() {
			if slices.Contains(slices.Concat(c.Actions, c.With), a) {
				worst = max(worst, c.Severity)
			}
		}
		if worst < risk.High {
			out = append(out, a)
		}
	}
	return out
}

// criticalActions counts the risk actions of a critical check asked in
// namespace a (none of kube-system's).
func criticalActions() int {
	n := 0
	for _, a := range review.RiskActions() {
		if !a.AppliesIn("a") {
			continue
		}
		for _, c := range risk.Checks() {
			if c.Severity == risk.Critical && slices.Contains(slices.Concat(c.Actions, c.With), a) {
				n++
				break
			}
		}
	}
	return n
}

func TestWhoamiCheckUsageError(t *testing.T) {
	c := newFakeCluster(t)
	_, _, err := c.whoami("ci", "--check", "create pods/exec", "--check", "fly")
	if code := exitcode.Code(err); code != exitcode.Usage {
		t.Errorf("exit %d, want %d: %v", code, exitcode.Usage, err)
	}
	if err == nil || !strings.HasPrefix(err.Error(), "--check (value 2 of 2): ") {
		t.Errorf("error = %v, want it to name the --check value", err)
	}
	if len(c.caller.Actions())+len(c.asToken.Actions()) != 0 {
		t.Errorf("a usage error sent %v and %v", requests(c.caller), requests(c.asToken))
	}
}
