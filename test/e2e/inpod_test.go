package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-access/kubectl-access/pkg/credential"
	"github.com/kubectl-access/kubectl-access/test/harness"
)

// TestInPodIdentity plays a pod: the service account token, CA and
// namespace mounted where the kubelet puts them, KUBERNETES_SERVICE_HOST and
// _PORT set, and no kubeconfig. Every command then acts as the pod's own
// service account. The mount path is fixed (client-go reads it too), so the
// test creates it for real; it runs only as root on a machine that is not a
// pod itself, and removes what it created.
func TestInPodIdentity(t *testing.T) {
	const secretsDir = "/var/run/secrets"
	if os.Geteuid() != 0 {
		// Said on stdout too, so that a run not as root cannot pass
		// unnoticed without -v; CI runs as root, so it runs there.
		reason := fmt.Sprintf("SKIPPED: %s runs only as root (euid 0), this run's euid is %d: it must create %s", t.Name(), os.Geteuid(), credential.MountedDir)
		fmt.Println(reason)
		t.Skip(reason)
	}
	if _, err := os.Lstat(secretsDir); err == nil {
		t.Skip(secretsDir + " exists (a real pod?): not touching it")
	}
	ns := newNamespace(t)
	createServiceAccount(t, ns, "podsa")
	token := requestToken(t, ns, "podsa")
	ca, err := os.ReadFile(env.cp.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(credential.MountedDir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(secretsDir) })
	for name, data := range map[string][]byte{"token": []byte(token), "ca.crt": ca, "namespace": []byte(ns)} {
		if err := os.WriteFile(filepath.Join(credential.MountedDir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	u, err := url.Parse(env.cp.Server)
	if err != nil {
		t.Fatal(err)
	}
	pod := func(args ...string) *harness.Cmd {
		return access(t, args...).WithKubeconfig("").WithEnv("KUBERNETES_SERVICE_HOST="+u.Hostname(), "KUBERNETES_SERVICE_PORT="+u.Port())
	}
	want := "system:serviceaccount:" + ns + ":podsa"

	res := pod("token").RunOK()
	if res.Stdout != token {
		t.Errorf("token in a pod printed %d bytes, want the mounted token", len(res.Stdout))
	}
	res = pod("token", "-o", "json").RunOK()
	var rec tokenRecord
	if err := json.Unmarshal([]byte(res.Stdout), &rec); err != nil || rec.Source != "mounted" || rec.ServiceAccount != "podsa" || rec.Namespace != ns {
		t.Errorf("token -o json in a pod = %+v (%v), want source mounted for %s", rec, err, want)
	}
	res = pod("probe", "-o", "json").RunOK()
	if !strings.Contains(res.Stdout, `"username": "`+want+`"`) {
		t.Errorf("probe in a pod does not act as %s:\n%s", want, res.Stdout)
	}
	res = pod("whoami", "-o", "json").RunOK()
	if !strings.Contains(res.Stdout, `"username": "`+want+`"`) {
		t.Errorf("whoami in a pod does not act as %s:\n%s", want, res.Stdout)
	}
	harness.AssertNoSecretLeak(t, "stderr", res.Stderr, token)
}
