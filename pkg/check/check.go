// Package check evaluates expectations documents (pkg/expect) with the
// server: every action of every set, for every subject, in every namespace,
// asked with a SelfSubjectAccessReview sent as that subject's own token. The
// answer is the server's, every authorizer's (webhooks included), and needs
// no impersonation rights.
//
// An expectation is held when the server's answer is the one expected,
// failed when it is the other, and undecided when there is no answer to
// trust: the review failed, the subject could not be acted as (it does not
// exist), the namespaces could not be listed or a selector matched none, or
// the server denied with an evaluation error (a webhook that failed might
// have allowed). Undecided never counts as held.
package check

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"

	"github.com/kubectl-access/kubectl-access/pkg/expect"
	"github.com/kubectl-access/kubectl-access/pkg/review"
	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

// Expectation is one question with its expected answer: may Subject perform
// Action in Namespace?
type Expectation struct {
	// Subject is "namespace/name" of a service account, or expect.Current.
	Subject string
	// Action is what is asked.
	Action risk.Action
	// Namespace is where it is asked; "" for a cluster-scoped action, asked
	// once for the cluster (risk.Action.ClusterScoped).
	Namespace string
	// Allow is the expected answer: true for allow, false for deny.
	Allow bool
	// Pos is where the action is written.
	Pos expect.Pos
}

// Outcome is the verdict on an expectation.
type Outcome string

// The outcomes.
const (
	Held      Outcome = "held"
	Failed    Outcome = "failed"
	Undecided Outcome = "undecided"
)

// Result is an expectation and what the server answered.
type Result struct {
	Expectation
	// Outcome is the verdict.
	Outcome Outcome
	// Allowed is the server's answer when there is one.
	Allowed bool
	// Reason is the server's explanation (the binding or webhook that
	// decided), often empty.
	Reason string
	// EvaluationError is an authorizer's failure reported with the answer.
	EvaluationError string
	// Err is why there is no answer; nil when there is one.
	Err error
}

// Checker evaluates expectations.
type Checker struct {
	// Connect returns a client that sends reviews as subject alone (its
	// own token, or the caller's credentials for expect.Current). Tests
	// inject fakes.
	Connect func(ctx context.Context, subject string) (authorizationv1client.SelfSubjectAccessReviewsGetter, error)
	// ListNamespaces lists the namespaces a label selector matches ("" for
	// every namespace), with the caller's credentials.
	ListNamespaces func(ctx context.Context, selector string) ([]string, error)
	// DefaultNamespace is where the caller's own actions are asked when a
	// set names no namespaces (the context's namespace).
	DefaultNamespace string
	// Concurrency bounds the reviews in flight per subject.
	Concurrency int
	// Timeout bounds each review.
	Timeout time.Duration
}

// SubjectError says why a subject could not be acted as; every
// expectation of that subject carries it.
type SubjectError struct {
	Subject string
	Err     error
}

// Error names the subject.
func (e *SubjectError) Error() string {
	return fmt.Sprintf("subject %s: %v", e.Subject, e.Err)
}

// Unwrap returns the cause, for its exit code.
func (e *SubjectError) Unwrap() error { return e.Err }

// NoNamespaceError says a selector matched no namespace: the expectations
// that depend on it would pass vacuously, so they are undecided.
type NoNamespaceError struct {
	Selector string
}

// Error names the selector.
func (e *NoNamespaceError) Error() string {
	if e.Selector == "" {
		return "there is no namespace to ask in"
	}
	return fmt.Sprintf("namespaceSelector %q matches no namespace", e.Selector)
}

// Run evaluates the sets: it lists the namespaces they need once per
// selector, then for each subject connects once and asks every distinct
// question once. The results are sorted by subject, action, namespace and
// expected answer. A failure of one subject or selector is recorded in its
// results and never stops the others; the error is non-nil only when ctx
// ends.
func (c *Checker) Run(ctx context.Context, sets []expect.Set) ([]Result, error) {
	pending, undecided := c.expand(ctx, sets)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bySubject := map[string][]Expectation{}
	var subjects []string
	for _, e := range pending {
		if bySubject[e.Subject] == nil {
			subjects = append(subjects, e.Subject)
		}
		bySubject[e.Subject] = append(bySubject[e.Subject], e)
	}
	sort.Strings(subjects)
	results := undecided
	for _, s := range subjects {
		rs, err := c.ask(ctx, s, bySubject[s])
		if err != nil {
			return nil, err
		}
		results = append(results, rs...)
	}
	Sort(results)
	return results, nil
}

// Sort orders results by subject, action, namespace and expected answer.
func Sort(results []Result) {
	sort.SliceStable(results, func(i, j int) bool {
		a, b := results[i], results[j]
		return cmp.Or(
			cmp.Compare(a.Subject, b.Subject),
			cmp.Compare(a.Action.String(), b.Action.String()),
			cmp.Compare(a.Namespace, b.Namespace),
			boolCompare(a.Allow, b.Allow),
		) < 0
	})
}

func boolCompare(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// expand turns the sets into expectations, each once (the first place it
// is written wins), and the undecided results of the namespaces that could
// not be listed.
func (c *Checker) expand(ctx context.Context, sets []expect.Set) ([]Expectation, []Result) {
	type listing struct {
		names []string
		err   error
	}
	listed := map[string]listing{}
	list := func(selector string) ([]string, error) {
		if l, ok := listed[selector]; ok {
			return l.names, l.err
		}
		names, err := c.ListNamespaces(ctx, selector)
		if err == nil && len(names) == 0 {
			err = &NoNamespaceError{Selector: selector}
		}
		sort.Strings(names)
		listed[selector] = listing{names, err}
		return names, err
	}
	type key struct {
		subject, namespace string
		action             risk.Action
		allow              bool
	}
	seen := map[key]bool{}
	var out []Expectation
	var undecided []Result
	for _, s := range sets {
		for _, sub := range s.Subjects {
			for _, group := range []struct {
				actions []expect.Action
				allow   bool
			}{{s.Allow, true}, {s.Deny, false}} {
				for _, a := range group.actions {
					namespaces, err := c.namespacesOf(s, a, sub, list)
					if err != nil {
						undecided = append(undecided, Result{
							Expectation: Expectation{Subject: sub, Action: a.Action, Allow: group.allow, Pos: a.Pos},
							Outcome:     Undecided, Err: err,
						})
						continue
					}
					for _, ns := range namespaces {
						k := key{sub, ns, a.Action, group.allow}
						if seen[k] {
							continue
						}
						seen[k] = true
						out = append(out, Expectation{Subject: sub, Action: a.Action, Namespace: ns, Allow: group.allow, Pos: a.Pos})
					}
				}
			}
		}
	}
	return out, undecided
}

// namespacesOf is where a is asked for sub: once cluster-wide for a
// cluster-scoped action, else the action's namespaces, else the set's,
// else those of its selector, else the subject's own.
func (c *Checker) namespacesOf(s expect.Set, a expect.Action, sub string, list func(string) ([]string, error)) ([]string, error) {
	if a.ClusterScoped() {
		return []string{""}, nil
	}
	names := a.Namespaces
	if len(names) == 0 {
		names = s.Namespaces
	}
	switch {
	case len(names) == 1 && names[0] == expect.AllNamespaces:
		return list("")
	case len(names) > 0:
		return names, nil
	case s.NamespaceSelector != "":
		return list(s.NamespaceSelector)
	case sub == expect.Current:
		return []string{c.DefaultNamespace}, nil
	}
	ns, _, _ := strings.Cut(sub, "/")
	return []string{ns}, nil
}

// ask connects as subject and asks its expectations, each distinct
// question once.
func (c *Checker) ask(ctx context.Context, subject string, exps []Expectation) ([]Result, error) {
	results := make([]Result, len(exps))
	for i, e := range exps {
		results[i] = Result{Expectation: e, Outcome: Undecided}
	}
	client, err := c.Connect(ctx, subject)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for i := range results {
			results[i].Err = &SubjectError{Subject: subject, Err: err}
		}
		return results, nil
	}
	index := map[review.Question]int{}
	var questions []review.Question
	for _, e := range exps {
		q := review.Question{Namespace: e.Namespace, Action: e.Action}
		if _, ok := index[q]; !ok {
			index[q] = len(questions)
			questions = append(questions, q)
		}
	}
	verifier := &review.Verifier{Client: client, Concurrency: c.Concurrency, Timeout: c.Timeout}
	answers, err := verifier.Ask(ctx, questions)
	if err != nil {
		return nil, err
	}
	for i, e := range exps {
		results[i] = judge(e, answers.At(index[review.Question{Namespace: e.Namespace, Action: e.Action}]))
	}
	return results, nil
}

// judge compares the server's answer with the expectation. A denial that
// comes with an evaluation error is no answer: the authorizer that failed
// might have allowed. An allowance with one still stands: some authorizer
// allowed.
func judge(e Expectation, v review.Verification) Result {
	r := Result{Expectation: e, Allowed: v.Allowed, Reason: v.Reason, EvaluationError: v.EvaluationError, Err: v.Err}
	switch {
	case v.Err != nil:
		r.Outcome, r.Allowed = Undecided, false
	case !v.Allowed && v.EvaluationError != "":
		r.Outcome = Undecided
	case v.Allowed == e.Allow:
		r.Outcome = Held
	default:
		r.Outcome = Failed
	}
	return r
}

// Summary counts the results by outcome.
type Summary struct {
	Expectations int `json:"expectations"`
	Held         int `json:"held"`
	Failed       int `json:"failed"`
	Undecided    int `json:"undecided"`
}

// Summarize counts results.
func Summarize(results []Result) Summary {
	s := Summary{Expectations: len(results)}
	for _, r := range results {
		switch r.Outcome {
		case Held:
			s.Held++
		case Failed:
			s.Failed++
		default:
			s.Undecided++
		}
	}
	return s
}

// String is the summary line: "12 expectations, 11 held, 1 failed", with
// ", N undecided" when some are.
func (s Summary) String() string {
	noun := "expectations"
	if s.Expectations == 1 {
		noun = "expectation"
	}
	line := fmt.Sprintf("%d %s, %d held, %d failed", s.Expectations, noun, s.Held, s.Failed)
	if s.Undecided > 0 {
		line += fmt.Sprintf(", %d undecided", s.Undecided)
	}
	return line
}

// UnknownVerbs lists the actions of sets whose verb is neither standard nor
// a well-known special one, each with where it is written, in order.
func UnknownVerbs(sets []expect.Set) []expect.Action {
	var out []expect.Action
	for _, s := range sets {
		for _, a := range slices.Concat(s.Allow, s.Deny) {
			if a.NonResourceURL == "" && !expect.KnownVerb(a.Verb) {
				out = append(out, a)
			}
		}
	}
	return out
}

// Errors returns the errors of the undecided results, each once, in order.
func Errors(results []Result) []error {
	var out []error
	seen := map[string]bool{}
	for _, r := range results {
		if r.Outcome != Undecided {
			continue
		}
		err := r.Err
		if err == nil {
			err = errors.New("denied with an evaluation error: " + r.EvaluationError)
		}
		if !seen[err.Error()] {
			seen[err.Error()] = true
			out = append(out, err)
		}
	}
	return out
}
