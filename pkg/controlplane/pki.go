package controlplane

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// certValidity is how long the generated certificates are valid. Every run
// generates fresh PKI, so this only has to outlive one run.
const certValidity = 365 * 24 * time.Hour

// keyPair is a certificate and its private key, both PEM encoded.
type keyPair struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
}

// pki is the set of files Start generates under Dir/pki.
type pki struct {
	caFile        string // CA certificate: signs the serving and client certificates
	servingCert   string // kube-apiserver serving certificate
	servingKey    string
	saPrivateKey  string // RSA key that signs service account tokens
	saPublicKey   string // its public half, used to verify them
	ca            *keyPair
	admin         *keyPair // CN=kubectl-access-admin, O=system:masters
	controllerMgr *keyPair // CN=system:kube-controller-manager, O=system:masters
}

// newSerial returns a random positive 128-bit certificate serial number.
func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
}

// newKeyPair creates an ECDSA P-256 key and a certificate for it from
// template, signed by parent (self-signed when parent is nil).
func newKeyPair(template *x509.Certificate, parent *keyPair) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	template.SerialNumber = serial
	template.NotBefore = now.Add(-time.Hour) // tolerate small clock skew
	template.NotAfter = now.Add(certValidity)
	template.BasicConstraintsValid = true

	signerCert, signerKey := template, crypto.Signer(key)
	if parent != nil {
		signerCert, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, template, signerCert, key.Public(), signerKey)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &keyPair{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// newClientKeyPair creates a client certificate for user in groups.
func newClientKeyPair(ca *keyPair, user string, groups ...string) (*keyPair, error) {
	return newKeyPair(&x509.Certificate{
		Subject:     pkix.Name{CommonName: user, Organization: groups},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca)
}

// writeFile writes data to dir/name with owner-only permissions and returns
// the path.
func writeFile(dir, name string, data []byte) (string, error) {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// generatePKI creates a CA, the kube-apiserver serving certificate, the
// client certificates and the service account signing key, and writes them
// under dir.
func generatePKI(dir string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ca, err := newKeyPair(&x509.Certificate{
		Subject:  pkix.Name{CommonName: "kubectl-access-local-ca"},
		IsCA:     true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("generating the CA: %w", err)
	}
	serving, err := newKeyPair(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{
			"localhost",
			"kubernetes",
			"kubernetes.default",
			"kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local",
		},
		// 10.0.0.1 is the first address of --service-cluster-ip-range, the
		// in-cluster address of the kubernetes Service.
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, net.IPv4(10, 0, 0, 1)},
	}, ca)
	if err != nil {
		return nil, fmt.Errorf("generating the serving certificate: %w", err)
	}
	admin, err := newClientKeyPair(ca, adminUser, "system:masters")
	if err != nil {
		return nil, fmt.Errorf("generating the admin client certificate: %w", err)
	}
	// The controller manager has its own identity so that audit logs tell
	// its requests apart from the admin's.
	controllerMgr, err := newClientKeyPair(ca, "system:kube-controller-manager", "system:masters")
	if err != nil {
		return nil, fmt.Errorf("generating the controller manager client certificate: %w", err)
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating the service account key: %w", err)
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}

	p := &pki{ca: ca, admin: admin, controllerMgr: controllerMgr}
	files := []struct {
		path *string
		name string
		data []byte
	}{
		{&p.caFile, "ca.crt", ca.certPEM},
		{new(string), "ca.key", ca.keyPEM},
		{&p.servingCert, "apiserver.crt", serving.certPEM},
		{&p.servingKey, "apiserver.key", serving.keyPEM},
		{new(string), "admin.crt", admin.certPEM},
		{new(string), "admin.key", admin.keyPEM},
		{&p.saPrivateKey, "sa.key", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)})},
		{&p.saPublicKey, "sa.pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub})},
	}
	for _, f := range files {
		if *f.path, err = writeFile(dir, f.name, f.data); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// writeKubeconfig writes a kubeconfig for server with cluster "local", the
// given user with an embedded client certificate, and context "local"
// (namespace default) as the current context.
func writeKubeconfig(path, server string, ca *keyPair, user string, client *keyPair) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{
		Server:                   server,
		CertificateAuthorityData: ca.certPEM,
	}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{
		ClientCertificateData: client.certPEM,
		ClientKeyData:         client.keyPEM,
	}
	cfg.Contexts["local"] = &clientcmdapi.Context{
		Cluster:   "local",
		AuthInfo:  user,
		Namespace: "default",
	}
	cfg.CurrentContext = "local"
	return clientcmd.WriteToFile(*cfg, path)
}

// UntrustedCA returns the PEM certificate of a fresh self-signed CA that
// signed nothing: tests use it where a certificate authority must not
// verify the control plane (or any test server).
func UntrustedCA() ([]byte, error) {
	ca, err := newKeyPair(&x509.Certificate{
		Subject:  pkix.Name{CommonName: "untrusted-test-ca"},
		IsCA:     true,
		KeyUsage: x509.KeyUsageCertSign,
	}, nil)
	if err != nil {
		return nil, err
	}
	return ca.certPEM, nil
}

// LoopbackServingCert returns the PEM certificate of a fresh CA and a
// serving certificate it signed for 127.0.0.1, ::1 and localhost, with
// commonName as its subject. A test server that kube-apiserver or a client
// must verify, such as an authorization webhook, serves with cert and hands
// out caPEM.
func LoopbackServingCert(commonName string) (caPEM []byte, cert tls.Certificate, err error) {
	ca, err := newKeyPair(&x509.Certificate{
		Subject:  pkix.Name{CommonName: commonName + "-ca"},
		IsCA:     true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, nil)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("generating the CA: %w", err)
	}
	serving, err := newKeyPair(&x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}, ca)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("generating the serving certificate: %w", err)
	}
	cert, err = tls.X509KeyPair(serving.certPEM, serving.keyPEM)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	return ca.certPEM, cert, nil
}
