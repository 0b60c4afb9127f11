package credential

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMounted(t *testing.T) {
	dir := t.TempDir()
	token := jwt(`{"alg":"RS256"}`, `{"sub":"system:serviceaccount:apps:web","aud":["https://kubernetes.default.svc"],"exp":1800000000}`)
	for name, content := range map[string]string{"token": token + "\n", "namespace": "apps\n", "ca.crt": "PEM"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Mounted(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Token != token || c.Source != SourceMounted || c.Namespace != "apps" || c.ServiceAccount != "web" ||
		string(c.CAData) != "PEM" || c.ExpirationTimestamp == nil {
		t.Errorf("Mounted = %+v", c)
	}

	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if InPod(dir) {
		t.Error("InPod without KUBERNETES_SERVICE_HOST")
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
	if !InPod(dir) || InPod(t.TempDir()) {
		t.Error("InPod does not follow the mounted token")
	}
}

// TestMountedRefusesUnusableTokens: the typed reason survives (errors.Is)
// and the message names the file, not a flag: no flag gave this token.
func TestMountedRefusesUnusableTokens(t *testing.T) {
	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"an empty token file", "\n", ErrEmptyToken},
		{"an Authorization header value", "Bearer abc", ErrBearerValue},
		{"two words", "abc def", ErrSeveralWords},
		{"a control character", "abc\x01", ErrBadCharacters},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "token"), []byte(tc.token), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Mounted(dir)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Mounted = %v, %v; want %v", c, err, tc.want)
			}
			want := "the pod's service account token file " + filepath.Join(dir, "token") + " " + tc.want.Error()
			if diff := cmp.Diff(want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMountedWithoutTokenFile(t *testing.T) {
	_, err := Mounted(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v, want one that is fs.ErrNotExist", err)
	}
}
