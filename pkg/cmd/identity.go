package cmd

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/kubectl-access/kubectl-access/pkg/credential"
	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/subject"
	"github.com/kubectl-access/kubectl-access/pkg/transport"
	"github.com/kubectl-access/kubectl-access/pkg/version"
)

// The flags that say which token to obtain for a service account, by the
// credential.Request field each sets; they make no sense with --current or
// --token-file.
var tokenFlagOf = map[credential.Field]string{
	credential.FieldSource:          "source",
	credential.FieldDuration:        "duration",
	credential.FieldAudiences:       "audience",
	credential.FieldBoundObjectKind: "bound-object-kind",
	credential.FieldBoundObjectName: "bound-object-name",
	credential.FieldCreateSecret:    "create-secret",
	credential.FieldWaitTimeout:     "wait-timeout",
}

// tokenFlagNames are tokenFlagOf's flags in the order their conflicts are
// reported.
var tokenFlagNames = []string{"source", "duration", "audience", "bound-object-kind", "bound-object-name", "create-secret", "wait-timeout"}

// identityFlags say who a command acts as. Every command has the token
// flags; probe and whoami also --current; all but kubeconfig --token-file.
type identityFlags struct {
	source          string
	duration        time.Duration
	audiences       []string
	boundObjectKind string
	boundObjectName string
	createSecret    bool
	waitTimeout     time.Duration

	current           bool
	tokenFile         string
	allowInsecureHTTP bool

	// withCurrent and withTokenFile say which of those flags the command has.
	withCurrent, withTokenFile bool
	// mountedSource accepts --source=mounted (the token command).
	mountedSource bool
	// mountedDefault makes the pod's own token the default in a pod without
	// a kubeconfig (token, probe, whoami; not kubeconfig, which needs a
	// service account's token for another place).
	mountedDefault bool
}

// AddFlags registers the flags on fs.
func (f *identityFlags) AddFlags(fs *pflag.FlagSet) {
	sources := "auto (a legacy token Secret when one is usable, else the TokenRequest API), secret (the documented flow) or request (the TokenRequest API)"
	if f.mountedSource {
		sources = "auto (a legacy token Secret when one is usable, else the TokenRequest API), secret (the documented flow), request (the TokenRequest API) or mounted (the pod's own token)"
	}
	fs.StringVar(&f.source, "source", string(credential.SourceAuto), "Where the token comes from: "+sources+".")
	fs.DurationVar(&f.duration, "duration", 0, "Requested lifetime of a TokenRequest token, at least 10m. The server may return a token with a shorter or longer lifetime. 0 uses the server's default.")
	fs.StringArrayVar(&f.audiences, "audience", nil, "Audience of a TokenRequest token. Repeat for several. Defaults to the API server's own audiences.")
	fs.StringVar(&f.boundObjectKind, "bound-object-kind", "", "Kind of an object (Pod, Secret or Node) to bind a TokenRequest token to: the token stops working when the object is deleted.")
	fs.StringVar(&f.boundObjectName, "bound-object-name", "", "Name of the object to bind a TokenRequest token to.")
	fs.BoolVar(&f.createSecret, "create-secret", false, "If true, create a legacy token Secret (SERVICEACCOUNT-token) when the service account has no usable one, and wait for its token. The token is long-lived: it is valid until the Secret is deleted. A run that fails afterwards deletes it again.")
	fs.DurationVar(&f.waitTimeout, "wait-timeout", 30*time.Second, "How long to wait for the token controller to fill a Secret created by --create-secret.")
	if f.withCurrent {
		fs.BoolVar(&f.current, "current", false, "If true, act as the kubeconfig's own credentials instead of a service account.")
	}
	if f.withTokenFile {
		fs.StringVar(&f.tokenFile, "token-file", "", "Read the bearer token to act as from this file, or from stdin with -. Keeps the token out of ps and shell history.")
	}
	fs.BoolVar(&f.allowInsecureHTTP, "allow-insecure-http", false, "If true, allow credentials to travel to or from a plain http:// server, where anyone on the path can read them.")
}

// identityOptions is the parsed identity of a command: the request for the
// resolver and what Validate needs to check the flags together.
type identityOptions struct {
	request subject.Request
	// resolver is built from the kubeconfig flags; tests replace it.
	resolver *subject.Resolver
	// serviceAccountArg is the SERVICEACCOUNT argument, "" when not given.
	serviceAccountArg string
	// argGiven says a SERVICEACCOUNT argument was given (maybe empty).
	argGiven bool
	// changedTokenFlag is the first token flag given, "".
	changedTokenFlag string
	// tokenFileSet says --token-file was given (maybe empty).
	tokenFileSet bool
	current      bool
	// namespaceFlag is -n as given, "" when not given.
	namespaceFlag string
	// kubeconfigErr is why the kubeconfig could not be read, if it could not.
	kubeconfigErr error
}

// toOptions parses the identity flags and arguments: the mode, the
// namespace (from -n or the context), and the resolver.
func (f *identityFlags) toOptions(cf *genericclioptions.ConfigFlags, fs *pflag.FlagSet, args []string, streams genericiooptions.IOStreams) (identityOptions, error) {
	o := identityOptions{current: f.current, tokenFileSet: fs.Changed("token-file")}
	for _, name := range tokenFlagNames {
		if fs.Changed(name) {
			o.changedTokenFlag = name
			break
		}
	}
	if len(args) > 0 {
		o.serviceAccountArg, o.argGiven = args[0], true
	}
	if cf.Namespace != nil {
		o.namespaceFlag = *cf.Namespace
	}
	req := subject.Request{
		Mode: subject.ServiceAccount,
		Name: o.serviceAccountArg,
		Token: credential.Request{
			Source:          credential.Source(f.source),
			Duration:        f.duration,
			Audiences:       f.audiences,
			BoundObjectKind: f.boundObjectKind,
			BoundObjectName: f.boundObjectName,
			CreateSecret:    f.createSecret,
			WaitTimeout:     f.waitTimeout,
		},
		TokenFile:         f.tokenFile,
		AllowInsecureHTTP: f.allowInsecureHTTP,
	}
	switch {
	case f.current:
		req.Mode = subject.Current
	case o.tokenFileSet:
		req.Mode = subject.TokenFile
	case f.source == string(credential.SourceMounted) && f.mountedSource:
		req.Mode = subject.Mounted
	case f.mountedDefault && !o.argGiven && o.changedTokenFlag == "" && inPod(cf):
		req.Mode = subject.Mounted
	}
	// The context's namespace: the service account's, and the default
	// namespace of what the command does (whoami's review, probe's
	// --service). An unreadable kubeconfig matters only when a token is to
	// be obtained with it, and is reported by validate, after the flags: a
	// bad flag is the first thing to fix.
	ns, _, err := cf.ToRawKubeConfigLoader().Namespace()
	if err != nil && req.Mode == subject.ServiceAccount {
		o.kubeconfigErr = exitcode.WithCode(exitcode.Usage, fmt.Errorf("reading the namespace from the kubeconfig: %w", err))
	}
	req.Namespace = ns
	o.request = req
	o.resolver = newResolver(cf, streams)
	return o, nil
}

// validate checks the identity flags together, values only.
func (o *identityOptions) validate() error {
	switch {
	case o.current && o.tokenFileSet:
		return exitcode.Usagef("--current and --token-file cannot be used together")
	case o.current && o.argGiven:
		return exitcode.Usagef("--current acts as the kubeconfig's credentials; it cannot be used with a SERVICEACCOUNT argument")
	case o.tokenFileSet && o.argGiven:
		return exitcode.Usagef("--token-file gives the token; it cannot be used with a SERVICEACCOUNT argument")
	case o.tokenFileSet && o.request.TokenFile == "":
		return exitcode.Usagef("--token-file must name a file, or - for stdin")
	case (o.current || o.tokenFileSet) && o.changedTokenFlag != "":
		with := "--token-file"
		if o.current {
			with = "--current or --token-file"
		}
		return exitcode.Usagef("--%s obtains a service account token; it cannot be used with %s", o.changedTokenFlag, with)
	case o.request.Token.Source == credential.SourceMounted && o.request.Mode != subject.Mounted:
		return exitcode.Usagef("--source=mounted is only for kubectl access token; probe and whoami use the pod's own token by default in a pod")
	case o.request.Mode == subject.Mounted && o.argGiven:
		return exitcode.Usagef("--source=mounted prints the pod's own token; it cannot be used with a SERVICEACCOUNT argument")
	case o.argGiven && o.serviceAccountArg == "":
		return exitcode.Usagef("SERVICEACCOUNT must not be empty")
	}
	if o.namespaceFlag != "" {
		if err := subject.ValidateNamespace(o.namespaceFlag); err != nil {
			return explain(err)
		}
	}
	if o.kubeconfigErr != nil {
		return o.kubeconfigErr
	}
	return explain(o.request.Validate())
}

// reportThrottling warns once when the server throttled the run's requests
// (429 Too Many Requests): waits are capped, so a slow run says why.
func (o *identityOptions) reportThrottling() {
	if o.resolver == nil || o.resolver.Throttling == nil || o.resolver.Warnf == nil {
		return
	}
	if summary := o.resolver.Throttling.Summary(); summary != "" {
		o.resolver.Warnf("%s", summary)
	}
}

// newResolver is the resolver of a real run: the caller's configuration
// from the kubeconfig flags, warnings on stderr.
func newResolver(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *subject.Resolver {
	warnf := warner(streams)
	return &subject.Resolver{
		CallerConfig: func() (*rest.Config, error) { return callerConfig(cf, warnf) },
		Stdin:        streams.In,
		Warnf:        warnf,
		Throttling:   &transport.Throttling{},
	}
}

// callerConfig is the kubeconfig's own configuration (or the pod's), with
// the TLS warning every command owes the user.
func callerConfig(cf *genericclioptions.ConfigFlags, warnf func(string, ...any)) (*rest.Config, error) {
	cfg, err := cf.ToRESTConfig()
	if err != nil {
		return nil, exitcode.WithCode(exitcode.Usage, fmt.Errorf("loading the kubeconfig: %w", err))
	}
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = userAgent()
	if cfg.Insecure {
		warnf("TLS verification is disabled (insecure-skip-tls-verify): anyone between you and %s can read the token", cfg.Host)
	}
	return cfg, nil
}

// explain words an error of the domain packages for the command line: the
// flag or argument at fault, and the documented exit code. nil stays nil.
func explain(err error) error {
	if err == nil {
		return nil
	}
	var (
		name     *subject.NameError
		field    *credential.RequestError
		short    *credential.DurationTooShortError
		file     *subject.FileError
		scheme   *subject.SchemeError
		obtain   *subject.ObtainError
		wrong    *subject.WrongSubjectError
		redirect *transport.RedirectError
		notFill  *credential.NotFilledError
	)
	switch {
	case errors.As(err, &name):
		what := "the SERVICEACCOUNT argument"
		if name.Kind == "namespace" {
			what = "the namespace (-n or the context's)"
		}
		msg := what + " " + name.Error()
		if name.LooksLikeToken {
			msg += "; pass a token with --token-file (or --token-file - for stdin), never as an argument"
		}
		return exitcode.WithCode(exitcode.Usage, errors.New(msg))
	case errors.As(err, &short):
		return exitcode.Usagef("--duration %v", short)
	case errors.As(err, &field):
		return exitcode.WithCode(exitcode.Usage, errors.New(fieldMessage(field)))
	case errors.As(err, &file):
		if isTokenProblem(file.Err) {
			return exitcode.Usagef("--token-file %v", file.Err)
		}
		return exitcode.Usagef("reading --token-file: %v", file.Err)
	case errors.As(err, &scheme):
		return exitcode.WithCode(exitcode.TLS, fmt.Errorf("%v; pass --allow-insecure-http to allow it", scheme))
	case errors.As(err, &wrong):
		return exitcode.WithCode(exitcode.WrongSubject, err)
	case errors.As(err, &redirect):
		return exitcode.WithCode(exitcode.BadStatus, err)
	case errors.As(err, &obtain):
		// Failures to obtain the token exit 1 (or 6/7 for TLS and transport
		// faults), not 3/4: those describe the server's answer to the token.
		msg := obtain.Error()
		switch {
		case errors.Is(err, credential.ErrNoSecret):
			msg += ": use --create-secret to create one, or --source=request for a short-lived token"
		case errors.As(err, &notFill):
			msg += " (--wait-timeout)"
		}
		code := exitcode.Transport(obtain.Err)
		if code == exitcode.OK {
			code = exitcode.Error
		}
		return exitcode.WithCode(code, errors.New(msg))
	}
	return err
}

func isTokenProblem(err error) bool {
	for _, e := range []error{credential.ErrEmptyToken, credential.ErrBearerValue, credential.ErrSeveralWords, credential.ErrBadCharacters} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// fieldMessage words a credential.RequestError with the flags' names.
func fieldMessage(e *credential.RequestError) string {
	flag := "--" + tokenFlagOf[e.Field]
	switch {
	case e.Field == credential.FieldServiceAccount:
		return "SERVICEACCOUNT " + e.Problem
	case e.Field == credential.FieldSource && len(e.Conflicts) > 0:
		return "--duration, --audience and --bound-object-kind apply to TokenRequest tokens; they cannot be used with --source=secret"
	case e.Field == credential.FieldCreateSecret && len(e.Conflicts) > 0:
		return "--create-secret cannot be used with --source=request"
	}
	problem := e.Problem
	for field, name := range tokenFlagOf {
		problem = strings.ReplaceAll(problem, string(field), "--"+name)
	}
	return flag + " " + problem
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
