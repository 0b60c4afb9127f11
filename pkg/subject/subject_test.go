package subject

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	clienttesting "k8s.io/client-go/testing"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/cert"

	"github.com/kubectl-access/kubectl-access/pkg/credential"
	"github.com/kubectl-access/kubectl-access/pkg/transport"
)

var (
	serviceAccountsGVR = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	secretsGVR         = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
)

// jwt builds an unsigned JWT with claims, enough for the claims decoder.
func jwt(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","kid":"test"}`)) + "." + enc([]byte(claims)) + ".c2lnbmF0dXJl"
}

// requestedToken is what the fake's TokenRequests return: a bound token of
// build/ci.
var requestedToken = jwt(`{"sub":"system:serviceaccount:build:ci","kubernetes.io":{"namespace":"build","serviceaccount":{"name":"ci","uid":"sa-uid"}}}`)

// secretToken is what the fake's token controller writes into a Secret it
// fills: a legacy token of build/ci.
var secretToken = jwt(`{"sub":"system:serviceaccount:build:ci","kubernetes.io/serviceaccount/namespace":"build","kubernetes.io/serviceaccount/service-account.name":"ci","kubernetes.io/serviceaccount/service-account.uid":"sa-uid"}`)

// leak returns a piece of value (20 characters, or all of a shorter one)
// that text contains, or "".
func leak(text, value string) string {
	if len(value) < 20 {
		if strings.Contains(text, value) {
			return value
		}
		return ""
	}
	for i := 0; i+20 <= len(value); i++ {
		if strings.Contains(text, value[i:i+20]) {
			return value[i : i+20]
		}
	}
	return ""
}

func TestRequestValidate(t *testing.T) {
	longMixedCase := "Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7j" // 36 characters, no JWT
	cases := []struct {
		name string
		req  Request
		// value is the rejected value, which the error must not echo.
		value string
		// wantName is the *NameError expected; nil when another error (or
		// none) is.
		wantName *NameError
		// wantOther names the other error expected: "duration", "field" or
		// "plain"; "" means valid, unless wantName is set.
		wantOther string
	}{
		{name: "a service account in a namespace", req: Request{Mode: ServiceAccount, Namespace: "build", Name: "ci", Token: credential.Request{Source: credential.SourceAuto}}},
		{name: "the default service account when none is named", req: Request{Mode: ServiceAccount, Namespace: "build", Token: credential.Request{Source: credential.SourceRequest}}},
		{name: "a service account name may hold dots", req: Request{Mode: ServiceAccount, Namespace: "build", Name: "ci.bot-1", Token: credential.Request{Source: credential.SourceSecret}}},
		{
			name:     "a JWT as the service account looks like a token",
			req:      Request{Mode: ServiceAccount, Namespace: "build", Name: requestedToken, Token: credential.Request{Source: credential.SourceAuto}},
			value:    requestedToken,
			wantName: &NameError{Kind: "service account", Problem: "it looks like a token", LooksLikeToken: true},
		},
		{
			name:     "a long mixed-case value as the service account looks like a token",
			req:      Request{Mode: ServiceAccount, Namespace: "build", Name: longMixedCase, Token: credential.Request{Source: credential.SourceAuto}},
			value:    longMixedCase,
			wantName: &NameError{Kind: "service account", Problem: "it looks like a token", LooksLikeToken: true},
		},
		{
			name:     "a JWT as the namespace looks like a token",
			req:      Request{Mode: ServiceAccount, Namespace: requestedToken, Name: "ci", Token: credential.Request{Source: credential.SourceAuto}},
			value:    requestedToken,
			wantName: &NameError{Kind: "namespace", Problem: "it looks like a token", LooksLikeToken: true},
		},
		{
			name:     "a long mixed-case value as the namespace looks like a token",
			req:      Request{Mode: ServiceAccount, Namespace: longMixedCase, Name: "ci", Token: credential.Request{Source: credential.SourceAuto}},
			value:    longMixedCase,
			wantName: &NameError{Kind: "namespace", Problem: "it looks like a token", LooksLikeToken: true},
		},
		{
			name:     "a short uppercase name is a mistyped name, not a token",
			req:      Request{Mode: ServiceAccount, Namespace: "build", Name: "CI", Token: credential.Request{Source: credential.SourceAuto}},
			value:    "CI",
			wantName: &NameError{Kind: "service account", Problem: "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"},
		},
		{
			name:     "a namespace is a label: no dots",
			req:      Request{Mode: ServiceAccount, Namespace: "build.prod", Name: "ci", Token: credential.Request{Source: credential.SourceAuto}},
			value:    "build.prod",
			wantName: &NameError{Kind: "namespace", Problem: "must not contain dots"},
		},
		{
			name:     "the namespace must be known",
			req:      Request{Mode: ServiceAccount, Name: "ci", Token: credential.Request{Source: credential.SourceAuto}},
			wantName: &NameError{Kind: "namespace", Problem: "it is empty"},
		},
		{
			name:      "the token request is checked too",
			req:       Request{Mode: ServiceAccount, Namespace: "build", Name: "ci", Token: credential.Request{Source: credential.SourceRequest, Duration: time.Minute}},
			wantOther: "duration",
		},
		{
			name:      "the token request's own fields",
			req:       Request{Mode: ServiceAccount, Namespace: "build", Name: "ci", Token: credential.Request{Source: "vault"}},
			wantOther: "field",
		},
		{name: "--current needs no names", req: Request{Mode: Current}},
		{name: "a mounted token needs no names", req: Request{Mode: Mounted}},
		{name: "a token file", req: Request{Mode: TokenFile, TokenFile: "-"}},
		{name: "a token file must be named", req: Request{Mode: TokenFile}, wantOther: "plain"},
		{name: "an unknown mode", req: Request{Mode: "vault"}, wantOther: "plain"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.Validate()
			var (
				name     *NameError
				field    *credential.RequestError
				duration *credential.DurationTooShortError
			)
			switch {
			case tc.wantName != nil:
				if !errors.As(err, &name) {
					t.Fatalf("error = %v (%T), want a *NameError", err, err)
				}
				if diff := cmp.Diff(tc.wantName, name); diff != "" {
					t.Errorf("NameError (-want +got):\n%s", diff)
				}
			case tc.wantOther == "duration":
				if !errors.As(err, &duration) {
					t.Errorf("error = %v (%T), want a *credential.DurationTooShortError", err, err)
				}
			case tc.wantOther == "field":
				if !errors.As(err, &field) || field.Field != credential.FieldSource {
					t.Errorf("error = %v (%T), want a *credential.RequestError for the source", err, err)
				}
			case tc.wantOther == "plain":
				if err == nil || errors.As(err, &name) {
					t.Errorf("error = %v, want one that is no *NameError", err)
				}
			default:
				if err != nil {
					t.Errorf("unexpected error: %v", err)
				}
			}
			if err != nil && tc.value != "" {
				if l := leak(err.Error(), tc.value); l != "" {
					t.Errorf("the error %q echoes the value (%q)", err, l)
				}
			}
		})
	}
}

func TestNameRules(t *testing.T) {
	cases := []struct {
		name      string
		value     string
		saOK      bool // a valid service account name
		nsOK      bool // a valid namespace name
		likeToken bool
	}{
		{name: "a plain name", value: "ci", saOK: true, nsOK: true},
		{name: "a dotted name is a subdomain, not a label", value: "ci.bot", saOK: true},
		{name: "a long valid name is no token", value: strings.Repeat("a", 40), saOK: true, nsOK: true},
		{name: "a name of 64 characters is too long for a label", value: strings.Repeat("a", 64), saOK: true},
		{name: "uppercase in a short name is a typo", value: "MyApp"},
		{name: "uppercase in a name of 31 characters is a typo", value: "A" + strings.Repeat("b", 30)},
		{name: "uppercase in a name of 32 characters looks like a token", value: "A" + strings.Repeat("b", 31), likeToken: true},
		{name: "a JWT looks like a token", value: requestedToken, likeToken: true},
		{name: "any value starting like a JWT header looks like a token", value: "eyJhbGciOi", likeToken: true},
		{name: "an underscore in a long value looks like a token", value: strings.Repeat("a", 31) + "_", likeToken: true},
		{name: "more than 253 characters looks like a token", value: strings.Repeat("a", 254), likeToken: true},
		{name: "empty", value: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, rule := range []struct {
				kind     string
				validate func(string) error
				ok       bool
			}{
				{"service account", ValidateServiceAccountName, tc.saOK},
				{"namespace", ValidateNamespace, tc.nsOK},
			} {
				err := rule.validate(tc.value)
				if rule.ok {
					if err != nil {
						t.Errorf("%s: unexpected error: %v", rule.kind, err)
					}
					continue
				}
				var name *NameError
				if !errors.As(err, &name) {
					t.Errorf("%s: error = %v, want a *NameError", rule.kind, err)
					continue
				}
				if name.Kind != rule.kind || name.LooksLikeToken != tc.likeToken {
					t.Errorf("%s: kind %q, looks like a token %v; want %q, %v", rule.kind, name.Kind, name.LooksLikeToken, rule.kind, tc.likeToken)
				}
				if l := leak(err.Error(), tc.value); tc.value != "" && l != "" {
					t.Errorf("%s: the error %q echoes the value (%q)", rule.kind, err, l)
				}
			}
		})
	}
}

// newFake returns a fake cluster with the service account build/ci whose
// TokenRequests return requestedToken, valid for an hour.
func newFake() *fake.Clientset {
	client := fake.NewClientset(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "ci", Namespace: "build", UID: "sa-uid"}})
	client.PrependReactor("create", "serviceaccounts", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "token" {
			return false, nil, nil
		}
		if _, err := client.Tracker().Get(serviceAccountsGVR, a.GetNamespace(), a.(clienttesting.CreateActionImpl).Name); err != nil {
			return true, nil, err
		}
		tr := a.(clienttesting.CreateAction).GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		tr.Status.Token = requestedToken
		tr.Status.ExpirationTimestamp = metav1.NewTime(time.Now().Add(time.Hour))
		return true, tr, nil
	})
	return client
}

// resolver returns a Resolver whose caller's configuration is caller and
// whose core client is client's; calls counts the calls of CallerConfig
// and of CoreClient.
func resolver(caller *rest.Config, client *fake.Clientset) (*Resolver, *calls) {
	n := &calls{}
	return &Resolver{
		CallerConfig: func() (*rest.Config, error) {
			n.callerConfig++
			return caller, nil
		},
		CoreClient: func(cfg *rest.Config) (corev1client.CoreV1Interface, error) {
			n.coreClient = append(n.coreClient, cfg)
			return client.CoreV1(), nil
		},
	}, n
}

type calls struct {
	callerConfig int
	coreClient   []*rest.Config
}

func serviceAccountRequest() Request {
	return Request{Mode: ServiceAccount, Namespace: "build", Name: "ci", Token: credential.Request{Source: credential.SourceRequest}}
}

// callerMarker is the caller's own WrapTransport round tripper: it must
// never be in the chain of the identity's config.
type callerMarker struct{ next http.RoundTripper }

func (m *callerMarker) RoundTrip(r *http.Request) (*http.Response, error) { return m.next.RoundTrip(r) }
func (m *callerMarker) WrappedRoundTripper() http.RoundTripper            { return m.next }

// sentinel is the bottom of a round tripper chain under test.
type sentinel struct{}

func (sentinel) RoundTrip(*http.Request) (*http.Response, error) { return nil, errors.New("sentinel") }

// TestResolveServiceAccountCarriesTheTokenAlone fills every credential a
// caller's configuration can hold, as client-go's TestAnonymousAuthConfig
// does: the identity's configuration keeps none of them, only the token,
// and goes to the caller's server, hardened.
func TestResolveServiceAccountCarriesTheTokenAlone(t *testing.T) {
	caPEM, _, err := cert.GenerateSelfSignedCertKey("example.invalid", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	caller := &rest.Config{
		Host:            "https://example.invalid:6443",
		APIPath:         "/api",
		Username:        "caller-user",
		Password:        "caller-password",
		BearerToken:     "caller-token",
		BearerTokenFile: "/caller/token",
		Impersonate: rest.ImpersonationConfig{
			UserName: "admin", UID: "admin-uid", Groups: []string{"system:masters"}, Extra: map[string][]string{"scope": {"all"}},
		},
		AuthProvider: &clientcmdapi.AuthProviderConfig{Name: "oidc", Config: map[string]string{"id-token": "caller-id-token"}},
		ExecProvider: &clientcmdapi.ExecConfig{Command: "get-caller-token", APIVersion: "client.authentication.k8s.io/v1"},
		TLSClientConfig: rest.TLSClientConfig{
			ServerName: "api.example.invalid",
			CertFile:   "/caller/tls.crt",
			KeyFile:    "/caller/tls.key",
			CertData:   []byte("caller certificate"),
			KeyData:    []byte("caller key"),
			CAData:     caPEM,
		},
		UserAgent:     "kubectl-access/test",
		Transport:     sentinel{},
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper { return &callerMarker{next: rt} },
		QPS:           5,
		Burst:         10,
		Timeout:       7 * time.Second,
	}
	client := newFake()
	r, n := resolver(caller, client)
	id, err := r.Resolve(context.Background(), serviceAccountRequest())
	if err != nil {
		t.Fatal(err)
	}

	got := rest.CopyConfig(id.Config)
	got.WrapTransport = nil // the hardening, checked below
	want := &rest.Config{
		Host:        caller.Host,
		APIPath:     caller.APIPath,
		BearerToken: requestedToken,
		TLSClientConfig: rest.TLSClientConfig{
			ServerName: caller.ServerName,
			CAData:     caPEM,
		},
		UserAgent: caller.UserAgent,
		QPS:       caller.QPS,
		Burst:     caller.Burst,
		Timeout:   caller.Timeout,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the identity's config (-want +got):\n%s", diff)
	}
	if hardened, err := transport.IsHardened(id.Config); err != nil || !hardened {
		t.Errorf("the identity's config is not hardened (%v)", err)
	}
	for rt := id.Config.WrapTransport(sentinel{}); rt != nil; {
		if _, ok := rt.(*callerMarker); ok {
			t.Error("the identity's config goes through the caller's WrapTransport")
		}
		w, ok := rt.(interface{ WrappedRoundTripper() http.RoundTripper })
		if !ok {
			break
		}
		rt = w.WrappedRoundTripper()
	}

	if id.Mode != ServiceAccount || id.Namespace != "build" {
		t.Errorf("mode %q, namespace %q; want %q, build", id.Mode, id.Namespace, ServiceAccount)
	}
	if id.Credential == nil || id.Credential.Token != requestedToken || id.Token() != requestedToken {
		t.Errorf("credential = %v, want requestedToken", id.Credential)
	}
	if got := id.Describe(); got != "system:serviceaccount:build:ci" {
		t.Errorf("Describe() = %q", got)
	}
	// The token was obtained with the caller's own credentials.
	if len(n.coreClient) != 1 || n.coreClient[0].BearerToken != "caller-token" || n.coreClient[0].Host != caller.Host {
		t.Errorf("CoreClient was called with %d configs, want one: the caller's", len(n.coreClient))
	}
	if id.Caller == nil || id.Caller.BearerToken != "caller-token" || id.Caller.Host != caller.Host {
		t.Error("the identity's Caller is not the caller's configuration")
	}
	if caller.BearerToken != "caller-token" || caller.ExecProvider == nil {
		t.Error("Resolve changed the caller's configuration")
	}
}

// TestResolveHardensEveryConfig: whatever the mode, both configurations
// Resolve returns refuse redirects and cap Retry-After.
func TestResolveHardensEveryConfig(t *testing.T) {
	cases := []struct {
		name  string
		req   Request
		stdin string
	}{
		{name: "service account", req: serviceAccountRequest()},
		{name: "current", req: Request{Mode: Current}},
		{name: "token file", req: Request{Mode: TokenFile, TokenFile: "-"}, stdin: requestedToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := resolver(&rest.Config{Host: "https://example.invalid", BearerToken: "caller-token"}, newFake())
			r.Stdin = strings.NewReader(tc.stdin)
			id, err := r.Resolve(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			for what, cfg := range map[string]*rest.Config{"Config": id.Config, "Caller": id.Caller} {
				if cfg == nil {
					t.Errorf("%s is nil", what)
					continue
				}
				if hardened, err := transport.IsHardened(cfg); err != nil || !hardened {
					t.Errorf("%s is not hardened (%v)", what, err)
				}
			}
		})
	}
}

// TestResolveChecksTheSchemeBeforeAnyRequest: no credential is requested
// over plain http:// unless it is allowed.
func TestResolveChecksTheSchemeBeforeAnyRequest(t *testing.T) {
	for _, server := range []string{"http://example.invalid", "HTTP://example.invalid:8080"} {
		t.Run(server, func(t *testing.T) {
			client := newFake()
			r, n := resolver(&rest.Config{Host: server, BearerToken: "caller-token"}, client)
			_, err := r.Resolve(context.Background(), serviceAccountRequest())
			var scheme *SchemeError
			if !errors.As(err, &scheme) {
				t.Fatalf("error = %v, want a *SchemeError", err)
			}
			if got := client.Actions(); len(got) != 0 || len(n.coreClient) != 0 {
				t.Errorf("a credential was requested over plain http: %v", got)
			}

			req := serviceAccountRequest()
			req.AllowInsecureHTTP = true
			id, err := r.Resolve(context.Background(), req)
			if err != nil {
				t.Fatalf("with AllowInsecureHTTP: %v", err)
			}
			if id.Config.BearerToken != requestedToken || !strings.EqualFold(id.Config.Host, server) {
				t.Errorf("with AllowInsecureHTTP: the config goes to %s", id.Config.Host)
			}
		})
	}
}

// TestResolveValidatesBeforeAnything: a request that fails Validate reads
// no kubeconfig and sends nothing.
func TestResolveValidatesBeforeAnything(t *testing.T) {
	for _, req := range []Request{
		{Mode: ServiceAccount, Namespace: "build", Name: requestedToken, Token: credential.Request{Source: credential.SourceAuto}},
		{Mode: ServiceAccount, Namespace: "Build", Name: "ci", Token: credential.Request{Source: credential.SourceAuto}},
		{Mode: ServiceAccount, Namespace: "build", Name: "ci", Token: credential.Request{Source: credential.SourceSecret, Duration: time.Hour}},
		{Mode: TokenFile},
	} {
		client := newFake()
		r, n := resolver(&rest.Config{Host: "https://example.invalid"}, client)
		r.Stdin = strings.NewReader(requestedToken)
		if _, err := r.Resolve(context.Background(), req); err == nil {
			t.Errorf("%s: no error", req.Mode)
		}
		if n.callerConfig != 0 || len(client.Actions()) != 0 {
			t.Errorf("%s: an invalid request read the kubeconfig %d times and sent %v", req.Mode, n.callerConfig, client.Actions())
		}
	}
}

func TestResolveObtainError(t *testing.T) {
	r, _ := resolver(&rest.Config{Host: "https://example.invalid"}, newFake())
	req := serviceAccountRequest()
	req.Name = "nobody"
	_, err := r.Resolve(context.Background(), req)
	var obtain *ObtainError
	if !errors.As(err, &obtain) {
		t.Fatalf("error = %v (%T), want an *ObtainError", err, err)
	}
	if !strings.Contains(err.Error(), `service account "nobody" not found in namespace "build"`) {
		t.Errorf("error = %v, want it to say the service account does not exist", err)
	}
}

func TestResolveTokenFile(t *testing.T) {
	cases := []struct {
		name      string
		stdin     string
		offline   bool
		wantErr   error // wrapped in a *FileError
		wantToken string
	}{
		{name: "a token on stdin, trimmed", stdin: "\n" + requestedToken + "\n", wantToken: requestedToken},
		{name: "offline: the token alone, no kubeconfig", stdin: requestedToken, offline: true, wantToken: requestedToken},
		{name: "an empty token is refused", stdin: " \n", wantErr: credential.ErrEmptyToken},
		{name: "an Authorization header is refused", stdin: "Bearer " + requestedToken, wantErr: credential.ErrBearerValue},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := newFake()
			r, n := resolver(&rest.Config{Host: "https://example.invalid", BearerToken: "caller-token"}, client)
			r.Stdin = strings.NewReader(tc.stdin)
			id, err := r.Resolve(context.Background(), Request{Mode: TokenFile, TokenFile: "-", Offline: tc.offline})
			if tc.wantErr != nil {
				var file *FileError
				if !errors.As(err, &file) || !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v (%T), want a *FileError wrapping %v", err, err, tc.wantErr)
				}
				if l := leak(err.Error(), requestedToken); l != "" {
					t.Errorf("the error echoes the token (%q)", l)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Credential == nil || id.Credential.Token != tc.wantToken || id.Credential.Source != credential.SourceFile {
				t.Fatalf("credential = %v, want the token from stdin", id.Credential)
			}
			if id.Describe() != "system:serviceaccount:build:ci" {
				t.Errorf("Describe() = %q, want the subject the token claims", id.Describe())
			}
			if len(client.Actions()) != 0 || len(n.coreClient) != 0 {
				t.Errorf("a token file sent %v", client.Actions())
			}
			if tc.offline {
				if n.callerConfig != 0 || id.Config != nil || id.Caller != nil {
					t.Errorf("an offline token file read the kubeconfig (%d calls) or built configs", n.callerConfig)
				}
				return
			}
			if id.Config == nil || id.Config.BearerToken != tc.wantToken || id.Config.Host != "https://example.invalid" {
				t.Errorf("the config does not carry the token to the caller's server")
			}
		})
	}
}

func TestResolveCurrent(t *testing.T) {
	client := newFake()
	caller := &rest.Config{Host: "https://example.invalid", BearerToken: "caller-token",
		TLSClientConfig: rest.TLSClientConfig{CertData: []byte("caller certificate"), KeyData: []byte("caller key")}}
	r, n := resolver(caller, client)
	id, err := r.Resolve(context.Background(), Request{Mode: Current, Namespace: "build"})
	if err != nil {
		t.Fatal(err)
	}
	if id.Credential != nil {
		t.Errorf("credential = %v, want nil: --current acts as the caller", id.Credential)
	}
	got := rest.CopyConfig(id.Config)
	got.WrapTransport = nil
	if diff := cmp.Diff(caller, got); diff != "" {
		t.Errorf("--current's config is not the caller's (-want +got):\n%s", diff)
	}
	if id.Token() != "caller-token" || id.Describe() != "the kubeconfig's credentials" {
		t.Errorf("Token() = %q, Describe() = %q", id.Token(), id.Describe())
	}
	if len(client.Actions()) != 0 || len(n.coreClient) != 0 {
		t.Errorf("--current sent %v", client.Actions())
	}
}

func TestCheckUsername(t *testing.T) {
	cases := []struct {
		name     string
		req      Request
		username string
		want     *WrongSubjectError
	}{
		{name: "the service account asked for", req: serviceAccountRequest(), username: "system:serviceaccount:build:ci"},
		{name: "another service account", req: serviceAccountRequest(), username: "system:serviceaccount:build:other",
			want: &WrongSubjectError{Want: "system:serviceaccount:build:ci", Got: "system:serviceaccount:build:other"}},
		{name: "the same name in another namespace", req: serviceAccountRequest(), username: "system:serviceaccount:prod:ci",
			want: &WrongSubjectError{Want: "system:serviceaccount:build:ci", Got: "system:serviceaccount:prod:ci"}},
		{name: "anonymous", req: serviceAccountRequest(), username: "system:anonymous",
			want: &WrongSubjectError{Want: "system:serviceaccount:build:ci", Got: "system:anonymous"}},
		{name: "--current names nobody", req: Request{Mode: Current}, username: "kubernetes-admin"},
		{name: "a token file names nobody", req: Request{Mode: TokenFile, TokenFile: "-"}, username: "system:serviceaccount:build:other"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := resolver(&rest.Config{Host: "https://example.invalid"}, newFake())
			r.Stdin = strings.NewReader(requestedToken)
			id, err := r.Resolve(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			err = id.CheckUsername(tc.username)
			if tc.want == nil {
				if err != nil {
					t.Errorf("unexpected error: %v", err)
				}
				return
			}
			var wrong *WrongSubjectError
			if !errors.As(err, &wrong) {
				t.Fatalf("error = %v, want a *WrongSubjectError", err)
			}
			if diff := cmp.Diff(tc.want, wrong); diff != "" {
				t.Errorf("WrongSubjectError (-want +got):\n%s", diff)
			}
		})
	}
}

// playTokenController makes the fake's Secrets behave as a real
// cluster's where --create-secret depends on it (see playAPIServer in
// pkg/credential): a created Secret gets a uid, and every unfilled token
// Secret is filled with secretToken as soon as a watch starts, so no event
// can be missed.
func playTokenController(client *fake.Clientset) {
	n := 0
	client.PrependReactor("create", "secrets", func(a clienttesting.Action) (bool, runtime.Object, error) {
		s := a.(clienttesting.CreateAction).GetObject().(*corev1.Secret).DeepCopy()
		n++
		s.UID = k8stypes.UID(fmt.Sprintf("secret-uid-%d", n))
		if err := client.Tracker().Create(secretsGVR, s, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, s, nil
	})
	client.PrependWatchReactor("secrets", func(a clienttesting.Action) (bool, watch.Interface, error) {
		w, err := client.Tracker().Watch(secretsGVR, a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		list, err := client.Tracker().List(secretsGVR, corev1.SchemeGroupVersion.WithKind("Secret"), a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		for _, s := range list.(*corev1.SecretList).Items {
			if s.Type == corev1.SecretTypeServiceAccountToken && len(s.Data[corev1.ServiceAccountTokenKey]) == 0 {
				s.Data = map[string][]byte{corev1.ServiceAccountTokenKey: []byte(secretToken)}
				if err := client.Tracker().Update(secretsGVR, &s, s.Namespace); err != nil {
					return true, nil, err
				}
			}
		}
		return true, w, nil
	})
}

// TestDiscardAndKeep: the Secret a --create-secret request created is
// deleted by Discard (the command failed afterwards), and kept once the
// command called Keep (its result is out).
func TestDiscardAndKeep(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep=%v", keep), func(t *testing.T) {
			client := newFake()
			playTokenController(client)
			r, _ := resolver(&rest.Config{Host: "https://example.invalid"}, client)
			var warnings []string
			r.Warnf = func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }
			req := Request{Mode: ServiceAccount, Namespace: "build", Name: "ci",
				Token: credential.Request{Source: credential.SourceSecret, CreateSecret: true, WaitTimeout: 5 * time.Second}}
			id, err := r.Resolve(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if id.Credential.SecretName != "ci-token" || !id.Credential.Created() || id.Config.BearerToken != secretToken {
				t.Fatalf("credential = %v, want the token of the Secret ci-token, created", id.Credential)
			}
			if keep {
				id.Keep()
			}
			id.Discard()
			id.Discard()

			var deletes []string
			for _, a := range client.Actions() {
				if a.Matches("delete", "secrets") {
					d := a.(clienttesting.DeleteAction)
					uid := ""
					if p := d.GetDeleteOptions().Preconditions; p != nil && p.UID != nil {
						uid = string(*p.UID)
					}
					deletes = append(deletes, d.GetName()+" uid="+uid)
				}
			}
			_, getErr := client.Tracker().Get(secretsGVR, "build", "ci-token")
			if keep {
				if len(deletes) != 0 || getErr != nil {
					t.Errorf("after Keep, Discard deleted %v (get: %v)", deletes, getErr)
				}
				return
			}
			if diff := cmp.Diff([]string{"ci-token uid=secret-uid-1"}, deletes); diff != "" {
				t.Errorf("deletions, once and conditioned on the uid (-want +got):\n%s", diff)
			}
			if getErr == nil {
				t.Error("the Secret is still there after Discard")
			}
			if last := warnings[len(warnings)-1]; last != "deleted Secret build/ci-token again: this run created it and failed" {
				t.Errorf("last warning = %q", last)
			}
		})
	}
}

func TestDiscardNilAndKeepNil(t *testing.T) {
	var id *Identity
	id.Keep()
	id.Discard()
	(&Identity{}).Discard()
}
