package review

import (
	"context"
	"fmt"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"

	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

// Verification is what the SelfSubjectAccessReview of one action in one
// namespace said, or why there is no answer. Unlike the rules of a
// SelfSubjectRulesReview, the answer comes from every authorizer of the
// server, webhooks included, so it holds where the rules are incomplete.
type Verification struct {
	// Namespace is where the action was asked; "" for a cluster-scoped
	// action, asked once (risk.Action.ClusterScoped).
	Namespace string
	// Action is what was asked.
	Action risk.Action
	// Allowed is true when an authorizer allows the action.
	Allowed bool
	// Denied is true when an authorizer denied it outright. Neither Allowed
	// nor Denied means that no authorizer had an opinion, which denies too.
	Denied bool
	// Reason is the server's explanation, e.g. the binding or the webhook
	// that decided; often empty.
	Reason string
	// EvaluationError is an authorizer's failure (a webhook that failed or
	// timed out): the answer may be wrong.
	EvaluationError string
	// Err is why the action was not verified; nil when it was.
	Err error
}

// Verifier sends SelfSubjectAccessReviews, one per action and namespace,
// with a bounded number in flight.
type Verifier struct {
	// Client sends the reviews; it must authenticate as the subject alone,
	// and its rate limiter should allow Concurrency requests at once.
	Client authorizationv1client.SelfSubjectAccessReviewsGetter
	// Concurrency bounds the reviews in flight; DefaultConcurrency if < 1.
	Concurrency int
	// Timeout bounds each review, its retries of 429 answers included;
	// 0 means no bound besides the context's.
	Timeout time.Duration
}

// Verify asks whether the subject may perform each action in each
// namespace ("" asks across every namespace at once), and a cluster-scoped
// action once, cluster-wide; with no namespaces only cluster-scoped actions
// are asked, and an action limited to a namespace (risk.Action.Namespace)
// only there, when it is among namespaces. The results
// come action by action, in the order given, and within an action in the
// order of namespaces; a pair given twice is asked once. A failure of one
// review is recorded in its result, never dropped. As with Review, a
// failure every other review would repeat (unreachable server, TLS failure,
// 401, 403) stops the run: the reviews not yet answered get a
// NotReviewedError, and answers already in are kept. The error is non-nil
// only when ctx ends; the results are returned even then.
func (v *Verifier) Verify(ctx context.Context, namespaces []string, actions []risk.Action) ([]Verification, error) {
	return v.verify(ctx, verifyUnits(namespaces, actions))
}

// Question is one action to ask in one namespace ("" asks cluster-wide).
type Question struct {
	Namespace string
	Action    risk.Action
}

// Ask is Verify for questions that are not every action in every
// namespace (check's expectations): one review per question, in the order
// given, each asked in the namespace given whatever the action's scope,
// with Verify's concurrency and stop rules. The caller asks each question
// once.
func (v *Verifier) Ask(ctx context.Context, questions []Question) ([]Verification, error) {
	results := make([]Verification, len(questions))
	for i, q := range questions {
		results[i] = Verification{Namespace: q.Namespace, Action: q.Action}
	}
	return v.verify(ctx, results)
}

// verify sends the review of each of results, whose Namespace and Action
// say what to ask, and records the answer in place: with -A there are tens
// of thousands, and a second list of the questions would double what the
// run holds.
func (v *Verifier) verify(ctx context.Context, results []Verification) ([]Verification, error) {
	errs, err := fanOut(ctx, v.Concurrency, len(results), func(run context.Context, i int) error {
		v.verifyOne(run, &results[i])
		return results[i].Err
	}, func(i int, err error) error { return verifyStopCause(results[i], err) })
	for i, e := range errs {
		if e != nil {
			results[i] = Verification{Namespace: results[i].Namespace, Action: results[i].Action, Err: e}
		}
	}
	return results, err
}

// verifyUnits lists the reviews to send, as results with only Namespace and
// Action set, in result order, each once: a pair comes twice only from an
// action or a namespace given twice, so each list is made unique first, and
// no set of every pair (tens of thousands with -A) is kept.
func verifyUnits(namespaces []string, actions []risk.Action) []Verification {
	namespaces = uniqueInOrder(namespaces)
	actions = uniqueInOrder(actions)
	each := func(add func(Verification)) {
		for _, a := range actions {
			if a.ClusterScoped() {
				add(Verification{Action: a})
				continue
			}
			for _, ns := range namespaces {
				if a.AppliesIn(ns) {
					add(Verification{Namespace: ns, Action: a})
				}
			}
		}
	}
	// Counted first: one allocation of exactly the length, as the list is
	// most of what a run with -A --verify holds.
	n := 0
	each(func(Verification) { n++ })
	if n == 0 {
		return nil
	}
	units := make([]Verification, 0, n)
	each(func(u Verification) { units = append(units, u) })
	return units
}

// uniqueInOrder returns items without repeats, each where it first came.
func uniqueInOrder[T comparable](items []T) []T {
	seen := make(map[T]bool, len(items))
	out := make([]T, 0, len(items))
	for _, it := range items {
		if !seen[it] {
			seen[it] = true
			out = append(out, it)
		}
	}
	return out
}

// verifyOne sends the SelfSubjectAccessReview res asks and records its
// answer in res.
func (v *Verifier) verifyOne(ctx context.Context, res *Verification) {
	if v.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, v.Timeout)
		defer cancel()
	}
	review, err := v.Client.SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: res.Action.AccessReviewSpec(res.Namespace),
	}, metav1.CreateOptions{})
	if err != nil {
		res.Err = classify(ctx, err, v.Timeout)
		return
	}
	res.Allowed = review.Status.Allowed
	res.Denied = review.Status.Denied
	res.Reason = review.Status.Reason
	res.EvaluationError = review.Status.EvaluationError
}

// verifyStopCause describes a run stopped by the review of u.
func verifyStopCause(u Verification, err error) error {
	where := ""
	if u.Namespace != "" {
		where = fmt.Sprintf(" in namespace %q", u.Namespace)
	}
	return fmt.Errorf("the review of %q%s failed: %w", u.Action.String(), where, err)
}
