package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

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

	type tc struct {
		name       string
		args       []string
		kubeconfig string
		code       int
		want       string
	}
	var cases []tc
	for _, cmd := range []string{"token", "probe", "whoami", "kubeconfig"} {
		cases = append(cases,
			tc{cmd + "/malformed kubeconfig", []string{cmd, "ci", "-n", ns}, malformed, 2, "malformed.kubeconfig"},
			tc{cmd + "/missing context", []string{cmd, "ci", "-n", ns, "--context", "nope"}, "", 2, `"nope"`},
			tc{cmd + "/unknown service account", []string{cmd, "ghost", "-n", ns}, "", 1, `service account "ghost" not found in namespace "` + ns + `"`},
			tc{cmd + "/unknown namespace", []string{cmd, "ci", "-n", missingNS}, "", 1, `not found in namespace "` + missingNS + `"`},
			tc{cmd + "/duration below 10m", []string{cmd, "ci", "-n", ns, "--duration=5m"}, "", 2, "--duration must be at least 10m"},
			tc{cmd + "/duration not a duration", []string{cmd, "ci", "-n", ns, "--duration=soon"}, "", 2, `invalid argument "soon" for "--duration"`},
			tc{cmd + "/unknown source", []string{cmd, "ci", "-n", ns, "--source=vault"}, "", 2, "--source must be one of"},
			tc{cmd + "/unknown output", []string{cmd, "ci", "-n", ns, "-o", "xml"}, "", 2, "xml"},
			tc{cmd + "/too many arguments", []string{cmd, "ci", "cd", "-n", ns}, "", 2, "at most 1 argument"},
		)
	}
	for _, cmd := range []string{"token", "probe", "whoami"} {
		cases = append(cases,
			tc{cmd + "/empty token", []string{cmd, "--token-file", empty, "-n", ns}, "", 2, "--token-file holds an empty token"},
			tc{cmd + "/whitespace token", []string{cmd, "--token-file", blank, "-n", ns}, "", 2, "--token-file holds an empty token"},
			tc{cmd + "/Bearer token", []string{cmd, "--token-file", bearer, "-n", ns}, "", 2, "give the bare token"},
			tc{cmd + "/token file and source", []string{cmd, "--token-file", notJWT, "--source=secret", "-n", ns}, "", 2, "--source"},
			tc{cmd + "/token file and service account", []string{cmd, "ci", "--token-file", notJWT, "-n", ns}, "", 2, "--token-file"},
		)
	}
	for _, cmd := range []string{"probe", "whoami"} {
		cases = append(cases,
			tc{cmd + "/current and service account", []string{cmd, "ci", "--current", "-n", ns}, "", 2, "--current"},
			tc{cmd + "/current and token file", []string{cmd, "--current", "--token-file", notJWT, "-n", ns}, "", 2, "--current and --token-file cannot be used together"},
		)
	}
	cases = append(cases,
		tc{"token/non-JWT token with --claims", []string{"token", "--token-file", notJWT, "--claims"}, "", 1, "not a JWT"},
		tc{"probe/path without a leading slash", []string{"probe", "ci", "-n", ns, "--path", "api"}, "", 2, "--path"},
		tc{"probe/path with a host", []string{"probe", "ci", "-n", ns, "--path", "https://evil.example/api"}, "", 2, "--path"},
		tc{"probe/path with dot-dot", []string{"probe", "ci", "-n", ns, "--path", "/api/../apis"}, "", 2, "--path"},
		tc{"probe/service with too many slashes", []string{"probe", "ci", "-n", ns, "--service", "a/b/c"}, "", 2, "--service"},
		tc{"probe/service with a bad port", []string{"probe", "ci", "-n", ns, "--service", "web:99999"}, "", 2, "--service"},
		tc{"whoami/namespaces and all-namespaces", []string{"whoami", "ci", "-n", ns, "-A", "--namespaces", "a,b"}, "", 2, "--namespaces"},
		tc{"whoami/zero concurrency", []string{"whoami", "ci", "-n", ns, "--concurrency=0"}, "", 2, "--concurrency"},
		tc{"kubeconfig/merge and output file", []string{"kubeconfig", "ci", "-n", ns, "--merge", "--output-file", outFile}, "", 2, "--merge"},
		tc{"kubeconfig/unknown service account with output file", []string{"kubeconfig", "ghost", "-n", ns, "--output-file", outFile}, "", 1, `"ghost" not found`},
	)

	secretsBefore := secretNames(t, ns)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := access(t, c.args...)
			if c.kubeconfig != "" {
				r = r.withKubeconfig(c.kubeconfig)
			}
			res := r.expectRefusal(c.code, c.want)
			if strings.Contains(res.stderr, "static-token-value") || strings.Contains(res.stderr, "abc.def.ghi") {
				t.Errorf("the error repeats the token:\n%s", res.stderr)
			}
		})
	}
	if after := secretNames(t, ns); strings.Join(after, ",") != strings.Join(secretsBefore, ",") {
		t.Errorf("bad input changed the Secrets of %s from %v to %v", ns, secretsBefore, after)
	}
	if _, err := os.Stat(outFile); !os.IsNotExist(err) {
		t.Errorf("bad input wrote %s", outFile)
	}
	sas, err := adminClient(t).CoreV1().ServiceAccounts(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil || len(sas.Items) != 2 {
		t.Errorf("service accounts of %s changed: %v %v", ns, sas, err)
	}
}
