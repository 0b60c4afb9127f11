package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-access/kubectl-access/pkg/credential"
	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/review"
	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

var (
	whoamiLong = templates.LongDesc(`
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

		Rules that amount to admin rights or let the subject gain more are marked
		in the RISK column: every verb on every resource; reading Secrets; create
		on pods/exec, pods/attach or serviceaccounts/token; impersonation; escalate
		or bind on roles; nodes/proxy; writing RBAC objects, admission webhooks or
		workloads. --fail-on-risk makes such a finding exit 8, for CI.

		A review the server marks incomplete is reported on stderr: a rule
		missing from it is no proof that the access is denied.

		Exit codes: 0 success; 1 error (e.g. unknown service account); 2 usage
		error; 3 token not accepted (401); 4 SelfSubjectRulesReview forbidden
		(403); 5 other HTTP error; 6 TLS verification failed; 7 server
		unreachable or timed out; 8 risky rules found with --fail-on-risk;
		130 interrupted. When some namespaces fail, the rules of the others are
		still printed and the exit code is that of the failure.`)

	whoamiExample = templates.Examples(`
		# Who is the default service account of the current namespace, and what may it do?
		kubectl access whoami

		# The same for the service account ci of namespace build
		kubectl access whoami ci -n build

		# What may it do in every namespace?
		kubectl access whoami ci -n build -A

		# ... or in a few
		kubectl access whoami ci -n build --namespaces build,staging,prod

		# Fail a CI job when the service account holds risky rights
		kubectl access whoami ci -n build -A --fail-on-risk

		# Who am I with the kubeconfig's own credentials?
		kubectl access whoami --current

		# Review a token kept in a file
		kubectl access whoami --token-file ./token

		# Everything as JSON
		kubectl access whoami ci -n build -o json`)
)

// whoamiRecordKind is the kind of the -o json|yaml record of whoami.
const whoamiRecordKind = "WhoAmI"

// WhoamiRecord is what `kubectl access whoami -o json|yaml` prints.
type WhoamiRecord struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// User is who the subject is.
	User UserRecord `json:"user"`
	// IdentitySource is SelfSubjectReview or TokenClaims.
	IdentitySource string `json:"identitySource"`
	// Namespaces holds one entry per namespace reviewed, sorted.
	Namespaces []NamespaceRecord `json:"namespaces"`
	// Risks lists every rule that fails a risk check.
	Risks []RiskRecord `json:"risks"`
}

// UserRecord is the identity of the subject.
type UserRecord struct {
	Username string              `json:"username"`
	UID      string              `json:"uid"`
	Groups   []string            `json:"groups"`
	Extra    map[string][]string `json:"extra"`
}

// NamespaceRecord is the SelfSubjectRulesReview status of one namespace,
// or the error that kept it from being reviewed.
type NamespaceRecord struct {
	Namespace        string                            `json:"namespace"`
	ResourceRules    []authorizationv1.ResourceRule    `json:"resourceRules"`
	NonResourceRules []authorizationv1.NonResourceRule `json:"nonResourceRules"`
	Incomplete       bool                              `json:"incomplete"`
	EvaluationError  string                            `json:"evaluationError"`
	// Error is set when the namespace was not reviewed.
	Error string `json:"error,omitempty"`
}

// RiskRecord is a rule of a namespace that fails a risk check.
type RiskRecord struct {
	Namespace string            `json:"namespace"`
	Rule      rbacv1.PolicyRule `json:"rule"`
	Check     string            `json:"check"`
	Reason    string            `json:"reason"`
}

// WhoamiOptions holds the inputs of the whoami command.
type WhoamiOptions struct {
	configFlags *genericclioptions.ConfigFlags
	subjectFlags

	// output is "", json or yaml.
	output string
	// allNamespaces reviews every namespace (-A).
	allNamespaces bool
	// namespaces are the namespaces to review (--namespaces).
	namespaces []string
	// concurrency bounds the reviews in flight.
	concurrency int
	// failOnRisk exits 8 when a risky rule is found.
	failOnRisk bool
	// args are the positional arguments: at most a SERVICEACCOUNT.
	args []string

	genericiooptions.IOStreams
}

// NewCmdWhoami returns the whoami command.
func NewCmdWhoami(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &WhoamiOptions{configFlags: configFlags, IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "whoami [SERVICEACCOUNT]",
		Short:   "Show who a service account is and every rule it holds, with the risky ones marked",
		Long:    whoamiLong,
		Example: whoamiExample,
		Args:    maxArgs(1),

		ValidArgsFunction: completeServiceAccounts(configFlags),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(cmd); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.subjectFlags.addFlags(cmd.Flags())
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml). Default: the identity and a table of rules.")
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "If true, review every namespace. The namespaces are listed with the kubeconfig's own credentials.")
	cmd.Flags().StringSliceVar(&o.namespaces, "namespaces", nil, "Comma-separated namespaces to review, instead of the one from -n or the context.")
	cmd.Flags().IntVar(&o.concurrency, "concurrency", review.DefaultConcurrency, "How many SelfSubjectRulesReviews to send at once.")
	cmd.Flags().BoolVar(&o.failOnRisk, "fail-on-risk", false, "If true, exit with code 8 after printing when any rule is marked risky.")
	registerTokenFlagCompletions(cmd, credential.SourceAuto, credential.SourceSecret, credential.SourceRequest)
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]cobra.Completion{"json", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("namespaces", completeNamespaces(configFlags))
	return cmd
}

// Complete fills the options from the arguments.
func (o *WhoamiOptions) Complete(args []string) error {
	o.args = args
	return nil
}

// Validate checks the flags before anything is sent.
func (o *WhoamiOptions) Validate(cmd *cobra.Command) error {
	if err := validateSubjectFlags(cmd, &o.subjectFlags, o.args); err != nil {
		return err
	}
	if err := validateOutput(o.output, "json", "yaml"); err != nil {
		return err
	}
	if o.concurrency < 1 {
		return exitcode.Usagef("--concurrency must be at least 1 (got %d)", o.concurrency)
	}
	if cmd.Flags().Changed("namespaces") {
		if o.allNamespaces {
			return exitcode.Usagef("--namespaces and -A/--all-namespaces cannot be used together")
		}
		if len(o.namespaces) == 0 {
			return exitcode.Usagef("--namespaces must name at least one namespace")
		}
		for _, ns := range o.namespaces {
			if ns == "" {
				return exitcode.Usagef("--namespaces holds an empty name")
			}
			if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
				return exitcode.Usagef("--namespaces: %q is not a valid namespace name: %s", ns, strings.Join(errs, "; "))
			}
		}
	}
	return nil
}

// Run resolves the subject, asks who it is and what it may do, and prints.
// Requests: those that obtain the token, one SelfSubjectReview, one
// namespace list with -A, and one SelfSubjectRulesReview per namespace.
func (o *WhoamiOptions) Run(ctx context.Context) error {
	s, err := resolveSubject(ctx, o.configFlags, &o.subjectFlags, o.args, o.IOStreams)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(fanOutConfig(s.config, o.concurrency))
	if err != nil {
		return err
	}
	// The token's claims are the fallback identity on servers that serve no
	// SelfSubjectReview; with --current the kubeconfig may hold a token too.
	token := s.config.BearerToken
	if s.cred != nil {
		token = s.cred.Token
	}
	identity, err := review.Identify(ctx, client, token)
	switch {
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the API server does not accept %s (401 Unauthorized): it may be expired, revoked, or meant for another cluster: %w", s.describe(), err)
	case err != nil:
		return fmt.Errorf("asking who %s is: %w", s.describe(), err)
	}
	if identity.Source == review.SourceTokenClaims {
		warner(o.IOStreams)("the API server serves no SelfSubjectReview: the identity is decoded from the token's claims, which were not verified")
	}

	namespaces, err := o.reviewNamespaces(ctx, s)
	if err != nil {
		return err
	}
	reviewer := &review.Reviewer{
		Client:      client.AuthorizationV1(),
		Concurrency: o.concurrency,
		Timeout:     s.caller.Timeout,
	}
	results, err := reviewer.Review(ctx, namespaces)
	if err != nil {
		return err
	}
	o.warnIncomplete(results)
	risks := review.Risks(results)
	rec := whoamiRecord(identity, results, risks)
	if err := printRecord(o.IOStreams, o.output, rec, func() error {
		return printWhoami(o.Out, identity, review.Compact(results))
	}); err != nil {
		return err
	}
	if err := o.failures(results); err != nil {
		return err
	}
	if o.failOnRisk && len(risks) > 0 {
		where := map[string]bool{}
		for _, r := range risks {
			where[r.Namespace] = true
		}
		return exitcode.WithCode(exitcode.Risk, fmt.Errorf("--fail-on-risk: risky rules (%s) hold in %d of %d namespaces reviewed", strings.Join(riskChecks(risks), ", "), len(where), len(results)))
	}
	return nil
}

// fanOutConfig raises the client-side rate limit for the fan-out: client-go's
// default of 5 requests per second would make 500 namespaces take 100 s. The
// load is bounded by --concurrency (requests in flight); the rate limit only
// guards against a server that answers implausibly fast. On the local
// control plane 500 reviews take 7 s at 64 QPS, 1.8 s at 200 and 0.5 s at
// 400, the default here. The server's own throttling (429 with Retry-After,
// from API Priority and Fairness) is honoured: client-go retries such answers
// after the delay asked.
func fanOutConfig(base *rest.Config, concurrency int) *rest.Config {
	cfg := rest.CopyConfig(base)
	qps := max(100, 25*concurrency)
	cfg.QPS = float32(qps)
	cfg.Burst = qps
	cfg.RateLimiter = nil
	return cfg
}

// reviewNamespaces returns the namespaces to review, sorted and unique.
func (o *WhoamiOptions) reviewNamespaces(ctx context.Context, s *subject) ([]string, error) {
	var namespaces []string
	switch {
	case o.allNamespaces:
		list, err := listNamespaces(ctx, s.caller)
		if err != nil {
			return nil, err
		}
		namespaces = list
	case len(o.namespaces) > 0:
		namespaces = append(namespaces, o.namespaces...)
	default:
		namespaces = []string{s.namespace}
	}
	sort.Strings(namespaces)
	return slices.Compact(namespaces), nil
}

// listNamespaces lists every namespace with the caller's own credentials.
func listNamespaces(ctx context.Context, caller *rest.Config) ([]string, error) {
	client, err := corev1client.NewForConfig(caller)
	if err != nil {
		return nil, err
	}
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
// incomplete, one line per evaluation error.
func (o *WhoamiOptions) warnIncomplete(results []review.NamespaceResult) {
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
		warner(o.IOStreams)("the server says the rules of namespace(s) %s may be incomplete (%s): a rule missing from the list is no proof that the access is denied",
			strings.Join(byError[k], ", "), reason)
	}
}

// failures reports the namespaces that were not reviewed: each failure on a
// line of stderr, and an error with the exit code of the worst failure.
func (o *WhoamiOptions) failures(results []review.NamespaceResult) error {
	var failed, skipped []string
	var first error
	codes := map[int]bool{}
	for _, r := range results {
		if r.Err == nil {
			continue
		}
		failed = append(failed, r.Namespace)
		codes[exitcode.Code(r.Err)] = true
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
	code := exitcode.Error
	for _, c := range []int{exitcode.Unreachable, exitcode.TLS, exitcode.Unauthorized, exitcode.Forbidden, exitcode.BadStatus, exitcode.Error} {
		if codes[c] {
			code = c
			break
		}
	}
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

// whoamiRecord builds the -o json|yaml record; lists are never null.
func whoamiRecord(id *review.Identity, results []review.NamespaceResult, risks []review.Risk) WhoamiRecord {
	rec := WhoamiRecord{
		APIVersion: tokenRecordVersion,
		Kind:       whoamiRecordKind,
		User: UserRecord{
			Username: id.User.Username,
			UID:      id.User.UID,
			Groups:   append([]string{}, id.User.Groups...),
			Extra:    map[string][]string{},
		},
		IdentitySource: string(id.Source),
		Namespaces:     []NamespaceRecord{},
		Risks:          []RiskRecord{},
	}
	for k, v := range id.User.Extra {
		rec.User.Extra[k] = append([]string{}, v...)
	}
	for _, r := range results {
		nr := NamespaceRecord{
			Namespace:        r.Namespace,
			ResourceRules:    append([]authorizationv1.ResourceRule{}, r.ResourceRules...),
			NonResourceRules: append([]authorizationv1.NonResourceRule{}, r.NonResourceRules...),
			Incomplete:       r.Incomplete,
			EvaluationError:  r.EvaluationError,
		}
		if r.Err != nil {
			nr.Error = r.Err.Error()
		}
		rec.Namespaces = append(rec.Namespaces, nr)
	}
	for _, r := range risks {
		rec.Risks = append(rec.Risks, RiskRecord{Namespace: r.Namespace, Rule: r.Rule, Check: r.Finding.Check, Reason: r.Finding.Reason})
	}
	return rec
}

// printWhoami prints the identity, the table of rules with where each holds
// and its risks, and what each risk means.
func printWhoami(out io.Writer, id *review.Identity, table review.Table) error {
	w := printers.GetNewTabWriter(out)
	fmt.Fprintf(w, "ATTRIBUTE\tVALUE\n")
	fmt.Fprintf(w, "Username\t%s\n", id.User.Username)
	if id.User.UID != "" {
		fmt.Fprintf(w, "UID\t%s\n", id.User.UID)
	}
	fmt.Fprintf(w, "Groups\t%v\n", id.User.Groups)
	for _, k := range review.ExtraKeys(id.User.Extra) {
		fmt.Fprintf(w, "Extra: %s\t%v\n", k, []string(id.User.Extra[k]))
	}
	source := string(id.Source) + " (" + id.APIVersion + ")"
	if id.Source == review.SourceTokenClaims {
		source = string(id.Source) + " (not verified by the server)"
	}
	fmt.Fprintf(w, "Source\t%s\n", source)
	if err := w.Flush(); err != nil {
		return err
	}
	if len(table.Reviewed) == 0 {
		return nil
	}

	fmt.Fprintln(out)
	w = printers.GetNewTabWriter(out)
	fmt.Fprintf(w, "RESOURCES\tNON-RESOURCE URLS\tRESOURCE NAMES\tVERBS\tWHERE\tRISK\n")
	used := map[string]bool{}
	for _, row := range table.Rows {
		var checks []string
		for _, f := range risk.Assess(row.Rule()) {
			checks = append(checks, f.Check)
			used[f.Check] = true
		}
		urls := []string{}
		if row.NonResourceURL != "" {
			urls = append(urls, row.NonResourceURL)
		}
		names := row.ResourceNames
		if names == nil {
			names = []string{}
		}
		fmt.Fprintf(w, "%s\t%v\t%v\t%v\t%s\t%s\n", row.ResourceString(), urls, names, row.Verbs, table.Where(row), strings.Join(checks, ","))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(used) == 0 {
		return nil
	}
	fmt.Fprintln(out)
	w = printers.GetNewTabWriter(out)
	fmt.Fprintf(w, "RISK\tREASON\n")
	for _, c := range risk.Checks() {
		if used[c.ID] {
			fmt.Fprintf(w, "%s\t%s\n", c.ID, c.Reason)
		}
	}
	return w.Flush()
}

// riskChecks returns the IDs of the checks risks fail, in check order.
func riskChecks(risks []review.Risk) []string {
	found := map[string]bool{}
	for _, r := range risks {
		found[r.Finding.Check] = true
	}
	var ids []string
	for _, c := range risk.Checks() {
		if found[c.ID] {
			ids = append(ids, c.ID)
		}
	}
	return ids
}
