package risk

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
)

func rule(groups, resources, verbs []string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs, ResourceNames: names}
}

func s(v ...string) []string { return v }

func TestAssess(t *testing.T) {
	core, apps, batch := s(""), s("apps"), s("batch")
	rbac := s("rbac.authorization.k8s.io")
	cases := []struct {
		name string
		rule rbacv1.PolicyRule
		want []string
	}{
		// Admin.
		{"cluster-admin", rule(s("*"), s("*"), s("*")), s(Admin)},
		{"every verb on every core resource", rule(core, s("*"), s("*")),
			s(Admin, ReadSecrets, Exec, CreateToken, Impersonate, NodesProxy, WriteWorkloads)},
		{"every verb on every apps resource", rule(apps, s("*"), s("*")), s(Admin, WriteWorkloads)},
		{"get on everything is not admin but reads secrets", rule(s("*"), s("*"), s("get", "list", "watch")), s(ReadSecrets, NodesProxy)},
		{"every verb on pods only", rule(core, s("pods"), s("*")), s(WriteWorkloads)},

		// Secrets.
		{"get secrets", rule(core, s("secrets"), s("get")), s(ReadSecrets)},
		{"list secrets", rule(core, s("secrets"), s("list")), s(ReadSecrets)},
		{"watch secrets", rule(core, s("secrets"), s("watch")), s(ReadSecrets)},
		{"named secret is still marked", rule(core, s("secrets"), s("get"), "app-config"), s(ReadSecrets)},
		{"secrets in any group", rule(s("*"), s("secrets"), s("get")), s(ReadSecrets)},
		{"create secrets does not read them", rule(core, s("secrets"), s("create")), nil},
		{"secrets of another group", rule(s("example.com"), s("secrets"), s("get")), nil},

		// Exec, attach, tokens.
		{"exec", rule(core, s("pods/exec"), s("create")), s(Exec)},
		{"attach", rule(core, s("pods/attach"), s("create")), s(Exec)},
		{"every exec subresource", rule(core, s("*/exec"), s("create")), s(Exec)},
		{"get pods/exec is not create", rule(core, s("pods/exec"), s("get")), nil},
		{"pods without the subresource", rule(core, s("pods"), s("get", "list")), nil},
		{"port-forward is not exec", rule(core, s("pods/portforward"), s("create")), nil},
		{"create token", rule(core, s("serviceaccounts/token"), s("create")), s(CreateToken)},
		{"read service accounts", rule(core, s("serviceaccounts"), s("get", "list")), nil},

		// Impersonation.
		{"impersonate users", rule(core, s("users"), s("impersonate")), s(Impersonate)},
		{"impersonate service accounts", rule(core, s("serviceaccounts"), s("impersonate"), "ci"), s(Impersonate)},
		{"impersonate extras", rule(s("authentication.k8s.io"), s("userextras/scopes"), s("impersonate")), s(Impersonate)},
		{"every verb on groups", rule(core, s("groups"), s("*")), s(Impersonate)},
		{"every verb on uids", rule(s("authentication.k8s.io"), s("uids"), s("*")), s(Impersonate)},
		{"every verb on user extras", rule(s("authentication.k8s.io"), s("userextras/scopes"), s("*")), s(Impersonate)},
		{"constrained impersonation verb", rule(s("authentication.k8s.io"), s("serviceaccounts"), s("impersonate:serviceaccount")), s(Impersonate)},

		// Escalate and bind.
		{"escalate roles", rule(rbac, s("roles"), s("escalate")), s(EscalateOrBind)},
		{"bind clusterroles", rule(rbac, s("clusterroles"), s("bind")), s(EscalateOrBind)},
		{"bind in the core group is nothing", rule(core, s("roles"), s("bind")), nil},
		{"read roles", rule(rbac, s("roles", "rolebindings", "clusterroles", "clusterrolebindings"), s("get", "list", "watch")), nil},

		// Kubelet.
		{"get nodes/proxy", rule(core, s("nodes/proxy"), s("get")), s(NodesProxy)},
		{"every proxy subresource", rule(core, s("*/proxy"), s("create")), s(NodesProxy)},
		{"nodes without proxy", rule(core, s("nodes"), s("get", "list")), nil},
		{"every HTTP method's verb on nodes/proxy", rule(core, s("nodes/proxy"), s("update")), s(NodesProxy)},
		{"delete nodes/proxy", rule(core, s("nodes/proxy"), s("delete")), s(NodesProxy)},
		{"a proxied request always names a node, so list is nothing", rule(core, s("nodes/proxy"), s("list", "watch", "deletecollection")), nil},
		{"proxy of another group", rule(s("example.com"), s("nodes/proxy"), s("get")), nil},

		// Writes to RBAC, webhooks and workloads.
		{"create rolebindings", rule(rbac, s("rolebindings"), s("create")), s(WriteRBAC)},
		{"patch clusterrolebindings", rule(rbac, s("clusterrolebindings"), s("patch")), s(WriteRBAC)},
		{"delete roles", rule(rbac, s("roles"), s("delete")), s(WriteRBAC)},
		{"every verb on RBAC", rule(rbac, s("*"), s("*")), s(Admin, EscalateOrBind, WriteRBAC)},
		{"update validating webhooks", rule(s("admissionregistration.k8s.io"), s("validatingwebhookconfigurations"), s("update")), s(WriteWebhooks)},
		{"create mutating webhooks", rule(s("admissionregistration.k8s.io"), s("mutatingwebhookconfigurations"), s("create")), s(WriteWebhooks)},
		{"read webhooks", rule(s("admissionregistration.k8s.io"), s("mutatingwebhookconfigurations"), s("get", "list")), nil},
		{"create pods", rule(core, s("pods"), s("create")), s(WriteWorkloads)},
		{"delete pods", rule(core, s("pods"), s("delete")), s(WriteWorkloads)},
		{"patch deployments", rule(apps, s("deployments"), s("patch")), s(WriteWorkloads)},
		{"create daemonsets, statefulsets, replicasets", rule(apps, s("daemonsets", "statefulsets", "replicasets"), s("create")), s(WriteWorkloads)},
		{"create jobs", rule(batch, s("jobs"), s("create")), s(WriteWorkloads)},
		{"update cronjobs", rule(batch, s("cronjobs"), s("update")), s(WriteWorkloads)},
		{"create replicationcontrollers", rule(core, s("replicationcontrollers"), s("create")), s(WriteWorkloads)},
		{"deployments in the wrong group", rule(core, s("deployments"), s("create")), nil},
		{"jobs in apps", rule(apps, s("jobs"), s("create")), nil},
		{"scale deployments", rule(apps, s("deployments/scale"), s("update")), nil},
		{"read workloads", rule(s("", "apps", "batch"), s("pods", "deployments", "jobs"), s("get", "list", "watch")), nil},

		// Harmless rules.
		{"configmaps", rule(core, s("configmaps"), s("get", "list", "create", "update")), nil},
		{"self reviews", rule(s("authorization.k8s.io"), s("selfsubjectrulesreviews", "selfsubjectaccessreviews"), s("create")), nil},
		{"non-resource URLs", rbacv1.PolicyRule{NonResourceURLs: s("*"), Verbs: s("*")}, nil},
		{"empty rule", rbacv1.PolicyRule{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range Assess(tc.rule) {
				got = append(got, f.Check)
				if f.Reason == "" {
					t.Errorf("finding %s has no reason", f.Check)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Assess(%v) checks (-want +got):\n%s", tc.rule, diff)
			}
		})
	}
}

func TestChecksAreDistinctAndExplained(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Checks() {
		if c.ID == "" || c.Reason == "" || len(c.Actions) == 0 {
			t.Errorf("check %+v is incomplete", c)
		}
		if seen[c.ID] {
			t.Errorf("check ID %q is used twice", c.ID)
		}
		seen[c.ID] = true
		actions := map[Action]bool{}
		for _, a := range c.Actions {
			if actions[a] {
				t.Errorf("check %s lists %q twice", c.ID, a)
			}
			actions[a] = true
		}
	}
}

// TestEveryActionFailsItsCheck proves the two uses of a check agree: a rule
// granting exactly one of its actions, and nothing else, fails the check,
// also for the checks that match rules their own way.
func TestEveryActionFailsItsCheck(t *testing.T) {
	for _, c := range Checks() {
		for _, a := range c.Actions {
			resource := a.Resource
			if a.Subresource != "" {
				resource += "/" + a.Subresource
			}
			r := rule(s(a.Group), s(resource), s(a.Verb))
			if !slices.ContainsFunc(Assess(r), func(f Finding) bool { return f.Check == c.ID }) {
				t.Errorf("%s: a rule granting only %q does not fail the check", c.ID, a)
			}
			parsed, err := ParseAction(a.String())
			if err != nil || parsed != a {
				t.Errorf("%s: action %+v written %q reads back as %+v, %v", c.ID, a, a.String(), parsed, err)
			}
		}
	}
}

func TestCheckActions(t *testing.T) {
	want := map[string][]string{
		Admin:          s("* *.*"),
		ReadSecrets:    s("get secrets", "list secrets", "watch secrets"),
		Exec:           s("create pods/exec", "create pods/attach"),
		CreateToken:    s("create serviceaccounts/token"),
		Impersonate:    s("impersonate users", "impersonate groups", "impersonate serviceaccounts"),
		EscalateOrBind: s("escalate roles.rbac.authorization.k8s.io", "bind roles.rbac.authorization.k8s.io", "escalate clusterroles.rbac.authorization.k8s.io", "bind clusterroles.rbac.authorization.k8s.io"),
		NodesProxy:     s("get nodes/proxy", "create nodes/proxy", "update nodes/proxy", "patch nodes/proxy", "delete nodes/proxy"),
	}
	writes := func(resources ...string) []string {
		var out []string
		for _, r := range resources {
			for _, v := range s("create", "update", "patch", "delete", "deletecollection") {
				out = append(out, v+" "+r)
			}
		}
		return out
	}
	want[WriteRBAC] = writes("roles.rbac.authorization.k8s.io", "rolebindings.rbac.authorization.k8s.io", "clusterroles.rbac.authorization.k8s.io", "clusterrolebindings.rbac.authorization.k8s.io")
	want[WriteWebhooks] = writes("mutatingwebhookconfigurations.admissionregistration.k8s.io", "validatingwebhookconfigurations.admissionregistration.k8s.io")
	want[WriteWorkloads] = writes("pods", "replicationcontrollers", "deployments.apps", "daemonsets.apps", "statefulsets.apps", "replicasets.apps", "jobs.batch", "cronjobs.batch")

	got := map[string][]string{}
	var order []string
	for _, c := range Checks() {
		order = append(order, c.ID)
		for _, a := range c.Actions {
			got[c.ID] = append(got[c.ID], a.String())
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("check actions (-want +got):\n%s", diff)
	}
	wantOrder := s(Admin, ReadSecrets, Exec, CreateToken, Impersonate, EscalateOrBind, NodesProxy, WriteRBAC, WriteWebhooks, WriteWorkloads)
	if diff := cmp.Diff(wantOrder, order); diff != "" {
		t.Errorf("check order (-want +got):\n%s", diff)
	}
}
