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
	"github.com/google/go-cmp/cmp/cmpopts"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

// verifyAction parses a, failing the test if it does not parse.
func verifyAction(t *testing.T, a string) risk.Action {
	t.Helper()
	action, err := risk.ParseAction(a)
	if err != nil {
		t.Fatal(err)
	}
	return action
}

// questionList is what verifyQuestions lists, failing the test on an
// error.
func questionList(t *testing.T, namespaces []string, actions []risk.Action) []Verification {
	t.Helper()
	answers, err := verifyQuestions(namespaces, actions)
	if err != nil {
		t.Fatal(err)
	}
	return answers.List()
}

// answersOf holds verifications as a run of Verify would have answered
// them.
func answersOf(t *testing.T, verifications []Verification) *Answers {
	t.Helper()
	answers, err := newAnswers(func(add func(string, risk.Action)) {
		for _, v := range verifications {
			add(v.Namespace, v.Action)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range verifications {
		answers.set(i, v.Allowed, v.Denied, v.Reason, v.EvaluationError, v.Err)
	}
	return answers
}

// ssarFake is a fake clientset whose SelfSubjectAccessReviews answer
// through answer, recording every spec sent. The fake serialises its
// reactors, so it says nothing of concurrency.
func ssarFake(answer func(spec authorizationv1.SelfSubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error)) (*fake.Clientset, *[]authorizationv1.SelfSubjectAccessReviewSpec) {
	client := fake.NewClientset()
	var specs []authorizationv1.SelfSubjectAccessReviewSpec
	client.PrependReactor("create", "selfsubjectaccessreviews", func(action clienttesting.Action) (bool, runtime.Object, error) {
		review := action.(clienttesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		specs = append(specs, review.Spec)
		status, err := answer(review.Spec)
		if err != nil {
			return true, nil, err
		}
		return true, &authorizationv1.SelfSubjectAccessReview{Spec: review.Spec, Status: status}, nil
	})
	return client, &specs
}

// verifyCmp compares Verifications, errors by their text.
var verifyCmp = cmp.Comparer(func(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Error() == b.Error()
})

func TestVerify(t *testing.T) {
	exec, proxy, metrics := "create pods/exec", "get nodes/proxy", "get /metrics"
	client, specs := ssarFake(func(spec authorizationv1.SelfSubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
		switch {
		case spec.NonResourceAttributes != nil:
			return authorizationv1.SubjectAccessReviewStatus{Allowed: true, Reason: "RBAC: allowed by ClusterRoleBinding \"metrics\""}, nil
		case spec.ResourceAttributes.Resource == "nodes":
			return authorizationv1.SubjectAccessReviewStatus{Denied: true, Reason: "denied by the webhook"}, nil
		case spec.ResourceAttributes.Namespace == "b":
			return authorizationv1.SubjectAccessReviewStatus{Allowed: true, Reason: "allowed by the webhook"}, nil
		}
		return authorizationv1.SubjectAccessReviewStatus{EvaluationError: "webhook timed out"}, nil
	})
	v := &Verifier{Client: client.AuthorizationV1(), Concurrency: 1}
	actions := []risk.Action{verifyAction(t, exec), verifyAction(t, proxy), verifyAction(t, metrics), verifyAction(t, exec)}
	got, err := v.Verify(context.Background(), []string{"a", "b", "a"}, actions)
	if err != nil {
		t.Fatal(err)
	}
	want := []Verification{
		{Namespace: "a", Action: actions[0], EvaluationError: "webhook timed out"},
		{Namespace: "b", Action: actions[0], Allowed: true, Reason: "allowed by the webhook"},
		{Namespace: "", Action: actions[1], Denied: true, Reason: "denied by the webhook"},
		{Namespace: "", Action: actions[2], Allowed: true, Reason: "RBAC: allowed by ClusterRoleBinding \"metrics\""},
	}
	if diff := cmp.Diff(want, got.List(), verifyCmp); diff != "" {
		t.Errorf("Verify (-want +got):\n%s", diff)
	}
	// Concurrency 1 sends them in result order.
	wantSpecs := []authorizationv1.SelfSubjectAccessReviewSpec{
		{ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "a", Verb: "create", Resource: "pods", Subresource: "exec"}},
		{ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "b", Verb: "create", Resource: "pods", Subresource: "exec"}},
		{ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Resource: "nodes", Subresource: "proxy"}},
		{NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/metrics"}},
	}
	if diff := cmp.Diff(wantSpecs, *specs); diff != "" {
		t.Errorf("reviews sent (-want +got):\n%s", diff)
	}
}

func TestVerifyUnits(t *testing.T) {
	exec := risk.Action{Verb: "create", Resource: "pods", Subresource: "exec"}
	secrets := risk.Action{Verb: "get", Resource: "secrets"}
	nodes := risk.Action{Verb: "get", Resource: "nodes", Subresource: "proxy"}
	cases := []struct {
		name       string
		namespaces []string
		actions    []risk.Action
		want       []Verification
	}{
		{"nothing", nil, nil, nil},
		{"action by action, namespaces in order", []string{"b", "a"}, []risk.Action{secrets, exec},
			[]Verification{{Namespace: "b", Action: secrets}, {Namespace: "a", Action: secrets}, {Namespace: "b", Action: exec}, {Namespace: "a", Action: exec}}},
		{"cluster-scoped once, where it comes", []string{"a", "b"}, []risk.Action{exec, nodes, secrets},
			[]Verification{{Namespace: "a", Action: exec}, {Namespace: "b", Action: exec}, {Action: nodes}, {Namespace: "a", Action: secrets}, {Namespace: "b", Action: secrets}}},
		{"no namespaces: cluster-scoped only", nil, []risk.Action{exec, nodes}, []Verification{{Action: nodes}}},
		{"every namespace at once", []string{""}, []risk.Action{exec}, []Verification{{Action: exec}}},
		{"each pair once", []string{"a", "a", ""}, []risk.Action{nodes, exec, nodes, exec},
			[]Verification{{Action: nodes}, {Namespace: "a", Action: exec}, {Action: exec}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := questionList(t, tc.namespaces, tc.actions)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("verifyQuestions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyKeepsOtherActionsWhenOneFails(t *testing.T) {
	client, specs := ssarFake(func(spec authorizationv1.SelfSubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
		if spec.ResourceAttributes.Namespace == "ns-01" {
			return authorizationv1.SubjectAccessReviewStatus{}, apierrors.NewInternalError(errors.New("etcd is down"))
		}
		return authorizationv1.SubjectAccessReviewStatus{Allowed: true}, nil
	})
	v := &Verifier{Client: client.AuthorizationV1(), Concurrency: 2}
	got, err := v.Verify(context.Background(), namespaces(4), []risk.Action{verifyAction(t, "get secrets")})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range got.List() {
		if res.Namespace == "ns-01" {
			if code := exitcode.Code(res.Err); code != exitcode.BadStatus || res.Allowed {
				t.Errorf("ns-01: %+v, error with exit code %d, want %d and not allowed", res, code, exitcode.BadStatus)
			}
			continue
		}
		if res.Err != nil || !res.Allowed {
			t.Errorf("%s: %+v, want allowed: one failure stops nothing", res.Namespace, res)
		}
	}
	if len(*specs) != 4 {
		t.Errorf("%d reviews sent, want 4", len(*specs))
	}
}

// TestVerifyStopsOnFailuresEveryReviewWouldRepeat checks that a rejected
// token or a forbidden review ends the run early, keeps what was answered,
// and marks the rest not reviewed, naming the review that failed.
func TestVerifyStopsOnFailuresEveryReviewWouldRepeat(t *testing.T) {
	const answered = 3
	gr := schema.GroupResource{Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"}
	cases := []struct {
		name     string
		err      error
		wantCode int
	}{
		{"token rejected", apierrors.NewUnauthorized("token expired"), exitcode.Unauthorized},
		{"review forbidden", apierrors.NewForbidden(gr, "", errors.New("no")), exitcode.Forbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client, specs := ssarFake(func(authorizationv1.SelfSubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
				return authorizationv1.SubjectAccessReviewStatus{Allowed: true}, nil
			})
			var sent int
			client.PrependReactor("create", "selfsubjectaccessreviews", func(clienttesting.Action) (bool, runtime.Object, error) {
				if sent++; sent > answered {
					return true, nil, tc.err
				}
				return false, nil, nil // on to the answering reactor
			})
			v := &Verifier{Client: client.AuthorizationV1(), Concurrency: 1}
			nss := namespaces(20)
			got, err := v.Verify(context.Background(), nss, []risk.Action{verifyAction(t, "get secrets")})
			if err != nil {
				t.Fatalf("Verify: %v (only an interrupt returns an error)", err)
			}
			wantCause := fmt.Sprintf("the review of \"get secrets\" in namespace %q failed: %v", nss[answered], tc.err)
			for i, res := range got.List() {
				switch {
				case i < answered:
					if res.Err != nil || !res.Allowed {
						t.Errorf("%s: %+v, want answered", res.Namespace, res)
					}
				case i == answered:
					if !errors.Is(res.Err, tc.err) {
						t.Errorf("%s: %v, want the failure itself", res.Namespace, res.Err)
					}
				default:
					var nr *NotReviewedError
					if !errors.As(res.Err, &nr) || nr.Cause.Error() != wantCause {
						t.Errorf("%s: %v, want not reviewed because %s", res.Namespace, res.Err, wantCause)
					}
				}
				if i >= answered {
					if code := exitcode.Code(res.Err); code != tc.wantCode {
						t.Errorf("%s: exit code %d, want %d", res.Namespace, code, tc.wantCode)
					}
				}
			}
			if len(*specs) != answered || sent != answered+1 {
				t.Errorf("%d answered and %d sent, want %d and %d: the run went on after a failure every review would repeat", len(*specs), sent, answered, answered+1)
			}
		})
	}
}

func TestVerifyStopErrorNamesTheReview(t *testing.T) {
	cause := errors.New("boom")
	cases := []struct {
		unit Verification
		want string
	}{
		{Verification{Namespace: "w", Action: risk.Action{Verb: "create", Resource: "pods", Subresource: "exec"}}, `the review of "create pods/exec" in namespace "w" failed: boom`},
		{Verification{Action: risk.Action{Verb: "get", NonResourceURL: "/metrics"}}, `the review of "get /metrics" failed: boom`},
	}
	for _, tc := range cases {
		err := verifyStopCause(answersOf(t, []Verification{tc.unit}), 0, cause)
		if got := err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if !errors.Is(err, cause) {
			t.Errorf("%v does not unwrap to its cause", err)
		}
	}
}

// ssarBlocking is a SelfSubjectAccessReviews client whose Create waits for
// release or for its context, counting the reviews in flight. Unlike the
// fake clientset it lets reviews overlap.
type ssarBlocking struct {
	release  chan struct{} // closed to answer; nil never answers
	mu       sync.Mutex
	inFlight int
	maxIn    int
	total    atomic.Int64
}

func (b *ssarBlocking) SelfSubjectAccessReviews() authorizationv1client.SelfSubjectAccessReviewInterface {
	return b
}

func (b *ssarBlocking) Create(ctx context.Context, review *authorizationv1.SelfSubjectAccessReview, _ metav1.CreateOptions) (*authorizationv1.SelfSubjectAccessReview, error) {
	b.total.Add(1)
	b.mu.Lock()
	b.inFlight++
	b.maxIn = max(b.maxIn, b.inFlight)
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.inFlight--
		b.mu.Unlock()
	}()
	select {
	case <-b.release:
		return &authorizationv1.SelfSubjectAccessReview{Spec: review.Spec, Status: authorizationv1.SubjectAccessReviewStatus{Allowed: true}}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestVerifyWithBoundedConcurrency(t *testing.T) {
	b := &ssarBlocking{release: make(chan struct{})}
	time.AfterFunc(100*time.Millisecond, func() { close(b.release) })
	v := &Verifier{Client: b, Concurrency: 3}
	actions := []risk.Action{verifyAction(t, "get secrets"), verifyAction(t, "create pods/exec")}
	got, err := v.Verify(context.Background(), namespaces(10), actions)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != 20 {
		t.Fatalf("%d results, want 20", got.Len())
	}
	for i, res := range got.List() {
		wantNS, wantAction := fmt.Sprintf("ns-%02d", i%10), actions[i/10]
		if res.Namespace != wantNS || res.Action != wantAction || res.Err != nil || !res.Allowed {
			t.Errorf("result %d = %+v, want %q allowed in %s", i, res, wantAction, wantNS)
		}
	}
	if b.maxIn != 3 {
		t.Errorf("%d reviews were in flight at once, want Concurrency=3", b.maxIn)
	}
	if got := b.total.Load(); got != 20 {
		t.Errorf("%d reviews sent, want 20", got)
	}
}

func TestVerifyDefaultConcurrency(t *testing.T) {
	b := &ssarBlocking{release: make(chan struct{})}
	time.AfterFunc(100*time.Millisecond, func() { close(b.release) })
	if _, err := (&Verifier{Client: b}).Verify(context.Background(), namespaces(40), []risk.Action{verifyAction(t, "get secrets")}); err != nil {
		t.Fatal(err)
	}
	if b.maxIn != DefaultConcurrency {
		t.Errorf("%d reviews in flight at once with Concurrency unset, want %d", b.maxIn, DefaultConcurrency)
	}
}

func TestVerifyTimeoutBoundsTheWholeRun(t *testing.T) {
	// A server that never answers: the first reviews time out, which stops
	// the run, so it ends about one timeout after it started.
	b := &ssarBlocking{}
	const timeout = 200 * time.Millisecond
	begin := time.Now()
	got, err := (&Verifier{Client: b, Concurrency: 4, Timeout: timeout}).Verify(context.Background(), namespaces(100), []risk.Action{verifyAction(t, "get secrets")})
	elapsed := time.Since(begin)
	if err != nil {
		t.Fatal(err)
	}
	if elapsed > timeout+time.Second {
		t.Errorf("took %s with a %s timeout", elapsed, timeout)
	}
	for _, res := range got.List() {
		if exitcode.Code(res.Err) != exitcode.Unreachable {
			t.Fatalf("%s: %v, want an unreachable-server error", res.Namespace, res.Err)
		}
	}
	if got := b.total.Load(); got > 4 {
		t.Errorf("%d reviews sent, want at most the 4 first in flight", got)
	}
}

func TestVerifyInterrupted(t *testing.T) {
	b := &ssarBlocking{}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	got, err := (&Verifier{Client: b, Concurrency: 4}).Verify(ctx, namespaces(30), []risk.Action{verifyAction(t, "get secrets")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify = %v, want context.Canceled", err)
	}
	if got.Len() != 30 {
		t.Fatalf("%d results, want 30", got.Len())
	}
	for _, res := range got.List() {
		var nr *NotReviewedError
		if res.Err == nil || errors.As(res.Err, &nr) {
			t.Errorf("%s: %v, want the interrupt, not a server failure", res.Namespace, res.Err)
		}
	}
}

func TestVerifyHonoursRetryAfter(t *testing.T) {
	// API Priority and Fairness rejects with 429 and Retry-After; client-go
	// retries after the delay asked, within the per-review timeout.
	var attempts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" {
			http.Error(w, "unexpected "+r.URL.Path, http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
		review, ok := obj.(*authorizationv1.SelfSubjectAccessReview)
		if err != nil || !ok {
			http.Error(w, fmt.Sprintf("not a SelfSubjectAccessReview: %v", err), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if attempts.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			_ = json.NewEncoder(w).Encode(&metav1.Status{
				TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
				Status:   metav1.StatusFailure, Code: http.StatusTooManyRequests, Reason: metav1.StatusReasonTooManyRequests,
			})
			return
		}
		w.WriteHeader(http.StatusCreated)
		review.TypeMeta = metav1.TypeMeta{APIVersion: "authorization.k8s.io/v1", Kind: "SelfSubjectAccessReview"}
		review.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: true, Reason: "after a 429"}
		_ = json.NewEncoder(w).Encode(review)
	}))
	defer srv.Close()
	client, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL, QPS: 1000, Burst: 1000})
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Client: client.AuthorizationV1(), Concurrency: 1, Timeout: 5 * time.Second}
	got, err := v.Verify(context.Background(), []string{"w"}, []risk.Action{verifyAction(t, "create pods/exec")})
	if err != nil {
		t.Fatal(err)
	}
	want := []Verification{{Namespace: "w", Action: verifyAction(t, "create pods/exec"), Allowed: true, Reason: "after a 429"}}
	if diff := cmp.Diff(want, got.List(), cmpopts.EquateErrors()); diff != "" {
		t.Errorf("Verify (-want +got):\n%s", diff)
	}
	if n := attempts.Load(); n != 2 {
		t.Errorf("%d attempts, want 2 (a 429, then the answer)", n)
	}
}
