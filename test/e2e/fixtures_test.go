package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// commandTimeout bounds every command a test runs, so a hang fails the test
// instead of the whole run.
const commandTimeout = 2 * time.Minute

// run describes one command to run through real kubectl. Build it with
// kubectl(t, ...) or access(t, ...), adjust it with the with* methods, and
// finish with run() or runOK().
type run struct {
	t          *testing.T
	args       []string
	stdin      io.Reader
	kubeconfig string
	extraEnv   []string
	timeout    time.Duration
}

// result is what a command printed and how it exited.
type result struct {
	stdout, stderr string
	code           int
	elapsed        time.Duration
}

// kubectl runs the real kubectl with the test's PATH and the admin kubeconfig.
func kubectl(t *testing.T, args ...string) *run {
	t.Helper()
	return &run{t: t, args: args, kubeconfig: env.cp.AdminKubeconfig, timeout: commandTimeout}
}

// access runs `kubectl access ARGS...`: the plugin as kubectl discovers it.
func access(t *testing.T, args ...string) *run {
	t.Helper()
	return kubectl(t, append([]string{"access"}, args...)...)
}

func (r *run) withStdin(s string) *run         { r.stdin = strings.NewReader(s); return r }
func (r *run) withKubeconfig(path string) *run { r.kubeconfig = path; return r }
func (r *run) withEnv(kv ...string) *run       { r.extraEnv = append(r.extraEnv, kv...); return r }
func (r *run) withTimeout(d time.Duration) *run {
	r.timeout = d
	return r
}

// run runs the command and returns its result, whatever the exit code.
func (r *run) run() result {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(env.binDir, "kubectl"), r.args...)
	home := r.t.TempDir()
	cmd.Env = append([]string{
		"PATH=" + env.binDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + home,
		"KUBECONFIG=" + r.kubeconfig,
		"KUBECACHEDIR=" + filepath.Join(home, "cache"),
	}, r.extraEnv...)
	cmd.Stdin = r.stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.t.Fatalf("kubectl %s did not finish within %s\nstderr:\n%s", strings.Join(r.args, " "), r.timeout, res.stderr)
	case errors.As(err, &exitErr):
		res.code = exitErr.ExitCode()
	case err != nil:
		r.t.Fatalf("running kubectl %s: %v", strings.Join(r.args, " "), err)
	}
	return res
}

// runOK runs the command and fails the test unless it exits 0.
func (r *run) runOK() result {
	r.t.Helper()
	res := r.run()
	if res.code != 0 {
		r.t.Fatalf("kubectl %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), res.code, res.stdout, res.stderr)
	}
	return res
}

// expectExit runs the command and fails the test unless it exits with code
// and its stderr contains every one of want.
func (r *run) expectExit(code int, want ...string) result {
	r.t.Helper()
	res := r.run()
	if res.code != code {
		r.t.Fatalf("kubectl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), res.code, code, res.stdout, res.stderr)
	}
	for _, w := range want {
		if !strings.Contains(res.stderr, w) {
			r.t.Errorf("kubectl %s: stderr does not contain %q:\n%s", strings.Join(r.args, " "), w, res.stderr)
		}
	}
	return res
}

// expectRefusal runs a command that must be refused: it exits with code,
// prints nothing on stdout and exactly one "error: " line on stderr, which
// contains every one of want.
func (r *run) expectRefusal(code int, want ...string) result {
	r.t.Helper()
	res := r.expectExit(code, append([]string{"error: "}, want...)...)
	if res.stdout != "" {
		r.t.Errorf("stdout is not empty: %q", res.stdout)
	}
	if n := strings.Count(res.stderr, "error: "); n != 1 {
		r.t.Errorf("%d error lines, want exactly one:\n%s", n, res.stderr)
	}
	return res
}

// adminConfig is a rest.Config with the admin client certificate.
func adminConfig(t *testing.T) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", env.cp.AdminKubeconfig)
	if err != nil {
		t.Fatalf("loading the admin kubeconfig: %v", err)
	}
	return cfg
}

// adminClient is a clientset with the admin client certificate.
func adminClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	return kubernetes.NewForConfigOrDie(adminConfig(t))
}

// tokenClient is a clientset that authenticates with token alone.
func tokenClient(t *testing.T, token string) kubernetes.Interface {
	t.Helper()
	cfg := rest.AnonymousClientConfig(adminConfig(t))
	cfg.BearerToken = token
	return kubernetes.NewForConfigOrDie(cfg)
}

// whoIs asks the API server who token is, with token alone.
func whoIs(t *testing.T, token string) string {
	t.Helper()
	review, err := tokenClient(t, token).AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectReview with the token: %v", err)
	}
	return review.Status.UserInfo.Username
}

// randomSuffix returns a short random string for unique names.
func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newNamespace creates a fresh namespace whose default ServiceAccount exists,
// deleted when the test ends.
func newNamespace(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	client := adminClient(t)
	ns, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}
	t.Cleanup(func() {
		_ = client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("the default ServiceAccount of %s never appeared: %v", ns.Name, err)
	}
	return ns.Name
}

// createServiceAccount creates a ServiceAccount.
func createServiceAccount(t *testing.T, ns, name string) *corev1.ServiceAccount {
	t.Helper()
	sa, err := adminClient(t).CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating ServiceAccount %s/%s: %v", ns, name, err)
	}
	return sa
}

// createTokenSecret creates a legacy token Secret for a ServiceAccount by
// hand, as the documentation says, and waits for the controller to fill it.
func createTokenSecret(t *testing.T, ns, sa, name string) *corev1.Secret {
	t.Helper()
	ctx := context.Background()
	secrets := adminClient(t).CoreV1().Secrets(ns)
	_, err := secrets.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{corev1.ServiceAccountNameKey: sa}},
		Type:       corev1.SecretTypeServiceAccountToken,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating token Secret %s/%s: %v", ns, name, err)
	}
	var filled *corev1.Secret
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		s, err := secrets.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		filled = s
		return len(s.Data[corev1.ServiceAccountTokenKey]) > 0, nil
	})
	if err != nil {
		t.Fatalf("token Secret %s/%s was never filled: %v", ns, name, err)
	}
	return filled
}

// requestToken returns a TokenRequest token for a ServiceAccount.
func requestToken(t *testing.T, ns, sa string) string {
	t.Helper()
	tr, err := adminClient(t).CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token for %s/%s: %v", ns, sa, err)
	}
	return tr.Status.Token
}

// bindRole creates a Role with one rule in ns and binds it to the
// ServiceAccount sa of ns.
func bindRole(t *testing.T, ns, sa string, rule rbacv1.PolicyRule) {
	t.Helper()
	ctx := context.Background()
	client := adminClient(t)
	name := sa + "-" + randomSuffix()
	if _, err := client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{rule}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Role: %v", err)
	}
	bindTo(t, ns, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}, ns, sa)
}

// bindTo binds roleRef to the ServiceAccount saNS/sa with a RoleBinding in
// ns, or with a ClusterRoleBinding when ns is "".
func bindTo(t *testing.T, ns string, roleRef rbacv1.RoleRef, saNS, sa string) {
	t.Helper()
	ctx := context.Background()
	client := adminClient(t)
	subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: saNS, Name: sa}}
	name := sa + "-" + randomSuffix()
	if ns == "" {
		_, err := client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: roleRef, Subjects: subjects}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating ClusterRoleBinding: %v", err)
		}
		t.Cleanup(func() {
			_ = client.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
		})
		return
	}
	_, err := client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: roleRef, Subjects: subjects}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating RoleBinding: %v", err)
	}
}

// writeKubeconfig writes cfg to a file in the test's temporary directory.
func writeKubeconfig(t *testing.T, cfg *clientcmdapi.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatalf("writing kubeconfig: %v", err)
	}
	return path
}

// tokenKubeconfig returns a kubeconfig for the local control plane whose
// user holds token alone (no client certificate to shadow it).
func tokenKubeconfig(t *testing.T, token, namespace string) string {
	t.Helper()
	ca, err := os.ReadFile(env.cp.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: env.cp.Server, CertificateAuthorityData: ca}
	cfg.AuthInfos["token"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["token"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "token", Namespace: namespace}
	cfg.CurrentContext = "token"
	return writeKubeconfig(t, cfg)
}

// assertNoSecretLeak fails the test if text holds token or its base64 form.
func assertNoSecretLeak(t *testing.T, what, text, token string) {
	t.Helper()
	if token == "" {
		t.Fatal("assertNoSecretLeak: empty token")
	}
	if strings.Contains(text, token) {
		t.Errorf("%s contains the token", what)
	}
	if b64 := base64Std(token); strings.Contains(text, b64) {
		t.Errorf("%s contains the base64 form of the token", what)
	}
}
