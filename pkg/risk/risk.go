// Package risk marks RBAC rules that amount to admin rights or let their
// holder gain rights it was not given: reading credentials, running code as
// another identity, or rewriting the rules themselves.
//
// The checks look at what a rule grants, with RBAC's own wildcard semantics
// ("*" verbs, groups and resources, "*/subresource"). A rule narrowed to
// resourceNames is still marked: the names narrow the risk, they do not
// remove it.
package risk

import (
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Check is one kind of dangerous right.
type Check struct {
	// ID is a short, stable name for the check, shown in the RISK column.
	ID string
	// Reason says why a rule that fails the check is dangerous.
	Reason string
	// grants reports whether a rule fails the check.
	grants func(rule rbacv1.PolicyRule) bool
}

// Finding is a check a rule fails.
type Finding struct {
	// Check is the ID of the check.
	Check string `json:"check"`
	// Reason says why the rule is dangerous.
	Reason string `json:"reason"`
}

// The check IDs.
const (
	Admin           = "admin"
	ReadSecrets     = "read-secrets"
	Exec            = "exec"
	CreateToken     = "create-token"
	Impersonate     = "impersonate"
	EscalateOrBind  = "escalate-bind"
	NodesProxy      = "nodes-proxy"
	WriteRBAC       = "write-rbac"
	WriteWebhooks   = "write-webhooks"
	WriteWorkloads  = "write-workloads"
	rbacGroup       = rbacv1.GroupName
	admissionGroup  = "admissionregistration.k8s.io"
	authnGroup      = "authentication.k8s.io"
	impersonateVerb = "impersonate"
)

// Checks returns every check, in the order findings are reported.
func Checks() []Check {
	// writeVerbs create, change or remove objects.
	writeVerbs := []string{"create", "update", "patch", "delete", "deletecollection"}
	return []Check{
		{
			ID:     Admin,
			Reason: `every verb on every resource of its API groups ("*" on "*"): admin rights wherever the rule holds`,
			grants: func(r rbacv1.PolicyRule) bool {
				return slices.Contains(r.Verbs, rbacv1.VerbAll) && slices.Contains(r.Resources, rbacv1.ResourceAll) && len(r.APIGroups) > 0
			},
		},
		{
			ID:     ReadSecrets,
			Reason: "reads Secrets, which hold credentials and other service accounts' tokens",
			grants: grantsAny([]string{"secrets"}, []string{"get", "list", "watch"}),
		},
		{
			ID:     Exec,
			Reason: "runs commands in or attaches to containers (create on pods/exec or pods/attach), and so acts as their service accounts",
			grants: grantsAny([]string{"pods/exec", "pods/attach"}, []string{"create"}),
		},
		{
			ID:     CreateToken,
			Reason: "mints tokens for other service accounts (create on serviceaccounts/token)",
			grants: grantsAny([]string{"serviceaccounts/token"}, []string{"create"}),
		},
		{
			ID:     Impersonate,
			Reason: "impersonates other users, groups or service accounts",
			grants: grantsImpersonation,
		},
		{
			ID:     EscalateOrBind,
			Reason: "grants rights it does not hold itself (escalate or bind on roles or clusterroles)",
			grants: grantsAny([]string{"roles." + rbacGroup, "clusterroles." + rbacGroup}, []string{"escalate", "bind"}),
		},
		{
			ID:     NodesProxy,
			Reason: "reaches the kubelet API through nodes/proxy, which runs commands in any pod of the node",
			grants: func(r rbacv1.PolicyRule) bool {
				return len(r.Verbs) > 0 && grantsResource(r, "", "nodes/proxy")
			},
		},
		{
			ID:     WriteRBAC,
			Reason: "creates, changes or deletes RBAC roles and bindings, and so its own rights",
			grants: grantsAny([]string{"roles." + rbacGroup, "rolebindings." + rbacGroup, "clusterroles." + rbacGroup, "clusterrolebindings." + rbacGroup}, writeVerbs),
		},
		{
			ID:     WriteWebhooks,
			Reason: "creates, changes or deletes admission webhooks, which see and can alter or block every object written",
			grants: grantsAny([]string{"mutatingwebhookconfigurations." + admissionGroup, "validatingwebhookconfigurations." + admissionGroup}, writeVerbs),
		},
		{
			ID:     WriteWorkloads,
			Reason: "creates, changes or deletes workloads, which can run as any service account of their namespace and read its token",
			grants: grantsAny([]string{
				"pods", "replicationcontrollers",
				"deployments.apps", "daemonsets.apps", "statefulsets.apps", "replicasets.apps",
				"jobs.batch", "cronjobs.batch",
			}, writeVerbs),
		},
	}
}

// Assess returns the checks rule fails, in the order of Checks. A rule with
// every verb on every resource of every API group fails only Admin: the
// other findings would repeat it.
func Assess(rule rbacv1.PolicyRule) []Finding {
	var findings []Finding
	for _, c := range Checks() {
		if !c.grants(rule) {
			continue
		}
		findings = append(findings, Finding{Check: c.ID, Reason: c.Reason})
		if c.ID == Admin && slices.Contains(rule.APIGroups, rbacv1.APIGroupAll) {
			return findings
		}
	}
	return findings
}

// grantsAny returns a check that fails when the rule grants one of verbs on
// one of resources, each written resource[/subresource][.group].
func grantsAny(resources, verbs []string) func(rbacv1.PolicyRule) bool {
	return func(r rbacv1.PolicyRule) bool {
		if !grantsVerb(r, verbs...) {
			return false
		}
		for _, gr := range resources {
			resource, group, _ := strings.Cut(gr, ".")
			if grantsResource(r, group, resource) {
				return true
			}
		}
		return false
	}
}

// grantsImpersonation covers the impersonate verb on any resource (and the
// newer impersonate:... verbs of constrained impersonation), and "*" verbs on
// what can be impersonated.
func grantsImpersonation(r rbacv1.PolicyRule) bool {
	for _, v := range r.Verbs {
		if strings.HasPrefix(v, impersonateVerb) {
			return true
		}
	}
	if !slices.Contains(r.Verbs, rbacv1.VerbAll) {
		return false
	}
	if grantsResource(r, "", "users") || grantsResource(r, "", "groups") || grantsResource(r, "", "serviceaccounts") || grantsResource(r, authnGroup, "uids") {
		return true
	}
	if !grantsGroup(r, authnGroup) {
		return false
	}
	for _, res := range r.Resources {
		if strings.HasPrefix(res, "userextras/") {
			return true
		}
	}
	return false
}

// grantsVerb reports whether the rule allows one of verbs.
func grantsVerb(r rbacv1.PolicyRule, verbs ...string) bool {
	for _, v := range r.Verbs {
		if v == rbacv1.VerbAll || slices.Contains(verbs, v) {
			return true
		}
	}
	return false
}

// grantsGroup reports whether the rule covers the API group.
func grantsGroup(r rbacv1.PolicyRule, group string) bool {
	return slices.Contains(r.APIGroups, rbacv1.APIGroupAll) || slices.Contains(r.APIGroups, group)
}

// grantsResource reports whether the rule covers resource (with its
// subresource, if any) in group, the way the RBAC authorizer matches:
// "*", an exact match, or "*/subresource".
func grantsResource(r rbacv1.PolicyRule, group, resource string) bool {
	if !grantsGroup(r, group) {
		return false
	}
	_, sub, hasSub := strings.Cut(resource, "/")
	for _, res := range r.Resources {
		switch {
		case res == rbacv1.ResourceAll, res == resource:
			return true
		case hasSub && res == "*/"+sub:
			return true
		}
	}
	return false
}
