package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"

	"github.com/kubectl-access/kubectl-access/pkg/credential"
	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/version"
)

// defaultServiceAccount is used when no SERVICEACCOUNT argument is given,
// as in the documented flow.
const defaultServiceAccount = "default"

// tokenFlagNames are the flags that shape which token is obtained; they make
// no sense with --current or --token-file.
var tokenFlagNames = []string{"source", "duration", "audience", "bound-object-kind", "bound-object-name", "create-secret", "wait-timeout"}

// tokenFlags say which token to obtain for a service account. token, probe,
// whoami and kubeconfig share them.
type tokenFlags struct {
	// source is auto, secret, request (or mounted, for the token command).
	source string
	// duration is the requested TokenRequest lifetime; 0 = server default.
	duration time.Duration
	// audiences of a TokenRequest token.
	audiences []string
	// boundObjectKind and boundObjectName bind a TokenRequest token.
	boundObjectKind string
	boundObjectName string
	// createSecret creates a legacy token Secret when none is usable.
	createSecret bool
	// waitTimeout bounds the wait for a created Secret to be filled.
	waitTimeout time.Duration
}

func (f *tokenFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.source, "source", string(credential.SourceAuto), "Where the token comes from: auto (a legacy token Secret when one is usable, else the TokenRequest API), secret (the documented flow) or request (the TokenRequest API).")
	fs.DurationVar(&f.duration, "duration", 0, "Requested lifetime of a TokenRequest token, at least 10m. The server may return a token with a shorter or longer lifetime. 0 uses the server's default.")
	fs.StringArrayVar(&f.audiences, "audience", nil, "Audience of a TokenRequest token. Repeat for several. Defaults to the API server's own audiences.")
	fs.StringVar(&f.boundObjectKind, "bound-object-kind", "", "Kind of an object (Pod, Secret or Node) to bind a TokenRequest token to: the token stops working when the object is deleted.")
	fs.StringVar(&f.boundObjectName, "bound-object-name", "", "Name of the object to bind a TokenRequest token to.")
	fs.BoolVar(&f.createSecret, "create-secret", false, "If true, create a legacy token Secret (SERVICEACCOUNT-token) when the service account has no usable one, and wait for its token. The token is long-lived: it is valid until the Secret is deleted.")
	fs.DurationVar(&f.waitTimeout, "wait-timeout", 30*time.Second, "How long to wait for the token controller to fill a Secret created by --create-secret.")
}

func (f *tokenFlags) request(namespace, serviceAccount string) credential.Request {
	return credential.Request{
		Namespace:       namespace,
		ServiceAccount:  serviceAccount,
		Source:          credential.Source(f.source),
		Duration:        f.duration,
		Audiences:       f.audiences,
		BoundObjectKind: f.boundObjectKind,
		BoundObjectName: f.boundObjectName,
		CreateSecret:    f.createSecret,
		WaitTimeout:     f.waitTimeout,
	}
}

// subjectFlags say whose identity probe and whoami act as.
type subjectFlags struct {
	tokenFlags
	// current uses the kubeconfig's own credentials as they are.
	current bool
	// tokenFile names a file (or - for stdin) holding a bearer token.
	tokenFile string
	// allowInsecureHTTP allows sending the token to a plain http:// server.
	allowInsecureHTTP bool
}

func (f *subjectFlags) addFlags(fs *pflag.FlagSet) {
	f.tokenFlags.addFlags(fs)
	fs.BoolVar(&f.current, "current", false, "If true, act as the kubeconfig's own credentials instead of a service account.")
	fs.StringVar(&f.tokenFile, "token-file", "", "Read the bearer token to act as from this file, or from stdin with -. Keeps the token out of ps and shell history.")
	fs.BoolVar(&f.allowInsecureHTTP, "allow-insecure-http", false, "If true, allow sending the token to a plain http:// server, where anyone on the path can read it.")
}

// subject is the identity a command acts as, resolved from the flags.
type subject struct {
	// caller is the kubeconfig's own configuration, used to obtain tokens
	// and to list namespaces.
	caller *rest.Config
	// config authenticates as the subject alone.
	config *rest.Config
	// cred is the subject's credential; nil with --current.
	cred *credential.Credential
	// namespace is the namespace from -n or the kubeconfig context.
	namespace string
}

// describe names the subject for messages.
func (s *subject) describe() string {
	switch {
	case s.cred == nil:
		return "the kubeconfig's credentials"
	case s.cred.Subject() != "":
		return s.cred.Subject()
	}
	return "the given token"
}

// changedTokenFlag returns the first token flag given on the command line,
// or "".
func changedTokenFlag(cmd *cobra.Command) string {
	for _, name := range tokenFlagNames {
		if cmd.Flags().Changed(name) {
			return name
		}
	}
	return ""
}

// validateSubjectFlags rejects flag combinations that contradict each other,
// before anything is sent.
func validateSubjectFlags(cmd *cobra.Command, f *subjectFlags, args []string) error {
	tokenFlag := changedTokenFlag(cmd)
	switch {
	case f.current && f.tokenFile != "":
		return exitcode.Usagef("--current and --token-file cannot be used together")
	case f.current && len(args) > 0:
		return exitcode.Usagef("--current acts as the kubeconfig's credentials; it cannot be used with a SERVICEACCOUNT argument (%q)", args[0])
	case f.tokenFile != "" && len(args) > 0:
		return exitcode.Usagef("--token-file gives the token; it cannot be used with a SERVICEACCOUNT argument (%q)", args[0])
	case (f.current || f.tokenFile != "") && tokenFlag != "":
		return exitcode.Usagef("--%s obtains a service account token; it cannot be used with --current or --token-file", tokenFlag)
	case cmd.Flags().Changed("token-file") && f.tokenFile == "":
		return exitcode.Usagef("--token-file must name a file, or - for stdin")
	}
	if f.current || f.tokenFile != "" {
		return nil
	}
	if f.source == string(credential.SourceMounted) {
		return exitcode.Usagef("--source=mounted is only for kubectl access token; probe and whoami use the pod's own token by default in a pod")
	}
	req := f.request("namespace", defaultServiceAccount)
	if err := req.Validate(); err != nil {
		return exitcode.WithCode(exitcode.Usage, err)
	}
	return nil
}

// resolveSubject obtains the identity the command acts as: the service
// account's token (default), the kubeconfig's credentials (--current), a
// token from a file (--token-file), or in a pod without a kubeconfig the
// pod's own mounted token.
func resolveSubject(ctx context.Context, cf *genericclioptions.ConfigFlags, f *subjectFlags, args []string, streams genericiooptions.IOStreams) (*subject, error) {
	caller, err := callerConfig(cf, streams)
	if err != nil {
		return nil, err
	}
	namespace, _, err := cf.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, exitcode.WithCode(exitcode.Usage, fmt.Errorf("reading the namespace from the kubeconfig: %w", err))
	}
	s := &subject{caller: caller, namespace: namespace}
	if f.current {
		s.config = rest.CopyConfig(caller)
		return s, checkScheme(s.config, f.allowInsecureHTTP)
	}
	switch {
	case f.tokenFile != "":
		token, err := credential.ReadToken(f.tokenFile, streams.In)
		if err != nil {
			return nil, exitcode.WithCode(exitcode.Usage, err)
		}
		s.cred = credential.FromToken(token)
	case len(args) == 0 && inPod(cf):
		if s.cred, err = credential.Mounted(credential.MountedDir); err != nil {
			return nil, err
		}
	default:
		name := defaultServiceAccount
		if len(args) > 0 {
			name = args[0]
		}
		if s.cred, err = getToken(ctx, caller, f.tokenFlags, namespace, name, streams); err != nil {
			return nil, err
		}
	}
	if err := s.cred.SetServer(caller); err != nil {
		return nil, err
	}
	s.config = s.cred.ClientConfig(caller)
	return s, checkScheme(s.config, f.allowInsecureHTTP)
}

// getToken obtains a service account token with the caller's credentials.
// Failures to obtain it exit 1 (or 6/7 for TLS and transport faults), not
// 3/4: those codes describe what the server answers to the token itself.
func getToken(ctx context.Context, caller *rest.Config, f tokenFlags, namespace, name string, streams genericiooptions.IOStreams) (*credential.Credential, error) {
	req := f.request(namespace, name)
	if err := req.Validate(); err != nil {
		return nil, exitcode.WithCode(exitcode.Usage, err)
	}
	client, err := corev1client.NewForConfig(caller)
	if err != nil {
		return nil, err
	}
	getter := &credential.Getter{Client: client, Warnf: warner(streams)}
	cred, err := getter.Get(ctx, req)
	if err != nil {
		if code := exitcode.Transport(err); code != exitcode.OK {
			return nil, exitcode.WithCode(code, err)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, exitcode.WithCode(exitcode.Error, err)
	}
	return cred, nil
}

// callerConfig is the kubeconfig's own configuration (or the pod's), with
// the TLS warning every command owes the user.
func callerConfig(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) (*rest.Config, error) {
	cfg, err := cf.ToRESTConfig()
	if err != nil {
		return nil, exitcode.WithCode(exitcode.Usage, fmt.Errorf("loading the kubeconfig: %w", err))
	}
	cfg.UserAgent = userAgent()
	if cfg.Insecure {
		warner(streams)("TLS verification is disabled (insecure-skip-tls-verify): anyone between you and %s can read the token", cfg.Host)
	}
	return cfg, nil
}

// checkScheme refuses to send a token to a plain http:// server unless the
// user allowed it explicitly.
func checkScheme(cfg *rest.Config, allowHTTP bool) error {
	u, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return exitcode.WithCode(exitcode.Usage, fmt.Errorf("invalid server URL: %w", err))
	}
	if strings.EqualFold(u.Scheme, "http") && !allowHTTP {
		return exitcode.WithCode(exitcode.TLS, fmt.Errorf("server %s is plain http: the token would travel in clear; pass --allow-insecure-http to allow it", u.Redacted()))
	}
	return nil
}

// inPod reports whether there is no kubeconfig to use and the process runs
// in a pod with a mounted token.
func inPod(cf *genericclioptions.ConfigFlags) bool {
	if cf.APIServer != nil && *cf.APIServer != "" {
		return false
	}
	raw, err := cf.ToRawKubeConfigLoader().RawConfig()
	if err != nil || len(raw.Clusters) > 0 {
		return false
	}
	return credential.InPod(credential.MountedDir)
}

// userAgent identifies the plugin in the API server's logs and audit log.
func userAgent() string {
	v := version.Get()
	return "kubectl-access/" + v.Version + " (" + v.Platform + ")"
}

// warner returns a printf that writes a kubectl-style warning to stderr.
func warner(streams genericiooptions.IOStreams) func(format string, args ...any) {
	return func(format string, args ...any) {
		fmt.Fprintf(streams.ErrOut, "Warning: "+format+"\n", args...)
	}
}
