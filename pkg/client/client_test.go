package client

import (
	"testing"

	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// The fake clientset the unit tests inject satisfies Interface.
var _ Interface = fake.NewClientset()

// TestNewForConfigSharesOneRateLimiter: every group's client takes its
// requests from one token bucket, as kubernetes.NewForConfig's do, so that
// --concurrency and the QPS of a fan-out bound the whole run, not each
// group apart; a limiter given in the config is the one used.
func TestNewForConfigSharesOneRateLimiter(t *testing.T) {
	c, err := NewForConfig(&rest.Config{Host: "https://127.0.0.1:1", QPS: 5, Burst: 10})
	if err != nil {
		t.Fatal(err)
	}
	limiters := []flowcontrol.RateLimiter{
		c.CoreV1().RESTClient().GetRateLimiter(),
		c.AuthenticationV1().RESTClient().GetRateLimiter(),
		c.AuthenticationV1beta1().RESTClient().GetRateLimiter(),
		c.AuthenticationV1alpha1().RESTClient().GetRateLimiter(),
		c.AuthorizationV1().RESTClient().GetRateLimiter(),
		c.RbacV1().RESTClient().GetRateLimiter(),
	}
	if limiters[0] == nil {
		t.Fatal("no rate limiter")
	}
	for i, l := range limiters {
		if l != limiters[0] {
			t.Errorf("client %d has a rate limiter of its own", i)
		}
	}
	if qps := limiters[0].QPS(); qps != 5 {
		t.Errorf("QPS = %v, want 5", qps)
	}

	given := flowcontrol.NewFakeAlwaysRateLimiter()
	c, err = NewForConfig(&rest.Config{Host: "https://127.0.0.1:1", QPS: 5, Burst: 10, RateLimiter: given})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.AuthorizationV1().RESTClient().GetRateLimiter(); got != given {
		t.Errorf("the config's rate limiter is not used: %v", got)
	}

	if _, err := NewForConfig(&rest.Config{Host: "https://127.0.0.1:1", QPS: 5}); err == nil {
		t.Error("QPS without a burst: no error")
	}
}
