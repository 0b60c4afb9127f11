package credential

import (
	"os"
	"path/filepath"
	"testing"
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

func TestMountedEmptyToken(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Mounted(dir); err == nil {
		t.Error("an empty mounted token was accepted")
	}
}
