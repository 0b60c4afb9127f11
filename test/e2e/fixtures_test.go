package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// adminConfig is a rest.Config with the admin client certificate.
func adminConfig(t *testing.T) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", env.cp.AdminKubeconfig)
	if err != nil {
		t.Fatalf("loading the admin kubeconfig: %v", err)
	}
	return cfg
}

// adminClient is a clientset with the admin client certificate.
func adminClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	return kubernetes.NewForConfigOrDie(adminConfig(t))
}

// tokenClient is a clientset that authenticates with token alone.
func tokenClient(t *testing.T, token string) kubernetes.Interface {
	t.Helper()
	cfg := rest.AnonymousClientConfig(adminConfig(t))
	cfg.BearerToken = token
	return kubernetes.NewForConfigOrDie(cfg)
}

// whoIs asks the API server who token is, with token alone.
func whoIs(t *testing.T, token string) string {
	t.Helper()
	review, err := tokenClient(t, token).AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectReview with the token: %v", err)
	}
	return review.Status.UserInfo.Username
}

// randomSuffix returns a short random string for unique names.
func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newNamespace creates a fresh namespace whose default ServiceAccount exists,
// deleted when the test ends.
func newNamespace(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	client := adminClient(t)
	ns, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}
	t.Cleanup(func() {
		_ = client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("the default ServiceAccount of %s never appeared: %v", ns.Name, err)
	}
	return ns.Name
}

// createServiceAccount creates a ServiceAccount.
func createServiceAccount(t *testing.T, ns, name string) *corev1.ServiceAccount {
	t.Helper()
	sa, err := adminClient(t).CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating ServiceAccount %s/%s: %v", ns, name, err)
	}
	return sa
}

// createTokenSecret creates a legacy token Secret for a ServiceAccount by
// hand, as the documentation says, and waits for the controller to fill it.
func createTokenSecret(t *testing.T, ns, sa, name string) *corev1.Secret {
	t.Helper()
	ctx := context.Background()
	secrets := adminClient(t).CoreV1().Secrets(ns)
	_, err := secrets.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{corev1.ServiceAccountNameKey: sa}},
		Type:       corev1.SecretTypeServiceAccountToken,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating token Secret %s/%s: %v", ns, name, err)
	}
	var filled *corev1.Secret
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		s, err := secrets.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		filled = s
		return len(s.Data[corev1.ServiceAccountTokenKey]) > 0, nil
	})
	if err != nil {
		t.Fatalf("token Secret %s/%s was never filled: %v", ns, name, err)
	}
	return filled
}

// requestToken returns a TokenRequest token for a ServiceAccount.
func requestToken(t *testing.T, ns, sa string) string {
	t.Helper()
	tr, err := adminClient(t).CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token for %s/%s: %v", ns, sa, err)
	}
	return tr.Status.Token
}

// bindRole creates a Role with one rule in ns and binds it to the
// ServiceAccount sa of ns.
func bindRole(t *testing.T, ns, sa string, rule rbacv1.PolicyRule) {
	t.Helper()
	if err := grantRole(context.Background(), adminClient(t), ns, sa+"-"+randomSuffix(), rule, ns, sa); err != nil {
		t.Fatal(err)
	}
}

// grantRole creates a Role called name with one rule in ns, and a
// RoleBinding of the same name that binds it to the ServiceAccount saNS/sa.
// It returns its error instead of failing the test, so that it can run in
// another goroutine.
func grantRole(ctx context.Context, client kubernetes.Interface, ns, name string, rule rbacv1.PolicyRule, saNS, sa string) error {
	if _, err := client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{rule}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating Role: %w", err)
	}
	return createRoleBinding(ctx, client, ns, name, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}, saNS, sa)
}

// createRoleBinding binds roleRef to the ServiceAccount saNS/sa with a
// RoleBinding called name in ns.
func createRoleBinding(ctx context.Context, client kubernetes.Interface, ns, name string, roleRef rbacv1.RoleRef, saNS, sa string) error {
	_, err := client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: roleRef, Subjects: serviceAccountSubject(saNS, sa)}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating RoleBinding: %w", err)
	}
	return nil
}

// serviceAccountSubject is the subject list of a binding to saNS/sa alone.
func serviceAccountSubject(saNS, sa string) []rbacv1.Subject {
	return []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: saNS, Name: sa}}
}

// bindTo binds roleRef to the ServiceAccount saNS/sa with a RoleBinding in
// ns, or with a ClusterRoleBinding when ns is "".
func bindTo(t *testing.T, ns string, roleRef rbacv1.RoleRef, saNS, sa string) {
	t.Helper()
	ctx := context.Background()
	client := adminClient(t)
	name := sa + "-" + randomSuffix()
	if ns != "" {
		if err := createRoleBinding(ctx, client, ns, name, roleRef, saNS, sa); err != nil {
			t.Fatal(err)
		}
		return
	}
	_, err := client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: roleRef, Subjects: serviceAccountSubject(saNS, sa)}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating ClusterRoleBinding: %v", err)
	}
	t.Cleanup(func() {
		_ = client.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// writeTokenFile writes token to a file of its own, readable only by the
// owner, and returns the path.
func writeTokenFile(t *testing.T, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeKubeconfig writes cfg to a file in the test's temporary directory.
func writeKubeconfig(t *testing.T, cfg *clientcmdapi.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatalf("writing kubeconfig: %v", err)
	}
	return path
}

// tokenKubeconfig returns a kubeconfig for the local control plane whose
// user holds token alone (no client certificate to shadow it).
func tokenKubeconfig(t *testing.T, token, namespace string) string {
	t.Helper()
	ca, err := os.ReadFile(env.cp.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: env.cp.Server, CertificateAuthorityData: ca}
	cfg.AuthInfos["token"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["token"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "token", Namespace: namespace}
	cfg.CurrentContext = "token"
	return writeKubeconfig(t, cfg)
}
