package credential

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func jwt(header, claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(claims)) + ".c2lnbmF0dXJl"
}

func TestDecodeClaims(t *testing.T) {
	token := jwt(`{"alg":"RS256","kid":"k1"}`, `{"iss":"https://kubernetes.default.svc","sub":"system:serviceaccount:build:ci","aud":["a","b"],"exp":1800000000,"kubernetes.io":{"namespace":"build"}}`)
	c, err := DecodeClaims(token)
	if err != nil {
		t.Fatal(err)
	}
	if c.SignatureVerified {
		t.Error("claims marked as verified")
	}
	ns, name := c.ServiceAccount()
	got := []any{c.Header["kid"], c.Subject(), ns, name, c.Audiences(), *c.Expiry()}
	want := []any{"k1", "system:serviceaccount:build:ci", "build", "ci", []string{"a", "b"}, time.Unix(1800000000, 0).UTC()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	cred := FromToken(token)
	if cred.Subject() != "system:serviceaccount:build:ci" || cred.Source != SourceFile {
		t.Errorf("FromToken = %+v", cred)
	}
}

func TestClaimsServiceAccountUID(t *testing.T) {
	cases := []struct {
		name   string
		claims string
		want   string
	}{
		{"a legacy Secret's token names the uid in its own claim", `{"kubernetes.io/serviceaccount/service-account.uid":"u-legacy"}`, "u-legacy"},
		{"a bound token names it under kubernetes.io", `{"kubernetes.io":{"namespace":"build","serviceaccount":{"name":"ci","uid":"u-bound"}}}`, "u-bound"},
		{"the legacy claim comes first", `{"kubernetes.io/serviceaccount/service-account.uid":"u-legacy","kubernetes.io":{"serviceaccount":{"uid":"u-bound"}}}`, "u-legacy"},
		{"an empty legacy claim leaves the bound one", `{"kubernetes.io/serviceaccount/service-account.uid":"","kubernetes.io":{"serviceaccount":{"uid":"u-bound"}}}`, "u-bound"},
		{"no uid claim: none", `{"sub":"system:serviceaccount:build:ci"}`, ""},
		{"a legacy uid that is not a string: none", `{"kubernetes.io/serviceaccount/service-account.uid":7}`, ""},
		{"kubernetes.io that is not an object: none", `{"kubernetes.io":"build"}`, ""},
		{"serviceaccount that is not an object: none", `{"kubernetes.io":{"serviceaccount":"ci"}}`, ""},
		{"a bound uid that is not a string: none", `{"kubernetes.io":{"serviceaccount":{"uid":["u"]}}}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DecodeClaims(jwt(`{"alg":"RS256"}`, tc.claims))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.ServiceAccountUID(); got != tc.want {
				t.Errorf("ServiceAccountUID() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDecodeClaimsRejectsNonJWT(t *testing.T) {
	for _, token := range []string{
		"", "opaque-static-token", "a.b", "a.b.c.d", "!!!.e30.sig", "e30.!!!.sig",
		jwt(`[]`, `{}`), jwt(`{}`, `null`), jwt(`{}`, `"s"`),
	} {
		_, err := DecodeClaims(token)
		if err == nil {
			t.Errorf("DecodeClaims(%q) succeeded", token)
			continue
		}
		if token != "" && strings.Contains(err.Error(), token) {
			t.Errorf("error contains the token: %v", err)
		}
	}
}

func FuzzDecodeClaims(f *testing.F) {
	f.Add(jwt(`{"alg":"RS256"}`, `{"sub":"system:serviceaccount:a:b","aud":"x","exp":1}`))
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := DecodeClaims(token)
		if err != nil {
			if len(token) > 8 && strings.Contains(err.Error(), token) {
				t.Fatalf("error contains the token: %v", err)
			}
			return
		}
		_ = c.Subject()
		_ = c.Audiences()
		_ = c.Expiry()
		_, _ = c.ServiceAccount()
		_ = c.ServiceAccountUID()
	})
}
