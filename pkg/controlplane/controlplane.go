// Package controlplane starts a real, local Kubernetes control plane (etcd,
// kube-apiserver and kube-controller-manager) from prebuilt binaries, for
// end-to-end tests, the demo and the benchmarks.
//
// The binaries are built once per machine by hack/build-controlplane.sh into
// BinDir. Every Start generates fresh PKI, picks free loopback ports and keeps
// all state (certificates, etcd data, process logs, kubeconfigs) under one
// directory, so several control planes can run side by side.
//
// Options.AuthorizationWebhook makes kube-apiserver ask an authorization
// webhook after Node and RBAC, as managed clusters do; package authzwebhook
// serves one whose answers a test sets.
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

const (
	// kubeVersion is the Kubernetes version hack/build-controlplane.sh builds.
	kubeVersion = "v1.37.2"

	// startTimeout bounds Start when its context has no earlier deadline.
	startTimeout = 90 * time.Second

	// adminUser is the common name of the admin client certificate.
	adminUser = "kubectl-access-admin"

	// serviceAccountIssuer is the issuer of service account tokens.
	serviceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

	// pollInterval is how often Start checks readiness.
	pollInterval = 100 * time.Millisecond

	// bindAttempts is how often Start picks new ports when a process could
	// not bind the one it was given (another process took it in between).
	bindAttempts = 3
)

// Binary names, as found in Options.BinDir.
const (
	etcdBinary              = "etcd"
	apiServerBinary         = "kube-apiserver"
	controllerManagerBinary = "kube-controller-manager"
)

// Options configures Start.
type Options struct {
	// BinDir is the directory holding etcd, kube-apiserver and
	// kube-controller-manager, usually BinDir(). Required.
	BinDir string
	// Log receives the output of the processes, each line prefixed with the
	// process name; nil discards it. The output is also always written to
	// Dir/logs/<process>.log.
	Log io.Writer
	// ExtraAPIServerArgs are appended to the flags of kube-apiserver, e.g.
	// --audit-policy-file=... and --audit-log-path=... File paths should be
	// absolute.
	ExtraAPIServerArgs []string
	// Dir is the working directory for the PKI, the etcd data, the logs and
	// the kubeconfigs. Empty means a new temporary directory, which Stop
	// removes; a given Dir is created if needed and never removed, but its
	// etcd data, PKI and kubeconfigs are replaced.
	Dir string
	// AuthorizationWebhook, when set, makes kube-apiserver ask this webhook
	// after the Node and RBAC authorizers, as managed clusters do. Nil
	// means Node and RBAC alone.
	AuthorizationWebhook *AuthorizationWebhook
}

// DefaultWebhookTimeout bounds each call of an authorization webhook when
// AuthorizationWebhook.Timeout is not set.
const DefaultWebhookTimeout = 3 * time.Second

// AuthorizationWebhook is an authorization webhook for kube-apiserver, such
// as the test server of package authzwebhook. It stands in for the webhook
// authorizers of GKE, EKS and AKS: rights it grants appear in no RBAC rule,
// so a SelfSubjectRulesReview cannot list them and says it is incomplete.
//
// kube-apiserver is started with a structured authorization configuration
// (--authorization-config, apiserver.config.k8s.io/v1): authorizers Node,
// RBAC, then the webhook, with failurePolicy Deny (a webhook that fails or
// does not answer in time denies the request, with an evaluation error) and
// no caching of its answers, so a test sees a changed answer at once.
type AuthorizationWebhook struct {
	// URL is the https URL kube-apiserver POSTs authorization.k8s.io/v1
	// SubjectAccessReviews to. Required.
	URL string
	// CAData is the PEM certificate of the CA that signed the webhook's
	// serving certificate. Required.
	CAData []byte
	// Timeout bounds each call of the webhook: more than 0, at most 30
	// seconds; 0 means DefaultWebhookTimeout.
	Timeout time.Duration
}

// validate checks w before anything starts.
func (w *AuthorizationWebhook) validate() error {
	u, err := url.Parse(w.URL)
	switch {
	case err != nil:
		return fmt.Errorf("Options.AuthorizationWebhook.URL: %w", err)
	case u.Scheme != "https" || u.Host == "":
		return fmt.Errorf("Options.AuthorizationWebhook.URL %q is not an https URL", w.URL)
	case len(w.CAData) == 0:
		return errors.New("Options.AuthorizationWebhook.CAData is required")
	case w.Timeout < 0 || w.Timeout > maxWebhookTimeout:
		return fmt.Errorf("Options.AuthorizationWebhook.Timeout %s is not between 0 and %s", w.Timeout, maxWebhookTimeout)
	}
	return nil
}

// ControlPlane is a running local control plane. Start returns it; Stop
// stops it.
type ControlPlane struct {
	// Dir is the working directory: pki/, etcd/, logs/, admin.kubeconfig.
	Dir string
	// Server is the URL of kube-apiserver, https://127.0.0.1:PORT.
	Server string
	// CAFile is the PEM file of the CA that signed the serving certificate
	// of kube-apiserver; it is also the CA that kube-apiserver trusts for
	// client certificates.
	CAFile string
	// AdminKubeconfig is the path of a kubeconfig with cluster "local"
	// (Server and embedded CA data), user "admin" (an embedded client
	// certificate for CN=kubectl-access-admin, O=system:masters) and
	// context "local", namespace default, as the current context.
	AdminKubeconfig string

	removeDir bool // Dir was created by Start
	logMu     sync.Mutex

	mu        sync.Mutex // guards the three processes
	etcd      *process
	apiServer *process
	ctrlMgr   *process

	stopOnce sync.Once // Stop runs once and remembers its result
	stopErr  error
}

// BinDir returns the directory hack/build-controlplane.sh builds the
// binaries into: $KUBECTL_ACCESS_CONTROLPLANE_DIR if set, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-access/controlplane/<version>. It
// builds nothing and does not check that the directory exists.
func BinDir() string {
	if dir := os.Getenv("KUBECTL_ACCESS_CONTROLPLANE_DIR"); dir != "" {
		return dir
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "kubectl-access", "controlplane", kubeVersion)
}

// Start starts etcd, kube-apiserver and kube-controller-manager and returns
// once kube-apiserver's /readyz answers ok and the "default" ServiceAccount
// exists in namespace "default". ctx bounds only the start (at most 90
// seconds); the processes run until Stop. On failure Start stops whatever it
// started and the error includes the end of the failing process's log.
func Start(ctx context.Context, opts Options) (*ControlPlane, error) {
	if opts.BinDir == "" {
		return nil, errors.New("controlplane: Options.BinDir is required")
	}
	if opts.AuthorizationWebhook != nil {
		if err := opts.AuthorizationWebhook.validate(); err != nil {
			return nil, fmt.Errorf("controlplane: %w", err)
		}
	}
	for _, name := range []string{etcdBinary, apiServerBinary, controllerManagerBinary} {
		path := filepath.Join(opts.BinDir, name)
		if info, err := os.Stat(path); err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("controlplane: %s is not an executable file; build the control plane with hack/build-controlplane.sh", path)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()

	c := &ControlPlane{}
	if err := c.start(ctx, opts); err != nil {
		if stopErr := c.Stop(); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up: %w", stopErr))
		}
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	return c, nil
}

// start does the work of Start; on error the caller stops c.
func (c *ControlPlane) start(ctx context.Context, opts Options) error {
	dir := opts.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "kubectl-access-controlplane-")
		if err != nil {
			return err
		}
		dir, c.removeDir = tmp, true
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	c.Dir = abs
	logDir := filepath.Join(c.Dir, "logs")
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return err
	}
	certs, err := generatePKI(filepath.Join(c.Dir, "pki"))
	if err != nil {
		return err
	}
	c.CAFile = certs.caFile
	authorizationArgs := []string{"--authorization-mode=Node,RBAC"}
	if opts.AuthorizationWebhook != nil {
		file, err := writeAuthorizationConfig(c.Dir, opts.AuthorizationWebhook)
		if err != nil {
			return fmt.Errorf("writing the authorization configuration: %w", err)
		}
		authorizationArgs = []string{"--authorization-config=" + file}
	}
	bin := func(name string) string { return filepath.Join(opts.BinDir, name) }
	logFile := func(name string) string { return filepath.Join(logDir, name+".log") }

	// etcd.
	etcdData := filepath.Join(c.Dir, "etcd")
	etcdURL, err := c.startWithFreePorts(ctx, func(ports []int) (*process, string, error) {
		client := "http://127.0.0.1:" + strconv.Itoa(ports[0])
		peer := "http://127.0.0.1:" + strconv.Itoa(ports[1])
		// A new data directory: one left by an attempt that could not bind
		// its ports records the old peer URL.
		if err := os.RemoveAll(etcdData); err != nil {
			return nil, "", err
		}
		p, err := c.launch(etcdBinary, bin(etcdBinary), []string{
			"--name=default",
			"--data-dir=" + etcdData,
			"--listen-client-urls=" + client,
			"--advertise-client-urls=" + client,
			"--listen-peer-urls=" + peer,
			"--initial-advertise-peer-urls=" + peer,
			"--initial-cluster=default=" + peer,
			"--initial-cluster-state=new",
			"--unsafe-no-fsync",
		}, logFile(etcdBinary), opts.Log, &c.etcd)
		if err != nil {
			return nil, "", err
		}
		return p, client, c.poll(ctx, "etcd to be healthy", func(ctx context.Context) error {
			return etcdHealthy(ctx, client)
		})
	}, 2)
	if err != nil {
		return err
	}

	// kube-apiserver.
	adminKubeconfig := filepath.Join(c.Dir, "admin.kubeconfig")
	var client kubernetes.Interface
	c.Server, err = c.startWithFreePorts(ctx, func(ports []int) (*process, string, error) {
		server := "https://127.0.0.1:" + strconv.Itoa(ports[0])
		if err := writeKubeconfig(adminKubeconfig, server, certs.ca, "admin", certs.admin); err != nil {
			return nil, "", err
		}
		args := []string{
			"--etcd-servers=" + etcdURL,
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(ports[0]),
			"--cert-dir=" + filepath.Join(c.Dir, "apiserver-certs"),
			"--tls-cert-file=" + certs.servingCert,
			"--tls-private-key-file=" + certs.servingKey,
			"--client-ca-file=" + certs.caFile,
			"--service-account-issuer=" + serviceAccountIssuer,
			"--service-account-key-file=" + certs.saPublicKey,
			"--service-account-signing-key-file=" + certs.saPrivateKey,
			"--service-cluster-ip-range=10.0.0.0/24",
			// The reconciler of the kubernetes Service endpoints refuses a
			// loopback address.
			"--endpoint-reconciler-type=none",
			// Close open watches when stopping instead of waiting up to
			// --request-timeout (60s) for clients to end them: StopAPIServer
			// leaves kube-controller-manager watching.
			"--shutdown-watch-termination-grace-period=1s",
		}
		args = append(args, authorizationArgs...)
		args = append(args, opts.ExtraAPIServerArgs...)
		p, err := c.launch(apiServerBinary, bin(apiServerBinary), args, logFile(apiServerBinary), opts.Log, &c.apiServer)
		if err != nil {
			return nil, "", err
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", adminKubeconfig)
		if err != nil {
			return nil, "", err
		}
		cfg.Timeout = 5 * time.Second
		if client, err = kubernetes.NewForConfig(cfg); err != nil {
			return nil, "", err
		}
		return p, server, c.poll(ctx, "kube-apiserver to be ready", func(ctx context.Context) error {
			body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
			if err != nil {
				return err
			}
			if string(body) != "ok" {
				return fmt.Errorf("/readyz answered %q", body)
			}
			return nil
		})
	}, 1)
	if err != nil {
		return err
	}
	c.AdminKubeconfig = adminKubeconfig

	// kube-controller-manager, which creates the default ServiceAccounts
	// and fills aggregated ClusterRoles (admin, edit, view and their own).
	ctrlMgrKubeconfig := filepath.Join(c.Dir, "controller-manager.kubeconfig")
	if err := writeKubeconfig(ctrlMgrKubeconfig, c.Server, certs.ca, "kube-controller-manager", certs.controllerMgr); err != nil {
		return err
	}
	if _, err := c.launch(controllerManagerBinary, bin(controllerManagerBinary), []string{
		"--kubeconfig=" + ctrlMgrKubeconfig,
		"--controllers=serviceaccount-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller,namespace-controller,clusterrole-aggregation-controller",
		"--service-account-private-key-file=" + certs.saPrivateKey,
		"--root-ca-file=" + certs.caFile,
		"--use-service-account-credentials=false",
		"--secure-port=0",
		"--leader-elect=false",
	}, logFile(controllerManagerBinary), opts.Log, &c.ctrlMgr); err != nil {
		return err
	}
	return c.poll(ctx, `the "default" ServiceAccount in namespace "default"`, func(ctx context.Context) error {
		_, err := client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// launch starts a process and records it in *slot, so that Stop finds it.
func (c *ControlPlane) launch(name, binary string, args []string, logPath string, log io.Writer, slot **process) (*process, error) {
	p, err := startProcess(name, binary, args, logPath, log, &c.logMu)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	*slot = p
	c.mu.Unlock()
	return p, nil
}

// startWithFreePorts calls run with n free loopback ports. When the process
// run started exits because one of the ports was taken in the meantime, it
// stops it and tries again with new ports, up to bindAttempts times.
func (c *ControlPlane) startWithFreePorts(ctx context.Context, run func(ports []int) (*process, string, error), n int) (string, error) {
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(n)
		if err != nil {
			return "", err
		}
		p, result, err := run(ports)
		if err == nil {
			return result, nil
		}
		if p == nil || attempt == bindAttempts || ctx.Err() != nil || !p.exited() || !p.logContains("address already in use") {
			return "", err
		}
		_ = p.stop() // reaped already; records that it is stopped
	}
}

// poll calls check every pollInterval until it succeeds. It fails when ctx
// ends or when one of the processes exits.
func (c *ControlPlane) poll(ctx context.Context, what string, check func(context.Context) error) error {
	var lastErr error
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		if p := c.exitedProcess(); p != nil {
			return fmt.Errorf("waiting for %s: %w", what, p.exitError())
		}
		checkCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		lastErr = check(checkCtx)
		cancel()
		if lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last error: %v)", what, ctx.Err(), lastErr)
		case <-ticker.C:
		}
	}
}

// exitedProcess returns a started process that has exited without being
// stopped, or nil.
func (c *ControlPlane) exitedProcess() *process {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range []*process{c.etcd, c.apiServer, c.ctrlMgr} {
		if p != nil && p.exited() {
			return p
		}
	}
	return nil
}

// etcdHealthy checks etcd's /health endpoint.
func etcdHealthy(ctx context.Context, clientURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientURL+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
		return fmt.Errorf("etcd /health answered %s: %s", resp.Status, body)
	}
	return nil
}

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Stop stops kube-controller-manager, kube-apiserver and etcd, in that order,
// each with SIGTERM to its process group and SIGKILL after 10 seconds, then
// removes Dir if Start created it. It is safe to call more than once (later
// calls return the first result), on a partially started control plane and
// on nil. It reports a process that had exited on its own with a failure.
func (c *ControlPlane) Stop() error {
	if c == nil {
		return nil
	}
	c.stopOnce.Do(func() {
		c.mu.Lock()
		procs := []*process{c.ctrlMgr, c.apiServer, c.etcd}
		c.mu.Unlock()
		var errs []error
		for _, p := range procs {
			if p != nil {
				errs = append(errs, p.stop())
			}
		}
		if c.removeDir && c.Dir != "" {
			if err := os.RemoveAll(c.Dir); err != nil {
				errs = append(errs, err)
			}
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

// StopAPIServer stops only kube-apiserver (SIGTERM, then SIGKILL after 10
// seconds), leaving etcd and kube-controller-manager running, to simulate an
// unreachable API server. Stop still stops the rest.
func (c *ControlPlane) StopAPIServer() error {
	if c == nil {
		return errors.New("controlplane: kube-apiserver was not started")
	}
	c.mu.Lock()
	p := c.apiServer
	c.mu.Unlock()
	if p == nil {
		return errors.New("controlplane: kube-apiserver was not started")
	}
	return p.stop()
}

// RESTConfig returns a client configuration for the admin user, loaded from
// AdminKubeconfig.
func (c *ControlPlane) RESTConfig() (*rest.Config, error) {
	if c == nil || c.AdminKubeconfig == "" {
		return nil, errors.New("controlplane: the control plane is not started")
	}
	return clientcmd.BuildConfigFromFlags("", c.AdminKubeconfig)
}
