package krew

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-access/kubectl-access/pkg/cmd"
)

// TestKrewInstall installs the plugin from this machine's archive with
// `kubectl krew install --manifest --archive`, as a user of a release would,
// uses it through the real kubectl (version, completion scripts, completion
// of commands, service accounts and namespaces from the control plane), and
// uninstalls it. The steps depend on each other and run in order.
func TestKrewInstall(t *testing.T) {
	k := newKrewEnv(t)
	archive := filepath.Join(env.dist, platform{runtime.GOOS, runtime.GOARCH}.archive())

	t.Run("install", func(t *testing.T) {
		// uninstall and list need a plugin index; offline, krew clones
		// one from a local git repository (KREW_DEFAULT_INDEX_URI).
		k.initIndex(t)
		res := k.kubectl(t, "krew", "install", "--manifest="+env.manifest, "--archive="+archive).RunOK()
		if !strings.Contains(res.Stdout+res.Stderr, `Installed plugin: access`) {
			t.Errorf("krew install did not report the installation:\n%s%s", res.Stdout, res.Stderr)
		}
		t.Logf("krew install took %s", res.Elapsed.Round(time.Millisecond))
		if _, err := os.Lstat(filepath.Join(k.bin(), "kubectl-access")); err != nil {
			t.Fatalf("krew linked no kubectl-access into KREW_ROOT/bin: %v", err)
		}
		if _, err := os.Stat(k.receipt()); err != nil {
			t.Errorf("krew wrote no receipt for access: %v", err)
		}
		res = k.kubectl(t, "krew", "list").RunOK()
		if !strings.Contains(res.Stdout, "access") {
			t.Errorf("kubectl krew list does not list access:\n%s", res.Stdout)
		}
		res = k.kubectl(t, "plugin", "list").RunOK()
		if !strings.Contains(res.Stdout, filepath.Join(k.bin(), "kubectl-access")) {
			t.Errorf("kubectl plugin list does not list the installed plugin:\n%s%s", res.Stdout, res.Stderr)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("version", func(t *testing.T) {
		res := k.kubectl(t, "access", "version", "-o", "json").RunOK()
		var info struct{ Version, Commit, BuildDate, Platform string }
		if err := json.Unmarshal([]byte(res.Stdout), &info); err != nil {
			t.Fatalf("kubectl access version -o json is not JSON: %v\n%s", err, res.Stdout)
		}
		want := runtime.GOOS + "/" + runtime.GOARCH
		if info.Version != env.version || info.Commit != env.commit || info.Platform != want || info.BuildDate == "unknown" {
			t.Errorf("kubectl access version -o json = %+v, want version %s, commit %s, platform %s, a build date", info, env.version, env.commit, want)
		}
		res = k.kubectl(t, "access", "version").RunOK()
		if !strings.HasPrefix(res.Stdout, "kubectl-access "+env.version+" ") {
			t.Errorf("kubectl access version = %q", res.Stdout)
		}
	})

	t.Run("completion scripts", func(t *testing.T) {
		for shell, marker := range map[string]string{
			"bash":       "__start_kubectl-access",
			"zsh":        "#compdef kubectl-access",
			"fish":       "complete -c kubectl-access",
			"powershell": "Register-ArgumentCompleter",
		} {
			res := k.kubectl(t, "access", "completion", shell).RunOK()
			if !strings.Contains(res.Stdout, marker) {
				t.Errorf("kubectl access completion %s lacks %q:\n%.300s", shell, marker, res.Stdout)
			}
			help := k.kubectl(t, "access", "completion", shell, "--help").RunOK().Stdout
			if !strings.Contains(help, "kubectl access completion "+shell) || strings.Contains(help, "kubectl-access completion") {
				t.Errorf("kubectl access completion %s --help does not read \"kubectl access\":\n%s", shell, help)
			}
		}
		// The bash script, sourced in a real bash with the bash-completion
		// package it needs, completes the plugin's commands by asking the
		// installed binary.
		const bashCompletion = "/usr/share/bash-completion/bash_completion"
		if _, err := os.Stat(bashCompletion); err != nil {
			t.Skipf("the bash-completion package is not installed (%v): apt-get install bash-completion to run the bash script", err)
		}
		script := k.kubectl(t, "access", "completion", "bash").RunOK().Stdout
		file := filepath.Join(t.TempDir(), "kubectl-access.bash")
		if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
		bash, err := exec.LookPath("bash")
		if err != nil {
			t.Fatalf("bash not found: %v", err)
		}
		res := k.command(t, bash, "--norc", "--noprofile", "-c", `source "$2"; source "$1"
COMP_LINE="kubectl-access ver"; COMP_POINT=${#COMP_LINE}
COMP_WORDS=(kubectl-access ver); COMP_CWORD=1
__start_kubectl-access kubectl-access ver kubectl-access
printf '%s\n' "${COMPREPLY[@]}"`, "bash", file, bashCompletion).Run()
		if res.Code != 0 || strings.TrimSpace(res.Stdout) != "version" {
			t.Errorf("bash completion of \"kubectl-access ver\" = %q (exit %d), want version\n%s", res.Stdout, res.Code, res.Stderr)
		}
	})

	t.Run("kubectl completion", func(t *testing.T) {
		// krew links only kubectl-access: without the helper on PATH,
		// kubectl cannot complete the plugin's arguments.
		res := k.kubectl(t, "__complete", "access", "").RunOK()
		if got := completions(t, res.Stdout); len(got) != 0 {
			t.Fatalf("kubectl completed %q without the helper on PATH; the test would prove nothing", got)
		}
		// The caveats' instruction: copy the helper from the store to a
		// directory on PATH.
		helper := filepath.Join(k.store(), "kubectl_complete-access")
		data, err := os.ReadFile(helper)
		if err != nil {
			t.Fatalf("krew did not install the completion helper: %v", err)
		}
		if err := os.MkdirAll(k.userBin(), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(k.userBin(), "kubectl_complete-access"), data, 0o755); err != nil {
			t.Fatal(err)
		}

		res = k.kubectl(t, "__complete", "access", "").RunOK()
		if diff := cmp.Diff(subcommands(), completions(t, res.Stdout)); diff != "" {
			t.Errorf("kubectl __complete access '' (-commands of the plugin +completed):\n%s", diff)
		}

		ns, client := namespaceWithServiceAccounts(t, "ci", "deployer", "reader")
		res = k.kubectl(t, "__complete", "access", "token", "-n", ns, "").RunOK()
		if diff := cmp.Diff([]string{"ci", "default", "deployer", "reader"}, completions(t, res.Stdout)); diff != "" {
			t.Errorf("service accounts completed for namespace %s (-want +got):\n%s", ns, diff)
		}
		res = k.kubectl(t, "__complete", "access", "token", "--namespace="+ns, "de").RunOK()
		if diff := cmp.Diff([]string{"default", "deployer"}, completions(t, res.Stdout)); diff != "" {
			t.Errorf("service accounts completed for prefix de (-want +got):\n%s", diff)
		}
		// Only the first argument is a service account.
		res = k.kubectl(t, "__complete", "access", "token", "-n", ns, "ci", "").RunOK()
		if got := completions(t, res.Stdout); len(got) != 0 {
			t.Errorf("a second argument completed to %q", got)
		}
		// Without -n, the kubeconfig context's namespace.
		k2 := *k
		k2.kubeconfig = kubeconfigWithNamespace(t, env.cp.AdminKubeconfig, ns)
		res = k2.kubectl(t, "__complete", "access", "token", "r").RunOK()
		if diff := cmp.Diff([]string{"reader"}, completions(t, res.Stdout)); diff != "" {
			t.Errorf("service accounts completed in the context's namespace (-want +got):\n%s", diff)
		}

		res = k.kubectl(t, "__complete", "access", "token", "-n", "").RunOK()
		got := completions(t, res.Stdout)
		all, err := client.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, n := range all.Items {
			names = append(names, n.Name)
		}
		sort.Strings(names)
		if diff := cmp.Diff(names, got); diff != "" {
			t.Errorf("namespaces completed for -n (-want +got):\n%s", diff)
		}

		res = k.kubectl(t, "__complete", "access", "token", "--source", "").RunOK()
		if diff := cmp.Diff([]string{"auto", "secret", "request", "mounted"}, completions(t, res.Stdout)); diff != "" {
			t.Errorf("--source values (-want +got):\n%s", diff)
		}
	})

	t.Run("completion with the server down", func(t *testing.T) {
		// An unreachable or hanging server must cost the shell a bounded
		// wait and offer nothing, not an error in the terminal.
		hanging := silentServer(t)
		for _, server := range []string{"https://127.0.0.1:1", "https://" + hanging} {
			k2 := *k
			k2.kubeconfig = kubeconfigWithServer(t, env.cp.AdminKubeconfig, server)
			res := k2.kubectl(t, "__complete", "access", "token", "").RunOK()
			if got := completions(t, res.Stdout); len(got) != 0 {
				t.Errorf("completed %q from %s", got, server)
			}
			if res.Elapsed > 10*time.Second {
				t.Errorf("completion against %s took %s; the shell waits that long", server, res.Elapsed)
			}
			t.Logf("completion against %s gave up after %s", server, res.Elapsed.Round(time.Millisecond))
		}
	})

	t.Run("uninstall", func(t *testing.T) {
		k.kubectl(t, "krew", "uninstall", "access").RunOK()
		for _, p := range []string{filepath.Join(k.bin(), "kubectl-access"), filepath.Dir(k.store()), k.receipt()} {
			if _, err := os.Lstat(p); !os.IsNotExist(err) {
				t.Errorf("%s still exists after uninstall (%v)", p, err)
			}
		}
		res := k.kubectl(t, "access", "version").Run()
		if res.Code == 0 {
			t.Errorf("kubectl access version still runs after uninstall:\n%s", res.Stdout)
		}
		res = k.kubectl(t, "krew", "list").RunOK()
		if strings.Contains(res.Stdout, "access") {
			t.Errorf("kubectl krew list still lists access:\n%s", res.Stdout)
		}
		// The copied helper outlives the plugin; it must then offer nothing
		// rather than break kubectl's completion.
		res = k.kubectl(t, "__complete", "access", "").RunOK()
		if got := completions(t, res.Stdout); len(got) != 0 {
			t.Errorf("completed %q with the plugin uninstalled", got)
		}
	})

	t.Run("install from the index", func(t *testing.T) {
		// What a user types: krew finds the plugin in its index and
		// downloads the archive for this platform (from the local file
		// server standing in for the release host), checking its sha256.
		k.kubectl(t, "krew", "install", "access").RunOK()
		res := k.kubectl(t, "access", "version").RunOK()
		if !strings.HasPrefix(res.Stdout, "kubectl-access "+env.version+" ") {
			t.Errorf("kubectl access version = %q", res.Stdout)
		}
		k.kubectl(t, "krew", "uninstall", "access").RunOK()
	})
}

// subcommands are the names of the plugin's commands, as cobra completes
// them: the visible subcommands of the command tree, and help.
func subcommands() []string {
	root := cmd.NewCmdAccess(genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
	names := []string{"help"}
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	sort.Strings(names)
	return names
}

// namespaceWithServiceAccounts creates a namespace holding the named service
// accounts, waits for its "default" one, and deletes it at the end.
func namespaceWithServiceAccounts(t *testing.T, names ...string) (string, kubernetes.Interface) {
	t.Helper()
	cfg, err := env.cp.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ns, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "krew-completion-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
	for _, n := range names {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: n}}
		if _, err := client.CoreV1().ServiceAccounts(ns.Name).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("service account default of %s never appeared: %v", ns.Name, err)
	}
	return ns.Name, client
}

// kubeconfigWithNamespace writes a copy of the kubeconfig at path whose
// current context has namespace ns.
func kubeconfigWithNamespace(t *testing.T, path, ns string) string {
	t.Helper()
	return editKubeconfig(t, path, func(cfg *clientcmdapi.Config) {
		cfg.Contexts[cfg.CurrentContext].Namespace = ns
	})
}

// kubeconfigWithServer writes a copy of the kubeconfig at path whose current
// cluster is at server.
func kubeconfigWithServer(t *testing.T, path, server string) string {
	t.Helper()
	return editKubeconfig(t, path, func(cfg *clientcmdapi.Config) {
		cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster].Server = server
	})
}

func editKubeconfig(t *testing.T, path string, edit func(*clientcmdapi.Config)) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Contexts[cfg.CurrentContext]; !ok {
		t.Fatalf("kubeconfig %s has no current context", path)
	}
	edit(cfg)
	out := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, out); err != nil {
		t.Fatal(fmt.Errorf("writing %s: %w", out, err))
	}
	return out
}

// silentServer accepts TCP connections on loopback and never answers: a
// server that hangs, which no real API server does on purpose. It returns
// its address.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}
