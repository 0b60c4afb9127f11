package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/kubectl-access/kubectl-access/pkg/check"
	"github.com/kubectl-access/kubectl-access/pkg/client"
	"github.com/kubectl-access/kubectl-access/pkg/credential"
	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/expect"
	"github.com/kubectl-access/kubectl-access/pkg/review"
	"github.com/kubectl-access/kubectl-access/pkg/subject"
)

var (
	checkLong = `
		Check that service accounts have exactly the access intended: the
		actions they must be allowed, and those they must be denied, written
		as code (an AccessExpectations document, see docs/check.md) or on the
		command line.

		Every action is asked with a SelfSubjectAccessReview sent as the
		subject itself: for a service account, with its own token, obtained
		the way the token command does (its legacy token Secret, else a
		TokenRequest token of the shortest lifetime the server accepts, 10m,
		unless --duration says otherwise), never written anywhere; for
		"current", with the kubeconfig's own credentials. No impersonation
		right is needed, and the answer is every authorizer's, webhooks
		included. The reviews are sent --concurrency at a time per subject.

		-f reads a file, every *.yaml, *.yml and *.json file of a directory,
		or stdin (-f -); repeat it for several. A malformed document is
		refused with its file and line before anything is sent. Inline,
		--allow and --deny give actions for SERVICEACCOUNT (or --current) in
		the namespace from -n or the context, in --namespaces, or in every
		namespace with -A. Actions are written "VERB
		RESOURCE[/SUBRESOURCE][.GROUP] [NAME] [-n NAMESPACE]" or "VERB /PATH":
		"create pods/exec", "get deployments.apps -n prod", "get /metrics".
		Cluster-scoped actions (nodes, non-resource URLs, ...) are asked once,
		cluster-wide.

		Each expectation is held (OK), failed (FAIL), or undecided (ERROR):
		the review failed, the service account does not exist, the namespaces
		could not be listed or a namespaceSelector matches none, or the server
		denied with an evaluation error. Undecided never counts as held. The
		table (or -o json|yaml) lists every expectation, --junit FILE writes
		JUnit XML for CI (one testcase per expectation), and stderr ends with
		a summary line: "12 expectations, 11 held, 1 failed".

		--generate writes a document that allows what the subject's rules
		allow now (SelfSubjectRulesReview, as its token), in the namespace
		from -n, --namespaces or -A: a starting point to tighten, which
		passes when checked at once.

		A verb that is neither standard nor a well-known special one (use,
		bind, escalate, impersonate, approve, sign, attest) is warned about
		and still asked.

		Exit codes (when the server could not answer some expectations, the
		code is that of the failure, the first of 7, 6, 3, 10, 4, 5, 1 present,
		even when others failed):`

	// checkExitCodes are the exit codes check's help lists after its text.
	checkExitCodes = allExitCodes

	checkExample = `
		# Check a file of expectations
		kubectl access check -f expectations.yaml

		# Every file of a directory, with a JUnit report for CI
		kubectl access check -f access/ --junit access-report.xml

		# One-off: may ci of build read configmaps but not secrets?
		kubectl access check ci -n build --allow "get configmaps" --deny "get secrets"

		# The caller's own access, in every namespace
		kubectl access check --current -A --deny "create pods/exec"

		# Start a file from what the account may do now, then check it
		kubectl access check ci -n build --namespaces build,prod --generate > expectations.yaml
		kubectl access check -f expectations.yaml

		# Every expectation and its result as JSON
		kubectl access check -f expectations.yaml -o json`
)

// NewCmdCheck returns the check command.
func NewCmdCheck(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	spec := commandSpec{use: "check [SERVICEACCOUNT] (-f FILE | --allow ACTION | --deny ACTION | --generate)", short: "Check that service accounts are allowed, and denied, exactly the actions expected", long: checkLong, example: checkExample, exitCodes: checkExitCodes}
	cmd := newCommand(configFlags, streams, spec, NewCheckFlags())
	_ = cmd.RegisterFlagCompletionFunc("namespaces", completeNamespaces(configFlags))
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	_ = cmd.MarkFlagFilename("junit", "xml")
	return cmd
}

// CheckFlags are the flags of the check command.
type CheckFlags struct {
	identity identityFlags
	// filenames are the -f files, directories or "-".
	filenames []string
	// allow and deny are the inline actions.
	allow, deny []string
	// namespaces and allNamespaces say where inline actions are asked and
	// where --generate reviews.
	namespaces    []string
	allNamespaces bool
	// generate writes a document from the current rules instead.
	generate bool
	// output is "", json or yaml.
	output string
	// junit is the JUnit report's path.
	junit string
	// concurrency bounds the reviews in flight per subject.
	concurrency int
}

// NewCheckFlags returns the check command's flags.
func NewCheckFlags() *CheckFlags {
	return &CheckFlags{identity: identityFlags{withCurrent: true}}
}

// AddFlags registers the flags on fs.
func (f *CheckFlags) AddFlags(fs *pflag.FlagSet) {
	f.identity.AddFlags(fs)
	fs.StringArrayVarP(&f.filenames, "filename", "f", nil, "An expectations file, a directory of them (*.yaml, *.yml, *.json), or - for stdin. Repeat for several.")
	fs.StringArrayVar(&f.allow, "allow", nil, "An action SERVICEACCOUNT must be allowed: \"VERB RESOURCE[/SUBRESOURCE][.GROUP] [NAME] [-n NAMESPACE]\" or \"VERB /PATH\". Repeat for several.")
	fs.StringArrayVar(&f.deny, "deny", nil, "An action SERVICEACCOUNT must be denied, written as for --allow. Repeat for several.")
	fs.StringSliceVar(&f.namespaces, "namespaces", nil, "Comma-separated namespaces to ask --allow and --deny in, or to review with --generate, instead of the one from -n or the context.")
	fs.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "If true, ask --allow and --deny in (or --generate from) every namespace, listed with the kubeconfig's own credentials.")
	fs.BoolVar(&f.generate, "generate", false, "If true, print an expectations document that allows what the subject's rules allow now, instead of checking.")
	fs.StringVarP(&f.output, "output", "o", "", "Output format. One of: (json, yaml). Default: a table of every expectation.")
	fs.StringVar(&f.junit, "junit", "", "Also write the results as JUnit XML to this file (replaced atomically), one testcase per expectation.")
	fs.IntVar(&f.concurrency, "concurrency", review.DefaultConcurrency, "How many SelfSubjectAccessReviews to send at once per subject.")
}

// CheckOptions are the parsed inputs of the check command.
type CheckOptions struct {
	CheckFlags
	identity identityOptions
	// namespacesSet, durationSet and junitSet say the flags were given.
	namespacesSet, durationSet, junitSet bool
	// sets are the expectations to check, from -f or inline.
	sets []expect.Set
	// inputErr is the first problem of the files or inline actions.
	inputErr error
	// caller and callerErr are callerConfig's result, once known.
	caller    *rest.Config
	callerErr error
	// newClient builds the clients of the run. Tests inject typed fakes.
	newClient func(*rest.Config) (client.Interface, error)

	genericiooptions.IOStreams
}

// ToOptions parses the flags, the arguments and the expectations (files
// are read here: a malformed one is refused before anything is sent).
func (f *CheckFlags) ToOptions(cf *genericclioptions.ConfigFlags, fs *pflag.FlagSet, args []string, streams genericiooptions.IOStreams) (*CheckOptions, error) {
	id, err := f.identity.toOptions(cf, fs, args, streams)
	if err != nil {
		return nil, err
	}
	o := &CheckOptions{
		CheckFlags: *f, identity: id, namespacesSet: fs.Changed("namespaces"), durationSet: fs.Changed("duration"), junitSet: fs.Changed("junit"),
		newClient: client.NewForConfig,
		IOStreams: streams,
	}
	if len(f.filenames) > 0 {
		o.sets, o.inputErr = loadExpectations(f.filenames, streams.In)
		return o, nil
	}
	if len(f.allow)+len(f.deny) > 0 {
		o.sets, o.inputErr = o.inlineSet()
	}
	return o, nil
}

func (o *CheckOptions) identityOptions() *identityOptions { return &o.identity }

// subjectName is the inline subject: "current" or namespace/name.
func (o *CheckOptions) subjectName() string {
	if o.identity.request.Mode == subject.Current {
		return expect.Current
	}
	return o.identity.request.Namespace + "/" + cmpOr(o.identity.request.Name, subject.DefaultServiceAccount)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// inlineSet builds the set of --allow and --deny.
func (o *CheckOptions) inlineSet() ([]expect.Set, error) {
	s := expect.Set{Subjects: []string{o.subjectName()}}
	switch {
	case o.allNamespaces:
		s.Namespaces = []string{expect.AllNamespaces}
	case len(o.namespaces) > 0:
		s.Namespaces = o.namespaces
	case o.identity.request.Mode == subject.ServiceAccount:
		s.Namespaces = []string{o.identity.request.Namespace}
	}
	for _, list := range []struct {
		flag   string
		values []string
		into   *[]expect.Action
	}{{"allow", o.allow, &s.Allow}, {"deny", o.deny, &s.Deny}} {
		for i, v := range list.values {
			a, err := expect.ParseAction(v)
			if err != nil {
				return nil, exitcode.Usagef("--%s (value %d of %d): %v", list.flag, i+1, len(list.values), err)
			}
			a.Pos = expect.Pos{File: "--" + list.flag}
			*list.into = append(*list.into, a)
		}
	}
	return []expect.Set{s}, nil
}

// loadExpectations reads the -f files; every error is a usage error.
func loadExpectations(names []string, stdin io.Reader) ([]expect.Set, error) {
	sets, err := expect.Load(names, stdin)
	if err != nil {
		return nil, exitcode.WithCode(exitcode.Usage, fmt.Errorf("-f %w", err))
	}
	return sets, nil
}

// Validate checks the values before anything is sent.
func (o *CheckOptions) Validate() error {
	if err := validateOutput(o.output, "json", "yaml"); err != nil {
		return err
	}
	if o.concurrency < 1 {
		return exitcode.Usagef("--concurrency must be at least 1 (got %d)", o.concurrency)
	}
	inline := len(o.allow)+len(o.deny) > 0
	switch {
	case len(o.filenames) > 0 && inline:
		return exitcode.Usagef("-f and --allow/--deny cannot be used together: put the actions in the file")
	case len(o.filenames) > 0 && o.generate:
		return exitcode.Usagef("--generate writes a document from the subject's rules; it cannot be used with -f")
	case inline && o.generate:
		return exitcode.Usagef("--generate writes a document from the subject's rules; it cannot be used with --allow or --deny")
	case len(o.filenames) > 0 && (o.identity.argGiven || o.identity.current):
		return exitcode.Usagef("-f names its subjects in the file; it cannot be used with a SERVICEACCOUNT argument or --current")
	case len(o.filenames) > 0 && (o.namespacesSet || o.allNamespaces):
		return exitcode.Usagef("-f says in the file where each action is asked; --namespaces and -A are for --allow, --deny and --generate")
	case !inline && !o.generate && len(o.filenames) == 0:
		return exitcode.Usagef("nothing to check: give -f FILE, --allow or --deny ACTION, or --generate")
	case o.generate && (o.output != "" || o.junit != ""):
		return exitcode.Usagef("--generate prints a document; -o and --junit are for checking")
	case o.junitSet && o.junit == "":
		return exitcode.Usagef("--junit must name a file")
	}
	if err := validateNamespaces(o.namespacesSet, o.namespaces, o.allNamespaces); err != nil {
		return err
	}
	if o.inputErr != nil {
		return o.inputErr
	}
	return o.identity.validate()
}

// Run checks the expectations, or generates a document with --generate.
// Requests: per service account subject those that obtain its token
// (ServiceAccount GET, Secret LIST, maybe a TokenRequest) with the
// caller's credentials; one namespace LIST with the caller's credentials
// per distinct selector ("*" included); then, as each subject, one
// SelfSubjectAccessReview per distinct action and namespace.
func (o *CheckOptions) Run(ctx context.Context) error {
	// Every subject is resolved with the caller's configuration: it is
	// loaded once, so that its warnings (TLS verification off) are said
	// once. Resolve copies it before use.
	load := o.identity.resolver.CallerConfig
	var once sync.Once
	var loaded *rest.Config
	var loadErr error
	o.identity.resolver.CallerConfig = func() (*rest.Config, error) {
		once.Do(func() { loaded, loadErr = load() })
		return loaded, loadErr
	}
	if o.generate {
		return o.runGenerate(ctx)
	}
	var report *check.ReportFile
	if o.junit != "" {
		var err error
		if report, err = check.CreateReport(o.junit); err != nil {
			return exitcode.Usagef("--junit %v", err)
		}
		defer report.Abort()
	}
	warn := warner(o.IOStreams)
	for _, a := range check.UnknownVerbs(o.sets) {
		warn("%s: verb %q is not a known verb (%s, or %s); it is asked anyway", a.Pos, a.Verb,
			strings.Join(expect.StandardVerbs[:len(expect.StandardVerbs)-1], ", "), strings.Join(expect.SpecialVerbs, ", "))
	}
	var ids []*subject.Identity
	defer func() {
		for _, id := range ids {
			id.Discard()
		}
	}()
	checker := &check.Checker{
		Connect: func(ctx context.Context, subj string) (authorizationv1client.SelfSubjectAccessReviewsGetter, error) {
			id, err := o.identity.resolver.Resolve(ctx, o.subjectRequest(subj))
			if err != nil {
				return nil, explain(err)
			}
			ids = append(ids, id)
			client, err := o.newClient(review.FanOutConfig(id.Config, o.concurrency))
			if err != nil {
				return nil, err
			}
			return client.AuthorizationV1(), nil
		},
		ListNamespaces:   o.listNamespaces,
		DefaultNamespace: o.identity.request.Namespace,
		Concurrency:      o.concurrency,
	}
	if caller, err := o.callerConfig(); err == nil {
		checker.Timeout = caller.Timeout
	}
	results, err := checker.Run(ctx, o.sets)
	if err != nil {
		return err
	}
	rec := check.NewRecord(results)
	if err := printRecord(o.IOStreams, o.output, rec, func(out io.Writer) error { return check.PrintTable(out, results) }); err != nil {
		return err
	}
	if report != nil {
		data, err := check.JUnit(results)
		if err != nil {
			return err
		}
		if err := report.Commit(data); err != nil {
			return fmt.Errorf("writing --junit %s: %w", o.junit, err)
		}
	}
	for _, id := range ids {
		id.Keep()
	}
	fmt.Fprintln(o.ErrOut, rec.Summary.String())
	return outcome(results)
}

// outcome is the exit of a check: the worst failure to ask when some
// expectation is undecided (each cause listed once), else 11 when one
// failed, else nil.
func outcome(results []check.Result) error {
	s := check.Summarize(results)
	if s.Undecided > 0 {
		errs := check.Errors(results)
		codes := make([]int, len(errs))
		msgs := make([]string, len(errs))
		for i, e := range errs {
			codes[i], msgs[i] = exitcode.Code(e), e.Error()
		}
		return exitcode.WithCode(exitcode.Worst(codes...), fmt.Errorf("%d of %d expectations are undecided, never counted as held: %s", s.Undecided, s.Expectations, strings.Join(msgs, "; ")))
	}
	if s.Failed > 0 {
		var failed []string
		for _, r := range results {
			if r.Outcome == check.Failed && len(failed) < 3 {
				failed = append(failed, fmt.Sprintf("%s: %s", r.Subject, check.TestName(r)))
			}
		}
		more := ""
		if s.Failed > len(failed) {
			more = fmt.Sprintf(", and %d more", s.Failed-len(failed))
		}
		return exitcode.WithCode(exitcode.Expectation, fmt.Errorf("%d of %d expectations failed (%s%s)", s.Failed, s.Expectations, strings.Join(failed, "; "), more))
	}
	return nil
}

// subjectRequest is the identity request of a subject: the caller's own
// credentials for "current", else the service account's token, with the
// token flags of the command line and, unless --duration or
// --source=secret says otherwise, the shortest TokenRequest lifetime the
// server accepts: the token lives for this run only.
func (o *CheckOptions) subjectRequest(subj string) subject.Request {
	req := o.identity.request
	if subj == expect.Current {
		req.Mode = subject.Current
		return req
	}
	req.Mode = subject.ServiceAccount
	req.Namespace, req.Name, _ = strings.Cut(subj, "/")
	if !o.durationSet && req.Token.Source != credential.SourceSecret {
		req.Token.Duration = credential.MinDuration
	}
	return req
}

// callerConfig is the caller's own configuration, hardened, as the
// resolver gives it; resolved once, so that its warnings are said once.
func (o *CheckOptions) callerConfig() (*rest.Config, error) {
	if o.caller == nil && o.callerErr == nil {
		id, err := o.identity.resolver.Resolve(context.Background(), subject.Request{Mode: subject.Current, AllowInsecureHTTP: o.identity.request.AllowInsecureHTTP})
		if err != nil {
			o.callerErr = explain(err)
		} else {
			o.caller = id.Caller
		}
	}
	return o.caller, o.callerErr
}

// listNamespaces lists the namespaces a selector matches ("" for all) with
// the caller's own credentials.
func (o *CheckOptions) listNamespaces(ctx context.Context, selector string) ([]string, error) {
	caller, err := o.callerConfig()
	if err != nil {
		return nil, err
	}
	client, err := o.newClient(caller)
	if err != nil {
		return nil, err
	}
	list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		what := "every namespace (\"*\")"
		if selector != "" {
			what = fmt.Sprintf("the namespaces of namespaceSelector %q", selector)
		}
		code := exitcode.Code(err)
		return nil, exitcode.WithCode(code, fmt.Errorf("listing %s with the kubeconfig's credentials: %w", what, err))
	}
	names := make([]string, 0, len(list.Items))
	for _, ns := range list.Items {
		names = append(names, ns.Name)
	}
	return names, nil
}

// runGenerate reviews the subject's rules, as its token, and prints a
// document that expects them.
func (o *CheckOptions) runGenerate(ctx context.Context) error {
	subj := o.subjectName()
	id, err := o.identity.resolver.Resolve(ctx, o.subjectRequest(subj))
	if err != nil {
		return explain(err)
	}
	defer id.Discard()
	client, err := o.newClient(review.FanOutConfig(id.Config, o.concurrency))
	if err != nil {
		return err
	}
	var namespaces []string
	switch {
	case o.allNamespaces:
		if namespaces, err = o.listNamespaces(ctx, ""); err != nil {
			return err
		}
	case len(o.namespaces) > 0:
		namespaces = append(namespaces, o.namespaces...)
	default:
		namespaces = []string{o.identity.request.Namespace}
	}
	sort.Strings(namespaces)
	namespaces = slices.Compact(namespaces)
	reviewer := &review.Reviewer{Client: client.AuthorizationV1(), Concurrency: o.concurrency, Timeout: id.Caller.Timeout}
	results, err := reviewer.Review(ctx, namespaces)
	if err != nil {
		return explain(err)
	}
	var rules []expect.Rules
	var failed []error
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, fmt.Errorf("SelfSubjectRulesReview in namespace %q: %w", r.Namespace, r.Err))
			continue
		}
		rules = append(rules, expect.Rules{Namespace: r.Namespace, ResourceRules: r.ResourceRules, NonResourceRules: r.NonResourceRules, Incomplete: r.Incomplete, EvaluationError: r.EvaluationError})
		if r.Incomplete {
			warner(o.IOStreams)("the server says the rules of namespace %s may be incomplete (%s): the generated document lists only what the rules grant", r.Namespace, cmpOr(r.EvaluationError, "no reason given"))
		}
	}
	if len(failed) > 0 {
		codes := make([]int, len(failed))
		for i, e := range failed {
			codes[i] = exitcode.Code(e)
		}
		return exitcode.WithCode(exitcode.Worst(codes...), errors.Join(failed...))
	}
	klog.V(1).Infof("generated from %d SelfSubjectRulesReviews", len(results))
	if _, err := o.Out.Write(expect.Generate(subj, rules)); err != nil {
		return err
	}
	id.Keep()
	return nil
}
