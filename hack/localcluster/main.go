// Command localcluster starts a local Kubernetes control plane (see
// pkg/controlplane), runs a command against it and always stops it:
//
//	go run ./hack/localcluster [-bin DIR] [-dir DIR] [-v] [-audit-policy FILE -audit-log FILE] [-authz-webhook] -- COMMAND ARGS...
//
// COMMAND runs with KUBECONFIG set to the admin kubeconfig, the binary
// directory first in PATH (so kubectl is the matching version) and
// LOCALCLUSTER_DIR set to the control plane's working directory. SIGINT and
// SIGTERM are forwarded to it. localcluster exits with COMMAND's exit code.
// It builds nothing: the binaries come from hack/build-controlplane.sh.
//
// With -authz-webhook, kube-apiserver also asks an authorization webhook
// that localcluster serves (package authzwebhook), after Node and RBAC, the
// way GKE, EKS and AKS grant rights no RBAC rule shows. Its policy is fixed:
// every service account of namespace webhook-demo may create pods/exec and
// get secrets in webhook-demo. Nothing else is granted, so a
// SelfSubjectRulesReview there is incomplete and lists neither right; a
// SelfSubjectAccessReview allows both. To try it:
//
//	go run ./hack/localcluster -authz-webhook -- sh -c '
//	  kubectl create namespace webhook-demo && kubectl -n webhook-demo create serviceaccount ci &&
//	  kubectl auth can-i create pods --subresource=exec -n webhook-demo --as system:serviceaccount:webhook-demo:ci'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kubectl-access/kubectl-access/pkg/controlplane"
	"github.com/kubectl-access/kubectl-access/pkg/controlplane/authzwebhook"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run is main without os.Exit, so deferred cleanups run.
func run(args []string) int {
	flags := flag.NewFlagSet("localcluster", flag.ContinueOnError)
	binDir := flags.String("bin", controlplane.BinDir(), "directory with etcd, kube-apiserver, kube-controller-manager and kubectl")
	dir := flags.String("dir", "", "working directory of the control plane (default: a temporary directory, removed at the end)")
	verbose := flags.Bool("v", false, "copy the control plane's logs to stderr")
	auditPolicy := flags.String("audit-policy", "", "kube-apiserver audit policy file (needs -audit-log)")
	auditLog := flags.String("audit-log", "", "file kube-apiserver writes audit events to (needs -audit-policy)")
	authzWebhook := flags.Bool("authz-webhook", false, "if true, kube-apiserver also asks an authorization webhook served by localcluster, which lets the service accounts of namespace "+demoNamespace+" create pods/exec and get secrets there")
	flags.Usage = func() {
		fmt.Fprintf(flags.Output(), "usage: localcluster [flags] -- COMMAND ARGS...\n\n"+
			"Starts a local control plane, runs COMMAND with KUBECONFIG, PATH and LOCALCLUSTER_DIR\n"+
			"set for it, stops the control plane and exits with COMMAND's exit code.\n\nflags:\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	command := flags.Args()
	if len(command) == 0 {
		fmt.Fprintln(os.Stderr, "localcluster: no command given")
		flags.Usage()
		return 2
	}
	if (*auditPolicy == "") != (*auditLog == "") {
		fmt.Fprintln(os.Stderr, "localcluster: -audit-policy and -audit-log go together")
		return 2
	}

	opts := controlplane.Options{BinDir: *binDir, Dir: *dir}
	if *verbose {
		opts.Log = os.Stderr
	}
	if *auditPolicy != "" {
		policy, err1 := filepath.Abs(*auditPolicy)
		log, err2 := filepath.Abs(*auditLog)
		if err := errors.Join(err1, err2); err != nil {
			fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
			return 2
		}
		opts.ExtraAPIServerArgs = append(opts.ExtraAPIServerArgs,
			"--audit-policy-file="+policy, "--audit-log-path="+log)
	}

	// kubectl and the other binaries come first in PATH, for the command
	// and for looking it up now, before spending seconds on a start.
	if err := os.Setenv("PATH", *binDir+string(os.PathListSeparator)+os.Getenv("PATH")); err != nil {
		fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
		return 1
	}
	if _, err := exec.LookPath(command[0]); err != nil {
		fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
		return 127
	}

	if *authzWebhook {
		webhook, err := authzwebhook.Start()
		if err != nil {
			fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
			return 1
		}
		// Deferred before the control plane's Stop, so it runs after it.
		defer func() {
			if err := webhook.Close(); err != nil {
				fmt.Fprintf(os.Stderr, "localcluster: stopping the authorization webhook: %v\n", err)
			}
		}()
		webhook.Allow(demoPolicy()...)
		opts.AuthorizationWebhook = webhook.AuthorizationWebhook()
		fmt.Fprintf(os.Stderr, "authorization webhook at %s\n", webhook.URL())
	}

	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)

	cluster, sig, err := start(opts, signals)
	if err != nil {
		fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
		return 1
	}
	defer func() {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "localcluster: stopping the control plane: %v\n", err)
		}
	}()
	if sig != nil {
		return signalExitCode(sig)
	}
	return runCommand(cluster, command, signals, os.Stderr)
}

// demoNamespace is the namespace whose service accounts the -authz-webhook
// policy grants rights to.
const demoNamespace = "webhook-demo"

// demoPolicy is what the -authz-webhook webhook allows: rights that matter
// (see pkg/risk), granted where no RBAC rule shows them.
func demoPolicy() []authzwebhook.Rule {
	user := "system:serviceaccount:" + demoNamespace + ":*"
	return []authzwebhook.Rule{
		{User: user, Verb: "create", Resource: "pods", Subresource: "exec", Namespace: demoNamespace},
		{User: user, Verb: "get", Resource: "secrets", Namespace: demoNamespace},
	}
}

// start starts the control plane; a signal arriving meanwhile cancels the
// start and is returned.
func start(opts controlplane.Options, signals <-chan os.Signal) (*controlplane.ControlPlane, os.Signal, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		cluster *controlplane.ControlPlane
		err     error
	}
	done := make(chan result, 1)
	begin := time.Now()
	go func() {
		c, err := controlplane.Start(ctx, opts)
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, nil, r.err
		}
		fmt.Fprintf(os.Stderr, "local control plane ready at %s in %.1fs\n", r.cluster.Server, time.Since(begin).Seconds())
		return r.cluster, nil, nil
	case sig := <-signals:
		cancel()
		r := <-done
		if r.err != nil {
			return nil, sig, nil
		}
		return r.cluster, sig, nil
	}
}

// runCommand runs command against cluster, forwarding signals to it, and
// returns its exit code.
func runCommand(cluster *controlplane.ControlPlane, command []string, signals <-chan os.Signal, stderr io.Writer) int {
	// Set in this process, so that the command inherits them.
	env := map[string]string{
		"KUBECONFIG":       cluster.AdminKubeconfig,
		"LOCALCLUSTER_DIR": cluster.Dir,
	}
	for k, v := range env {
		if err := os.Setenv(k, v); err != nil {
			fmt.Fprintf(stderr, "localcluster: %v\n", err)
			return 1
		}
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "localcluster: %v\n", err)
		if errors.Is(err, exec.ErrNotFound) {
			return 127
		}
		return 126
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case sig := <-signals:
			_ = cmd.Process.Signal(sig)
		case err := <-done:
			return exitCode(err, stderr)
		}
	}
}

// exitCode turns the result of Wait into an exit code the way a shell does:
// the command's own code, or 128+N when signal N killed it.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		fmt.Fprintf(stderr, "localcluster: %v\n", err)
		return 1
	}
	if status, ok := exitErr.Sys().(syscall.WaitStatus); ok && status.Signaled() {
		return signalExitCode(status.Signal())
	}
	return exitErr.ExitCode()
}

// signalExitCode is the shell's exit code for death by sig.
func signalExitCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}
