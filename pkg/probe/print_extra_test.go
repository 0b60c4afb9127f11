package probe

import "testing"

func TestIdentityLineNotAsked(t *testing.T) {
	if got, want := IdentityLine(Identity{}), "Identity: unknown (not asked)"; got != want {
		t.Errorf("IdentityLine of no identity = %q, want %q", got, want)
	}
}

func TestOneLine(t *testing.T) {
	cases := []struct{ in, want string }{
		{"  on one line  ", "on one line"},
		{"a\tb", "a b"},
		{"a\r\n  b\n", "a b"},
		{"a  b", "a  b"}, // spaces alone are kept as they are
	}
	for _, tc := range cases {
		if got := oneLine(tc.in); got != tc.want {
			t.Errorf("oneLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDecodeStatus(t *testing.T) {
	cases := []struct {
		name, body string
		ok         bool
		message    string
	}{
		{name: "a Status", body: `{"kind":"Status","message":"m"}`, ok: true, message: "m"},
		{name: "another kind", body: `{"kind":"APIVersions"}`},
		{name: "not JSON", body: `{"kind":`},
		{name: "not an object", body: ` {"kind":"Status"}`},
		{name: "empty", body: ``},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, ok := decodeStatus([]byte(tc.body))
			if ok != tc.ok || (ok && status.Message != tc.message) {
				t.Errorf("decodeStatus(%q) = %+v, %v; want ok %v, message %q", tc.body, status, ok, tc.ok, tc.message)
			}
		})
	}
}
