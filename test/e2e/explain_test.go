package e2e

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// baselineAtoms reads, with the admin's client, the rights the cluster's
// bindings give the groups of a service account of ns: to
// system:authenticated (every user) and to system:serviceaccounts (every
// service account), by ClusterRoleBindings and by RoleBindings of ns. A
// right of both is every user's. (A grant to system:serviceaccounts:NS is
// the namespace's, marked but not folded; a fresh namespace has none.)
func baselineAtoms(t *testing.T, ns string) (users, accounts atomSet) {
	t.Helper()
	ctx := context.Background()
	client := adminClient(t)
	users, accounts = atomSet{}, atomSet{}
	addRole := func(set atomSet, ref rbacv1.RoleRef, bindingNS string) {
		var rules []rbacv1.PolicyRule
		switch ref.Kind {
		case "ClusterRole":
			role, err := client.RbacV1().ClusterRoles().Get(ctx, ref.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rules = role.Rules
		case "Role":
			role, err := client.RbacV1().Roles(bindingNS).Get(ctx, ref.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rules = role.Rules
		}
		for _, r := range rules {
			set.addRule(r)
		}
	}
	kind := func(subjects []rbacv1.Subject) atomSet {
		var set atomSet
		for _, s := range subjects {
			if s.Kind != rbacv1.GroupKind {
				continue
			}
			switch s.Name {
			case "system:authenticated":
				return users
			case "system:serviceaccounts":
				set = accounts
			}
		}
		return set
	}
	crbs, err := client.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range crbs.Items {
		if set := kind(b.Subjects); set != nil {
			addRole(set, b.RoleRef, "")
		}
	}
	rbs, err := client.RbacV1().RoleBindings(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range rbs.Items {
		if set := kind(b.Subjects); set != nil {
			addRole(set, b.RoleRef, ns)
		}
	}
	for a := range users {
		delete(accounts, a)
	}
	if len(users) == 0 {
		t.Fatal("nothing is bound to system:authenticated: the control plane lacks its default RBAC")
	}
	return users, accounts
}

// atomsMarked returns the rights of the rules of a namespace's record
// marked with baseline kind.
func (n namespaceRecord) atomsMarked(kind string) atomSet {
	s := atomSet{}
	for _, r := range n.ResourceRules {
		if r.Baseline == kind {
			s.addRule(rbacv1.PolicyRule{APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames, Verbs: r.Verbs})
		}
	}
	for _, r := range n.NonResourceRules {
		if r.Baseline == kind {
			s.addRule(rbacv1.PolicyRule{NonResourceURLs: r.NonResourceURLs, Verbs: r.Verbs})
		}
	}
	return s
}

var foldedLine = regexp.MustCompile(`(?m)^\+ (\d+) rules? every .*; --show-baseline lists them$`)

// TestExplainBaseline: a service account with no rights of its own holds
// nothing beyond the baseline, said in one line; --show-baseline lists the
// rules it folded; -o json marks each, as the cluster's own bindings to
// the groups say.
func TestExplainBaseline(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "app")
	users, accounts := baselineAtoms(t, ns)

	res := access(t, "whoami", "app", "-n", ns).RunOK()
	if strings.Contains(res.Stdout, "RESOURCES") {
		t.Errorf("a rules table for an account with nothing of its own:\n%s", res.Stdout)
	}
	if want := "system:serviceaccount:" + ns + ":app holds nothing beyond the baseline.\n"; !strings.Contains(res.Stdout, want) {
		t.Errorf("no %q:\n%s", want, res.Stdout)
	}
	folded := foldedLine.FindAllStringSubmatch(res.Stdout, -1)
	if len(folded) != 1 || strings.Count(res.Stdout, "\n+ ") != 1 {
		t.Fatalf("want one folded line, got %q:\n%s", folded, res.Stdout)
	}
	n, _ := strconv.Atoi(folded[0][1])
	t.Logf("whoami of an account with no rights of its own:\n%s", res.Stdout)
	if res.Stderr != "" {
		t.Errorf("stderr = %q", res.Stderr)
	}

	res = access(t, "whoami", "app", "-n", ns, "--show-baseline").RunOK()
	rows := allTableRows(res.Stdout)
	if len(rows) != n {
		t.Errorf("--show-baseline lists %d rules, the folded line said %d:\n%s", len(rows), n, res.Stdout)
	}
	for _, row := range rows {
		if row[6] != "authenticated" && row[6] != "serviceaccounts" {
			t.Errorf("row %q is not marked baseline", row)
		}
	}
	if strings.Contains(res.Stdout, "\n+ ") {
		t.Errorf("--show-baseline still folds:\n%s", res.Stdout)
	}

	rec := parseWhoami(t, access(t, "whoami", "app", "-n", ns, "-o", "json").RunOK().Stdout)
	got := rec.namespace(t, ns)
	if all, marked := got.atoms(), got.atomsMarked("authenticated"); len(all) == 0 {
		t.Fatal("no rule listed")
	} else {
		for a := range got.atomsMarked("serviceaccounts") {
			marked[a] = true
		}
		if all.String() != marked.String() {
			t.Errorf("rules not marked baseline: listed %v, marked %v", all, marked)
		}
	}
	if got, want := got.atomsMarked("authenticated"), users; got.String() != want.String() {
		t.Errorf("rules marked authenticated are not what system:authenticated is granted:\n got %v\nwant %v", got, want)
	}
	if got, want := got.atomsMarked("serviceaccounts"), accounts; got.String() != want.String() {
		t.Errorf("rules marked serviceaccounts are not what the service account groups alone are granted:\n got %v\nwant %v", got, want)
	}
	if rec.RBACNote != "" {
		t.Errorf("rbacNote = %q", rec.RBACNote)
	}
}

// TestExplainGrants: --explain names the binding and role of each rule
// granted (a) by a RoleBinding to a Role, (b) by a RoleBinding to a
// ClusterRole, (c) by a ClusterRoleBinding to a group the account is in,
// (d) through an aggregated ClusterRole.
func TestExplainGrants(t *testing.T) {
	ctx := context.Background()
	client := adminClient(t)
	ns := newNamespace(t)
	createServiceAccount(t, ns, "bound")
	suffix := randomSuffix()

	// (a)
	if err := grantRole(ctx, client, ns, "pods-reader", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}, ns, "bound"); err != nil {
		t.Fatal(err)
	}
	// (b)
	cmView := createClusterRole(t, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"list"}})
	if err := createRoleBinding(ctx, client, ns, "cm-view", cmView, ns, "bound"); err != nil {
		t.Fatal(err)
	}
	// (c)
	jobs := createClusterRole(t, rbacv1.PolicyRule{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"watch"}})
	groupBinding := "e2e-explain-group-" + suffix
	group := "system:serviceaccounts:" + ns
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: groupBinding}, RoleRef: jobs,
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.RbacV1().ClusterRoleBindings().Delete(context.Background(), groupBinding, metav1.DeleteOptions{})
	})
	// (d)
	label := map[string]string{"e2e-explain-" + suffix: "true"}
	source, aggregate := "e2e-explain-src-"+suffix, "e2e-explain-agg-"+suffix
	for _, r := range []*rbacv1.ClusterRole{
		{ObjectMeta: metav1.ObjectMeta{Name: source, Labels: label}, Rules: []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: aggregate}, AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: label}}}},
	} {
		if _, err := client.RbacV1().ClusterRoles().Create(ctx, r, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = client.RbacV1().ClusterRoles().Delete(context.Background(), r.Name, metav1.DeleteOptions{})
		})
	}
	if err := createRoleBinding(ctx, client, ns, "agg-bind", rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: aggregate}, ns, "bound"); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		r, err := client.RbacV1().ClusterRoles().Get(ctx, aggregate, metav1.GetOptions{})
		return err == nil && len(r.Rules) > 0, nil
	})
	if err != nil {
		t.Fatalf("the controller never aggregated %s: %v", aggregate, err)
	}

	want := map[string]string{
		"pods":             fmt.Sprintf("RoleBinding %s/pods-reader → Role %s/pods-reader", ns, ns),
		"configmaps":       fmt.Sprintf("RoleBinding %s/cm-view → ClusterRole %s", ns, cmView.Name),
		"jobs.batch":       fmt.Sprintf("ClusterRoleBinding %s → ClusterRole %s to group %s", groupBinding, jobs.Name, group),
		"deployments.apps": fmt.Sprintf("RoleBinding %s/agg-bind → ClusterRole %s (aggregated from %s)", ns, aggregate, source),
	}
	res := access(t, "whoami", "bound", "-n", ns, "--explain", "--show-baseline").RunOK()
	t.Logf("whoami --explain --show-baseline:\n%s", res.Stdout)
	for resource, grant := range want {
		if row := tableRow(t, res.Stdout, resource); row[7] != grant {
			t.Errorf("%s is granted by %q, want %q", resource, row[7], grant)
		}
	}
	// The namespace group's grant is marked, never folded: it is given to
	// this namespace's accounts on purpose. -o wide is --explain.
	res = access(t, "whoami", "bound", "-n", ns, "-o", "wide").RunOK()
	for _, resource := range []string{"pods", "configmaps", "deployments.apps", "jobs.batch"} {
		if row := tableRow(t, res.Stdout, resource); row[7] != want[resource] {
			t.Errorf("-o wide: %s is granted by %q, want %q", resource, row[7], want[resource])
		}
	}
	if row := tableRow(t, res.Stdout, "pods"); row[4] != ns || row[3] != "[get]" {
		t.Errorf("pods row %q", row)
	}

	rec := parseWhoami(t, access(t, "whoami", "bound", "-n", ns, "--explain", "-o", "json").RunOK().Stdout)
	found := map[string]string{}
	for _, r := range rec.namespace(t, ns).ResourceRules {
		if r.GrantedElsewhere {
			t.Errorf("rule %v is labelled as granted elsewhere", r.Resources)
		}
		if len(r.GrantedBy) == 0 {
			t.Errorf("rule %v names no grant", r.Resources)
		}
		for _, g := range r.GrantedBy {
			found[r.Resources[0]] = g.Binding.Kind + " " + g.Binding.Name + " " + g.Role.Name + " " + g.Subject.Kind + ":" + g.Subject.Name + " " + strings.Join(g.AggregatedFrom, ",")
		}
		if slices.Contains(r.Resources, "jobs") && r.Baseline != "namespace" {
			t.Errorf("jobs is marked %q, want namespace", r.Baseline)
		}
	}
	for resource, grant := range map[string]string{
		"pods":        "RoleBinding pods-reader pods-reader ServiceAccount:bound ",
		"configmaps":  "RoleBinding cm-view " + cmView.Name + " ServiceAccount:bound ",
		"jobs":        "ClusterRoleBinding " + groupBinding + " " + jobs.Name + " Group:" + group + " ",
		"deployments": "RoleBinding agg-bind " + aggregate + " ServiceAccount:bound " + source,
	} {
		if found[resource] != grant {
			t.Errorf("-o json: %s granted by %q, want %q", resource, found[resource], grant)
		}
	}
}

// TestExplainWithoutRBACReadAccess: a caller that may obtain the token but
// not list RBAC objects gets one note, nothing folded or explained, and
// otherwise the same rules.
func TestExplainWithoutRBACReadAccess(t *testing.T) {
	ctx := context.Background()
	client := adminClient(t)
	ns := newNamespace(t)
	createServiceAccount(t, ns, "target")
	bindRole(t, ns, "target", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}})
	createServiceAccount(t, ns, "caller")
	if err := grantRole(ctx, client, ns, "token-minter", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts", "serviceaccounts/token", "secrets"}, Verbs: []string{"get", "list", "create"}}, ns, "caller"); err != nil {
		t.Fatal(err)
	}
	limited := tokenKubeconfig(t, requestToken(t, ns, "caller"), ns)

	res := access(t, "whoami", "target", "-n", ns, "--explain").WithKubeconfig(limited).RunOK()
	note := "Note: no rule is folded into the baseline or explained: the kubeconfig's credentials may not list "
	if !strings.HasPrefix(res.Stderr, note) || strings.Count(res.Stderr, "\n") != 1 {
		t.Errorf("stderr = %q, want one line starting %q", res.Stderr, note)
	}
	if strings.Contains(res.Stdout, "GRANTED BY") || strings.Contains(res.Stdout, "\n+ ") || strings.Contains(res.Stdout, "beyond the baseline") {
		t.Errorf("something is folded or explained without RBAC:\n%s", res.Stdout)
	}
	if row := tableRow(t, res.Stdout, "pods"); row[3] != "[get]" || row[4] != ns {
		t.Errorf("pods row %q", row)
	}
	if rows := tableRows(t, res.Stdout, "selfsubjectreviews.authentication.k8s.io", ""); len(rows) != 1 {
		t.Errorf("the baseline rows are not all listed:\n%s", res.Stdout)
	}

	// The record: the same rules as the admin's run, none marked, the note.
	limitedRec := parseWhoami(t, access(t, "whoami", "target", "-n", ns, "-o", "json", "--explain").WithKubeconfig(limited).RunOK().Stdout)
	adminRec := parseWhoami(t, access(t, "whoami", "target", "-n", ns, "-o", "json").RunOK().Stdout)
	if got, want := limitedRec.namespace(t, ns).atoms(), adminRec.namespace(t, ns).atoms(); got.String() != want.String() {
		t.Errorf("the rules differ with a caller that cannot read RBAC:\n got %v\nwant %v", got, want)
	}
	if !strings.HasPrefix("Note: "+limitedRec.RBACNote, note) {
		t.Errorf("rbacNote = %q", limitedRec.RBACNote)
	}
	for _, r := range limitedRec.namespace(t, ns).NonResourceRules {
		if r.Baseline != "" || len(r.GrantedBy) > 0 {
			t.Errorf("rule %v is marked without RBAC", r.NonResourceURLs)
		}
	}
}
