package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// whoamiRecord mirrors `kubectl access whoami -o json`.
type whoamiRecord struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	User       struct {
		Username string              `json:"username"`
		UID      string              `json:"uid"`
		Groups   []string            `json:"groups"`
		Extra    map[string][]string `json:"extra"`
	} `json:"user"`
	IdentitySource string            `json:"identitySource"`
	Namespaces     []namespaceRecord `json:"namespaces"`
	RBACNote       string            `json:"rbacNote"`
	Risks          []struct {
		Namespace string            `json:"namespace"`
		Rule      rbacv1.PolicyRule `json:"rule"`
		Check     string            `json:"check"`
		// Severity, SeverityNote, Accepted and AcceptedReason were added
		// to v1alpha1 with the severities (additive fields).
		Severity       string `json:"severity"`
		SeverityNote   string `json:"severityNote"`
		Reason         string `json:"reason"`
		Accepted       bool   `json:"accepted"`
		AcceptedReason string `json:"acceptedReason"`
	} `json:"risks"`
}

// namespaceRecord mirrors one entry of the record's namespaces.
type namespaceRecord struct {
	Namespace     string `json:"namespace"`
	ResourceRules []struct {
		Verbs         []string `json:"verbs"`
		APIGroups     []string `json:"apiGroups"`
		Resources     []string `json:"resources"`
		ResourceNames []string `json:"resourceNames"`
		ruleSource
	} `json:"resourceRules"`
	NonResourceRules []struct {
		Verbs           []string `json:"verbs"`
		NonResourceURLs []string `json:"nonResourceURLs"`
		ruleSource
	} `json:"nonResourceRules"`
	Incomplete      bool    `json:"incomplete"`
	EvaluationError *string `json:"evaluationError"`
	Error           string  `json:"error"`
}

// ruleSource mirrors where a listed rule comes from.
type ruleSource struct {
	Baseline  string `json:"baseline"`
	GrantedBy []struct {
		Binding        objectRef      `json:"binding"`
		Role           objectRef      `json:"role"`
		AggregatedFrom []string       `json:"aggregatedFrom"`
		Subject        rbacv1.Subject `json:"subject"`
	} `json:"grantedBy"`
	GrantedElsewhere bool `json:"grantedElsewhere"`
}

// objectRef mirrors the name of an RBAC object in a grant.
type objectRef struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// parseWhoami decodes whoami -o json output, failing on unknown shapes.
func parseWhoami(t *testing.T, stdout string) whoamiRecord {
	t.Helper()
	return decodeRecord[whoamiRecord](t, "whoami", stdout)
}

// namespace returns the record's entry for ns.
func (r whoamiRecord) namespace(t *testing.T, ns string) namespaceRecord {
	t.Helper()
	for _, n := range r.Namespaces {
		if n.Namespace == ns {
			return n
		}
	}
	t.Fatalf("namespace %s is not in the record", ns)
	return namespaceRecord{}
}

// atomSet is a set of single rights: "group/resource/name verb" (name empty
// for all names) or "url verb".
type atomSet map[string]bool

func (s atomSet) sorted() []string {
	out := make([]string, 0, len(s))
	for a := range s {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// addRule adds every single right of an RBAC rule.
func (s atomSet) addRule(r rbacv1.PolicyRule) {
	names := r.ResourceNames
	if len(names) == 0 {
		names = []string{""}
	}
	for _, g := range r.APIGroups {
		for _, res := range r.Resources {
			for _, n := range names {
				for _, v := range r.Verbs {
					s[g+"/"+res+"/"+n+" "+v] = true
				}
			}
		}
	}
	for _, u := range r.NonResourceURLs {
		for _, v := range r.Verbs {
			s[u+" "+v] = true
		}
	}
}

// atoms returns the single rights a namespace's review lists.
func (n namespaceRecord) atoms() atomSet {
	s := atomSet{}
	for _, r := range n.ResourceRules {
		s.addRule(rbacv1.PolicyRule{APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames, Verbs: r.Verbs})
	}
	for _, r := range n.NonResourceRules {
		s.addRule(rbacv1.PolicyRule{NonResourceURLs: r.NonResourceURLs, Verbs: r.Verbs})
	}
	return s
}

// authenticatedDefaults returns the rights the cluster grants every
// authenticated user and every service account: the rules of the
// ClusterRoles bound to system:authenticated or system:serviceaccounts.
func authenticatedDefaults(t *testing.T) atomSet {
	t.Helper()
	ctx := context.Background()
	client := adminClient(t)
	bindings, err := client.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := atomSet{}
	for _, b := range bindings.Items {
		everyone := false
		for _, sub := range b.Subjects {
			if sub.Kind == rbacv1.GroupKind && (sub.Name == "system:authenticated" || sub.Name == "system:serviceaccounts") {
				everyone = true
			}
		}
		if !everyone || b.RoleRef.Kind != "ClusterRole" {
			continue
		}
		role, err := client.RbacV1().ClusterRoles().Get(ctx, b.RoleRef.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range role.Rules {
			s.addRule(r)
		}
	}
	if len(s) == 0 {
		t.Fatal("no ClusterRole is bound to system:authenticated: the control plane lacks its default RBAC")
	}
	return s
}

// createClusterRole creates a ClusterRole, deleted when the test ends.
func createClusterRole(t *testing.T, rules ...rbacv1.PolicyRule) rbacv1.RoleRef {
	t.Helper()
	client := adminClient(t)
	name := "e2e-whoami-" + randomSuffix()
	if _, err := client.RbacV1().ClusterRoles().Create(context.Background(), &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating ClusterRole: %v", err)
	}
	t.Cleanup(func() { _ = client.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}
}

// createNamespaces creates n empty namespaces at once, without waiting for
// their default service accounts, deleted when the test ends.
func createNamespaces(t *testing.T, n int) []string {
	t.Helper()
	cfg := adminConfig(t)
	cfg.QPS, cfg.Burst = 100, 100
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ns, err := client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-many-"}}, metav1.CreateOptions{})
			if err == nil {
				names[i] = ns.Name
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if names[i] != "" {
			name := names[i]
			t.Cleanup(func() { _ = client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}) })
		}
		if err != nil {
			t.Fatalf("creating namespace %d of %d: %v", i+1, n, err)
		}
	}
	sort.Strings(names)
	return names
}

// tableRows returns the cells of the rules table's rows whose first
// column is resource (use "" with url for a non-resource row): RESOURCES,
// NON-RESOURCE URLS, RESOURCE NAMES, VERBS, WHERE, RISK, then BASELINE
// (--show-baseline) and GRANTED BY (--explain), "" when not shown.
func tableRows(t *testing.T, stdout, resource, url string) [][]string {
	t.Helper()
	var rows [][]string
	for _, cells := range allTableRows(stdout) {
		if cells[0] == resource && (url == "" || cells[1] == "["+url+"]") {
			rows = append(rows, cells)
		}
	}
	return rows
}

// allTableRows returns the cells of every row of the rules table, as
// tableRows does.
func allTableRows(stdout string) [][]string {
	columns := []string{"RESOURCES", "NON-RESOURCE URLS", "RESOURCE NAMES", "VERBS", "WHERE", "RISK", "BASELINE", "GRANTED BY"}
	var header []int
	var rows [][]string
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "RESOURCES ") {
			header = []int{}
			for _, col := range columns {
				header = append(header, strings.Index(line, col))
			}
			continue
		}
		if header == nil || strings.TrimSpace(line) == "" || strings.HasPrefix(line, "+ ") {
			header = nil
			continue
		}
		// Cut the line at the header's column starts: cells can be empty,
		// and a column not shown starts nowhere. The text is cut by runes:
		// a GRANTED BY cell holds arrows.
		runes := []rune(line)
		cells := make([]string, len(header))
		for i, start := range header {
			if start < 0 {
				continue
			}
			end := len(runes)
			for _, next := range header[i+1:] {
				if next >= 0 {
					end = min(next, len(runes))
					break
				}
			}
			if start < len(runes) {
				cells[i] = strings.TrimSpace(string(runes[start:end]))
			}
		}
		rows = append(rows, cells)
	}
	return rows
}

// tableRow returns the one row for resource, failing unless there is
// exactly one.
func tableRow(t *testing.T, stdout, resource string) []string {
	t.Helper()
	rows := tableRows(t, stdout, resource, "")
	if len(rows) != 1 {
		t.Fatalf("%d table rows for %q, want 1:\n%s", len(rows), resource, stdout)
	}
	return rows[0]
}

// countResponses counts the HTTP round trips client-go logged at -v=6.
func countResponses(stderr string) int {
	return strings.Count(stderr, `"Response" verb=`)
}

// describe lists a set for failure messages.
func (s atomSet) String() string { return fmt.Sprint(s.sorted()) }
