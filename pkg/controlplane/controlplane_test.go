package controlplane

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// helperEnv makes the test binary act as a process that starts a control
// plane and then waits to be killed (see TestProcessesDieWithParent).
const helperEnv = "CONTROLPLANE_TEST_HELPER_DIR"

// requireBinaries skips the test under -short or when the control plane
// binaries have not been built, and returns their directory.
func requireBinaries(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the local control plane: run `make test`")
	}
	dir := BinDir()
	for _, name := range []string{etcdBinary, apiServerBinary, controllerManagerBinary} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Skipf("control plane binaries not found in %s (%v): build them with hack/build-controlplane.sh or run `make test`", dir, err)
		}
	}
	return dir
}

// startForTest starts a control plane, dumping the process logs if the test
// fails while it runs, and stopping it at the end of the test.
func startForTest(t *testing.T, ctx context.Context, opts Options) *ControlPlane {
	t.Helper()
	begin := time.Now()
	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("control plane ready at %s in %s (dir %s)", c.Server, time.Since(begin).Round(time.Millisecond), c.Dir)
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range c.processes() {
				t.Logf("%s", p.logTail())
			}
		}
		if err := c.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return c
}

// processes returns the processes started so far.
func (c *ControlPlane) processes() []*process {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*process
	for _, p := range []*process{c.etcd, c.apiServer, c.ctrlMgr} {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// alive reports whether a process with the given id exists (a zombie counts).
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// processesMentioning returns the ids of running processes whose command
// line contains s, so that tests can check nothing was left behind.
func processesMentioning(t *testing.T, s string) []int {
	t.Helper()
	if runtime.GOOS != "linux" {
		return nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("listing processes: %v", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(s)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// eventually calls check until it returns nil or a minute passes.
func eventually(t *testing.T, ctx context.Context, what string, check func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		err := check(ctx)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestControlPlane(t *testing.T) {
	binDir := requireBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	c := startForTest(t, ctx, Options{BinDir: binDir})
	if !strings.HasPrefix(c.Server, "https://127.0.0.1:") {
		t.Errorf("Server = %q, want https://127.0.0.1:PORT", c.Server)
	}
	for _, path := range []string{c.CAFile, c.AdminKubeconfig} {
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%v", err)
		}
	}
	cfg, err := c.RESTConfig()
	if err != nil {
		t.Fatalf("RESTConfig: %v", err)
	}
	if cfg.Host != c.Server {
		t.Errorf("RESTConfig().Host = %q, want %q", cfg.Host, c.Server)
	}
	client := kubernetes.NewForConfigOrDie(cfg)

	t.Run("version", func(t *testing.T) {
		v, err := client.Discovery().ServerVersion()
		if err != nil {
			t.Fatalf("/version: %v", err)
		}
		if v.GitVersion != kubeVersion {
			t.Errorf("/version gitVersion = %q, want %q", v.GitVersion, kubeVersion)
		}
	})

	t.Run("admin identity", func(t *testing.T) {
		review, err := client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("SelfSubjectReview: %v", err)
		}
		user := review.Status.UserInfo
		if user.Username != adminUser || !contains(user.Groups, "system:masters") {
			t.Errorf("admin is %q in %v, want %q in system:masters", user.Username, user.Groups, adminUser)
		}
	})

	t.Run("default service account", func(t *testing.T) {
		if _, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
			t.Fatalf("default ServiceAccount: %v", err)
		}
	})

	ns := fmt.Sprintf("controlplane-test-%d", time.Now().UnixNano())
	t.Run("new namespace gets a default service account and the root CA", func(t *testing.T) {
		if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating namespace: %v", err)
		}
		eventually(t, ctx, "default ServiceAccount in "+ns, func(ctx context.Context) error {
			_, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			return err
		})
		eventually(t, ctx, "kube-root-ca.crt in "+ns, func(ctx context.Context) error {
			_, err := client.CoreV1().ConfigMaps(ns).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
			return err
		})
	})

	t.Run("legacy service account token secret is filled", func(t *testing.T) {
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Name:        "default-token",
				Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"},
			},
			Type: corev1.SecretTypeServiceAccountToken,
		}
		if _, err := client.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating secret: %v", err)
		}
		var token string
		eventually(t, ctx, "data.token of the secret", func(ctx context.Context) error {
			s, err := client.CoreV1().Secrets(ns).Get(ctx, secret.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if len(s.Data[corev1.ServiceAccountTokenKey]) == 0 || len(s.Data[corev1.ServiceAccountRootCAKey]) == 0 {
				return errors.New("token or ca.crt not filled in yet")
			}
			token = string(s.Data[corev1.ServiceAccountTokenKey])
			return nil
		})
		assertTokenUser(t, ctx, c, token, "system:serviceaccount:"+ns+":default")
	})

	t.Run("token request", func(t *testing.T) {
		expiry := int64(600)
		tr, err := client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "default", &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("TokenRequest: %v", err)
		}
		if tr.Status.Token == "" {
			t.Fatal("TokenRequest returned an empty token")
		}
		assertTokenUser(t, ctx, c, tr.Status.Token, "system:serviceaccount:"+ns+":default")
	})

	// Stop kube-apiserver alone, then everything.
	procs := c.processes()
	if len(procs) != 3 {
		t.Fatalf("%d processes recorded, want 3", len(procs))
	}
	begin := time.Now()
	if err := c.StopAPIServer(); err != nil {
		t.Fatalf("StopAPIServer: %v", err)
	}
	t.Logf("StopAPIServer took %s", time.Since(begin).Round(time.Millisecond))
	if alive(c.apiServer.pid()) {
		t.Errorf("kube-apiserver (pid %d) still running after StopAPIServer", c.apiServer.pid())
	}
	for _, p := range []*process{c.etcd, c.ctrlMgr} {
		if !alive(p.pid()) {
			t.Errorf("%s (pid %d) stopped by StopAPIServer", p.name, p.pid())
		}
	}
	if _, err := client.Discovery().ServerVersion(); err == nil {
		t.Error("kube-apiserver still answers after StopAPIServer")
	}

	begin = time.Now()
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop (the rest) took %s", time.Since(begin).Round(time.Millisecond))
	for _, p := range procs {
		if alive(p.pid()) {
			t.Errorf("%s (pid %d) still running after Stop", p.name, p.pid())
		}
	}
	if pids := processesMentioning(t, c.Dir); len(pids) > 0 {
		t.Errorf("processes %v still use %s after Stop", pids, c.Dir)
	}
	if _, err := os.Stat(c.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary Dir %s not removed by Stop: %v", c.Dir, err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// assertTokenUser checks that kube-apiserver accepts token as user.
func assertTokenUser(t *testing.T, ctx context.Context, c *ControlPlane, token, user string) {
	t.Helper()
	cfg := &rest.Config{
		Host:            c.Server,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: c.CAFile},
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	review, err := client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectReview with the token: %v", err)
	}
	if got := review.Status.UserInfo.Username; got != user {
		t.Errorf("token authenticates as %q, want %q", got, user)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestStartFailureCleansUp(t *testing.T) {
	binDir := requireBinaries(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // Start's temporary Dir goes here
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	c, err := Start(ctx, Options{BinDir: binDir, ExtraAPIServerArgs: []string{"--no-such-flag"}})
	if err == nil {
		_ = c.Stop()
		t.Fatal("Start succeeded with an unknown kube-apiserver flag")
	}
	t.Logf("Start error: %v", err)
	for _, want := range []string{"kube-apiserver exited", "no-such-flag"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Start error does not mention %q", want)
		}
	}
	entries, _ := os.ReadDir(tmp)
	if len(entries) > 0 {
		t.Errorf("Start left %v in the temporary directory", entries)
	}
	if pids := processesMentioning(t, tmp); len(pids) > 0 {
		t.Errorf("processes %v left running after a failed Start", pids)
	}
}

func TestStartRequiresBinaries(t *testing.T) {
	_, err := Start(context.Background(), Options{BinDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "hack/build-controlplane.sh") {
		t.Errorf("Start with no binaries: %v, want an error naming hack/build-controlplane.sh", err)
	}
	if _, err := Start(context.Background(), Options{}); err == nil {
		t.Error("Start without BinDir succeeded")
	}
}

func TestStopNil(t *testing.T) {
	var c *ControlPlane
	if err := c.Stop(); err != nil {
		t.Errorf("Stop on nil: %v", err)
	}
	if err := (&ControlPlane{}).Stop(); err != nil {
		t.Errorf("Stop on an unstarted control plane: %v", err)
	}
}

func TestBinDir(t *testing.T) {
	t.Setenv("KUBECTL_ACCESS_CONTROLPLANE_DIR", "/x/y")
	if got := BinDir(); got != "/x/y" {
		t.Errorf("BinDir() = %q with KUBECTL_ACCESS_CONTROLPLANE_DIR set", got)
	}
	t.Setenv("KUBECTL_ACCESS_CONTROLPLANE_DIR", "")
	t.Setenv("XDG_CACHE_HOME", "/cache")
	if got, want := BinDir(), "/cache/kubectl-access/controlplane/"+kubeVersion; got != want {
		t.Errorf("BinDir() = %q, want %q", got, want)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if got, want := BinDir(), "/home/u/.cache/kubectl-access/controlplane/"+kubeVersion; got != want {
		t.Errorf("BinDir() = %q, want %q", got, want)
	}
}

// TestProcessesDieWithParent starts a control plane in a child process (this
// test binary, see TestHelperStartAndWait), kills that child with SIGKILL so
// it cannot run Stop, and checks that etcd, kube-apiserver and
// kube-controller-manager die with it.
func TestProcessesDieWithParent(t *testing.T) {
	requireBinaries(t)
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux only")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperStartAndWait$", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	ready := make(chan bool, 1)
	go func() {
		found := false
		scanner := bufio.NewScanner(stdout)
		for !found && scanner.Scan() {
			found = scanner.Text() == "HELPER READY"
		}
		ready <- found
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("helper exited before the control plane was ready")
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("helper did not start a control plane in time")
	}
	pids := processesMentioning(t, dir)
	if len(pids) != 3 {
		t.Fatalf("%d control plane processes found for %s, want 3", len(pids), dir)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for len(processesMentioning(t, dir)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if left := processesMentioning(t, dir); len(left) > 0 {
		t.Errorf("processes %v outlived the process that started them", left)
	}
}

// TestHelperStartAndWait is not a test: TestProcessesDieWithParent runs the
// test binary with helperEnv set to make it start a control plane in that
// directory and wait to be killed.
func TestHelperStartAndWait(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process for TestProcessesDieWithParent")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := Start(ctx, Options{BinDir: BinDir(), Dir: dir}); err != nil {
		t.Fatalf("Start: %v", err)
	}
	fmt.Println("HELPER READY")
	time.Sleep(5 * time.Minute)
	t.Fatal("not killed")
}
