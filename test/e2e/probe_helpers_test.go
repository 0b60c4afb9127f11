package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-access/kubectl-access/pkg/controlplane"
	"github.com/kubectl-access/kubectl-access/test/harness"
)

// probeReport mirrors `kubectl access probe -o json`.
type probeReport struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Server     string `json:"server"`
	Service    string `json:"service"`
	Identity   struct {
		Username string   `json:"username"`
		UID      string   `json:"uid"`
		Groups   []string `json:"groups"`
		Error    string   `json:"error"`
	} `json:"identity"`
	Results []struct {
		Path      string   `json:"path"`
		Method    string   `json:"method"`
		URL       string   `json:"url"`
		Status    int      `json:"status"`
		Reason    string   `json:"reason"`
		OK        bool     `json:"ok"`
		LatencyMs *float64 `json:"latencyMs"`
		ExitCode  int      `json:"exitCode"`
		Error     string   `json:"error"`
		Body      string   `json:"body"`
		Truncated bool     `json:"bodyTruncated"`
	} `json:"results"`
	Attempts int `json:"attempts"`
}

// decodeProbe parses probe -o json output.
func decodeProbe(t *testing.T, stdout string) probeReport {
	t.Helper()
	return decodeRecord[probeReport](t, "probe", stdout)
}

// saUser is the user name the API server gives a service account.
func saUser(ns, sa string) string { return "system:serviceaccount:" + ns + ":" + sa }

// closedServer returns an https URL on loopback where nothing listens.
func closedServer(t *testing.T) string {
	t.Helper()
	return "https://" + closedPort(t)
}

// otherCAKubeconfig is a kubeconfig for the local control plane whose
// cluster names a CA that did not sign its serving certificate.
func otherCAKubeconfig(t *testing.T) string {
	t.Helper()
	ca, err := controlplane.UntrustedCA()
	if err != nil {
		t.Fatal(err)
	}
	admin := adminConfig(t)
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: env.cp.Server, CertificateAuthorityData: ca}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: admin.CertData, ClientKeyData: admin.KeyData}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "admin", Namespace: "default"}
	cfg.CurrentContext = "local"
	return writeKubeconfig(t, cfg)
}

// fakeAPIServer is a plain-http stand-in for faults the real API server
// cannot produce (plain http, no answer). It records the Authorization
// headers it receives.
type fakeAPIServer struct {
	*httptest.Server
	mu    sync.Mutex
	auths []string
}

// newFakeAPIServer answers like an API server that accepts any token, or
// never answers when hang is true (until the test ends).
func newFakeAPIServer(t *testing.T, hang bool) *fakeAPIServer {
	t.Helper()
	done := make(chan struct{})
	f := &fakeAPIServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.auths = append(f.auths, r.Header.Get("Authorization"))
		f.mu.Unlock()
		if hang {
			select {
			case <-r.Context().Done():
			case <-done:
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1","status":{"userInfo":{"username":"fake-user"}}}`)
			return
		}
		fmt.Fprint(w, `{"kind":"APIVersions","versions":["v1"]}`)
	}))
	t.Cleanup(func() {
		close(done)
		f.Close()
	})
	return f
}

// received returns the Authorization headers the server got, in order.
func (f *fakeAPIServer) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string{}, f.auths...)
}

// hostIPv4 returns a global unicast IPv4 address of this machine that is
// not loopback, or "" when there is none. The API server's service proxy
// refuses loopback and link-local endpoints, but dials such an address.
func hostIPv4() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		ipNet, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip := ipNet.IP.To4()
		if ip != nil && ip.IsGlobalUnicast() && !ip.IsLoopback() {
			return ip.String()
		}
	}
	return ""
}

// interruptedRun runs `kubectl access ARGS...` with the admin kubeconfig,
// sends SIGINT after delay, and returns the exit code and stderr. kubectl
// execs the plugin in its own process, so the signal reaches the plugin.
func interruptedRun(t *testing.T, delay time.Duration, args ...string) (int, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), harness.DefaultTimeout)
	defer cancel()
	cmd := access(t, args...).Exec(ctx)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(delay)
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	elapsed := time.Since(start)
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("probe did not fail after SIGINT: %v\n%s", err, stderr.String())
	}
	return exitErr.ExitCode(), stderr.String(), elapsed
}
