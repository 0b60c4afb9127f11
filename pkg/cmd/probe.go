package cmd

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/probe"
	"github.com/kubectl-access/kubectl-access/pkg/subject"
	"github.com/kubectl-access/kubectl-access/pkg/transport"
)

// defaultProbeTimeout bounds each probe request when --request-timeout is
// not given, so a server that never answers cannot hang a script.
const defaultProbeTimeout = 30 * time.Second

var (
	probeLong = `
		Check what the API server answers to a service account's token: the
		documented curl $APISERVER/api --header "Authorization: Bearer $TOKEN"
		step, with TLS verified and exit codes a script can branch on.

		SERVICEACCOUNT defaults to "default", in the namespace from -n or the
		kubeconfig context; its token comes from its legacy token Secret or the
		TokenRequest API (see kubectl access token and its --source, --duration,
		--audience and --create-secret flags). --current probes with the
		kubeconfig's own credentials instead, and --token-file with a token you
		hand over (- reads stdin). In a pod without a kubeconfig, the pod's own
		service account is the default.

		Requests go to the kubeconfig's server as the token alone: client
		certificates and other credentials of the kubeconfig are never sent with
		it. TLS is verified with the kubeconfig's CA (or the legacy Secret's
		ca.crt); --insecure-skip-tls-verify works but warns, and a plain http://
		server needs --allow-insecure-http.

		Each --path (default /api) is sent as a GET. --service
		[NAMESPACE/][SCHEME:]NAME[:PORT] sends them through the API server's
		service proxy instead (default path /), e.g. --service web,
		--service build/web:8080, --service https:web:8443. The identity the
		server saw comes from one SelfSubjectReview sent with the same token.

		Output: the identity, then one line per path with status, method, URL,
		latency and the server's message; --body prints the response bodies
		instead (at most 1MiB each); -o json|yaml prints a ProbeReport record;
		-q prints nothing on stdout and no summary on stderr (warnings and
		errors that stop the probe are still printed).

		--wait DURATION sends the failing paths again, backing off from 250ms to
		5s, until every path answers 2xx or DURATION has passed: for scripts
		that wait for a RoleBinding to take effect. Every request is bounded by
		--request-timeout (30s when not given; 0 means no limit).

		Exit codes (when paths fail differently, the first of 7, 6, 3, 10, 4, 5
		present wins, and every result is still printed; a refused redirect is
		5):`

	// probeExitCodes are the exit codes probe's help lists after its text.
	probeExitCodes = []int{0, 1, 2, 3, 4, 5, 6, 7, 10, 130}

	probeExample = `
		# Check that the default service account's token is accepted
		kubectl access probe

		# Check what the service account "ci" may reach, as exit codes
		kubectl access probe ci -n build --path /api --path /api/v1/namespaces/build/pods

		# Probe with a token from a file, or from stdin
		kubectl access probe --token-file ./token
		vault read -field=token secret/ci | kubectl access probe --token-file -

		# Reach an in-cluster service through the API server's service proxy
		kubectl access probe ci -n build --service web:8080 --path /healthz

		# Wait up to a minute for a new RoleBinding to take effect
		kubectl access probe ci -n build --path /api/v1/namespaces/build/pods --wait 1m

		# Print the response body, like the documented curl
		kubectl access probe ci --path /version --body

		# Use only the exit code
		kubectl access probe ci -q || echo "token rejected or not allowed: $?"`
)

// NewCmdProbe returns the probe command.
func NewCmdProbe(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	spec := commandSpec{use: "probe [SERVICEACCOUNT]", short: "Check what the API server answers to a service account's token, with exit codes for scripts", long: probeLong, example: probeExample, exitCodes: probeExitCodes}
	return newCommand(configFlags, streams, spec, NewProbeFlags())
}

// ProbeFlags are the flags of the probe command.
type ProbeFlags struct {
	identity identityFlags
	// paths are the --path values, in order.
	paths []string
	// service is the --service value; empty when not probing a Service.
	service string
	// wait retries failing paths for this long; 0 sends them once.
	wait time.Duration
	// body prints the response bodies.
	body bool
	// quiet prints nothing on stdout and no failure summary.
	quiet bool
	// output is "", json or yaml.
	output string
}

// NewProbeFlags returns the probe command's flags.
func NewProbeFlags() *ProbeFlags {
	return &ProbeFlags{identity: identityFlags{withCurrent: true, withTokenFile: true, mountedDefault: true}}
}

// AddFlags registers the flags on fs.
func (f *ProbeFlags) AddFlags(fs *pflag.FlagSet) {
	f.identity.AddFlags(fs)
	fs.StringArrayVar(&f.paths, "path", nil, "Path to GET, starting with /, with an optional query. Repeat for several. Defaults to /api, or / with --service.")
	fs.StringVar(&f.service, "service", "", "Probe the paths through the API server's proxy of this Service: [NAMESPACE/][SCHEME:]NAME[:PORT], SCHEME http or https, NAMESPACE defaulting to the service account's.")
	fs.DurationVar(&f.wait, "wait", 0, "Send the failing paths again, with backoff, until every path answers 2xx or this duration has passed. 0 sends them once.")
	fs.BoolVar(&f.body, "body", false, "If true, print the response bodies (at most 1MiB each) instead of the status lines.")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "If true, print nothing on stdout and no failure summary: only the exit code tells.")
	fs.StringVarP(&f.output, "output", "o", "", "Output format. One of: (json, yaml).")
}

// ProbeOptions are the parsed inputs of the probe command.
type ProbeOptions struct {
	ProbeFlags
	identity identityOptions
	// requestTimeout is --request-timeout as given, "" when not given.
	requestTimeout string
	// serviceSet says --service was given (an empty value is an error).
	serviceSet bool

	genericiooptions.IOStreams
}

// ToOptions parses the flags and arguments.
func (f *ProbeFlags) ToOptions(cf *genericclioptions.ConfigFlags, fs *pflag.FlagSet, args []string, streams genericiooptions.IOStreams) (*ProbeOptions, error) {
	id, err := f.identity.toOptions(cf, fs, args, streams)
	if err != nil {
		return nil, err
	}
	o := &ProbeOptions{ProbeFlags: *f, identity: id, IOStreams: streams}
	if fs.Changed("request-timeout") && cf.Timeout != nil {
		o.requestTimeout = *cf.Timeout
	} else {
		// The default bounds every request of the run, the ones that
		// obtain the token too, so a server that never answers cannot
		// hang a script.
		callerConfig := o.identity.resolver.CallerConfig
		o.identity.resolver.CallerConfig = func() (*rest.Config, error) {
			cfg, err := callerConfig()
			if err == nil && cfg.Timeout == 0 {
				cfg.Timeout = defaultProbeTimeout
			}
			return cfg, err
		}
	}
	o.serviceSet = fs.Changed("service")
	return o, nil
}

func (o *ProbeOptions) identityOptions() *identityOptions { return &o.identity }

// Validate checks the values before anything is sent.
func (o *ProbeOptions) Validate() error {
	if err := validateOutput(o.output, "json", "yaml"); err != nil {
		return err
	}
	switch {
	case o.quiet && o.output != "":
		return exitcode.Usagef("--quiet prints nothing; it cannot be used with --output")
	case o.quiet && o.body:
		return exitcode.Usagef("--quiet prints nothing; it cannot be used with --body")
	case o.wait < 0:
		return exitcode.Usagef("--wait must not be negative (got %s)", o.wait)
	case !validTimeout(o.requestTimeout):
		return exitcode.Usagef("--request-timeout must be a duration such as 5s or 1m, or 0 for no limit (got %q)", o.requestTimeout)
	}
	if o.serviceSet {
		if _, err := probe.ParseService(o.service); err != nil {
			return exitcode.WithCode(exitcode.Usage, err)
		}
	}
	if err := probe.CheckPaths(o.paths); err != nil {
		return exitcode.WithCode(exitcode.Usage, err)
	}
	return o.identity.validate()
}

// Run obtains the identity, probes and prints.
func (o *ProbeOptions) Run(ctx context.Context) error {
	predialed := o.predial(ctx)
	defer predialed.Close()
	id, err := o.identity.resolver.Resolve(ctx, o.identity.request)
	if err != nil {
		return explain(err)
	}
	defer id.Discard()
	// The default timeout is already the identity's: ToOptions puts it in
	// the caller's configuration, which the identity's copies.
	cfg := predialed.Config(id.Config)
	var svc *probe.Service
	if o.serviceSet {
		s, err := probe.ParseService(o.service)
		if err != nil {
			return exitcode.WithCode(exitcode.Usage, err)
		}
		if s.Namespace == "" {
			s.Namespace = o.serviceNamespace(id)
		}
		svc = &s
	}
	targets, err := probe.Targets(svc, o.paths)
	if err != nil {
		return exitcode.WithCode(exitcode.Usage, err)
	}
	prober, err := probe.New(cfg, probe.Options{Body: o.body, Wait: o.wait})
	if err != nil {
		return err
	}
	if server := prober.Server(); strings.HasPrefix(strings.ToLower(server), "http://") {
		warner(o.IOStreams)("%s is plain http (--allow-insecure-http): the token travels in clear", server)
	}
	report, err := prober.Run(ctx, targets)
	if err != nil {
		return err
	}
	if svc != nil {
		report.Service = svc.String()
	}
	if report.Identity.Username == "system:anonymous" {
		warner(o.IOStreams)("the API server treated the requests as anonymous (system:anonymous): no credentials reached it")
	}
	if report.Identity.Username != "" {
		if err := id.CheckUsername(report.Identity.Username); err != nil {
			return explain(err)
		}
	}
	if err := o.print(report); err != nil {
		return err
	}
	id.Keep()
	code := report.ExitCode()
	if code == exitcode.OK {
		return nil
	}
	failure := exitcode.WithCode(code, errors.New(report.Summary()))
	if o.quiet {
		return &silentError{failure}
	}
	return failure
}

// validTimeout accepts what kubectl's --request-timeout accepts: whole
// seconds or a non-negative duration.
func validTimeout(s string) bool {
	if s == "" {
		return true
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n >= 0
	}
	d, err := time.ParseDuration(s)
	return err == nil && d >= 0
}

// serviceNamespace is the namespace of a --service given without one: -n
// when given, else the service account's, else the kubeconfig context's.
func (o *ProbeOptions) serviceNamespace(id *subject.Identity) string {
	if o.identity.namespaceFlag != "" {
		return o.identity.namespaceFlag
	}
	if id.Credential != nil && id.Credential.Namespace != "" {
		return id.Credential.Namespace
	}
	return id.Namespace
}

func (o *ProbeOptions) print(r *probe.Report) error {
	switch {
	case o.quiet:
		return nil
	case o.body && o.output == "":
		for _, res := range r.Results {
			if res.BodyTruncated {
				warner(o.IOStreams)("the body of %s was cut at %d bytes", res.Path, probe.MaxBodyBytes)
			}
		}
		return probe.WriteBodies(o.Out, r)
	}
	return printRecord(o.IOStreams, o.output, r, func(out io.Writer) error {
		return probe.WriteTable(out, r)
	})
}

// silentError carries an exit code whose explanation was deliberately not
// printed (probe --quiet): Execute exits with the code and prints nothing.
type silentError struct{ err error }

func (e *silentError) Error() string { return e.err.Error() }
func (e *silentError) Unwrap() error { return e.err }

// predial dials and handshakes the token's TLS connection to the server
// while the caller looks the service account's token up, when the token
// is a service account's (nothing is looked up for the other sources), so
// that the probe's first request does not wait for a handshake. The
// connection carries no credential: the caller's certificates are not in
// it, and the token goes only in the requests sent on it. nil when there
// is nothing to dial ahead (see transport.Predial).
func (o *ProbeOptions) predial(ctx context.Context) *transport.Predialed {
	req := o.identity.request
	if req.Mode != subject.ServiceAccount || req.Validate() != nil || o.identity.resolver.CallerConfig == nil {
		return nil // a request Resolve refuses dials nothing
	}
	caller, err := o.identity.resolver.CallerConfig()
	if err != nil {
		return nil // Resolve reports it
	}
	return transport.Predial(ctx, rest.AnonymousClientConfig(caller))
}
