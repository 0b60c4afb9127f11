// Package risk grades RBAC rules that amount to admin rights or let their
// holder gain rights it was not given: reading credentials, running code as
// another identity, or rewriting the rules themselves.
//
// Each check is a list of concrete actions ("create pods/exec", "get
// secrets") that realise it. The actions serve two ways. Assess matches the
// rules a SelfSubjectRulesReview listed against them, with RBAC's own
// wildcard semantics ("*" verbs, groups and resources, "*/subresource"); a
// rule narrowed to resourceNames is still marked, one severity lower: the
// names narrow the risk, they do not remove it. Some checks combine two
// rights (With), and some weigh more in kube-system (RaisedIn), so Assess
// judges the rules of one namespace together. Where the listed rules are incomplete (a webhook
// authorizer, as on GKE, EKS and AKS, grants rights no rule shows), each
// action becomes a SelfSubjectAccessReview (Action.AccessReviewSpec) that the
// server answers with every authorizer, and Covers tells which actions the
// listed rules already grant.
package risk

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Check is one kind of dangerous right.
type Check struct {
	// ID is a short, stable name for the check, shown in the RISK column.
	ID string
	// Severity is how bad a finding is before it is weighted by where it
	// holds (RaisedIn) and how narrow its rule is (resourceNames).
	Severity Severity
	// Reason says why a rule that fails the check is dangerous.
	Reason string
	// Escalation names, without a link, where the escalation path is
	// described, so that docs/risks.md can point a reader at it.
	Escalation string
	// Actions are the requests that realise the risk: a subject allowed any
	// one of them fails the check. Assess matches listed rules against
	// them; where rules cannot be listed completely (a webhook authorizer),
	// a SelfSubjectAccessReview per action answers instead.
	Actions []Action
	// With, when set, makes the check a combination: an action of Actions
	// realises the risk only when the subject may also perform one of these
	// (granted by any rule of the same namespace, or verified allowed).
	With []Action
	// RaisedIn are the namespaces where a finding weighs one step more,
	// because the service accounts there hold the cluster's own rights.
	RaisedIn []string
	// grants, when set, replaces the matching of rules against Actions, for
	// a check whose rules the actions cannot spell out.
	grants func(rule rbacv1.PolicyRule) bool
}

// matches reports whether rule, holding in namespace, grants one of the
// check's actions (With aside), and whether it is narrowed: limited by
// resourceNames to some objects where the action names none.
func (c Check) matches(namespace string, rule rbacv1.PolicyRule) (hit, narrowed bool) {
	if c.grants != nil {
		return c.grants(rule), len(rule.ResourceNames) > 0
	}
	for _, a := range c.Actions {
		if a.AppliesIn(namespace) && policyRuleGrants(rule, a) && (a.Name == "" || nameMatches(rule.ResourceNames, a.Name)) {
			return true, len(rule.ResourceNames) > 0 && a.Name == ""
		}
	}
	return false, false
}

// SeverityIn is the check's severity for a right that holds in namespace
// ("" for a cluster-scoped one), and why it differs from Severity, if it
// does.
func (c Check) SeverityIn(namespace string) (Severity, string) {
	if namespace != "" && slices.Contains(c.RaisedIn, namespace) {
		return c.Severity.raise(), fmt.Sprintf("raised from %s: in namespace %s", c.Severity, namespace)
	}
	return c.Severity, ""
}

// finding is the check's finding for a rule of namespace.
func (c Check) finding(namespace string, rule rbacv1.PolicyRule, narrowed bool) Finding {
	sev, note := c.SeverityIn(namespace)
	if narrowed {
		lowered := sev.lower()
		note = strings.TrimPrefix(note+"; ", "; ") + fmt.Sprintf("lowered from %s: the rule is narrowed by resourceNames to %s", sev, strings.Join(rule.ResourceNames, ", "))
		sev = lowered
	}
	return Finding{Check: c.ID, Severity: sev, SeverityNote: note, Reason: c.Reason}
}

// Finding is a check a rule fails.
type Finding struct {
	// Check is the ID of the check.
	Check string `json:"check"`
	// Severity is the check's severity, weighted by where the rule holds
	// and how narrow it is.
	Severity Severity `json:"severity"`
	// SeverityNote says why Severity differs from the check's own; empty
	// when it does not.
	SeverityNote string `json:"severityNote,omitempty"`
	// Reason says why the rule is dangerous.
	Reason string `json:"reason"`
	// Rule is the index of the rule that fails the check among the rules
	// assessed.
	Rule int `json:"-"`
}

// The check IDs.
const (
	Admin                  = "admin"
	Impersonate            = "impersonate"
	EscalateOrBind         = "escalate-bind"
	WriteRBAC              = "write-rbac"
	NodesProxy             = "nodes-proxy"
	CreateToken            = "create-token"
	ApproveCSR             = "approve-csr"
	WriteAWSAuth           = "write-aws-auth"
	ReadSecrets            = "read-secrets"
	WriteSecrets           = "write-secrets"
	Exec                   = "exec"
	EphemeralContainers    = "ephemeral-containers"
	WriteWorkloads         = "write-workloads"
	PodStealing            = "pod-stealing"
	WriteWebhooks          = "write-webhooks"
	WriteAdmissionPolicies = "write-admission-policies"
	CreatePersistentVolume = "create-persistentvolumes"
	WriteCRDs              = "write-crds"
	WriteStatus            = "write-status"
)

// Names the checks use.
const (
	rbacGroup        = rbacv1.GroupName
	admissionGroup   = "admissionregistration.k8s.io"
	authnGroup       = "authentication.k8s.io"
	certificateGroup = "certificates.k8s.io"
	impersonateVerb  = "impersonate"
	// kubeSystem holds the service accounts of the control plane's own
	// controllers and add-ons, and on EKS the aws-auth ConfigMap.
	kubeSystem = "kube-system"
	// goodPractices is the Kubernetes documentation page most of the
	// escalation paths are described on.
	goodPractices = "Kubernetes documentation, RBAC Good Practices"
)

// Checks returns every check, in the order findings are reported: by
// severity, the most severe first. The slice is the caller's; the checks'
// own slices (Actions, With, RaisedIn) are shared and must not be changed.
func Checks() []Check {
	return slices.Clone(catalog())
}

// catalog builds the checks once, on first use: a whoami or an audit asks
// for them per row and per namespace, and a run that assesses nothing
// (version, help) never builds them.
var catalog = sync.OnceValue(buildCatalog)

// buildCatalog returns every check, in the order of Checks.
func buildCatalog() []Check {
	// writeVerbs create, change or remove objects.
	writeVerbs := []string{"create", "update", "patch", "delete", "deletecollection"}
	changeVerbs := []string{"update", "patch"}
	return []Check{
		{
			ID:         Admin,
			Severity:   Critical,
			Reason:     `every verb on every resource of its API groups ("*" on "*"): admin rights wherever the rule holds`,
			Escalation: goodPractices + `, "Least privilege" (wildcards grant every present and future right)`,
			// Asked of the server: everything, in every group.
			Actions: []Action{{Verb: rbacv1.VerbAll, Group: rbacv1.APIGroupAll, Resource: rbacv1.ResourceAll}},
			// A listed rule is admin in whichever groups it names, which no
			// finite list of actions spells out.
			grants: func(r rbacv1.PolicyRule) bool {
				return slices.Contains(r.Verbs, rbacv1.VerbAll) && slices.Contains(r.Resources, rbacv1.ResourceAll) && len(r.APIGroups) > 0
			},
		},
		{
			ID:         Impersonate,
			Severity:   Critical,
			Reason:     "impersonates other users, groups or service accounts, and so holds their rights",
			Escalation: goodPractices + `, "Impersonate verb"; Authenticating, "User impersonation"`,
			Actions:    each([]string{impersonateVerb}, Action{Resource: "users"}, Action{Resource: "groups"}, Action{Resource: "serviceaccounts"}),
			// Listed rules are also marked for the constrained-impersonation
			// verbs and for UIDs and user extras, which the actions leave
			// out: they add to impersonating a user, not replace it.
			grants: grantsImpersonation,
		},
		{
			ID:         EscalateOrBind,
			Severity:   Critical,
			Reason:     "grants rights it does not hold itself (escalate or bind on roles or clusterroles)",
			Escalation: goodPractices + `, "Escalate verb" and "Bind verb"`,
			Actions: each([]string{"escalate", "bind"},
				Action{Group: rbacGroup, Resource: "roles"}, Action{Group: rbacGroup, Resource: "clusterroles"}),
		},
		{
			ID:         WriteRBAC,
			Severity:   Critical,
			Reason:     "creates, changes or deletes RBAC roles and bindings, and so its own rights",
			Escalation: `Kubernetes documentation, Using RBAC Authorization, "Privilege escalation prevention and bootstrapping"`,
			Actions: each(writeVerbs,
				Action{Group: rbacGroup, Resource: "roles"}, Action{Group: rbacGroup, Resource: "rolebindings"},
				Action{Group: rbacGroup, Resource: "clusterroles"}, Action{Group: rbacGroup, Resource: "clusterrolebindings"}),
		},
		{
			ID:         NodesProxy,
			Severity:   Critical,
			Reason:     "reaches the kubelet API through nodes/proxy, which runs commands in any pod of the node",
			Escalation: goodPractices + `, "Access to proxy subresource of Nodes"`,
			// The verbs of the HTTP methods a proxied request can use: it
			// always names a node, so never list, watch or deletecollection.
			Actions: each([]string{"get", "create", "update", "patch", "delete"}, Action{Resource: "nodes", Subresource: "proxy"}),
		},
		{
			ID:         CreateToken,
			Severity:   Critical,
			Reason:     "mints tokens for other service accounts (create on serviceaccounts/token)",
			Escalation: goodPractices + `, "Token request"`,
			Actions:    each([]string{"create"}, Action{Resource: "serviceaccounts", Subresource: "token"}),
		},
		{
			ID:         ApproveCSR,
			Severity:   Critical,
			Reason:     "approves CertificateSigningRequests (update on certificatesigningrequests/approval with approve on signers), and so issues client certificates for any user or group, system:masters included",
			Escalation: goodPractices + `, "CSRs and certificate issuing"; Certificates and Certificate Signing Requests, "Authorization"`,
			Actions:    each(changeVerbs, Action{Group: certificateGroup, Resource: "certificatesigningrequests", Subresource: "approval"}),
			With:       []Action{{Verb: "approve", Group: certificateGroup, Resource: "signers"}},
		},
		{
			ID:         WriteAWSAuth,
			Severity:   Critical,
			Reason:     "changes the kube-system/aws-auth ConfigMap, which maps AWS IAM roles and users to Kubernetes users and groups (system:masters included) on EKS",
			Escalation: `Amazon EKS User Guide, "Grant IAM users access to Kubernetes with a ConfigMap" (aws-auth)`,
			Actions:    each(changeVerbs, Action{Resource: "configmaps", Name: "aws-auth", Namespace: kubeSystem}),
		},
		{
			ID:         ReadSecrets,
			Severity:   High,
			Reason:     "reads Secrets, which hold credentials and other service accounts' tokens",
			Escalation: goodPractices + `, "Listing secrets"`,
			Actions:    each([]string{"get", "list", "watch"}, Action{Resource: "secrets"}),
			RaisedIn:   []string{kubeSystem},
		},
		{
			ID:         WriteSecrets,
			Severity:   High,
			Reason:     "creates or changes Secrets: a kubernetes.io/service-account-token Secret it creates is filled with a long-lived token of any service account of the namespace",
			Escalation: `Kubernetes documentation, Service Accounts, "Manually create a long-lived API token for a ServiceAccount"`,
			Actions:    each([]string{"create", "update", "patch"}, Action{Resource: "secrets"}),
			RaisedIn:   []string{kubeSystem},
		},
		{
			ID:         Exec,
			Severity:   High,
			Reason:     "runs commands in or attaches to containers (create on pods/exec or pods/attach), and so acts as their service accounts",
			Escalation: goodPractices + `, "Workload creation" (exec into a pod)`,
			Actions:    each([]string{"create"}, Action{Resource: "pods", Subresource: "exec"}, Action{Resource: "pods", Subresource: "attach"}),
			RaisedIn:   []string{kubeSystem},
		},
		{
			ID:         EphemeralContainers,
			Severity:   High,
			Reason:     "adds ephemeral containers to running pods (update or patch on pods/ephemeralcontainers), and so runs code as their service accounts with their volumes",
			Escalation: `Kubernetes documentation, Ephemeral Containers; ` + goodPractices + `, "Workload creation"`,
			Actions:    each(changeVerbs, Action{Resource: "pods", Subresource: "ephemeralcontainers"}),
			RaisedIn:   []string{kubeSystem},
		},
		{
			ID:         WriteWorkloads,
			Severity:   High,
			Reason:     "creates, changes or deletes workloads, which can run as any service account of their namespace and read its token",
			Escalation: goodPractices + `, "Workload creation"`,
			Actions: each(writeVerbs,
				Action{Resource: "pods"}, Action{Resource: "replicationcontrollers"},
				Action{Group: "apps", Resource: "deployments"}, Action{Group: "apps", Resource: "daemonsets"},
				Action{Group: "apps", Resource: "statefulsets"}, Action{Group: "apps", Resource: "replicasets"},
				Action{Group: "batch", Resource: "jobs"}, Action{Group: "batch", Resource: "cronjobs"}),
			RaisedIn: []string{kubeSystem},
		},
		{
			ID:         PodStealing,
			Severity:   High,
			Reason:     "changes nodes (taints, labels, unschedulable) and evicts or deletes pods, and so moves other pods, with their service accounts' tokens, onto a node it controls",
			Escalation: `Unit 42, "Kubernetes Privilege Escalation: Excessive Permissions in Popular Platforms" (stealing pods)`,
			Actions:    each(changeVerbs, Action{Resource: "nodes"}),
			With:       []Action{{Verb: "create", Resource: "pods", Subresource: "eviction"}, {Verb: "delete", Resource: "pods"}},
		},
		{
			ID:         WriteWebhooks,
			Severity:   High,
			Reason:     "creates, changes or deletes admission webhooks, which see and can alter or block every object written",
			Escalation: goodPractices + `, "Control admission webhooks"`,
			Actions: each(writeVerbs,
				Action{Group: admissionGroup, Resource: "mutatingwebhookconfigurations"},
				Action{Group: admissionGroup, Resource: "validatingwebhookconfigurations"}),
		},
		{
			ID:         WriteAdmissionPolicies,
			Severity:   High,
			Reason:     "creates, changes or deletes admission policies and their bindings, which can alter (mutating) or reject (validating) every object written, or stop enforcing a guard",
			Escalation: `Kubernetes documentation, Validating Admission Policy and Mutating Admission Policy`,
			Actions: each(writeVerbs,
				Action{Group: admissionGroup, Resource: "validatingadmissionpolicies"},
				Action{Group: admissionGroup, Resource: "validatingadmissionpolicybindings"},
				Action{Group: admissionGroup, Resource: "mutatingadmissionpolicies"},
				Action{Group: admissionGroup, Resource: "mutatingadmissionpolicybindings"}),
		},
		{
			ID:         CreatePersistentVolume,
			Severity:   High,
			Reason:     "creates PersistentVolumes, which can be hostPath volumes that mount a node's file system into a pod",
			Escalation: goodPractices + `, "Persistent volume creation"`,
			Actions:    each([]string{"create"}, Action{Resource: "persistentvolumes"}),
		},
		{
			ID:         WriteCRDs,
			Severity:   Medium,
			Reason:     "creates, changes or deletes CustomResourceDefinitions: deleting one deletes every object of it, and a conversion webhook it adds sees every object of it",
			Escalation: `Kubernetes documentation, Versions in CustomResourceDefinitions, "Webhook conversion"`,
			Actions:    each(writeVerbs, Action{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}),
		},
		{
			ID:         WriteStatus,
			Severity:   Medium,
			Reason:     "changes the status of nodes or pods (update or patch on nodes/status or pods/status), which the scheduler, controllers and Services trust: capacity, conditions, pod IPs and readiness",
			Escalation: `Kubernetes documentation, Using Node Authorization and the NodeRestriction admission plugin (why a kubelet may change only its own node's and pods' status)`,
			Actions:    each(changeVerbs, Action{Resource: "nodes", Subresource: "status"}, Action{Resource: "pods", Subresource: "status"}),
		},
	}
}

// Lookup returns the check with the given ID.
func Lookup(id string) (Check, bool) {
	for _, c := range catalog() {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// IDs returns the ID of every check, in check order.
func IDs() []string {
	return slices.Clone(ids())
}

// ids are the IDs of the catalog, in check order, listed once.
var ids = sync.OnceValue(func() []string {
	out := make([]string, 0, len(catalog()))
	for _, c := range catalog() {
		out = append(out, c.ID)
	}
	return out
})

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

// Assess returns the checks the rules of one namespace fail, rule by rule
// and, within a rule, in the order of Checks; Finding.Rule says which rule.
// The rules are assessed together, because a combination check (With) is
// failed by one rule only when another, or the same, grants its other half.
// A rule with every verb on every resource of every API group fails only
// Admin: the other findings would repeat it. namespace weighs the findings
// (RaisedIn) and decides the checks of one namespace (aws-auth).
func Assess(namespace string, rules []rbacv1.PolicyRule) []Finding {
	var findings []Finding
	checks := catalog()
	for i, rule := range rules {
		for _, c := range checks {
			hit, narrowed := c.matches(namespace, rule)
			if !hit || !grantsAny(namespace, rules, c.With) {
				continue
			}
			f := c.finding(namespace, rule, narrowed)
			f.Rule = i
			findings = append(findings, f)
			if c.ID == Admin && slices.Contains(rule.APIGroups, rbacv1.APIGroupAll) {
				break
			}
		}
	}
	return findings
}

// grantsAny reports whether some rule grants one of actions, names aside;
// no actions at all ask for nothing, which is granted.
func grantsAny(namespace string, rules []rbacv1.PolicyRule, actions []Action) bool {
	if len(actions) == 0 {
		return true
	}
	for _, r := range rules {
		for _, a := range actions {
			if a.AppliesIn(namespace) && policyRuleGrants(r, a) {
				return true
			}
		}
	}
	return false
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

// WeightedNamespaces returns the namespaces some check treats unlike the
// others (RaisedIn, or an action limited to the namespace), sorted: rules
// of any other namespace are graded alike wherever they hold.
func WeightedNamespaces() []string {
	var out []string
	for _, c := range catalog() {
		out = append(out, c.RaisedIn...)
		for _, a := range slices.Concat(c.Actions, c.With) {
			if a.Namespace != "" {
				out = append(out, a.Namespace)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
