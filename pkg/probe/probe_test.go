package probe

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"

	"github.com/kubectl-access/kubectl-access/pkg/controlplane"
	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
)

const testToken = "test-token-0123456789abcdef"

// fakeServer is an httptest TLS server that answers like an API server to
// the test token and counts what it was sent. It stands in for faults the
// real server cannot produce (redirects, hangs, huge bodies).
type fakeServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
	// failures makes a path answer 403 this many times before 200.
	failures map[string]int
	// hang is closed when the test ends, releasing hanging handlers.
	hang chan struct{}
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	s := &fakeServer{failures: map[string]int{}, hang: make(chan struct{})}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are expected
	s.StartTLS()
	t.Cleanup(func() {
		close(s.hang)
		s.Close()
	})
	return s
}

func (s *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
	fail := s.failures[r.URL.Path]
	if fail > 0 {
		s.failures[r.URL.Path] = fail - 1
	}
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		writeStatus(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	switch {
	case r.URL.Path == "/apis/authentication.k8s.io/v1/selfsubjectreviews" && r.Method == http.MethodPost:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1","status":{"userInfo":{"username":"system:serviceaccount:ns:sa","uid":"u-1","groups":["system:serviceaccounts:ns","system:authenticated","system:serviceaccounts"]}}}`)
	case fail > 0:
		writeStatus(w, http.StatusForbidden, `pods is forbidden: User "system:serviceaccount:ns:sa" cannot list resource "pods"`)
	case r.URL.Path == "/api" || r.URL.Path == "/ok":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"kind":"APIVersions","versions":["v1"]}`)
	case r.URL.Path == "/forbidden":
		writeStatus(w, http.StatusForbidden, `secrets is forbidden: User "system:serviceaccount:ns:sa" cannot list resource "secrets"`)
	case r.URL.Path == "/unavailable":
		writeStatus(w, http.StatusServiceUnavailable, `no endpoints available for service "web"`)
	case r.URL.Path == "/redirect":
		http.Redirect(w, r, "http://elsewhere.example/steal", http.StatusFound)
	case r.URL.Path == "/big":
		w.Write([]byte(strings.Repeat("x", MaxBodyBytes+10)))
	case r.URL.Path == "/plain":
		fmt.Fprint(w, "hello")
	case r.URL.Path == "/hang":
		select {
		case <-r.Context().Done():
		case <-s.hang:
		}
	default:
		writeStatus(w, http.StatusNotFound, "the server could not find the requested resource")
	}
}

func writeStatus(w http.ResponseWriter, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":%q,"code":%d}`, message, code)
}

func (s *fakeServer) sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.requests...)
}

// config is what credential.ClientConfig would build: the server, its CA
// and the token alone.
func (s *fakeServer) config() *rest.Config {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	return &rest.Config{Host: s.URL, BearerToken: testToken, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
}

func targets(t *testing.T, paths ...string) []Target {
	t.Helper()
	ts, err := Targets(nil, paths)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func run(t *testing.T, cfg *rest.Config, opts Options, paths ...string) *Report {
	t.Helper()
	p, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Run(context.Background(), targets(t, paths...))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// brief keeps what a result says, without the latency.
type brief struct {
	Path, URL, Reason, Error string
	Status, ExitCode         int
	OK                       bool
}

func briefs(rep *Report) []brief {
	var out []brief
	for _, r := range rep.Results {
		out = append(out, brief{Path: r.Path, URL: r.URL, Reason: r.Reason, Error: r.Error, Status: r.Status, ExitCode: r.ExitCode, OK: r.OK})
	}
	return out
}

func TestRunReportsEveryPath(t *testing.T) {
	s := newFakeServer(t)
	rep := run(t, s.config(), Options{}, "/api", "/forbidden", "/missing", "/unavailable", "/redirect", "/api")

	want := []brief{
		{Path: "/api", URL: s.URL + "/api", Reason: "OK", Status: 200, OK: true},
		{Path: "/forbidden", URL: s.URL + "/forbidden", Reason: "Forbidden", Status: 403, ExitCode: 4,
			Error: `secrets is forbidden: User "system:serviceaccount:ns:sa" cannot list resource "secrets"`},
		{Path: "/missing", URL: s.URL + "/missing", Reason: "Not Found", Status: 404, ExitCode: 5,
			Error: "the server could not find the requested resource"},
		{Path: "/unavailable", URL: s.URL + "/unavailable", Reason: "Service Unavailable", Status: 503, ExitCode: 5,
			Error: `no endpoints available for service "web"`},
		{Path: "/redirect", URL: s.URL + "/redirect", Reason: "Found", Status: 302, ExitCode: 5,
			Error: "the server answered 302 Found with a redirect to elsewhere.example, which was refused: the token would be sent there"},
	}
	if diff := cmp.Diff(want, briefs(rep)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	wantID := Identity{Username: "system:serviceaccount:ns:sa", UID: "u-1", Groups: []string{"system:authenticated", "system:serviceaccounts", "system:serviceaccounts:ns"}}
	if diff := cmp.Diff(wantID, rep.Identity); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
	if rep.ExitCode() != exitcode.Forbidden {
		t.Errorf("exit code %d, want 4 (403 is the lowest failure)", rep.ExitCode())
	}
	if rep.APIVersion != APIVersion || rep.Kind != Kind || rep.Server != s.URL || rep.Attempts != 1 {
		t.Errorf("report header = %s %s %s attempts %d", rep.APIVersion, rep.Kind, rep.Server, rep.Attempts)
	}
	for _, r := range rep.Results {
		if r.LatencyMs <= 0 || r.Method != "GET" {
			t.Errorf("%s: latency %vms, method %q", r.Path, r.LatencyMs, r.Method)
		}
		if r.Body != "" {
			t.Errorf("%s: body kept without Options.Body", r.Path)
		}
	}
	wantSummary := "4 of 5 paths failed (exit code 4): /forbidden: 403 Forbidden; /missing: 404 Not Found; /unavailable: 503 Service Unavailable; and 1 more"
	if got := rep.Summary(); got != wantSummary {
		t.Errorf("summary = %q\nwant      %q", got, wantSummary)
	}
}

// TestRunRequestFloor pins the requests a probe sends: one
// SelfSubjectReview and one GET per distinct path, no discovery.
func TestRunRequestFloor(t *testing.T) {
	s := newFakeServer(t)
	run(t, s.config(), Options{}, "/api", "/ok", "/api")
	got := s.sent()
	want := []string{"GET /api", "GET /ok", "POST /apis/authentication.k8s.io/v1/selfsubjectreviews"}
	if diff := cmp.Diff(want, sortedCopy(got)); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// sortedCopy sorts requests sent concurrently.
func sortedCopy(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
}

func TestRunRedirectIsNotFollowed(t *testing.T) {
	var stolen sync.Mutex
	leaked := ""
	thief := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		stolen.Lock()
		defer stolen.Unlock()
		leaked = r.Header.Get("Authorization")
	}))
	defer thief.Close()
	front := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, thief.URL+"/x", http.StatusTemporaryRedirect)
	}))
	defer front.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: front.Certificate().Raw})
	rep := run(t, &rest.Config{Host: front.URL, BearerToken: testToken, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}, Options{}, "/api")
	if r := rep.Results[0]; r.Status != http.StatusTemporaryRedirect || r.ExitCode != exitcode.BadStatus || !strings.Contains(r.Error, "which was refused") {
		t.Errorf("result = %+v, want 307 refused, exit 5", r)
	}
	stolen.Lock()
	defer stolen.Unlock()
	if leaked != "" {
		t.Error("the redirect target received the Authorization header")
	}
}

func TestRunTransportFaults(t *testing.T) {
	s := newFakeServer(t)
	// Every httptest server shares one certificate: make another CA.
	otherCA := selfSignedCA(t)

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "https://" + closed.Addr().String()
	closed.Close()

	wrongCA := s.config()
	wrongCA.CAData = otherCA
	unreachable := s.config()
	unreachable.Host = closedURL
	slow := s.config()
	slow.Timeout = 300 * time.Millisecond

	cases := []struct {
		name  string
		cfg   *rest.Config
		path  string
		code  int
		error string
		limit time.Duration
	}{
		{"wrong CA", wrongCA, "/api", exitcode.TLS, "certificate signed by unknown authority", 5 * time.Second},
		{"closed port", unreachable, "/api", exitcode.Unreachable, "connection refused", 5 * time.Second},
		{"no answer", slow, "/hang", exitcode.Unreachable, "no answer within 300ms (--request-timeout)", 3 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			rep := run(t, tc.cfg, Options{}, tc.path)
			if elapsed := time.Since(start); elapsed > tc.limit {
				t.Errorf("took %s, want under %s", elapsed, tc.limit)
			}
			r := rep.Results[0]
			if r.Status != 0 || r.OK || r.ExitCode != tc.code || !strings.Contains(r.Error, tc.error) {
				t.Errorf("result = %+v, want no status, exit %d, error containing %q", r, tc.code, tc.error)
			}
			if strings.Contains(r.Error, "Get \"") {
				t.Errorf("error repeats the URL: %q", r.Error)
			}
			if rep.ExitCode() != tc.code {
				t.Errorf("report exit code %d, want %d", rep.ExitCode(), tc.code)
			}
			if tc.path == "/api" && (rep.Identity.Username != "" || rep.Identity.Error == "") {
				t.Errorf("identity = %+v, want unknown with a reason", rep.Identity)
			}
		})
	}
}

// selfSignedCA returns the PEM of a fresh CA that signed nothing the test
// servers use.
func selfSignedCA(t *testing.T) []byte {
	t.Helper()
	ca, err := controlplane.UntrustedCA()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestRunRejectedToken(t *testing.T) {
	s := newFakeServer(t)
	cfg := s.config()
	cfg.BearerToken = "garbage"
	rep := run(t, cfg, Options{}, "/api")
	if r := rep.Results[0]; r.Status != 401 || r.ExitCode != exitcode.Unauthorized {
		t.Errorf("result = %+v, want 401, exit 3", r)
	}
	if want := "the credentials were not accepted: 401 Unauthorized"; rep.Identity.Error != want {
		t.Errorf("identity error = %q, want %q", rep.Identity.Error, want)
	}
}

func TestRunBody(t *testing.T) {
	s := newFakeServer(t)
	rep := run(t, s.config(), Options{Body: true}, "/plain", "/big", "/forbidden")
	if r := rep.Results[0]; r.Body != "hello" || r.BodyTruncated {
		t.Errorf("/plain body = %q (truncated %v)", r.Body, r.BodyTruncated)
	}
	if r := rep.Results[1]; len(r.Body) != MaxBodyBytes || !r.BodyTruncated || !r.OK {
		t.Errorf("/big body has %d bytes (truncated %v, ok %v), want %d, truncated, ok", len(r.Body), r.BodyTruncated, r.OK, MaxBodyBytes)
	}
	if r := rep.Results[2]; !strings.Contains(r.Body, `"kind":"Status"`) {
		t.Errorf("/forbidden body = %q, want the Status", r.Body)
	}
}

// fastBackoff keeps --wait tests short.
var fastBackoff = wait.Backoff{Duration: 20 * time.Millisecond, Factor: 2, Cap: 100 * time.Millisecond, Steps: 100}

func TestRunWaitRetriesOnlyFailures(t *testing.T) {
	s := newFakeServer(t)
	s.failures["/ok"] = 2
	rep := run(t, s.config(), Options{Wait: 10 * time.Second, Backoff: fastBackoff}, "/api", "/ok")
	if rep.ExitCode() != exitcode.OK || rep.Attempts != 3 {
		t.Errorf("exit code %d after %d attempts, want 0 after 3", rep.ExitCode(), rep.Attempts)
	}
	want := []string{"GET /api", "GET /ok", "GET /ok", "GET /ok", "POST /apis/authentication.k8s.io/v1/selfsubjectreviews"}
	if diff := cmp.Diff(want, sortedCopy(s.sent())); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestRunWaitGivesUp(t *testing.T) {
	s := newFakeServer(t)
	start := time.Now()
	rep := run(t, s.config(), Options{Wait: 400 * time.Millisecond, Backoff: fastBackoff}, "/forbidden")
	elapsed := time.Since(start)
	if elapsed < 400*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("gave up after %s, want just over 400ms", elapsed)
	}
	if rep.ExitCode() != exitcode.Forbidden || rep.Attempts < 3 {
		t.Errorf("exit code %d after %d attempts, want 4 after several", rep.ExitCode(), rep.Attempts)
	}
}

func TestRunCanceled(t *testing.T) {
	s := newFakeServer(t)
	p, err := New(s.config(), Options{Wait: time.Minute, Backoff: fastBackoff})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	rep, err := p.Run(ctx, targets(t, "/forbidden"))
	if !errors.Is(err, context.DeadlineExceeded) || rep != nil {
		t.Errorf("Run = %v, %v; want no report and the context's error", rep, err)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("returned after %s, want soon after the context ended", elapsed)
	}
}

func TestAggregate(t *testing.T) {
	codes := func(cs ...int) []Result {
		var rs []Result
		for _, c := range cs {
			rs = append(rs, Result{ExitCode: c, OK: c == 0})
		}
		return rs
	}
	cases := []struct {
		name    string
		results []Result
		want    int
	}{
		{"none", nil, 0},
		{"all ok", codes(0, 0), 0},
		{"403 and 404", codes(0, 5, 4), 4},
		{"401 beats all", codes(7, 6, 5, 4, 3), 3},
		{"401 first still beats all", codes(3, 7, 6, 5, 4), 3},
		{"TLS beats unreachable", codes(7, 6), 6},
		{"a status beats TLS", codes(6, 5), 5},
		{"documented code beats other error", codes(1, 7), 7},
		{"other error alone", codes(0, 1), 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Aggregate(tc.results); got != tc.want {
				t.Errorf("Aggregate = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestStatusCode(t *testing.T) {
	for status, want := range map[int]int{200: 0, 201: 0, 204: 0, 301: 5, 400: 5, 401: 3, 403: 4, 404: 5, 429: 5, 500: 5, 503: 5} {
		if got := StatusCode(status); got != want {
			t.Errorf("StatusCode(%d) = %d, want %d", status, got, want)
		}
	}
}
