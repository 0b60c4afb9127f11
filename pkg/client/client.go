// Package client builds the typed clients kubectl-access sends its requests
// through, and no others.
//
// client-go's kubernetes.Clientset holds a client for every API group of
// Kubernetes, some fifty, and linking it links them all, with their apply
// configurations: binary size and start-up for clients no command uses.
// Interface is the part of it the commands use; *fake.Clientset satisfies it
// too, for unit tests.
package client

import (
	"fmt"

	authenticationv1client "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authenticationv1alpha1client "k8s.io/client-go/kubernetes/typed/authentication/v1alpha1"
	authenticationv1beta1client "k8s.io/client-go/kubernetes/typed/authentication/v1beta1"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	rbacv1client "k8s.io/client-go/kubernetes/typed/rbac/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// Interface is the typed clients of the API groups kubectl-access uses.
type Interface interface {
	CoreV1() corev1client.CoreV1Interface
	AuthenticationV1() authenticationv1client.AuthenticationV1Interface
	AuthenticationV1beta1() authenticationv1beta1client.AuthenticationV1beta1Interface
	AuthenticationV1alpha1() authenticationv1alpha1client.AuthenticationV1alpha1Interface
	AuthorizationV1() authorizationv1client.AuthorizationV1Interface
	RbacV1() rbacv1client.RbacV1Interface
}

// clients implements Interface.
type clients struct {
	core          *corev1client.CoreV1Client
	authn         *authenticationv1client.AuthenticationV1Client
	authnV1beta1  *authenticationv1beta1client.AuthenticationV1beta1Client
	authnV1alpha1 *authenticationv1alpha1client.AuthenticationV1alpha1Client
	authz         *authorizationv1client.AuthorizationV1Client
	rbac          *rbacv1client.RbacV1Client
}

func (c *clients) CoreV1() corev1client.CoreV1Interface { return c.core }
func (c *clients) AuthenticationV1() authenticationv1client.AuthenticationV1Interface {
	return c.authn
}
func (c *clients) AuthenticationV1beta1() authenticationv1beta1client.AuthenticationV1beta1Interface {
	return c.authnV1beta1
}
func (c *clients) AuthenticationV1alpha1() authenticationv1alpha1client.AuthenticationV1alpha1Interface {
	return c.authnV1alpha1
}
func (c *clients) AuthorizationV1() authorizationv1client.AuthorizationV1Interface { return c.authz }
func (c *clients) RbacV1() rbacv1client.RbacV1Interface                            { return c.rbac }

// NewForConfig builds the clients over one HTTP client (one transport, so
// one connection pool) and one rate limiter, as kubernetes.NewForConfig
// does for its: with cfg's RateLimiter when set, else a token bucket of
// cfg's QPS and Burst that every group shares.
func NewForConfig(cfg *rest.Config) (Interface, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.UserAgent == "" {
		cfg.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	if cfg.RateLimiter == nil && cfg.QPS > 0 {
		if cfg.Burst <= 0 {
			return nil, fmt.Errorf("burst is required to be greater than 0 when RateLimiter is not set and QPS is set to greater than 0")
		}
		cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst)
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	var c clients
	if c.core, err = corev1client.NewForConfigAndClient(cfg, httpClient); err != nil {
		return nil, err
	}
	if c.authn, err = authenticationv1client.NewForConfigAndClient(cfg, httpClient); err != nil {
		return nil, err
	}
	if c.authnV1beta1, err = authenticationv1beta1client.NewForConfigAndClient(cfg, httpClient); err != nil {
		return nil, err
	}
	if c.authnV1alpha1, err = authenticationv1alpha1client.NewForConfigAndClient(cfg, httpClient); err != nil {
		return nil, err
	}
	if c.authz, err = authorizationv1client.NewForConfigAndClient(cfg, httpClient); err != nil {
		return nil, err
	}
	if c.rbac, err = rbacv1client.NewForConfigAndClient(cfg, httpClient); err != nil {
		return nil, err
	}
	return &c, nil
}
