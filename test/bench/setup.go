package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-access/kubectl-access/pkg/controlplane"
)

// The scenario's fixed names.
const (
	// benchNS holds the service accounts; it is the namespace of every
	// kubeconfig the benchmark writes.
	benchNS = "bench"
	// legacySA has a hand-made legacy token Secret, legacySecret, so that
	// `kubectl get secrets | grep ^legacy` finds it as the documented flow
	// expects.
	legacySA     = "legacy"
	legacySecret = "legacy-token"
	// readerSA has no Secret; it is bound to readerRole in benchNS and in
	// every bindEvery-th extra namespace.
	readerSA   = "reader"
	readerRole = "kubectl-access-bench-reader"
	bindEvery  = 5
	// nsPrefix starts the names of the extra namespaces.
	nsPrefix = "bench-ns-"
	// setupWorkers bounds the concurrent requests that create namespaces.
	setupWorkers = 16
)

// cluster is the prepared scenario on a running control plane.
type cluster struct {
	cp     *controlplane.ControlPlane
	client kubernetes.Interface
	// benchKubeconfig has the admin client certificate and namespace bench.
	benchKubeconfig string
	// tokenKubeconfig holds readerToken alone (no client certificate that
	// would shadow it), namespace bench.
	tokenKubeconfig string
	// noauthKubeconfig has the server and CA only: kubectl gets the token
	// from --token.
	noauthKubeconfig string
	// readerToken is a TokenRequest token of bench/reader, also in
	// readerTokenFile (mode 0600).
	readerToken     string
	readerTokenFile string
	// legacyToken is the token of the legacy Secret.
	legacyToken string
	// extra is how many bench-ns-NNNN namespaces exist.
	extra int
}

// setup prepares the fixed part of the scenario and writes the kubeconfigs
// and token file into dir.
func setup(ctx context.Context, cp *controlplane.ControlPlane, dir string) (*cluster, error) {
	cfg, err := cp.RESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = harnessAgent + "/setup"
	cfg.QPS, cfg.Burst = 200, 400
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	c := &cluster{cp: cp, client: client}
	create := metav1.CreateOptions{}
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNS}}, create); err != nil {
		return nil, fmt.Errorf("creating namespace %s: %w", benchNS, err)
	}
	for _, sa := range []string{legacySA, readerSA} {
		if _, err := client.CoreV1().ServiceAccounts(benchNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, create); err != nil {
			return nil, fmt.Errorf("creating service account %s/%s: %w", benchNS, sa, err)
		}
	}
	if c.legacyToken, err = c.createLegacySecret(ctx); err != nil {
		return nil, err
	}
	if _, err := client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: readerRole},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps", "pods"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list"}},
		},
	}, create); err != nil {
		return nil, fmt.Errorf("creating ClusterRole %s: %w", readerRole, err)
	}
	for _, sa := range []string{legacySA, readerSA} {
		if err := c.bind(ctx, benchNS, sa); err != nil {
			return nil, err
		}
	}
	expiry := int64((2 * time.Hour).Seconds())
	tr, err := client.CoreV1().ServiceAccounts(benchNS).CreateToken(ctx, readerSA, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, create)
	if err != nil {
		return nil, fmt.Errorf("requesting a token for %s/%s: %w", benchNS, readerSA, err)
	}
	c.readerToken = tr.Status.Token
	c.readerTokenFile = filepath.Join(dir, "reader.token")
	if err := os.WriteFile(c.readerTokenFile, []byte(c.readerToken), 0o600); err != nil {
		return nil, err
	}
	return c, c.writeKubeconfigs(dir)
}

// createLegacySecret creates the legacy token Secret by hand, as the
// documentation says, and returns its token once the token controller has
// filled it.
func (c *cluster) createLegacySecret(ctx context.Context) (string, error) {
	secrets := c.client.CoreV1().Secrets(benchNS)
	if _, err := secrets.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: legacySecret, Annotations: map[string]string{corev1.ServiceAccountNameKey: legacySA}},
		Type:       corev1.SecretTypeServiceAccountToken,
	}, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("creating Secret %s/%s: %w", benchNS, legacySecret, err)
	}
	var token string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		s, err := secrets.Get(ctx, legacySecret, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		token = string(s.Data[corev1.ServiceAccountTokenKey])
		return token != "", nil
	})
	if err != nil {
		return "", fmt.Errorf("the token controller never filled Secret %s/%s: %w", benchNS, legacySecret, err)
	}
	return token, nil
}

// bind binds readerRole to the service account bench/sa in namespace ns.
func (c *cluster) bind(ctx context.Context, ns, sa string) error {
	_, err := c.client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: sa + "-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: readerRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: benchNS, Name: sa}},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating RoleBinding %s/%s-reader: %w", ns, sa, err)
	}
	return nil
}

// writeKubeconfigs writes the three kubeconfigs into dir.
func (c *cluster) writeKubeconfigs(dir string) error {
	admin, err := clientcmd.LoadFromFile(c.cp.AdminKubeconfig)
	if err != nil {
		return err
	}
	current := admin.Contexts[admin.CurrentContext]
	if current == nil {
		return fmt.Errorf("%s has no current context", c.cp.AdminKubeconfig)
	}
	current.Namespace = benchNS
	c.benchKubeconfig = filepath.Join(dir, "bench.kubeconfig")
	if err := clientcmd.WriteToFile(*admin, c.benchKubeconfig); err != nil {
		return err
	}
	cluster := admin.Clusters[current.Cluster]
	write := func(name string, user *clientcmdapi.AuthInfo) (string, error) {
		cfg := clientcmdapi.NewConfig()
		cfg.Clusters["local"] = cluster.DeepCopy()
		cfg.AuthInfos[name] = user
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: "local", AuthInfo: name, Namespace: benchNS}
		cfg.CurrentContext = name
		path := filepath.Join(dir, name+".kubeconfig")
		return path, clientcmd.WriteToFile(*cfg, path)
	}
	if c.tokenKubeconfig, err = write("token", &clientcmdapi.AuthInfo{Token: c.readerToken}); err != nil {
		return err
	}
	c.noauthKubeconfig, err = write("noauth", &clientcmdapi.AuthInfo{})
	return err
}

// ensureNamespaces creates extra namespaces until there are n of them, each
// bindEvery-th with a RoleBinding for bench/reader, concurrently. It then
// waits until kube-controller-manager has given each its default
// ServiceAccount and kube-root-ca.crt ConfigMap, so that this work does
// not run during the measurements.
func (c *cluster) ensureNamespaces(ctx context.Context, n int) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(setupWorkers)
	for i := c.extra; i < n; i++ {
		g.Go(func() error {
			name := fmt.Sprintf("%s%04d", nsPrefix, i)
			if _, err := c.client.CoreV1().Namespaces().Create(gctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating namespace %s: %w", name, err)
			}
			if i%bindEvery == 0 {
				return c.bind(gctx, name, readerSA)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	c.extra = max(c.extra, n)
	all, err := c.namespaces(ctx)
	if err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		sas, err := c.client.CoreV1().ServiceAccounts("").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=default"})
		if err != nil {
			return false, err
		}
		cms, err := c.client.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=kube-root-ca.crt"})
		if err != nil {
			return false, err
		}
		return len(sas.Items) >= len(all) && len(cms.Items) >= len(all), nil
	})
}

// namespaces returns the names of every namespace, sorted: what
// `whoami -A` and the kubectl loop go through.
func (c *cluster) namespaces(ctx context.Context) ([]string, error) {
	list, err := c.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(list.Items))
	for _, ns := range list.Items {
		names = append(names, ns.Name)
	}
	slices.Sort(names)
	return names, nil
}

// mark sends one cheap request with userAgent, for the audit log.
func (c *cluster) mark(ctx context.Context, userAgent string) error {
	cfg, err := c.cp.RESTConfig()
	if err != nil {
		return err
	}
	cfg.UserAgent = userAgent
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	_, err = client.CoreV1().Namespaces().Get(ctx, benchNS, metav1.GetOptions{})
	return err
}
