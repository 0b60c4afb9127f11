package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// event is one audit log line.
func event(id, stage, verb, uri, agent string) string {
	return `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"` + id + `","stage":"` + stage +
		`","requestURI":"` + uri + `","verb":"` + verb + `","user":{"username":"kubectl-access-admin"},"userAgent":"` + agent + `"}` + "\n"
}

const (
	pluginUA  = "kubectl-access/v0.1.0 (linux/amd64)"
	kubectlUA = "kubectl/v1.37.2 (linux/amd64) kubernetes/abcdef"
)

func TestParseAudit(t *testing.T) {
	log := event("1", "ResponseComplete", "get", "/api/v1/namespaces/bench/serviceaccounts/legacy", pluginUA) +
		// A watch logs ResponseStarted and ResponseComplete: one request.
		event("2", "ResponseStarted", "watch", "/api/v1/namespaces/bench/secrets?watch=true", pluginUA) +
		event("2", "ResponseComplete", "watch", "/api/v1/namespaces/bench/secrets?watch=true", pluginUA) +
		event("3", "ResponseComplete", "list", "/api/v1/namespaces/bench/secrets?limit=500", kubectlUA) +
		event("4", "ResponseComplete", "get", "/api/v1/namespaces/bench", "kubectl-access-bench/setup") +
		event("5", "ResponseComplete", "get", "/api", "curl/8.5.0") +
		event("6", "ResponseComplete", "get", "/api/v1/namespaces/bench", "kubectl-access-bench/marker-1") +
		event("7", "ResponseComplete", "get", "/api/v1/namespaces/bench/pods", kubectlUA)
	got, sawStop, err := parseAudit(strings.NewReader(log), "kubectl-access-bench/marker-1")
	if err != nil {
		t.Fatal(err)
	}
	if !sawStop {
		t.Error("the marker line was not reported")
	}
	want := map[string][]request{
		"kubectl-access": {
			{Verb: "get", Path: "/api/v1/namespaces/bench/serviceaccounts/legacy"},
			{Verb: "watch", Path: "/api/v1/namespaces/bench/secrets"},
		},
		"kubectl": {{Verb: "list", Path: "/api/v1/namespaces/bench/secrets"}},
		"curl":    {{Verb: "get", Path: "/api"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseAudit (-want +got):\n%s", diff)
	}
}

func TestParseAuditIgnoresAnIncompleteLastLine(t *testing.T) {
	full := event("1", "ResponseComplete", "get", "/version", pluginUA)
	partial := event("2", "ResponseComplete", "get", "/version", pluginUA)
	got, sawStop, err := parseAudit(strings.NewReader(full+partial[:40]), "marker")
	if err != nil {
		t.Fatal(err)
	}
	if sawStop || len(got["kubectl-access"]) != 1 {
		t.Errorf("parseAudit = %v, %v; want the one complete request and no marker", got, sawStop)
	}
	if _, _, err := parseAudit(strings.NewReader("not json\n"), ""); err == nil {
		t.Error("parseAudit accepted a line that is not JSON")
	}
}

func TestAuditLogSince(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	before := event("1", "ResponseComplete", "get", "/api/v1/namespaces/default", kubectlUA)
	if err := os.WriteFile(path, []byte(before), 0o600); err != nil {
		t.Fatal(err)
	}
	// mark plays the API server: the command's requests, then the marker.
	l := &auditLog{path: path, mark: func(_ context.Context, userAgent string) error {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteString(event("2", "ResponseComplete", "create", "/apis/authentication.k8s.io/v1/selfsubjectreviews", pluginUA) +
			event("3", "ResponseComplete", "get", "/api/v1/namespaces/bench", userAgent) +
			event("4", "ResponseComplete", "get", "/api/v1/namespaces/later", pluginUA))
		return err
	}}
	offset, err := l.Offset()
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.Since(context.Background(), offset)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]request{"kubectl-access": {{Verb: "create", Path: "/apis/authentication.k8s.io/v1/selfsubjectreviews"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Since (-want +got):\n%s", diff)
	}
}

func TestAgentOf(t *testing.T) {
	for ua, want := range map[string]string{
		kubectlUA:                             "kubectl",
		pluginUA:                              "kubectl-access",
		"curl/8.5.0":                          "curl",
		"kubectl-access-bench-floor/v0 (x/y)": "kubectl-access-bench-floor",
		"Go-http-client/2.0":                  "Go-http-client",
		"":                                    "",
	} {
		if got := agentOf(ua); got != want {
			t.Errorf("agentOf(%q) = %q, want %q", ua, got, want)
		}
	}
}

func TestIsDiscovery(t *testing.T) {
	for path, want := range map[string]bool{
		"/api":                      true,
		"/api/v1":                   true,
		"/apis":                     true,
		"/apis/apps":                true,
		"/apis/apps/v1":             true,
		"/openapi/v3":               true,
		"/api/v1/namespaces":        false,
		"/apis/apps/v1/deployments": false,
		"/apis/authorization.k8s.io/v1/selfsubjectrulesreviews": false,
		"/version": false,
		"/healthz": false,
	} {
		if got := isDiscovery(path); got != want {
			t.Errorf("isDiscovery(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestDescribeRequests(t *testing.T) {
	// Requests at different times are the same request for the summary.
	got := describeRequests([]request{
		{Verb: "list", Path: "/api/v1/namespaces", Received: at(0), Completed: at(1)},
		{Verb: "create", Path: "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", Received: at(1), Completed: at(2)},
		{Verb: "create", Path: "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", Received: at(1), Completed: at(3)},
	})
	want := "list /api/v1/namespaces; create /apis/authorization.k8s.io/v1/selfsubjectrulesreviews ×2"
	if got != want {
		t.Errorf("describeRequests = %q, want %q", got, want)
	}
}

// at is a point in time ms milliseconds after a fixed origin.
func at(ms float64) time.Time {
	return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(ms * float64(time.Millisecond)))
}

// timedEvent is one audit log line with its timestamps, as kube-apiserver
// writes them (microseconds).
func timedEvent(id, stage, uri string, received, done time.Time) string {
	const micro = "2006-01-02T15:04:05.000000Z07:00"
	return `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"` + id + `","stage":"` + stage +
		`","requestURI":"` + uri + `","verb":"get","userAgent":"` + pluginUA + `","requestReceivedTimestamp":"` + received.Format(micro) +
		`","stageTimestamp":"` + done.Format(micro) + `"}` + "\n"
}

func TestParseAuditTimestamps(t *testing.T) {
	// A watch: received at 0, started at 1, completed at 9; the completion
	// is its last stage, whatever the order of the lines.
	log := timedEvent("1", "ResponseStarted", "/a", at(0), at(1)) +
		timedEvent("2", "ResponseComplete", "/b", at(0.5), at(2)) +
		timedEvent("1", "ResponseComplete", "/a", at(0), at(9)) +
		timedEvent("1", "ResponseStarted", "/a", at(0), at(1))
	got, _, err := parseAudit(strings.NewReader(log), "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]request{"kubectl-access": {
		{Verb: "get", Path: "/a", Received: at(0), Completed: at(9)},
		{Verb: "get", Path: "/b", Received: at(0.5), Completed: at(2)},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseAudit (-want +got):\n%s", diff)
	}
}

func TestCriticalPath(t *testing.T) {
	req := func(from, to float64) request {
		return request{Verb: "get", Path: "/x", Received: at(from), Completed: at(to)}
	}
	cases := []struct {
		name   string
		reqs   []request
		want   int
		wantOK bool
	}{
		{name: "no request is no round trip", reqs: nil, want: 0, wantOK: true},
		{name: "one request is one round trip", reqs: []request{req(0, 1)}, want: 1, wantOK: true},
		{name: "requests in flight together are one round trip", reqs: []request{req(0, 2), req(0.1, 1.5)}, want: 1, wantOK: true},
		{name: "a request received after another was answered is the next round trip", reqs: []request{req(0, 1), req(1.1, 2)}, want: 2, wantOK: true},
		{name: "received at the very instant the other was answered follows it", reqs: []request{req(0, 1), req(1, 2)}, want: 2, wantOK: true},
		{name: "received a microsecond before the other was answered overlaps it", reqs: []request{req(0, 1), req(0.999, 2)}, want: 1, wantOK: true},
		{
			name: "the token's pair after the caller's pair is two round trips, in any order",
			reqs: []request{req(5, 6), req(0, 1), req(5.1, 7), req(0.2, 1.2)},
			want: 2, wantOK: true,
		},
		{
			name: "the longest chain counts, not the number of requests",
			// 0-1 then 2-3 then 4-5: three; 0-4.5 overlaps all but the last.
			reqs: []request{req(0, 4.5), req(0, 1), req(2, 3), req(4, 5), req(0.5, 1.5)},
			want: 3, wantOK: true,
		},
		{
			name: "a chain through a short request after a long one",
			// 0-10 | 0-1, 1.5-2, 2.5-3 | 10.5-11 after both.
			reqs: []request{req(0, 10), req(0, 1), req(1.5, 2), req(2.5, 3), req(10.5, 11)},
			want: 4, wantOK: true,
		},
		{name: "a request without timestamps leaves it unknown", reqs: []request{req(0, 1), {Verb: "get", Path: "/x"}}, want: 0, wantOK: false},
		{name: "a request without a completion leaves it unknown", reqs: []request{{Verb: "get", Path: "/x", Received: at(1)}}, want: 0, wantOK: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := criticalPath(tc.reqs)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("criticalPath = %d, %v; want %d, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestAllRequests(t *testing.T) {
	got := allRequests(map[string][]request{
		"kubectl": {{Verb: "get", Path: "/b"}},
		"curl":    {{Verb: "get", Path: "/a"}, {Verb: "get", Path: "/c"}},
	})
	want := []request{{Verb: "get", Path: "/a"}, {Verb: "get", Path: "/c"}, {Verb: "get", Path: "/b"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("allRequests (-want +got):\n%s", diff)
	}
}
