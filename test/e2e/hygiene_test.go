package e2e

import (
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-access/kubectl-access/test/harness"
)

// hygieneCommands are run by TestNoTokenInDiagnostics, each as the
// arguments after "kubectl access", with SA and NS standing for the service
// account and namespace of the test, TOKENFILE for a file holding its token.
var hygieneCommands = []struct {
	args []string
	// tokenOnStdout is true where printing the token is the command's job.
	tokenOnStdout bool
}{
	{args: []string{"token", "SA", "-n", "NS"}, tokenOnStdout: true},
	{args: []string{"token", "SA", "-n", "NS", "-o", "yaml"}, tokenOnStdout: true},
	{args: []string{"token", "SA", "-n", "NS", "--claims"}},
	{args: []string{"probe", "SA", "-n", "NS", "--path", "/api", "--path", "/api/v1/namespaces/kube-system/secrets", "--body"}},
	{args: []string{"probe", "--token-file", "TOKENFILE", "-n", "NS", "-o", "json"}},
	{args: []string{"kubeconfig", "SA", "-n", "NS"}, tokenOnStdout: true},
	{args: []string{"whoami", "SA", "-n", "NS"}},
	{args: []string{"whoami", "--token-file", "TOKENFILE", "-A", "-o", "yaml"}},
	{args: []string{"check", "SA", "-n", "NS", "--allow", "get pods", "--deny", "get secrets", "-o", "yaml"}},
	{args: []string{"check", "SA", "-n", "NS", "--generate"}},
	// audit mints a TokenRequest token per account, which the test never
	// sees: jwtShape catches it.
	{args: []string{"audit", "-n", "NS"}},
	{args: []string{"audit", "-n", "NS", "-o", "json", "--explain", "--verify"}},
}

// jwtShape matches any JSON Web Token (header and claims, both JSON objects
// in base64url): what a service account token, minted or not, looks like.
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}`)

// TestNoTokenInDiagnostics runs every command at the highest verbosity the
// plugin accepts (-v=10 is lowered to 7) and checks that neither the token
// nor its base64 form appears on stderr, nor on stdout where the command's
// job is not to print it; nor any other token (one the command minted).
func TestNoTokenInDiagnostics(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "hygiene")
	secret := createTokenSecret(t, ns, "hygiene", "hygiene-token")
	token := string(secret.Data[corev1.ServiceAccountTokenKey])
	tokenFile := writeTokenFile(t, token)
	replacer := strings.NewReplacer("SA", "hygiene", "NS", ns, "TOKENFILE", tokenFile)

	for _, c := range hygieneCommands {
		args := make([]string, 0, len(c.args)+1)
		for _, a := range c.args {
			args = append(args, replacer.Replace(a))
		}
		args = append(args, "-v=10")
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			res := access(t, args...).Run()
			if !strings.Contains(res.Stderr, `"Request" verb=`) {
				t.Fatalf("no request logged at -v=10 (exit %d): the check would prove nothing\n%s", res.Code, res.Stderr)
			}
			harness.AssertNoSecretLeak(t, "stderr", res.Stderr, token)
			if m := jwtShape.FindString(res.Stderr); m != "" {
				t.Errorf("stderr holds a token-shaped string (%d characters; not shown)", len(m))
			}
			if !c.tokenOnStdout {
				if m := jwtShape.FindString(res.Stdout); m != "" {
					t.Errorf("stdout holds a token-shaped string (%d characters; not shown)", len(m))
				}
				harness.AssertNoSecretLeak(t, "stdout", res.Stdout, token)
			} else if !strings.Contains(res.Stdout, token) {
				t.Errorf("stdout does not hold the token it should print")
			}
		})
	}
}
