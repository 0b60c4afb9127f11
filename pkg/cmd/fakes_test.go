package cmd

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubectl-access/kubectl-access/pkg/client"
)

// Options-level tests build a command's options the way its cobra command
// does (Flags, AddFlags, parse, ToOptions) and then replace what would reach
// a server with typed fakes, as kubectl's create_token_test.go and
// auth/whoami_test.go do.

// testServer is the caller's server in every options-level test. Nothing
// listens there: the fakes answer instead.
const testServer = "https://example.invalid"

// testToken is the TokenRequest token of system:serviceaccount:build:ci (a
// JWT, decoded but never verified).
var testToken = func() string {
	enc := base64.RawURLEncoding.EncodeToString
	claims := `{"sub":"system:serviceaccount:build:ci","jti":"j1","kubernetes.io":{"namespace":"build","serviceaccount":{"name":"ci","uid":"sa-uid"}}}`
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}()

// secretToken is what the fake's token controller writes into a token
// Secret: a legacy token of build/ci.
var secretToken = func() string {
	enc := base64.RawURLEncoding.EncodeToString
	claims := `{"sub":"system:serviceaccount:build:ci","kubernetes.io/serviceaccount/namespace":"build","kubernetes.io/serviceaccount/service-account.name":"ci","kubernetes.io/serviceaccount/service-account.uid":"sa-uid"}`
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}()

// writeKubeconfig writes a kubeconfig whose one context, "test", uses
// cluster "test" at testServer and namespace build, and returns its path.
func writeKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	const cfg = `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "https://example.invalid"}
users:
- name: caller
  user: {}
contexts:
- name: test
  context: {cluster: test, user: caller, namespace: build}
current-context: test
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// parseFlags registers the kubeconfig flags and a command's own flags (by
// addFlags) on a new flag set, as NewCmdAccess and the command do, and
// parses args with --kubeconfig set to a test kubeconfig. It returns the
// kubeconfig flags, the flag set and the positional arguments.
func parseFlags(t *testing.T, addFlags func(*pflag.FlagSet), args ...string) (*genericclioptions.ConfigFlags, *pflag.FlagSet, []string) {
	t.Helper()
	cf := genericclioptions.NewConfigFlags(true)
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	cf.AddFlags(fs)
	addFlags(fs)
	if err := fs.Parse(append([]string{"--kubeconfig", writeKubeconfig(t)}, args...)); err != nil {
		t.Fatalf("parsing %q: %v", args, err)
	}
	return cf, fs, fs.Args()
}

// fakeCluster is the server of an options-level test, seen through two
// typed fakes: caller answers the kubeconfig's own credentials (the token's
// ServiceAccount GET, Secret LIST and TokenRequest, the namespace list of
// -A, and everything in --current mode), asToken the service account's
// token (the reviews). Their Actions() are what each credential sent.
type fakeCluster struct {
	t       *testing.T
	caller  *fake.Clientset
	asToken *fake.Clientset

	// user answers SelfSubjectReviews; nil answers 404 in every version.
	user *authenticationv1.UserInfo
	// reviewErr answers SelfSubjectReviews instead, when set.
	reviewErr error
	// rules are the resource rules granted per namespace; every review
	// also grants GET /version.
	rules map[string][]authorizationv1.ResourceRule
	// fail answers a namespace's SelfSubjectRulesReview with an error.
	fail map[string]error
	// incomplete marks a namespace's review incomplete with this reason.
	incomplete map[string]string
	// listErr answers the caller's namespace list instead, when set.
	listErr error
	// allowed are the actions SelfSubjectAccessReviews allow, each as
	// "NAMESPACE VERB RESOURCE[/SUBRESOURCE]" (NAMESPACE empty for a
	// cluster-wide review) or " VERB /PATH"; no authorizer has an opinion on
	// any other.
	allowed map[string]bool
	// accessErr answers every SelfSubjectAccessReview instead, when set.
	accessErr error

	// callerConfigs counts the calls of the resolver's CallerConfig.
	callerConfigs int
	// tokenConfigs are the configs the token's clients were built from.
	tokenConfigs []*rest.Config
}

// newFakeCluster returns a cluster with the service account build/ci, and
// namespaces build, x, y and z for -A. Its SelfSubjectReview says the
// token is ci.
func newFakeCluster(t *testing.T) *fakeCluster {
	c := &fakeCluster{
		t: t,
		caller: fake.NewClientset(
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "ci", Namespace: "build", UID: "sa-uid"}},
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x"}},
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "z"}},
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "y"}},
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "build"}},
		),
		asToken:    fake.NewClientset(),
		user:       ciUserInfo(),
		rules:      map[string][]authorizationv1.ResourceRule{},
		fail:       map[string]error{},
		incomplete: map[string]string{},
		allowed:    map[string]bool{},
	}
	c.caller.PrependReactor("create", "serviceaccounts", c.tokenRequest)
	c.caller.PrependReactor("list", "namespaces", func(clienttesting.Action) (bool, runtime.Object, error) {
		return c.listErr != nil, nil, c.listErr
	})
	for _, client := range []*fake.Clientset{c.caller, c.asToken} {
		client.PrependReactor("create", "selfsubjectreviews", c.selfSubjectReview)
		client.PrependReactor("create", "selfsubjectrulesreviews", c.rulesReview)
		client.PrependReactor("create", "selfsubjectaccessreviews", c.accessReview)
	}
	return c
}

func ciUserInfo() *authenticationv1.UserInfo {
	return &authenticationv1.UserInfo{Username: "system:serviceaccount:build:ci", UID: "sa-uid",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:build", "system:authenticated"}}
}

// tokenRequest answers a TokenRequest for an existing service account
// with testToken, valid for an hour.
func (c *fakeCluster) tokenRequest(a clienttesting.Action) (bool, runtime.Object, error) {
	if a.GetSubresource() != "token" {
		return false, nil, nil
	}
	name := a.(clienttesting.CreateActionImpl).Name
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	if _, err := c.caller.Tracker().Get(gvr, a.GetNamespace(), name); err != nil {
		return true, nil, err
	}
	tr := a.(clienttesting.CreateAction).GetObject().(*authenticationv1.TokenRequest).DeepCopy()
	tr.Status.Token = testToken
	tr.Status.ExpirationTimestamp = metav1.NewTime(time.Now().Add(time.Hour))
	return true, tr, nil
}

func (c *fakeCluster) selfSubjectReview(a clienttesting.Action) (bool, runtime.Object, error) {
	switch {
	case c.reviewErr != nil:
		return true, nil, c.reviewErr
	case c.user == nil || a.GetResource().Version != "v1":
		return true, nil, apierrors.NewNotFound(a.GetResource().GroupResource(), "")
	}
	return true, &authenticationv1.SelfSubjectReview{Status: authenticationv1.SelfSubjectReviewStatus{UserInfo: *c.user}}, nil
}

func (c *fakeCluster) rulesReview(a clienttesting.Action) (bool, runtime.Object, error) {
	review := a.(clienttesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectRulesReview).DeepCopy()
	ns := review.Spec.Namespace
	if err := c.fail[ns]; err != nil {
		return true, nil, err
	}
	review.Status = authorizationv1.SubjectRulesReviewStatus{
		ResourceRules:    c.rules[ns],
		NonResourceRules: []authorizationv1.NonResourceRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/version"}}},
		Incomplete:       c.incomplete[ns] != "",
		EvaluationError:  c.incomplete[ns],
	}
	return true, review, nil
}

func (c *fakeCluster) accessReview(a clienttesting.Action) (bool, runtime.Object, error) {
	if c.accessErr != nil {
		return true, nil, c.accessErr
	}
	review := a.(clienttesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).DeepCopy()
	var key string
	switch spec := review.Spec; {
	case spec.ResourceAttributes != nil:
		ra := spec.ResourceAttributes
		key = ra.Namespace + " " + ra.Verb + " " + ra.Resource
		if ra.Subresource != "" {
			key += "/" + ra.Subresource
		}
	case spec.NonResourceAttributes != nil:
		key = " " + spec.NonResourceAttributes.Verb + " " + spec.NonResourceAttributes.Path
	}
	review.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: c.allowed[key]}
	return true, review, nil
}

// inject makes the identity of o resolve against the fakes: the caller's
// configuration is a fixed one for testServer, without credentials, and
// tokens are obtained with the caller's fake.
func (c *fakeCluster) inject(o *identityOptions) {
	o.resolver.CallerConfig = func() (*rest.Config, error) {
		c.callerConfigs++
		return &rest.Config{Host: testServer}, nil
	}
	o.resolver.CoreClient = func(cfg *rest.Config) (corev1client.CoreV1Interface, error) {
		if cfg.Host != testServer || cfg.BearerToken != "" {
			c.t.Errorf("the token is obtained with a config for %s with a bearer token, not the caller's", cfg.Host)
		}
		return c.caller.CoreV1(), nil
	}
}

// newClient is whoami's newClient: the caller's fake for a config without
// a token (the caller's own), the token's fake for testToken.
func (c *fakeCluster) newClient(cfg *rest.Config) (client.Interface, error) {
	switch {
	case cfg.Host != testServer:
		return nil, fmt.Errorf("a client for %s, not the caller's server", cfg.Host)
	case cfg.BearerToken == "":
		return c.caller, nil
	case cfg.BearerToken == testToken:
		c.tokenConfigs = append(c.tokenConfigs, cfg)
		return c.asToken, nil
	}
	return nil, fmt.Errorf("a client for a token the test does not know")
}

// whoami runs `kubectl access whoami args` at the options level against
// the fakes and returns what it printed and its error (which Execute would
// print once, as "error: ..."). It fails the test if the token was printed.
func (c *fakeCluster) whoami(args ...string) (stdout, stderr string, err error) {
	c.t.Helper()
	flags := NewWhoamiFlags()
	cf, fs, pos := parseFlags(c.t, flags.AddFlags, args...)
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	o, err := flags.ToOptions(cf, fs, pos, streams)
	if err == nil {
		c.inject(&o.identity)
		o.newClient = c.newClient
		if err = o.Validate(); err == nil {
			err = o.Run(context.Background())
		}
	}
	c.checkNoToken(out.String(), errOut.String(), err)
	return out.String(), errOut.String(), err
}

// checkNoToken fails the test when any of the outputs holds testToken.
func (c *fakeCluster) checkNoToken(stdout, stderr string, err error) {
	c.t.Helper()
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	for _, s := range []string{stdout, stderr, msg} {
		if strings.Contains(s, testToken) {
			c.t.Errorf("the token was printed: %q", s)
		}
	}
}

// playTokenController makes the caller's Secrets behave as a real
// cluster's where --create-secret depends on it (see playAPIServer in
// pkg/credential): a created Secret gets a uid, and every unfilled token
// Secret is filled with secretToken as soon as a watch starts.
func (c *fakeCluster) playTokenController() {
	secrets := schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	client := c.caller
	n := 0
	client.PrependReactor("create", "secrets", func(a clienttesting.Action) (bool, runtime.Object, error) {
		s := a.(clienttesting.CreateAction).GetObject().(*corev1.Secret).DeepCopy()
		n++
		s.UID = types.UID(fmt.Sprintf("secret-uid-%d", n))
		if err := client.Tracker().Create(secrets, s, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, s, nil
	})
	client.PrependWatchReactor("secrets", func(a clienttesting.Action) (bool, watch.Interface, error) {
		w, err := client.Tracker().Watch(secrets, a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		list, err := client.Tracker().List(secrets, corev1.SchemeGroupVersion.WithKind("Secret"), a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		for _, s := range list.(*corev1.SecretList).Items {
			if s.Type == corev1.SecretTypeServiceAccountToken && len(s.Data[corev1.ServiceAccountTokenKey]) == 0 {
				s.Data = map[string][]byte{corev1.ServiceAccountTokenKey: []byte(secretToken)}
				if err := client.Tracker().Update(secrets, &s, s.Namespace); err != nil {
					return true, nil, err
				}
			}
		}
		return true, w, nil
	})
}

// secretNames lists the names of the caller's Secrets in namespace build.
func (c *fakeCluster) secretNames() []string {
	c.t.Helper()
	list, err := c.caller.CoreV1().Secrets("build").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	names := []string{}
	for _, s := range list.Items {
		names = append(names, s.Name)
	}
	return names
}

// requests lists the actions a fake saw, each as "verb resource[/sub]"
// with " in NAMESPACE" for a namespaced one.
func requests(client *fake.Clientset) []string {
	got := []string{}
	for _, a := range client.Actions() {
		s := a.GetVerb() + " " + a.GetResource().Resource
		if sub := a.GetSubresource(); sub != "" {
			s += "/" + sub
		}
		if ns := a.GetNamespace(); ns != "" {
			s += " in " + ns
		}
		got = append(got, s)
	}
	return got
}
