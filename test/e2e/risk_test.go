package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The risk catalog on the real control plane: every new check is found,
// with its severity, for an account that really holds the right (asked of
// the server with the account's own token, never taken from the plugin),
// and --fail-on-risk's thresholds and exceptions decide the exit code.

// riskGrant is a right given to a fresh service account: rules in a Role of
// a namespace, or in a ClusterRole bound cluster-wide.
type riskGrant struct {
	// namespace is where the Role goes: "" for the test's namespace,
	// "-" for a ClusterRole and a ClusterRoleBinding.
	namespace string
	rules     []rbacv1.PolicyRule
}

// grantRules binds the rules of each grant to the service account ns/sa.
// Every object outside ns is deleted when the test ends.
func grantRules(t *testing.T, ns, sa string, grants ...riskGrant) {
	t.Helper()
	ctx := context.Background()
	client := adminClient(t)
	for _, g := range grants {
		name := "e2e-risk-" + sa + "-" + randomSuffix()
		if g.namespace == "-" {
			if _, err := client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: g.rules}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = client.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{}) })
			bindTo(t, "", rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}, ns, sa)
			continue
		}
		roleNS := g.namespace
		if roleNS == "" {
			roleNS = ns
		}
		if _, err := client.RbacV1().Roles(roleNS).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: g.rules}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := createRoleBinding(ctx, client, roleNS, name, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}, ns, sa); err != nil {
			t.Fatal(err)
		}
		if roleNS != ns {
			t.Cleanup(func() {
				_ = client.RbacV1().RoleBindings(roleNS).Delete(context.Background(), name, metav1.DeleteOptions{})
				_ = client.RbacV1().Roles(roleNS).Delete(context.Background(), name, metav1.DeleteOptions{})
			})
		}
	}
}

// canIAs asks kubectl auth can-i with the service account's own token
// alone: the truth the plugin's findings are held to.
func canIAs(t *testing.T, token string, args ...string) string {
	t.Helper()
	res := kubectl(t, append([]string{"auth", "can-i", "--token", token, "--server", env.cp.Server, "--certificate-authority", env.cp.CAFile}, args...)...).WithKubeconfig("").Run()
	return strings.TrimSpace(res.Stdout)
}

func pr(groups, resources, verbs []string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs, ResourceNames: names}
}

func ls(v ...string) []string { return v }

// TestRiskChecks: one case per new check and per weight, in one
// namespace. Each binds the right to a fresh service account, proves with
// the account's own token that it holds, and finds the check with its
// severity in whoami -o json.
func TestRiskChecks(t *testing.T) {
	ns := newNamespace(t)
	core, certs, adm := ls(""), ls("certificates.k8s.io"), ls("admissionregistration.k8s.io")
	cases := []struct {
		name   string
		grants []riskGrant
		// review is where whoami reviews: the test's namespace if "".
		review string
		// canI is a kubectl auth can-i question that must answer yes.
		canI []string
		// want is "check severity", want note a part of its severityNote.
		want, wantNote string
	}{
		{name: "ephemeral-containers", grants: []riskGrant{{rules: []rbacv1.PolicyRule{pr(core, ls("pods/ephemeralcontainers"), ls("patch"))}}},
			canI: ls("patch", "pods", "--subresource=ephemeralcontainers"), want: "ephemeral-containers high"},
		{name: "approve-csr", grants: []riskGrant{{namespace: "-", rules: []rbacv1.PolicyRule{
			pr(certs, ls("certificatesigningrequests/approval"), ls("update")),
			pr(certs, ls("signers"), ls("approve"), "kubernetes.io/kube-apiserver-client")}}},
			canI: ls("update", "certificatesigningrequests.certificates.k8s.io", "--subresource=approval"), want: "approve-csr critical"},
		{name: "write-secrets", grants: []riskGrant{{rules: []rbacv1.PolicyRule{pr(core, ls("secrets"), ls("create"))}}},
			canI: ls("create", "secrets"), want: "write-secrets high"},
		{name: "pod-stealing", grants: []riskGrant{
			{namespace: "-", rules: []rbacv1.PolicyRule{pr(core, ls("nodes"), ls("patch"))}},
			{rules: []rbacv1.PolicyRule{pr(core, ls("pods/eviction"), ls("create"))}}},
			canI: ls("patch", "nodes"), want: "pod-stealing high"},
		{name: "write-status of nodes", grants: []riskGrant{{namespace: "-", rules: []rbacv1.PolicyRule{pr(core, ls("nodes/status"), ls("patch"))}}},
			canI: ls("patch", "nodes", "--subresource=status"), want: "write-status medium"},
		{name: "write-status of pods", grants: []riskGrant{{rules: []rbacv1.PolicyRule{pr(core, ls("pods/status"), ls("update"))}}},
			canI: ls("update", "pods", "--subresource=status"), want: "write-status medium"},
		{name: "write-crds", grants: []riskGrant{{namespace: "-", rules: []rbacv1.PolicyRule{pr(ls("apiextensions.k8s.io"), ls("customresourcedefinitions"), ls("create"))}}},
			canI: ls("create", "customresourcedefinitions.apiextensions.k8s.io"), want: "write-crds medium"},
		{name: "write-admission-policies", grants: []riskGrant{{namespace: "-", rules: []rbacv1.PolicyRule{
			pr(adm, ls("validatingadmissionpolicies", "validatingadmissionpolicybindings", "mutatingadmissionpolicies", "mutatingadmissionpolicybindings"), ls("delete"))}}},
			canI: ls("delete", "validatingadmissionpolicies.admissionregistration.k8s.io"), want: "write-admission-policies high"},
		{name: "create-persistentvolumes", grants: []riskGrant{{namespace: "-", rules: []rbacv1.PolicyRule{pr(core, ls("persistentvolumes"), ls("create"))}}},
			canI: ls("create", "persistentvolumes"), want: "create-persistentvolumes high"},
		{name: "write-aws-auth", grants: []riskGrant{{namespace: "kube-system", rules: []rbacv1.PolicyRule{pr(core, ls("configmaps"), ls("update"), "aws-auth")}}},
			review: "kube-system", canI: ls("update", "configmaps/aws-auth", "-n", "kube-system"), want: "write-aws-auth critical"},
		{name: "read-secrets of kube-system is raised", grants: []riskGrant{{namespace: "kube-system", rules: []rbacv1.PolicyRule{pr(core, ls("secrets"), ls("list"))}}},
			review: "kube-system", canI: ls("list", "secrets", "-n", "kube-system"), want: "read-secrets critical", wantNote: "raised from high: in namespace kube-system"},
		{name: "read-secrets narrowed by resourceNames is lowered", grants: []riskGrant{{rules: []rbacv1.PolicyRule{pr(core, ls("secrets"), ls("get"), "app-tls")}}},
			canI: ls("get", "secrets/app-tls"), want: "read-secrets medium", wantNote: "lowered from high: the rule is narrowed by resourceNames to app-tls"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sa := fmt.Sprintf("risk-%d", i)
			createServiceAccount(t, ns, sa)
			grantRules(t, ns, sa, tc.grants...)
			token := requestToken(t, ns, sa)
			question := tc.canI
			if !slices.Contains(question, "-n") {
				question = append(question, "-n", ns)
			}
			if got := canIAs(t, token, question...); got != "yes" {
				t.Fatalf("kubectl auth can-i %v with the account's token says %q: the right does not hold", question, got)
			}
			args := []string{"whoami", sa, "-n", ns, "-o", "json"}
			if tc.review != "" {
				args = append(args, "--namespaces", tc.review)
			}
			rec := parseWhoami(t, access(t, args...).RunOK().Stdout)
			var found []string
			ok := false
			for _, r := range rec.Risks {
				found = append(found, r.Check+" "+r.Severity+" ("+r.SeverityNote+")")
				if r.Check+" "+r.Severity == tc.want && strings.Contains(r.SeverityNote, tc.wantNote) && r.Reason != "" && !r.Accepted {
					ok = true
				}
			}
			if !ok {
				t.Errorf("whoami %s -o json risks = %v, want %q (note %q)", sa, found, tc.want, tc.wantNote)
			}
		})
	}
}

// TestRiskThresholdsAndExceptions: --fail-on-risk compares severities, an
// exception accepts a finding (printed as accepted, not counted), and bad
// values of the new flags are refused before any request.
func TestRiskThresholdsAndExceptions(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "reader")
	grantRules(t, ns, "reader", riskGrant{rules: []rbacv1.PolicyRule{pr(ls(""), ls("secrets"), ls("get", "list"))}})
	createServiceAccount(t, ns, "boss")
	bindTo(t, "", rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"}, ns, "boss")
	if got := canIAs(t, requestToken(t, ns, "reader"), "list", "secrets", "-n", ns); got != "yes" {
		t.Fatalf("reader may not list secrets (%q): the cases below would prove nothing", got)
	}

	t.Run("only high findings pass --fail-on-risk=critical and fail plain --fail-on-risk", func(t *testing.T) {
		res := access(t, "whoami", "reader", "-n", ns, "--fail-on-risk=critical").RunOK()
		if row := tableRow(t, res.Stdout, "secrets"); row[5] != "read-secrets(high)" {
			t.Errorf("secrets row = %q, want read-secrets(high)", row)
		}
		access(t, "whoami", "reader", "-n", ns, "--fail-on-risk").ExpectExit(8, "--fail-on-risk=high", "read-secrets")
		access(t, "whoami", "reader", "-n", ns, "--fail-on-risk=true").ExpectExit(8, "--fail-on-risk=high")
		access(t, "whoami", "boss", "-n", ns, "--fail-on-risk=false").RunOK()
	})

	t.Run("cluster-admin fails --fail-on-risk=critical", func(t *testing.T) {
		access(t, "whoami", "boss", "-n", ns, "--fail-on-risk=critical").ExpectExit(8, "--fail-on-risk=critical", "admin")
	})

	t.Run("an exceptions file accepts a finding, which is printed as accepted", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "exceptions.yaml")
		content := "apiVersion: access.kubectl-access.io/v1alpha1\nkind: RiskExceptions\nexceptions:\n- check: read-secrets\n  namespace: " + ns +
			"\n  serviceAccount: " + ns + "/reader\n  reason: reader backs up the Secrets\n"
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		res := access(t, "whoami", "reader", "-n", ns, "--fail-on-risk", "--risk-exceptions", file).RunOK()
		if row := tableRow(t, res.Stdout, "secrets"); row[5] != "read-secrets(high, accepted)" {
			t.Errorf("secrets row = %q, want read-secrets(high, accepted)", row)
		}
		if !strings.Contains(res.Stdout, "ACCEPTED") || !strings.Contains(res.Stdout, "reader backs up the Secrets") {
			t.Errorf("the output does not list the accepted finding with its reason:\n%s", res.Stdout)
		}
		rec := parseWhoami(t, access(t, "whoami", "reader", "-n", ns, "-o", "json", "--fail-on-risk", "--risk-exceptions", file).RunOK().Stdout)
		if len(rec.Risks) == 0 {
			t.Fatal("no risks in -o json: the accepted finding is hidden")
		}
		for _, r := range rec.Risks {
			if !r.Accepted || r.AcceptedReason != "reader backs up the Secrets" || r.Severity != "high" {
				t.Errorf("risk %+v, want it accepted with the file's reason", r)
			}
		}
		// The same file does not accept the findings of another account.
		access(t, "whoami", "boss", "-n", ns, "--fail-on-risk", "--risk-exceptions", file).ExpectExit(8, "admin")
		// --risk-ignore accepts too, in the namespace it names only.
		access(t, "whoami", "reader", "-n", ns, "--fail-on-risk", "--risk-ignore", "read-secrets:"+ns).RunOK()
		access(t, "whoami", "reader", "-n", ns, "--fail-on-risk", "--risk-ignore", "read-secrets:elsewhere").ExpectExit(8, "read-secrets")
	})

	t.Run("bad values are refused before any request", func(t *testing.T) {
		dir := t.TempDir()
		bad := filepath.Join(dir, "bad.yaml")
		if err := os.WriteFile(bad, []byte("apiVersion: access.kubectl-access.io/v1alpha1\nkind: RiskExceptions\nexceptions:\n- check: exec\n  reason: x\n  expires: tomorrow\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		sa := "refused-" + randomSuffix()
		uri := "/api/v1/namespaces/" + ns + "/serviceaccounts/" + sa
		before := countURI(env.audit.RequestURIs(t), uri)
		expectRefusals(t, []refusal{
			{"an unknown severity", []string{"whoami", sa, "-n", ns, "--fail-on-risk=severe"}, "", 2, []string{"--fail-on-risk", "critical, high, medium, low"}},
			{"an unknown check", []string{"whoami", sa, "-n", ns, "--risk-ignore", "root"}, "", 2, []string{"--risk-ignore", `unknown check "root"`}},
			{"a missing exceptions file", []string{"whoami", sa, "-n", ns, "--risk-exceptions", filepath.Join(dir, "missing.yaml")}, "", 2, []string{"--risk-exceptions", "no such file"}},
			{"an unknown field", []string{"whoami", sa, "-n", ns, "--risk-exceptions", bad}, "", 2, []string{"--risk-exceptions", "line 6: unknown field expires"}},
		})
		if after := countURI(env.audit.RequestURIs(t), uri); after != before {
			t.Errorf("a refused run sent %d requests for service account %s", after-before, sa)
		}
	})
}
