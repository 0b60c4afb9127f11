package credential

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestParseTokenCharacterEdges pins the printable ASCII range a token may
// use: '!' and '~' are its ends, DEL and what lies below '!' are out.
func TestParseTokenCharacterEdges(t *testing.T) {
	cases := []struct {
		name, in string
		wantErr  error
	}{
		{name: "the first printable character", in: "a!b"},
		{name: "the last printable character", in: "a~b"},
		{name: "DEL", in: "a\x7fb", wantErr: ErrBadCharacters},
		{name: "the character below '!' that is no white space", in: "a\x1fb", wantErr: ErrBadCharacters},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseToken(tc.in)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && (err != nil || got != tc.in)) {
				t.Errorf("ParseToken(%q) = %q, %v; want error %v", tc.in, got, err, tc.wantErr)
			}
		})
	}
}

// TestShortenedLifetimeMargin: the server may grant up to a minute less
// than asked without a warning; a second more than that warns. The fake
// grants one hour.
func TestShortenedLifetimeMargin(t *testing.T) {
	cases := []struct {
		name     string
		duration time.Duration
		warn     bool
	}{
		{name: "a minute short is within the margin", duration: time.Hour + time.Minute},
		{name: "a minute and a second short warns", duration: time.Hour + time.Minute + time.Second, warn: true},
		{name: "as asked", duration: time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var warned warnings
			g := &Getter{Client: newFake(serviceAccount("ci", "1")).CoreV1(), Warnf: warned.warnf}
			if _, err := g.Get(context.Background(), Request{Namespace: ns, ServiceAccount: "ci", Source: SourceRequest, Duration: tc.duration}); err != nil {
				t.Fatal(err)
			}
			if got := len(warned) == 1; got != tc.warn || len(warned) > 1 {
				t.Errorf("warnings = %q, want a warning: %v", warned, tc.warn)
			}
		})
	}
}

func TestCredentialSubject(t *testing.T) {
	cases := []struct {
		c    Credential
		want string
	}{
		{Credential{Namespace: "build", ServiceAccount: "ci"}, "system:serviceaccount:build:ci"},
		{Credential{ServiceAccount: "ci"}, ""},
		{Credential{Namespace: "build"}, ""},
	}
	for _, tc := range cases {
		if got := tc.c.Subject(); got != tc.want {
			t.Errorf("%v.Subject() = %q, want %q", tc.c, got, tc.want)
		}
	}
}

// TestClaimsServiceAccount: only a subject of exactly four parts starting
// system:serviceaccount names a service account.
func TestClaimsServiceAccount(t *testing.T) {
	cases := []struct{ sub, ns, name string }{
		{"system:serviceaccount:build:ci", "build", "ci"},
		{"system:serviceaccount:build", "", ""},
		{"system:serviceaccount:build:ci:extra", "", ""},
		{"system:node:build:ci", "", ""},
		{"user:serviceaccount:build:ci", "", ""},
		{"", "", ""},
	}
	for _, tc := range cases {
		c := &Claims{Claims: map[string]any{"sub": tc.sub}}
		if ns, name := c.ServiceAccount(); ns != tc.ns || name != tc.name {
			t.Errorf("ServiceAccount() of %q = %q, %q; want %q, %q", tc.sub, ns, name, tc.ns, tc.name)
		}
	}
}

// TestClaimsServiceAccountUIDPrefersTheLegacyClaim: the legacy claim wins
// when set and not empty; otherwise the bound token's.
func TestClaimsServiceAccountUIDPrefersTheLegacyClaim(t *testing.T) {
	bound := map[string]any{"serviceaccount": map[string]any{"uid": "bound-uid"}}
	cases := []struct {
		name   string
		claims map[string]any
		want   string
	}{
		{"legacy set", map[string]any{"kubernetes.io/serviceaccount/service-account.uid": "legacy-uid", "kubernetes.io": bound}, "legacy-uid"},
		{"legacy empty", map[string]any{"kubernetes.io/serviceaccount/service-account.uid": "", "kubernetes.io": bound}, "bound-uid"},
		{"legacy not a string", map[string]any{"kubernetes.io/serviceaccount/service-account.uid": 7, "kubernetes.io": bound}, "bound-uid"},
		{"neither", map[string]any{}, ""},
	}
	for _, tc := range cases {
		if got := (&Claims{Claims: tc.claims}).ServiceAccountUID(); got != tc.want {
			t.Errorf("%s: ServiceAccountUID() = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDecodeClaimsShape(t *testing.T) {
	for _, token := range []string{"a.b", "a.b.c.d", ".eyJ9.c", "eyJ9..c", ""} {
		if _, err := DecodeClaims(token); !errors.Is(err, ErrNotJWT) {
			t.Errorf("DecodeClaims(%q) = %v, want ErrNotJWT", token, err)
		}
	}
}
