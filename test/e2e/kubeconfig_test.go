package e2e

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-access/kubectl-access/test/harness"
)

// readConfigMaps is the one permission the service accounts of these tests
// get: listing configmaps works, listing secrets is forbidden.
var readConfigMaps = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}

// ignoreOrigin compares kubeconfig entries read from different files.
var ignoreOrigin = cmp.Options{
	cmpopts.EquateEmpty(),
	cmpopts.IgnoreFields(clientcmdapi.Cluster{}, "LocationOfOrigin"),
	cmpopts.IgnoreFields(clientcmdapi.AuthInfo{}, "LocationOfOrigin"),
	cmpopts.IgnoreFields(clientcmdapi.Context{}, "LocationOfOrigin"),
}

// expiresRE matches the expiry note of a TokenRequest token's kubeconfig.
var expiresRE = regexp.MustCompile(`Note: the token in this kubeconfig expires at (\S+) \(in [0-9hms]+\)`)

// readBytes returns the content of path.
func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// loadKubeconfig loads the kubeconfig file at path.
func loadKubeconfig(t *testing.T, path string) *clientcmdapi.Config {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	return cfg
}

// saveTo writes data to a new 0600 file in a temporary directory.
func saveTo(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// adminKubeconfigCopy is a copy of the admin kubeconfig the test may change.
func adminKubeconfigCopy(t *testing.T) string {
	t.Helper()
	return saveTo(t, "config", readBytes(t, env.cp.AdminKubeconfig))
}

// multiContextKubeconfig is a copy of the admin kubeconfig with more
// clusters, users and contexts, current context "local".
func multiContextKubeconfig(t *testing.T) string {
	t.Helper()
	cfg := loadKubeconfig(t, env.cp.AdminKubeconfig)
	cfg.Clusters["staging"] = &clientcmdapi.Cluster{Server: "https://staging.invalid:6443", InsecureSkipTLSVerify: true}
	cfg.AuthInfos["robot"] = &clientcmdapi.AuthInfo{Token: "not-a-real-token"}
	cfg.AuthInfos["sso"] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
		APIVersion: "client.authentication.k8s.io/v1", Command: "kubelogin", Args: []string{"get-token"},
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
	}}
	cfg.Contexts["staging"] = &clientcmdapi.Context{Cluster: "staging", AuthInfo: "robot", Namespace: "apps"}
	cfg.Contexts["staging-sso"] = &clientcmdapi.Context{Cluster: "staging", AuthInfo: "sso"}
	cfg.Contexts["local-system"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: cfg.Contexts["local"].AuthInfo, Namespace: "kube-system"}
	return writeKubeconfig(t, cfg)
}

// whoamiWith runs the real kubectl auth whoami with kubeconfig and extra
// arguments and returns the user name.
func whoamiWith(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	res := kubectl(t, append([]string{"auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"}, args...)...).WithKubeconfig(kubeconfig).RunOK()
	return res.Stdout
}

// checkPermissions proves the kubeconfig acts as a service account bound
// to readConfigMaps in its context's namespace: listing configmaps (without
// -n) works, listing secrets is forbidden.
func checkPermissions(t *testing.T, kubeconfig, subject string, args ...string) {
	t.Helper()
	res := kubectl(t, append([]string{"get", "configmaps", "-o", "name"}, args...)...).WithKubeconfig(kubeconfig).RunOK()
	if !strings.Contains(res.Stdout, "configmap/kube-root-ca.crt") {
		t.Errorf("kubectl get configmaps with the kubeconfig printed %q, want the namespace's kube-root-ca.crt", res.Stdout)
	}
	kubectl(t, append([]string{"get", "secrets"}, args...)...).WithKubeconfig(kubeconfig).
		ExpectExit(1, "Forbidden", `User "`+subject+`" cannot list resource "secrets"`)
}

func TestKubeconfigWorksWithKubectl(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "reader")
	bindRole(t, ns, "reader", readConfigMaps)
	subject := "system:serviceaccount:" + ns + ":reader"

	start := time.Now()
	res := access(t, "kubeconfig", "reader", "-n", ns).RunOK()
	cfg, err := clientcmd.Load([]byte(res.Stdout))
	if err != nil {
		t.Fatalf("stdout is not a kubeconfig: %v", err)
	}
	name := ns + ":reader@local"
	token := ""
	if user := cfg.AuthInfos[name]; user != nil {
		token = user.Token
	}
	if token == "" {
		t.Fatalf("the kubeconfig has no user %q with a token; contexts %v", name, cfg.Contexts)
	}
	harness.AssertNoSecretLeak(t, "stderr of kubeconfig", res.Stderr, token)

	// Exactly one cluster, user and context, predictably named; the user
	// holds the token alone; the CA is embedded.
	ca := readBytes(t, env.cp.CAFile)
	want := clientcmdapi.NewConfig()
	want.Clusters[name] = &clientcmdapi.Cluster{Server: env.cp.Server, CertificateAuthorityData: ca}
	want.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	want.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: ns}
	want.CurrentContext = name
	if diff := cmp.Diff(want, cfg, ignoreOrigin); diff != "" {
		t.Errorf("kubeconfig (-want +got):\n%s", diff)
	}

	// The expiry is announced on stderr, and is the token's (the server's
	// default of one hour).
	m := expiresRE.FindStringSubmatch(res.Stderr)
	if m == nil {
		t.Fatalf("stderr does not say when the token expires:\n%s", res.Stderr)
	}
	exp, err := time.Parse(time.RFC3339, m[1])
	if err != nil {
		t.Fatalf("expiry %q is not RFC 3339: %v", m[1], err)
	}
	if d := exp.Sub(start); d < 55*time.Minute || d > 65*time.Minute {
		t.Errorf("the kubeconfig expires in %s, want the server's default of about 1h", d)
	}

	path := saveTo(t, "reader.kubeconfig", []byte(res.Stdout))
	if got := whoamiWith(t, path); got != subject {
		t.Errorf("kubectl auth whoami with the kubeconfig = %q, want %q", got, subject)
	}
	checkPermissions(t, path, subject)
}

// TestKubeconfigFromLegacySecret uses a kubeconfig without a CA (the
// server is trusted through SSL_CERT_FILE), so the CA embedded must be the
// legacy Secret's ca.crt, and the kubeconfig must work without
// SSL_CERT_FILE.
func TestKubeconfigFromLegacySecret(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "legacy")
	bindRole(t, ns, "legacy", readConfigMaps)
	secret := createTokenSecret(t, ns, "legacy", "legacy-token")

	admin := loadKubeconfig(t, env.cp.AdminKubeconfig)
	admin.Clusters["local"].CertificateAuthorityData = nil
	noCA := writeKubeconfig(t, admin)

	out := filepath.Join(t.TempDir(), "legacy.kubeconfig")
	res := access(t, "kubeconfig", "legacy", "-n", ns, "--output-file", out).
		WithKubeconfig(noCA).WithEnv("SSL_CERT_FILE=" + env.cp.CAFile).RunOK()
	if res.Stdout != "" {
		t.Errorf("stdout is not empty with --output-file: %q", res.Stdout)
	}
	for _, w := range []string{"Secret " + ns + "/legacy-token", "does not expire"} {
		if !strings.Contains(res.Stderr, w) {
			t.Errorf("stderr does not contain %q:\n%s", w, res.Stderr)
		}
	}
	if expiresRE.MatchString(res.Stderr) {
		t.Errorf("stderr announces an expiry for a Secret's token:\n%s", res.Stderr)
	}
	cfg := loadKubeconfig(t, out)
	name := ns + ":legacy@local"
	if got := cfg.AuthInfos[name]; got == nil || got.Token != string(secret.Data[corev1.ServiceAccountTokenKey]) {
		t.Fatal("the kubeconfig does not hold the Secret's token")
	}
	if got := cfg.Clusters[name].CertificateAuthorityData; !bytes.Equal(got, secret.Data[corev1.ServiceAccountRootCAKey]) || len(got) == 0 {
		t.Errorf("certificate-authority-data is not the Secret's ca.crt")
	}
	if got := whoamiWith(t, out); got != "system:serviceaccount:"+ns+":legacy" {
		t.Errorf("kubectl auth whoami = %q", got)
	}
	checkPermissions(t, out, "system:serviceaccount:"+ns+":legacy")
}

// TestKubeconfigInsecureCluster: a current cluster that skips TLS
// verification gives a kubeconfig that does too, without CA data (client-go
// refuses both), and the user is warned.
func TestKubeconfigInsecureCluster(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "lax")
	admin := loadKubeconfig(t, env.cp.AdminKubeconfig)
	admin.Clusters["local"].CertificateAuthorityData = nil
	admin.Clusters["local"].InsecureSkipTLSVerify = true
	insecure := writeKubeconfig(t, admin)

	res := access(t, "kubeconfig", "lax", "-n", ns).WithKubeconfig(insecure).RunOK()
	cfg, err := clientcmd.Load([]byte(res.Stdout))
	if err != nil {
		t.Fatal(err)
	}
	cluster := cfg.Clusters[ns+":lax@local"]
	if cluster == nil || !cluster.InsecureSkipTLSVerify || len(cluster.CertificateAuthorityData) > 0 {
		t.Fatalf("cluster = %+v, want insecure-skip-tls-verify and no CA data", cluster)
	}
	if !strings.Contains(res.Stderr, "Warning: the kubeconfig skips TLS verification") {
		t.Errorf("no warning that the kubeconfig skips TLS verification:\n%s", res.Stderr)
	}
	if got := whoamiWith(t, saveTo(t, "lax", []byte(res.Stdout))); got != "system:serviceaccount:"+ns+":lax" {
		t.Errorf("kubectl auth whoami = %q", got)
	}
}

func TestKubeconfigOutputFile(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "ci")
	bindRole(t, ns, "ci", readConfigMaps)
	subject := "system:serviceaccount:" + ns + ":ci"
	dir := t.TempDir()
	path := filepath.Join(dir, "ci.kubeconfig")

	res := access(t, "kubeconfig", "ci", "-n", ns, "--output-file", path).RunOK()
	if res.Stdout != "" {
		t.Errorf("stdout is not empty with --output-file: %q", res.Stdout)
	}
	if !strings.Contains(res.Stderr, "Wrote a kubeconfig for service account "+ns+"/ci to "+path) {
		t.Errorf("stderr does not say where the kubeconfig went:\n%s", res.Stderr)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("--output-file mode %v, want 0600", fi.Mode().Perm())
	}
	first := readBytes(t, path)
	token := loadKubeconfig(t, path).AuthInfos[ns+":ci@local"].Token
	harness.AssertNoSecretLeak(t, "stderr of kubeconfig --output-file", res.Stderr, token)
	if got := whoamiWith(t, path); got != subject {
		t.Errorf("kubectl auth whoami with the file = %q, want %q", got, subject)
	}
	checkPermissions(t, path, subject)

	// Without --force the file is kept, and nothing is obtained first: no
	// Secret is created, and an unreachable server is never contacted (the
	// error is the file's, not "connection refused").
	secretsBefore := secretNames(t, ns)
	for _, extra := range [][]string{
		{"--source=secret", "--create-secret"},
		{"--server=https://127.0.0.1:1"},
	} {
		args := append([]string{"kubeconfig", "ci", "-n", ns, "--output-file", path}, extra...)
		res := access(t, args...).ExpectExit(1, "error: "+path+" already exists: pass --force to replace it")
		if res.Stdout != "" {
			t.Errorf("stdout is not empty: %q", res.Stdout)
		}
		if strings.Contains(res.Stderr, "created Secret") || strings.Contains(res.Stderr, "connection refused") {
			t.Errorf("%v: a token was obtained before the file was checked:\n%s", extra, res.Stderr)
		}
	}
	if got := readBytes(t, path); !bytes.Equal(got, first) {
		t.Error("a run without --force changed the file")
	}
	assertSecretsUnchanged(t, ns, secretsBefore, "a run refused for the existing file")

	// --force replaces it with a new, working kubeconfig, still 0600.
	access(t, "kubeconfig", "ci", "-n", ns, "--output-file", path, "--force").RunOK()
	if bytes.Equal(readBytes(t, path), first) {
		t.Error("--force did not replace the file")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after --force %v, want 0600", fi.Mode().Perm())
	}
	if got := whoamiWith(t, path); got != subject {
		t.Errorf("kubectl auth whoami after --force = %q", got)
	}

	// A symbolic link is neither replaced nor written through, even with
	// --force; paths that cannot be written fail before any token.
	link := filepath.Join(dir, "link.kubeconfig")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	replaced := readBytes(t, path)
	access(t, "kubeconfig", "ci", "-n", ns, "--output-file", link, "--force").ExpectExit(1, link+" is a symbolic link to "+path)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the symbolic link was replaced")
	}
	if !bytes.Equal(readBytes(t, path), replaced) {
		t.Error("the link's target changed")
	}
	unwritable := []struct{ path, want string }{
		{filepath.Join(dir, "missing", "kubeconfig"), "no such file or directory"},
		{filepath.Join(path, "kubeconfig"), "not a directory"},
	}
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		unwritable = append(unwritable, struct{ path, want string }{filepath.Join(ro, "kubeconfig"), "permission denied"})
	} else if _, err := os.Stat("/sys/kernel"); err == nil {
		// Even root cannot create files in sysfs.
		unwritable = append(unwritable, struct{ path, want string }{"/sys/kubeconfig", "permission denied"})
	}
	for _, u := range unwritable {
		access(t, "kubeconfig", "ci", "-n", ns, "--output-file", u.path, "--source=secret", "--create-secret").
			ExpectExit(1, "error: cannot write "+u.path+": "+u.want)
	}
	assertSecretsUnchanged(t, ns, secretsBefore, "runs refused for their output file")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestKubeconfigMerge(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "deployer")
	bindRole(t, ns, "deployer", readConfigMaps)
	subject := "system:serviceaccount:" + ns + ":deployer"
	name := ns + ":deployer@local"
	kc := multiContextKubeconfig(t)
	before := loadKubeconfig(t, kc)
	adminUser := whoamiWith(t, kc)

	res := access(t, "kubeconfig", "deployer", "-n", ns, "--merge").WithKubeconfig(kc).RunOK()
	if res.Stdout != "" {
		t.Errorf("stdout is not empty with --merge: %q", res.Stdout)
	}
	if !strings.Contains(res.Stderr, `Added context "`+name+`"`) || !strings.Contains(res.Stderr, kc) ||
		!strings.Contains(res.Stderr, "kubectl --context="+name) {
		t.Errorf("stderr does not say what was added where and how to use it:\n%s", res.Stderr)
	}
	after := loadKubeconfig(t, kc)
	token := after.AuthInfos[name].Token
	harness.AssertNoSecretLeak(t, "stderr of kubeconfig --merge", res.Stderr, token)

	// Every entry is kept; three are added; the current context stays.
	want := before.DeepCopy()
	ca := readBytes(t, env.cp.CAFile)
	want.Clusters[name] = &clientcmdapi.Cluster{Server: env.cp.Server, CertificateAuthorityData: ca}
	want.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	want.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: ns}
	if diff := cmp.Diff(want, after, ignoreOrigin); diff != "" {
		t.Errorf("kubeconfig after --merge (-want +got):\n%s", diff)
	}
	if fi, _ := os.Stat(kc); fi.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig mode %v after --merge, want 0600", fi.Mode().Perm())
	}
	if got := whoamiWith(t, kc, "--context", name); got != subject {
		t.Errorf("kubectl --context %s auth whoami = %q, want %q", name, got, subject)
	}
	checkPermissions(t, kc, subject, "--context", name)
	if got := whoamiWith(t, kc); got != adminUser {
		t.Errorf("the current context now acts as %q, want %q unchanged", got, adminUser)
	}

	// The same name again: refused without --force, before any token.
	merged := readBytes(t, kc)
	secretsBefore := secretNames(t, ns)
	access(t, "kubeconfig", "deployer", "-n", ns, "--merge", "--source=secret", "--create-secret").WithKubeconfig(kc).
		ExpectExit(1, `has a cluster named "`+name+`"`, "--force", "--context-name")
	if !bytes.Equal(readBytes(t, kc), merged) {
		t.Error("a refused --merge changed the kubeconfig")
	}
	assertSecretsUnchanged(t, ns, secretsBefore, "a refused --merge")

	// --force replaces the entries; --set-current switches to them.
	access(t, "kubeconfig", "deployer", "-n", ns, "--merge", "--force", "--set-current").WithKubeconfig(kc).RunOK()
	final := loadKubeconfig(t, kc)
	if final.CurrentContext != name {
		t.Errorf("current-context = %q after --set-current, want %q", final.CurrentContext, name)
	}
	if final.AuthInfos[name].Token == token {
		t.Error("--force did not replace the token")
	}
	if len(final.Contexts) != len(want.Contexts) || len(final.Clusters) != len(want.Clusters) || len(final.AuthInfos) != len(want.AuthInfos) {
		t.Errorf("--force changed the number of entries")
	}
	if got := whoamiWith(t, kc); got != subject {
		t.Errorf("kubectl auth whoami in the new current context = %q, want %q", got, subject)
	}

	// --context-name names all three entries. The current context acts as
	// the service account now, which may not request tokens: --context
	// picks the admin's.
	access(t, "kubeconfig", "deployer", "-n", ns, "--merge", "--context-name", "ci", "--context", "local").WithKubeconfig(kc).RunOK()
	final = loadKubeconfig(t, kc)
	if c := final.Contexts["ci"]; c == nil || c.Cluster != "ci" || c.AuthInfo != "ci" || final.AuthInfos["ci"] == nil || final.Clusters["ci"] == nil {
		t.Errorf("--context-name ci: context %+v", c)
	}
	if got := whoamiWith(t, kc, "--context", "ci"); got != subject {
		t.Errorf("kubectl --context ci auth whoami = %q", got)
	}
}

// TestKubeconfigMergeSeveralFiles: with KUBECONFIG=a:b the entries go to the
// first file, and the second is not touched.
func TestKubeconfigMergeSeveralFiles(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "multi")
	a := adminKubeconfigCopy(t)
	other := clientcmdapi.NewConfig()
	other.Clusters["elsewhere"] = &clientcmdapi.Cluster{Server: "https://elsewhere.invalid"}
	other.AuthInfos["someone"] = &clientcmdapi.AuthInfo{Token: "unused"}
	other.Contexts["elsewhere"] = &clientcmdapi.Context{Cluster: "elsewhere", AuthInfo: "someone"}
	b := writeKubeconfig(t, other)
	bBefore := readBytes(t, b)

	res := access(t, "kubeconfig", "multi", "-n", ns, "--merge").WithEnv("KUBECONFIG=" + a + string(os.PathListSeparator) + b).RunOK()
	if !strings.Contains(res.Stderr, " to "+a+";") {
		t.Errorf("stderr does not name %s as the file written:\n%s", a, res.Stderr)
	}
	if !bytes.Equal(readBytes(t, b), bBefore) {
		t.Errorf("the second file of KUBECONFIG changed")
	}
	name := ns + ":multi@local"
	if loadKubeconfig(t, a).Contexts[name] == nil {
		t.Errorf("the context is not in the first file of KUBECONFIG")
	}
	got := kubectl(t, "auth", "whoami", "--context", name, "-o", "jsonpath={.status.userInfo.username}").
		WithEnv("KUBECONFIG=" + a + string(os.PathListSeparator) + b).RunOK().Stdout
	if got != "system:serviceaccount:"+ns+":multi" {
		t.Errorf("kubectl --context %s auth whoami = %q", name, got)
	}
}

func TestKubeconfigMergeFaults(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "blocked")
	secretsBefore := secretNames(t, ns)

	t.Run("stale lock file", func(t *testing.T) {
		kc := multiContextKubeconfig(t)
		original := readBytes(t, kc)
		lock := kc + ".lock"
		if err := os.WriteFile(lock, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		res := access(t, "kubeconfig", "blocked", "-n", ns, "--merge", "--source=secret", "--create-secret").WithKubeconfig(kc).
			ExpectExit(1, "error: kubeconfig is locked: "+lock+" exists", "remove "+lock)
		if res.Stdout != "" {
			t.Errorf("stdout is not empty: %q", res.Stdout)
		}
		if !bytes.Equal(readBytes(t, kc), original) {
			t.Error("the locked kubeconfig changed")
		}
		if _, err := os.Stat(lock); err != nil {
			t.Error("the lock file was removed")
		}
	})

	t.Run("symlinked kubeconfig", func(t *testing.T) {
		kc := multiContextKubeconfig(t)
		original := readBytes(t, kc)
		link := filepath.Join(t.TempDir(), "config")
		if err := os.Symlink(kc, link); err != nil {
			t.Fatal(err)
		}
		access(t, "kubeconfig", "blocked", "-n", ns, "--merge", "--source=secret", "--create-secret").WithKubeconfig(link).
			ExpectExit(1, "error: the kubeconfig "+link+" is a symbolic link to "+kc, "--kubeconfig="+kc)
		if !bytes.Equal(readBytes(t, kc), original) {
			t.Error("the link's target changed")
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Error("the symbolic link was replaced")
		}
	})

	assertSecretsUnchanged(t, ns, secretsBefore, "refused merges")
}

func TestKubeconfigBadInput(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "plain")
	before := secretNames(t, ns)

	noServer := loadKubeconfig(t, env.cp.AdminKubeconfig)
	noServer.Clusters["local"].Server = ""
	noServerPath := writeKubeconfig(t, noServer)
	// A plain-http server that answers every request, so that a run
	// which did talk to it would be seen, and could have created a Secret.
	plainServer := newRecordingServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }, false)
	plainHTTP := loadKubeconfig(t, env.cp.AdminKubeconfig)
	plainHTTP.Clusters["local"] = &clientcmdapi.Cluster{Server: plainServer.URL}
	plainHTTPPath := writeKubeconfig(t, plainHTTP)
	out := filepath.Join(t.TempDir(), "kubeconfig")

	// Every case also asks for --create-secret: none may create a Secret.
	plain := []string{"plain", "-n", ns}
	with := func(extra ...string) []string { return append(append([]string{}, plain...), extra...) }
	cases := []refusal{
		{"merge and output file", with("--merge", "--output-file", out), "", 2, []string{"--merge", "--output-file"}},
		{"set-current without merge", with("--set-current"), "", 2, []string{"--set-current applies to --merge"}},
		{"force alone", with("--force"), "", 2, []string{"--force", "needs --output-file or --merge"}},
		{"empty output file", with("--output-file="), "", 2, []string{"--output-file must name a file"}},
		{"empty context name", with("--context-name="), "", 2, []string{"--context-name", "must not be empty"}},
		{"context name with a newline", with("--context-name=a\nb"), "", 2, []string{"--context-name", "control character"}},
		{"mounted source", with("--source=mounted"), "", 2, []string{"--source=mounted"}},
		{"duration too short", with("--duration=5m"), "", 2, []string{"--duration must be at least 10m"}},
		{"too many arguments", with("x"), "", 2, []string{"at most 1 argument"}},
		{"unknown service account", []string{"ghost", "-n", ns}, "", 1, []string{`service account "ghost" not found in namespace "` + ns + `"`}},
		{"context without a server", plain, noServerPath, 2, []string{`the current context "local" uses cluster "local", which has no server URL`, "kubectl config set-cluster local --server="}},
		{"plain http server", plain, plainHTTPPath, 6, []string{"plain http", "--allow-insecure-http"}},
	}
	for i := range cases {
		cases[i].args = append(append([]string{"kubeconfig"}, cases[i].args...), "--create-secret")
	}
	expectRefusals(t, cases)
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused run wrote %s", out)
	}
	if n := plainServer.count(); n != 0 {
		t.Errorf("the plain http server received %d requests without --allow-insecure-http", n)
	}
	assertSecretsUnchanged(t, ns, before, "bad input")
}

// TestKubeconfigNeverLogged runs every way of writing a kubeconfig at the
// highest verbosity the plugin accepts and looks for the token in stderr.
func TestKubeconfigNeverLogged(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "quiet")
	name := ns + ":quiet@local"

	res := access(t, "kubeconfig", "quiet", "-n", ns, "-v=10").RunOK()
	if !strings.Contains(res.Stderr, `"Request" verb="POST"`) {
		t.Errorf("-v=10 logged no TokenRequest; is verbosity working?\n%s", res.Stderr)
	}
	cfg, err := clientcmd.Load([]byte(res.Stdout))
	if err != nil {
		t.Fatal(err)
	}
	harness.AssertNoSecretLeak(t, "stderr of kubeconfig -v=10", res.Stderr, cfg.AuthInfos[name].Token)

	out := filepath.Join(t.TempDir(), "kubeconfig")
	res = access(t, "kubeconfig", "quiet", "-n", ns, "-v=10", "--output-file", out, "--source=secret", "--create-secret").RunOK()
	token := loadKubeconfig(t, out).AuthInfos[name].Token
	harness.AssertNoSecretLeak(t, "stderr of kubeconfig --output-file --create-secret -v=10", res.Stderr, token)

	kc := adminKubeconfigCopy(t)
	res = access(t, "kubeconfig", "quiet", "-n", ns, "-v=10", "--merge").WithKubeconfig(kc).RunOK()
	harness.AssertNoSecretLeak(t, "stderr of kubeconfig --merge -v=10", res.Stderr, loadKubeconfig(t, kc).AuthInfos[name].Token)

	// A refused run leaks nothing either: the token of the Secret the
	// previous run created is the one it would have used.
	res = access(t, "kubeconfig", "quiet", "-n", ns, "-v=10", "--merge", "--source=secret").WithKubeconfig(kc).ExpectExit(1, "--force")
	harness.AssertNoSecretLeak(t, "stderr of a refused kubeconfig --merge -v=10", res.Stderr, token)

	// That run was refused before any token was read. This one fails only
	// after it: the Secret's token is read, the kubeconfig built, and
	// writing it to stdout fails (stdout is a file open read-only), so the
	// error path runs with the token in memory.
	stderr, code := accessWithBrokenStdout(t, "kubeconfig", "quiet", "-n", ns, "-v=10", "--source=secret")
	if code == 0 {
		t.Errorf("kubeconfig with a broken stdout exited 0\n%s", stderr)
	}
	if !strings.Contains(stderr, "using the token of Secret "+ns+"/") || !strings.Contains(stderr, "write /dev/stdout") {
		t.Errorf("the run with a broken stdout did not fail writing stdout after reading the Secret's token, so it proves nothing:\n%s", stderr)
	}
	harness.AssertNoSecretLeak(t, "stderr of kubeconfig -v=10 failing after the token was read", stderr, token)
}

// accessWithBrokenStdout runs kubectl access args with stdout a file
// opened read-only, so every write to stdout fails, and returns stderr and
// the exit code.
func accessWithBrokenStdout(t *testing.T, args ...string) (stderr string, code int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stdout")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	readOnly, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer readOnly.Close()
	ctx, cancel := context.WithTimeout(t.Context(), harness.DefaultTimeout)
	defer cancel()
	cmd := access(t, args...).Exec(ctx)
	var errBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = readOnly, &errBuf
	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("kubectl access %v did not finish\n%s", args, errBuf.String())
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("running kubectl access %v: %v", args, err)
	}
	return errBuf.String(), code
}

// TestKubeconfigJSON: -o json prints the same kubeconfig as JSON, which
// kubectl reads like the YAML one.
func TestKubeconfigJSON(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "json")
	res := access(t, "kubeconfig", "json", "-n", ns, "-o", "json").RunOK()
	if !strings.HasPrefix(res.Stdout, "{") {
		t.Fatalf("-o json did not print JSON:\n%s", res.Stdout)
	}
	path := saveTo(t, "json.kubeconfig", []byte(res.Stdout))
	if got, want := whoamiWith(t, path), "system:serviceaccount:"+ns+":json"; got != want {
		t.Errorf("kubectl auth whoami with the JSON kubeconfig = %q, want %q", got, want)
	}
}
