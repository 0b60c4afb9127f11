package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	got := describeRequests([]request{
		{"list", "/api/v1/namespaces"},
		{"create", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"},
		{"create", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"},
	})
	want := "list /api/v1/namespaces; create /apis/authorization.k8s.io/v1/selfsubjectrulesreviews ×2"
	if got != want {
		t.Errorf("describeRequests = %q, want %q", got, want)
	}
}
