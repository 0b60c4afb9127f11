package e2e

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-access/kubectl-access/pkg/audit"
	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
)

// auditProbe is a right the audit fixture grants, the risk check that must
// report it, and how kubectl auth can-i --list shows it.
type auditProbe struct {
	check, verb, resource string
	// clusterScoped rights hold in every namespace.
	clusterScoped bool
}

var auditProbes = []auditProbe{
	{check: "read-secrets", verb: "get", resource: "secrets"},
	{check: "exec", verb: "create", resource: "pods/exec"},
	{check: "impersonate", verb: "impersonate", resource: "serviceaccounts"},
	{check: "nodes-proxy", verb: "get", resource: "nodes/proxy", clusterScoped: true},
	{check: "write-workloads", verb: "create", resource: "deployments.apps"},
	{check: "create-token", verb: "create", resource: "serviceaccounts/token"},
}

// auditFixture is a cluster of 40 namespaces and 200 service accounts
// (each namespace's default and four more), a few of them bound to risky
// rights in the ways an audit must see: a RoleBinding in the account's own
// namespace, one in another namespace, a group binding of the namespace's
// service accounts, a ClusterRoleBinding, a User subject, and a harmless
// binding; the rest bare.
type auditFixture struct {
	namespaces []string
	// accounts are "namespace/name", sorted.
	accounts []string
}

func newAuditFixture(t *testing.T) *auditFixture {
	t.Helper()
	ctx := context.Background()
	client := adminClient(t)
	f := &auditFixture{}
	run := randomSuffix()
	for i := range 40 {
		ns := fmt.Sprintf("aud-%s-%02d", run, i)
		if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating namespace %s: %v", ns, err)
		}
		f.namespaces = append(f.namespaces, ns)
	}
	t.Cleanup(func() {
		for _, ns := range f.namespaces {
			_ = client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		}
	})
	for _, ns := range f.namespaces {
		for j := range 4 {
			createServiceAccount(t, ns, fmt.Sprintf("sa-%d", j))
		}
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, ns := range f.namespaces {
			if _, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err != nil {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("the default ServiceAccounts never all appeared: %v", err)
	}
	for _, ns := range f.namespaces {
		f.accounts = append(f.accounts, ns+"/default")
		for j := range 4 {
			f.accounts = append(f.accounts, fmt.Sprintf("%s/sa-%d", ns, j))
		}
	}
	sort.Strings(f.accounts)

	ns := f.namespaces
	other := ns[39]
	role := func(ns, name string, rule rbacv1.PolicyRule) rbacv1.RoleRef {
		if _, err := client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{rule}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating Role %s/%s: %v", ns, name, err)
		}
		return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}
	}
	clusterRole := func(name string, rule rbacv1.PolicyRule) rbacv1.RoleRef {
		if _, err := client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{rule}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating ClusterRole %s: %v", name, err)
		}
		t.Cleanup(func() { _ = client.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{}) })
		return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}
	}
	roleBinding := func(ns, name string, ref rbacv1.RoleRef, subjects ...rbacv1.Subject) {
		if _, err := client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: ref, Subjects: subjects}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating RoleBinding %s/%s: %v", ns, name, err)
		}
	}
	sa := func(ns, name string) rbacv1.Subject {
		return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
	}

	// (1) its own namespace, a Role.
	roleBinding(ns[1], "read-secrets", role(ns[1], "read-secrets", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}), sa(ns[1], "sa-0"))
	// (2) another namespace, a ClusterRole.
	exec := clusterRole("aud-"+run+"-exec", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create"}})
	roleBinding(other, "exec-from-"+ns[2], exec, sa(ns[2], "sa-1"))
	// (3) every service account of a namespace, through its group.
	roleBinding(ns[3], "impersonate-all", role(ns[3], "impersonate", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"impersonate"}}),
		rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:serviceaccounts:" + ns[3]})
	// (4) a ClusterRoleBinding: cluster-wide.
	proxy := clusterRole("aud-"+run+"-proxy", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"nodes/proxy"}, Verbs: []string{"get"}})
	crb := "aud-" + run + "-proxy"
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: crb}, RoleRef: proxy, Subjects: []rbacv1.Subject{sa(ns[4], "sa-2")}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating ClusterRoleBinding: %v", err)
	}
	t.Cleanup(func() {
		_ = client.RbacV1().ClusterRoleBindings().Delete(context.Background(), crb, metav1.DeleteOptions{})
	})
	// (5) a default account, and in a second namespace as well.
	deploy := clusterRole("aud-"+run+"-deploy", rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"create"}})
	roleBinding(ns[5], "deploy", deploy, sa(ns[5], "default"))
	roleBinding(other, "deploy-from-"+ns[5], deploy, sa(ns[5], "default"))
	// (6) a User subject naming the account.
	roleBinding(ns[6], "tokens", role(ns[6], "tokens", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}}),
		rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "system:serviceaccount:" + ns[6] + ":sa-3"})
	// (7) a harmless right of its own.
	roleBinding(ns[7], "configmaps", role(ns[7], "configmaps", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}), sa(ns[7], "sa-0"))
	return f
}

// truth asks the server, with each account's own token, through real
// kubectl auth can-i --list, which of the probes it holds, in its own
// namespace and in the fixture's last one; cluster-scoped probes are
// reported as holding in "*". The map is account → sorted "check@ns".
func (f *auditFixture) truth(t *testing.T) map[string][]string {
	t.Helper()
	ctx := context.Background()
	client := adminClient(t)
	out := map[string][]string{}
	var mu sync.Mutex
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	errs := make(chan error, len(f.accounts))
	for _, acct := range f.accounts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ns, name, _ := strings.Cut(acct, "/")
			token, err := tokenFor(ctx, client, ns, name)
			if err != nil {
				errs <- err
				return
			}
			held := map[string]bool{}
			for _, where := range slices.Compact([]string{ns, f.namespaces[39]}) {
				res := kubectl(t, "auth", "can-i", "--list", "-n", where).
					WithKubeconfig(tokenKubeconfig(t, token, where)).Run()
				if res.Code != 0 {
					errs <- fmt.Errorf("kubectl auth can-i --list as %s in %s: exit %d: %s", acct, where, res.Code, res.Stderr)
					return
				}
				for _, p := range auditProbes {
					if listGrants(res.Stdout, p.verb, p.resource) {
						at := where
						if p.clusterScoped {
							at = "*"
						}
						held[p.check+"@"+at] = true
					}
				}
			}
			if len(held) > 0 {
				mu.Lock()
				out[acct] = sortedKeysOf(held)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return out
}

func tokenFor(ctx context.Context, client kubernetes.Interface, ns, name string) (string, error) {
	tr, err := client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("requesting a token for %s/%s: %w", ns, name, err)
	}
	return tr.Status.Token, nil
}

func sortedKeysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// listGrants reports whether the table of kubectl auth can-i --list has a
// row granting verb on resource: the resource named (or "*", or "*.*"), no
// resource names, and the verb (or "*") among its verbs. It reads the
// columns by the header's offsets, as kubectl's tab writer aligns them.
func listGrants(table, verb, resource string) bool {
	lines := strings.Split(table, "\n")
	if len(lines) == 0 {
		return false
	}
	header := lines[0]
	namesAt, verbsAt := strings.Index(header, "Resource Names"), strings.Index(header, "Verbs")
	urlsAt := strings.Index(header, "Non-Resource URLs")
	if namesAt < 0 || verbsAt < 0 || urlsAt < 0 {
		return false
	}
	for _, line := range lines[1:] {
		if len(line) <= verbsAt {
			continue
		}
		res := strings.TrimSpace(line[:urlsAt])
		names := strings.TrimSpace(line[namesAt:verbsAt])
		verbs := strings.Fields(strings.Trim(strings.TrimSpace(line[verbsAt:]), "[]"))
		if res != resource && res != "*" && res != "*.*" {
			continue
		}
		if names != "[]" {
			continue
		}
		if slices.Contains(verbs, verb) || slices.Contains(verbs, "*") {
			return true
		}
	}
	return false
}

// reported turns the audit's record into the same shape as truth: account
// → sorted "check@ns" ("*" for a finding that holds in every namespace),
// for the probes' checks.
func reported(t *testing.T, c audit.ClusterRecord) map[string][]string {
	t.Helper()
	checks := map[string]bool{}
	for _, p := range auditProbes {
		checks[p.check] = true
	}
	out := map[string][]string{}
	for _, a := range c.Accounts {
		held := map[string]bool{}
		for _, fnd := range a.Findings {
			if !checks[fnd.Check] {
				t.Errorf("%s/%s: unexpected finding %q (%s)", a.Namespace, a.Name, fnd.Check, fnd.Reason)
				continue
			}
			if fnd.ClusterWide {
				held[fnd.Check+"@*"] = true
				continue
			}
			for _, ns := range fnd.Namespaces {
				held[fnd.Check+"@"+ns] = true
			}
		}
		if len(held) > 0 {
			out[a.Namespace+"/"+a.Name] = sortedKeysOf(held)
		}
	}
	return out
}

// snapshotObjects names every ServiceAccount, Secret, Role, RoleBinding,
// ClusterRole and ClusterRoleBinding with its resourceVersion, to prove a
// run left them as they were.
func snapshotObjects(t *testing.T, namespaces []string) []string {
	t.Helper()
	ctx := context.Background()
	client := adminClient(t)
	var out []string
	add := func(kind string, items []metav1.ObjectMeta) {
		for _, m := range items {
			out = append(out, kind+" "+m.Namespace+"/"+m.Name+"@"+m.ResourceVersion)
		}
	}
	for _, ns := range namespaces {
		sas, err := client.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		secrets, err := client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sas.Items {
			add("ServiceAccount", []metav1.ObjectMeta{s.ObjectMeta})
		}
		for _, s := range secrets.Items {
			add("Secret", []metav1.ObjectMeta{s.ObjectMeta})
		}
	}
	roles, err := client.RbacV1().Roles("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles.Items {
		add("Role", []metav1.ObjectMeta{r.ObjectMeta})
	}
	rbs, err := client.RbacV1().RoleBindings("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rbs.Items {
		add("RoleBinding", []metav1.ObjectMeta{r.ObjectMeta})
	}
	crbs, err := client.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range crbs.Items {
		add("ClusterRoleBinding", []metav1.ObjectMeta{r.ObjectMeta})
	}
	sort.Strings(out)
	return out
}

func TestAuditCommand(t *testing.T) {
	f := newAuditFixture(t)
	want := f.truth(t)
	if len(want) < 6 {
		t.Fatalf("the fixture grants risky rights to %d accounts by the server's own answer, want at least 6: %v", len(want), want)
	}
	before := snapshotObjects(t, f.namespaces)
	auditStart := len(env.audit.RequestURIs(t))

	res := access(t, "audit", "--namespaces", strings.Join(f.namespaces, ","), "-o", "json").WithTimeout(5 * time.Minute).RunOK()
	rec := decodeRecord[audit.Record](t, "audit -o json", res.Stdout)
	if len(rec.Clusters) != 1 {
		t.Fatalf("want one cluster in the record, got %d", len(rec.Clusters))
	}
	c := rec.Clusters[0]

	t.Run("every risky account with the right checks and namespaces, as the server answers each account's own token", func(t *testing.T) {
		got := reported(t, c)
		for acct, w := range want {
			if !slices.Equal(got[acct], w) {
				t.Errorf("%s: audit reports %v, the server (kubectl auth can-i --list with its own token) says %v", acct, got[acct], w)
			}
		}
		for acct, g := range got {
			if _, ok := want[acct]; !ok {
				t.Errorf("%s: audit reports %v, the server says it holds none of the probes", acct, g)
			}
		}
	})

	t.Run("the others counted: the bare ones as holding nothing beyond the baseline", func(t *testing.T) {
		s := c.Summary
		if s.Accounts != 200 || s.NotAudited != 0 {
			t.Fatalf("summary %+v: want 200 accounts, all audited", s)
		}
		// Risky: the accounts the server says hold a probe. Other: the one
		// with a harmless binding. Baseline: the rest.
		if s.Risky != len(want) || s.Other != 1 || s.Baseline != 200-len(want)-1 {
			t.Errorf("summary %+v: want %d risky, 1 other, %d baseline", s, len(want), 200-len(want)-1)
		}
		if s.DefaultBeyondBaseline != 2 { // ns[3]'s default (group binding) and ns[5]'s
			t.Errorf("summary %+v: want 2 default accounts beyond the baseline", s)
		}
	})

	t.Run("the requests are one per account plus its planned namespaces, and the tokens TokenRequests only", func(t *testing.T) {
		// The log has each request twice: at RequestReceived and at
		// ResponseComplete.
		uris := env.audit.RequestURIs(t)[auditStart:]
		tokens, reviews, secretWrites := 0, 0, 0
		for _, u := range uris {
			switch {
			case strings.Contains(u, "/serviceaccounts/") && strings.HasSuffix(u, "/token"):
				tokens++
			case strings.HasSuffix(u, "/selfsubjectrulesreviews"):
				reviews++
			case strings.Contains(u, "/secrets"):
				secretWrites++
			}
		}
		tokens, reviews = tokens/2, reviews/2
		if tokens != 200 {
			t.Errorf("%d TokenRequests, want one per account (200)", tokens)
		}
		// Own namespace for each, plus the last namespace for the two
		// accounts bound there.
		if reviews != 202 {
			t.Errorf("%d SelfSubjectRulesReviews, want 202", reviews)
		}
		if secretWrites != 0 {
			t.Errorf("%d requests touched Secrets, want none", secretWrites)
		}
		if c.Summary.Requests < 405 || c.Summary.Requests > 405+int64(len(f.namespaces)) {
			t.Errorf("the record counts %d requests, want 405 (3 lists + 200 tokens + 202 reviews)", c.Summary.Requests)
		}
	})

	t.Run("no object outlives the run", func(t *testing.T) {
		after := snapshotObjects(t, f.namespaces)
		if !slices.Equal(before, after) {
			t.Errorf("objects changed:\nbefore %d, after %d\n%s", len(before), len(after), diffLines(before, after))
		}
	})

	t.Run("human output ranks the risky accounts and counts the rest", func(t *testing.T) {
		res := access(t, "audit", "--namespaces", strings.Join(f.namespaces, ",")).WithTimeout(5 * time.Minute).RunOK()
		for acct := range want {
			if !strings.Contains(res.Stdout, acct) {
				t.Errorf("human output lacks %s:\n%s", acct, res.Stdout)
			}
		}
		if !strings.Contains(res.Stdout, fmt.Sprintf("%d with nothing beyond the baseline", 200-len(want)-1)) {
			t.Errorf("human output does not count the bare accounts:\n%s", res.Stdout)
		}
		if !strings.Contains(res.Stdout, f.namespaces[5]+"/default (default)") {
			t.Errorf("human output does not mark the default account:\n%s", res.Stdout)
		}
	})

	t.Run("--fail-on-risk exits 8", func(t *testing.T) {
		access(t, "audit", "--namespaces", strings.Join(f.namespaces[1:3], ","), "--fail-on-risk").WithTimeout(2*time.Minute).ExpectExit(exitcode.Risk, "--fail-on-risk")
		access(t, "audit", "--namespaces", f.namespaces[10], "--fail-on-risk").WithTimeout(2 * time.Minute).RunOK()
	})
}

func diffLines(a, b []string) string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, "- "+x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, "+ "+x)
		}
	}
	return strings.Join(out, "\n")
}

func TestAuditFaults(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "ci")
	bindRole(t, ns, "ci", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list"}})
	denied := newNamespace(t)
	createServiceAccount(t, denied, "app")

	t.Run("a selector that matches nothing", func(t *testing.T) {
		res := access(t, "audit", "-n", ns, "-l", "no-such-label=x").RunOK()
		if !strings.Contains(res.Stdout, "no service accounts") {
			t.Errorf("stdout %q, want it to say there are no service accounts", res.Stdout)
		}
	})

	t.Run("bad input is refused before anything is sent", func(t *testing.T) {
		access(t, "audit", "--namespaces", "no-such-ns-"+randomSuffix()).ExpectRefusal(exitcode.Usage, "not found", "--namespaces")
		access(t, "audit", "--contexts", "no-such-context").ExpectRefusal(exitcode.Usage, "--contexts", "no-such-context")
		access(t, "audit", "-l", "a b").ExpectRefusal(exitcode.Usage, "--selector")
		access(t, "audit", "-A", "--namespaces", ns).ExpectRefusal(exitcode.Usage, "--namespaces")
		access(t, "audit", "--concurrency", "0").ExpectRefusal(exitcode.Usage, "--concurrency")
		access(t, "audit", "--namespaces", "Not_A_Name").ExpectRefusal(exitcode.Usage, "--namespaces")
	})

	t.Run("a caller that may not mint tokens in one namespace: those accounts not audited, the others are", func(t *testing.T) {
		auditor := "auditor-" + randomSuffix()
		createServiceAccount(t, ns, auditor)
		client := adminClient(t)
		ctx := context.Background()
		cr := "aud-reader-" + randomSuffix()
		if _, err := client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: cr}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"serviceaccounts", "namespaces"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"rolebindings", "clusterrolebindings"}, Verbs: []string{"list"}},
		}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = client.RbacV1().ClusterRoles().Delete(context.Background(), cr, metav1.DeleteOptions{}) })
		if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: cr}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cr},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: auditor}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = client.RbacV1().ClusterRoleBindings().Delete(context.Background(), cr, metav1.DeleteOptions{})
		})
		bindRole(t, ns, auditor, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}})
		kc := tokenKubeconfig(t, requestToken(t, ns, auditor), ns)

		res := kubectl(t, "access", "audit", "--namespaces", ns+","+denied, "-o", "json").WithKubeconfig(kc).ExpectExit(exitcode.Forbidden, "create serviceaccounts/token in namespace "+denied)
		rec := decodeRecord[audit.Record](t, "audit -o json", res.Stdout)
		for _, a := range rec.Clusters[0].Accounts {
			if a.Audited != (a.Namespace == ns) {
				t.Errorf("%s/%s: audited=%v, want %v", a.Namespace, a.Name, a.Audited, a.Namespace == ns)
			}
		}
		got := reported(t, rec.Clusters[0])
		if w := []string{"read-secrets@" + ns}; !slices.Equal(got[ns+"/ci"], w) {
			t.Errorf("%s/ci: %v, want %v (partial results kept)", ns, got[ns+"/ci"], w)
		}
	})

	t.Run("the caller may not list RBAC: the missing permission is named", func(t *testing.T) {
		kc := tokenKubeconfig(t, requestToken(t, denied, "app"), denied)
		kubectl(t, "access", "audit", "-n", denied).WithKubeconfig(kc).ExpectExit(exitcode.Forbidden, "list serviceaccounts")
	})

	t.Run("--all-contexts with one context pointing at a stopped server", func(t *testing.T) {
		cfg := loadKubeconfig(t, env.cp.AdminKubeconfig)
		var current *clientcmdapi.Context
		for _, c := range cfg.Contexts {
			current = c
		}
		cfg.Clusters["stopped"] = &clientcmdapi.Cluster{Server: "https://" + closedPort(t), CertificateAuthorityData: cfg.Clusters[current.Cluster].CertificateAuthorityData}
		cfg.Contexts["stopped"] = &clientcmdapi.Context{Cluster: "stopped", AuthInfo: current.AuthInfo}
		kc := writeKubeconfig(t, cfg)
		res := kubectl(t, "access", "audit", "--all-contexts", "-n", ns, "-o", "json", "--request-timeout", "10s").WithKubeconfig(kc).ExpectExit(exitcode.Unreachable, `context "stopped"`)
		rec := decodeRecord[audit.Record](t, "audit -o json", res.Stdout)
		if len(rec.Clusters) != 2 {
			t.Fatalf("want 2 clusters in the record, got %d", len(rec.Clusters))
		}
		for _, c := range rec.Clusters {
			switch c.Context {
			case "stopped":
				if c.Error == "" {
					t.Errorf("the stopped context has no error: %+v", c)
				}
			default:
				sas, err := adminClient(t).CoreV1().ServiceAccounts(ns).List(context.Background(), metav1.ListOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if c.Error != "" || c.Summary.Accounts != len(sas.Items) || c.Summary.NotAudited != 0 {
					t.Errorf("context %q: error %q, summary %+v; want its audit complete (%d accounts)", c.Context, c.Error, c.Summary, len(sas.Items))
				}
			}
		}
	})
}
