package risk

import (
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
		if c.ID == "" || c.Reason == "" || c.grants == nil {
			t.Errorf("check %+v is incomplete", c)
		}
		if seen[c.ID] {
			t.Errorf("check ID %q is used twice", c.ID)
		}
		seen[c.ID] = true
	}
}
