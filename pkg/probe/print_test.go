package probe

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteTable(t *testing.T) {
	rep := &Report{
		Identity: Identity{Username: "system:serviceaccount:ns:sa", Groups: []string{"system:authenticated", "system:serviceaccounts"}},
		Results: []Result{
			{Path: "/api", Method: "GET", URL: "https://10.0.0.1:6443/api", Status: 200, Reason: "OK", OK: true, LatencyMs: 3.21},
			{Path: "/api/v1/namespaces/kube-system/secrets", Method: "GET", URL: "https://10.0.0.1:6443/api/v1/namespaces/kube-system/secrets", Status: 403, Reason: "Forbidden", LatencyMs: 0.25, ExitCode: 4, Error: "secrets is forbidden:\nUser cannot list"},
			{Path: "/version", Method: "GET", URL: "https://10.0.0.1:6443/version", LatencyMs: 2000.4, ExitCode: 7, Error: "connect: connection refused"},
		},
	}
	var out bytes.Buffer
	if err := WriteTable(&out, rep); err != nil {
		t.Fatal(err)
	}
	want := `Identity: system:serviceaccount:ns:sa (groups: system:authenticated, system:serviceaccounts)
STATUS          METHOD   URL                                                           LATENCY   ERROR
200 OK          GET      https://10.0.0.1:6443/api                                     3.2ms     
403 Forbidden   GET      https://10.0.0.1:6443/api/v1/namespaces/kube-system/secrets   250µs     secrets is forbidden: User cannot list
-               GET      https://10.0.0.1:6443/version                                 2s        connect: connection refused
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}

func TestIdentityLine(t *testing.T) {
	cases := []struct {
		id   Identity
		want string
	}{
		{Identity{Username: "alice", Groups: []string{}}, "Identity: alice"},
		{Identity{Username: "alice", Groups: []string{"a", "b"}}, "Identity: alice (groups: a, b)"},
		{Identity{Error: "the credentials were not accepted: 401 Unauthorized"}, "Identity: unknown (the credentials were not accepted: 401 Unauthorized)"},
	}
	for _, tc := range cases {
		if got := IdentityLine(tc.id); got != tc.want {
			t.Errorf("IdentityLine(%+v) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

func TestWriteBodies(t *testing.T) {
	rep := &Report{Results: []Result{
		{Path: "/a", Body: `{"kind":"APIVersions"}`},
		{Path: "/b"}, // no answer: nothing printed
		{Path: "/c", Body: "line\n"},
	}}
	var out bytes.Buffer
	if err := WriteBodies(&out, rep); err != nil {
		t.Fatal(err)
	}
	if want := "{\"kind\":\"APIVersions\"}\nline\n"; out.String() != want {
		t.Errorf("bodies = %q, want %q", out.String(), want)
	}
}

func TestFormatLatency(t *testing.T) {
	for ms, want := range map[float64]string{0: "0s", 0.0004: "0s", 0.123: "123µs", 3.21: "3.2ms", 999.96: "1s", 1500.4: "1.5s", 61000: "1m1s"} {
		if got := FormatLatency(ms); got != want {
			t.Errorf("FormatLatency(%v) = %q, want %q", ms, got, want)
		}
	}
}
