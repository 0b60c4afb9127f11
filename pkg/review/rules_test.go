package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
)

// fakeServer is an httptest API server that answers
// SelfSubjectRulesReviews through answer, and counts what it was sent.
type fakeServer struct {
	srv *httptest.Server
	// answer handles the attempt-th review of ns (1 for the first).
	answer func(w http.ResponseWriter, r *http.Request, ns string, attempt int)

	mu       sync.Mutex
	attempts map[string]int
	inFlight int
	maxIn    int
	total    atomic.Int64
}

func newFakeServer(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, ns string, attempt int)) *fakeServer {
	t.Helper()
	f := &fakeServer{answer: answer, attempts: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews" {
		http.Error(w, "unexpected request "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
		return
	}
	// client-go sends protobuf by default; the answers are JSON, which it
	// accepts too.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
	review, ok := obj.(*authorizationv1.SelfSubjectRulesReview)
	if err != nil || !ok {
		http.Error(w, fmt.Sprintf("not a SelfSubjectRulesReview (%s): %v", r.Header.Get("Content-Type"), err), http.StatusBadRequest)
		return
	}
	ns := review.Spec.Namespace
	f.total.Add(1)
	f.mu.Lock()
	f.attempts[ns]++
	attempt := f.attempts[ns]
	f.inFlight++
	f.maxIn = max(f.maxIn, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	f.answer(w, r, ns, attempt)
}

func (f *fakeServer) attemptsOf(ns string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[ns]
}

// reviewer returns a Reviewer whose client talks to the fake server with a
// rate limit that does not get in the way.
func (f *fakeServer) reviewer(t *testing.T, concurrency int, timeout time.Duration) *Reviewer {
	t.Helper()
	client, err := kubernetes.NewForConfig(&rest.Config{Host: f.srv.URL, QPS: 1000, Burst: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return &Reviewer{Client: client.AuthorizationV1(), Concurrency: concurrency, Timeout: timeout}
}

// nsRule is the rule the fake server grants in ns: get on the ConfigMap
// named after ns, so each result shows which namespace it answers.
func nsRule(ns string) authorizationv1.ResourceRule {
	return authorizationv1.ResourceRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{ns}}
}

func answerOK(w http.ResponseWriter, ns string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(&authorizationv1.SelfSubjectRulesReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "authorization.k8s.io/v1", Kind: "SelfSubjectRulesReview"},
		Spec:     authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns},
		Status: authorizationv1.SubjectRulesReviewStatus{
			ResourceRules:    []authorizationv1.ResourceRule{nsRule(ns)},
			NonResourceRules: []authorizationv1.NonResourceRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/version"}}},
		},
	})
}

func answerStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, retryAfter string) {
	w.Header().Set("Content-Type", "application/json")
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(&metav1.Status{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status:   metav1.StatusFailure, Code: int32(code), Reason: reason,
		Message: fmt.Sprintf("fake %d", code),
	})
}

func namespaces(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("ns-%02d", i)
	}
	return out
}

// checkAnswered fails unless res is the successful review of its namespace.
func checkAnswered(t *testing.T, res NamespaceResult) {
	t.Helper()
	if res.Err != nil {
		t.Errorf("namespace %s: %v", res.Namespace, res.Err)
		return
	}
	if diff := cmp.Diff([]authorizationv1.ResourceRule{nsRule(res.Namespace)}, res.ResourceRules); diff != "" {
		t.Errorf("namespace %s got another namespace's rules (-want +got):\n%s", res.Namespace, diff)
	}
}

func TestReviewEveryNamespaceWithBoundedConcurrency(t *testing.T) {
	f := newFakeServer(t, func(w http.ResponseWriter, _ *http.Request, ns string, _ int) {
		time.Sleep(20 * time.Millisecond) // long enough for reviews to overlap
		answerOK(w, ns)
	})
	nss := namespaces(24)
	results, err := f.reviewer(t, 4, 0).Review(context.Background(), nss)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(nss) {
		t.Fatalf("%d results for %d namespaces", len(results), len(nss))
	}
	for i, res := range results {
		if res.Namespace != nss[i] {
			t.Errorf("result %d is for %q, want %q (the order given)", i, res.Namespace, nss[i])
		}
		checkAnswered(t, res)
	}
	if f.maxIn > 4 {
		t.Errorf("%d reviews were in flight at once, want at most --concurrency=4", f.maxIn)
	}
	if f.maxIn < 2 {
		t.Errorf("at most %d review in flight: the reviews were not sent concurrently", f.maxIn)
	}
	if got := f.total.Load(); got != int64(len(nss)) {
		t.Errorf("%d requests for %d namespaces, want exactly one each", got, len(nss))
	}
}

func TestReviewHonoursRetryAfter(t *testing.T) {
	// API Priority and Fairness rejects with 429 and Retry-After; client-go
	// retries such answers after the delay asked.
	f := newFakeServer(t, func(w http.ResponseWriter, _ *http.Request, ns string, attempt int) {
		if ns == "busy" && attempt <= 2 {
			answerStatus(w, http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests, "1")
			return
		}
		answerOK(w, ns)
	})
	start := time.Now()
	results, err := f.reviewer(t, 2, 0).Review(context.Background(), []string{"busy", "calm"})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range results {
		checkAnswered(t, res)
	}
	if got := f.attemptsOf("busy"); got != 3 {
		t.Errorf("busy was sent %d times, want 3 (two 429s, then the answer)", got)
	}
	if elapsed := time.Since(start); elapsed < 2*time.Second {
		t.Errorf("done in %s: the two Retry-After: 1 were not waited for", elapsed)
	}
}

func TestReviewRetryAfterWithinTimeout(t *testing.T) {
	// A server that keeps throttling: the per-review deadline bounds the
	// retries, and the namespace is reported, not lost.
	f := newFakeServer(t, func(w http.ResponseWriter, _ *http.Request, ns string, _ int) {
		if ns == "throttled" {
			answerStatus(w, http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests, "1")
			return
		}
		answerOK(w, ns)
	})
	start := time.Now()
	results, err := f.reviewer(t, 2, 1500*time.Millisecond).Review(context.Background(), []string{"fine", "throttled"})
	if err != nil {
		t.Fatal(err)
	}
	checkAnswered(t, results[0])
	if results[1].Err == nil {
		t.Fatal("throttled namespace has no error")
	}
	if elapsed := time.Since(start); elapsed > 4*time.Second {
		t.Errorf("took %s, want about the 1.5s per-review timeout", elapsed)
	}
}

func TestReviewKeepsOtherNamespacesWhenOneFails(t *testing.T) {
	f := newFakeServer(t, func(w http.ResponseWriter, _ *http.Request, ns string, _ int) {
		if ns == "ns-03" {
			answerStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, "")
			return
		}
		answerOK(w, ns)
	})
	nss := namespaces(8)
	results, err := f.reviewer(t, 3, 0).Review(context.Background(), nss)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range results {
		if res.Namespace == "ns-03" {
			if code := exitcode.Code(res.Err); code != exitcode.BadStatus {
				t.Errorf("ns-03: error %v has exit code %d, want %d", res.Err, code, exitcode.BadStatus)
			}
			continue
		}
		checkAnswered(t, res)
	}
	if got := f.attemptsOf("ns-03"); got != 1 {
		t.Errorf("a 500 without Retry-After was sent %d times, want 1", got)
	}
}

// TestReviewStopsOnFailuresEveryNamespaceWouldRepeat checks that a rejected
// token, a forbidden review, a server gone or one that does not answer end
// the run early, keep what was answered, and mark the rest not reviewed.
func TestReviewStopsOnFailuresEveryNamespaceWouldRepeat(t *testing.T) {
	const answered = 3
	cases := []struct {
		name     string
		timeout  time.Duration
		fail     func(f *fakeServer, w http.ResponseWriter, r *http.Request)
		wantCode int
	}{
		{"token rejected", 0, func(_ *fakeServer, w http.ResponseWriter, _ *http.Request) {
			answerStatus(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "")
		}, exitcode.Unauthorized},
		{"review forbidden", 0, func(_ *fakeServer, w http.ResponseWriter, _ *http.Request) {
			answerStatus(w, http.StatusForbidden, metav1.StatusReasonForbidden, "")
		}, exitcode.Forbidden},
		{"server stops", 0, func(f *fakeServer, w http.ResponseWriter, _ *http.Request) {
			// Like kube-apiserver killed mid-run: the connection drops and
			// new ones are refused.
			_ = f.srv.Listener.Close()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}, exitcode.Unreachable},
		{"server does not answer", 300 * time.Millisecond, func(_ *fakeServer, _ http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}, exitcode.Unreachable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var f *fakeServer
			var served atomic.Int64
			f = newFakeServer(t, func(w http.ResponseWriter, r *http.Request, ns string, _ int) {
				if served.Add(1) <= answered {
					answerOK(w, ns)
					return
				}
				tc.fail(f, w, r)
			})
			nss := namespaces(60)
			start := time.Now()
			// Concurrency 1 makes "the first three are answered" exact.
			results, err := f.reviewer(t, 1, tc.timeout).Review(context.Background(), nss)
			elapsed := time.Since(start)
			if err != nil {
				t.Fatalf("Review: %v (only an interrupt returns an error)", err)
			}
			var notReviewed int
			for i, res := range results {
				if i < answered {
					checkAnswered(t, res)
					continue
				}
				if code := exitcode.Code(res.Err); code != tc.wantCode {
					t.Errorf("%s: error %v has exit code %d, want %d", res.Namespace, res.Err, code, tc.wantCode)
				}
				var nr *NotReviewedError
				if errors.As(res.Err, &nr) {
					notReviewed++
				}
			}
			if want := len(nss) - answered - 1; notReviewed != want {
				t.Errorf("%d namespaces marked not reviewed, want %d (all after the failing one)", notReviewed, want)
			}
			if sent := f.total.Load(); sent > answered+1 {
				t.Errorf("%d reviews sent, want %d: the run went on after a failure every namespace would repeat", sent, answered+1)
			}
			if limit := tc.timeout + 2*time.Second; elapsed > limit {
				t.Errorf("took %s, want under %s", elapsed, limit)
			}
		})
	}
}

func TestReviewTimeoutBoundsTheWholeRun(t *testing.T) {
	// A server that never answers, many namespaces, little concurrency: the
	// run ends about one per-review timeout after it started, not after
	// namespaces/concurrency timeouts.
	f := newFakeServer(t, func(_ http.ResponseWriter, r *http.Request, _ string, _ int) {
		<-r.Context().Done()
	})
	const timeout = 300 * time.Millisecond
	start := time.Now()
	results, err := f.reviewer(t, 4, timeout).Review(context.Background(), namespaces(100))
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if elapsed > timeout+time.Second {
		t.Errorf("took %s with a %s timeout", elapsed, timeout)
	}
	for _, res := range results {
		if exitcode.Code(res.Err) != exitcode.Unreachable {
			t.Fatalf("%s: %v, want an unreachable-server error", res.Namespace, res.Err)
		}
	}
	if got := f.total.Load(); got > 4 {
		t.Errorf("%d reviews sent, want at most the 4 first in flight", got)
	}
}

func TestReviewInterrupted(t *testing.T) {
	f := newFakeServer(t, func(_ http.ResponseWriter, r *http.Request, _ string, _ int) {
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	results, err := f.reviewer(t, 4, 0).Review(ctx, namespaces(50))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Review = %v, want context.Canceled", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("returned %s after the start, want promptly after the 200ms cancel", elapsed)
	}
	if len(results) != 50 {
		t.Fatalf("%d results", len(results))
	}
	for _, res := range results {
		if res.Err == nil {
			t.Errorf("%s has no error after an interrupt", res.Namespace)
		}
		var nr *NotReviewedError
		if errors.As(res.Err, &nr) {
			t.Errorf("%s: %v; an interrupt is not a server failure", res.Namespace, res.Err)
		}
	}
}

func TestReviewSortsRules(t *testing.T) {
	f := newFakeServer(t, func(w http.ResponseWriter, _ *http.Request, ns string, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(&authorizationv1.SelfSubjectRulesReview{
			Status: authorizationv1.SubjectRulesReviewStatus{
				ResourceRules: []authorizationv1.ResourceRule{
					{Verbs: []string{"list"}, APIGroups: []string{"apps"}, Resources: []string{"deployments"}},
					{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}},
				},
				NonResourceRules: []authorizationv1.NonResourceRule{
					{Verbs: []string{"get"}, NonResourceURLs: []string{"/version"}},
					{Verbs: []string{"get"}, NonResourceURLs: []string{"/api"}},
				},
				Incomplete:      true,
				EvaluationError: "webhook authorizer cannot list rules",
			},
		})
	})
	results, err := f.reviewer(t, 1, 0).Review(context.Background(), []string{"x"})
	if err != nil {
		t.Fatal(err)
	}
	want := NamespaceResult{
		Namespace: "x",
		ResourceRules: []authorizationv1.ResourceRule{
			{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}},
			{Verbs: []string{"list"}, APIGroups: []string{"apps"}, Resources: []string{"deployments"}},
		},
		NonResourceRules: []authorizationv1.NonResourceRule{
			{Verbs: []string{"get"}, NonResourceURLs: []string{"/api"}},
			{Verbs: []string{"get"}, NonResourceURLs: []string{"/version"}},
		},
		Incomplete:      true,
		EvaluationError: "webhook authorizer cannot list rules",
	}
	if diff := cmp.Diff(want, results[0]); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

func TestReviewSharesEqualRuleLists(t *testing.T) {
	pods := authorizationv1.ResourceRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}
	version := authorizationv1.NonResourceRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/version"}}
	rulesOf := func(ns string) []authorizationv1.ResourceRule {
		if ns == "c" {
			return []authorizationv1.ResourceRule{nsRule(ns), pods} // sorted
		}
		return []authorizationv1.ResourceRule{pods}
	}
	f := newFakeServer(t, func(w http.ResponseWriter, _ *http.Request, ns string, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(&authorizationv1.SelfSubjectRulesReview{
			Status: authorizationv1.SubjectRulesReviewStatus{ResourceRules: rulesOf(ns), NonResourceRules: []authorizationv1.NonResourceRule{version}},
		})
	})
	results, err := f.reviewer(t, 3, 0).Review(context.Background(), []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if diff := cmp.Diff(rulesOf(r.Namespace), r.ResourceRules); diff != "" {
			t.Errorf("namespace %s: resource rules (-want +got):\n%s", r.Namespace, diff)
		}
		if diff := cmp.Diff([]authorizationv1.NonResourceRule{version}, r.NonResourceRules); diff != "" {
			t.Errorf("namespace %s: non-resource rules (-want +got):\n%s", r.Namespace, diff)
		}
	}
	a, b, c := results[0], results[1], results[2]
	if &a.ResourceRules[0] != &b.ResourceRules[0] {
		t.Error("namespaces a and b list the same resource rules, but each holds its own copy")
	}
	if &a.NonResourceRules[0] != &b.NonResourceRules[0] || &a.NonResourceRules[0] != &c.NonResourceRules[0] {
		t.Error("every namespace lists the same non-resource rules, but not one copy of them")
	}
}

func TestSameStringsTellsNilFromEmpty(t *testing.T) {
	for _, tc := range []struct {
		a, b []string
		want bool
	}{
		{nil, nil, true},
		{[]string{}, []string{}, true},
		{nil, []string{}, false},
		{[]string{"get"}, []string{"get"}, true},
		{[]string{"get"}, []string{"list"}, false},
		{[]string{"get"}, []string{"get", "list"}, false},
	} {
		if got := sameStrings(tc.a, tc.b); got != tc.want {
			t.Errorf("sameStrings(%#v, %#v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
