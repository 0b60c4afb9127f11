package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kubectl-access/kubectl-access/test/harness"
)

// TestWhoamiServiceAccount: with the admin's client certificate in the
// kubeconfig, whoami SA reports the service account and exactly the rules
// of its Role and ClusterRole plus the defaults every authenticated user
// has, never the admin's.
func TestWhoamiServiceAccount(t *testing.T) {
	ns := newNamespace(t)
	sa := createServiceAccount(t, ns, "reader")
	podRule := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}
	bindRole(t, ns, "reader", podRule)
	clusterRules := []rbacv1.PolicyRule{
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"settings"}, Verbs: []string{"get"}},
		{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}},
	}
	bindTo(t, "", createClusterRole(t, clusterRules...), ns, "reader")

	res := access(t, "whoami", "reader", "-n", ns, "-o", "json").RunOK()
	rec := parseWhoami(t, res.Stdout)
	if rec.APIVersion != "access.kubectl-access.io/v1alpha1" || rec.Kind != "WhoAmI" {
		t.Errorf("record is %s %s", rec.APIVersion, rec.Kind)
	}
	if want := "system:serviceaccount:" + ns + ":reader"; rec.User.Username != want {
		t.Errorf("username = %q, want %q", rec.User.Username, want)
	}
	if rec.User.UID != string(sa.UID) {
		t.Errorf("uid = %q, want the ServiceAccount's %q", rec.User.UID, sa.UID)
	}
	for _, g := range []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"} {
		if !slices.Contains(rec.User.Groups, g) {
			t.Errorf("groups %v lack %s", rec.User.Groups, g)
		}
	}
	if slices.Contains(rec.User.Groups, "system:masters") {
		t.Error("the service account is reported with the admin's group")
	}
	if rec.IdentitySource != "SelfSubjectReview" {
		t.Errorf("identitySource = %q", rec.IdentitySource)
	}
	if len(rec.Namespaces) != 1 || rec.Namespaces[0].Namespace != ns {
		t.Fatalf("namespaces = %+v, want only %s", rec.Namespaces, ns)
	}
	got := rec.Namespaces[0]
	if got.Incomplete || got.EvaluationError == nil || *got.EvaluationError != "" || got.Error != "" {
		t.Errorf("review of %s: incomplete=%t evaluationError=%v error=%q", ns, got.Incomplete, got.EvaluationError, got.Error)
	}
	want := authenticatedDefaults(t)
	want.addRule(podRule)
	for _, r := range clusterRules {
		want.addRule(r)
	}
	if gotAtoms := got.atoms(); gotAtoms.String() != want.String() {
		t.Errorf("rules are not exactly the Role's, the ClusterRole's and the defaults:\n got %v\nwant %v", gotAtoms, want)
	}
	if len(rec.Risks) != 0 {
		t.Errorf("risks = %+v, want none", rec.Risks)
	}

	// The human view: identity, then one table.
	res = access(t, "whoami", "reader", "-n", ns).RunOK()
	for _, w := range []string{"Username", "system:serviceaccount:" + ns + ":reader", "SelfSubjectReview (authentication.k8s.io/v1)"} {
		if !strings.Contains(res.Stdout, w) {
			t.Errorf("human output lacks %q:\n%s", w, res.Stdout)
		}
	}
	if row := tableRow(t, res.Stdout, "pods"); row[3] != "[get list]" || row[4] != ns || row[5] != "" {
		t.Errorf("pods row = %q, want [get list] in %s, no risk", row, ns)
	}
	if row := tableRow(t, res.Stdout, "configmaps"); row[2] != "[settings]" || row[3] != "[get]" {
		t.Errorf("configmaps row = %q, want [get] on [settings]", row)
	}
	if rows := tableRows(t, res.Stdout, "", "/metrics"); len(rows) != 1 || rows[0][3] != "[get]" {
		t.Errorf("/metrics rows = %q", rows)
	}
	if strings.Contains(res.Stdout, "*.*") || strings.Contains(res.Stdout, "[*]") {
		t.Errorf("the admin's rules appear:\n%s", res.Stdout)
	}
	if res.Stderr != "" {
		t.Errorf("stderr = %q, want nothing", res.Stderr)
	}
}

// TestWhoamiWhereRulesHold: RoleBindings in only some namespaces show each
// rule under the right namespaces, with --namespaces and with -A.
func TestWhoamiWhereRulesHold(t *testing.T) {
	home, other, none := newNamespace(t), newNamespace(t), newNamespace(t)
	createServiceAccount(t, home, "multi")
	bindRole(t, home, "multi", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}})
	bindTo(t, other, createClusterRole(t, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}), home, "multi")
	bindTo(t, "", createClusterRole(t, rbacv1.PolicyRule{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"watch"}}), home, "multi")

	pods, configmaps, jobs := "/pods/ list", "/configmaps/ get", "batch/jobs/ watch"
	check := func(t *testing.T, rec whoamiRecord, ns string, want ...string) {
		t.Helper()
		atoms := rec.namespace(t, ns).atoms()
		for _, a := range []string{pods, configmaps, jobs} {
			if atoms[a] != slices.Contains(want, a) {
				t.Errorf("namespace %s: %q listed = %t, want %t", ns, a, atoms[a], !atoms[a])
			}
		}
	}
	list := strings.Join([]string{none, other, home}, ",")

	rec := parseWhoami(t, access(t, "whoami", "multi", "-n", home, "--namespaces", list, "-o", "json").RunOK().Stdout)
	if len(rec.Namespaces) != 3 {
		t.Errorf("%d namespaces reviewed, want the 3 given", len(rec.Namespaces))
	}
	check(t, rec, home, pods, jobs)
	check(t, rec, other, configmaps, jobs)
	check(t, rec, none, jobs)

	// The baseline rule (selfsubjectrulesreviews) is folded unless
	// --show-baseline lists it.
	res := access(t, "whoami", "multi", "-n", home, "--namespaces", list, "--show-baseline").RunOK()
	for resource, where := range map[string]string{
		"pods":       home,
		"configmaps": other,
		"jobs.batch": "all 3 reviewed namespaces",
		"selfsubjectrulesreviews.authorization.k8s.io": "all 3 reviewed namespaces",
	} {
		if row := tableRow(t, res.Stdout, resource); row[4] != where {
			t.Errorf("%s holds %q, want %q", resource, row[4], where)
		}
	}

	// -A reviews every namespace, listed with the admin's credentials.
	res = access(t, "whoami", "multi", "-n", home, "-A", "-o", "json").RunOK()
	rec = parseWhoami(t, res.Stdout)
	var reviewed []string
	for _, n := range rec.Namespaces {
		reviewed = append(reviewed, n.Namespace)
	}
	for _, want := range []string{home, other, none, "default", "kube-system", "kube-public"} {
		if !slices.Contains(reviewed, want) {
			t.Errorf("-A did not review %s: %v", want, reviewed)
		}
	}
	if !slices.IsSorted(reviewed) {
		t.Errorf("-A namespaces are not sorted: %v", reviewed)
	}
	for _, n := range rec.Namespaces {
		switch n.Namespace {
		case home:
			check(t, rec, home, pods, jobs)
		case other:
			check(t, rec, other, configmaps, jobs)
		default:
			check(t, rec, n.Namespace, jobs)
		}
		if n.Error != "" {
			t.Errorf("namespace %s: %s", n.Namespace, n.Error)
		}
	}
	res = access(t, "whoami", "multi", "-n", home, "-A").RunOK()
	if row := tableRow(t, res.Stdout, "pods"); row[4] != home {
		t.Errorf("with -A, pods holds %q, want only %s", row[4], home)
	}
	if row := tableRow(t, res.Stdout, "jobs.batch"); !strings.HasPrefix(row[4], "all ") || !strings.HasSuffix(row[4], " reviewed namespaces") {
		t.Errorf("with -A, jobs (ClusterRoleBinding) holds %q, want all reviewed namespaces", row[4])
	}
}

// TestWhoamiRisk: cluster-admin is risky and --fail-on-risk exits 8; the
// plain default service account is not.
func TestWhoamiRisk(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "boss")
	bindTo(t, "", rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"}, ns, "boss")

	res := access(t, "whoami", "boss", "-n", ns, "--fail-on-risk").ExpectExit(8, "--fail-on-risk", "admin")
	if row := tableRow(t, res.Stdout, "*.*"); row[3] != "[*]" || row[5] != "admin(critical)" {
		t.Errorf("cluster-admin row = %q, want [*] marked admin(critical)", row)
	}
	if !strings.Contains(res.Stdout, "REASON") || !strings.Contains(res.Stdout, "admin rights") {
		t.Errorf("no legend saying why the admin rule is risky:\n%s", res.Stdout)
	}
	rec := parseWhoami(t, access(t, "whoami", "boss", "-n", ns, "-o", "json").RunOK().Stdout)
	found := false
	for _, r := range rec.Risks {
		if r.Check == "admin" && r.Namespace == ns && slices.Contains(r.Rule.Verbs, "*") && r.Reason != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("risks = %+v, want the admin rule of %s", rec.Risks, ns)
	}

	// A narrower but still dangerous right: reading Secrets.
	createServiceAccount(t, ns, "peek")
	bindRole(t, ns, "peek", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list"}})
	res = access(t, "whoami", "peek", "-n", ns, "--fail-on-risk").ExpectExit(8, "read-secrets")
	if row := tableRow(t, res.Stdout, "secrets"); row[5] != "read-secrets(high)" {
		t.Errorf("secrets row = %q, want read-secrets(high)", row)
	}

	res = access(t, "whoami", "-n", ns, "--fail-on-risk").RunOK()
	if strings.Contains(res.Stdout, "REASON") {
		t.Errorf("the default service account has risky rules:\n%s", res.Stdout)
	}
	if rec := parseWhoami(t, access(t, "whoami", "-n", ns, "-o", "json", "--fail-on-risk").RunOK().Stdout); len(rec.Risks) != 0 {
		t.Errorf("default service account risks = %+v", rec.Risks)
	}
}

// TestWhoamiCurrent: --current reports the kubeconfig's own identity.
func TestWhoamiCurrent(t *testing.T) {
	ns := newNamespace(t)
	rec := parseWhoami(t, access(t, "whoami", "--current", "-n", ns, "-o", "json").RunOK().Stdout)
	if rec.User.Username != "kubectl-access-admin" || !slices.Contains(rec.User.Groups, "system:masters") {
		t.Errorf("--current user = %+v, want kubectl-access-admin in system:masters", rec.User)
	}
	if rec.IdentitySource != "SelfSubjectReview" {
		t.Errorf("identitySource = %q", rec.IdentitySource)
	}
	if len(rec.Risks) == 0 || rec.Risks[0].Check != "admin" {
		t.Errorf("the admin's risks = %+v, want admin", rec.Risks)
	}
}

// TestWhoamiTokenFile: --token-file with a TokenRequest token reports its
// service account, from a file or from stdin.
func TestWhoamiTokenFile(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "filed")
	bindRole(t, ns, "filed", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get"}})
	token := requestToken(t, ns, "filed")
	want := "system:serviceaccount:" + ns + ":filed"

	res := access(t, "whoami", "--token-file", writeTokenFile(t, token), "-n", ns, "-o", "json").RunOK()
	rec := parseWhoami(t, res.Stdout)
	if rec.User.Username != want {
		t.Errorf("--token-file user = %q, want %q", rec.User.Username, want)
	}
	if atoms := rec.namespace(t, ns).atoms(); !atoms["/services/ get"] || atoms["*/*/ *"] {
		t.Errorf("--token-file rules are not the token's: %v", atoms)
	}
	harness.AssertNoSecretLeak(t, "whoami --token-file output", res.Stdout+res.Stderr, token)

	res = access(t, "whoami", "--token-file", "-", "-n", ns).WithStdin(token + "\n").RunOK()
	if !strings.Contains(res.Stdout, want) {
		t.Errorf("--token-file - does not report %s:\n%s", want, res.Stdout)
	}
}

func TestWhoamiBadInput(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "plain")
	noRights := tokenKubeconfig(t, requestToken(t, ns, "plain"), ns)
	garbage := writeTokenFile(t, "this-is-not-a-token")

	cases := []refusal{
		{"unknown service account", []string{"whoami", "ghost", "-n", ns}, "", 1, []string{`service account "ghost" not found in namespace "` + ns + `"`}},
		{"unknown namespace", []string{"whoami", "-n", "no-such-ns-" + randomSuffix()}, "", 1, []string{"not found in namespace"}},
		{"garbage token", []string{"whoami", "--token-file", garbage, "-n", ns}, "", 3, []string{"401 Unauthorized"}},
		{"-A without the right to list namespaces", []string{"whoami", "--current", "-A"}, noRights, 1, []string{"--namespaces", "forbidden"}},
		{"-A with --namespaces", []string{"whoami", "-A", "--namespaces", ns}, "", 2, []string{"cannot be used together"}},
		{"invalid namespace name", []string{"whoami", "--namespaces", "Bad_Name"}, "", 2, []string{"--namespaces: value 1 of 1 is not a valid namespace name"}},
		{"--current with a service account", []string{"whoami", "plain", "--current"}, "", 2, []string{"--current"}},
		{"unknown output", []string{"whoami", "-o", "xml"}, "", 2, []string{"--output must be one of json, yaml"}},
		{"unreachable server", []string{"whoami", "--token-file", garbage, "--server=https://127.0.0.1:1"}, "", 7, []string{"connection refused"}},
	}
	expectRefusals(t, cases)
}

// TestWhoamiNeverLogged runs whoami at the highest verbosity with tokens
// the test knows, and looks for them in stderr.
func TestWhoamiNeverLogged(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "quiet")
	legacy := string(createTokenSecret(t, ns, "quiet", "quiet-token").Data["token"])

	res := access(t, "whoami", "quiet", "-n", ns, "--source=secret", "-v=10").RunOK()
	if !strings.Contains(res.Stderr, "lowered to 7") || !strings.Contains(res.Stderr, `"Request" verb="POST"`) {
		t.Errorf("-v=10 was not capped to 7 with requests logged:\n%s", res.Stderr)
	}
	harness.AssertNoSecretLeak(t, "whoami --source=secret -v=10", res.Stdout+res.Stderr, legacy)

	requested := requestToken(t, ns, "quiet")
	res = access(t, "whoami", "--token-file", writeTokenFile(t, requested), "-A", "-v=10").RunOK()
	harness.AssertNoSecretLeak(t, "whoami --token-file -A -v=10", res.Stdout+res.Stderr, requested)

	res = access(t, "whoami", "--token-file", writeTokenFile(t, "bogus-"+requested[:20]), "-n", ns, "-v=10").ExpectExit(3)
	harness.AssertNoSecretLeak(t, "whoami with a rejected token at -v=10", res.Stdout+res.Stderr, "bogus-"+requested[:20])
}

// TestWhoamiRequestFloor counts the requests whoami sends (client-go logs
// each response at -v=6): one SelfSubjectReview, one namespace list with
// -A, one SelfSubjectRulesReview per namespace, the RBAC read once with the
// kubeconfig's credentials (a LIST of ClusterRoles and of
// ClusterRoleBindings, and of Roles and RoleBindings one per namespace, or
// one cluster-wide with -A), and no discovery.
func TestWhoamiRequestFloor(t *testing.T) {
	a, b, c := newNamespace(t), newNamespace(t), newNamespace(t)
	createServiceAccount(t, a, "counted")
	tokenFile := writeTokenFile(t, requestToken(t, a, "counted"))

	res := access(t, "whoami", "--token-file", tokenFile, "--namespaces", a+","+b+","+c, "-v=6").RunOK()
	if n := countResponses(res.Stderr); n != 12 {
		t.Errorf("--namespaces with 3 namespaces: %d requests, want 12 (1 identity + 3 reviews + 2+2×3 RBAC lists)\n%s", n, res.Stderr)
	}
	res = access(t, "whoami", "--token-file", tokenFile, "-A", "-o", "json", "-v=6").RunOK()
	reviewed := len(parseWhoami(t, res.Stdout).Namespaces)
	if n := countResponses(res.Stderr); n != 6+reviewed {
		t.Errorf("-A over %d namespaces: %d requests, want %d (1 identity + 1 list + 1 per namespace + 4 RBAC lists)", reviewed, n, 6+reviewed)
	}
	// The service account path adds only what obtaining the token costs:
	// the ServiceAccount, its token Secrets and a TokenRequest.
	res = access(t, "whoami", "counted", "-n", a, "-v=6").RunOK()
	if n := countResponses(res.Stderr); n != 9 {
		t.Errorf("whoami SA: %d requests, want 9 (3 for the token + 1 identity + 1 review + 4 RBAC lists)\n%s", n, res.Stderr)
	}
	if strings.Contains(res.Stderr, "/apis?") || strings.Contains(res.Stderr, `url="`+env.cp.Server+`/api?`) || strings.Contains(res.Stderr, "/openapi") {
		t.Errorf("whoami sent discovery requests:\n%s", res.Stderr)
	}
}

// TestWhoamiManyNamespaces reviews 50 namespaces and reports how long it
// takes: the client-side rate limit is raised for the fan-out, so this is
// bound by the server, not by client-go's default 5 requests per second.
func TestWhoamiManyNamespaces(t *testing.T) {
	names := createNamespaces(t, 50)
	home := names[0]
	createServiceAccount(t, home, "wide")
	bindTo(t, names[7], createClusterRole(t, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"endpoints"}, Verbs: []string{"get"}}), home, "wide")
	tokenFile := writeTokenFile(t, requestToken(t, home, "wide"))

	res := access(t, "whoami", "--token-file", tokenFile, "--namespaces", strings.Join(names, ","), "-o", "json").RunOK()
	rec := parseWhoami(t, res.Stdout)
	if len(rec.Namespaces) != 50 {
		t.Fatalf("%d namespaces reviewed, want 50", len(rec.Namespaces))
	}
	for _, n := range rec.Namespaces {
		if n.Error != "" {
			t.Errorf("%s: %s", n.Namespace, n.Error)
		}
		if got, want := n.atoms()["/endpoints/ get"], n.Namespace == names[7]; got != want {
			t.Errorf("%s: endpoints get listed = %t, want %t", n.Namespace, got, want)
		}
	}
	t.Logf("whoami --namespaces over 50 namespaces: %s", res.Elapsed.Round(time.Millisecond))
	// 50 reviews at client-go's default 5 QPS (burst 10) would take 8 s.
	if res.Elapsed > 6*time.Second {
		t.Errorf("50 namespaces took %s: is the fan-out throttled client-side?", res.Elapsed)
	}

	res = access(t, "whoami", "--token-file", tokenFile, "-A").RunOK()
	t.Logf("whoami -A over every namespace of the cluster: %s", res.Elapsed.Round(time.Millisecond))
	if row := tableRow(t, res.Stdout, "endpoints"); row[4] != names[7] {
		t.Errorf("with -A, endpoints holds %q, want only %s", row[4], names[7])
	}
	res = access(t, "whoami", "--token-file", tokenFile, "--namespaces", strings.Join(names, ","), "--concurrency=1").RunOK()
	t.Logf("whoami --namespaces over 50 namespaces with --concurrency=1: %s", res.Elapsed.Round(time.Millisecond))
}
