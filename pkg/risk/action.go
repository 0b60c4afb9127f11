package risk

import (
	"fmt"
	"slices"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// Action is one request a subject may be allowed to make: a verb on a
// resource (a subresource, an API group, one object's name), or a verb on a
// non-resource URL. It is the question a SelfSubjectAccessReview asks, and
// the unit a check is made of.
type Action struct {
	// Verb is the API verb (get, list, create, impersonate, ...), "*" for
	// every verb; for a non-resource URL, the lower-case HTTP method.
	Verb string
	// Group is the API group: "" for the core group, "*" for every group.
	Group string
	// Resource is the resource's plural name, "*" for every resource.
	Resource string
	// Subresource is e.g. "exec" in pods/exec; "" for the resource itself.
	Subresource string
	// Name is one object's name; "" means every object.
	Name string
	// Namespace, when set, limits the action to objects of that namespace:
	// a check made of it fails only there, and it is verified only there
	// (aws-auth is a ConfigMap of kube-system; one of that name elsewhere is
	// nothing). ParseAction never sets it, and String does not write it.
	Namespace string
	// NonResourceURL is the path of a request that names no resource, such
	// as /metrics. When it is set the action is a non-resource one and only
	// Verb counts besides it.
	NonResourceURL string
}

// AppliesIn reports whether a concerns objects of namespace: always, unless
// a is limited to another Namespace. It decides where a check fails and
// where an action is verified.
func (a Action) AppliesIn(namespace string) bool {
	return a.Namespace == "" || a.Namespace == namespace
}

// isNonResource reports whether a is a request for a non-resource URL.
func (a Action) isNonResource() bool { return a.NonResourceURL != "" }

// String writes a the way ParseAction reads it: "create pods/exec",
// "escalate roles.rbac.authorization.k8s.io", "update deployments/scale.apps",
// "get secrets app-config" (one object), "get /metrics".
func (a Action) String() string {
	if a.isNonResource() {
		return a.Verb + " " + a.NonResourceURL
	}
	var b strings.Builder
	b.WriteString(a.Verb)
	b.WriteByte(' ')
	b.WriteString(a.Resource)
	if a.Subresource != "" {
		b.WriteByte('/')
		b.WriteString(a.Subresource)
	}
	if a.Group != "" {
		b.WriteByte('.')
		b.WriteString(a.Group)
	}
	if a.Name != "" {
		b.WriteByte(' ')
		b.WriteString(a.Name)
	}
	return b.String()
}

// ActionError is why a written action could not be parsed. It names no
// flag: the command that took the value adds that.
type ActionError struct {
	// Action is the text given.
	Action string
	// Problem says what is wrong with it and how to write it instead.
	Problem string
}

// Error says which action is wrong and why.
func (e *ActionError) Error() string {
	return fmt.Sprintf("action %q: %s", e.Action, e.Problem)
}

// actionSyntax is the accepted form, quoted in every ActionError.
const actionSyntax = "want VERB RESOURCE[/SUBRESOURCE][.GROUP] [NAME], e.g. \"create pods/exec\", or VERB /PATH, e.g. \"get /metrics\""

// ParseAction reads an action written "VERB RESOURCE[/SUBRESOURCE][.GROUP]
// [NAME]" ("create pods/exec", "get deployments.apps", "update
// deployments/scale.apps", "get secrets app-config") or "VERB /PATH" ("get
// /healthz"). The resource is the plural, lower-case name RBAC matches: there
// is no discovery, so kinds, singular names and short names are not
// resolved. The group is what follows the first dot; no group is the core
// group. Any error is an *ActionError.
func ParseAction(s string) (Action, error) {
	fail := func(format string, args ...any) (Action, error) {
		return Action{}, &ActionError{Action: s, Problem: fmt.Sprintf(format, args...)}
	}
	fields := strings.Fields(s)
	switch {
	case len(fields) == 0:
		return fail("empty; %s", actionSyntax)
	case len(fields) == 1:
		return fail("no resource or URL after the verb; %s", actionSyntax)
	case len(fields) > 3:
		return fail("%d words; %s", len(fields), actionSyntax)
	}
	verb, target := fields[0], fields[1]
	if strings.ContainsAny(verb, "/.") {
		return fail("%q is not a verb: the verb comes first, e.g. \"create pods/exec\"", verb)
	}
	if verb != strings.ToLower(verb) {
		return fail("verb %q is not lower case: verbs are, e.g. \"get\"", verb)
	}

	if strings.HasPrefix(target, "/") {
		if len(fields) == 3 {
			return fail("a non-resource URL names no object; %s", actionSyntax)
		}
		return Action{Verb: verb, NonResourceURL: target}, nil
	}

	if target != strings.ToLower(target) {
		return fail("resource %q is not lower case: resources are written as their plural, lower-case names, e.g. \"pods\"", target)
	}
	if strings.Count(target, "/") > 1 {
		return fail("more than one slash in %q: a resource has one level of subresource", target)
	}
	resourceAndSub, group, hasGroup := strings.Cut(target, ".")
	switch {
	case hasGroup && group == "":
		return fail("no API group after the dot in %q; the core group is written without one, e.g. \"pods\"", target)
	case strings.Contains(group, "/"):
		return fail("the subresource comes before the API group: %q", moveSubresource(resourceAndSub, group))
	}
	resource, sub, hasSub := strings.Cut(resourceAndSub, "/")
	switch {
	case resource == "":
		return fail("no resource in %q; %s", target, actionSyntax)
	case hasSub && sub == "":
		return fail("no subresource after the slash in %q", target)
	}
	a := Action{Verb: verb, Group: group, Resource: resource, Subresource: sub}
	if len(fields) == 3 {
		a.Name = fields[2]
		if strings.Contains(a.Name, "/") {
			return fail("object name %q contains a slash; names never do", a.Name)
		}
	}
	return a, nil
}

// moveSubresource rewrites "deployments" + "apps/scale" (from
// "deployments.apps/scale") as "deployments/scale.apps", for an error that
// shows the accepted spelling.
func moveSubresource(resource, groupAndSub string) string {
	group, sub, _ := strings.Cut(groupAndSub, "/")
	return resource + "/" + sub + "." + group
}

// AccessReviewSpec is the SelfSubjectAccessReview that asks whether the
// subject may perform a in namespace ("" for cluster-scoped resources, or
// every namespace of a namespaced one). A non-resource action ignores
// namespace.
func (a Action) AccessReviewSpec(namespace string) authorizationv1.SelfSubjectAccessReviewSpec {
	if a.isNonResource() {
		return authorizationv1.SelfSubjectAccessReviewSpec{
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: a.NonResourceURL, Verb: a.Verb},
		}
	}
	return authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace:   namespace,
			Verb:        a.Verb,
			Group:       a.Group,
			Resource:    a.Resource,
			Subresource: a.Subresource,
			Name:        a.Name,
		},
	}
}

// ClusterScoped reports whether a is answered once for the whole cluster
// rather than per namespace: non-resource URLs, and the built-in resources
// that live outside namespaces (nodes, ClusterRoles, webhook configurations,
// the users and groups one impersonates, ...). A resource it does not know,
// such as a custom resource, counts as namespaced: asked per namespace, a
// cluster-scoped resource is still answered from the cluster-wide bindings
// too. Binding a ClusterRole is namespaced: a RoleBinding may refer to one,
// and the bind right is then checked in the RoleBinding's namespace.
func (a Action) ClusterScoped() bool {
	if a.isNonResource() {
		return true
	}
	if a.Group == rbacGroup && a.Resource == "clusterroles" && a.Verb == "bind" {
		return false
	}
	return slices.Contains(clusterScopedResources(a.Group), a.Resource)
}

// clusterScopedResources lists the built-in cluster-scoped resources of an
// API group.
func clusterScopedResources(group string) []string {
	switch group {
	case "":
		return []string{"nodes", "namespaces", "persistentvolumes", "componentstatuses", "users", "groups"}
	case admissionGroup:
		return []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations", "validatingadmissionpolicies", "validatingadmissionpolicybindings", "mutatingadmissionpolicies", "mutatingadmissionpolicybindings"}
	case "apiextensions.k8s.io":
		return []string{"customresourcedefinitions"}
	case "apiregistration.k8s.io":
		return []string{"apiservices"}
	case authnGroup:
		return []string{"tokenreviews", "selfsubjectreviews", "uids", "userextras"}
	case "authorization.k8s.io":
		return []string{"subjectaccessreviews", "selfsubjectaccessreviews", "selfsubjectrulesreviews"}
	case certificateGroup:
		return []string{"certificatesigningrequests", "clustertrustbundles", "signers"}
	case "flowcontrol.apiserver.k8s.io":
		return []string{"flowschemas", "prioritylevelconfigurations"}
	case "networking.k8s.io":
		return []string{"ingressclasses", "ipaddresses", "servicecidrs"}
	case "node.k8s.io":
		return []string{"runtimeclasses"}
	case rbacGroup:
		return []string{"clusterroles", "clusterrolebindings"}
	case "resource.k8s.io":
		return []string{"deviceclasses", "resourceslices"}
	case "scheduling.k8s.io":
		return []string{"priorityclasses"}
	case "storage.k8s.io":
		return []string{"csidrivers", "csinodes", "storageclasses", "volumeattachments", "volumeattributesclasses"}
	}
	return nil
}

// Covers reports whether the rules a SelfSubjectRulesReview listed already
// grant a, matched the way the RBAC authorizer matches a request: "*" verbs,
// groups and resources, "*/subresource", resourceNames (a rule limited to
// names covers only an action on one of those names), and for non-resource
// URLs "*" and a trailing "*" as a prefix. A "*" in a itself asks for
// everything, so only a rule with "*" there covers it.
func Covers(resourceRules []authorizationv1.ResourceRule, nonResourceRules []authorizationv1.NonResourceRule, a Action) bool {
	if a.isNonResource() {
		for _, r := range nonResourceRules {
			if verbMatches(r.Verbs, a.Verb) && urlMatches(r.NonResourceURLs, a.NonResourceURL) {
				return true
			}
		}
		return false
	}
	for _, r := range resourceRules {
		if resourceRuleMatches(r.Verbs, r.APIGroups, r.Resources, a) && nameMatches(r.ResourceNames, a.Name) {
			return true
		}
	}
	return false
}

// policyRuleGrants reports whether rule grants a, ignoring resourceNames:
// for Assess the names narrow a risk, they do not remove it.
func policyRuleGrants(rule rbacv1.PolicyRule, a Action) bool {
	if a.isNonResource() {
		return verbMatches(rule.Verbs, a.Verb) && urlMatches(rule.NonResourceURLs, a.NonResourceURL)
	}
	return resourceRuleMatches(rule.Verbs, rule.APIGroups, rule.Resources, a)
}

// resourceRuleMatches is RBAC's match of a rule's verbs, groups and
// resources against a resource request.
func resourceRuleMatches(verbs, groups, resources []string, a Action) bool {
	return verbMatches(verbs, a.Verb) && groupMatches(groups, a.Group) && resourceMatches(resources, a.Resource, a.Subresource)
}

func verbMatches(verbs []string, verb string) bool {
	return slices.Contains(verbs, rbacv1.VerbAll) || slices.Contains(verbs, verb)
}

func groupMatches(groups []string, group string) bool {
	return slices.Contains(groups, rbacv1.APIGroupAll) || slices.Contains(groups, group)
}

// resourceMatches: "*", "resource" or "resource/sub" exactly, or "*/sub".
// RBAC knows no "resource/*".
func resourceMatches(resources []string, resource, sub string) bool {
	combined := resource
	if sub != "" {
		combined += "/" + sub
	}
	for _, r := range resources {
		if r == rbacv1.ResourceAll || r == combined || (sub != "" && r == "*/"+sub) {
			return true
		}
	}
	return false
}

// nameMatches: a rule without names covers every name; one with names only
// those, so never "every object" (name "").
func nameMatches(names []string, name string) bool {
	return len(names) == 0 || slices.Contains(names, name)
}

// urlMatches: "*", the path exactly, or a prefix ending in "*" (RBAC trims
// every trailing "*").
func urlMatches(urls []string, path string) bool {
	for _, u := range urls {
		if u == rbacv1.NonResourceAll || u == path {
			return true
		}
		if strings.HasSuffix(u, "*") && strings.HasPrefix(path, strings.TrimRight(u, "*")) {
			return true
		}
	}
	return false
}
