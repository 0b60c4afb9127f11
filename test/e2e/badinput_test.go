package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-access/kubectl-access/test/harness"
)

// refusal is a row of a bad-input table: a command that must be refused.
type refusal struct {
	name string
	// args follow "kubectl access".
	args []string
	// kubeconfig replaces the admin kubeconfig when it is not "".
	kubeconfig string
	// code and want are what ExpectRefusal holds the command to.
	code int
	want []string
}

// expectRefusals runs every case as a subtest held to the refusal contract
// (harness.Cmd.ExpectRefusal), then to each of also.
func expectRefusals(t *testing.T, cases []refusal, also ...func(t *testing.T, res harness.Result)) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := access(t, tc.args...)
			if tc.kubeconfig != "" {
				r = r.WithKubeconfig(tc.kubeconfig)
			}
			res := r.ExpectRefusal(tc.code, tc.want...)
			for _, check := range also {
				check(t, res)
			}
		})
	}
}

// TestBadInput runs every command with input it must refuse: each refusal
// names the problem, exits with the documented code, prints nothing on
// stdout, and creates or writes nothing.
func TestBadInput(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "ci")
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	malformed := write("malformed.kubeconfig", "apiVersion: v1\nclusters: [this is: not yaml\n")
	empty := write("empty.token", "")
	blank := write("blank.token", " \n\t\n")
	bearer := write("bearer.token", "Bearer abc.def.ghi\n")
	notJWT := write("static.token", "static-token-value\n")
	outFile := filepath.Join(dir, "never-written.kubeconfig")
	missingNS := "no-such-ns-" + randomSuffix()

	var cases []refusal
	for _, cmd := range []string{"token", "probe", "whoami", "kubeconfig"} {
		cases = append(cases,
			refusal{cmd + "/malformed kubeconfig", []string{cmd, "ci", "-n", ns}, malformed, 2, []string{"malformed.kubeconfig"}},
			refusal{cmd + "/missing context", []string{cmd, "ci", "-n", ns, "--context", "nope"}, "", 2, []string{`"nope"`}},
			refusal{cmd + "/unknown service account", []string{cmd, "ghost", "-n", ns}, "", 1, []string{`service account "ghost" not found in namespace "` + ns + `"`}},
			refusal{cmd + "/unknown namespace", []string{cmd, "ci", "-n", missingNS}, "", 1, []string{`not found in namespace "` + missingNS + `"`}},
			refusal{cmd + "/duration below 10m", []string{cmd, "ci", "-n", ns, "--duration=5m"}, "", 2, []string{"--duration must be at least 10m"}},
			refusal{cmd + "/duration not a duration", []string{cmd, "ci", "-n", ns, "--duration=soon"}, "", 2, []string{`invalid argument "soon" for "--duration"`}},
			refusal{cmd + "/unknown source", []string{cmd, "ci", "-n", ns, "--source=vault"}, "", 2, []string{"--source must be one of"}},
			refusal{cmd + "/unknown output", []string{cmd, "ci", "-n", ns, "-o", "xml"}, "", 2, []string{"xml"}},
			refusal{cmd + "/too many arguments", []string{cmd, "ci", "cd", "-n", ns}, "", 2, []string{"at most 1 argument"}},
		)
	}
	for _, cmd := range []string{"token", "probe", "whoami"} {
		cases = append(cases,
			refusal{cmd + "/empty token", []string{cmd, "--token-file", empty, "-n", ns}, "", 2, []string{"--token-file holds an empty token"}},
			refusal{cmd + "/whitespace token", []string{cmd, "--token-file", blank, "-n", ns}, "", 2, []string{"--token-file holds an empty token"}},
			refusal{cmd + "/Bearer token", []string{cmd, "--token-file", bearer, "-n", ns}, "", 2, []string{"give the bare token"}},
			refusal{cmd + "/token file and source", []string{cmd, "--token-file", notJWT, "--source=secret", "-n", ns}, "", 2, []string{"--source"}},
			refusal{cmd + "/token file and service account", []string{cmd, "ci", "--token-file", notJWT, "-n", ns}, "", 2, []string{"--token-file"}},
		)
	}
	for _, cmd := range []string{"probe", "whoami"} {
		cases = append(cases,
			refusal{cmd + "/current and service account", []string{cmd, "ci", "--current", "-n", ns}, "", 2, []string{"--current"}},
			refusal{cmd + "/current and token file", []string{cmd, "--current", "--token-file", notJWT, "-n", ns}, "", 2, []string{"--current and --token-file cannot be used together"}},
		)
	}
	cases = append(cases,
		refusal{"token/non-JWT token with --claims", []string{"token", "--token-file", notJWT, "--claims"}, "", 1, []string{"not a JWT"}},
		refusal{"probe/path without a leading slash", []string{"probe", "ci", "-n", ns, "--path", "api"}, "", 2, []string{"--path"}},
		refusal{"probe/path with a host", []string{"probe", "ci", "-n", ns, "--path", "https://evil.example/api"}, "", 2, []string{"--path"}},
		refusal{"probe/path with dot-dot", []string{"probe", "ci", "-n", ns, "--path", "/api/../apis"}, "", 2, []string{"--path"}},
		refusal{"probe/service with too many slashes", []string{"probe", "ci", "-n", ns, "--service", "a/b/c"}, "", 2, []string{"--service"}},
		refusal{"probe/service with a bad port", []string{"probe", "ci", "-n", ns, "--service", "web:99999"}, "", 2, []string{"--service"}},
		refusal{"whoami/namespaces and all-namespaces", []string{"whoami", "ci", "-n", ns, "-A", "--namespaces", "a,b"}, "", 2, []string{"--namespaces"}},
		refusal{"whoami/zero concurrency", []string{"whoami", "ci", "-n", ns, "--concurrency=0"}, "", 2, []string{"--concurrency"}},
		refusal{"kubeconfig/merge and output file", []string{"kubeconfig", "ci", "-n", ns, "--merge", "--output-file", outFile}, "", 2, []string{"--merge"}},
		refusal{"kubeconfig/unknown service account with output file", []string{"kubeconfig", "ghost", "-n", ns, "--output-file", outFile}, "", 1, []string{`"ghost" not found`}},
	)

	secretsBefore := secretNames(t, ns)
	expectRefusals(t, cases, func(t *testing.T, res harness.Result) {
		if strings.Contains(res.Stderr, "static-token-value") || strings.Contains(res.Stderr, "abc.def.ghi") {
			t.Errorf("the error repeats the token:\n%s", res.Stderr)
		}
	})
	assertSecretsUnchanged(t, ns, secretsBefore, "bad input")
	if _, err := os.Stat(outFile); !os.IsNotExist(err) {
		t.Errorf("bad input wrote %s", outFile)
	}
	sas, err := adminClient(t).CoreV1().ServiceAccounts(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil || len(sas.Items) != 2 {
		t.Errorf("service accounts of %s changed: %v %v", ns, sas, err)
	}
}
