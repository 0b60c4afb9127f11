package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
)

// TestProbeUsageErrors checks that bad flags are refused with exit code 2
// before anything is sent: there is no kubeconfig at all (KUBECONFIG names
// a file that does not exist, which client-go tolerates), and none is
// created.
func TestProbeUsageErrors(t *testing.T) {
	token := "eyJhbGciOiJSUzI1NiJ9.dGhpcy1pcy1hLXRva2Vu.c2lnbmF0dXJl"
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"relative path", []string{"--path", "api"}, `--path must start with "/"`},
		{"url as path", []string{"--path", "https://evil.example/api"}, "not a URL"},
		{"dot segments", []string{"--path", "/api", "--path", "/api/../x"}, `--path (value 2 of 2) must not hold "." or ".."`},
		{"token as path", []string{"--path", token}, `--path must start with "/"`},
		{"token as service", []string{"--service", token}, "--service holds the character 'J'"},
		{"bad service", []string{"--service", "a/b/c"}, `--service has more than one "/"`},
		{"bad port", []string{"--service", "web:0"}, "from 1 to 65535"},
		{"quiet and output", []string{"-q", "-o", "json"}, "--quiet prints nothing; it cannot be used with --output"},
		{"quiet and body", []string{"-q", "--body"}, "--quiet prints nothing; it cannot be used with --body"},
		{"unknown output", []string{"-o", "xml"}, "--output must be one of json, yaml"},
		{"negative wait", []string{"--wait=-1s"}, "--wait must not be negative"},
		{"current and service account", []string{"ci", "--current"}, "--current acts as the kubeconfig's credentials"},
		{"token file and service account", []string{"ci", "--token-file", "x"}, "--token-file gives the token"},
		{"token flag with current", []string{"--current", "--duration=1h"}, "--duration obtains a service account token"},
		{"empty token file", []string{"--token-file="}, "--token-file must name a file"},
		{"too many arguments", []string{"a", "b"}, "at most 1 argument"},
		{"unknown flag", []string{"--nope"}, "unknown flag: --nope"},
		{"bad request timeout", []string{"--request-timeout=soon"}, `--request-timeout must be a duration such as 5s or 1m, or 0 for no limit (got "soon")`},
		{"negative request timeout", []string{"--request-timeout=-1s"}, "--request-timeout must be"},
	}
	missing := filepath.Join(t.TempDir(), "no-such-kubeconfig")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
			t.Setenv("KUBECONFIG", missing)
			code := Execute(append([]string{"probe"}, tc.args...), streams)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, errOut.String())
			}
			if !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("stderr %q does not contain %q", errOut.String(), tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout is not empty: %q", out.String())
			}
			if strings.Contains(errOut.String(), "dGhpcy1pcy1hLXRva2Vu") {
				t.Errorf("stderr shows the token: %q", errOut.String())
			}
		})
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("the kubeconfig was created: %v", err)
	}
}

// TestProbeHelpDocumentsExitCodes keeps the contract scripts rely on in
// --help: every code probe can exit with, worded as in exitcode.Table, and
// which wins when paths fail differently.
func TestProbeHelpDocumentsExitCodes(t *testing.T) {
	var out bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &out}
	root := NewCmdAccess(streams)
	root.SetOut(&out)
	root.SetArgs([]string{"probe", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatalf("probe --help: %v\n%s", err, out.String())
	}
	want := []string{"kubectl access probe [SERVICEACCOUNT]", "the first of 7, 6, 3, 10, 4, 5"}
	for _, line := range strings.Split(exitcode.Help(0, 1, 2, 3, 4, 5, 6, 7, 10, 130), "\n") {
		want = append(want, strings.TrimSpace(line))
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("probe --help does not say %q", w)
		}
	}
}
