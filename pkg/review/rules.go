package review

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/transport"
)

// DefaultConcurrency is how many SelfSubjectRulesReviews are in flight at
// once when Reviewer.Concurrency is not set.
const DefaultConcurrency = 16

// NamespaceResult is what the SelfSubjectRulesReview of one namespace said,
// or why there is no answer.
type NamespaceResult struct {
	// Namespace is the namespace reviewed.
	Namespace string
	// ResourceRules and NonResourceRules are the rules the server listed,
	// sorted.
	ResourceRules    []authorizationv1.ResourceRule
	NonResourceRules []authorizationv1.NonResourceRule
	// Incomplete is true when the server could not list every rule (for
	// example with a webhook authorizer): a missing rule is then no proof
	// that the access is denied.
	Incomplete bool
	// EvaluationError is the server's reason for Incomplete.
	EvaluationError string
	// Err is why the namespace was not reviewed; nil when it was.
	Err error
}

// NotReviewedError marks a namespace that was never reviewed, or whose
// review was abandoned, because the run stopped after a failure that every
// other namespace would repeat (the server unreachable, the token rejected,
// the review forbidden).
type NotReviewedError struct {
	// Cause is the failure that stopped the run.
	Cause error
}

// Error says the namespace was not reviewed, and why the run stopped.
func (e *NotReviewedError) Error() string {
	return "not reviewed: the run stopped after " + e.Cause.Error()
}

// Unwrap returns the cause, so the namespace gets the cause's exit code.
func (e *NotReviewedError) Unwrap() error { return e.Cause }

// Reviewer sends SelfSubjectRulesReviews, one per namespace, with a bounded
// number in flight.
type Reviewer struct {
	// Client sends the reviews; it must authenticate as the subject alone,
	// and its rate limiter should allow Concurrency requests at once.
	Client authorizationv1client.SelfSubjectRulesReviewsGetter
	// Concurrency bounds the reviews in flight; DefaultConcurrency if < 1.
	Concurrency int
	// Timeout bounds each review, its retries of 429 answers included;
	// 0 means no bound besides the context's.
	Timeout time.Duration

	// shared holds the distinct rule lists of the run.
	shared sharedRules
}

// sharedRules hands out one copy of each distinct rule list: with -A most
// namespaces list the same rules (those of ClusterRoleBindings alone), and
// holding hundreds of copies would be most of what the run holds. The lists
// are read, never changed.
type sharedRules struct {
	mu          sync.Mutex
	resource    [][]authorizationv1.ResourceRule
	nonResource [][]authorizationv1.NonResourceRule
}

// maxSharedRules bounds the lists sharedRules compares a new one with; a
// run whose namespaces all list other rules keeps its copies.
const maxSharedRules = 32

// share returns the list equal to rules that an earlier namespace listed,
// or rules, which later namespaces then share.
func share[R any](mu *sync.Mutex, seen *[][]R, rules []R, equal func(a, b R) bool) []R {
	mu.Lock()
	defer mu.Unlock()
	for _, s := range *seen {
		if slices.EqualFunc(s, rules, equal) {
			return s
		}
	}
	if len(*seen) < maxSharedRules {
		*seen = append(*seen, rules)
	}
	return rules
}

// sameStrings is slices.Equal that tells nil from empty, as JSON does.
func sameStrings(a, b []string) bool {
	return (a == nil) == (b == nil) && slices.Equal(a, b)
}

func sameResourceRule(a, b authorizationv1.ResourceRule) bool {
	return sameStrings(a.Verbs, b.Verbs) && sameStrings(a.APIGroups, b.APIGroups) &&
		sameStrings(a.Resources, b.Resources) && sameStrings(a.ResourceNames, b.ResourceNames)
}

func sameNonResourceRule(a, b authorizationv1.NonResourceRule) bool {
	return sameStrings(a.Verbs, b.Verbs) && sameStrings(a.NonResourceURLs, b.NonResourceURLs)
}

// Review reviews every namespace and returns one result per namespace, in
// the order given; a failure of one is recorded in its result, never
// dropped. A failure every other namespace would repeat (unreachable server,
// TLS failure, 401, 403) stops the run: the namespaces not yet answered get a
// NotReviewedError, and results already in are kept. The error is non-nil
// only when ctx ends (e.g. on SIGINT); the results are returned even then.
func (r *Reviewer) Review(ctx context.Context, namespaces []string) ([]NamespaceResult, error) {
	results := make([]NamespaceResult, len(namespaces))
	errs, err := fanOut(ctx, r.Concurrency, len(namespaces), func(run context.Context, i int) error {
		results[i] = r.reviewOne(run, namespaces[i])
		return results[i].Err
	}, func(i int, err error) error {
		return fmt.Errorf("namespace %q failed: %w", namespaces[i], err)
	})
	for i := range results {
		results[i].Namespace, results[i].Err = namespaces[i], errs[i]
	}
	return results, err
}

// fanOut runs do(ctx, i) for i in [0, n), at most limit (DefaultConcurrency
// if < 1) at once, and returns each unit's error, never dropping one. A
// failure every other unit would repeat (stopsRun: unreachable server, TLS
// failure, redirect, 401, 403) stops the run, described by stopCause: the
// units not yet answered get a NotReviewedError, and answers already in are
// kept. The error is non-nil only when ctx ends (e.g. on SIGINT).
func fanOut(ctx context.Context, limit, n int, do func(ctx context.Context, i int) error, stopCause func(i int, err error) error) ([]error, error) {
	errs := make([]error, n)
	err := fanOutEach(ctx, limit, n, do, stopCause, func(i int, err error) { errs[i] = err })
	return errs, err
}

// fanOutEach is fanOut handing each unit's error to record (from the
// unit's goroutine, once per unit, only when it is not nil) rather than
// in a list: whoami -A --verify has tens of thousands of units.
func fanOutEach(ctx context.Context, limit, n int, do func(ctx context.Context, i int) error, stopCause func(i int, err error) error, record func(i int, err error)) error {
	if limit < 1 {
		limit = DefaultConcurrency
	}
	run, stop := context.WithCancelCause(ctx)
	defer stop(nil)

	var g errgroup.Group
	g.SetLimit(limit)
	for i := range n {
		if run.Err() != nil {
			record(i, notReviewed(ctx, run))
			continue
		}
		g.Go(func() error {
			if run.Err() != nil {
				record(i, notReviewed(ctx, run))
				return nil
			}
			err := do(run, i)
			switch {
			case err == nil:
				return nil
			case run.Err() != nil:
				// Abandoned because another unit stopped the run, or
				// because ctx ended.
				err = notReviewed(ctx, run)
			case stopsRun(err):
				stop(stopCause(i, err))
			}
			record(i, err)
			return nil
		})
	}
	_ = g.Wait() // the goroutines have recorded their errors
	return ctx.Err()
}

// reviewOne sends the SelfSubjectRulesReview of one namespace.
func (r *Reviewer) reviewOne(ctx context.Context, ns string) NamespaceResult {
	res := NamespaceResult{Namespace: ns}
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	review, err := r.Client.SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
		Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns},
	}, metav1.CreateOptions{})
	if err != nil {
		res.Err = classify(ctx, err, r.Timeout)
		return res
	}
	res.ResourceRules = share(&r.shared.mu, &r.shared.resource, sortedResourceRules(review.Status.ResourceRules), sameResourceRule)
	res.NonResourceRules = share(&r.shared.mu, &r.shared.nonResource, sortedNonResourceRules(review.Status.NonResourceRules), sameNonResourceRule)
	res.Incomplete = review.Status.Incomplete
	res.EvaluationError = review.Status.EvaluationError
	return res
}

// classify gives errors that mean the server went away the exit code for
// an unreachable server, and says when the per-review deadline passed.
func classify(ctx context.Context, err error, timeout time.Duration) error {
	switch {
	case timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return exitcode.WithCode(exitcode.Unreachable, fmt.Errorf("no answer within %s (--request-timeout): %w", timeout, err))
	case ctx.Err() != nil:
		return err
	case utilnet.IsProbableEOF(err), utilnet.IsConnectionReset(err), utilnet.IsHTTP2ConnectionLost(err):
		// The server closed the connection mid-request, e.g. it stopped.
		return exitcode.WithCode(exitcode.Unreachable, fmt.Errorf("the server closed the connection: %w", err))
	}
	return err
}

// notReviewed is the error of a namespace the run gave up on: ctx's error
// when ctx itself ended, else the failure that stopped the run.
func notReviewed(ctx, run context.Context) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &NotReviewedError{Cause: context.Cause(run)}
}

// stopsRun reports whether err would repeat for every namespace: the
// server cannot be reached or verified, redirects elsewhere, the token is rejected, or creating
// SelfSubjectRulesReviews (a cluster-wide permission) is forbidden.
func stopsRun(err error) bool {
	var redirect *transport.RedirectError
	if errors.As(err, &redirect) {
		return true
	}
	switch exitcode.Code(err) {
	case exitcode.Unreachable, exitcode.TLS, exitcode.Unauthorized, exitcode.Forbidden:
		return true
	}
	return false
}

// ruleKey orders rules deterministically: the server lists them in the
// order it meets bindings, which is not stable.
func ruleKey(parts ...[]string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(strings.Join(p, ","))
		b.WriteByte(';')
	}
	return b.String()
}

func sortedResourceRules(rules []authorizationv1.ResourceRule) []authorizationv1.ResourceRule {
	out := append([]authorizationv1.ResourceRule{}, rules...)
	sort.SliceStable(out, func(i, j int) bool {
		return ruleKey(out[i].APIGroups, out[i].Resources, out[i].ResourceNames, out[i].Verbs) <
			ruleKey(out[j].APIGroups, out[j].Resources, out[j].ResourceNames, out[j].Verbs)
	})
	return out
}

func sortedNonResourceRules(rules []authorizationv1.NonResourceRule) []authorizationv1.NonResourceRule {
	out := append([]authorizationv1.NonResourceRule{}, rules...)
	sort.SliceStable(out, func(i, j int) bool {
		return ruleKey(out[i].NonResourceURLs, out[i].Verbs) < ruleKey(out[j].NonResourceURLs, out[j].Verbs)
	})
	return out
}
