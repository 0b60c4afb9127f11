package cmd

import (
	"bytes"
	"encoding/json"
	"flag"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
)

// execute runs the plugin in-process with an empty kubeconfig, so nothing
// can reach a cluster.
func execute(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	t.Setenv("KUBECONFIG", t.TempDir()+"/missing")
	code = Execute(args, streams)
	return out.String(), errOut.String(), code
}

func TestExecuteUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"bogus"}, `unknown command "bogus" for "kubectl access"`},
		{"unknown flag", []string{"token", "--bogus"}, "unknown flag: --bogus"},
		{"short duration", []string{"token", "--duration=5m"}, "--duration must be at least 10m0s"},
		{"bad duration", []string{"token", "--duration=soon"}, `invalid argument "soon" for "--duration"`},
		{"unknown source", []string{"token", "--source=vault"}, "--source must be one of auto, secret, request"},
		{"unknown output", []string{"token", "-o", "xml"}, "--output must be one of json, yaml, exec-credential"},
		{"claims with exec-credential", []string{"token", "--claims", "-o", "exec-credential"}, "--claims cannot be used with --output=exec-credential"},
		{"mounted with a service account", []string{"token", "ci", "--source=mounted"}, "--source=mounted prints the pod's own token"},
		{"too many arguments", []string{"token", "a", "b"}, "accepts at most 1 argument(s), got 2"},
		{"version output", []string{"version", "-o", "xml"}, `--output must be one of json, yaml (got "xml")`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := execute(t, tc.args...)
			if code != exitcode.Usage {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, exitcode.Usage, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if !strings.HasPrefix(stderr, "error: ") || strings.Count(stderr, "error: ") != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr = %q, want one error line containing %q", stderr, tc.want)
			}
		})
	}
}

func TestExecuteVersion(t *testing.T) {
	stdout, stderr, code := execute(t, "version", "-o", "json")
	if code != 0 || stderr != "" {
		t.Fatalf("version -o json: exit %d, stderr %q", code, stderr)
	}
	var info map[string]string
	if err := json.Unmarshal([]byte(stdout), &info); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "commit", "buildDate", "goVersion", "platform"} {
		if info[k] == "" {
			t.Errorf("version record has no %q: %v", k, info)
		}
	}
}

// keepVerbosity restores klog's -v when the test ends: it is process-wide,
// and a level left at 7 would make every later test log requests.
func keepVerbosity(t *testing.T) flag.Value {
	t.Helper()
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	v := fs.Lookup("v").Value
	old := v.String()
	t.Cleanup(func() { _ = v.Set(old) })
	return v
}

func TestVerbosityIsCapped(t *testing.T) {
	v := keepVerbosity(t)
	_, stderr, code := execute(t, "version", "-v=10")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "-v=10 lowered to 7") {
		t.Errorf("stderr = %q, want a warning that -v was lowered", stderr)
	}
	if got := v.String(); got != "7" {
		t.Errorf("klog's -v is %s, want 7", got)
	}
}

func TestHelpReadsKubectlAccess(t *testing.T) {
	stdout, _, code := execute(t, "token", "--help")
	if code != 0 || !strings.Contains(stdout, "kubectl access token [SERVICEACCOUNT]") || !strings.Contains(stdout, "the oldest wins") {
		t.Errorf("token --help (exit %d) does not read as kubectl access or lacks the Secret choice rule:\n%s", code, stdout)
	}
}

func TestTokenFileClaims(t *testing.T) {
	var out, errOut bytes.Buffer
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YnVpbGQ6Y2kifQ.c2ln"
	streams := genericiooptions.IOStreams{In: strings.NewReader(jwt + "\n"), Out: &out, ErrOut: &errOut}
	t.Setenv("KUBECONFIG", t.TempDir()+"/missing")
	if code := Execute([]string{"token", "--token-file", "-", "--claims"}, streams); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), `"sub": "system:serviceaccount:build:ci"`) {
		t.Errorf("claims = %s", out.String())
	}

	out.Reset()
	errOut.Reset()
	streams.In = strings.NewReader("static-token-abc\n")
	if code := Execute([]string{"token", "--token-file", "-", "--claims"}, streams); code != exitcode.Error {
		t.Errorf("non-JWT --claims: exit %d, want %d", code, exitcode.Error)
	}
	if msg := errOut.String(); !strings.Contains(msg, "not a JWT") || strings.Contains(msg, "static-token-abc") {
		t.Errorf("non-JWT --claims: stderr %q, want a clear error without the token", msg)
	}
}

func TestTokenFileConflicts(t *testing.T) {
	for _, args := range [][]string{
		{"token", "ci", "--token-file", "-"},
		{"token", "--token-file", "-", "--source=secret"},
		{"token", "--token-file="},
	} {
		if _, stderr, code := execute(t, args...); code != exitcode.Usage || !strings.Contains(stderr, "--token-file") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error naming --token-file", args, code, stderr)
		}
	}
}
