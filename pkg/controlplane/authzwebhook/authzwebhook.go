// Package authzwebhook is an authorization webhook for tests: an HTTPS
// server on 127.0.0.1, with a CA of its own, that answers kube-apiserver's
// authorization.k8s.io/v1 SubjectAccessReviews from rules the test sets
// while it runs.
//
// It stands in for the webhook authorizers of managed clusters (GKE, EKS,
// AKS), whose grants appear in no RBAC rule: a SelfSubjectRulesReview
// cannot list them, only a SelfSubjectAccessReview shows them. Pass
// Server.AuthorizationWebhook as controlplane.Options.AuthorizationWebhook;
// kube-apiserver then asks it whatever Node and RBAC do not allow.
//
// A request no rule matches gets no opinion (neither allowed nor denied),
// as a real webhook that knows nothing of the request answers, so RBAC's
// answers are unchanged. Deny rules win over Allow rules.
package authzwebhook

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"

	"github.com/kubectl-access/kubectl-access/pkg/controlplane"
)

// Path is where the server takes SubjectAccessReviews.
const Path = "/authorize"

// maxRequestBytes bounds a request body; a SubjectAccessReview is small.
const maxRequestBytes = 1 << 20

// Rule matches SubjectAccessReviews. A field left empty or set to "*"
// matches anything, so Rule{} matches every resource request; User and
// NonResourceURL also take a prefix ending in "*"
// ("system:serviceaccount:ci:*").
type Rule struct {
	// User is the user name asked about, e.g.
	// "system:serviceaccount:NAMESPACE:NAME".
	User string
	// Verb is the API verb of a resource request or the lower-case HTTP
	// method of a non-resource one.
	Verb string
	// APIGroup, Resource, Subresource, Namespace and Name match the
	// request's resource attributes. An empty Subresource matches every
	// subresource too: Rule{Resource: "pods"} allows pods/exec.
	APIGroup    string
	Resource    string
	Subresource string
	Namespace   string
	Name        string
	// NonResourceURL makes the rule one for non-resource requests (the
	// resource fields are then ignored); a rule without it matches resource
	// requests only.
	NonResourceURL string
}

// String lists the fields that narrow the rule, for the answer's reason.
func (r Rule) String() string {
	var parts []string
	add := func(name, value string) {
		if value != "" && value != "*" {
			parts = append(parts, name+"="+value)
		}
	}
	add("user", r.User)
	add("verb", r.Verb)
	if r.NonResourceURL != "" {
		parts = append(parts, "url="+r.NonResourceURL)
	} else {
		add("group", r.APIGroup)
		add("resource", r.Resource)
		add("subresource", r.Subresource)
		add("namespace", r.Namespace)
		add("name", r.Name)
	}
	if len(parts) == 0 {
		return "everything"
	}
	return strings.Join(parts, " ")
}

// matches reports whether r matches the review's spec.
func (r Rule) matches(spec authorizationv1.SubjectAccessReviewSpec) bool {
	if !matchPrefix(r.User, spec.User) {
		return false
	}
	if r.NonResourceURL != "" {
		a := spec.NonResourceAttributes
		return a != nil && match(r.Verb, a.Verb) && matchPrefix(r.NonResourceURL, a.Path)
	}
	a := spec.ResourceAttributes
	return a != nil && match(r.Verb, a.Verb) && match(r.APIGroup, a.Group) && match(r.Resource, a.Resource) &&
		match(r.Subresource, a.Subresource) && match(r.Namespace, a.Namespace) && match(r.Name, a.Name)
}

// match: an empty or "*" pattern matches anything, else only itself.
func match(pattern, value string) bool {
	return pattern == "" || pattern == "*" || pattern == value
}

// matchPrefix is match, and a pattern ending in "*" matches the values it
// is a prefix of.
func matchPrefix(pattern, value string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(value, prefix)
	}
	return match(pattern, value)
}

// Server is a running webhook. Its methods are safe for concurrent use, so
// a test may change the rules while kube-apiserver asks.
type Server struct {
	url    string
	caData []byte
	http   *http.Server
	closed chan struct{} // closed by Close: ends delayed answers
	served chan error    // the result of Serve

	mu       sync.Mutex
	allow    []Rule
	deny     []Rule
	failure  int
	delay    time.Duration
	requests []authorizationv1.SubjectAccessReview

	closeOnce sync.Once
	closeErr  error
}

// Start starts a webhook on a free port of 127.0.0.1, serving with a fresh
// CA and certificate, with no rules: it has no opinion on anything until
// Allow or Deny.
func Start() (*Server, error) {
	caData, cert, err := controlplane.LoopbackServingCert("authzwebhook")
	if err != nil {
		return nil, fmt.Errorf("authzwebhook: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("authzwebhook: %w", err)
	}
	s := &Server{
		url:    "https://" + l.Addr().String() + Path,
		caData: caData,
		closed: make(chan struct{}),
		served: make(chan error, 1),
	}
	mux := http.NewServeMux()
	mux.HandleFunc(Path, s.serve)
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	go func() { s.served <- s.http.ServeTLS(l, "", "") }()
	return s, nil
}

// URL is where kube-apiserver sends SubjectAccessReviews.
func (s *Server) URL() string { return s.url }

// CAData is the PEM certificate of the CA that signed the serving
// certificate.
func (s *Server) CAData() []byte { return slices.Clone(s.caData) }

// AuthorizationWebhook is the configuration that makes a control plane
// started with it ask this server.
func (s *Server) AuthorizationWebhook() *controlplane.AuthorizationWebhook {
	return &controlplane.AuthorizationWebhook{URL: s.URL(), CAData: s.CAData()}
}

// Allow adds rules that allow what they match.
func (s *Server) Allow(rules ...Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allow = append(s.allow, rules...)
}

// AllowAll allows user every resource and non-resource request.
func (s *Server) AllowAll(user string) {
	s.Allow(Rule{User: user}, Rule{User: user, NonResourceURL: "*"})
}

// Deny adds rules that deny what they match, whatever Allow rules say. A
// denial is final: kube-apiserver asks no later authorizer, but RBAC,
// asked first, still allows what it grants.
func (s *Server) Deny(rules ...Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deny = append(s.deny, rules...)
}

// SetFailure makes every answer an HTTP error with status (e.g. 500)
// instead of a review, as a broken webhook would; 0 answers normally again.
func (s *Server) SetFailure(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failure = status
}

// SetDelay makes every answer wait d first, e.g. beyond kube-apiserver's
// webhook timeout; 0 answers at once again.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Reset drops every rule, failure, delay and recorded request.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allow, s.deny, s.failure, s.delay, s.requests = nil, nil, 0, 0, nil
}

// Requests returns the SubjectAccessReviews received since the start or the
// last Reset, in the order they came, whether answered or failed.
func (s *Server) Requests() []authorizationv1.SubjectAccessReview {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]authorizationv1.SubjectAccessReview, len(s.requests))
	for i := range s.requests {
		s.requests[i].DeepCopyInto(&out[i])
	}
	return out
}

// Close stops the server and ends delayed answers. It is safe to call more
// than once and on nil.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	s.closeOnce.Do(func() {
		close(s.closed)
		err := s.http.Close()
		if serveErr := <-s.served; !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, serveErr)
		}
		s.closeErr = err
	})
	return s.closeErr
}

// serve answers one SubjectAccessReview.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST a SubjectAccessReview", http.StatusMethodNotAllowed)
		return
	}
	var review authorizationv1.SubjectAccessReview
	if err := json.NewDecoder(io.LimitReader(r.Body, maxRequestBytes)).Decode(&review); err != nil {
		http.Error(w, "decoding the SubjectAccessReview: "+err.Error(), http.StatusBadRequest)
		return
	}
	if review.APIVersion != authorizationv1.SchemeGroupVersion.String() || review.Kind != "SubjectAccessReview" {
		http.Error(w, fmt.Sprintf("got %s %s, want a %s SubjectAccessReview", review.APIVersion, review.Kind, authorizationv1.SchemeGroupVersion), http.StatusBadRequest)
		return
	}

	s.mu.Lock()
	s.requests = append(s.requests, *review.DeepCopy())
	failure, delay := s.failure, s.delay
	status := s.decide(review.Spec)
	s.mu.Unlock()

	if delay > 0 {
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return // kube-apiserver gave up
		case <-s.closed:
			return
		}
	}
	if failure != 0 {
		http.Error(w, fmt.Sprintf("test webhook failure %d", failure), failure)
		return
	}
	answer := authorizationv1.SubjectAccessReview{TypeMeta: review.TypeMeta, Status: status}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(&answer)
}

// decide answers spec from the rules; s.mu is held.
func (s *Server) decide(spec authorizationv1.SubjectAccessReviewSpec) authorizationv1.SubjectAccessReviewStatus {
	for _, rule := range s.deny {
		if rule.matches(spec) {
			return authorizationv1.SubjectAccessReviewStatus{Denied: true, Reason: "denied by test webhook: " + rule.String()}
		}
	}
	for _, rule := range s.allow {
		if rule.matches(spec) {
			return authorizationv1.SubjectAccessReviewStatus{Allowed: true, Reason: "allowed by test webhook: " + rule.String()}
		}
	}
	return authorizationv1.SubjectAccessReviewStatus{Reason: "no rule of the test webhook matches"}
}
