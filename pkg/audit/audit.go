package audit

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"

	"github.com/kubectl-access/kubectl-access/pkg/client"
	"github.com/kubectl-access/kubectl-access/pkg/credential"
	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/grant"
	"github.com/kubectl-access/kubectl-access/pkg/review"
	"github.com/kubectl-access/kubectl-access/pkg/subject"
	"github.com/kubectl-access/kubectl-access/pkg/transport"
)

// TokenLifetime is the lifetime asked of each account's TokenRequest: the
// shortest the API server accepts (its validation refuses less than 10
// minutes). The token lives in memory for the account's review only.
const TokenLifetime = 10 * time.Minute

// Scope says which service accounts are audited.
type Scope struct {
	// Namespaces are the namespaces whose accounts are audited; empty means
	// every namespace.
	Namespaces []string
	// Selector is a label selector over the ServiceAccounts; "" selects all.
	Selector string
}

// Inventory is what the caller's credentials read before any review.
type Inventory struct {
	Accounts []Account
	// Missing are the namespaces of Scope that do not exist, sorted.
	Missing []string
	// Plans are the accounts' review plans, in account order.
	Plans []Plan
	// RBAC are every Role, ClusterRole and binding, when the inventory
	// read them (Auditor.ReadRoles, for --explain).
	RBAC *grant.Objects
}

// PermissionError says the caller lacks a permission the audit needs.
type PermissionError struct {
	// Permission is what is missing, e.g. "list rolebindings.rbac.authorization.k8s.io in all namespaces".
	Permission string
	Err        error
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("the audit needs permission to %s with the kubeconfig's credentials: %v", e.Permission, e.Err)
}

func (e *PermissionError) Unwrap() error { return e.Err }

// Identities obtains the identity an account is reviewed as. The real one
// is a pkg/subject Resolver with a TokenRequest of TokenLifetime.
type Identities interface {
	Resolve(ctx context.Context, req subject.Request) (*subject.Identity, error)
}

// Auditor runs audits.
type Auditor struct {
	// Caller lists with the caller's credentials.
	Caller client.Interface
	// Identities obtains each account's token, with the caller's
	// credentials (create serviceaccounts/token).
	Identities Identities
	// NewClient builds the client that sends an account's reviews from its
	// identity's Config (the token alone). Only the authorization client:
	// a whole clientset per account is some fifty typed clients built and
	// dropped, thousands of times in a large audit.
	NewClient func(id *subject.Identity) (authorizationv1client.AuthorizationV1Interface, error)
	// Concurrency bounds the accounts audited at once; each sends its
	// reviews ReviewConcurrency at a time.
	Concurrency       int
	ReviewConcurrency int
	// Timeout bounds each review; 0 means the context's deadline alone.
	Timeout time.Duration
	// ReadRoles reads the Roles and ClusterRoles too (2 more LISTs), for
	// the grants of each finding.
	ReadRoles bool
	// Verify asks every risk action of every planned namespace, even where
	// the rules review is complete.
	Verify bool
	// KeepRules keeps every rule of each account's reviews in its Result
	// (--rules prints them). Without it, a Result keeps only what the
	// report needs once the rules are graded (the risky rules, in Risks),
	// so that an audit's memory does not grow with every rule of every
	// account.
	KeepRules bool
	// AllowInsecureHTTP lets the tokens travel to a plain http:// server.
	AllowInsecureHTTP bool
	// Progress, when set, is called after each account with the number
	// done and the total; it must be safe for concurrent use.
	Progress func(done, total int)
	// requests counts the requests sent, for -v=1.
	requests atomic.Int64
}

// Requests returns the number of requests the audit sent so far.
func (a *Auditor) Requests() int64 { return a.requests.Load() }

// Inventory lists the accounts of scope and the cluster's bindings, and
// plans every account's review.
func (a *Auditor) Inventory(ctx context.Context, scope Scope) (*Inventory, error) {
	inv := &Inventory{}
	opts := metav1.ListOptions{LabelSelector: scope.Selector}
	lists := scope.Namespaces
	if len(lists) == 0 {
		lists = []string{metav1.NamespaceAll}
	}
	for _, ns := range lists {
		a.requests.Add(1)
		list, err := a.Caller.CoreV1().ServiceAccounts(ns).List(ctx, opts)
		if err != nil {
			return nil, listError(err, "serviceaccounts", ns)
		}
		inv.Accounts = append(inv.Accounts, AccountsOf(list.Items)...)
		if ns != metav1.NamespaceAll && len(list.Items) == 0 {
			// An empty list does not say whether the namespace exists.
			a.requests.Add(1)
			if _, err := a.Caller.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				inv.Missing = append(inv.Missing, ns)
			}
		}
	}
	sortAccounts(inv.Accounts)
	sort.Strings(inv.Missing)
	if a.ReadRoles {
		a.requests.Add(4)
		objs, err := grant.Read(ctx, a.Caller.RbacV1(), grant.Scope{AllNamespaces: true, Concurrency: 4})
		var unreadable *grant.UnreadableError
		if errors.As(err, &unreadable) {
			return nil, listError(unreadable.Err, unreadable.Resource+".rbac.authorization.k8s.io", metav1.NamespaceAll)
		}
		if err != nil {
			return nil, err
		}
		inv.RBAC = objs
		inv.Plans = PlanAccounts(inv.Accounts, objs.RoleBindings, objs.ClusterRoleBindings)
		return inv, nil
	}
	a.requests.Add(2)
	rbs, err := a.Caller.RbacV1().RoleBindings(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, listError(err, "rolebindings.rbac.authorization.k8s.io", metav1.NamespaceAll)
	}
	crbs, err := a.Caller.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, listError(err, "clusterrolebindings.rbac.authorization.k8s.io", metav1.NamespaceAll)
	}
	inv.Plans = PlanAccounts(inv.Accounts, rbs.Items, crbs.Items)
	return inv, nil
}

// listError words a failed LIST: a missing permission as a PermissionError,
// a transport failure with its exit code.
func listError(err error, resource, namespace string) error {
	where := "in namespace " + namespace
	if namespace == metav1.NamespaceAll {
		where = "in all namespaces"
		if strings.HasPrefix(resource, "cluster") {
			where = "(cluster-scoped)"
		}
	}
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
		return exitcode.WithCode(exitcode.Code(err), &PermissionError{Permission: "list " + resource + " " + where, Err: err})
	}
	return fmt.Errorf("listing %s %s: %w", resource, where, err)
}

// Result is the audit of one account.
type Result struct {
	// Plan is the account's, the caller's: a pointer, so that a large
	// audit holds each plan once and not again in every result.
	*Plan
	// Results are the account's reviews, one per planned namespace.
	Results []review.NamespaceResult
	// Risks are the listed rules that fail a risk check.
	Risks []review.Risk
	// Verified are the answers of the risk actions asked, when a review was
	// incomplete or Verify was set.
	Verified []review.VerifiedAction
	// Incomplete says a review was marked incomplete by the server.
	Incomplete bool
	// Err says why the account was not (fully) audited: its token could
	// not be obtained, or a review failed.
	Err error
}

// Audit reviews every planned account as its own token, Concurrency
// accounts at a time, and returns one result per plan, in plan order. A
// failure every other account would repeat (the server unreachable, TLS,
// the caller may not mint tokens anywhere) stops the run: the accounts not
// yet audited get a review.NotReviewedError and the results in are kept.
// The error is non-nil only when ctx ends; the results are returned even
// then.
func (a *Auditor) Audit(ctx context.Context, plans []Plan) ([]Result, error) {
	results := make([]Result, len(plans))
	var done atomic.Int64
	errs, err := review.FanOut(ctx, a.Concurrency, len(plans), func(run context.Context, i int) error {
		results[i] = a.auditOne(run, &plans[i])
		if a.Progress != nil {
			a.Progress(int(done.Add(1)), len(plans))
		}
		return stopError(results[i].Err)
	}, func(i int, err error) error {
		return fmt.Errorf("the audit of service account %s failed: %w", plans[i].Account, err)
	})
	for i := range results {
		results[i].Plan = &plans[i]
		if errs[i] != nil && results[i].Err == nil {
			results[i].Err = errs[i]
		}
	}
	return results, err
}

// stopError returns err when it would repeat for every other account (the
// server unreachable or not verifiable, a redirect), so that the run stops;
// nil otherwise: an account whose token the caller may not mint, or whose
// review failed on its own, does not stop the audit of the others.
func stopError(err error) error {
	var redirect *transport.RedirectError
	if errors.As(err, &redirect) {
		return err
	}
	switch exitcode.Code(err) {
	case exitcode.Unreachable, exitcode.TLS:
		return err
	}
	return nil
}

// auditOne audits one account and, without KeepRules, drops the rules its
// Risks do not hold.
func (a *Auditor) auditOne(ctx context.Context, p *Plan) Result {
	res := a.auditAccount(ctx, p)
	if !a.KeepRules {
		for i := range res.Results {
			res.Results[i].ResourceRules, res.Results[i].NonResourceRules = nil, nil
		}
	}
	return res
}

// auditAccount obtains the account's token and reviews its planned
// namespaces.
func (a *Auditor) auditAccount(ctx context.Context, p *Plan) Result {
	res := Result{Plan: p}
	a.requests.Add(1)
	id, err := a.Identities.Resolve(ctx, subject.Request{
		Mode:      subject.ServiceAccount,
		Namespace: p.Namespace,
		Name:      p.Name,
		Token:     tokenRequest(),

		AllowInsecureHTTP: a.AllowInsecureHTTP,
	})
	if err != nil {
		res.Err = tokenError(err, p.Account)
		return res
	}
	client, err := a.NewClient(id)
	if err != nil {
		res.Err = err
		return res
	}
	reviewer := &review.Reviewer{Client: client, Concurrency: a.ReviewConcurrency, Timeout: a.Timeout}
	a.requests.Add(int64(len(p.Namespaces)))
	res.Results, err = reviewer.Review(ctx, p.Namespaces)
	if err != nil {
		res.Err = err
		return res
	}
	var reviewed []string
	for _, r := range res.Results {
		if r.Err != nil {
			if res.Err == nil {
				res.Err = fmt.Errorf("SelfSubjectRulesReview in namespace %q: %w", r.Namespace, r.Err)
			}
			continue
		}
		reviewed = append(reviewed, r.Namespace)
		res.Incomplete = res.Incomplete || r.Incomplete
	}
	res.Risks = review.Risks(res.Results)
	if (res.Incomplete || a.Verify) && len(reviewed) > 0 {
		verifier := &review.Verifier{Client: client, Concurrency: a.ReviewConcurrency, Timeout: a.Timeout}
		verifications, err := verifier.Verify(ctx, reviewed, review.RiskActions())
		a.requests.Add(int64(verifications.Len()))
		if err != nil {
			res.Err = err
			return res
		}
		res.Verified = review.Verified(res.Results, verifications, nil)
	}
	return res
}

// tokenError says why an account's token could not be obtained; a missing
// permission names it.
func tokenError(err error, acct Account) error {
	if apierrors.IsForbidden(err) {
		return exitcode.WithCode(exitcode.Forbidden, &PermissionError{Permission: fmt.Sprintf("create serviceaccounts/token in namespace %s", acct.Namespace), Err: err})
	}
	return err
}

// tokenRequest is the token each account is reviewed as: a TokenRequest of
// TokenLifetime, never a Secret.
func tokenRequest() credential.Request {
	return credential.Request{Source: credential.SourceRequest, Duration: TokenLifetime}
}
