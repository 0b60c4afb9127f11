package review

import (
	"context"
	"fmt"
	"math"
	"sync"
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

// Answers are the answers of a Verify or Ask run, one per question, in
// question order. They are held compactly: whoami -A --verify asks tens of
// thousands of questions, and a Verification each (184 bytes, most of it
// the action) was a third of what such a run held. An answer here is 12
// bytes; equal explanations are held once.
type Answers struct {
	namespaces []string
	actions    []risk.Action
	units      []answerUnit

	// mu guards details and shared while reviews are in flight.
	mu      sync.Mutex
	details []answerDetail
	// shared indexes the details that hold no Err, which a server repeats
	// (the same reason for every namespace a binding covers).
	shared map[answerDetail]int32
}

// answerUnit is one question and its answer.
type answerUnit struct {
	namespace int32
	action    uint16
	allowed   bool
	denied    bool
	// detail is 1 + the index of the answer's detail, 0 for none.
	detail int32
}

// answerDetail is the part of an answer that is often empty.
type answerDetail struct {
	reason, evaluationError string
	err                     error
}

// newAnswers holds the questions each(add) lists, once counted (one
// allocation of exactly the length) and once recorded.
func newAnswers(each func(add func(namespace string, a risk.Action))) (*Answers, error) {
	ans := &Answers{}
	nsIndex, actionIndex := map[string]int32{}, map[risk.Action]uint16{}
	n := 0
	each(func(ns string, a risk.Action) {
		n++
		if _, ok := nsIndex[ns]; !ok {
			nsIndex[ns] = int32(len(ans.namespaces))
			ans.namespaces = append(ans.namespaces, ns)
		}
		if _, ok := actionIndex[a]; !ok {
			actionIndex[a] = uint16(len(ans.actions))
			ans.actions = append(ans.actions, a)
		}
	})
	if len(ans.actions) > math.MaxUint16+1 {
		return nil, fmt.Errorf("%d distinct actions to verify: at most %d can be", len(ans.actions), math.MaxUint16+1)
	}
	if n == 0 {
		return ans, nil
	}
	ans.units = make([]answerUnit, 0, n)
	each(func(ns string, a risk.Action) {
		ans.units = append(ans.units, answerUnit{namespace: nsIndex[ns], action: actionIndex[a]})
	})
	return ans, nil
}

// Len is the number of questions, each answered or not.
func (a *Answers) Len() int {
	if a == nil {
		return 0
	}
	return len(a.units)
}

// At returns the question i and its answer.
func (a *Answers) At(i int) Verification {
	u := a.units[i]
	v := Verification{Namespace: a.namespaces[u.namespace], Action: a.actions[u.action], Allowed: u.allowed, Denied: u.denied}
	if u.detail > 0 {
		a.mu.Lock()
		d := a.details[u.detail-1]
		a.mu.Unlock()
		v.Reason, v.EvaluationError, v.Err = d.reason, d.evaluationError, d.err
	}
	return v
}

// List returns every question and its answer, for callers that ask few.
func (a *Answers) List() []Verification {
	if a.Len() == 0 {
		return nil
	}
	out := make([]Verification, a.Len())
	for i := range out {
		out[i] = a.At(i)
	}
	return out
}

// question returns what question i asks.
func (a *Answers) question(i int) (namespace string, action risk.Action) {
	u := a.units[i]
	return a.namespaces[u.namespace], a.actions[u.action]
}

// set records the answer to question i; the allowed and denied flags only
// when err is nil.
func (a *Answers) set(i int, allowed, denied bool, reason, evaluationError string, err error) {
	u := &a.units[i]
	u.allowed, u.denied, u.detail = err == nil && allowed, err == nil && denied, 0
	if err != nil {
		reason, evaluationError = "", ""
	}
	d := answerDetail{reason: reason, evaluationError: evaluationError, err: err}
	if d == (answerDetail{}) {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err == nil {
		if j, ok := a.shared[d]; ok {
			u.detail = j + 1
			return
		}
		if a.shared == nil {
			a.shared = map[answerDetail]int32{}
		}
		a.shared[d] = int32(len(a.details))
	}
	a.details = append(a.details, d)
	u.detail = int32(len(a.details))
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
// only there, when it is among namespaces. The answers
// come action by action, in the order given, and within an action in the
// order of namespaces; a pair given twice is asked once. A failure of one
// review is recorded in its answer, never dropped. As with Review, a
// failure every other review would repeat (unreachable server, TLS failure,
// 401, 403) stops the run: the reviews not yet answered get a
// NotReviewedError, and answers already in are kept. The error is non-nil
// only when ctx ends, or when there are more distinct actions than Answers
// holds; the answers are returned even when ctx ends.
func (v *Verifier) Verify(ctx context.Context, namespaces []string, actions []risk.Action) (*Answers, error) {
	answers, err := verifyQuestions(namespaces, actions)
	if err != nil {
		return nil, err
	}
	return v.verify(ctx, answers)
}

// verifyQuestions lists the reviews Verify sends, unanswered, each once: a
// pair comes twice only from an action or a namespace given twice, so each
// list is made unique first, and no set of every pair (tens of thousands
// with -A) is kept.
func verifyQuestions(namespaces []string, actions []risk.Action) (*Answers, error) {
	namespaces = uniqueInOrder(namespaces)
	actions = uniqueInOrder(actions)
	return newAnswers(func(add func(string, risk.Action)) {
		for _, a := range actions {
			if a.ClusterScoped() {
				add("", a)
				continue
			}
			for _, ns := range namespaces {
				if a.AppliesIn(ns) {
					add(ns, a)
				}
			}
		}
	})
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
func (v *Verifier) Ask(ctx context.Context, questions []Question) (*Answers, error) {
	answers, err := newAnswers(func(add func(string, risk.Action)) {
		for _, q := range questions {
			add(q.Namespace, q.Action)
		}
	})
	if err != nil {
		return nil, err
	}
	return v.verify(ctx, answers)
}

// verify sends the review of each question of answers and records its
// answer in place.
func (v *Verifier) verify(ctx context.Context, answers *Answers) (*Answers, error) {
	err := fanOutEach(ctx, v.Concurrency, answers.Len(), func(run context.Context, i int) error {
		return v.verifyOne(run, answers, i)
	}, func(i int, err error) error { return verifyStopCause(answers, i, err) },
		func(i int, err error) { answers.set(i, false, false, "", "", err) })
	return answers, err
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

// verifyOne sends the SelfSubjectAccessReview that question i of answers
// asks and records its answer there; a failure is returned, for the fan-out
// to record.
func (v *Verifier) verifyOne(ctx context.Context, answers *Answers, i int) error {
	if v.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, v.Timeout)
		defer cancel()
	}
	namespace, action := answers.question(i)
	review, err := v.Client.SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: action.AccessReviewSpec(namespace),
	}, metav1.CreateOptions{})
	if err != nil {
		return classify(ctx, err, v.Timeout)
	}
	s := review.Status
	answers.set(i, s.Allowed, s.Denied, s.Reason, s.EvaluationError, nil)
	return nil
}

// verifyStopCause describes a run stopped by the review of question i.
func verifyStopCause(answers *Answers, i int, err error) error {
	namespace, action := answers.question(i)
	where := ""
	if namespace != "" {
		where = fmt.Sprintf(" in namespace %q", namespace)
	}
	return fmt.Errorf("the review of %q%s failed: %w", action.String(), where, err)
}
