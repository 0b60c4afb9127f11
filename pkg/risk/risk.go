// Package risk marks RBAC rules that amount to admin rights or let their
// holder gain rights it was not given: reading credentials, running code as
// another identity, or rewriting the rules themselves.
//
// Each check is a list of concrete actions ("create pods/exec", "get
// secrets") that realise it. The actions serve two ways. Assess matches the
// rules a SelfSubjectRulesReview listed against them, with RBAC's own
// wildcard semantics ("*" verbs, groups and resources, "*/subresource"); a
// rule narrowed to resourceNames is still marked: the names narrow the risk,
// they do not remove it. Where the listed rules are incomplete (a webhook
// authorizer, as on GKE, EKS and AKS, grants rights no rule shows), each
// action becomes a SelfSubjectAccessReview (Action.AccessReviewSpec) that the
// server answers with every authorizer, and Covers tells which actions the
// listed rules already grant.
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
	// Actions are the requests that realise the risk: a subject allowed any
	// one of them fails the check. Assess matches listed rules against
	// them; where rules cannot be listed completely (a webhook authorizer),
	// a SelfSubjectAccessReview per action answers instead.
	Actions []Action
	// grants, when set, replaces the matching of rules against Actions, for
	// a check whose rules the actions cannot spell out.
	grants func(rule rbacv1.PolicyRule) bool
}

// matches reports whether rule fails the check.
func (c Check) matches(rule rbacv1.PolicyRule) bool {
	if c.grants != nil {
		return c.grants(rule)
	}
	for _, a := range c.Actions {
		if policyRuleGrants(rule, a) {
			return true
		}
	}
	return false
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
			// Asked of the server: everything, in every group.
			Actions: []Action{{Verb: rbacv1.VerbAll, Group: rbacv1.APIGroupAll, Resource: rbacv1.ResourceAll}},
			// A listed rule is admin in whichever groups it names, which no
			// finite list of actions spells out.
			grants: func(r rbacv1.PolicyRule) bool {
				return slices.Contains(r.Verbs, rbacv1.VerbAll) && slices.Contains(r.Resources, rbacv1.ResourceAll) && len(r.APIGroups) > 0
			},
		},
		{
			ID:      ReadSecrets,
			Reason:  "reads Secrets, which hold credentials and other service accounts' tokens",
			Actions: each([]string{"get", "list", "watch"}, Action{Resource: "secrets"}),
		},
		{
			ID:      Exec,
			Reason:  "runs commands in or attaches to containers (create on pods/exec or pods/attach), and so acts as their service accounts",
			Actions: each([]string{"create"}, Action{Resource: "pods", Subresource: "exec"}, Action{Resource: "pods", Subresource: "attach"}),
		},
		{
			ID:      CreateToken,
			Reason:  "mints tokens for other service accounts (create on serviceaccounts/token)",
			Actions: each([]string{"create"}, Action{Resource: "serviceaccounts", Subresource: "token"}),
		},
		{
			ID:      Impersonate,
			Reason:  "impersonates other users, groups or service accounts",
			Actions: each([]string{impersonateVerb}, Action{Resource: "users"}, Action{Resource: "groups"}, Action{Resource: "serviceaccounts"}),
			// Listed rules are also marked for the constrained-impersonation
			// verbs and for UIDs and user extras, which the actions leave
			// out: they add to impersonating a user, not replace it.
			grants: grantsImpersonation,
		},
		{
			ID:     EscalateOrBind,
			Reason: "grants rights it does not hold itself (escalate or bind on roles or clusterroles)",
			Actions: each([]string{"escalate", "bind"},
				Action{Group: rbacGroup, Resource: "roles"}, Action{Group: rbacGroup, Resource: "clusterroles"}),
		},
		{
			ID:     NodesProxy,
			Reason: "reaches the kubelet API through nodes/proxy, which runs commands in any pod of the node",
			// The verbs of the HTTP methods a proxied request can use: it
			// always names a node, so never list, watch or deletecollection.
			Actions: each([]string{"get", "create", "update", "patch", "delete"}, Action{Resource: "nodes", Subresource: "proxy"}),
		},
		{
			ID:     WriteRBAC,
			Reason: "creates, changes or deletes RBAC roles and bindings, and so its own rights",
			Actions: each(writeVerbs,
				Action{Group: rbacGroup, Resource: "roles"}, Action{Group: rbacGroup, Resource: "rolebindings"},
				Action{Group: rbacGroup, Resource: "clusterroles"}, Action{Group: rbacGroup, Resource: "clusterrolebindings"}),
		},
		{
			ID:     WriteWebhooks,
			Reason: "creates, changes or deletes admission webhooks, which see and can alter or block every object written",
			Actions: each(writeVerbs,
				Action{Group: admissionGroup, Resource: "mutatingwebhookconfigurations"},
				Action{Group: admissionGroup, Resource: "validatingwebhookconfigurations"}),
		},
		{
			ID:     WriteWorkloads,
			Reason: "creates, changes or deletes workloads, which can run as any service account of their namespace and read its token",
			Actions: each(writeVerbs,
				Action{Resource: "pods"}, Action{Resource: "replicationcontrollers"},
				Action{Group: "apps", Resource: "deployments"}, Action{Group: "apps", Resource: "daemonsets"},
				Action{Group: "apps", Resource: "statefulsets"}, Action{Group: "apps", Resource: "replicasets"},
				Action{Group: "batch", Resource: "jobs"}, Action{Group: "batch", Resource: "cronjobs"}),
		},
	}
}

// each returns every verb on every target, target by target.
func each(verbs []string, targets ...Action) []Action {
	out := make([]Action, 0, len(verbs)*len(targets))
	for _, t := range targets {
		for _, v := range verbs {
			t.Verb = v
			out = append(out, t)
		}
	}
	return out
}

// Assess returns the checks rule fails, in the order of Checks. A rule with
// every verb on every resource of every API group fails only Admin: the
// other findings would repeat it.
func Assess(rule rbacv1.PolicyRule) []Finding {
	var findings []Finding
	for _, c := range Checks() {
		if !c.matches(rule) {
			continue
		}
		findings = append(findings, Finding{Check: c.ID, Reason: c.Reason})
		if c.ID == Admin && slices.Contains(rule.APIGroups, rbacv1.APIGroupAll) {
			return findings
		}
	}
	return findings
}

// grantsImpersonation covers the impersonate verb on any resource (and the
// newer impersonate:... verbs of constrained impersonation), and "*" verbs on
// what can be impersonated: users, groups, service accounts, UIDs and user
// extras.
func grantsImpersonation(r rbacv1.PolicyRule) bool {
	for _, v := range r.Verbs {
		if strings.HasPrefix(v, impersonateVerb) {
			return true
		}
	}
	if !slices.Contains(r.Verbs, rbacv1.VerbAll) {
		return false
	}
	for _, target := range []Action{{Resource: "users"}, {Resource: "groups"}, {Resource: "serviceaccounts"}, {Group: authnGroup, Resource: "uids"}} {
		if groupMatches(r.APIGroups, target.Group) && resourceMatches(r.Resources, target.Resource, "") {
			return true
		}
	}
	if !groupMatches(r.APIGroups, authnGroup) {
		return false
	}
	for _, res := range r.Resources {
		if strings.HasPrefix(res, "userextras/") {
			return true
		}
	}
	return false
}
