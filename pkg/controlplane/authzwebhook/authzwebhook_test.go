package authzwebhook

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func resourceSpec(user, verb, group, resource, sub, ns, name string) authorizationv1.SubjectAccessReviewSpec {
	return authorizationv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: &authorizationv1.ResourceAttributes{
		Verb: verb, Group: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name,
	}}
}

func urlSpec(user, verb, path string) authorizationv1.SubjectAccessReviewSpec {
	return authorizationv1.SubjectAccessReviewSpec{User: user, NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: verb, Path: path}}
}

const sa = "system:serviceaccount:ci:builder"

func TestRuleMatches(t *testing.T) {
	execInW := resourceSpec(sa, "create", "", "pods", "exec", "w", "web-0")
	exec := Rule{User: sa, Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "w"}
	cases := []struct {
		name string
		rule Rule
		spec authorizationv1.SubjectAccessReviewSpec
		want bool
	}{
		{"every field equal", exec, execInW, true},
		{"the empty rule matches every resource request", Rule{}, execInW, true},
		{"stars match anything", Rule{User: "*", Verb: "*", APIGroup: "*", Resource: "*", Subresource: "*", Namespace: "*", Name: "*"}, execInW, true},
		{"another user", exec, resourceSpec("alice", "create", "", "pods", "exec", "w", ""), false},
		{"a user prefix", Rule{User: "system:serviceaccount:ci:*"}, execInW, true},
		{"a user prefix of another namespace", Rule{User: "system:serviceaccount:cd:*"}, execInW, false},
		{"a user is not a prefix", Rule{User: "system:serviceaccount:ci"}, execInW, false},
		{"another verb", exec, resourceSpec(sa, "get", "", "pods", "exec", "w", ""), false},
		{"another group", Rule{APIGroup: "apps"}, execInW, false},
		{"the group", Rule{APIGroup: "apps"}, resourceSpec(sa, "get", "apps", "deployments", "", "w", ""), true},
		{"another resource", Rule{Resource: "secrets"}, execInW, false},
		{"an empty subresource matches subresources", Rule{Resource: "pods"}, execInW, true},
		{"another subresource", Rule{Subresource: "attach"}, execInW, false},
		{"a subresource is not the resource", Rule{Subresource: "exec"}, resourceSpec(sa, "create", "", "pods", "", "w", ""), false},
		{"another namespace", Rule{Namespace: "x"}, execInW, false},
		{"a namespace is not cluster-wide", Rule{Namespace: "w"}, resourceSpec(sa, "get", "", "nodes", "", "", ""), false},
		{"another name", Rule{Name: "web-1"}, execInW, false},
		{"the name", Rule{Name: "web-0"}, execInW, true},
		{"a resource rule is not for URLs", Rule{}, urlSpec(sa, "get", "/metrics"), false},
		{"a URL rule", Rule{Verb: "get", NonResourceURL: "/metrics"}, urlSpec(sa, "get", "/metrics"), true},
		{"a URL rule with another verb", Rule{Verb: "post", NonResourceURL: "/metrics"}, urlSpec(sa, "get", "/metrics"), false},
		{"another URL", Rule{NonResourceURL: "/healthz"}, urlSpec(sa, "get", "/metrics"), false},
		{"every URL", Rule{NonResourceURL: "*"}, urlSpec(sa, "get", "/metrics"), true},
		{"a URL prefix", Rule{NonResourceURL: "/healthz/*"}, urlSpec(sa, "get", "/healthz/etcd"), true},
		{"a URL prefix is not the bare path", Rule{NonResourceURL: "/healthz/*"}, urlSpec(sa, "get", "/healthz"), false},
		{"a URL rule ignores resource fields", Rule{Resource: "pods", NonResourceURL: "/metrics"}, urlSpec(sa, "get", "/metrics"), true},
		{"a URL rule is not for resources", Rule{NonResourceURL: "*"}, execInW, false},
		{"a URL rule checks the user", Rule{User: "alice", NonResourceURL: "*"}, urlSpec(sa, "get", "/metrics"), false},
		{"a review with no attributes", Rule{}, authorizationv1.SubjectAccessReviewSpec{User: sa}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rule.matches(tc.spec); got != tc.want {
				t.Errorf("%+v matches %+v = %t, want %t", tc.rule, tc.spec, got, tc.want)
			}
		})
	}
}

func TestRuleString(t *testing.T) {
	cases := []struct {
		rule Rule
		want string
	}{
		{Rule{}, "everything"},
		{Rule{User: "*", Verb: "*"}, "everything"},
		{Rule{User: sa, Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "w"}, "user=" + sa + " verb=create resource=pods subresource=exec namespace=w"},
		{Rule{APIGroup: "apps", Resource: "deployments", Name: "web"}, "group=apps resource=deployments name=web"},
		{Rule{Verb: "get", NonResourceURL: "/metrics", Resource: "ignored"}, "verb=get url=/metrics"},
		{Rule{User: "alice", NonResourceURL: "*"}, "user=alice url=*"},
	}
	for _, tc := range cases {
		if got := tc.rule.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.rule, got, tc.want)
		}
	}
}

// webhookClient posts reviews to a started server the way kube-apiserver
// does: HTTPS verified with the server's CA, JSON.
type webhookClient struct {
	t      *testing.T
	srv    *Server
	client *http.Client
}

func startForTest(t *testing.T) *webhookClient {
	t.Helper()
	srv, err := Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(srv.CAData()) {
		t.Fatal("CAData holds no certificate")
	}
	return &webhookClient{t: t, srv: srv, client: &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}}
}

func review(spec authorizationv1.SubjectAccessReviewSpec) authorizationv1.SubjectAccessReview {
	return authorizationv1.SubjectAccessReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "authorization.k8s.io/v1", Kind: "SubjectAccessReview"},
		Spec:     spec,
	}
}

// post sends body and returns the status code and the body of the answer.
func (c *webhookClient) post(body []byte) (int, []byte, error) {
	resp, err := c.client.Post(c.srv.URL(), "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// ask sends a review of spec and returns the status answered.
func (c *webhookClient) ask(spec authorizationv1.SubjectAccessReviewSpec) authorizationv1.SubjectAccessReviewStatus {
	c.t.Helper()
	body, err := json.Marshal(review(spec))
	if err != nil {
		c.t.Fatal(err)
	}
	code, data, err := c.post(body)
	if err != nil {
		c.t.Fatalf("posting a review: %v", err)
	}
	if code != http.StatusOK {
		c.t.Fatalf("answer %d: %s", code, data)
	}
	var answer authorizationv1.SubjectAccessReview
	if err := json.Unmarshal(data, &answer); err != nil {
		c.t.Fatalf("decoding the answer %s: %v", data, err)
	}
	if answer.APIVersion != "authorization.k8s.io/v1" || answer.Kind != "SubjectAccessReview" {
		c.t.Errorf("answer is a %s %s, want an authorization.k8s.io/v1 SubjectAccessReview", answer.APIVersion, answer.Kind)
	}
	return answer.Status
}

func TestServerAnswers(t *testing.T) {
	c := startForTest(t)
	exec := resourceSpec(sa, "create", "", "pods", "exec", "w", "")
	noOpinion := authorizationv1.SubjectAccessReviewStatus{Reason: "no rule of the test webhook matches"}

	if diff := cmp.Diff(noOpinion, c.ask(exec)); diff != "" {
		t.Errorf("before any rule (-want +got):\n%s", diff)
	}

	rule := Rule{User: sa, Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "w"}
	c.srv.Allow(rule)
	allowed := authorizationv1.SubjectAccessReviewStatus{Allowed: true, Reason: "allowed by test webhook: " + rule.String()}
	if diff := cmp.Diff(allowed, c.ask(exec)); diff != "" {
		t.Errorf("after Allow (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(noOpinion, c.ask(resourceSpec(sa, "create", "", "pods", "exec", "x", ""))); diff != "" {
		t.Errorf("another namespace after Allow (-want +got):\n%s", diff)
	}

	deny := Rule{Resource: "pods"}
	c.srv.Deny(deny)
	denied := authorizationv1.SubjectAccessReviewStatus{Denied: true, Reason: "denied by test webhook: resource=pods"}
	if diff := cmp.Diff(denied, c.ask(exec)); diff != "" {
		t.Errorf("a Deny rule wins over an Allow rule (-want +got):\n%s", diff)
	}

	c.srv.Reset()
	if diff := cmp.Diff(noOpinion, c.ask(exec)); diff != "" {
		t.Errorf("after Reset (-want +got):\n%s", diff)
	}

	c.srv.AllowAll(sa)
	for _, spec := range []authorizationv1.SubjectAccessReviewSpec{exec, urlSpec(sa, "get", "/metrics"), resourceSpec(sa, "delete", "apps", "deployments", "", "", "x")} {
		if got := c.ask(spec); !got.Allowed {
			t.Errorf("AllowAll did not allow %+v: %+v", spec, got)
		}
	}
	if got := c.ask(urlSpec("alice", "get", "/metrics")); got.Allowed {
		t.Errorf("AllowAll(%q) allowed another user: %+v", sa, got)
	}
}

func TestServerRecordsRequests(t *testing.T) {
	c := startForTest(t)
	specs := []authorizationv1.SubjectAccessReviewSpec{
		resourceSpec(sa, "create", "", "pods", "exec", "w", ""),
		urlSpec(sa, "get", "/metrics"),
	}
	for _, spec := range specs {
		c.ask(spec)
	}
	c.srv.SetFailure(http.StatusInternalServerError)
	body, _ := json.Marshal(review(specs[0]))
	if code, _, err := c.post(body); err != nil || code != http.StatusInternalServerError {
		t.Errorf("failing answer: %d, %v", code, err)
	}
	want := []authorizationv1.SubjectAccessReview{review(specs[0]), review(specs[1]), review(specs[0])}
	got := c.srv.Requests()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Requests() (-want +got):\n%s", diff)
	}
	got[0].Spec.User = "changed"
	if c.srv.Requests()[0].Spec.User != sa {
		t.Error("changing what Requests returned changed the record")
	}
	c.srv.Reset()
	if got := c.srv.Requests(); len(got) != 0 {
		t.Errorf("Requests() after Reset = %+v, want none", got)
	}
	c.ask(specs[1]) // Reset also ended the failure
}

func TestServerFailureAndDelay(t *testing.T) {
	c := startForTest(t)
	body, _ := json.Marshal(review(resourceSpec(sa, "get", "", "pods", "", "w", "")))

	c.srv.SetFailure(http.StatusServiceUnavailable)
	code, data, err := c.post(body)
	if err != nil || code != http.StatusServiceUnavailable || !strings.Contains(string(data), "test webhook failure 503") {
		t.Errorf("SetFailure(503): answer %d %q, %v", code, data, err)
	}
	c.srv.SetFailure(0)
	if code, data, err := c.post(body); err != nil || code != http.StatusOK {
		t.Errorf("SetFailure(0): answer %d %q, %v", code, data, err)
	}

	c.srv.SetDelay(300 * time.Millisecond)
	begin := time.Now()
	c.ask(resourceSpec(sa, "get", "", "pods", "", "w", ""))
	if elapsed := time.Since(begin); elapsed < 300*time.Millisecond {
		t.Errorf("answered in %s with a 300ms delay", elapsed)
	}

	// A client that gives up first gets no answer; the server does not hang.
	c.srv.SetDelay(time.Hour)
	impatient := *c.client
	impatient.Timeout = 200 * time.Millisecond
	if resp, err := impatient.Post(c.srv.URL(), "application/json", bytes.NewReader(body)); err == nil {
		resp.Body.Close()
		t.Errorf("answered %s despite an hour's delay", resp.Status)
	}

	// Close ends an answer still waiting.
	done := make(chan error, 1)
	go func() {
		_, _, err := c.post(body)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	begin = time.Now()
	if err := c.srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Error("a delayed answer outlived Close")
	}
	if elapsed := time.Since(begin); elapsed > 2*time.Second {
		t.Errorf("Close took %s with a delayed answer pending", elapsed)
	}
	if err := c.srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestServerRefusesWhatIsNotAReview(t *testing.T) {
	c := startForTest(t)
	cases := []struct {
		name string
		body string
		want string
	}{
		{"not JSON", "{", "decoding the SubjectAccessReview"},
		{"another kind", `{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview"}`, "want a authorization.k8s.io/v1 SubjectAccessReview"},
		{"another version", `{"apiVersion":"authorization.k8s.io/v1beta1","kind":"SubjectAccessReview"}`, "got authorization.k8s.io/v1beta1 SubjectAccessReview"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, data, err := c.post([]byte(tc.body))
			if err != nil || code != http.StatusBadRequest || !strings.Contains(string(data), tc.want) {
				t.Errorf("answer %d %q, %v; want 400 with %q", code, data, err, tc.want)
			}
		})
	}
	resp, err := c.client.Get(c.srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET answered %s, want 405", resp.Status)
	}
	if got := c.srv.Requests(); len(got) != 0 {
		t.Errorf("refused requests were recorded: %+v", got)
	}
}

func TestServerIsSafeForConcurrentUse(t *testing.T) {
	c := startForTest(t)
	exec := resourceSpec(sa, "create", "", "pods", "exec", "w", "")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 10 {
				if i%2 == 0 {
					c.srv.Allow(Rule{User: sa})
					c.srv.Requests()
				} else {
					c.ask(exec)
				}
			}
		})
	}
	wg.Wait()
	if got := len(c.srv.Requests()); got != 40 {
		t.Errorf("%d requests recorded, want 40", got)
	}
}

func TestAuthorizationWebhook(t *testing.T) {
	c := startForTest(t)
	got := c.srv.AuthorizationWebhook()
	if got.URL != c.srv.URL() || !bytes.Equal(got.CAData, c.srv.CAData()) || got.Timeout != 0 {
		t.Errorf("AuthorizationWebhook() = %+v, want the server's URL and CA and the default timeout", got)
	}
	if !strings.HasPrefix(got.URL, "https://127.0.0.1:") || !strings.HasSuffix(got.URL, Path) {
		t.Errorf("URL = %q, want https://127.0.0.1:PORT%s", got.URL, Path)
	}
}

func TestCloseNil(t *testing.T) {
	var s *Server
	if err := s.Close(); err != nil {
		t.Errorf("Close on nil: %v", err)
	}
}
