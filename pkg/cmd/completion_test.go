package cmd

import (
	"bytes"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

// completeArgs runs cobra's hidden __complete command in process, as the
// completion helper and the shell scripts do, and returns the candidates.
func completeArgs(t *testing.T, args ...string) []string {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	if code := Execute(append([]string{"__complete"}, args...), streams); code != 0 {
		t.Fatalf("__complete %q: exit %d\n%s", args, code, errOut.String())
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
		t.Fatalf("__complete %q: no directive line:\n%s", args, out.String())
	}
	got := []string{}
	for _, l := range lines[:len(lines)-1] {
		name, _, _ := strings.Cut(l, "\t")
		got = append(got, name)
	}
	return got
}

// visibleCommands are the subcommands cobra offers: every available one of
// the tree, and help.
func visibleCommands() []string {
	root := NewCmdAccess(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	names := []string{"help"}
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	sort.Strings(names)
	return names
}

// TestCompletionsWithoutServer covers what completes without a cluster:
// commands, the completion command's shells and fixed flag values.
func TestCompletionsWithoutServer(t *testing.T) {
	commands := visibleCommands()
	for _, want := range []string{"completion", "help", "token", "version"} {
		if i := sort.SearchStrings(commands, want); i == len(commands) || commands[i] != want {
			t.Errorf("the command tree lacks %q: %q", want, commands)
		}
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{""}, commands},
		{[]string{"to"}, []string{"token"}},
		{[]string{"completion", ""}, []string{"bash", "fish", "powershell", "zsh"}},
		{[]string{"token", "--source", ""}, []string{"auto", "secret", "request", "mounted"}},
		{[]string{"token", "--output", ""}, []string{"json", "yaml", "exec-credential"}},
		{[]string{"token", "--bound-object-kind", ""}, []string{"Node", "Pod", "Secret"}},
		{[]string{"whoami", "--fail-on-risk="}, []string{"critical", "high", "medium", "low"}},
		{[]string{"whoami", "--risk-ignore", ""}, risk.IDs()},
	} {
		if diff := cmp.Diff(tc.want, completeArgs(t, tc.args...)); diff != "" {
			t.Errorf("__complete %q (-want +got):\n%s", tc.args, diff)
		}
	}
}

// TestCompletionContextsFromKubeconfig checks that --context completes from
// the kubeconfig without contacting a server.
func TestCompletionContextsFromKubeconfig(t *testing.T) {
	kubeconfig := t.TempDir() + "/config"
	const cfg = `apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u1
  user: {}
contexts:
- name: prod
  context: {cluster: c1, user: u1}
- name: dev
  context: {cluster: c1, user: u1}
current-context: dev
`
	if err := writeFile(kubeconfig, cfg); err != nil {
		t.Fatal(err)
	}
	got := completeArgs(t, "token", "--kubeconfig", kubeconfig, "--context", "")
	if diff := cmp.Diff([]string{"dev", "prod"}, got); diff != "" {
		t.Errorf("--context (-want +got):\n%s", diff)
	}
}

// TestCompletionHelp checks the completion commands speak of "kubectl
// access" and print their scripts.
func TestCompletionHelp(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		var out, errOut bytes.Buffer
		streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
		if code := Execute([]string{"completion", shell, "--help"}, streams); code != 0 {
			t.Fatalf("completion %s --help: exit %d\n%s", shell, code, errOut.String())
		}
		help := out.String()
		if !strings.Contains(help, "kubectl access completion "+shell) || strings.Contains(help, "kubectl-access completion") {
			t.Errorf("completion %s --help does not read \"kubectl access\":\n%s", shell, help)
		}
		out.Reset()
		if code := Execute([]string{"completion", shell}, streams); code != 0 || !strings.Contains(out.String(), "kubectl-access") {
			t.Errorf("completion %s: exit %d, script:\n%.200s", shell, code, out.String())
		}
	}
}

func writeFile(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o600)
}

// TestCompletionCapsVerbosity: cobra's hidden __complete command runs no
// PersistentPreRunE, so the -v cap must hold on that path too: from -v=8
// on, client-go would log the bodies of the completion's requests.
func TestCompletionCapsVerbosity(t *testing.T) {
	v := keepVerbosity(t)
	if err := v.Set("0"); err != nil {
		t.Fatal(err)
	}
	kubeconfig := t.TempDir() + "/config"
	const cfg = `apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u1
  user: {token: caller-token}
contexts:
- name: dev
  context: {cluster: c1, user: u1, namespace: build}
current-context: dev
`
	if err := writeFile(kubeconfig, cfg); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kubeconfig)
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	// The service account names come from the (unreachable) server.
	if code := Execute([]string{"__complete", "whoami", "-v=9", ""}, streams); code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut.String())
	}
	if klog.V(8).Enabled() {
		t.Errorf("klog's -v is %s after __complete -v=9: client-go may log request bodies", v)
	}
	// 7 exactly: -v=9 was parsed, then lowered (not ignored).
	if got := v.String(); got != "7" {
		t.Errorf("klog's -v is %s, want 7", got)
	}
	if strings.Contains(out.String()+errOut.String(), "caller-token") {
		t.Error("the completion printed the kubeconfig's token")
	}
}
