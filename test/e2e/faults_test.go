package e2e

import (
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// faultCommands are the commands every transport fault is tried on, each as
// the arguments after "kubectl access".
var faultCommands = [][]string{
	{"token", "default", "-n", "default"},
	{"probe", "default", "-n", "default"},
	{"kubeconfig", "default", "-n", "default"},
	{"whoami", "default", "-n", "default"},
	{"whoami", "default", "-A"},
}

// adminKubeconfigWith returns a copy of the admin kubeconfig changed by edit.
func adminKubeconfigWith(t *testing.T, edit func(server *string, ca *[]byte)) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(env.cp.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cluster := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]
	edit(&cluster.Server, &cluster.CertificateAuthorityData)
	return writeKubeconfig(t, cfg)
}

// closedPort returns a loopback address nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// hangingServer is a TLS server that accepts requests and never answers.
func hangingServer(t *testing.T) (url string, caPEM []byte) {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srvCA(srv)
}

// srvCA returns the URL of a TLS test server and the PEM of its certificate.
func srvCA(srv *httptest.Server) (url string, caPEM []byte) {
	return srv.URL, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

// TestTransportFaults: refused connections, unknown CAs, wrong host names and
// servers that never answer end fast with the documented exit code, and
// never fall back to an unverified connection.
func TestTransportFaults(t *testing.T) {
	hangURL, hangCA := hangingServer(t)
	otherCA := hangCA // a CA that did not sign the local control plane's certificate
	refused := adminKubeconfigWith(t, func(server *string, _ *[]byte) { *server = "https://" + closedPort(t) })
	unknownCA := adminKubeconfigWith(t, func(_ *string, ca *[]byte) { *ca = otherCA })
	hanging := adminKubeconfigWith(t, func(server *string, ca *[]byte) { *server, *ca = hangURL, hangCA })

	faults := []struct {
		name       string
		kubeconfig string
		extra      []string
		code       int
		want       string
		within     time.Duration
	}{
		{"connection refused", refused, nil, 7, "connection refused", 10 * time.Second},
		{"unknown certificate authority", unknownCA, nil, 6, "certificate signed by unknown authority", 10 * time.Second},
		{"wrong host name", env.cp.AdminKubeconfig, []string{"--tls-server-name=wrong.example.com"}, 6, "wrong.example.com", 10 * time.Second},
		{"server never answers", hanging, []string{"--request-timeout=2s"}, 7, "", 2*time.Second + 8*time.Second},
	}
	for _, cmd := range faultCommands {
		for _, f := range faults {
			t.Run(cmd[0]+"/"+f.name, func(t *testing.T) {
				args := append(append([]string{}, cmd...), f.extra...)
				res := access(t, args...).WithKubeconfig(f.kubeconfig).ExpectRefusal(f.code, f.want)
				if res.Elapsed > f.within {
					t.Errorf("took %s, want at most %s", res.Elapsed, f.within)
				}
			})
		}
	}
}

// TestInsecureSkipTLSVerifyWarns: skipping TLS verification works only when
// asked for, and every command then says so on stderr.
func TestInsecureSkipTLSVerifyWarns(t *testing.T) {
	for _, cmd := range faultCommands {
		t.Run(strings.Join(cmd, " "), func(t *testing.T) {
			res := access(t, append(append([]string{}, cmd...), "--insecure-skip-tls-verify")...).RunOK()
			if !strings.Contains(res.Stderr, "Warning: TLS verification is disabled") {
				t.Errorf("no warning on stderr:\n%s", res.Stderr)
			}
		})
	}
}
