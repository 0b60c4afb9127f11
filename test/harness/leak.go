package harness

import (
	"encoding/base64"
	"strings"
	"testing"
)

// AssertNoSecretLeak fails the test if text holds secret or its standard
// base64 form (the form a Secret's data or a logged request body would give
// it away in). what names the text in the failure message.
func AssertNoSecretLeak(t testing.TB, what, text, secret string) {
	t.Helper()
	if secret == "" {
		t.Fatal("AssertNoSecretLeak: empty secret")
	}
	if strings.Contains(text, secret) {
		t.Errorf("%s contains the token", what)
	}
	if b64 := base64.StdEncoding.EncodeToString([]byte(secret)); strings.Contains(text, b64) {
		t.Errorf("%s contains the base64 form of the token", what)
	}
}
