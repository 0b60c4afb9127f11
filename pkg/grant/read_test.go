package grant

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// fakeRBAC is a clientset holding the objects of cluster().
func fakeRBAC() *fake.Clientset {
	objs := cluster()
	var all []runtime.Object
	for i := range objs.ClusterRoles {
		all = append(all, &objs.ClusterRoles[i])
	}
	for i := range objs.ClusterRoleBindings {
		all = append(all, &objs.ClusterRoleBindings[i])
	}
	for i := range objs.Roles {
		all = append(all, &objs.Roles[i])
	}
	for i := range objs.RoleBindings {
		all = append(all, &objs.RoleBindings[i])
	}
	return fake.NewClientset(all...)
}

func listed(client *fake.Clientset) []string {
	var got []string
	for _, a := range client.Actions() {
		r := a.GetVerb() + " " + a.GetResource().Resource
		if a.GetNamespace() != "" {
			r += " in " + a.GetNamespace()
		}
		got = append(got, r)
	}
	sort.Strings(got)
	return got
}

func names(objs *Objects) []string {
	var out []string
	for _, r := range objs.Roles {
		out = append(out, "Role "+r.Namespace+"/"+r.Name)
	}
	for _, b := range objs.RoleBindings {
		out = append(out, "RoleBinding "+b.Namespace+"/"+b.Name)
	}
	return out
}

func TestRead(t *testing.T) {
	cases := []struct {
		name         string
		scope        Scope
		wantRequests []string
		wantObjects  []string
	}{
		{
			name:         "one namespace: one LIST of each",
			scope:        Scope{Namespaces: s("build"), Concurrency: 4},
			wantRequests: s("list clusterrolebindings", "list clusterroles", "list rolebindings in build", "list roles in build"),
			wantObjects:  s("Role build/pods", "RoleBinding build/pods", "RoleBinding build/view"),
		},
		{
			name:         "several namespaces: Roles and RoleBindings of each, one at a time",
			scope:        Scope{Namespaces: s("other", "build")},
			wantRequests: s("list clusterrolebindings", "list clusterroles", "list rolebindings in build", "list rolebindings in other", "list roles in build", "list roles in other"),
			wantObjects:  s("Role build/pods", "Role other/pods", "RoleBinding build/pods", "RoleBinding build/view", "RoleBinding other/elsewhere", "RoleBinding other/pods"),
		},
		{
			name:         "every namespace: cluster-wide LISTs",
			scope:        Scope{AllNamespaces: true, Namespaces: s("build", "other", "x"), Concurrency: 16},
			wantRequests: s("list clusterrolebindings", "list clusterroles", "list rolebindings", "list roles"),
			wantObjects:  s("Role build/pods", "Role other/pods", "RoleBinding build/pods", "RoleBinding build/view", "RoleBinding other/elsewhere", "RoleBinding other/pods"),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := fakeRBAC()
			objs, err := Read(context.Background(), client.RbacV1(), tc.scope)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantRequests, listed(client)); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantObjects, names(objs)); diff != "" {
				t.Errorf("namespaced objects, sorted (-want +got):\n%s", diff)
			}
			if len(objs.ClusterRoles) != len(cluster().ClusterRoles) || len(objs.ClusterRoleBindings) != len(cluster().ClusterRoleBindings) {
				t.Errorf("%d ClusterRoles and %d ClusterRoleBindings read, want all", len(objs.ClusterRoles), len(objs.ClusterRoleBindings))
			}
			if !sort.SliceIsSorted(objs.ClusterRoles, func(i, j int) bool { return objs.ClusterRoles[i].Name < objs.ClusterRoles[j].Name }) ||
				!sort.SliceIsSorted(objs.ClusterRoleBindings, func(i, j int) bool { return objs.ClusterRoleBindings[i].Name < objs.ClusterRoleBindings[j].Name }) {
				t.Error("the cluster-wide objects are not sorted by name")
			}
		})
	}
}

func TestReadSortsWhatTheServerShuffles(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("list", "clusterroles", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, &rbacv1.ClusterRoleList{Items: []rbacv1.ClusterRole{clusterRole("b"), clusterRole("a"), clusterRole("c")}}, nil
	})
	client.PrependReactor("list", "clusterrolebindings", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, &rbacv1.ClusterRoleBindingList{Items: []rbacv1.ClusterRoleBinding{crb("z", toClusterRole("a")), crb("y", toClusterRole("a"))}}, nil
	})
	client.PrependReactor("list", "roles", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, &rbacv1.RoleList{Items: []rbacv1.Role{role("b", "r"), role("a", "s"), role("a", "r")}}, nil
	})
	client.PrependReactor("list", "rolebindings", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, &rbacv1.RoleBindingList{Items: []rbacv1.RoleBinding{rb("b", "r", toRole("r")), rb("a", "r", toRole("r"))}}, nil
	})
	objs, err := Read(context.Background(), client.RbacV1(), Scope{AllNamespaces: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range objs.ClusterRoles {
		got = append(got, r.Name)
	}
	for _, b := range objs.ClusterRoleBindings {
		got = append(got, b.Name)
	}
	got = append(got, names(objs)...)
	want := s("a", "b", "c", "y", "z", "Role a/r", "Role a/s", "Role b/r", "RoleBinding a/r", "RoleBinding b/r")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestReadFails(t *testing.T) {
	forbidden := func(resource string) error {
		return apierrors.NewForbidden(schema.GroupResource{Group: rbacv1.GroupName, Resource: resource}, "", errors.New("no"))
	}
	cases := []struct {
		name          string
		fail          map[string]error // by resource
		wantResource  string
		wantNamespace string
		wantForbidden bool
		wantMessage   string
	}{
		{
			name: "forbidden ClusterRoles", fail: map[string]error{"clusterroles": forbidden("clusterroles")},
			wantResource: "clusterroles", wantForbidden: true,
			wantMessage: `may not list clusterroles: clusterroles.rbac.authorization.k8s.io is forbidden`,
		},
		{
			name: "forbidden RoleBindings of a namespace", fail: map[string]error{"rolebindings": forbidden("rolebindings")},
			wantResource: "rolebindings", wantNamespace: "build", wantForbidden: true,
			wantMessage: `may not list rolebindings in namespace build: `,
		},
		{
			name: "a rejected credential counts as forbidden", fail: map[string]error{"roles": apierrors.NewUnauthorized("expired")},
			wantResource: "roles", wantNamespace: "build", wantForbidden: true,
			wantMessage: `may not list roles in namespace build: expired`,
		},
		{
			name: "a server error is no refusal", fail: map[string]error{"clusterrolebindings": apierrors.NewInternalError(errors.New("boom"))},
			wantResource: "clusterrolebindings",
			wantMessage:  `listing clusterrolebindings: Internal error occurred: boom`,
		},
		{
			name:         "the first failure in request order is reported",
			fail:         map[string]error{"roles": forbidden("roles"), "clusterrolebindings": apierrors.NewInternalError(errors.New("boom"))},
			wantResource: "clusterrolebindings",
			wantMessage:  `listing clusterrolebindings: `,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := fakeRBAC()
			for resource, err := range tc.fail {
				client.PrependReactor("list", resource, func(clienttesting.Action) (bool, runtime.Object, error) { return true, nil, err })
			}
			objs, err := Read(context.Background(), client.RbacV1(), Scope{Namespaces: s("build"), Concurrency: 4})
			if objs != nil {
				t.Error("objects returned beside an error")
			}
			var unreadable *UnreadableError
			if !errors.As(err, &unreadable) {
				t.Fatalf("error %v is no *UnreadableError", err)
			}
			if unreadable.Resource != tc.wantResource || unreadable.Namespace != tc.wantNamespace || unreadable.Forbidden != tc.wantForbidden {
				t.Errorf("error is about %s in %q, forbidden %t; want %s in %q, %t", unreadable.Resource, unreadable.Namespace, unreadable.Forbidden, tc.wantResource, tc.wantNamespace, tc.wantForbidden)
			}
			if !strings.HasPrefix(err.Error(), tc.wantMessage) {
				t.Errorf("message %q, want it to start with %q", err, tc.wantMessage)
			}
			if errors.Unwrap(err) != tc.fail[tc.wantResource] {
				t.Errorf("the error does not wrap the server's answer")
			}
		})
	}
}

func TestReadInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	client := fakeRBAC()
	client.PrependReactor("list", "clusterroles", func(clienttesting.Action) (bool, runtime.Object, error) {
		cancel()
		return true, nil, context.Canceled
	})
	_, err := Read(ctx, client.RbacV1(), Scope{Namespaces: s("build")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	var unreadable *UnreadableError
	if errors.As(err, &unreadable) {
		t.Error("an interrupted read is reported as unreadable RBAC")
	}
}
