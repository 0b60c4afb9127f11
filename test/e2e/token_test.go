package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-access/kubectl-access/test/harness"
)

// tokenRecord mirrors `kubectl access token -o json`.
type tokenRecord struct {
	APIVersion          string     `json:"apiVersion"`
	Kind                string     `json:"kind"`
	Token               string     `json:"token"`
	Source              string     `json:"source"`
	ServiceAccount      string     `json:"serviceAccount"`
	Namespace           string     `json:"namespace"`
	SecretName          string     `json:"secretName"`
	ExpirationTimestamp *time.Time `json:"expirationTimestamp"`
	Audiences           []string   `json:"audiences"`
}

func tokenJSON(t *testing.T, args ...string) tokenRecord {
	t.Helper()
	res := access(t, append([]string{"token", "-o", "json"}, args...)...).RunOK()
	var rec tokenRecord
	if err := json.Unmarshal([]byte(res.Stdout), &rec); err != nil {
		t.Fatalf("token -o json is not JSON: %v\n%s", err, res.Stdout)
	}
	return rec
}

// secretNames lists the names of the Secrets of ns, sorted by the server.
func secretNames(t *testing.T, ns string) []string {
	t.Helper()
	list, err := adminClient(t).CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range list.Items {
		names = append(names, s.Name)
	}
	return names
}

// assertSecretsUnchanged fails the test unless the Secrets of ns are still
// before, as secretNames listed them; who names what must not have changed
// them.
func assertSecretsUnchanged(t *testing.T, ns string, before []string, who string) {
	t.Helper()
	if after := secretNames(t, ns); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("%s changed the Secrets of %s from %v to %v", who, ns, before, after)
	}
}

func TestTokenFromLegacySecret(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "legacy")
	secret := createTokenSecret(t, ns, "legacy", "legacy-token")
	want := string(secret.Data[corev1.ServiceAccountTokenKey])

	res := access(t, "token", "legacy", "-n", ns).RunOK()
	if res.Stdout != want {
		t.Errorf("token printed %d bytes, want exactly the Secret's %d-byte token (no newline off a terminal)", len(res.Stdout), len(want))
	}
	if res.Stderr != "" {
		t.Errorf("stderr is not empty: %q", res.Stderr)
	}
	rec := tokenJSON(t, "legacy", "-n", ns)
	if rec.Source != "secret" || rec.SecretName != "legacy-token" || rec.Token != want || rec.ExpirationTimestamp != nil ||
		rec.ServiceAccount != "legacy" || rec.Namespace != ns || rec.Kind != "ServiceAccountToken" {
		t.Errorf("token -o json = %+v, want source secret from Secret legacy-token with no expiry", rec)
	}
	// -v=1 says which source was used, on stderr only.
	res = access(t, "token", "legacy", "-n", ns, "-v=1").RunOK()
	if res.Stdout != want || !strings.Contains(res.Stderr, "legacy-token") {
		t.Errorf("token -v=1: stdout is the token: %v; stderr names the Secret: %q", res.Stdout == want, res.Stderr)
	}
	if got := whoIs(t, res.Stdout); got != "system:serviceaccount:"+ns+":legacy" {
		t.Errorf("the API server sees the token as %q", got)
	}
}

func TestTokenRequestWhenNoSecret(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "modern")
	before := secretNames(t, ns)

	res := access(t, "token", "modern", "-n", ns).RunOK()
	if got, want := whoIs(t, res.Stdout), "system:serviceaccount:"+ns+":modern"; got != want {
		t.Errorf("the API server sees the token as %q, want %q", got, want)
	}
	rec := tokenJSON(t, "modern", "-n", ns, "--duration=1h", "--audience=https://kubernetes.default.svc.cluster.local", "--audience=vault")
	if rec.Source != "request" || rec.SecretName != "" {
		t.Errorf("source = %q, secretName = %q; want request and none", rec.Source, rec.SecretName)
	}
	if rec.ExpirationTimestamp == nil {
		t.Fatal("no expirationTimestamp for a TokenRequest token")
	}
	if left := time.Until(*rec.ExpirationTimestamp); left < 55*time.Minute || left > 61*time.Minute {
		t.Errorf("expiry in %s, want about 1h (the server's answer)", left)
	}
	if strings.Join(rec.Audiences, ",") != "https://kubernetes.default.svc.cluster.local,vault" {
		t.Errorf("audiences = %v", rec.Audiences)
	}
	res = access(t, "token", "modern", "-n", ns, "--claims").RunOK()
	var claims struct {
		Claims            map[string]any `json:"claims"`
		SignatureVerified bool           `json:"signatureVerified"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &claims); err != nil {
		t.Fatalf("--claims is not JSON: %v\n%s", err, res.Stdout)
	}
	if claims.Claims["sub"] != "system:serviceaccount:"+ns+":modern" || claims.SignatureVerified {
		t.Errorf("--claims = %+v, want subject system:serviceaccount:%s:modern, not verified", claims, ns)
	}
	assertSecretsUnchanged(t, ns, before, "the TokenRequest path, which must create none,")
}

func TestTokenCreateSecretIsIdempotent(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "ci")
	res := access(t, "token", "ci", "-n", ns, "--source=secret", "--create-secret").RunOK()
	if !strings.Contains(res.Stderr, "long-lived") {
		t.Errorf("no long-lived credential warning on stderr: %q", res.Stderr)
	}
	secret, err := adminClient(t).CoreV1().Secrets(ns).Get(context.Background(), "ci-token", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Secret ci-token was not created: %v", err)
	}
	if res.Stdout != string(secret.Data[corev1.ServiceAccountTokenKey]) {
		t.Error("printed token is not the created Secret's")
	}
	first := secretNames(t, ns)

	again := access(t, "token", "ci", "-n", ns, "--source=secret", "--create-secret").RunOK()
	if again.Stdout != res.Stdout {
		t.Error("second run printed another token")
	}
	if strings.Contains(again.Stderr, "created") {
		t.Errorf("second run says it created something: %q", again.Stderr)
	}
	assertSecretsUnchanged(t, ns, first, "second run")
}

func TestTokenSkipsInvalidatedSecret(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "old")
	secret := createTokenSecret(t, ns, "old", "old-token")
	secret.Labels = map[string]string{"kubernetes.io/legacy-token-invalid-since": "2026-01-01"}
	if _, err := adminClient(t).CoreV1().Secrets(ns).Update(context.Background(), secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	access(t, "token", "old", "-n", ns, "--source=secret").ExpectExit(1, "no usable token Secret", "--create-secret")
	rec := tokenJSON(t, "old", "-n", ns)
	if rec.Source != "request" {
		t.Errorf("auto used %q, want request (the only Secret is invalidated)", rec.Source)
	}
}

func TestTokenExecCredential(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "robot")
	ca, err := os.ReadFile(env.cp.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: env.cp.Server, CertificateAuthorityData: ca}
	cfg.AuthInfos["robot"] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
		APIVersion:      "client.authentication.k8s.io/v1",
		Command:         filepath.Join(env.binDir, "kubectl-access"),
		Args:            []string{"token", "robot", "-n", ns, "--kubeconfig", env.cp.AdminKubeconfig, "-o", "exec-credential"},
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
	}}
	cfg.Contexts["robot"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "robot", Namespace: ns}
	cfg.CurrentContext = "robot"
	path := writeKubeconfig(t, cfg)

	res := kubectl(t, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}").WithKubeconfig(path).RunOK()
	if want := "system:serviceaccount:" + ns + ":robot"; res.Stdout != want {
		t.Errorf("kubectl auth whoami through the exec plugin = %q, want %q", res.Stdout, want)
	}
}

func TestTokenBadInput(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "plain")
	noRights := tokenKubeconfig(t, requestToken(t, ns, "plain"), ns)
	before := secretNames(t, ns)

	cases := []refusal{
		{"unknown service account", []string{"token", "ghost", "-n", ns}, "", 1, []string{`service account "ghost" not found in namespace "` + ns + `"`}},
		{"unknown service account, request", []string{"token", "ghost", "-n", ns, "--source=request"}, "", 1, []string{`"ghost" not found`}},
		{"unknown namespace", []string{"token", "-n", "no-such-ns-" + randomSuffix()}, "", 1, []string{"not found in namespace"}},
		{"no usable Secret", []string{"token", "plain", "-n", ns, "--source=secret"}, "", 1, []string{"no usable token Secret", "--create-secret", "--source=request"}},
		{"TokenRequest forbidden", []string{"token", "plain", "-n", ns, "--source=request"}, noRights, 1, []string{"create serviceaccounts/token"}},
		{"duration too short", []string{"token", "plain", "-n", ns, "--duration=5m"}, "", 2, []string{"--duration must be at least 10m"}},
		{"unknown source", []string{"token", "plain", "-n", ns, "--source=vault"}, "", 2, []string{"--source must be one of"}},
		{"unknown output", []string{"token", "plain", "-n", ns, "-o", "xml"}, "", 2, []string{"--output must be one of"}},
		{"bound kind", []string{"token", "plain", "-n", ns, "--bound-object-kind=Deployment", "--bound-object-name=x"}, "", 2, []string{"--bound-object-kind must be one of"}},
		{"too many arguments", []string{"token", "a", "b", "-n", ns}, "", 2, []string{"at most 1 argument"}},
		{"unreachable server", []string{"token", "plain", "-n", ns, "--server=https://127.0.0.1:1"}, "", 7, []string{"connection refused"}},
	}
	expectRefusals(t, cases)
	assertSecretsUnchanged(t, ns, before, "bad input")
}

// TestTokenNeverLogged runs every token path at the highest verbosity the
// plugin accepts and looks for the token in stderr.
func TestTokenNeverLogged(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "quiet")
	secret := createTokenSecret(t, ns, "quiet", "quiet-token")
	legacy := string(secret.Data[corev1.ServiceAccountTokenKey])

	res := access(t, "token", "quiet", "-n", ns, "-v=10").RunOK()
	if res.Stdout != legacy {
		t.Fatal("wrong token printed")
	}
	if !strings.Contains(res.Stderr, `"Request" verb="GET"`) {
		t.Errorf("-v=10 logged no requests; is verbosity working?\n%s", res.Stderr)
	}
	harness.AssertNoSecretLeak(t, "stderr of token --source=secret -v=10", res.Stderr, legacy)

	res = access(t, "token", "quiet", "-n", ns, "--source=request", "-v=10", "-o", "json").RunOK()
	var rec tokenRecord
	if err := json.Unmarshal([]byte(res.Stdout), &rec); err != nil {
		t.Fatal(err)
	}
	harness.AssertNoSecretLeak(t, "stderr of token --source=request -v=10", res.Stderr, rec.Token)
}
