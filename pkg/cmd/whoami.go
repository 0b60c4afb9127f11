package cmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/kubectl-access/kubectl-access/pkg/client"
	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/grant"
	"github.com/kubectl-access/kubectl-access/pkg/review"
	"github.com/kubectl-access/kubectl-access/pkg/risk"
	"github.com/kubectl-access/kubectl-access/pkg/subject"
)

var (
	whoamiLong = fmt.Sprintf(`
		Show who a service account really is, and everything it may do, as the
		API server itself reports it.

		The identity comes from a SelfSubjectReview (authentication.k8s.io v1,
		else v1beta1, else v1alpha1); on a server that serves none, from the
		token's claims, labelled TokenClaims and not verified. The permissions
		come from one SelfSubjectRulesReview per namespace. Both are sent as the
		service account's own token, never with the kubeconfig's credentials.

		SERVICEACCOUNT defaults to "default", in the namespace from -n or the
		kubeconfig context; --current acts as the kubeconfig's own credentials,
		--token-file as a token you hand over. In a pod without a kubeconfig the
		pod's own identity is used.

		Rules are reviewed in the namespace from -n or the context, in the
		namespaces given with --namespaces, or in every namespace with -A (listed
		with the kubeconfig's credentials, since a service account usually cannot
		list namespaces). The table shows each rule once, with where it holds:
		in every namespace reviewed, or only in the namespaces listed.

		The reviews are sent --concurrency at a time. Each is bounded by
		--request-timeout, its retries of throttled answers (429 with
		Retry-After) included. A failure every namespace would repeat (server
		unreachable, token rejected, review forbidden) ends the run early: the
		namespaces not reviewed are listed on stderr and in the structured
		output, and the rules already answered are printed.

		Rules every authenticated user or every service account holds (the
		baseline: what the cluster's ClusterRoleBindings and RoleBindings grant
		to the groups system:authenticated and system:unauthenticated, or
		system:serviceaccounts, read from the server, never assumed) are
		folded into one line at the end of the table; --show-baseline lists
		them, marked in a BASELINE column (authenticated or serviceaccounts).
		A rule granted to the account's namespace group
		(system:serviceaccounts:NS) is shown, marked namespace: it was given
		to that namespace on purpose. A risky rule is never folded. -o
		json|yaml lists every rule and marks the baseline ones (baseline).

		--explain (and -o wide) adds a GRANTED BY column: for every rule, the
		binding(s) and role(s) that grant it ("RoleBinding ns/name → ClusterRole
		name", aggregated ClusterRoles with the roles they took the rule from)
		and the group when the binding names one of the subject's groups rather
		than the subject itself; a right no RBAC object grants is labelled
		"granted elsewhere (webhook, Node authorizer or other)". Also in -o
		json|yaml (grantedBy, grantedElsewhere), and for every allowed action
		of the VERIFIED ACTION table. --current and --token-file explain for
		the user name and groups the server reports.

		Folding and --explain read RBAC once per run, after the reviews, with
		the kubeconfig's credentials (never the token's): one LIST each of
		ClusterRoles and ClusterRoleBindings, and of Roles and RoleBindings one
		per namespace reviewed, or one cluster-wide with -A. When they may not,
		one note on stderr (and rbacNote in -o json|yaml) says so, nothing is
		folded or explained, and the rest of the output is unchanged.

		Rules that amount to admin rights or let the subject gain more are marked
		in the RISK column with their severity, e.g. "exec(high)": critical for
		every verb on every resource, impersonation, escalate or bind on roles,
		writing RBAC objects, nodes/proxy, minting tokens, approving
		certificates, the EKS aws-auth ConfigMap; high for reading or writing
		Secrets, exec and ephemeral containers, writing workloads, pod
		stealing (patching nodes and evicting pods), admission webhooks and
		policies, PersistentVolumes; medium for CustomResourceDefinitions and
		the status of nodes and pods. docs/risks.md lists every check. A
		finding in kube-system weighs one step more for Secrets and
		workloads, and a rule narrowed by resourceNames one step less.

		--fail-on-risk=SEVERITY, one of critical, high, medium or low, makes a
		finding of that severity or worse exit 8, for CI; plain --fail-on-risk
		means high, as before severities. --risk-ignore CHECK[:NAMESPACE] and
		--risk-exceptions FILE accept findings: they are still printed, marked
		accepted with the reason, and no longer fail the run. The file is YAML with apiVersion
		access.kubectl-access.io/v1alpha1, kind RiskExceptions and a list
		"exceptions" whose entries have a check (required), a namespace and a
		serviceAccount (NAMESPACE/NAME) that narrow it (optional), and a
		reason (required); unknown fields are refused. docs/risks.md has an
		example.

		A review the server marks incomplete (an authorization webhook or the
		Node authorizer decides too, as on GKE, EKS, AKS and OpenShift) lists
		only what RBAC grants. Then, and always with --verify, every risky
		action is asked with a SelfSubjectAccessReview as the token, in every
		namespace reviewed (the cluster-scoped ones once): %[1]d actions per
		namespace, %[2]d more in kube-system, plus %[3]d once, sent --concurrency
		at a time, counted at -v=1. An action the server allows that no listed
		rule covers is shown in a VERIFIED ACTION table with its severity,
		marked as granted outside the listed rules with the authorizer's
		reason, and counts for --fail-on-risk like a rule (a combination such
		as pod stealing only when both halves are allowed). --check asks about
		actions of your own ("create pods/exec", "get deployments.apps", "get
		/metrics"), with or without an incomplete review.

		--fail-on-risk fails closed: it exits 8 when a risky rule at or above
		its severity is listed or such an action is allowed outside the rules,
		and 9 when a review is incomplete and some such action could not be
		verified (the review failed, was throttled, or the webhook failed); 0
		only when every one was verified denied or is accepted.

		Exit codes (when some namespaces fail, the rules of the others are
		still printed and the code is that of the failure, the first of 7, 6,
		3, 10, 4, 5, 1 present):`, helpRiskActionsPerNamespace, helpRiskActionsLimited, helpRiskActionsClusterScoped)

	// whoamiExitCodes are the exit codes whoami's help lists after its text.
	whoamiExitCodes = allExitCodes

	whoamiExample = `
		# Who is the default service account of the current namespace, and what may it do?
		kubectl access whoami

		# The same for the service account ci of namespace build
		kubectl access whoami ci -n build

		# What may it do in every namespace?
		kubectl access whoami ci -n build -A

		# ... or in a few
		kubectl access whoami ci -n build --namespaces build,staging,prod

		# Fail a CI job when the service account holds risky rights (high or critical)
		kubectl access whoami ci -n build -A --fail-on-risk

		# ... only critical ones, with findings accepted in a reviewed file
		kubectl access whoami ci -n build -A --fail-on-risk=critical --risk-exceptions risk-exceptions.yaml

		# ... accepting that it reads Secrets in its own namespace
		kubectl access whoami ci -n build --fail-on-risk --risk-ignore read-secrets:build

		# Who am I with the kubeconfig's own credentials?
		kubectl access whoami --current

		# Review a token kept in a file
		kubectl access whoami --token-file ./token

		# Ask the server about every risky action, even where RBAC tells all
		kubectl access whoami ci -n build --verify --fail-on-risk

		# May it exec into pods or read deployments, by any authorizer?
		kubectl access whoami ci -n build --check "create pods/exec" --check "get deployments.apps"

		# Which bindings and roles grant each rule? (-o wide is the same)
		kubectl access whoami ci -n build --explain

		# List the rules every authenticated user holds too, instead of folding them
		kubectl access whoami ci -n build --show-baseline

		# Everything as JSON
		kubectl access whoami ci -n build -o json`
)

// The numbers of review.RiskActionCounts that whoami's help quotes.
// Counting them builds the risk catalog, which every run would pay at
// start-up for a text only --help shows; TestWhoamiHelpQuotesTheRiskCatalog
// fails when the catalog no longer has these numbers.
const (
	helpRiskActionsPerNamespace  = 69
	helpRiskActionsLimited       = 2
	helpRiskActionsClusterScoped = 61
)

// severityNames are the values --fail-on-risk completes to.
func severityNames() []string {
	var names []string
	for _, s := range risk.Severities() {
		names = append(names, s.String())
	}
	return names
}

// NewCmdWhoami returns the whoami command.
func NewCmdWhoami(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	spec := commandSpec{use: "whoami [SERVICEACCOUNT]", short: "Show who a service account is and every rule it holds, with the risky ones marked", long: whoamiLong, example: whoamiExample, exitCodes: whoamiExitCodes,
		outputs: []cobra.Completion{"json", "yaml", "wide"}}
	cmd := newCommand(configFlags, streams, spec, NewWhoamiFlags())
	_ = cmd.RegisterFlagCompletionFunc("namespaces", completeNamespaces(configFlags))
	_ = cmd.RegisterFlagCompletionFunc("fail-on-risk", cobra.FixedCompletions(severityNames(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("risk-ignore", cobra.FixedCompletions(risk.IDs(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// WhoamiFlags are the flags of the whoami command.
type WhoamiFlags struct {
	identity identityFlags
	// output is "", json or yaml.
	output string
	// allNamespaces reviews every namespace (-A).
	allNamespaces bool
	// namespaces are the namespaces to review (--namespaces).
	namespaces []string
	// concurrency bounds the reviews in flight.
	concurrency int
	// risk are --fail-on-risk, --risk-ignore and --risk-exceptions.
	risk riskFlags
	// verify asks the server about every risk action even when the rules
	// review is complete.
	verify bool
	// checks are the --check actions.
	checks []string
	// showBaseline lists the baseline rules instead of folding them.
	showBaseline bool
	// explain names the grants of each rule (also -o wide).
	explain bool
}

// NewWhoamiFlags returns the whoami command's flags.
func NewWhoamiFlags() *WhoamiFlags {
	return &WhoamiFlags{identity: identityFlags{withCurrent: true, withTokenFile: true, mountedDefault: true}}
}

// AddFlags registers the flags on fs.
func (f *WhoamiFlags) AddFlags(fs *pflag.FlagSet) {
	f.identity.AddFlags(fs)
	fs.StringVarP(&f.output, "output", "o", "", "Output format. One of: (json, yaml, wide). Default: the identity and a table of rules; wide adds the GRANTED BY column of --explain.")
	fs.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "If true, review every namespace. The namespaces are listed with the kubeconfig's own credentials.")
	fs.StringSliceVar(&f.namespaces, "namespaces", nil, "Comma-separated namespaces to review, instead of the one from -n or the context.")
	fs.IntVar(&f.concurrency, "concurrency", review.DefaultConcurrency, "How many SelfSubjectRulesReviews to send at once.")
	f.risk.addRiskFlags(fs, "a rule or an action allowed outside the listed rules is risky", "the review is incomplete and such an action could not be verified")
	fs.BoolVar(&f.verify, "verify", false, "If true, ask the server (SelfSubjectAccessReview, as the token) about every risky action in every namespace reviewed, even when the rules review is complete. Done anyway when the server marks a review incomplete.")
	fs.BoolVar(&f.showBaseline, "show-baseline", false, "If true, list the rules every authenticated user or every service account holds (the baseline, read from the cluster's RBAC) in the table, marked in a BASELINE column, instead of folding them into one line. -o json|yaml always lists every rule.")
	fs.BoolVar(&f.explain, "explain", false, "If true, name for every rule the binding(s) and role(s) that grant it, and through which subject (the account or one of its groups), from the RBAC objects read with the kubeconfig's credentials; a right no RBAC object grants is labelled as granted elsewhere. Also in -o json|yaml (grantedBy).")
	fs.StringArrayVar(&f.checks, "check", nil, "Ask the server whether the subject may perform this action, in every namespace reviewed: \"VERB RESOURCE[/SUBRESOURCE][.GROUP] [NAME]\" or \"VERB /URL\", e.g. \"create pods/exec\", \"get deployments.apps\", \"get /metrics\". Repeat for several.")
}

// WhoamiOptions are the parsed inputs of the whoami command.
type WhoamiOptions struct {
	WhoamiFlags
	identity identityOptions
	// namespacesSet says --namespaces was given (maybe empty).
	namespacesSet bool
	// actions are the parsed --check values.
	actions []risk.Action
	// checkErr is the first --check value that is not an action.
	checkErr error
	// threshold is the least severity --fail-on-risk fails on; 0 is off.
	threshold risk.Severity
	// exceptions are the accepted findings of --risk-ignore and
	// --risk-exceptions, for any subject (filtered by the subject in Run).
	exceptions risk.Exceptions
	// riskErr is the first bad --fail-on-risk, --risk-ignore or
	// --risk-exceptions value.
	riskErr error
	// newClient builds the clients of the run: as the identity, and with
	// the caller's credentials for -A. Tests inject typed fakes.
	newClient func(*rest.Config) (client.Interface, error)

	genericiooptions.IOStreams
}

// ToOptions parses the flags and arguments.
func (f *WhoamiFlags) ToOptions(cf *genericclioptions.ConfigFlags, fs *pflag.FlagSet, args []string, streams genericiooptions.IOStreams) (*WhoamiOptions, error) {
	id, err := f.identity.toOptions(cf, fs, args, streams)
	if err != nil {
		return nil, err
	}
	o := &WhoamiOptions{
		WhoamiFlags: *f, identity: id, namespacesSet: fs.Changed("namespaces"),
		newClient: client.NewForConfig,
		IOStreams: streams,
	}
	for i, c := range f.checks {
		a, err := risk.ParseAction(c)
		if err != nil {
			if o.checkErr == nil {
				o.checkErr = exitcode.Usagef("--check (value %d of %d): %v", i+1, len(f.checks), err)
			}
			continue
		}
		o.actions = append(o.actions, a)
	}
	o.threshold, o.exceptions, o.riskErr = f.risk.parse(fs.Changed("fail-on-risk"))
	return o, nil
}

func (o *WhoamiOptions) identityOptions() *identityOptions { return &o.identity }

// Validate checks the values before anything is sent.
func (o *WhoamiOptions) Validate() error {
	if err := validateOutput(o.output, "json", "yaml", "wide"); err != nil {
		return err
	}
	if o.concurrency < 1 {
		return exitcode.Usagef("--concurrency must be at least 1 (got %d)", o.concurrency)
	}
	if o.checkErr != nil {
		return o.checkErr
	}
	if o.riskErr != nil {
		return o.riskErr
	}
	if err := validateNamespaces(o.namespacesSet, o.namespaces, o.allNamespaces); err != nil {
		return err
	}
	return o.identity.validate()
}

// Run resolves the subject, asks who it is and what it may do, and prints.
// Requests: those that obtain the token, one SelfSubjectReview, one
// namespace list with -A, one SelfSubjectRulesReview per namespace, when a
// review is incomplete or with --verify or --check the
// SelfSubjectAccessReviews of verifyActions, and the RBAC lists of
// readRBAC.
//
// Once the token is held, the requests that do not depend on each other go
// out together: the SelfSubjectReview, the RBAC lists (the kubeconfig's
// credentials), the namespace list with -A, and, when one namespace is
// reviewed (the default), its rules review. With several namespaces the
// rules reviews wait for the SelfSubjectReview to confirm whose token it
// is, so that a rejected or wrong token is not sent a fan-out of reviews:
// a bad token costs one review more than before, never --concurrency more.
// The critical path is the token's requests, then one round trip (two
// with several namespaces), then the SelfSubjectAccessReviews when there
// are any. The answers are judged in the order a sequential run would meet
// them, so that a failure is reported as before: who the token is first,
// then the namespace list, the reviews, then RBAC.
func (o *WhoamiOptions) Run(ctx context.Context) error {
	id, err := o.identity.resolver.Resolve(ctx, o.identity.request)
	if err != nil {
		return explain(err)
	}
	defer id.Discard()
	client, err := o.newClient(review.FanOutConfig(id.Config, o.concurrency))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg      sync.WaitGroup
		rbac    rbacAnswer
		results []review.NamespaceResult
		nsErr   error
		revErr  error
		// confirmed is closed once the SelfSubjectReview says the token is
		// the subject's.
		confirmed = make(chan struct{})
	)
	named := o.namedNamespaces()
	wg.Go(func() { rbac = o.readRBAC(ctx, id, named) })
	wg.Go(func() {
		namespaces := named
		if o.allNamespaces {
			if namespaces, nsErr = o.listNamespaces(ctx, id); nsErr != nil {
				return
			}
		}
		if len(namespaces) != 1 {
			select {
			case <-confirmed:
			case <-ctx.Done():
				return
			}
		}
		reviewer := &review.Reviewer{
			Client:      client.AuthorizationV1(),
			Concurrency: o.concurrency,
			Timeout:     id.Caller.Timeout,
		}
		results, revErr = reviewer.Review(ctx, namespaces)
	})
	// What is still in flight when who the token is fails answers a
	// question no longer asked.
	stop := func() { cancel(); wg.Wait() }
	// The token's claims are the fallback identity on servers that serve no
	// SelfSubjectReview; with --current the kubeconfig may hold a token too.
	identity, err := review.Identify(ctx, client, id.Token())
	switch {
	case apierrors.IsUnauthorized(err):
		stop()
		return fmt.Errorf("the API server does not accept %s (401 Unauthorized): it may be expired, revoked, or meant for another cluster: %w", id.Describe(), err)
	case err != nil:
		stop()
		return explain(fmt.Errorf("asking who %s is: %w", id.Describe(), err))
	}
	if identity.Source == review.SourceTokenClaims {
		warner(o.IOStreams)("the API server serves no SelfSubjectReview: the identity is decoded from the token's claims, which were not verified")
	}
	if err := id.CheckUsername(identity.User.Username); err != nil {
		stop()
		return explain(err)
	}
	close(confirmed)
	wg.Wait()
	if nsErr != nil {
		return nsErr
	}
	if revErr != nil {
		return explain(revErr)
	}
	incomplete := o.warnIncomplete(results)
	risks := review.Risks(results)
	answers, err := o.verifyActions(ctx, client, id, results, incomplete)
	if err != nil {
		return err
	}
	exceptions := o.exceptions.For(identity.User.Username)
	review.Accept(risks, nil, exceptions)
	// With -A --verify there is a verified action for each of tens of
	// thousands of answers, and most are worth neither a row nor a verdict:
	// only the notable ones are kept, and -o json writes the others as
	// they are made.
	var notable []review.VerifiedAction
	for v := range review.EachVerified(results, answers, o.actions) {
		if v.Notable() {
			v.Accept(exceptions)
			notable = append(notable, v)
		}
	}
	view := review.View{ShowBaseline: o.showBaseline, Explain: o.explain || o.output == "wide", Incomplete: incomplete, Exceptions: exceptions}
	table := review.Compact(results)
	explainer, note, err := rbac.explainer(identity, table.Reviewed)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintf(o.ErrOut, "Note: %s\n", note)
	}
	output := o.output
	if output == "wide" {
		output = ""
	}
	// The table and the record explain the same rules, each its own way;
	// only the one printed is explained (with -A, thousands of rules).
	if output == "" {
		if explainer != nil {
			table = table.Explain(explainer)
			if view.Explain {
				review.ExplainVerified(notable, explainer)
			}
		}
		if err := printBuffered(o.Out, func(out io.Writer) error {
			if err := review.PrintWhoami(out, identity, table, view); err != nil {
				return err
			}
			return review.PrintVerified(out, notable)
		}); err != nil {
			return err
		}
	} else {
		rec := review.NewRecord(identity, results, risks)
		verified := iter.Seq[review.VerifiedAction](func(yield func(review.VerifiedAction) bool) {
			for v := range review.EachVerified(results, answers, o.actions) {
				v.Accept(exceptions)
				if explainer != nil && view.Explain {
					v.Explain(explainer)
				}
				if !yield(v) {
					return
				}
			}
		})
		switch {
		case explainer != nil:
			rec.Explain(explainer, view.Explain)
		case note != "":
			rec.RBACNote = note
		}
		// -A lists hundreds of namespaces, --verify tens of thousands of
		// answers: both are written as they are made.
		namespaces := rec.Namespaces
		lists := []listField{listOf("namespaces", len(namespaces), slices.Values(namespaces), func(l []review.NamespaceRecord) { rec.Namespaces = l }, nil)}
		if n := answers.Len(); n > 0 {
			lists = append(lists, listOf("verifiedActions", n, verified, func(l []review.VerifiedAction) { rec.VerifiedActions = l }, nil))
		}
		if err := printDocument(o.Out, output, &rec, lists...); err != nil {
			return err
		}
	}
	id.Keep()
	if err := o.failures(results); err != nil {
		return err
	}
	return o.riskOutcome(results, risks, notable, incomplete)
}

// rbacAnswer is what readRBAC found: the RBAC objects read, or the note
// saying why they could not be, or the error that ends the run.
type rbacAnswer struct {
	objs *grant.Objects
	note string
	err  error
}

// explainer returns what explains the identity's rules, nil when RBAC was
// not read or could not be, and the note saying why not. Nothing is
// explained when no namespace was reviewed: the lists answered a question
// the run no longer asks.
func (a rbacAnswer) explainer(identity *review.Identity, reviewed []string) (*grant.Explainer, string, error) {
	if len(reviewed) == 0 {
		return nil, "", nil
	}
	if a.objs == nil {
		return nil, a.note, a.err
	}
	return grant.NewExplainer(a.objs, grant.Subject{Username: identity.User.Username, Groups: identity.User.Groups}), "", nil
}

// readRBAC reads the RBAC objects of the namespaces to review once, with
// the caller's credentials (2 LISTs, plus 2 cluster-wide with -A or 2 per
// namespace). When they cannot be read the answer holds a note saying
// why: nothing is folded or explained, the rest of the output is
// unchanged.
func (o *WhoamiOptions) readRBAC(ctx context.Context, id *subject.Identity, namespaces []string) rbacAnswer {
	caller, err := o.newClient(review.FanOutConfig(id.Caller, o.concurrency))
	if err != nil {
		return rbacAnswer{err: err}
	}
	objs, err := grant.Read(ctx, caller.RbacV1(), grant.Scope{AllNamespaces: o.allNamespaces, Namespaces: namespaces, Concurrency: o.concurrency})
	var unreadable *grant.UnreadableError
	switch {
	case errors.As(err, &unreadable) && unreadable.Forbidden:
		return rbacAnswer{note: fmt.Sprintf("no rule is folded into the baseline or explained: the kubeconfig's credentials %v", err)}
	case errors.As(err, &unreadable):
		return rbacAnswer{note: fmt.Sprintf("no rule is folded into the baseline or explained: reading RBAC with the kubeconfig's credentials failed: %v", err)}
	case err != nil:
		return rbacAnswer{err: err}
	}
	klog.V(1).Infof("read %d ClusterRoles, %d ClusterRoleBindings, %d Roles and %d RoleBindings", len(objs.ClusterRoles), len(objs.ClusterRoleBindings), len(objs.Roles), len(objs.RoleBindings))
	return rbacAnswer{objs: objs}
}

// verifyActions asks the server, as the token, about every risk action when
// a review is incomplete or --verify is given, and about the --check
// actions, in every namespace reviewed. No SelfSubjectAccessReview is sent
// otherwise.
func (o *WhoamiOptions) verifyActions(ctx context.Context, client client.Interface, id *subject.Identity, results []review.NamespaceResult, incomplete bool) (*review.Answers, error) {
	var actions []risk.Action
	if incomplete || o.verify {
		actions = review.RiskActions()
	}
	actions = append(actions, o.actions...)
	if len(actions) == 0 {
		return nil, nil
	}
	var namespaces []string
	for _, r := range results {
		if r.Err == nil {
			namespaces = append(namespaces, r.Namespace)
		}
	}
	verifier := &review.Verifier{Client: client.AuthorizationV1(), Concurrency: o.concurrency, Timeout: id.Caller.Timeout}
	answers, err := verifier.Verify(ctx, namespaces, actions)
	if err != nil {
		return nil, err
	}
	klog.V(1).Infof("verified %d actions in %d namespaces with %d SelfSubjectAccessReviews", len(actions), len(namespaces), answers.Len())
	return answers, nil
}

// riskOutcome is the --fail-on-risk verdict, counting only findings at or
// above the threshold that no exception accepts: 8 when such a rule is
// listed or such an action is allowed outside the listed rules; else 9
// when the review is incomplete and such an action could not be verified
// (the answer fails closed); else nil.
func (o *WhoamiOptions) riskOutcome(results []review.NamespaceResult, risks []review.Risk, verified []review.VerifiedAction, incomplete bool) error {
	// The warning names every risky action not verified; the verdict
	// counts those at or above the threshold.
	_, anyUnverified := review.VerifiedRisks(verified, 0)
	held, unverified := review.VerifiedRisks(verified, o.threshold)
	if len(anyUnverified) > 0 {
		first := anyUnverified[0]
		warner(o.IOStreams)("%d risky action(s) could not be verified (first: %q in %s: %s); the VERIFIED ACTION table (-o json: verifiedActions) lists them all", len(anyUnverified), first.Action, namespaceName(first.Namespace), cmp.Or(first.Error, first.EvaluationError))
	}
	if o.threshold == 0 {
		return nil
	}
	checks := review.RiskChecks(risks, o.threshold)
	if len(checks) > 0 || len(held) > 0 {
		where := map[string]bool{}
		for _, r := range risks {
			if r.Counts(o.threshold) {
				where[r.Namespace] = true
			}
		}
		for _, v := range held {
			if v.Namespace != "" {
				where[v.Namespace] = true
			} else {
				// A cluster-scoped right holds in every namespace reviewed.
				for _, r := range results {
					where[r.Namespace] = true
				}
			}
			for _, r := range v.Risks {
				if r.Counts(o.threshold) && !r.PartnerUnverified && !slices.Contains(checks, r.Check) {
					checks = append(checks, r.Check)
				}
			}
		}
		return exitcode.WithCode(exitcode.Risk, fmt.Errorf("--fail-on-risk=%s: risky rights (%s) hold in %d of %d namespaces reviewed", o.threshold, strings.Join(checks, ", "), len(where), len(results)))
	}
	if incomplete && len(unverified) > 0 {
		return exitcode.WithCode(exitcode.Unverified, fmt.Errorf("--fail-on-risk=%s: the review is incomplete and %d risky action(s) could not be verified (first: %q in %s): failing closed", o.threshold, len(unverified), unverified[0].Action, namespaceName(unverified[0].Namespace)))
	}
	return nil
}

func namespaceName(ns string) string {
	if ns == "" {
		return "the cluster"
	}
	return "namespace " + ns
}

// namedNamespaces returns the namespaces to review unless -A lists them:
// those of --namespaces, else the one of -n or the context; sorted and
// unique. Nil with -A.
func (o *WhoamiOptions) namedNamespaces() []string {
	if o.allNamespaces {
		return nil
	}
	namespaces := []string{o.identity.request.Namespace}
	if len(o.namespaces) > 0 {
		namespaces = slices.Clone(o.namespaces)
	}
	sort.Strings(namespaces)
	return slices.Compact(namespaces)
}

// listNamespaces returns every namespace for -A, listed with the caller's
// credentials, sorted.
func (o *WhoamiOptions) listNamespaces(ctx context.Context, id *subject.Identity) ([]string, error) {
	caller, err := o.newClient(id.Caller)
	if err != nil {
		return nil, err
	}
	list, err := listNamespaces(ctx, caller.CoreV1())
	if err != nil {
		return nil, err
	}
	sort.Strings(list)
	return slices.Compact(list), nil
}

// listNamespaces lists every namespace with the caller's own credentials.
func listNamespaces(ctx context.Context, client corev1client.NamespacesGetter) ([]string, error) {
	list, err := client.Namespaces().List(ctx, metav1.ListOptions{})
	switch {
	case err == nil:
	case exitcode.Transport(err) != exitcode.OK:
		return nil, exitcode.WithCode(exitcode.Transport(err), fmt.Errorf("listing namespaces for --all-namespaces: %w", err))
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return nil, exitcode.WithCode(exitcode.Error, fmt.Errorf("--all-namespaces lists namespaces with the kubeconfig's credentials, and they may not: %w; name the namespaces to review with --namespaces instead", err))
	case ctx.Err() != nil:
		return nil, ctx.Err()
	default:
		return nil, exitcode.WithCode(exitcode.Error, fmt.Errorf("listing namespaces for --all-namespaces: %w", err))
	}
	names := make([]string, 0, len(list.Items))
	for _, ns := range list.Items {
		names = append(names, ns.Name)
	}
	return names, nil
}

// warnIncomplete warns on stderr about every review the server marked
// incomplete, one line per evaluation error, and reports whether any was.
func (o *WhoamiOptions) warnIncomplete(results []review.NamespaceResult) bool {
	byError := map[string][]string{}
	for _, r := range results {
		if r.Err == nil && r.Incomplete {
			byError[r.EvaluationError] = append(byError[r.EvaluationError], r.Namespace)
		}
	}
	keys := make([]string, 0, len(byError))
	for k := range byError {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		reason := k
		if reason == "" {
			reason = "no reason given"
		}
		warner(o.IOStreams)("the server says the rules of namespace(s) %s may be incomplete (%s): a rule missing from the list is no proof that the access is denied; every risky action is verified with SelfSubjectAccessReview",
			strings.Join(byError[k], ", "), reason)
	}
	return len(byError) > 0
}

// failures reports the namespaces that were not reviewed: each failure on a
// line of stderr, and an error with the exit code of the worst failure.
func (o *WhoamiOptions) failures(results []review.NamespaceResult) error {
	var failed, skipped []string
	var first error
	var codes []int
	for _, r := range results {
		if r.Err == nil {
			continue
		}
		failed = append(failed, r.Namespace)
		codes = append(codes, exitcode.Code(r.Err))
		var notReviewed *review.NotReviewedError
		if errors.As(r.Err, &notReviewed) {
			skipped = append(skipped, r.Namespace)
			continue
		}
		if first == nil {
			first = r.Err
		}
		if len(results) > 1 {
			fmt.Fprintf(o.ErrOut, "namespace %q: %v\n", r.Namespace, r.Err)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	code := exitcode.Worst(codes...)
	if first == nil {
		first = results[0].Err
	}
	if len(results) == 1 {
		return exitcode.WithCode(code, fmt.Errorf("SelfSubjectRulesReview in namespace %q: %w", failed[0], first))
	}
	msg := fmt.Sprintf("%d of %d namespaces were not reviewed: %s", len(failed), len(results), strings.Join(failed, ", "))
	if len(skipped) > 0 {
		msg += fmt.Sprintf(" (%d of them because the run stopped after the first failure)", len(skipped))
	}
	return exitcode.WithCode(code, errors.New(msg))
}
