package grant

import (
	"context"
	"fmt"
	"sort"

	"golang.org/x/sync/errgroup"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	rbacv1client "k8s.io/client-go/kubernetes/typed/rbac/v1"
)

// Objects are the RBAC objects of a cluster that grants can come from.
type Objects struct {
	ClusterRoles        []rbacv1.ClusterRole
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	// Roles and RoleBindings are those of the namespaces read.
	Roles        []rbacv1.Role
	RoleBindings []rbacv1.RoleBinding
}

// Scope says which namespaces' Roles and RoleBindings to read.
type Scope struct {
	// AllNamespaces reads them with one cluster-wide LIST each.
	AllNamespaces bool
	// Namespaces are read with one LIST each of Roles and RoleBindings,
	// when AllNamespaces is false.
	Namespaces []string
	// Concurrency bounds the LISTs in flight; 1 if < 1.
	Concurrency int
}

// UnreadableError says the RBAC objects could not be read, so no right is
// explained and none is known to be the baseline.
type UnreadableError struct {
	// Resource is what was being listed: "clusterroles", "rolebindings", ...
	Resource string
	// Namespace is the namespace listed; "" for a cluster-wide LIST.
	Namespace string
	// Forbidden says the credentials may not list it (403, or 401).
	Forbidden bool
	// Err is the server's answer.
	Err error
}

// Error says what could not be listed and why.
func (e *UnreadableError) Error() string {
	where := ""
	if e.Namespace != "" {
		where = " in namespace " + e.Namespace
	}
	if e.Forbidden {
		return fmt.Sprintf("may not list %s%s: %v", e.Resource, where, e.Err)
	}
	return fmt.Sprintf("listing %s%s: %v", e.Resource, where, e.Err)
}

// Unwrap returns the server's answer.
func (e *UnreadableError) Unwrap() error { return e.Err }

// Read lists the RBAC objects with client: one LIST of ClusterRoles, one of
// ClusterRoleBindings, and of Roles and RoleBindings one cluster-wide LIST
// each or one per namespace of scope, at most scope.Concurrency at once.
// Any failure is an *UnreadableError (the first, in request order), except
// the end of ctx, returned as ctx's error. The objects are sorted by
// namespace and name, so what is built on them is deterministic.
func Read(ctx context.Context, client rbacv1client.RbacV1Interface, scope Scope) (*Objects, error) {
	var (
		objs       Objects
		roles      = make([][]rbacv1.Role, max(1, len(scope.Namespaces)))
		bindings   = make([][]rbacv1.RoleBinding, len(roles))
		namespaces = scope.Namespaces
		listOpts   = metav1.ListOptions{}
	)
	if scope.AllNamespaces {
		namespaces = []string{metav1.NamespaceAll}
	}
	type list struct {
		resource, namespace string
		do                  func(context.Context) error
	}
	lists := []list{
		{"clusterroles", "", func(ctx context.Context) error {
			l, err := client.ClusterRoles().List(ctx, listOpts)
			if err == nil {
				objs.ClusterRoles = l.Items
			}
			return err
		}},
		{"clusterrolebindings", "", func(ctx context.Context) error {
			l, err := client.ClusterRoleBindings().List(ctx, listOpts)
			if err == nil {
				objs.ClusterRoleBindings = l.Items
			}
			return err
		}},
	}
	for i, ns := range namespaces {
		lists = append(lists,
			list{"roles", ns, func(ctx context.Context) error {
				l, err := client.Roles(ns).List(ctx, listOpts)
				if err == nil {
					roles[i] = l.Items
				}
				return err
			}},
			list{"rolebindings", ns, func(ctx context.Context) error {
				l, err := client.RoleBindings(ns).List(ctx, listOpts)
				if err == nil {
					bindings[i] = l.Items
				}
				return err
			}})
	}
	errs := make([]error, len(lists))
	var g errgroup.Group
	g.SetLimit(max(1, scope.Concurrency))
	for i, l := range lists {
		g.Go(func() error {
			errs[i] = l.do(ctx)
			return nil
		})
	}
	_ = g.Wait() // the errors are in errs
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	for i, err := range errs {
		if err != nil {
			l := lists[i]
			return nil, &UnreadableError{Resource: l.resource, Namespace: l.namespace, Forbidden: apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err), Err: err}
		}
	}
	for i := range roles {
		objs.Roles = append(objs.Roles, roles[i]...)
		objs.RoleBindings = append(objs.RoleBindings, bindings[i]...)
	}
	objs.sort()
	return &objs, nil
}

func (o *Objects) sort() {
	sort.Slice(o.ClusterRoles, func(i, j int) bool { return o.ClusterRoles[i].Name < o.ClusterRoles[j].Name })
	sort.Slice(o.ClusterRoleBindings, func(i, j int) bool { return o.ClusterRoleBindings[i].Name < o.ClusterRoleBindings[j].Name })
	sort.Slice(o.Roles, func(i, j int) bool {
		return o.Roles[i].Namespace+"/"+o.Roles[i].Name < o.Roles[j].Namespace+"/"+o.Roles[j].Name
	})
	sort.Slice(o.RoleBindings, func(i, j int) bool {
		return o.RoleBindings[i].Namespace+"/"+o.RoleBindings[i].Name < o.RoleBindings[j].Namespace+"/"+o.RoleBindings[j].Name
	})
}
