package e2e

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-access/kubectl-access/test/harness"
)

// windows returns every substring of s of length n: a leak of any of them
// gives away enough of a token to matter.
func windows(s string, n int) []string {
	var out []string
	for i := 0; i+n <= len(s); i += n / 2 {
		out = append(out, s[i:i+n])
	}
	return append(out, s[len(s)-n:])
}

// assertNoWindow fails when text holds any 20-character substring of token.
func assertNoWindow(t *testing.T, what, text, token string) {
	t.Helper()
	for _, w := range windows(token, 20) {
		if strings.Contains(text, w) {
			t.Errorf("%s holds a 20-character piece of the token", what)
			return
		}
	}
}

// TestTokenAsNameIsRefusedBeforeAnyRequest: a token pasted where the
// service account's name or the namespace goes is refused with a usage
// error that says so, before any request: the audit log has no request with
// it in the URL, and stderr at -v=9 holds no piece of it.
func TestTokenAsNameIsRefusedBeforeAnyRequest(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "ci")
	token := requestToken(t, ns, "ci")
	for _, command := range []string{"token", "probe", "whoami", "kubeconfig"} {
		for _, where := range []struct {
			name string
			args []string
		}{
			{"as SERVICEACCOUNT", []string{token, "-n", ns}},
			{"as -n", []string{"ci", "-n", token}},
		} {
			t.Run(command+" "+where.name, func(t *testing.T) {
				args := append([]string{command}, where.args...)
				res := access(t, append(args, "-v=9")...).ExpectRefusal(2, "looks like a token", "--token-file")
				assertNoWindow(t, "stderr", res.Stderr, token)
				assertNoWindow(t, "stdout", res.Stdout, token)
			})
		}
	}
	for _, uri := range env.audit.RequestURIs(t) {
		assertNoWindow(t, "the audit log's request URI "+uri[:min(len(uri), 60)], uri, token)
	}
}

// TestPlantedSecretCannotSwapTheIdentity: a token Secret annotated with the
// victim's name but holding another account's token is skipped with a
// warning naming it; no command hands out or reviews the planter's identity
// as the victim's.
func TestPlantedSecretCannotSwapTheIdentity(t *testing.T) {
	ns := newNamespace(t)
	victim := createServiceAccount(t, ns, "victim")
	createServiceAccount(t, ns, "planter")
	bindRole(t, ns, "planter", rbacv1.PolicyRule{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"secrets"}})
	planted := requestToken(t, ns, "planter")
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "victim-token-planted", Namespace: ns, Annotations: map[string]string{
			corev1.ServiceAccountNameKey: "victim", corev1.ServiceAccountUIDKey: string(victim.UID),
		}},
		Type: corev1.SecretTypeServiceAccountToken,
		Data: map[string][]byte{corev1.ServiceAccountTokenKey: []byte(planted)},
	}
	ctx := context.Background()
	if _, err := adminClient(t).CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The API server keeps the supplied token.
	got, err := adminClient(t).CoreV1().Secrets(ns).Get(ctx, secret.Name, metav1.GetOptions{})
	if err != nil || string(got.Data[corev1.ServiceAccountTokenKey]) != planted {
		t.Fatalf("the planted Secret does not hold the planter's token (err %v): the test proves nothing", err)
	}

	res := access(t, "token", "victim", "-n", ns, "--source=secret").ExpectExit(1, "no usable token Secret")
	if !strings.Contains(res.Stderr, "skipped Secret "+ns+"/victim-token-planted") {
		t.Errorf("no warning names the skipped Secret:\n%s", res.Stderr)
	}
	harness.AssertNoSecretLeak(t, "token --source=secret output", res.Stdout+res.Stderr, planted)

	res = access(t, "token", "victim", "-n", ns).RunOK()
	if who := whoIs(t, res.Stdout); who != saUser(ns, "victim") {
		t.Errorf("token victim gave a token of %q", who)
	}
	res = access(t, "whoami", "victim", "-n", ns, "--fail-on-risk", "-o", "json").RunOK()
	if !strings.Contains(res.Stdout, `"username": "`+saUser(ns, "victim")+`"`) || strings.Contains(res.Stdout, saUser(ns, "planter")) {
		t.Errorf("whoami victim reported another identity:\n%s", res.Stdout)
	}
}

// recordingServer is a TLS server that counts the requests it receives.
type recordingServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
}

func (s *recordingServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func newRecordingServer(t *testing.T, handler func(w http.ResponseWriter, r *http.Request), tlsOn bool) *recordingServer {
	s := &recordingServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path+" auth="+r.Header.Get("Authorization"))
		s.mu.Unlock()
		handler(w, r)
	})
	if tlsOn {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

// serverKubeconfig writes a kubeconfig for server, trusting srv's
// certificate, with a bearer token of the caller's own.
func serverKubeconfig(t *testing.T, server string, srv *httptest.Server, ns string) string {
	cluster := &clientcmdapi.Cluster{Server: server}
	if srv != nil && srv.TLS != nil {
		cluster.CertificateAuthorityData = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = cluster
	cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: "the-callers-own-token"}
	cfg.Contexts["x"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u", Namespace: ns}
	cfg.CurrentContext = "x"
	return writeKubeconfig(t, cfg)
}

// TestRedirectsAreRefused: a server that redirects every request to another
// server gets the token no further: the second server receives nothing, and
// every command exits 5 saying a redirect was refused and to where.
func TestRedirectsAreRefused(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "ci")
	tokenFile := writeTokenFile(t, requestToken(t, ns, "ci"))
	second := newRecordingServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }, true)
	target := strings.Replace(second.URL, "127.0.0.1", "localhost", 1)
	first := newRecordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}, true)
	kc := serverKubeconfig(t, first.URL, first.Server, ns)
	host := strings.TrimPrefix(target, "https://")
	for _, args := range [][]string{
		{"token", "ci"},
		{"kubeconfig", "ci"},
		{"probe", "--token-file", tokenFile},
		{"whoami", "--token-file", tokenFile},
		{"whoami", "--token-file", tokenFile, "-A"},
		{"whoami", "--token-file", tokenFile, "--namespaces", "a,b,c"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			want := "redirect to " + host + ", which was refused"
			if args[0] == "probe" {
				// probe reports each path's answer on stdout.
				res := access(t, args...).WithKubeconfig(kc).ExpectExit(5, "307 Temporary Redirect")
				if !strings.Contains(res.Stdout, want) {
					t.Errorf("probe's result does not say the redirect was refused:\n%s", res.Stdout)
				}
				return
			}
			access(t, args...).WithKubeconfig(kc).ExpectExit(5, want)
		})
	}
	if n := first.count(); n == 0 {
		t.Fatal("the redirecting server got no request: the test proves nothing")
	}
	if n := second.count(); n != 0 {
		t.Errorf("the redirect target received %d requests: %v", n, second.requests)
	}
}

// TestPlainHTTPIsRefusedBeforeAnyCredential: with a plain http:// server
// and no --allow-insecure-http, no command sends any request, so no token
// is requested or Secret created over it.
func TestPlainHTTPIsRefusedBeforeAnyCredential(t *testing.T) {
	ns := newNamespace(t)
	srv := newRecordingServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) }, false)
	kc := serverKubeconfig(t, srv.URL, nil, ns)
	for _, args := range [][]string{
		{"token", "ci"},
		{"token", "ci", "--source=secret", "--create-secret"},
		{"kubeconfig", "ci", "--create-secret"},
		{"probe", "ci"},
		{"whoami", "ci"},
		{"whoami", "--current"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			access(t, args...).WithKubeconfig(kc).ExpectExit(6, "plain http", "--allow-insecure-http")
		})
	}
	if n := srv.count(); n != 0 {
		t.Errorf("the http:// server received %d requests before the refusal: %v", n, srv.requests)
	}
}

// TestSIGTERMCleansUpLikeSIGINT: SIGTERM during a probe that created a
// Secret (--create-secret) exits 143 and deletes the Secret it created.
func TestSIGTERMCleansUpLikeSIGINT(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "waiting")
	ctx, cancel := context.WithTimeout(context.Background(), harness.DefaultTimeout)
	defer cancel()
	cmd := access(t, "probe", "waiting", "-n", ns, "--source=secret", "--create-secret", "--path", "/api/v1/namespaces/kube-system/secrets", "--wait", "5m").Exec(ctx)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the Secret exists and the probe waits.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), "created Secret") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 143 {
		t.Fatalf("exit %v after SIGTERM, want 143\n%s", err, stderr.String())
	}
	list, err := adminClient(t).CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list.Items {
		if s.Type == corev1.SecretTypeServiceAccountToken {
			t.Errorf("Secret %s was left behind after SIGTERM\n%s", s.Name, stderr.String())
		}
	}
}

// lockedBuffer is a buffer a running process writes while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestVerbosityCappedOnTheCompletionPath: cobra's hidden __complete command
// runs no PersistentPreRunE; -v=9 there must not log request or response
// bodies either.
func TestVerbosityCappedOnTheCompletionPath(t *testing.T) {
	res := access(t, "__complete", "token", "-v=9", "-n", "default", "").RunOK()
	for _, body := range []string{"Response Body", "Request Body", "Response: "} {
		if strings.Contains(res.Stderr, body) {
			t.Errorf("__complete -v=9 logged bodies (%q):\n%s", body, res.Stderr)
		}
	}
	if !strings.Contains(res.Stdout, "default") {
		t.Errorf("the completion did not run: %q", res.Stdout)
	}
}

// TestMergeIntoAWorldReadableKubeconfigTightensIt: --merge into a 0644
// kubeconfig writes it back 0600, with a warning: the token must not stay
// readable by others.
func TestMergeIntoAWorldReadableKubeconfigTightensIt(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "ci")
	data, err := os.ReadFile(env.cp.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	res := access(t, "kubeconfig", "ci", "-n", ns, "--merge").WithKubeconfig(path).RunOK()
	if !strings.Contains(res.Stderr, "Warning:") || !strings.Contains(res.Stderr, "0600") {
		t.Errorf("no warning about the kubeconfig's mode:\n%s", res.Stderr)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("kubeconfig mode after --merge = %o, want 600", mode)
	}
	if res := kubectl(t, "--context", ns+":ci@local", "auth", "whoami").WithKubeconfig(path).RunOK(); !strings.Contains(res.Stdout, saUser(ns, "ci")) {
		t.Errorf("the merged context is not the service account:\n%s", res.Stdout)
	}
}
