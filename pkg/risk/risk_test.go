package risk

import (
	"cmp"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
)

func rule(groups, resources, verbs []string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs, ResourceNames: names}
}

func s(v ...string) []string { return v }

// g writes a finding the way the tests expect it: "check(severity)".
func g(check string, sev Severity) string { return check + "(" + sev.String() + ")" }

func TestAssess(t *testing.T) {
	core, apps, batch := s(""), s("apps"), s("batch")
	rbac := s("rbac.authorization.k8s.io")
	adm := s("admissionregistration.k8s.io")
	cases := []struct {
		name string
		rule rbacv1.PolicyRule
		want []string
	}{
		// Admin.
		{"cluster-admin", rule(s("*"), s("*"), s("*")), s(g(Admin, Critical))},
		{"every verb on every core resource", rule(core, s("*"), s("*")),
			s(g(Admin, Critical), g(Impersonate, Critical), g(NodesProxy, Critical), g(CreateToken, Critical),
				g(ReadSecrets, High), g(WriteSecrets, High), g(Exec, High), g(EphemeralContainers, High), g(WriteWorkloads, High),
				g(PodStealing, High), g(CreatePersistentVolume, High), g(WriteStatus, Medium))},
		{"every verb on every apps resource", rule(apps, s("*"), s("*")), s(g(Admin, Critical), g(WriteWorkloads, High))},
		{"get on everything is not admin but reads secrets", rule(s("*"), s("*"), s("get", "list", "watch")), s(g(NodesProxy, Critical), g(ReadSecrets, High))},
		{"every verb on pods only", rule(core, s("pods"), s("*")), s(g(WriteWorkloads, High))},

		// Secrets.
		{"get secrets", rule(core, s("secrets"), s("get")), s(g(ReadSecrets, High))},
		{"list secrets", rule(core, s("secrets"), s("list")), s(g(ReadSecrets, High))},
		{"watch secrets", rule(core, s("secrets"), s("watch")), s(g(ReadSecrets, High))},
		{"a named secret is marked one step lower", rule(core, s("secrets"), s("get"), "app-config"), s(g(ReadSecrets, Medium))},
		{"secrets in any group", rule(s("*"), s("secrets"), s("get")), s(g(ReadSecrets, High))},
		{"secrets of another group", rule(s("example.com"), s("secrets"), s("get")), nil},
		{"create secrets mints tokens", rule(core, s("secrets"), s("create")), s(g(WriteSecrets, High))},
		{"update secrets", rule(core, s("secrets"), s("update")), s(g(WriteSecrets, High))},
		{"patch secrets", rule(core, s("secrets"), s("patch")), s(g(WriteSecrets, High))},
		{"delete secrets writes none", rule(core, s("secrets"), s("delete", "deletecollection")), nil},

		// Exec, attach, ephemeral containers, tokens.
		{"exec", rule(core, s("pods/exec"), s("create")), s(g(Exec, High))},
		{"attach", rule(core, s("pods/attach"), s("create")), s(g(Exec, High))},
		{"every exec subresource", rule(core, s("*/exec"), s("create")), s(g(Exec, High))},
		{"get pods/exec is not create", rule(core, s("pods/exec"), s("get")), nil},
		{"pods without the subresource", rule(core, s("pods"), s("get", "list")), nil},
		{"port-forward is not exec", rule(core, s("pods/portforward"), s("create")), nil},
		{"patch ephemeral containers", rule(core, s("pods/ephemeralcontainers"), s("patch")), s(g(EphemeralContainers, High))},
		{"update ephemeral containers", rule(core, s("pods/ephemeralcontainers"), s("update")), s(g(EphemeralContainers, High))},
		{"read ephemeral containers", rule(core, s("pods/ephemeralcontainers"), s("get")), nil},
		{"create token", rule(core, s("serviceaccounts/token"), s("create")), s(g(CreateToken, Critical))},
		{"read service accounts", rule(core, s("serviceaccounts"), s("get", "list")), nil},

		// Impersonation.
		{"impersonate users", rule(core, s("users"), s("impersonate")), s(g(Impersonate, Critical))},
		{"impersonating one named service account is one step lower", rule(core, s("serviceaccounts"), s("impersonate"), "ci"), s(g(Impersonate, High))},
		{"impersonate extras", rule(s("authentication.k8s.io"), s("userextras/scopes"), s("impersonate")), s(g(Impersonate, Critical))},
		{"every verb on groups", rule(core, s("groups"), s("*")), s(g(Impersonate, Critical))},
		{"every verb on uids", rule(s("authentication.k8s.io"), s("uids"), s("*")), s(g(Impersonate, Critical))},
		{"every verb on user extras", rule(s("authentication.k8s.io"), s("userextras/scopes"), s("*")), s(g(Impersonate, Critical))},
		{"constrained impersonation verb", rule(s("authentication.k8s.io"), s("serviceaccounts"), s("impersonate:serviceaccount")), s(g(Impersonate, Critical))},

		// Escalate and bind.
		{"escalate roles", rule(rbac, s("roles"), s("escalate")), s(g(EscalateOrBind, Critical))},
		{"bind clusterroles", rule(rbac, s("clusterroles"), s("bind")), s(g(EscalateOrBind, Critical))},
		{"binding one named clusterrole is one step lower", rule(rbac, s("clusterroles"), s("bind"), "view"), s(g(EscalateOrBind, High))},
		{"bind in the core group is nothing", rule(core, s("roles"), s("bind")), nil},
		{"read roles", rule(rbac, s("roles", "rolebindings", "clusterroles", "clusterrolebindings"), s("get", "list", "watch")), nil},

		// Kubelet and nodes.
		{"get nodes/proxy", rule(core, s("nodes/proxy"), s("get")), s(g(NodesProxy, Critical))},
		{"every proxy subresource", rule(core, s("*/proxy"), s("create")), s(g(NodesProxy, Critical))},
		{"nodes without proxy", rule(core, s("nodes"), s("get", "list")), nil},
		{"every HTTP method's verb on nodes/proxy", rule(core, s("nodes/proxy"), s("update")), s(g(NodesProxy, Critical))},
		{"delete nodes/proxy", rule(core, s("nodes/proxy"), s("delete")), s(g(NodesProxy, Critical))},
		{"a proxied request always names a node, so list is nothing", rule(core, s("nodes/proxy"), s("list", "watch", "deletecollection")), nil},
		{"proxy of another group", rule(s("example.com"), s("nodes/proxy"), s("get")), nil},
		{"patch nodes alone steals no pods", rule(core, s("nodes"), s("patch")), nil},
		{"update and patch nodes/status", rule(core, s("nodes/status"), s("update", "patch")), s(g(WriteStatus, Medium))},
		{"patch pods/status", rule(core, s("pods/status"), s("patch")), s(g(WriteStatus, Medium))},
		{"read status", rule(core, s("nodes/status", "pods/status"), s("get")), nil},

		// Certificates.
		{"approving without a signer approves nothing", rule(s("certificates.k8s.io"), s("certificatesigningrequests/approval"), s("update")), nil},
		{"a signer without the approval subresource approves nothing", rule(s("certificates.k8s.io"), s("signers"), s("approve")), nil},
		{"every verb on certificates approves", rule(s("certificates.k8s.io"), s("*"), s("*")), s(g(Admin, Critical), g(ApproveCSR, Critical))},

		// Writes to RBAC, webhooks, policies, CRDs, volumes and workloads.
		{"create rolebindings", rule(rbac, s("rolebindings"), s("create")), s(g(WriteRBAC, Critical))},
		{"patch clusterrolebindings", rule(rbac, s("clusterrolebindings"), s("patch")), s(g(WriteRBAC, Critical))},
		{"delete roles", rule(rbac, s("roles"), s("delete")), s(g(WriteRBAC, Critical))},
		{"every verb on RBAC", rule(rbac, s("*"), s("*")), s(g(Admin, Critical), g(EscalateOrBind, Critical), g(WriteRBAC, Critical))},
		{"update validating webhooks", rule(adm, s("validatingwebhookconfigurations"), s("update")), s(g(WriteWebhooks, High))},
		{"create mutating webhooks", rule(adm, s("mutatingwebhookconfigurations"), s("create")), s(g(WriteWebhooks, High))},
		{"read webhooks", rule(adm, s("mutatingwebhookconfigurations"), s("get", "list")), nil},
		{"create validating admission policies", rule(adm, s("validatingadmissionpolicies"), s("create")), s(g(WriteAdmissionPolicies, High))},
		{"delete validating admission policy bindings", rule(adm, s("validatingadmissionpolicybindings"), s("delete")), s(g(WriteAdmissionPolicies, High))},
		{"patch mutating admission policies", rule(adm, s("mutatingadmissionpolicies"), s("patch")), s(g(WriteAdmissionPolicies, High))},
		{"update mutating admission policy bindings", rule(adm, s("mutatingadmissionpolicybindings"), s("update")), s(g(WriteAdmissionPolicies, High))},
		{"read admission policies", rule(adm, s("validatingadmissionpolicies", "mutatingadmissionpolicies"), s("get", "list", "watch")), nil},
		{"every verb on admission", rule(adm, s("*"), s("*")), s(g(Admin, Critical), g(WriteWebhooks, High), g(WriteAdmissionPolicies, High))},
		{"create CRDs", rule(s("apiextensions.k8s.io"), s("customresourcedefinitions"), s("create")), s(g(WriteCRDs, Medium))},
		{"deletecollection CRDs", rule(s("apiextensions.k8s.io"), s("customresourcedefinitions"), s("deletecollection")), s(g(WriteCRDs, Medium))},
		{"changing one named CRD is one step lower", rule(s("apiextensions.k8s.io"), s("customresourcedefinitions"), s("update"), "widgets.example.com"), s(g(WriteCRDs, Low))},
		{"read CRDs", rule(s("apiextensions.k8s.io"), s("customresourcedefinitions"), s("get", "list")), nil},
		{"create persistentvolumes", rule(core, s("persistentvolumes"), s("create")), s(g(CreatePersistentVolume, High))},
		{"delete persistentvolumes creates none", rule(core, s("persistentvolumes"), s("delete", "update")), nil},
		{"create persistentvolumeclaims is no volume", rule(core, s("persistentvolumeclaims"), s("create")), nil},
		{"create pods", rule(core, s("pods"), s("create")), s(g(WriteWorkloads, High))},
		{"delete pods", rule(core, s("pods"), s("delete")), s(g(WriteWorkloads, High))},
		{"patch deployments", rule(apps, s("deployments"), s("patch")), s(g(WriteWorkloads, High))},
		{"create daemonsets, statefulsets, replicasets", rule(apps, s("daemonsets", "statefulsets", "replicasets"), s("create")), s(g(WriteWorkloads, High))},
		{"create jobs", rule(batch, s("jobs"), s("create")), s(g(WriteWorkloads, High))},
		{"update cronjobs", rule(batch, s("cronjobs"), s("update")), s(g(WriteWorkloads, High))},
		{"create replicationcontrollers", rule(core, s("replicationcontrollers"), s("create")), s(g(WriteWorkloads, High))},
		{"deployments in the wrong group", rule(core, s("deployments"), s("create")), nil},
		{"jobs in apps", rule(apps, s("jobs"), s("create")), nil},
		{"scale deployments", rule(apps, s("deployments/scale"), s("update")), nil},
		{"read workloads", rule(s("", "apps", "batch"), s("pods", "deployments", "jobs"), s("get", "list", "watch")), nil},

		// Harmless rules, and aws-auth outside kube-system.
		{"configmaps", rule(core, s("configmaps"), s("get", "list", "create", "update")), nil},
		{"an aws-auth ConfigMap outside kube-system is nothing", rule(core, s("configmaps"), s("update"), "aws-auth"), nil},
		{"self reviews", rule(s("authorization.k8s.io"), s("selfsubjectrulesreviews", "selfsubjectaccessreviews"), s("create")), nil},
		{"non-resource URLs", rbacv1.PolicyRule{NonResourceURLs: s("*"), Verbs: s("*")}, nil},
		{"empty rule", rbacv1.PolicyRule{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range Assess("app", []rbacv1.PolicyRule{tc.rule}) {
				got = append(got, g(f.Check, f.Severity))
				if f.Reason == "" {
					t.Errorf("finding %s has no reason", f.Check)
				}
				if f.Rule != 0 {
					t.Errorf("finding %s names rule %d of 1", f.Check, f.Rule)
				}
			}
			if diff := gocmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Assess(%v) checks (-want +got):\n%s", tc.rule, diff)
			}
		})
	}
}

// TestAssessTogether covers what only the rules of a namespace judged
// together show: the combination checks, found on the rule of their first
// half, and the checks and weights of kube-system.
func TestAssessTogether(t *testing.T) {
	core, certs := s(""), s("certificates.k8s.io")
	patchNodes := rule(core, s("nodes"), s("patch"))
	type want struct {
		Rule     int
		Check    string
		Severity Severity
		Note     string
	}
	cases := []struct {
		name      string
		namespace string
		rules     []rbacv1.PolicyRule
		want      []want
	}{
		{"patch nodes and evict pods steal pods", "app",
			[]rbacv1.PolicyRule{rule(core, s("pods/eviction"), s("create")), patchNodes},
			[]want{{Rule: 1, Check: PodStealing, Severity: High}}},
		{"update nodes and delete pods steal pods", "app",
			[]rbacv1.PolicyRule{rule(core, s("nodes"), s("update")), rule(core, s("pods"), s("delete"))},
			[]want{{Rule: 0, Check: PodStealing, Severity: High}, {Rule: 1, Check: WriteWorkloads, Severity: High}}},
		{"one rule with both halves", "app",
			[]rbacv1.PolicyRule{rule(core, s("nodes", "pods"), s("patch", "delete"))},
			[]want{{Rule: 0, Check: WriteWorkloads, Severity: High}, {Rule: 0, Check: PodStealing, Severity: High}}},
		{"patch nodes and read pods steal nothing", "app",
			[]rbacv1.PolicyRule{patchNodes, rule(core, s("pods"), s("get", "list", "create"))},
			[]want{{Rule: 1, Check: WriteWorkloads, Severity: High}}},
		{"patch nodes and evict pods of another group steal nothing", "app",
			[]rbacv1.PolicyRule{patchNodes, rule(s("policy"), s("pods/eviction"), s("create"))},
			nil},
		{"patching named nodes is one step lower", "app",
			[]rbacv1.PolicyRule{rule(core, s("nodes"), s("patch"), "node-1"), rule(core, s("pods/eviction"), s("create"))},
			[]want{{Rule: 0, Check: PodStealing, Severity: Medium, Note: "lowered from high: the rule is narrowed by resourceNames to node-1"}}},
		{"a named eviction is still the other half", "app",
			[]rbacv1.PolicyRule{patchNodes, rule(core, s("pods/eviction"), s("create"), "web-0")},
			[]want{{Rule: 0, Check: PodStealing, Severity: High}}},
		{"approval with a signer approves certificates", "app",
			[]rbacv1.PolicyRule{rule(certs, s("certificatesigningrequests/approval"), s("update")), rule(certs, s("signers"), s("approve"), "kubernetes.io/kube-apiserver-client")},
			[]want{{Rule: 0, Check: ApproveCSR, Severity: Critical}}},
		{"patching the approval with every signer approves certificates", "app",
			[]rbacv1.PolicyRule{rule(certs, s("signers"), s("approve")), rule(certs, s("certificatesigningrequests/approval"), s("patch"))},
			[]want{{Rule: 1, Check: ApproveCSR, Severity: Critical}}},
		{"reading Secrets in kube-system is raised", "kube-system",
			[]rbacv1.PolicyRule{rule(core, s("secrets"), s("get", "list"))},
			[]want{{Rule: 0, Check: ReadSecrets, Severity: Critical, Note: "raised from high: in namespace kube-system"}}},
		{"a named Secret of kube-system is raised and lowered", "kube-system",
			[]rbacv1.PolicyRule{rule(core, s("secrets"), s("get"), "a", "b")},
			[]want{{Rule: 0, Check: ReadSecrets, Severity: High, Note: "raised from high: in namespace kube-system; lowered from critical: the rule is narrowed by resourceNames to a, b"}}},
		{"workloads of kube-system are raised", "kube-system",
			[]rbacv1.PolicyRule{rule(s("apps"), s("daemonsets"), s("create")), rule(core, s("pods/exec"), s("create"))},
			[]want{{Rule: 0, Check: WriteWorkloads, Severity: Critical, Note: "raised from high: in namespace kube-system"}, {Rule: 1, Check: Exec, Severity: Critical, Note: "raised from high: in namespace kube-system"}}},
		{"reading Secrets elsewhere is not", "kube-public",
			[]rbacv1.PolicyRule{rule(core, s("secrets"), s("get"))},
			[]want{{Rule: 0, Check: ReadSecrets, Severity: High}}},
		{"a cluster-scoped right is not raised in kube-system", "kube-system",
			[]rbacv1.PolicyRule{rule(core, s("serviceaccounts/token"), s("create"))},
			[]want{{Rule: 0, Check: CreateToken, Severity: Critical}}},
		{"writing aws-auth in kube-system", "kube-system",
			[]rbacv1.PolicyRule{rule(core, s("configmaps"), s("update"), "aws-auth")},
			[]want{{Rule: 0, Check: WriteAWSAuth, Severity: Critical}}},
		{"patching every ConfigMap of kube-system writes aws-auth", "kube-system",
			[]rbacv1.PolicyRule{rule(core, s("configmaps"), s("patch"))},
			[]want{{Rule: 0, Check: WriteAWSAuth, Severity: Critical}}},
		{"other named ConfigMaps of kube-system are not aws-auth", "kube-system",
			[]rbacv1.PolicyRule{rule(core, s("configmaps"), s("update", "patch"), "coredns")},
			nil},
		{"reading aws-auth is no write", "kube-system",
			[]rbacv1.PolicyRule{rule(core, s("configmaps"), s("get", "list", "watch"), "aws-auth")},
			nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []want
			for _, f := range Assess(tc.namespace, tc.rules) {
				got = append(got, want{Rule: f.Rule, Check: f.Check, Severity: f.Severity, Note: f.SeverityNote})
			}
			if diff := gocmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Assess (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChecksAreDistinctAndExplained(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Checks() {
		if c.ID == "" || c.Reason == "" || c.Escalation == "" || c.Severity.String() == "" || len(c.Actions) == 0 {
			t.Errorf("check %+v is incomplete", c)
		}
		if seen[c.ID] {
			t.Errorf("check ID %q is used twice", c.ID)
		}
		seen[c.ID] = true
		if strings.Contains(c.Escalation, "://") || strings.Contains(c.Reason, "://") {
			t.Errorf("check %s links; its references are link-free", c.ID)
		}
		actions := map[Action]bool{}
		for _, a := range slices.Concat(c.Actions, c.With) {
			if actions[a] {
				t.Errorf("check %s lists %q twice", c.ID, a)
			}
			actions[a] = true
		}
	}
}

// TestEveryActionFailsItsCheck proves the two uses of a check agree: a rule
// granting exactly one of its actions, and nothing else (with, for a
// combination, a rule granting one action of the other half), fails the
// check, also for the checks that match rules their own way.
func TestEveryActionFailsItsCheck(t *testing.T) {
	ruleOf := func(a Action) rbacv1.PolicyRule {
		resource := a.Resource
		if a.Subresource != "" {
			resource += "/" + a.Subresource
		}
		return rule(s(a.Group), s(resource), s(a.Verb))
	}
	for _, c := range Checks() {
		for _, a := range c.Actions {
			rules := []rbacv1.PolicyRule{ruleOf(a)}
			for _, w := range c.With {
				rules = append(rules, ruleOf(w))
			}
			namespace := cmp.Or(a.Namespace, "app")
			if !slices.ContainsFunc(Assess(namespace, rules), func(f Finding) bool { return f.Check == c.ID && f.Rule == 0 }) {
				t.Errorf("%s: rules granting only %q (and its other half) do not fail the check", c.ID, a)
			}
			if len(c.With) > 0 && slices.ContainsFunc(Assess(namespace, rules[:1]), func(f Finding) bool { return f.Check == c.ID }) {
				t.Errorf("%s: a rule granting only %q fails the check without its other half", c.ID, a)
			}
			if a.Namespace != "" && slices.ContainsFunc(Assess("app", rules), func(f Finding) bool { return f.Check == c.ID }) {
				t.Errorf("%s: %q fails the check outside namespace %s", c.ID, a, a.Namespace)
			}
			parsed, err := ParseAction(a.String())
			want := a
			want.Namespace = ""
			if err != nil || parsed != want {
				t.Errorf("%s: action %+v written %q reads back as %+v, %v", c.ID, a, a.String(), parsed, err)
			}
		}
		for _, w := range c.With {
			// Each action of the other half completes the combination.
			rules := []rbacv1.PolicyRule{ruleOf(c.Actions[0]), ruleOf(w)}
			if !slices.ContainsFunc(Assess("app", rules), func(f Finding) bool { return f.Check == c.ID }) {
				t.Errorf("%s: %q does not complete %q", c.ID, w, c.Actions[0])
			}
		}
	}
}

func TestCheckActions(t *testing.T) {
	want := map[string][]string{
		Admin:                  s("* *.*"),
		ReadSecrets:            s("get secrets", "list secrets", "watch secrets"),
		WriteSecrets:           s("create secrets", "update secrets", "patch secrets"),
		Exec:                   s("create pods/exec", "create pods/attach"),
		EphemeralContainers:    s("update pods/ephemeralcontainers", "patch pods/ephemeralcontainers"),
		CreateToken:            s("create serviceaccounts/token"),
		Impersonate:            s("impersonate users", "impersonate groups", "impersonate serviceaccounts"),
		EscalateOrBind:         s("escalate roles.rbac.authorization.k8s.io", "bind roles.rbac.authorization.k8s.io", "escalate clusterroles.rbac.authorization.k8s.io", "bind clusterroles.rbac.authorization.k8s.io"),
		NodesProxy:             s("get nodes/proxy", "create nodes/proxy", "update nodes/proxy", "patch nodes/proxy", "delete nodes/proxy"),
		ApproveCSR:             s("update certificatesigningrequests/approval.certificates.k8s.io", "patch certificatesigningrequests/approval.certificates.k8s.io", "+ approve signers.certificates.k8s.io"),
		WriteAWSAuth:           s("update configmaps aws-auth -n kube-system", "patch configmaps aws-auth -n kube-system"),
		PodStealing:            s("update nodes", "patch nodes", "+ create pods/eviction", "+ delete pods"),
		CreatePersistentVolume: s("create persistentvolumes"),
		WriteStatus:            s("update nodes/status", "patch nodes/status", "update pods/status", "patch pods/status"),
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
	want[WriteAdmissionPolicies] = writes("validatingadmissionpolicies.admissionregistration.k8s.io", "validatingadmissionpolicybindings.admissionregistration.k8s.io",
		"mutatingadmissionpolicies.admissionregistration.k8s.io", "mutatingadmissionpolicybindings.admissionregistration.k8s.io")
	want[WriteCRDs] = writes("customresourcedefinitions.apiextensions.k8s.io")
	want[WriteWorkloads] = writes("pods", "replicationcontrollers", "deployments.apps", "daemonsets.apps", "statefulsets.apps", "replicasets.apps", "jobs.batch", "cronjobs.batch")

	got := map[string][]string{}
	severities := map[string]Severity{}
	var order []string
	for _, c := range Checks() {
		order = append(order, c.ID)
		severities[c.ID] = c.Severity
		write := func(prefix string, a Action) string {
			if a.Namespace != "" {
				return prefix + a.String() + " -n " + a.Namespace
			}
			return prefix + a.String()
		}
		for _, a := range c.Actions {
			got[c.ID] = append(got[c.ID], write("", a))
		}
		for _, a := range c.With {
			got[c.ID] = append(got[c.ID], write("+ ", a))
		}
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("check actions (-want +got):\n%s", diff)
	}
	wantOrder := s(Admin, Impersonate, EscalateOrBind, WriteRBAC, NodesProxy, CreateToken, ApproveCSR, WriteAWSAuth,
		ReadSecrets, WriteSecrets, Exec, EphemeralContainers, WriteWorkloads, PodStealing, WriteWebhooks, WriteAdmissionPolicies, CreatePersistentVolume,
		WriteCRDs, WriteStatus)
	if diff := gocmp.Diff(wantOrder, order); diff != "" {
		t.Errorf("check order (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff(wantOrder, IDs()); diff != "" {
		t.Errorf("IDs (-want +got):\n%s", diff)
	}
	wantSeverities := map[string]Severity{
		Admin: Critical, Impersonate: Critical, EscalateOrBind: Critical, WriteRBAC: Critical, NodesProxy: Critical, CreateToken: Critical, ApproveCSR: Critical, WriteAWSAuth: Critical,
		ReadSecrets: High, WriteSecrets: High, Exec: High, EphemeralContainers: High, WriteWorkloads: High, PodStealing: High, WriteWebhooks: High, WriteAdmissionPolicies: High, CreatePersistentVolume: High,
		WriteCRDs: Medium, WriteStatus: Medium,
	}
	if diff := gocmp.Diff(wantSeverities, severities); diff != "" {
		t.Errorf("check severities (-want +got):\n%s", diff)
	}
	// Checks are listed from the most severe down.
	checks := Checks()
	for i := 1; i < len(checks); i++ {
		if checks[i].Severity > checks[i-1].Severity {
			t.Errorf("check %s (%s) comes after the less severe %s (%s)", checks[i].ID, checks[i].Severity, checks[i-1].ID, checks[i-1].Severity)
		}
	}
}

func TestLookupAndWeightedNamespaces(t *testing.T) {
	for _, id := range IDs() {
		if c, ok := Lookup(id); !ok || c.ID != id {
			t.Errorf("Lookup(%q) = %q, %v", id, c.ID, ok)
		}
	}
	if c, ok := Lookup("no-such-check"); ok || c.ID != "" {
		t.Errorf("Lookup of an unknown check = %+v, %v", c, ok)
	}
	if diff := gocmp.Diff(s("kube-system"), WeightedNamespaces()); diff != "" {
		t.Errorf("WeightedNamespaces (-want +got):\n%s", diff)
	}
}

func TestSeverityIn(t *testing.T) {
	secrets, _ := Lookup(ReadSecrets)
	token, _ := Lookup(CreateToken)
	cases := []struct {
		name      string
		check     Check
		namespace string
		want      Severity
		note      string
	}{
		{"raised in kube-system", secrets, "kube-system", Critical, "raised from high: in namespace kube-system"},
		{"as is elsewhere", secrets, "app", High, ""},
		{"as is cluster-wide", secrets, "", High, ""},
		{"never above critical", Check{Severity: Critical, RaisedIn: s("kube-system")}, "kube-system", Critical, "raised from critical: in namespace kube-system"},
		{"a check raised nowhere", token, "kube-system", Critical, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, note := tc.check.SeverityIn(tc.namespace)
			if got != tc.want || note != tc.note {
				t.Errorf("SeverityIn(%q) = %s, %q; want %s, %q", tc.namespace, got, note, tc.want, tc.note)
			}
		})
	}
}

// TestChecksAreTheCallers: the catalog is built once, so what a caller does
// to the checks it was handed must not reach the next caller, nor Lookup.
func TestChecksAreTheCallers(t *testing.T) {
	mine := Checks()
	want := mine[0]
	mine[0].Severity, mine[0].ID = Low, "changed"
	mine = append(mine[:1], mine[2:]...)
	if got := Checks(); len(got) != len(mine)+1 || got[0].ID != want.ID || got[0].Severity != want.Severity {
		t.Errorf("Checks()[0] = %s %s after a caller changed its copy, want %s %s", got[0].ID, got[0].Severity, want.ID, want.Severity)
	}
	if c, ok := Lookup(want.ID); !ok || c.Severity != want.Severity {
		t.Errorf("Lookup(%q) = %v, %v after a caller changed its copy", want.ID, c.Severity, ok)
	}
	ids := IDs()
	ids[0] = "changed"
	if IDs()[0] != want.ID {
		t.Errorf("IDs()[0] = %q after a caller changed its copy, want %q", IDs()[0], want.ID)
	}
}
