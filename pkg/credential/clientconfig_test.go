package credential

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"
)

// newTLSServer starts an HTTPS server that answers 200 to the bearer token
// "t" alone. With own, its certificate is signed by an authority of its own
// (httptest's built-in certificate is the same for every server, so two
// servers need this to be verified by two different CAs).
func newTLSServer(t *testing.T, own bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	if own {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{selfSignedCA(t)}}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// selfSignedCA is a CA certificate that also serves 127.0.0.1.
func selfSignedCA(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{CommonName: "the Secret's cluster CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func pemOf(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

func poolOf(srvs ...*httptest.Server) func() (*x509.CertPool, error) {
	return func() (*x509.CertPool, error) {
		pool := x509.NewCertPool()
		for _, s := range srvs {
			pool.AddCert(s.Certificate())
		}
		return pool, nil
	}
}

// get sends one real request through cfg, as every command does.
func get(t *testing.T, cfg *rest.Config) error {
	t.Helper()
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatalf("rest.HTTPClientFor: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.Host+"/version", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

func unknownAuthority(err error) bool {
	var ua x509.UnknownAuthorityError
	return errors.As(err, &ua)
}

// TestCredentialClientConfigTrustsSecretCAWithSystemRoots: without a CA in
// the kubeconfig, the CA that came with the token is trusted in addition to
// the system roots, never instead of them.
func TestCredentialClientConfigTrustsSecretCAWithSystemRoots(t *testing.T) {
	public := newTLSServer(t, false)  // verified by the (injected) system roots
	cluster := newTLSServer(t, true)  // verified by the Secret's ca.crt
	stranger := newTLSServer(t, true) // verified by neither
	secretCA := pemOf(cluster)
	cases := []struct {
		name        string
		server      *httptest.Server
		systemRoots func() (*x509.CertPool, error)
		wantErr     func(error) bool
	}{
		{
			name:        "a server the system roots verify still works though the Secret's CA is another one",
			server:      public,
			systemRoots: poolOf(public),
		},
		{
			name:        "a server only the Secret's CA verifies works",
			server:      cluster,
			systemRoots: poolOf(public),
		},
		{
			name:        "without system roots, the Secret's CA alone verifies",
			server:      cluster,
			systemRoots: func() (*x509.CertPool, error) { return nil, errors.New("no system roots here") },
		},
		{
			name:        "a server neither verifies is refused",
			server:      stranger,
			systemRoots: poolOf(public),
			wantErr:     unknownAuthority,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Credential{Token: "t", CAData: secretCA}
			cfg := c.clientConfig(&rest.Config{Host: tc.server.URL}, tc.systemRoots)
			err := get(t, cfg)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("GET %s: %v", tc.server.URL, err)
			case tc.wantErr != nil && !tc.wantErr(err):
				t.Fatalf("GET %s: error = %v, want an unknown authority", tc.server.URL, err)
			}
		})
	}
}

// TestCredentialClientConfigKeepsKubeconfigTLS: a CA the kubeconfig names,
// or switched-off verification, is the kubeconfig user's choice; the
// Secret's CA changes nothing then.
func TestCredentialClientConfigKeepsKubeconfigTLS(t *testing.T) {
	kubeconfigServer := newTLSServer(t, false)
	secretServer := newTLSServer(t, true)
	kubeconfigCA := pemOf(kubeconfigServer)
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, kubeconfigCA, 0o600); err != nil {
		t.Fatal(err)
	}
	noSystemRoots := func() (*x509.CertPool, error) {
		t.Error("the system roots were read although the kubeconfig decides")
		return x509.NewCertPool(), nil
	}
	cases := []struct {
		name    string
		tls     rest.TLSClientConfig
		server  *httptest.Server
		wantErr func(error) bool
	}{
		{
			name:   "the kubeconfig's CA data verifies its server",
			tls:    rest.TLSClientConfig{CAData: kubeconfigCA},
			server: kubeconfigServer,
		},
		{
			name:    "the kubeconfig's CA data: the Secret's CA is not trusted",
			tls:     rest.TLSClientConfig{CAData: kubeconfigCA},
			server:  secretServer,
			wantErr: unknownAuthority,
		},
		{
			name:   "the kubeconfig's CA file verifies its server",
			tls:    rest.TLSClientConfig{CAFile: caFile},
			server: kubeconfigServer,
		},
		{
			name:    "the kubeconfig's CA file: the Secret's CA is not trusted",
			tls:     rest.TLSClientConfig{CAFile: caFile},
			server:  secretServer,
			wantErr: unknownAuthority,
		},
		{
			name:   "insecure stays insecure",
			tls:    rest.TLSClientConfig{Insecure: true},
			server: kubeconfigServer,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Credential{Token: "t", CAData: pemOf(secretServer)}
			base := &rest.Config{Host: tc.server.URL, TLSClientConfig: tc.tls}
			cfg := c.clientConfig(base, noSystemRoots)
			if diff := cmp.Diff(tc.tls, cfg.TLSClientConfig); diff != "" {
				t.Errorf("TLSClientConfig (-kubeconfig +got):\n%s", diff)
			}
			if cfg.Transport != nil {
				t.Error("a transport of its own replaced client-go's TLS handling")
			}
			err := get(t, cfg)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("GET %s: %v", tc.server.URL, err)
			case tc.wantErr != nil && !tc.wantErr(err):
				t.Fatalf("GET %s: error = %v, want an unknown authority", tc.server.URL, err)
			}
		})
	}
}

// TestCredentialClientConfigWithoutUsableSecretCA: a token without a CA, or
// with one that holds no certificate, leaves verification to client-go.
func TestCredentialClientConfigWithoutUsableSecretCA(t *testing.T) {
	for _, ca := range [][]byte{nil, []byte("not a PEM certificate")} {
		c := &Credential{Token: "t", CAData: ca}
		cfg := c.clientConfig(&rest.Config{Host: "https://api.example:6443"}, poolOf())
		if cfg.Transport != nil || len(cfg.CAData) != 0 || cfg.BearerToken != "t" {
			t.Errorf("CA %q: Transport %v, CAData %q, token %q; want client-go's defaults and the token", ca, cfg.Transport, cfg.CAData, cfg.BearerToken)
		}
	}
}

// TestCredentialClientConfigSecretCAKeepsConnectionSettings: the transport
// that adds the Secret's CA must still go through the kubeconfig's proxy
// (proxy-url) and dialer, as client-go's own would.
func TestCredentialClientConfigSecretCAKeepsConnectionSettings(t *testing.T) {
	cluster := newTLSServer(t, true)
	var proxied, dialed atomic.Int32
	base := &rest.Config{
		Host: cluster.URL,
		Proxy: func(*http.Request) (*url.URL, error) {
			proxied.Add(1)
			return nil, nil // direct, but asked
		},
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			dialed.Add(1)
			return (&net.Dialer{}).DialContext(ctx, network, address)
		},
	}
	cfg := (&Credential{Token: "t", CAData: pemOf(cluster)}).clientConfig(base, poolOf())
	if err := get(t, cfg); err != nil {
		t.Fatalf("GET %s: %v", cluster.URL, err)
	}
	if proxied.Load() == 0 || dialed.Load() == 0 {
		t.Errorf("proxy asked %d times, dialer used %d times; want both used", proxied.Load(), dialed.Load())
	}
}
