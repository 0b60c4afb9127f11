package cmd

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
)

// apiServer is a fake API server for the whoami command: what it answers
// per namespace is set by the test, and it records every request.
type apiServer struct {
	t   *testing.T
	srv *httptest.Server
	// ssr answers SelfSubjectReviews; nil answers 404 (not served).
	ssr *authenticationv1.UserInfo
	// rules are the resource rules granted per namespace.
	rules map[string][]authorizationv1.ResourceRule
	// fail answers a namespace's review with this status code.
	fail map[string]int
	// throttle answers a namespace's first review with 429 Retry-After: 1.
	throttle map[string]bool
	// incomplete marks a namespace's review incomplete.
	incomplete map[string]string
	// namespaces are listed for -A; listForbidden answers 403 instead.
	namespaces    []string
	listForbidden bool

	mu       sync.Mutex
	requests []string
	attempts map[string]int
}

func newAPIServer(t *testing.T) *apiServer {
	a := &apiServer{t: t, rules: map[string][]authorizationv1.ResourceRule{}, fail: map[string]int{}, throttle: map[string]bool{},
		incomplete: map[string]string{}, attempts: map[string]int{}}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *apiServer) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.requests = append(a.requests, r.Method+" "+r.URL.Path)
	a.mu.Unlock()
	// The namespace list is the caller's (here anonymous, since there is no
	// kubeconfig); everything else must come with the token.
	listing := r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces"
	if !listing && r.Header.Get("Authorization") != "Bearer "+testToken(a.t) {
		status(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "")
		return
	}
	switch {
	case listing:
		if a.listForbidden {
			status(w, http.StatusForbidden, metav1.StatusReasonForbidden, "")
			return
		}
		list := corev1.NamespaceList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "NamespaceList"}}
		for _, ns := range a.namespaces {
			list.Items = append(list.Items, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		}
		writeJSON(w, http.StatusOK, list)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/selfsubjectreviews"):
		if a.ssr == nil {
			status(w, http.StatusNotFound, metav1.StatusReasonNotFound, "")
			return
		}
		writeJSON(w, http.StatusCreated, authenticationv1.SelfSubjectReview{
			TypeMeta: metav1.TypeMeta{APIVersion: "authentication.k8s.io/v1", Kind: "SelfSubjectReview"},
			Status:   authenticationv1.SelfSubjectReviewStatus{UserInfo: *a.ssr},
		})
	case r.Method == http.MethodPost && r.URL.Path == "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews":
		body, _ := io.ReadAll(r.Body)
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
		review, ok := obj.(*authorizationv1.SelfSubjectRulesReview)
		if err != nil || !ok {
			status(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "")
			return
		}
		ns := review.Spec.Namespace
		a.mu.Lock()
		a.attempts[ns]++
		attempt := a.attempts[ns]
		a.mu.Unlock()
		if a.throttle[ns] && attempt == 1 {
			status(w, http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests, "1")
			return
		}
		if code := a.fail[ns]; code != 0 {
			reason := map[int]metav1.StatusReason{http.StatusForbidden: metav1.StatusReasonForbidden, http.StatusUnauthorized: metav1.StatusReasonUnauthorized}[code]
			if reason == "" {
				reason = metav1.StatusReasonInternalError
			}
			status(w, code, reason, "")
			return
		}
		review.Status = authorizationv1.SubjectRulesReviewStatus{
			ResourceRules:    a.rules[ns],
			NonResourceRules: []authorizationv1.NonResourceRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/version"}}},
			Incomplete:       a.incomplete[ns] != "",
			EvaluationError:  a.incomplete[ns],
		}
		review.TypeMeta = metav1.TypeMeta{APIVersion: "authorization.k8s.io/v1", Kind: "SelfSubjectRulesReview"}
		writeJSON(w, http.StatusCreated, review)
	default:
		status(w, http.StatusNotFound, metav1.StatusReasonNotFound, "")
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func status(w http.ResponseWriter, code int, reason metav1.StatusReason, retryAfter string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	writeJSON(w, code, metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status: metav1.StatusFailure, Code: int32(code), Reason: reason, Message: fmt.Sprintf("fake %d", code)})
}

// testToken is a JWT for system:serviceaccount:build:ci; it is never
// verified, only decoded.
func testToken(t *testing.T) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	claims := `{"sub":"system:serviceaccount:build:ci","jti":"j1","kubernetes.io":{"namespace":"build","serviceaccount":{"name":"ci","uid":"sa-uid"}}}`
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}

func ciUserInfo() *authenticationv1.UserInfo {
	return &authenticationv1.UserInfo{Username: "system:serviceaccount:build:ci", UID: "sa-uid",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:build", "system:authenticated"}}
}

// runWhoami runs `kubectl access whoami` in-process against the fake
// server, as its token, with no kubeconfig.
func (a *apiServer) runWhoami(args ...string) (stdout, stderr string, code int) {
	a.t.Helper()
	tokenFile := filepath.Join(a.t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(testToken(a.t)), 0o600); err != nil {
		a.t.Fatal(err)
	}
	a.t.Setenv("KUBECONFIG", filepath.Join(a.t.TempDir(), "missing"))
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	all := append([]string{"whoami", "--server", a.srv.URL, "--allow-insecure-http", "--token-file", tokenFile}, args...)
	code = Execute(all, streams)
	if strings.Contains(errOut.String(), testToken(a.t)) || strings.Contains(out.String(), testToken(a.t)) {
		a.t.Error("the token was printed")
	}
	return out.String(), errOut.String(), code
}

func (a *apiServer) reviewsOf(ns string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.attempts[ns]
}

func decodeRecord(t *testing.T, stdout string) WhoamiRecord {
	t.Helper()
	var rec WhoamiRecord
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, stdout)
	}
	return rec
}

func podsRule(verbs ...string) []authorizationv1.ResourceRule {
	return []authorizationv1.ResourceRule{{Verbs: verbs, APIGroups: []string{""}, Resources: []string{"pods"}}}
}

func TestWhoamiOneNamespaceFailingKeepsTheOthers(t *testing.T) {
	a := newAPIServer(t)
	a.ssr = ciUserInfo()
	a.rules["a"] = podsRule("get")
	a.rules["c"] = podsRule("list")
	a.fail["b"] = http.StatusInternalServerError
	a.throttle["c"] = true

	stdout, stderr, code := a.runWhoami("--namespaces", "c,b,a", "-o", "json")
	if code != exitcode.BadStatus {
		t.Errorf("exit %d, want %d (the failing namespace's class)\n%s", code, exitcode.BadStatus, stderr)
	}
	rec := decodeRecord(t, stdout)
	var got []string
	for _, ns := range rec.Namespaces {
		got = append(got, fmt.Sprintf("%s rules=%d error=%t", ns.Namespace, len(ns.ResourceRules), ns.Error != ""))
	}
	want := []string{"a rules=1 error=false", "b rules=0 error=true", "c rules=1 error=false"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("namespaces in -o json (-want +got):\n%s", diff)
	}
	if a.reviewsOf("c") != 2 {
		t.Errorf("c was reviewed %d times, want 2: the 429 with Retry-After was not retried", a.reviewsOf("c"))
	}
	if !strings.Contains(stderr, `namespace "b": `) || !strings.Contains(stderr, "error: 1 of 3 namespaces were not reviewed: b") {
		t.Errorf("stderr does not report namespace b:\n%s", stderr)
	}
	if strings.Count(stderr, "error: ") != 1 {
		t.Errorf("stderr has more than one error line:\n%s", stderr)
	}
}

func TestWhoamiRequests(t *testing.T) {
	// The request floor: one SelfSubjectReview, one namespace list with -A,
	// one SelfSubjectRulesReview per namespace; nothing else (no discovery).
	a := newAPIServer(t)
	a.ssr = ciUserInfo()
	a.namespaces = []string{"x", "y", "z"}
	if _, stderr, code := a.runWhoami("-A"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := []string{
		"POST /apis/authentication.k8s.io/v1/selfsubjectreviews",
		"GET /api/v1/namespaces",
		"POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
		"POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
		"POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
	}
	if diff := cmp.Diff(want, a.requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestWhoamiHumanOutput(t *testing.T) {
	a := newAPIServer(t)
	a.ssr = ciUserInfo()
	a.ssr.Extra = map[string]authenticationv1.ExtraValue{"authentication.kubernetes.io/credential-id": {"JTI=j1"}}
	a.rules["a"] = []authorizationv1.ResourceRule{
		{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}},
		{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"tls"}},
	}
	a.rules["b"] = podsRule("get", "list")
	stdout, stderr, code := a.runWhoami("--namespaces", "a,b")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := `ATTRIBUTE                                           VALUE
Username                                            system:serviceaccount:build:ci
UID                                                 sa-uid
Groups                                              [system:serviceaccounts system:serviceaccounts:build system:authenticated]
Extra: authentication.kubernetes.io/credential-id   [JTI=j1]
Source                                              SelfSubjectReview (authentication.k8s.io/v1)

RESOURCES   NON-RESOURCE URLS   RESOURCE NAMES   VERBS        WHERE                       RISK
pods        []                  []               [get list]   all 2 reviewed namespaces   
secrets     []                  [tls]            [get]        a                           read-secrets
            [/version]          []               [get]        all 2 reviewed namespaces   

RISK           REASON
read-secrets   reads Secrets, which hold credentials and other service accounts' tokens
`
	if diff := cmp.Diff(want, stdout); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want nothing", stderr)
	}
}

func TestWhoamiFailOnRisk(t *testing.T) {
	a := newAPIServer(t)
	a.ssr = ciUserInfo()
	a.rules["a"] = []authorizationv1.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}
	a.rules["b"] = podsRule("get")

	stdout, stderr, code := a.runWhoami("-n", "a", "--fail-on-risk", "-o", "json")
	if code != exitcode.Risk {
		t.Fatalf("exit %d, want %d: %s", code, exitcode.Risk, stderr)
	}
	rec := decodeRecord(t, stdout)
	if len(rec.Risks) != 1 || rec.Risks[0].Check != "admin" || rec.Risks[0].Namespace != "a" || rec.Risks[0].Reason == "" {
		t.Errorf("risks = %+v, want the admin rule of a", rec.Risks)
	}
	if !strings.Contains(stderr, "--fail-on-risk") {
		t.Errorf("stderr does not say why it failed: %q", stderr)
	}
	// Without risky rules, --fail-on-risk passes; without the flag, risky
	// rules are only shown.
	if _, stderr, code := a.runWhoami("-n", "b", "--fail-on-risk"); code != 0 {
		t.Errorf("no risk: exit %d: %s", code, stderr)
	}
	if _, stderr, code := a.runWhoami("-n", "a"); code != 0 {
		t.Errorf("risk without --fail-on-risk: exit %d: %s", code, stderr)
	}
}

func TestWhoamiTokenClaimsFallbackAndIncomplete(t *testing.T) {
	a := newAPIServer(t)
	a.ssr = nil // no SelfSubjectReview in any version
	a.incomplete["a"] = "webhook authorizer does not list rules"
	stdout, stderr, code := a.runWhoami("-n", "a", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rec := decodeRecord(t, stdout)
	wantUser := UserRecord{Username: "system:serviceaccount:build:ci", UID: "sa-uid",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:build", "system:authenticated"},
		Extra:  map[string][]string{"authentication.kubernetes.io/credential-id": {"JTI=j1"}}}
	if diff := cmp.Diff(wantUser, rec.User); diff != "" {
		t.Errorf("user from claims (-want +got):\n%s", diff)
	}
	if rec.IdentitySource != "TokenClaims" {
		t.Errorf("identitySource = %q, want TokenClaims", rec.IdentitySource)
	}
	if len(rec.Namespaces) != 1 || !rec.Namespaces[0].Incomplete || rec.Namespaces[0].EvaluationError != a.incomplete["a"] {
		t.Errorf("namespaces = %+v, want a marked incomplete with the evaluation error", rec.Namespaces)
	}
	for _, w := range []string{"Warning: the API server serves no SelfSubjectReview", "Warning: the server says the rules of namespace(s) a may be incomplete (webhook authorizer does not list rules)"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	if a.reviewsOf("a") != 1 {
		t.Errorf("a reviewed %d times", a.reviewsOf("a"))
	}
}

func TestWhoamiErrors(t *testing.T) {
	cases := []struct {
		name  string
		setup func(a *apiServer)
		args  []string
		code  int
		want  string
	}{
		{"review forbidden", func(a *apiServer) { a.fail["a"] = http.StatusForbidden }, []string{"-n", "a"}, exitcode.Forbidden, `SelfSubjectRulesReview in namespace "a"`},
		{"namespaces cannot be listed", func(a *apiServer) { a.listForbidden = true }, []string{"-A"}, exitcode.Error, "name the namespaces to review with --namespaces"},
		{"-A and --namespaces", nil, []string{"-A", "--namespaces", "a"}, exitcode.Usage, "--namespaces and -A/--all-namespaces cannot be used together"},
		{"empty --namespaces entry", nil, []string{"--namespaces", "a,,b"}, exitcode.Usage, "--namespaces holds an empty name"},
		{"invalid namespace name", nil, []string{"--namespaces", "Not_A_Namespace"}, exitcode.Usage, `"Not_A_Namespace" is not a valid namespace name`},
		{"bad concurrency", nil, []string{"--concurrency", "0"}, exitcode.Usage, "--concurrency must be at least 1"},
		{"bad output", nil, []string{"-o", "xml"}, exitcode.Usage, "--output must be one of json, yaml"},
		{"token flag with --token-file", nil, []string{"--duration", "1h"}, exitcode.Usage, "--duration obtains a service account token"},
		{"service account with --token-file", nil, []string{"ci"}, exitcode.Usage, "--token-file gives the token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPIServer(t)
			a.ssr = ciUserInfo()
			if tc.setup != nil {
				tc.setup(a)
			}
			stdout, stderr, code := a.runWhoami(tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.want) || strings.Count(stderr, "error: ") != 1 {
				t.Errorf("stderr = %q, want one error containing %q", stderr, tc.want)
			}
			if tc.code == exitcode.Usage && (stdout != "" || len(a.requests) > 0) {
				t.Errorf("a usage error printed %q and sent %v", stdout, a.requests)
			}
		})
	}
}

func TestWhoamiTokenRejected(t *testing.T) {
	a := newAPIServer(t)
	a.ssr = ciUserInfo()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("not-the-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	var out, errOut bytes.Buffer
	code := Execute([]string{"whoami", "--server", a.srv.URL, "--allow-insecure-http", "--token-file", tokenFile, "-n", "a"},
		genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	if code != exitcode.Unauthorized {
		t.Errorf("exit %d, want %d: %s", code, exitcode.Unauthorized, errOut.String())
	}
	if !strings.Contains(errOut.String(), "401 Unauthorized") || strings.Contains(errOut.String(), "not-the-token") {
		t.Errorf("stderr does not say 401, or shows the token:\n%s", errOut.String())
	}
	if len(a.requests) != 1 {
		t.Errorf("requests after a rejected token: %v, want only the SelfSubjectReview", a.requests)
	}
}

func TestFanOutConfig(t *testing.T) {
	base := &rest.Config{Host: "https://example.test", BearerToken: "t", QPS: 5, Burst: 10, RateLimiter: flowcontrol.NewFakeAlwaysRateLimiter()}
	for _, tc := range []struct{ concurrency, want int }{{1, 100}, {16, 400}, {64, 1600}} {
		cfg := fanOutConfig(base, tc.concurrency)
		if cfg.QPS != float32(tc.want) || cfg.Burst != tc.want || cfg.RateLimiter != nil {
			t.Errorf("concurrency %d: QPS %v, burst %d, rate limiter %v; want %d, %d, none", tc.concurrency, cfg.QPS, cfg.Burst, cfg.RateLimiter, tc.want, tc.want)
		}
		if cfg.BearerToken != "t" || cfg.Host != base.Host {
			t.Errorf("fanOutConfig changed the credentials or the server: %+v", cfg)
		}
	}
	if base.QPS != 5 || base.RateLimiter == nil {
		t.Error("fanOutConfig changed its input")
	}
}
