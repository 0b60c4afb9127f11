package krew

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-access/kubectl-access/test/harness"
)

// commandTimeout bounds every command a test runs, so a hang fails the test
// instead of the whole run: longer than harness.DefaultTimeout, for krew
// installing every platform's archive.
const commandTimeout = 3 * time.Minute

// krewEnv is a clean krew installation: its own KREW_ROOT and HOME, and a
// PATH of KREW_ROOT/bin and the tools alone, so that nothing installed on the
// machine can answer for the plugin.
type krewEnv struct {
	root       string
	home       string
	kubeconfig string
}

func newKrewEnv(t *testing.T) *krewEnv {
	t.Helper()
	return &krewEnv{root: t.TempDir(), home: t.TempDir(), kubeconfig: env.cp.AdminKubeconfig}
}

// bin is KREW_ROOT/bin, where krew links installed plugins.
func (k *krewEnv) bin() string { return filepath.Join(k.root, "bin") }

// store is where krew unpacks the installed version of the plugin.
func (k *krewEnv) store() string { return filepath.Join(k.root, "store", "access", env.version) }

// indexRepo is the local git repository krew clones its default index from.
func (k *krewEnv) indexRepo() string { return filepath.Join(k.home, "krew-index") }

// initIndex makes a krew plugin index holding the manifest that downloads
// from the local file server, and has krew clone it, offline.
func (k *krewEnv) initIndex(t *testing.T) {
	t.Helper()
	plugins := filepath.Join(k.indexRepo(), "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(env.localManifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(plugins, "access.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "plugins/access.yaml"},
		{"-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-q", "-m", "access"},
	} {
		k.command(t, "git", append([]string{"-C", k.indexRepo()}, args...)...).RunOK()
	}
	k.kubectl(t, "krew", "update").RunOK()
}

// userBin is the user's own directory on PATH (~/.local/bin), where the
// caveats tell to copy the completion helper.
func (k *krewEnv) userBin() string { return filepath.Join(k.home, ".local", "bin") }

// receipt is krew's record of the installed plugin.
func (k *krewEnv) receipt() string { return filepath.Join(k.root, "receipts", "access.yaml") }

// command runs name, looked up in the environment's PATH, in the krew
// environment, from its HOME.
func (k *krewEnv) command(t *testing.T, name string, args ...string) *harness.Cmd {
	t.Helper()
	return harness.Command(t, name, args...).
		WithPath(k.bin(), k.userBin(), env.toolBin).
		WithHome(k.home).
		WithDir(k.home).
		WithKubeconfig(k.kubeconfig).
		WithEnv("KREW_ROOT="+k.root, "KREW_NO_UPGRADE_CHECK=1", "KREW_DEFAULT_INDEX_URI="+k.indexRepo()).
		WithTimeout(commandTimeout)
}

// kubectl runs the real kubectl in the krew environment.
func (k *krewEnv) kubectl(t *testing.T, args ...string) *harness.Cmd {
	t.Helper()
	return k.command(t, "kubectl", args...)
}

// completions parses the output of cobra's __complete: one candidate a line
// (with a tab and a description, dropped here), then ":DIRECTIVE".
func completions(t *testing.T, stdout string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
		t.Fatalf("completion output does not end with a :directive line:\n%s", stdout)
	}
	out := []string{}
	for _, l := range lines[:len(lines)-1] {
		if l == "" {
			continue
		}
		name, _, _ := strings.Cut(l, "\t")
		out = append(out, name)
	}
	return out
}
