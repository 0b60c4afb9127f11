package complete

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func serviceAccount(ns, name string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func TestServiceAccounts(t *testing.T) {
	client := fake.NewClientset(
		serviceAccount("build", "deployer"),
		serviceAccount("build", "ci"),
		serviceAccount("build", "default"),
		serviceAccount("other", "ci-other"),
	)
	for _, tc := range []struct {
		name, namespace, prefix string
		want                    []string
	}{
		{"all, sorted", "build", "", []string{"ci", "default", "deployer"}},
		{"prefix", "build", "de", []string{"default", "deployer"}},
		{"exact name", "build", "ci", []string{"ci"}},
		{"no match", "build", "x", []string{}},
		{"only the namespace's", "other", "", []string{"ci-other"}},
		{"empty namespace", "empty", "", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ServiceAccounts(context.Background(), client.CoreV1(), tc.namespace, tc.prefix)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ServiceAccounts(%q, %q) (-want +got):\n%s", tc.namespace, tc.prefix, diff)
			}
		})
	}
}

func TestNamespaces(t *testing.T) {
	client := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "build"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-public"}},
	)
	got, err := Namespaces(context.Background(), client.CoreV1(), "kube-")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"kube-public", "kube-system"}, got); diff != "" {
		t.Errorf("Namespaces(kube-) (-want +got):\n%s", diff)
	}
}

// TestListErrors checks that a refused list is returned, not turned into
// an empty answer that would hide it from debugging.
func TestListErrors(t *testing.T) {
	client := fake.NewClientset()
	denied := errors.New("forbidden")
	client.PrependReactor("list", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, denied
	})
	if _, err := ServiceAccounts(context.Background(), client.CoreV1(), "build", ""); !errors.Is(err, denied) {
		t.Errorf("ServiceAccounts error = %v, want %v", err, denied)
	}
	if _, err := Namespaces(context.Background(), client.CoreV1(), ""); !errors.Is(err, denied) {
		t.Errorf("Namespaces error = %v, want %v", err, denied)
	}
}

func TestKubeconfigNames(t *testing.T) {
	cfg := &clientcmdapi.Config{
		Contexts:  map[string]*clientcmdapi.Context{"prod": {}, "dev": {}, "prod-eu": {}},
		Clusters:  map[string]*clientcmdapi.Cluster{"c1": {}},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{"admin": {}, "alice": {}},
	}
	for _, tc := range []struct {
		kind   KubeconfigKind
		prefix string
		want   []string
	}{
		{Contexts, "", []string{"dev", "prod", "prod-eu"}},
		{Contexts, "prod", []string{"prod", "prod-eu"}},
		{Clusters, "", []string{"c1"}},
		{Users, "al", []string{"alice"}},
		{Users, "z", []string{}},
	} {
		got := KubeconfigNames(cfg, tc.kind, tc.prefix)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("KubeconfigNames(%s, %q) (-want +got):\n%s", tc.kind, tc.prefix, diff)
		}
	}
}
