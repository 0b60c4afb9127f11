package controlplane

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"
)

func TestAuthorizationConfigFile(t *testing.T) {
	dir := t.TempDir()
	ca := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	path, err := writeAuthorizationConfig(dir, &AuthorizationWebhook{URL: "https://127.0.0.1:8443/authorize", CAData: ca})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "authorization-config.yaml"); path != want {
		t.Errorf("path = %q, want %q", path, want)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(dir, "authorization-webhook.kubeconfig")
	want := `apiVersion: apiserver.config.k8s.io/v1
authorizers:
- name: node
  type: Node
- name: rbac
  type: RBAC
- name: webhook
  type: Webhook
  webhook:
    authorizedTTL: 1s
    cacheAuthorizedRequests: false
    cacheUnauthorizedRequests: false
    connectionInfo:
      kubeConfigFile: ` + kubeconfig + `
      type: KubeConfigFile
    failurePolicy: Deny
    matchConditionSubjectAccessReviewVersion: v1
    subjectAccessReviewVersion: v1
    timeout: 3s
    unauthorizedTTL: 1s
kind: AuthorizationConfiguration
`
	if diff := cmp.Diff(want, string(data)); diff != "" {
		t.Errorf("authorization configuration (-want +got):\n%s", diff)
	}

	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cluster := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]
	if cluster.Server != "https://127.0.0.1:8443/authorize" || string(cluster.CertificateAuthorityData) != string(ca) {
		t.Errorf("the webhook kubeconfig's cluster is %+v, want the webhook's URL and CA", cluster)
	}

	if _, err := writeAuthorizationConfig(dir, &AuthorizationWebhook{URL: "https://x", CAData: ca, Timeout: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(path)
	if !strings.Contains(string(data), "\n    timeout: 1.5s\n") {
		t.Errorf("a 1.5s Timeout is not written as timeout: 1.5s:\n%s", data)
	}
}

func TestStartRefusesABadAuthorizationWebhook(t *testing.T) {
	ca := []byte("ca")
	cases := []struct {
		name    string
		webhook AuthorizationWebhook
		want    string
	}{
		{"no URL", AuthorizationWebhook{CAData: ca}, `Options.AuthorizationWebhook.URL "" is not an https URL`},
		{"plain HTTP", AuthorizationWebhook{URL: "http://127.0.0.1:1/authorize", CAData: ca}, `Options.AuthorizationWebhook.URL "http://127.0.0.1:1/authorize" is not an https URL`},
		{"no host", AuthorizationWebhook{URL: "https:///authorize", CAData: ca}, `Options.AuthorizationWebhook.URL "https:///authorize" is not an https URL`},
		{"unparsable URL", AuthorizationWebhook{URL: "https://[::1", CAData: ca}, "Options.AuthorizationWebhook.URL: parse"},
		{"no CA", AuthorizationWebhook{URL: "https://127.0.0.1:1"}, "Options.AuthorizationWebhook.CAData is required"},
		{"negative timeout", AuthorizationWebhook{URL: "https://127.0.0.1:1", CAData: ca, Timeout: -time.Second}, "Options.AuthorizationWebhook.Timeout -1s is not between 0 and 30s"},
		{"timeout beyond 30s", AuthorizationWebhook{URL: "https://127.0.0.1:1", CAData: ca, Timeout: 30*time.Second + time.Millisecond}, "Options.AuthorizationWebhook.Timeout 30.001s is not between 0 and 30s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// An empty BinDir would fail later: the webhook is checked first.
			_, err := Start(context.Background(), Options{BinDir: t.TempDir(), AuthorizationWebhook: &tc.webhook})
			if err == nil || !strings.HasPrefix(err.Error(), "controlplane: "+tc.want) {
				t.Errorf("Start: %v, want an error starting %q", err, "controlplane: "+tc.want)
			}
		})
	}
	for _, timeout := range []time.Duration{0, time.Millisecond, 30 * time.Second} {
		w := &AuthorizationWebhook{URL: "https://127.0.0.1:1", CAData: ca, Timeout: timeout}
		if err := w.validate(); err != nil {
			t.Errorf("Timeout %s refused: %v", timeout, err)
		}
	}
}

func TestLoopbackServingCert(t *testing.T) {
	caPEM, cert, err := LoopbackServingCert("test")
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.Certificate) != 1 || cert.Leaf == nil {
		t.Fatalf("certificate chain %d long, leaf %v", len(cert.Certificate), cert.Leaf)
	}
	pool, err := UntrustedCA() // a CA that signed nothing must not verify it
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ca   []byte
		host string
		ok   bool
	}{
		{caPEM, "127.0.0.1", true},
		{caPEM, "::1", true},
		{caPEM, "localhost", true},
		{caPEM, "example.com", false},
		{pool, "127.0.0.1", false},
	} {
		err := verifyCert(tc.ca, cert.Leaf, tc.host)
		if (err == nil) != tc.ok {
			t.Errorf("verifying for %s: %v, want ok=%t", tc.host, err, tc.ok)
		}
	}
}

// verifyCert verifies leaf for host with the PEM CA ca, as a TLS client
// would.
func verifyCert(ca []byte, leaf *x509.Certificate, host string) error {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		return errors.New("no CA certificate")
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}
