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
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/klog/v2"

	"github.com/kubectl-access/kubectl-access/pkg/audit"
	"github.com/kubectl-access/kubectl-access/pkg/client"
	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/review"
	"github.com/kubectl-access/kubectl-access/pkg/risk"
	"github.com/kubectl-access/kubectl-access/pkg/subject"
	"github.com/kubectl-access/kubectl-access/pkg/transport"
)

var (
	auditLong = `
		Audit every service account of a cluster (or of the namespaces given),
		each as its own token, and rank them by the risky rights they hold.

		With the kubeconfig's credentials the audit lists the ServiceAccounts
		in scope, and the RoleBindings and ClusterRoleBindings of the whole
		cluster, once. From the bindings alone it computes, for every account,
		the namespaces where a RoleBinding applies to it (directly, or through
		system:serviceaccounts, system:serviceaccounts:NAMESPACE or
		system:authenticated). Then, for each account, it requests a token
		with the TokenRequest API (10 minutes, the shortest lifetime the API
		server accepts; kept in memory, never written or logged) and sends one
		SelfSubjectRulesReview, as that token, in its own namespace and in
		each of those: a review lists the rules of ClusterRoleBindings too, so
		these namespaces show everything RBAC grants it. The requests number
		3 plus, per account, 1 and its namespaces; -v=1 prints the count.

		A review the server marks incomplete (a webhook authorizer decides
		too, as on GKE, EKS and AKS) is completed, as in whoami, by a
		SelfSubjectAccessReview of every risky action in the account's
		namespaces; --verify does so for every account.

		The report lists the accounts with risky rights, riskiest first, with
		where each right holds; "default" accounts are marked, because every
		pod that names no service account runs as one. The accounts RBAC
		grants nothing beyond what every service account holds are counted in
		one line. A progress line is shown on stderr when it is a terminal.

		The caller needs to list ServiceAccounts, RoleBindings and
		ClusterRoleBindings, and to create serviceaccounts/token in the
		namespaces audited; an account whose token cannot be obtained is
		reported as not audited, and the run exits non-zero.

		--contexts and --all-contexts audit several kubeconfig contexts at
		once, each reported apart; a cluster that cannot be reached is
		reported, and the others complete.

		Exit codes (the worst over every account and context, in the order 7,
		6, 3, 10, 4, 5, 1):`

	// auditExitCodes are the exit codes audit's help lists after its text.
	auditExitCodes = allExitCodes

	auditExample = `
		# Every service account of the cluster, riskiest first
		kubectl access audit

		# The service accounts of two namespaces
		kubectl access audit --namespaces build,prod

		# Fail a CI job when any service account holds a risky right
		kubectl access audit --fail-on-risk

		# Every finding and every rule, as JSON
		kubectl access audit -o json --rules

		# Every context of the kubeconfig
		kubectl access audit --all-contexts`
)

// NewCmdAudit returns the audit command.
func NewCmdAudit(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	flags := NewAuditFlags()
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Review every service account as its own token and rank them by their risky rights",
		Args:  noArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) (*AuditOptions, error) {
			return flags.ToOptions(configFlags, cmd.Flags(), args, streams)
		}),
	}
	setHelp(cmd, auditLong, auditExample, auditExitCodes)
	flags.AddFlags(cmd.Flags())
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(jsonYAML, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("namespaces", completeNamespaces(configFlags))
	return cmd
}

// AuditFlags are the flags of the audit command.
type AuditFlags struct {
	output        string
	allNamespaces bool
	namespaces    []string
	selector      string
	concurrency   int
	verify        bool
	risk          riskFlags
	explain       bool
	rules         bool
	contexts      []string
	allContexts   bool
	allowHTTP     bool
}

// NewAuditFlags returns the audit command's flags.
func NewAuditFlags() *AuditFlags { return &AuditFlags{} }

// AddFlags registers the flags on fs.
func (f *AuditFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&f.output, "output", "o", "", "Output format. One of: (json, yaml). Default: a table of the accounts with risky rights and a summary.")
	fs.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "If true, audit the service accounts of every namespace (the default unless -n or --namespaces is given).")
	fs.StringSliceVar(&f.namespaces, "namespaces", nil, "Comma-separated namespaces whose service accounts to audit. Their rights are reviewed wherever they are bound.")
	fs.StringVarP(&f.selector, "selector", "l", "", "Label selector over the ServiceAccounts, e.g. team=payments.")
	fs.IntVar(&f.concurrency, "concurrency", review.DefaultConcurrency, "How many service accounts to audit at once.")
	fs.BoolVar(&f.verify, "verify", false, "If true, ask the server (SelfSubjectAccessReview, as each account's token) about every risky action in every namespace reviewed, even when the rules review is complete. Done anyway when the server marks a review incomplete.")
	f.risk.addRiskFlags(fs, "a service account holds a risky right", "a review is incomplete and such a risky action could not be verified")
	fs.BoolVar(&f.explain, "explain", false, "If true, name for every finding the binding(s) and role(s) that grant it (2 more LISTs, of Roles and ClusterRoles); a right no RBAC object grants is labelled as granted elsewhere. Also in -o json|yaml (grantedBy).")
	fs.BoolVar(&f.rules, "rules", false, "If true, include every account's reviews in -o json|yaml.")
	fs.StringSliceVar(&f.contexts, "contexts", nil, "Comma-separated kubeconfig contexts to audit, each reported apart.")
	fs.BoolVar(&f.allContexts, "all-contexts", false, "If true, audit every context of the kubeconfig.")
	fs.BoolVar(&f.allowHTTP, "allow-insecure-http", false, "If true, allow the tokens to travel to a plain http:// server, where anyone on the path can read them.")
}

// AuditOptions are the parsed inputs of the audit command.
type AuditOptions struct {
	AuditFlags
	// scope is what is audited in each cluster.
	scope audit.Scope
	// namespaceFlag is -n as given.
	namespaceFlag string
	// contextFlag is --context as given.
	contextFlag   string
	namespacesSet bool
	// selectorErr is why --selector does not parse.
	selectorErr error
	// threshold is the least severity --fail-on-risk fails on; 0 is off.
	threshold risk.Severity
	// exceptions accept findings (--risk-ignore, --risk-exceptions).
	exceptions risk.Exceptions
	// riskErr is the first bad value of the risk flags.
	riskErr error
	// configFlags are the kubeconfig flags, one copy per context audited.
	configFlags *genericclioptions.ConfigFlags
	// newClient builds a client; tests inject typed fakes.
	newClient func(*rest.Config) (client.Interface, error)
	// newReviewClient builds an account's client, for its reviews alone;
	// tests inject typed fakes.
	newReviewClient func(*rest.Config) (authorizationv1client.AuthorizationV1Interface, error)
	// reporting holds the throttling count of every cluster.
	reporting identityOptions

	genericiooptions.IOStreams
}

// ToOptions parses the flags.
func (f *AuditFlags) ToOptions(cf *genericclioptions.ConfigFlags, fs *pflag.FlagSet, _ []string, streams genericiooptions.IOStreams) (*AuditOptions, error) {
	o := &AuditOptions{
		AuditFlags: *f, configFlags: cf, namespacesSet: fs.Changed("namespaces"),
		newClient: client.NewForConfig,
		newReviewClient: func(cfg *rest.Config) (authorizationv1client.AuthorizationV1Interface, error) {
			return authorizationv1client.NewForConfig(cfg)
		},
		reporting: identityOptions{resolver: &subject.Resolver{Warnf: warner(streams), Throttling: &transport.Throttling{}}},
		IOStreams: streams,
	}
	if cf.Namespace != nil {
		o.namespaceFlag = *cf.Namespace
	}
	if cf.Context != nil {
		o.contextFlag = *cf.Context
	}
	o.threshold, o.exceptions, o.riskErr = f.risk.parse(fs.Changed("fail-on-risk"))
	if _, err := labels.Parse(f.selector); err != nil {
		o.selectorErr = exitcode.Usagef("--selector: %v", err)
	}
	switch {
	case o.namespacesSet:
		o.scope.Namespaces = slices.Clone(f.namespaces)
	case o.namespaceFlag != "" && !f.allNamespaces:
		o.scope.Namespaces = []string{o.namespaceFlag}
	}
	sort.Strings(o.scope.Namespaces)
	o.scope.Namespaces = slices.Compact(o.scope.Namespaces)
	o.scope.Selector = f.selector
	return o, nil
}

func (o *AuditOptions) identityOptions() *identityOptions { return &o.reporting }

// Validate checks the values before anything is sent.
func (o *AuditOptions) Validate() error {
	if err := validateOutput(o.output, "json", "yaml"); err != nil {
		return err
	}
	if o.concurrency < 1 {
		return exitcode.Usagef("--concurrency must be at least 1 (got %d)", o.concurrency)
	}
	if o.selectorErr != nil {
		return o.selectorErr
	}
	if o.riskErr != nil {
		return o.riskErr
	}
	if err := validateNamespaces(o.namespacesSet, o.namespaces, o.allNamespaces); err != nil {
		return err
	}
	switch {
	case o.namespaceFlag != "" && o.allNamespaces:
		return exitcode.Usagef("-n/--namespace and -A/--all-namespaces cannot be used together")
	case o.namespaceFlag != "" && o.namespacesSet:
		return exitcode.Usagef("-n/--namespace and --namespaces cannot be used together")
	case o.allContexts && len(o.contexts) > 0:
		return exitcode.Usagef("--contexts and --all-contexts cannot be used together")
	case o.contextFlag != "" && (o.allContexts || len(o.contexts) > 0):
		return exitcode.Usagef("--context and --contexts/--all-contexts cannot be used together")
	}
	if !o.namespacesSet && len(o.scope.Namespaces) == 1 {
		if err := subject.ValidateNamespace(o.scope.Namespaces[0]); err != nil {
			return exitcode.Usagef("-n/--namespace %v", err)
		}
	}
	return nil
}

// Run audits every context asked (the current one by default), at once,
// and prints one report.
func (o *AuditOptions) Run(ctx context.Context) error {
	contexts, err := o.contextsToAudit()
	if err != nil {
		return err
	}
	rec := audit.NewRecord()
	rec.Clusters = make([]audit.ClusterRecord, len(contexts))
	errs := make([]error, len(contexts))
	progress := newProgress(o.IOStreams)
	var wg sync.WaitGroup
	for i, name := range contexts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec.Clusters[i], errs[i] = o.auditCluster(ctx, name, progress)
		}()
	}
	wg.Wait()
	progress.done()
	if len(contexts) == 1 && exitcode.Code(errs[0]) == exitcode.Usage {
		// Bad input (a namespace that does not exist): nothing was audited.
		return errs[0]
	}
	if o.output != "" {
		if err := printAuditDocument(o.Out, o.output, rec); err != nil {
			return err
		}
	} else if err := printRecord(o.IOStreams, o.output, rec, func(out io.Writer) error {
		for i, c := range rec.Clusters {
			if i > 0 {
				fmt.Fprintln(out)
			}
			if err := audit.PrintCluster(out, c); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := o.failures(contexts, errs); err != nil {
		return err
	}
	return o.riskOutcome(rec)
}

// failures returns the error of the run: a single cluster's own, or for
// several one that counts them, with the worst exit code; every cluster's
// error is then on stderr, one line each.
func (o *AuditOptions) failures(contexts []string, errs []error) error {
	if len(contexts) == 1 {
		return errs[0]
	}
	var failed []string
	var codes []int
	for i, err := range errs {
		if err == nil {
			continue
		}
		failed = append(failed, contexts[i])
		codes = append(codes, exitcode.Code(err))
		fmt.Fprintf(o.ErrOut, "context %q: %v\n", contexts[i], err)
	}
	if len(failed) == 0 {
		return nil
	}
	return exitcode.WithCode(exitcode.Worst(codes...), fmt.Errorf("%d of %d contexts were not fully audited: %s", len(failed), len(contexts), strings.Join(failed, ", ")))
}

// contextsToAudit returns the kubeconfig contexts to audit, sorted; [""]
// (the current one) unless --contexts or --all-contexts is given. An
// unknown context is a usage error.
func (o *AuditOptions) contextsToAudit() ([]string, error) {
	if !o.allContexts && len(o.contexts) == 0 {
		return []string{""}, nil
	}
	raw, err := o.configFlags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, exitcode.WithCode(exitcode.Usage, fmt.Errorf("reading the kubeconfig: %w", err))
	}
	if o.allContexts {
		names := make([]string, 0, len(raw.Contexts))
		for name := range raw.Contexts {
			names = append(names, name)
		}
		if len(names) == 0 {
			return nil, exitcode.Usagef("--all-contexts: the kubeconfig has no contexts")
		}
		sort.Strings(names)
		return names, nil
	}
	names := slices.Clone(o.contexts)
	sort.Strings(names)
	names = slices.Compact(names)
	for _, name := range names {
		if _, ok := raw.Contexts[name]; !ok {
			return nil, exitcode.Usagef("--contexts: context %q is not in the kubeconfig", name)
		}
	}
	return names, nil
}

// auditCluster audits one context ("" for the current one) and returns its
// record and, when it could not be audited fully, why.
func (o *AuditOptions) auditCluster(ctx context.Context, name string, progress *progress) (audit.ClusterRecord, error) {
	fail := func(rec audit.ClusterRecord, err error) (audit.ClusterRecord, error) {
		rec.Error = err.Error()
		return rec, err
	}
	rec := audit.ClusterRecord{Context: name, Accounts: []audit.AccountRecord{}}
	cf := contextFlags(o.configFlags, name)
	warnf := o.reporting.resolver.Warnf
	caller, err := callerConfig(cf, warnf)
	if err != nil {
		return fail(rec, err)
	}
	rec.Server = caller.Host
	if err := subject.CheckScheme(caller, o.allowHTTP); err != nil {
		return fail(rec, explain(err))
	}
	// One rate limit for the caller's requests and every account's: the
	// identities' configs copy the caller's limiter.
	caller = review.FanOutConfig(caller, o.concurrency)
	caller.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(caller.QPS, caller.Burst)
	hardened := transport.Harden(caller, transport.Options{Throttling: o.reporting.resolver.Throttling})
	client, err := o.newClient(hardened)
	if err != nil {
		return fail(rec, err)
	}
	resolver := &subject.Resolver{
		CallerConfig: func() (*rest.Config, error) { return caller, nil },
		CoreClient:   func(*rest.Config) (corev1client.CoreV1Interface, error) { return client.CoreV1(), nil },
		Warnf:        warnf,
		Throttling:   o.reporting.resolver.Throttling,
	}
	auditor := &audit.Auditor{
		Caller:     client,
		Identities: resolver,
		NewClient: func(id *subject.Identity) (authorizationv1client.AuthorizationV1Interface, error) {
			return o.newReviewClient(id.Config)
		},
		KeepRules:         o.rules,
		Concurrency:       o.concurrency,
		ReviewConcurrency: 4,
		Timeout:           caller.Timeout,
		Verify:            o.verify,
		ReadRoles:         o.explain,
		AllowInsecureHTTP: o.allowHTTP,
	}
	inv, err := auditor.Inventory(ctx, o.scope)
	if err != nil {
		return fail(rec, auditError(err))
	}
	if len(inv.Missing) > 0 {
		rec.MissingNamespaces = inv.Missing
		return fail(rec, exitcode.Usagef("namespace(s) %s not found (given with %s): nothing was audited", strings.Join(quoteAll(inv.Missing), ", "), o.namespacesFlagName()))
	}
	bound := 0
	for _, p := range inv.Plans {
		bound += len(p.Namespaces)
	}
	klog.V(1).Infof("audit%s: %d service accounts, %d SelfSubjectRulesReviews planned", contextSuffix(name), len(inv.Plans), bound)
	auditor.Progress = progress.add(name, len(inv.Plans))
	results, err := auditor.Audit(ctx, inv.Plans)
	c := audit.NewClusterRecord(results, audit.RecordOptions{Rules: o.rules, Exceptions: o.exceptions, RBAC: inv.RBAC})
	rec.Accounts, rec.Summary = c.Accounts, c.Summary
	rec.Summary.Requests = auditor.Requests()
	klog.V(1).Infof("audit%s: %d requests", contextSuffix(name), rec.Summary.Requests)
	if err != nil {
		return fail(rec, err)
	}
	if err := o.notAudited(name, results); err != nil {
		return fail(rec, err)
	}
	return rec, nil
}

// notAudited reports, on stderr, every account that could not be audited
// (one line each), and returns an error that counts them, with the worst
// exit code among them; nil when every account was audited.
func (o *AuditOptions) notAudited(context string, results []audit.Result) error {
	var codes []int
	var names []string
	for _, r := range results {
		if r.Err == nil {
			continue
		}
		err := r.Err
		var perm *audit.PermissionError
		if !errors.As(err, &perm) {
			err = explain(err)
		}
		codes = append(codes, exitcode.Code(err))
		names = append(names, r.Account.String())
		var skipped *review.NotReviewedError
		if !errors.As(r.Err, &skipped) {
			fmt.Fprintf(o.ErrOut, "service account %s%s not audited: %v\n", r.Account, contextSuffix(context), err)
		}
	}
	if len(names) == 0 {
		return nil
	}
	shown := names
	if len(shown) > 5 {
		shown = append(slices.Clone(shown[:5]), fmt.Sprintf("and %d more", len(names)-5))
	}
	return exitcode.WithCode(exitcode.Worst(codes...), fmt.Errorf("%d of %d service accounts were not audited: %s", len(names), len(results), strings.Join(shown, ", ")))
}

// riskOutcome is the --fail-on-risk verdict over every cluster: 8 when an
// account holds a risky right at or above the threshold that no exception
// accepts, else 9 when an incomplete review left such a risky action
// unverified (it fails closed), else nil.
func (o *AuditOptions) riskOutcome(rec audit.Record) error {
	if o.threshold == 0 {
		return nil
	}
	var risky []string
	unverified := 0
	for _, c := range rec.Clusters {
		for _, a := range c.Accounts {
			if a.Severity >= o.threshold {
				risky = append(risky, a.Namespace+"/"+a.Name+contextSuffix(c.Context))
			}
			if a.UnverifiedSeverity >= o.threshold {
				unverified++
			}
		}
	}
	if len(risky) > 0 {
		shown := risky
		if len(shown) > 5 {
			shown = append(slices.Clone(shown[:5]), fmt.Sprintf("and %d more", len(risky)-5))
		}
		return exitcode.WithCode(exitcode.Risk, fmt.Errorf("--fail-on-risk=%s: %d service account(s) hold risky rights at that severity or worse: %s", o.threshold, len(risky), strings.Join(shown, ", ")))
	}
	if unverified > 0 {
		return exitcode.WithCode(exitcode.Unverified, fmt.Errorf("--fail-on-risk=%s: the reviews of %d service account(s) are incomplete and risky actions could not be verified: failing closed", o.threshold, unverified))
	}
	return nil
}

func (o *AuditOptions) namespacesFlagName() string {
	if o.namespacesSet {
		return "--namespaces"
	}
	return "-n/--namespace"
}

// auditError gives the inventory's transport failures their exit code; a
// missing permission already has its own (audit.PermissionError).
func auditError(err error) error {
	if code := exitcode.Transport(err); code != exitcode.OK {
		return exitcode.WithCode(code, err)
	}
	return err
}

func contextSuffix(name string) string {
	if name == "" {
		return ""
	}
	return " (context " + name + ")"
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprintf("%q", n)
	}
	return out
}

// contextFlags returns the kubeconfig flags with --context set to name; cf
// itself when name is "" (the current context).
func contextFlags(cf *genericclioptions.ConfigFlags, name string) *genericclioptions.ConfigFlags {
	if name == "" {
		return cf
	}
	c := genericclioptions.NewConfigFlags(false)
	c.CacheDir, c.KubeConfig = cf.CacheDir, cf.KubeConfig
	c.ClusterName, c.AuthInfoName, c.Namespace = cf.ClusterName, cf.AuthInfoName, cf.Namespace
	c.APIServer, c.TLSServerName, c.Insecure = cf.APIServer, cf.TLSServerName, cf.Insecure
	c.CertFile, c.KeyFile, c.CAFile, c.BearerToken = cf.CertFile, cf.KeyFile, cf.CAFile, cf.BearerToken
	c.Impersonate, c.ImpersonateUID, c.ImpersonateGroup, c.ImpersonateUserExtra = cf.Impersonate, cf.ImpersonateUID, cf.ImpersonateGroup, cf.ImpersonateUserExtra
	c.Username, c.Password, c.Timeout = cf.Username, cf.Password, cf.Timeout
	c.DisableCompression, c.ProxyURL, c.WrapConfigFn = cf.DisableCompression, cf.ProxyURL, cf.WrapConfigFn
	c.Context = &name
	return c
}

// progress prints "audited N/M service accounts" on stderr when it is a
// terminal, once the audit has run for a second, and clears it at the end;
// it prints nothing otherwise.
type progress struct {
	mu      sync.Mutex
	out     genericiooptions.IOStreams
	enabled bool
	start   time.Time
	last    time.Time
	doneBy  map[string]int
	total   map[string]int
	printed bool
}

func newProgress(streams genericiooptions.IOStreams) *progress {
	return &progress{out: streams, enabled: printers.IsTerminal(streams.ErrOut), start: time.Now(), doneBy: map[string]int{}, total: map[string]int{}}
}

// add returns the Progress callback of one context's audit.
func (p *progress) add(context string, total int) func(done, total int) {
	p.mu.Lock()
	p.total[context] = total
	p.mu.Unlock()
	return func(done, _ int) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.doneBy[context] = done
		now := time.Now()
		if !p.enabled || now.Sub(p.start) < time.Second || now.Sub(p.last) < 100*time.Millisecond {
			return
		}
		p.last = now
		d, t := 0, 0
		for k, v := range p.total {
			t += v
			d += p.doneBy[k]
		}
		fmt.Fprintf(p.out.ErrOut, "\raudited %d/%d service accounts", d, t)
		p.printed = true
	}
}

// done clears the progress line.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.printed {
		fmt.Fprint(p.out.ErrOut, "\r\033[K")
	}
}

// printAuditDocument prints rec as printRecord does with -o json|yaml
// (output), account by account: encoding thousands of accounts at once
// held the document twice over in JSON, most of an audit's peak memory,
// and ten times over in YAML.
func printAuditDocument(out io.Writer, output string, rec audit.Record) error {
	clusters := rec.Clusters
	return printDocument(out, output, &rec, listOf("clusters", len(clusters), slices.Values(clusters), func(l []audit.ClusterRecord) { rec.Clusters = l },
		func(d *document, depth int, c audit.ClusterRecord) error {
			accounts := c.Accounts
			return d.record(&c, depth, listOf("accounts", len(accounts), slices.Values(accounts), func(l []audit.AccountRecord) { c.Accounts = l }, nil))
		}))
}
