package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRequestURIs(t *testing.T) {
	cases := []struct {
		name    string
		log     string
		want    []string
		wantErr string
	}{
		{"every event in order", `{"stage":"RequestReceived","requestURI":"/api/v1/namespaces/default/serviceaccounts/default"}
{"stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/serviceaccounts/default"}

{"stage":"RequestReceived","requestURI":"/api?timeout=32s"}
`, []string{"/api/v1/namespaces/default/serviceaccounts/default", "/api/v1/namespaces/default/serviceaccounts/default", "/api?timeout=32s"}, ""},
		{"a line still being written is left out", `{"requestURI":"/version"}
{"requestURI":"/ap`, []string{"/version"}, ""},
		{"an empty log", "", []string{}, ""},
		{"a complete line that is not an event", "{\"requestURI\":\"/version\"}\nnot json\n", nil, "line 2: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := requestURIs(strings.NewReader(tc.log))
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one starting %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("URIs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewAuditLog(t *testing.T) {
	dir := t.TempDir()
	a, err := NewAuditLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "audit-policy.yaml")
	want := []string{"--audit-policy-file=" + policy, "--audit-log-path=" + filepath.Join(dir, "audit.log"), "--audit-log-mode=blocking", "--audit-log-maxsize=0"}
	if diff := cmp.Diff(want, a.APIServerArgs()); diff != "" {
		t.Errorf("kube-apiserver flags (-want +got):\n%s", diff)
	}
	if data, err := os.ReadFile(policy); err != nil || string(data) != auditPolicy {
		t.Errorf("policy file %q (%v), want the policy", data, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "audit.log"), []byte(`{"requestURI":"/livez"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/livez"}, a.RequestURIs(t)); diff != "" {
		t.Errorf("RequestURIs (-want +got):\n%s", diff)
	}
}
