package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-access/kubectl-access/pkg/controlplane"
	"github.com/kubectl-access/kubectl-access/pkg/controlplane/authzwebhook"
	"github.com/kubectl-access/kubectl-access/test/harness"
)

// webhookCluster is a second control plane whose kube-apiserver asks a real
// authorization webhook, served by the test, after Node and RBAC: what
// GKE, EKS and AKS do, and what a SelfSubjectRulesReview cannot list.
type webhookCluster struct {
	cp      *controlplane.ControlPlane
	webhook *authzwebhook.Server
	client  kubernetes.Interface
}

func startWebhookCluster(t *testing.T) *webhookCluster {
	t.Helper()
	webhook, err := authzwebhook.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = webhook.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A webhook timeout of 1s keeps the "webhook too slow" case short.
	hook := webhook.AuthorizationWebhook()
	hook.Timeout = time.Second
	cp, err := controlplane.Start(ctx, controlplane.Options{BinDir: controlplane.BinDir(), Dir: filepath.Join(t.TempDir(), "cp"), AuthorizationWebhook: hook})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Stop() })
	cfg, err := clientcmd.BuildConfigFromFlags("", cp.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &webhookCluster{cp: cp, webhook: webhook, client: client}
}

// access runs the plugin against the webhook cluster.
func (w *webhookCluster) access(t *testing.T, args ...string) *harness.Cmd {
	return access(t, args...).WithKubeconfig(w.cp.AdminKubeconfig)
}

// serviceAccount creates namespace ns (if needed) and service account name
// in it, bound to nothing.
func (w *webhookCluster) serviceAccount(t *testing.T, ns, name string) {
	t.Helper()
	ctx := context.Background()
	if _, err := w.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	if _, err := w.client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestWebhookGrants runs whoami where a webhook grants what RBAC does not.
// The expectations are the server's own answers: kubectl auth can-i sent
// with the account's own token.
func TestWebhookGrants(t *testing.T) {
	w := startWebhookCluster(t)
	w.serviceAccount(t, "w", "execer")
	w.serviceAccount(t, "w", "god")
	w.serviceAccount(t, "other", "plain")
	execer := "system:serviceaccount:w:execer"

	canI := func(t *testing.T, sa string, args ...string) string {
		t.Helper()
		token := strings.TrimSpace(w.access(t, "token", sa, "-n", "w").RunOK().Stdout)
		res := kubectl(t, append([]string{"auth", "can-i", "--token", token, "--server", w.cp.Server, "--certificate-authority", w.cp.CAFile}, args...)...).WithKubeconfig("").Run()
		return strings.TrimSpace(res.Stdout)
	}

	t.Run("a right only the webhook grants is found, flagged and fails --fail-on-risk", func(t *testing.T) {
		w.webhook.Reset()
		w.webhook.Allow(authzwebhook.Rule{User: execer, Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "w"})
		if got := canI(t, "execer", "create", "pods", "--subresource=exec", "-n", "w"); got != "yes" {
			reqs := w.webhook.Requests()
			t.Fatalf("kubectl auth can-i says %q: the webhook grant does not hold; last SAR %+v", got, reqs[len(reqs)-1].Spec)
		}
		res := w.access(t, "whoami", "execer", "-n", "w").RunOK()
		if !strings.Contains(res.Stdout, "create pods/exec") || !strings.Contains(res.Stdout, "outside the listed rules") || !strings.Contains(res.Stdout, "allowed by test webhook") {
			t.Errorf("whoami does not show the webhook's grant:\n%s", res.Stdout)
		}
		w.access(t, "whoami", "execer", "-n", "w", "--fail-on-risk").ExpectExit(8, "exec")
		// The verified right has its severity, and obeys the threshold and
		// the exceptions as a listed rule does.
		if res := w.access(t, "whoami", "execer", "-n", "w", "--fail-on-risk=critical").RunOK(); !strings.Contains(res.Stdout, "exec(high)") {
			t.Errorf("the verified exec is not graded high:\n%s", res.Stdout)
		}
		if res := w.access(t, "whoami", "execer", "-n", "w", "--fail-on-risk", "--risk-ignore", "exec:w").RunOK(); !strings.Contains(res.Stdout, "exec(high, accepted)") {
			t.Errorf("the accepted verified exec is not marked accepted:\n%s", res.Stdout)
		}

		rec := decodeVerified(t, w.access(t, "whoami", "execer", "-n", "w", "-o", "json").RunOK().Stdout)
		found := false
		for _, v := range rec.VerifiedActions {
			if v.Action == "create pods/exec" && v.Namespace == "w" {
				found = v.Allowed && v.Verified && !v.CoveredByRules && len(v.Risks) == 1 && v.Risks[0].Check == "exec" && v.Risks[0].Severity == "high"
			}
		}
		if !found {
			t.Errorf("-o json has no verified, allowed, uncovered create pods/exec in w graded exec high: %+v", rec.VerifiedActions)
		}
	})

	t.Run("--explain labels a right only the webhook grants as granted elsewhere", func(t *testing.T) {
		w.webhook.Reset()
		w.webhook.Allow(authzwebhook.Rule{User: execer, Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "w"})
		res := w.access(t, "whoami", "execer", "-n", "w", "--explain", "--check", "create pods/exec", "--check", "create selfsubjectreviews.authentication.k8s.io").RunOK()
		var exec, review string
		for _, line := range strings.Split(res.Stdout, "\n") {
			switch {
			case strings.HasPrefix(line, "create pods/exec "):
				exec = line
			case strings.HasPrefix(line, "create selfsubjectreviews.authentication.k8s.io "):
				review = line
			}
		}
		if !strings.Contains(exec, "granted elsewhere (webhook, Node authorizer or other): allowed by test webhook") {
			t.Errorf("the webhook's grant is not labelled as granted elsewhere: %q\n%s", exec, res.Stdout)
		}
		// The listed rules are RBAC's alone, so "nothing beyond the
		// baseline" is said of them only.
		if want := execer + " holds no listed rule beyond the baseline; the server says the list may be incomplete.\n"; !strings.Contains(res.Stdout, want) {
			t.Errorf("no %q:\n%s", want, res.Stdout)
		}
		// A right RBAC grants, asked the same way, names its binding.
		if !strings.Contains(review, "ClusterRoleBinding system:basic-user → ClusterRole system:basic-user to group system:authenticated") {
			t.Errorf("an RBAC grant is not named: %q\n%s", review, res.Stdout)
		}
		rec := decodeVerified(t, w.access(t, "whoami", "execer", "-n", "w", "--explain", "-o", "json").RunOK().Stdout)
		found := false
		for _, v := range rec.VerifiedActions {
			if v.Action == "create pods/exec" && v.Namespace == "w" {
				found = v.GrantedElsewhere && len(v.GrantedBy) == 0
			}
		}
		if !found {
			t.Errorf("-o json: create pods/exec in w is not grantedElsewhere: %+v", rec.VerifiedActions)
		}
	})

	t.Run("the same account without the grant passes", func(t *testing.T) {
		w.webhook.Reset()
		if got := canI(t, "execer", "create", "pods", "--subresource=exec", "-n", "w"); !strings.HasPrefix(got, "no") {
			t.Fatalf("kubectl auth can-i says %q after the grant is gone", got)
		}
		w.access(t, "whoami", "execer", "-n", "w", "--fail-on-risk").RunOK()
	})

	t.Run("an account the webhook makes all-powerful fails in every namespace of -A", func(t *testing.T) {
		w.webhook.Reset()
		w.webhook.AllowAll("system:serviceaccount:w:god")
		res := w.access(t, "whoami", "god", "-n", "w", "-A", "--fail-on-risk", "-o", "json").ExpectExit(8)
		rec := decodeVerified(t, res.Stdout)
		held := map[string]bool{}
		for _, v := range rec.VerifiedActions {
			if v.Allowed && !v.CoveredByRules && len(v.Checks) > 0 {
				held[v.Namespace] = true
			}
		}
		for _, ns := range rec.Namespaces {
			if !held[ns.Namespace] {
				t.Errorf("namespace %s reviewed, but no risky action found allowed there", ns.Namespace)
			}
		}
	})

	for _, fault := range []struct {
		name  string
		apply func()
	}{
		{"the webhook answers 500", func() { w.webhook.SetFailure(http.StatusInternalServerError) }},
		{"the webhook answers after the apiserver's timeout", func() { w.webhook.SetDelay(3 * time.Second) }},
	} {
		t.Run("--fail-on-risk fails closed when "+fault.name, func(t *testing.T) {
			w.webhook.Reset()
			fault.apply()
			t.Cleanup(w.webhook.Reset)
			w.access(t, "whoami", "plain", "-n", "other", "--fail-on-risk").WithTimeout(5*time.Minute).ExpectExit(9, "could not be verified", "failing closed")
		})
	}

	t.Run("--check with the webhook: one namespace, --namespaces and -A", func(t *testing.T) {
		w.webhook.Reset()
		w.webhook.Allow(authzwebhook.Rule{User: execer, Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "w"})
		for _, args := range [][]string{{"-n", "w"}, {"-n", "w", "--namespaces", "w,other"}, {"-n", "w", "-A"}} {
			res := w.access(t, append([]string{"whoami", "execer", "--check", "create pods/exec", "--check", "delete nodes", "-o", "json"}, args...)...).RunOK()
			rec := decodeVerified(t, res.Stdout)
			answers := map[string]bool{}
			for _, v := range rec.VerifiedActions {
				if v.Requested {
					answers[v.Action+"@"+v.Namespace] = v.Allowed
				}
			}
			if !answers["create pods/exec@w"] || answers["create pods/exec@other"] || answers["delete nodes@"] {
				t.Errorf("whoami %v --check answers %v; want create pods/exec allowed in w only, delete nodes denied", args, answers)
			}
		}
	})
}

// TestCheckWithoutWebhook: --check on a cluster where RBAC tells all, in one
// namespace, with --namespaces and with -A, agrees with kubectl auth can-i
// as the token; and a complete review sends no SelfSubjectAccessReview
// unless asked.
func TestCheckWithoutWebhook(t *testing.T) {
	ns := newNamespace(t)
	other := newNamespace(t)
	createServiceAccount(t, ns, "ci")
	bindRole(t, ns, "ci", rbacv1.PolicyRule{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"configmaps"}})
	token := requestToken(t, ns, "ci")
	for _, args := range [][]string{{"-n", ns}, {"-n", ns, "--namespaces", ns + "," + other}, {"-n", ns, "-A"}} {
		res := access(t, append([]string{"whoami", "ci", "--check", "list configmaps", "-o", "json"}, args...)...).RunOK()
		rec := decodeVerified(t, res.Stdout)
		for _, v := range rec.VerifiedActions {
			want := strings.TrimSpace(kubectl(t, "auth", "can-i", "list", "configmaps", "-n", v.Namespace, "--token", token, "--server", env.cp.Server, "--certificate-authority", env.cp.CAFile).WithKubeconfig("").Run().Stdout) == "yes"
			if v.Allowed != want || (v.Allowed && !v.CoveredByRules) {
				t.Errorf("%v: list configmaps in %s allowed=%v covered=%v; kubectl auth can-i says %v", args, v.Namespace, v.Allowed, v.CoveredByRules, want)
			}
		}
		if len(rec.VerifiedActions) == 0 {
			t.Errorf("%v: no verified action in the record", args)
		}
	}

	before := len(env.audit.RequestURIs(t))
	access(t, "whoami", "ci", "-n", ns).RunOK()
	for _, uri := range env.audit.RequestURIs(t)[before:] {
		if strings.Contains(uri, "selfsubjectaccessreviews") {
			t.Errorf("a complete review sent a SelfSubjectAccessReview: %s", uri)
		}
	}
}

// whoamiRecordWithVerified is the part of the whoami record these tests
// read (decoded leniently: the full record is checked elsewhere).
type whoamiRecordWithVerified struct {
	Namespaces []struct {
		Namespace string `json:"namespace"`
	} `json:"namespaces"`
	VerifiedActions []struct {
		Namespace      string   `json:"namespace"`
		Action         string   `json:"action"`
		Allowed        bool     `json:"allowed"`
		Verified       bool     `json:"verified"`
		CoveredByRules bool     `json:"coveredByRules"`
		Checks         []string `json:"checks"`
		Risks          []struct {
			Check    string `json:"check"`
			Severity string `json:"severity"`
			Accepted bool   `json:"accepted"`
		} `json:"risks"`
		Requested        bool  `json:"requested"`
		GrantedElsewhere bool  `json:"grantedElsewhere"`
		GrantedBy        []any `json:"grantedBy"`
	} `json:"verifiedActions"`
}

func decodeVerified(t *testing.T, stdout string) whoamiRecordWithVerified {
	t.Helper()
	var rec whoamiRecordWithVerified
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatalf("whoami -o json: %v\n%s", err, stdout)
	}
	return rec
}
