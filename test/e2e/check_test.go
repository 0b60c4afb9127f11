package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	junit "github.com/joshdk/go-junit"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubectl-access/kubectl-access/pkg/controlplane/authzwebhook"
	"github.com/kubectl-access/kubectl-access/test/harness"
)

// checkRecord is check's documented -o json record.
type checkRecord struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Summary    struct {
		Expectations int `json:"expectations"`
		Held         int `json:"held"`
		Failed       int `json:"failed"`
		Undecided    int `json:"undecided"`
	} `json:"summary"`
	Results []checkResult `json:"results"`
}

type checkResult struct {
	Subject         string `json:"subject"`
	Action          string `json:"action"`
	Namespace       string `json:"namespace"`
	Expected        string `json:"expected"`
	Got             string `json:"got"`
	Result          string `json:"result"`
	Reason          string `json:"reason"`
	EvaluationError string `json:"evaluationError"`
	Error           string `json:"error"`
	Source          string `json:"source"`
}

// canIArgs turns one of check's one-line actions into the arguments of
// kubectl auth can-i: "get deployments/scale.apps web" becomes "get
// deployments.apps/web --subresource=scale".
func canIArgs(t *testing.T, action, namespace string) []string {
	t.Helper()
	words := strings.Fields(action)
	verb, target := words[0], words[1]
	if strings.HasPrefix(target, "/") {
		return []string{verb, target}
	}
	resourceAndSub, group, _ := strings.Cut(target, ".")
	resource, sub, _ := strings.Cut(resourceAndSub, "/")
	what := resource
	if group != "" {
		what += "." + group
	}
	if len(words) == 3 {
		what += "/" + words[2]
	}
	args := []string{verb, what}
	if sub != "" {
		args = append(args, "--subresource="+sub)
	}
	if namespace == "" {
		return append(args, "--all-namespaces")
	}
	return append(args, "-n", namespace)
}

// canIWithToken asks the real kubectl auth can-i, with token alone (no
// kubeconfig, no impersonation), and returns its answer.
func canIWithToken(t *testing.T, server, caFile, token string, args ...string) bool {
	t.Helper()
	res := kubectl(t, append([]string{"auth", "can-i", "--token", token, "--server", server, "--certificate-authority", caFile}, args...)...).WithKubeconfig("").Run()
	answer := strings.TrimSpace(res.Stdout)
	switch {
	case answer == "yes" && res.Code == 0:
		return true
	case strings.HasPrefix(answer, "no") && res.Code == 1:
		return false
	}
	t.Fatalf("kubectl auth can-i %v: exit %d, %q\n%s", args, res.Code, res.Stdout, res.Stderr)
	return false
}

// writeFile writes content into a file of the test's temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCheck checks a file of three service accounts, with allow and deny
// lists over several namespaces, subresources, names and non-resource
// URLs, and holds every result to the server's own answer: kubectl auth
// can-i sent with that account's own token, cell by cell.
func TestCheck(t *testing.T) {
	a, b, c := newNamespace(t), newNamespace(t), newNamespace(t)
	createServiceAccount(t, a, "reader")
	createServiceAccount(t, a, "deployer")
	createServiceAccount(t, b, "auditor")

	bindRole(t, a, "reader", rbacv1.PolicyRule{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"configmaps", "pods/log"}})
	if err := grantRole(context.Background(), adminClient(t), b, "reader-secret", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"app-config"}}, a, "reader"); err != nil {
		t.Fatal(err)
	}
	deploy := createClusterRole(t,
		rbacv1.PolicyRule{Verbs: []string{"get", "update"}, APIGroups: []string{"apps"}, Resources: []string{"deployments", "deployments/scale"}},
		rbacv1.PolicyRule{Verbs: []string{"create"}, APIGroups: []string{""}, Resources: []string{"pods/exec"}})
	bindTo(t, a, deploy, a, "deployer")
	bindTo(t, c, deploy, a, "deployer")
	metrics := createClusterRole(t,
		rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/metrics"}},
		rbacv1.PolicyRule{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"namespaces"}})
	bindTo(t, "", metrics, b, "auditor")

	// Two expectations fail on purpose: reader may not delete configmaps,
	// and deployer may get deployments in c.
	doc := fmt.Sprintf(`apiVersion: access.kubectl-access.io/v1alpha1
kind: AccessExpectations
expectations:
- subjects: [%[1]s/reader]
  namespaces: [%[1]s, %[2]s, %[3]s]
  allow:
  - get configmaps -n %[1]s
  - get pods/log -n %[1]s
  - {verb: get, resource: secrets, name: app-config, namespaces: [%[2]s]}
  - delete configmaps -n %[1]s
  deny:
  - get secrets
  - get secrets other -n %[2]s
  - get /metrics
- subjects: [%[1]s/deployer]
  namespaces: [%[1]s, %[3]s]
  allow:
  - update deployments/scale.apps web
  - create pods/exec
  deny:
  - get deployments.apps -n %[3]s
  - delete deployments.apps
  - create pods/attach
- subjects: [%[2]s/auditor]
  namespaces: [%[1]s, %[2]s]
  allow:
  - get /metrics
  - list namespaces
  deny:
  - get /logs
  - get configmaps
  - list nodes
`, a, b, c)
	file := writeFile(t, "expectations.yaml", doc)
	report := filepath.Join(t.TempDir(), "report.xml")

	res := access(t, "check", "-f", file, "-o", "json", "--junit", report).ExpectExit(11, "expectations, ", "2 failed")
	rec := decodeRecord[checkRecord](t, "check", res.Stdout)
	if rec.APIVersion != "access.kubectl-access.io/v1alpha1" || rec.Kind != "AccessCheck" {
		t.Errorf("record is %s %s", rec.APIVersion, rec.Kind)
	}
	// reader: 4 allowed, and denied "get secrets" in three namespaces, one
	// named Secret and /metrics once; deployer: two actions in two
	// namespaces allowed, denied one action in c and two in both; auditor:
	// the URLs and cluster-scoped resources once, configmaps in two
	// namespaces.
	if want := (4 + 3 + 1 + 1) + (2*2 + 1 + 2*2) + (1 + 1 + 1 + 2 + 1); rec.Summary.Expectations != want || len(rec.Results) != want {
		t.Errorf("%d expectations (%d results), want %d", rec.Summary.Expectations, len(rec.Results), want)
	}

	tokens := map[string]string{}
	tokenOf := func(subject string) string {
		if tokens[subject] == "" {
			ns, name, _ := strings.Cut(subject, "/")
			tokens[subject] = requestToken(t, ns, name)
		}
		return tokens[subject]
	}
	var failed []string
	for _, r := range rec.Results {
		want := canIWithToken(t, env.cp.Server, env.cp.CAFile, tokenOf(r.Subject), canIArgs(t, r.Action, r.Namespace)...)
		gotAllowed := r.Got == "allowed"
		if r.Got == "" || gotAllowed != want {
			t.Errorf("%s %s in %q: check got %q, kubectl auth can-i with the account's own token says allowed=%v", r.Subject, r.Action, r.Namespace, r.Got, want)
		}
		wantResult := "held"
		if want != (r.Expected == "allow") {
			wantResult = "failed"
			failed = append(failed, r.Subject+" "+r.Expected+" "+r.Action+" "+r.Namespace)
		}
		if r.Result != wantResult {
			t.Errorf("%s %s %s in %q: result %q, want %q", r.Subject, r.Expected, r.Action, r.Namespace, r.Result, wantResult)
		}
		if !strings.HasPrefix(r.Source, file+":") {
			t.Errorf("%s %s: source %q is not a line of %s", r.Subject, r.Action, r.Source, file)
		}
	}
	sort.Strings(failed)
	wantFailed := []string{a + "/deployer deny get deployments.apps " + c, a + "/reader allow delete configmaps " + a}
	if strings.Join(failed, "\n") != strings.Join(wantFailed, "\n") {
		t.Errorf("failed expectations:\n%s\nwant:\n%s", strings.Join(failed, "\n"), strings.Join(wantFailed, "\n"))
	}
	if rec.Summary.Failed != 2 || rec.Summary.Held != rec.Summary.Expectations-2 || rec.Summary.Undecided != 0 {
		t.Errorf("summary %+v", rec.Summary)
	}

	t.Run("the JUnit report is read by a JUnit parser and shows the failures", func(t *testing.T) {
		suites, err := junit.IngestFile(report)
		if err != nil {
			t.Fatalf("go-junit cannot read the report: %v", err)
		}
		var failures []string
		total := 0
		for _, s := range suites {
			for _, tc := range s.Tests {
				total++
				switch tc.Status {
				case junit.StatusPassed:
				case junit.StatusFailed:
					failures = append(failures, tc.Classname+" "+tc.Name)
					if !strings.Contains(tc.Message, "expected") {
						t.Errorf("failure of %s has message %q", tc.Name, tc.Message)
					}
				default:
					t.Errorf("testcase %s is %s", tc.Name, tc.Status)
				}
			}
		}
		sort.Strings(failures)
		want := []string{a + "/deployer deny get deployments.apps in " + c, a + "/reader allow delete configmaps in " + a}
		if strings.Join(failures, "\n") != strings.Join(want, "\n") || total != rec.Summary.Expectations {
			t.Errorf("%d testcases, failures:\n%s\nwant %d, failures:\n%s", total, strings.Join(failures, "\n"), rec.Summary.Expectations, strings.Join(want, "\n"))
		}
	})

	t.Run("the table shows each failure with FAIL and the summary is on stderr", func(t *testing.T) {
		res := access(t, "check", "-f", file).ExpectExit(11)
		if !strings.HasPrefix(res.Stdout, "SUBJECT") || strings.Count(res.Stdout, " FAIL ") != 2 {
			t.Errorf("table:\n%s", res.Stdout)
		}
		summary := fmt.Sprintf("%d expectations, %d held, 2 failed\n", rec.Summary.Expectations, rec.Summary.Expectations-2)
		if !strings.Contains(res.Stderr, summary) {
			t.Errorf("stderr lacks %q:\n%s", summary, res.Stderr)
		}
	})

	t.Run("inline expectations, and a file from stdin", func(t *testing.T) {
		access(t, "check", "reader", "-n", a, "--allow", "list configmaps", "--deny", "get secrets").RunOK()
		access(t, "check", "reader", "-n", a, "--namespaces", a+","+b, "--allow", "list configmaps").ExpectExit(11, "allow list configmaps in "+b)
		res := access(t, "check", "-f", "-").WithStdin(strings.Replace(doc, "  - delete configmaps -n "+a+"\n", "", 1)).ExpectExit(11)
		if strings.Count(res.Stdout, " FAIL ") != 1 {
			t.Errorf("stdin document: want one failure:\n%s", res.Stdout)
		}
	})

	t.Run("a missing subject is undecided, the others still run", func(t *testing.T) {
		missing := writeFile(t, "missing.yaml", fmt.Sprintf(`apiVersion: access.kubectl-access.io/v1alpha1
kind: AccessExpectations
expectations:
- subjects: [%[1]s/ghost, %[1]s/reader]
  allow: [get configmaps]
`, a))
		res := access(t, "check", "-f", missing, "-o", "json").ExpectExit(1, "undecided", "ghost")
		rec := decodeRecord[checkRecord](t, "check", res.Stdout)
		byResult := map[string]string{}
		for _, r := range rec.Results {
			byResult[r.Subject] = r.Result
		}
		if byResult[a+"/ghost"] != "undecided" || byResult[a+"/reader"] != "held" {
			t.Errorf("results %+v", rec.Results)
		}
		if !strings.Contains(res.Stderr, "2 expectations, 1 held, 0 failed, 1 undecided") {
			t.Errorf("stderr:\n%s", res.Stderr)
		}
	})

	t.Run("a namespace selector that matches nothing is reported", func(t *testing.T) {
		sel := writeFile(t, "selector.yaml", fmt.Sprintf(`apiVersion: access.kubectl-access.io/v1alpha1
kind: AccessExpectations
expectations:
- subjects: [%s/reader]
  namespaceSelector: "no-such-label-%s=yes"
  deny: [get secrets]
`, a, randomSuffix()))
		access(t, "check", "-f", sel).ExpectExit(1, "matches no namespace", "undecided")
	})

	t.Run("an unknown verb is warned about and still asked", func(t *testing.T) {
		res := access(t, "check", "reader", "-n", a, "--deny", "frobnicate configmaps").RunOK()
		if !strings.Contains(res.Stderr, `verb "frobnicate" is not a known verb`) {
			t.Errorf("no warning:\n%s", res.Stderr)
		}
	})
}

// TestCheckGenerate generates a document from an account's rules, checks
// it at once (it holds), removes a RoleBinding, and checks it again: the
// rights the binding granted fail, by name.
func TestCheckGenerate(t *testing.T) {
	a, b := newNamespace(t), newNamespace(t)
	createServiceAccount(t, a, "app")
	bindRole(t, a, "app", rbacv1.PolicyRule{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"configmaps"}})
	role := createClusterRole(t,
		rbacv1.PolicyRule{Verbs: []string{"update"}, APIGroups: []string{"apps"}, Resources: []string{"deployments/scale"}, ResourceNames: []string{"web"}},
		rbacv1.PolicyRule{Verbs: []string{"*"}, APIGroups: []string{"batch"}, Resources: []string{"*"}})
	bindTo(t, b, role, a, "app")

	generated := access(t, "check", "app", "-n", a, "--namespaces", a+","+b, "--generate").RunOK().Stdout
	for _, want := range []string{`"get configmaps"`, `"update deployments/scale.apps web"`, `"* *.batch"`, "kind: AccessExpectations"} {
		if !strings.Contains(generated, want) {
			t.Errorf("the generated document lacks %s:\n%s", want, generated)
		}
	}
	file := writeFile(t, "generated.yaml", generated)
	res := access(t, "check", "-f", file).RunOK()
	if !strings.Contains(res.Stderr, " held, 0 failed") {
		t.Errorf("stderr:\n%s", res.Stderr)
	}

	client := adminClient(t)
	bindings, err := client.RbacV1().RoleBindings(a).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	removed := 0
	for _, rb := range bindings.Items {
		if len(rb.Subjects) == 1 && rb.Subjects[0].Name == "app" {
			if err := client.RbacV1().RoleBindings(a).Delete(context.Background(), rb.Name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			removed++
		}
	}
	if removed != 1 {
		t.Fatalf("removed %d RoleBindings of app, want 1", removed)
	}
	var last harness.Result
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		last = access(t, "check", "-f", file).Run()
		return last.Code == 11, nil
	})
	if err != nil {
		t.Fatalf("the check still passes after the RoleBinding is gone: exit %d\n%s\n%s", last.Code, last.Stdout, last.Stderr)
	}
	var fails []string
	for _, line := range strings.Split(last.Stdout, "\n") {
		if strings.Contains(line, " FAIL ") {
			fails = append(fails, strings.Join(strings.Fields(line)[1:3], " "))
		}
	}
	sort.Strings(fails)
	if want := []string{"get configmaps", "list configmaps"}; strings.Join(fails, ",") != strings.Join(want, ",") {
		t.Errorf("failures %q, want %q:\n%s", fails, want, last.Stdout)
	}
	if !strings.Contains(last.Stderr, "2 failed") || !strings.Contains(last.Stderr, "get configmaps") {
		t.Errorf("stderr does not name the removed rights:\n%s", last.Stderr)
	}
}

// TestBadInputCheck refuses malformed documents with exit 2, their file and
// line, and sends no SelfSubjectAccessReview for any of them.
func TestBadInputCheck(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "ci")
	header := "apiVersion: access.kubectl-access.io/v1alpha1\nkind: AccessExpectations\n"
	doc := func(name, body string) string { return writeFile(t, name, header+body) }
	yamlErr := doc("yaml.yaml", "expectations:\n- subjects: [a/b\n")
	unknown := doc("unknown.yaml", "expectations:\n- subjects: ["+ns+"/ci]\n  alow: [get pods]\n")
	both := doc("both.yaml", "expectations:\n- subjects: ["+ns+"/ci]\n  allow:\n  - verb: get\n    resource: pods\n    nonResourceURL: /metrics\n")
	noVerb := doc("noverb.yaml", "expectations:\n- subjects: ["+ns+"/ci]\n  deny:\n  - resource: secrets\n")
	noSubjects := doc("nosubjects.yaml", "expectations:\n- subjects: []\n  deny: [get secrets]\n")
	badKind := writeFile(t, "kind.yaml", "apiVersion: access.kubectl-access.io/v1alpha1\nkind: Expectations\nexpectations: []\n")
	dir := t.TempDir()
	token := requestToken(t, ns, "ci")
	tokenSubject := doc("token.yaml", "expectations:\n- subjects: ["+token+"]\n  deny: [get secrets]\n")

	before := countSSAR(t)
	expectRefusals(t, []refusal{
		{"check/YAML error", []string{"check", "-f", yamlErr}, "", 2, []string{yamlErr + ":", "not valid YAML"}},
		{"check/unknown field", []string{"check", "-f", unknown}, "", 2, []string{unknown + ":5:", "expectations[0].alow", "unknown field"}},
		{"check/resource and nonResourceURL", []string{"check", "-f", both}, "", 2, []string{both + ":8:", "not both"}},
		{"check/no verb", []string{"check", "-f", noVerb}, "", 2, []string{noVerb + ":6:", "verb", "missing"}},
		{"check/empty subject list", []string{"check", "-f", noSubjects}, "", 2, []string{noSubjects + ":4:", "subjects", "empty"}},
		{"check/wrong kind", []string{"check", "-f", badKind}, "", 2, []string{badKind + ":2:", "want AccessExpectations"}},
		{"check/missing file", []string{"check", "-f", filepath.Join(dir, "nope.yaml")}, "", 2, []string{"-f", "nope.yaml"}},
		{"check/empty directory", []string{"check", "-f", dir}, "", 2, []string{"no *.yaml"}},
		{"check/bad inline action", []string{"check", "ci", "-n", ns, "--allow", "get Pods"}, "", 2, []string{"--allow (value 1 of 1)"}},
		{"check/file and service account", []string{"check", "ci", "-n", ns, "-f", unknown}, "", 2, []string{"-f names its subjects"}},
		{"check/nothing to check", []string{"check", "ci", "-n", ns}, "", 2, []string{"nothing to check"}},
		{"check/generate with -o", []string{"check", "ci", "-n", ns, "--generate", "-o", "json"}, "", 2, []string{"--generate"}},
		{"check/junit into a directory", []string{"check", "ci", "-n", ns, "--allow", "get pods", "--junit", dir}, "", 2, []string{"--junit", "not a regular file"}},
		{"check/token as SERVICEACCOUNT", []string{"check", token, "-n", ns, "--allow", "get pods", "-v=9"}, "", 2, []string{"looks like a token", "--token-file"}},
		{"check/token as a subject in a file", []string{"check", "-f", tokenSubject, "-v=9"}, "", 2, []string{tokenSubject + ":4:", "not a subject"}},
	}, func(t *testing.T, res harness.Result) {
		assertNoWindow(t, "stderr", res.Stderr, token)
	})
	if after := countSSAR(t); after != before {
		t.Errorf("bad input sent %d SelfSubjectAccessReviews", after-before)
	}
}

// countSSAR counts the SelfSubjectAccessReviews in the audit log so far.
func countSSAR(t *testing.T) int {
	t.Helper()
	n := 0
	for _, uri := range env.audit.RequestURIs(t) {
		if strings.Contains(uri, "selfsubjectaccessreviews") {
			n++
		}
	}
	return n
}

// TestCheckWebhook shows that check sees a right only a webhook grants: the
// rules review cannot list it, the SelfSubjectAccessReview as the token is
// answered by every authorizer.
func TestCheckWebhook(t *testing.T) {
	w := startWebhookCluster(t)
	w.serviceAccount(t, "w", "execer")
	w.webhook.Allow(authzwebhook.Rule{User: "system:serviceaccount:w:execer", Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "w"})
	w.access(t, "check", "execer", "-n", "w", "--allow", "create pods/exec", "--deny", "create pods/attach").RunOK()
	res := w.access(t, "check", "execer", "-n", "w", "--deny", "create pods/exec", "-o", "json").ExpectExit(11)
	rec := decodeRecord[checkRecord](t, "check", res.Stdout)
	if len(rec.Results) != 1 || rec.Results[0].Got != "allowed" || !strings.Contains(rec.Results[0].Reason, "test webhook") {
		t.Errorf("results %+v", rec.Results)
	}
}
