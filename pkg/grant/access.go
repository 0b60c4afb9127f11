// Package grant says where a subject's rights come from. From the RBAC
// objects of a cluster, read once with the caller's credentials (Read), it
// names for each right a SelfSubjectRulesReview listed the bindings and
// roles that grant it and the subject they name (the account itself or one
// of its groups), and which rights every authenticated user or every
// service account holds anyway: the baseline, read from the server's own
// bindings to system:authenticated, system:unauthenticated and
// system:serviceaccounts, never assumed. A right granted to
// system:serviceaccounts:NS is marked as the namespace's, never folded.
//
// It re-implements only RBAC's matching of a rule against one request; the
// rights themselves are still the server's: a listed right no RBAC object
// explains is reported as granted elsewhere.
package grant

import (
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Access is one right, the unit RBAC rules are unions of: one verb on one
// resource of one API group, on one object name or on all of them, or one
// verb on one non-resource URL.
type Access struct {
	// Verb is the verb; "*" asks for every verb.
	Verb string
	// Group is the API group ("" for the core group, "*" for all).
	Group string
	// Resource is the resource as RBAC writes it, with its subresource:
	// "pods", "pods/exec", "*", "*/scale".
	Resource string
	// Name is one object's name; "" means every object.
	Name string
	// URL is a non-resource URL ("/healthz", "/api/*"); when set, only Verb
	// counts besides it.
	URL string
}

// Accesses breaks rule down into its single accesses: the product of its
// verbs, groups, resources and names, and of its verbs and non-resource
// URLs.
func Accesses(rule rbacv1.PolicyRule) []Access {
	var out []Access
	names := rule.ResourceNames
	if len(names) == 0 {
		names = []string{""}
	}
	for _, g := range rule.APIGroups {
		for _, r := range rule.Resources {
			for _, n := range names {
				for _, v := range rule.Verbs {
					out = append(out, Access{Verb: v, Group: g, Resource: r, Name: n})
				}
			}
		}
	}
	for _, u := range rule.NonResourceURLs {
		for _, v := range rule.Verbs {
			out = append(out, Access{Verb: v, URL: u})
		}
	}
	return out
}

// Covers reports whether rule grants a, with RBAC's semantics: "*" verbs,
// groups and resources match anything, "*/sub" matches that subresource of
// any resource, a rule without resourceNames covers every name and one with
// names only those (never "every object"), and a non-resource URL ending in
// "*" is a prefix. A "*" (or a pattern) in a itself asks for all of it, so
// only the same or a wider pattern in the rule covers it: a rule listed by
// the server as "*/scale" is covered by a role's "*/scale" or "*", not by
// "deployments/scale".
func Covers(rule rbacv1.PolicyRule, a Access) bool {
	if !slices.Contains(rule.Verbs, rbacv1.VerbAll) && !slices.Contains(rule.Verbs, a.Verb) {
		return false
	}
	if a.URL != "" {
		return urlCovers(rule.NonResourceURLs, a.URL)
	}
	if !slices.Contains(rule.APIGroups, rbacv1.APIGroupAll) && !slices.Contains(rule.APIGroups, a.Group) {
		return false
	}
	return resourceCovers(rule.Resources, a.Resource) &&
		(len(rule.ResourceNames) == 0 || (a.Name != "" && slices.Contains(rule.ResourceNames, a.Name)))
}

// resourceCovers: "*", the resource exactly, or "*/sub" for any resource's
// subresource sub. RBAC knows no "resource/*".
func resourceCovers(resources []string, resource string) bool {
	_, sub, hasSub := strings.Cut(resource, "/")
	for _, r := range resources {
		if r == rbacv1.ResourceAll || r == resource || (hasSub && r == "*/"+sub) {
			return true
		}
	}
	return false
}

// urlCovers: "*", the URL exactly, or a prefix ending in "*" (RBAC trims
// every trailing "*"). A listed pattern "/api/*" is covered by the same
// pattern or a shorter prefix ("/*", "/api*").
func urlCovers(urls []string, url string) bool {
	for _, u := range urls {
		if u == rbacv1.NonResourceAll || u == url {
			return true
		}
		if strings.HasSuffix(u, "*") && strings.HasPrefix(url, strings.TrimRight(u, "*")) {
			return true
		}
	}
	return false
}
