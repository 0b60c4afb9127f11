package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// TestBadInputWithCreateSecret: --create-secret is the one flag that
// creates an object, so every refusal is tried with it, for a service
// account that has no token Secret (it would create one): nothing is
// created. The last step is the control: the same command without the
// fault does create one, so the check can fail.
func TestBadInputWithCreateSecret(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "ci")
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.kubeconfig")
	if err := os.WriteFile(existing, []byte("keep me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	locked := filepath.Join(dir, "locked.kubeconfig")
	data, err := os.ReadFile(env.cp.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(locked, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(locked+".lock", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	create := []string{"ci", "-n", ns, "--source=secret", "--create-secret"}
	with := func(cmd string, extra ...string) []string {
		return append(append([]string{cmd}, create...), extra...)
	}

	before := secretNames(t, ns)
	var cases []refusal
	for _, cmd := range []string{"token", "probe", "whoami", "kubeconfig"} {
		cases = append(cases,
			refusal{cmd + "/zero wait timeout", with(cmd, "--wait-timeout=0s"), "", 2, []string{"--wait-timeout must be positive"}},
			refusal{cmd + "/duration with a legacy Secret", with(cmd, "--duration=1h"), "", 2, []string{"--source=secret"}},
			refusal{cmd + "/token pasted as the namespace", []string{cmd, "ci", "-n", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "--source=secret", "--create-secret"}, "", 2, []string{"looks like a token"}},
		)
	}
	cases = append(cases,
		refusal{"kubeconfig/existing output file without --force", with("kubeconfig", "--output-file", existing), "", 1, []string{existing + " already exists"}},
		refusal{"kubeconfig/merge into a locked kubeconfig", with("kubeconfig", "--merge"), locked, 1, []string{"kubeconfig is locked"}},
		refusal{"probe/bad path", with("probe", "--path", "api"), "", 2, []string{"--path"}},
		refusal{"whoami/bad --check", with("whoami", "--check", "fly"), "", 2, []string{"--check"}},
	)
	expectRefusals(t, cases)
	assertSecretsUnchanged(t, ns, before, "bad input with --create-secret")
	if got, _ := os.ReadFile(existing); string(got) != "keep me\n" {
		t.Errorf("the existing output file was changed: %q", got)
	}

	access(t, with("token")...).RunOK()
	if after := secretNames(t, ns); len(after) != len(before)+1 {
		t.Errorf("token --create-secret created no Secret (before %v, after %v): the checks above prove nothing", before, after)
	}
}
