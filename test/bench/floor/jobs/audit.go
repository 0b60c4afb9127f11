package main

import (
	"context"
	"fmt"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/kubectl-access/kubectl-access/test/bench/floor/internal/libfloor"
)

// auditConcurrency is the accounts audited at once, the plugin's default
// --concurrency; each sends its reviews one after the other.
const auditConcurrency = 16

// auditQPS is the plugin's QPS and burst at that concurrency.
const auditQPS = 400

// audit is the floor of `kubectl access audit`: with the caller's
// credentials one LIST each of ServiceAccounts, RoleBindings and
// ClusterRoleBindings (at once), then for every account, auditConcurrency
// at a time, a TokenRequest of 10 minutes and, as that token alone, one
// SelfSubjectRulesReview in its namespace and in each namespace where a
// RoleBinding names it (the account, its namespace's group,
// system:serviceaccounts or system:authenticated). It prints "N accounts M
// reviews", no grading and no report.
func (j *jobs) audit(ctx context.Context) error {
	base, _, _, err := j.caller()
	if err != nil {
		return err
	}
	// The plugin's client rate limit for --concurrency 16
	// (review.FanOutConfig): client-go's default of 5 requests a second
	// would make the floor wait, not work. One limit for the caller's
	// requests and every account's, as the plugin's (pkg/cmd/audit.go):
	// the tokens' configs copy the limiter, so a client per token does not
	// get a bucket of its own.
	base = rest.CopyConfig(base)
	base.QPS, base.Burst = auditQPS, auditQPS
	base.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(auditQPS, auditQPS)
	c, err := libfloor.NewClients(base)
	if err != nil {
		return err
	}
	rbac, err := rbacClient(base)
	if err != nil {
		return err
	}
	var (
		sas *corev1.ServiceAccountList
		rbs *rbacv1.RoleBindingList
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		sas, err = c.Core.ServiceAccounts("").List(gctx, metav1.ListOptions{})
		return err
	})
	g.Go(func() (err error) {
		rbs, err = rbac.RoleBindings("").List(gctx, metav1.ListOptions{})
		return err
	})
	g.Go(func() error {
		_, err := rbac.ClusterRoleBindings().List(gctx, metav1.ListOptions{})
		return err
	})
	if err := g.Wait(); err != nil {
		return err
	}
	var reviews atomic.Int64
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(auditConcurrency)
	for _, sa := range sas.Items {
		namespaces := boundNamespaces(sa.Namespace, sa.Name, rbs.Items)
		g.Go(func() error {
			tr, err := c.Core.ServiceAccounts(sa.Namespace).CreateToken(gctx, sa.Name, &authenticationv1.TokenRequest{
				Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(600))},
			}, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			tc, err := asToken(base, tr.Status.Token)
			if err != nil {
				return err
			}
			for _, ns := range namespaces {
				if _, err := tc.Authorization.SelfSubjectRulesReviews().Create(gctx, &authorizationv1.SelfSubjectRulesReview{
					Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns},
				}, metav1.CreateOptions{}); err != nil {
					return err
				}
				reviews.Add(1)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(j.out, "%d accounts %d reviews\n", len(sas.Items), reviews.Load())
	return err
}

// boundNamespaces returns the account's namespace and those of the
// RoleBindings that name it, once each.
func boundNamespaces(ns, name string, rbs []rbacv1.RoleBinding) []string {
	namespaces := []string{ns}
	seen := map[string]bool{ns: true}
	for _, rb := range rbs {
		if seen[rb.Namespace] {
			continue
		}
		for _, s := range rb.Subjects {
			if names(s, ns, name) {
				seen[rb.Namespace] = true
				namespaces = append(namespaces, rb.Namespace)
				break
			}
		}
	}
	return namespaces
}

// names reports whether a binding's subject applies to the account.
func names(s rbacv1.Subject, ns, name string) bool {
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		return s.Name == name && s.Namespace == ns
	case rbacv1.UserKind:
		return s.Name == "system:serviceaccount:"+ns+":"+name
	case rbacv1.GroupKind:
		return s.Name == "system:serviceaccounts" || s.Name == "system:serviceaccounts:"+ns || s.Name == "system:authenticated"
	}
	return false
}
