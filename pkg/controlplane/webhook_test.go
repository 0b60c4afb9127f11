package controlplane_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-access/kubectl-access/pkg/controlplane"
	"github.com/kubectl-access/kubectl-access/pkg/controlplane/authzwebhook"
	"github.com/kubectl-access/kubectl-access/pkg/review"
	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

// TestAuthorizationWebhook runs one control plane whose kube-apiserver asks
// a test webhook after Node and RBAC, and checks what a service account's
// own token sees: the webhook's grants in SelfSubjectAccessReviews, an
// incomplete SelfSubjectRulesReview, and a failing or slow webhook denying.
func TestAuthorizationWebhook(t *testing.T) {
	binDir := controlplane.RequireBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	webhook, err := authzwebhook.Start()
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs after the control plane has stopped.
	t.Cleanup(func() {
		if err := webhook.Close(); err != nil {
			t.Errorf("closing the webhook: %v", err)
		}
	})
	// A timeout shorter than the default keeps the slow-webhook case short.
	webhookTimeout := time.Second
	authz := webhook.AuthorizationWebhook()
	authz.Timeout = webhookTimeout
	c := controlplane.StartForTest(t, ctx, controlplane.Options{BinDir: binDir, AuthorizationWebhook: authz})
	adminCfg, err := c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	admin := kubernetes.NewForConfigOrDie(adminCfg)

	const ns, name = "w", "builder"
	user := "system:serviceaccount:" + ns + ":" + name
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expiry := int64(600)
	tr, err := admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The token alone: no client certificate of the admin.
	tokenCfg := rest.AnonymousClientConfig(adminCfg)
	tokenCfg.BearerToken = tr.Status.Token
	asToken := kubernetes.NewForConfigOrDie(tokenCfg)

	ask := func(t *testing.T, spec authorizationv1.SelfSubjectAccessReviewSpec) authorizationv1.SubjectAccessReviewStatus {
		t.Helper()
		review, err := asToken.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("SelfSubjectAccessReview as the token: %v", err)
		}
		return review.Status
	}
	exec := &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "create", Resource: "pods", Subresource: "exec"}
	execRule := authzwebhook.Rule{User: user, Verb: "create", Resource: "pods", Subresource: "exec", Namespace: ns}
	// kube-apiserver prefixes the reasons of authorizers without an opinion
	// with their names from the authorization configuration.
	noOpinion := authorizationv1.SubjectAccessReviewStatus{Reason: "webhook: no rule of the test webhook matches"}

	t.Run("the webhook's silence leaves a request RBAC does not grant denied", func(t *testing.T) {
		webhook.Reset()
		if diff := cmp.Diff(noOpinion, ask(t, authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: exec})); diff != "" {
			t.Errorf("status (-want +got):\n%s", diff)
		}
		reqs := webhook.Requests()
		if len(reqs) != 1 {
			t.Fatalf("the webhook got %d reviews, want 1: %+v", len(reqs), reqs)
		}
		got := reqs[0].Spec
		if got.User != user || !contains(got.Groups, "system:serviceaccounts:"+ns) {
			t.Errorf("the webhook was asked about %q in %v, want %q in system:serviceaccounts:%s", got.User, got.Groups, user, ns)
		}
		// An access review that names no version asks about every one.
		want := *exec
		want.Version = "*"
		if diff := cmp.Diff(&want, got.ResourceAttributes); diff != "" {
			t.Errorf("the webhook was asked (-want +got):\n%s", diff)
		}
	})

	t.Run("an Allow rule allows at once, and stops allowing at once", func(t *testing.T) {
		webhook.Reset()
		webhook.Allow(execRule)
		want := authorizationv1.SubjectAccessReviewStatus{Allowed: true, Reason: "allowed by test webhook: " + execRule.String()}
		if diff := cmp.Diff(want, ask(t, authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: exec})); diff != "" {
			t.Errorf("status after Allow (-want +got):\n%s", diff)
		}
		other := *exec
		other.Namespace = "default"
		if diff := cmp.Diff(noOpinion, ask(t, authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &other})); diff != "" {
			t.Errorf("status in another namespace (-want +got):\n%s", diff)
		}
		// No answer is cached: the allowed one is gone after Reset.
		webhook.Reset()
		if diff := cmp.Diff(noOpinion, ask(t, authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: exec})); diff != "" {
			t.Errorf("status after Reset (-want +got):\n%s", diff)
		}
	})

	t.Run("a Deny rule denies", func(t *testing.T) {
		webhook.Reset()
		webhook.Deny(execRule)
		want := authorizationv1.SubjectAccessReviewStatus{Denied: true, Reason: "denied by test webhook: " + execRule.String()}
		if diff := cmp.Diff(want, ask(t, authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: exec})); diff != "" {
			t.Errorf("status (-want +got):\n%s", diff)
		}
	})

	t.Run("a non-resource URL", func(t *testing.T) {
		webhook.Reset()
		webhook.Allow(authzwebhook.Rule{User: user, Verb: "get", NonResourceURL: "/webhook-only"})
		got := ask(t, authorizationv1.SelfSubjectAccessReviewSpec{NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/webhook-only"}})
		if !got.Allowed || !strings.HasPrefix(got.Reason, "allowed by test webhook: ") {
			t.Errorf("status %+v, want allowed by the webhook", got)
		}
	})

	t.Run("RBAC answers first", func(t *testing.T) {
		webhook.Reset()
		webhook.Deny(authzwebhook.Rule{}) // would deny every resource request it saw
		got := ask(t, authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: "create", Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews",
		}})
		if !got.Allowed {
			t.Errorf("status %+v, want allowed by RBAC (system:basic-user)", got)
		}
		if reqs := webhook.Requests(); len(reqs) != 0 {
			t.Errorf("the webhook was asked what RBAC allows: %+v", reqs)
		}
	})

	t.Run("a rules review is incomplete", func(t *testing.T) {
		webhook.Reset()
		webhook.Allow(execRule)
		review, err := asToken.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
			Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("evaluationError: %s", review.Status.EvaluationError)
		if !review.Status.Incomplete || review.Status.EvaluationError == "" {
			t.Errorf("status %+v, want incomplete with an evaluation error", review.Status)
		}
		for _, r := range review.Status.ResourceRules {
			if contains(r.Resources, "pods/exec") {
				t.Errorf("the rules list the webhook's grant: %+v", r)
			}
		}
	})

	t.Run("the verifier finds what the rules do not show", func(t *testing.T) {
		webhook.Reset()
		webhook.Allow(execRule)
		rules, err := asToken.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
			Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var actions []risk.Action
		for _, a := range []string{"create pods/exec", "get nodes/proxy", "create selfsubjectaccessreviews.authorization.k8s.io"} {
			action, err := risk.ParseAction(a)
			if err != nil {
				t.Fatal(err)
			}
			actions = append(actions, action)
		}
		if risk.Covers(rules.Status.ResourceRules, rules.Status.NonResourceRules, actions[0]) {
			t.Fatalf("the listed rules cover %q, which only the webhook grants", actions[0])
		}
		v := &review.Verifier{Client: asToken.AuthorizationV1(), Concurrency: 2, Timeout: 10 * time.Second}
		got, err := v.Verify(ctx, []string{ns, "default"}, actions)
		if err != nil {
			t.Fatal(err)
		}
		type answer struct {
			Namespace, Action string
			Allowed           bool
		}
		var answers []answer
		for _, res := range got.List() {
			if res.Err != nil || res.EvaluationError != "" {
				t.Errorf("%s in %q: %v %s", res.Action, res.Namespace, res.Err, res.EvaluationError)
			}
			t.Logf("%s in %q: allowed %t, reason %q", res.Action, res.Namespace, res.Allowed, res.Reason)
			answers = append(answers, answer{res.Namespace, res.Action.String(), res.Allowed})
		}
		want := []answer{
			{ns, "create pods/exec", true},
			{"default", "create pods/exec", false},
			{"", "get nodes/proxy", false},
			{"", "create selfsubjectaccessreviews.authorization.k8s.io", true},
		}
		if diff := cmp.Diff(want, answers); diff != "" {
			t.Errorf("verifications (-want +got):\n%s", diff)
		}
		if want := "allowed by test webhook: " + execRule.String(); got.At(0).Reason != want {
			t.Errorf("reason %q, want %q", got.At(0).Reason, want)
		}
	})

	t.Run("a failing webhook denies with an evaluation error", func(t *testing.T) {
		webhook.Reset()
		webhook.Allow(execRule)
		webhook.SetFailure(500)
		begin := time.Now()
		got := ask(t, authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: exec})
		t.Logf("answered in %s after %d webhook calls: %+v", time.Since(begin).Round(time.Millisecond), len(webhook.Requests()), got)
		if got.Allowed || !got.Denied || got.EvaluationError == "" {
			t.Errorf("status %+v, want denied (failurePolicy Deny) with an evaluation error", got)
		}
	})

	t.Run("a webhook slower than its timeout denies with an evaluation error", func(t *testing.T) {
		webhook.Reset()
		webhook.Allow(execRule)
		const delay = 5 * time.Second
		webhook.SetDelay(delay)
		begin := time.Now()
		got := ask(t, authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: exec})
		elapsed := time.Since(begin)
		t.Logf("answered in %s after %d webhook calls: %+v", elapsed.Round(time.Millisecond), len(webhook.Requests()), got)
		if got.Allowed || !got.Denied || got.EvaluationError == "" {
			t.Errorf("status %+v, want denied with an evaluation error", got)
		}
		if elapsed < webhookTimeout || elapsed >= delay {
			t.Errorf("answered in %s, want after the %s webhook timeout and before the webhook's %s delay", elapsed, webhookTimeout, delay)
		}
		webhook.Reset()
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
