// Package complete finds the words shell completion offers: names read from
// the cluster with the caller's kubeconfig (service accounts, namespaces) or
// from the kubeconfig itself (contexts, clusters, users).
//
// A shell waits for these answers while the user holds TAB, so every lookup
// is one request bounded by Timeout, and its errors are for the caller to log,
// never to print where the shell would show them.
package complete

import (
	"context"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Timeout bounds one completion lookup against the API server: a slow or
// unreachable server must not hang the user's shell.
const Timeout = 5 * time.Second

// ServiceAccounts returns the names of the service accounts of namespace that
// start with prefix, sorted.
func ServiceAccounts(ctx context.Context, c corev1client.ServiceAccountsGetter, namespace, prefix string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	list, err := c.ServiceAccounts(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(list.Items))
	for i := range list.Items {
		names = append(names, list.Items[i].Name)
	}
	return withPrefix(names, prefix), nil
}

// Namespaces returns the names of the namespaces that start with prefix,
// sorted.
func Namespaces(ctx context.Context, c corev1client.NamespacesGetter, prefix string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	list, err := c.Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(list.Items))
	for i := range list.Items {
		names = append(names, list.Items[i].Name)
	}
	return withPrefix(names, prefix), nil
}

// KubeconfigKind names one of the maps of a kubeconfig.
type KubeconfigKind string

// The maps of a kubeconfig whose names complete --context, --cluster and
// --user.
const (
	Contexts KubeconfigKind = "contexts"
	Clusters KubeconfigKind = "clusters"
	Users    KubeconfigKind = "users"
)

// KubeconfigNames returns the names of kind in cfg that start with prefix,
// sorted. It reads no server.
func KubeconfigNames(cfg *clientcmdapi.Config, kind KubeconfigKind, prefix string) []string {
	var names []string
	switch kind {
	case Contexts:
		names = keys(cfg.Contexts)
	case Clusters:
		names = keys(cfg.Clusters)
	case Users:
		names = keys(cfg.AuthInfos)
	}
	return withPrefix(names, prefix)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// withPrefix keeps the names that start with prefix, sorted, never nil.
func withPrefix(names []string, prefix string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
