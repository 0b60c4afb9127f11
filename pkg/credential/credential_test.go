package credential

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	clienttesting "k8s.io/client-go/testing"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/flowcontrol"
)

const ns = "build"

func serviceAccount(name, uid string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: k8stypes.UID("uid-" + uid)}}
}

type secretOpt func(*corev1.Secret)

func tokenSecret(name, sa, token string, created time.Time, opts ...secretOpt) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, CreationTimestamp: metav1.NewTime(created),
			Annotations: map[string]string{corev1.ServiceAccountNameKey: sa},
		},
		Type: corev1.SecretTypeServiceAccountToken,
		Data: map[string][]byte{corev1.ServiceAccountTokenKey: []byte(token), corev1.ServiceAccountRootCAKey: []byte("CA-" + name)},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func withUID(uid string) secretOpt {
	return func(s *corev1.Secret) { s.Annotations[corev1.ServiceAccountUIDKey] = "uid-" + uid }
}
func invalidated(s *corev1.Secret) { s.Labels = map[string]string{labelInvalidSince: "2026-01-01"} }
func opaque(s *corev1.Secret)      { s.Type = corev1.SecretTypeOpaque }

// newFake returns a fake clientset whose TokenRequests succeed with token
// "requested" and an expiry one hour away.
func newFake(objs ...runtime.Object) *fake.Clientset {
	client := fake.NewClientset(objs...)
	client.PrependReactor("create", "serviceaccounts", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "token" {
			return false, nil, nil
		}
		name := a.(clienttesting.CreateActionImpl).Name
		if _, err := client.Tracker().Get(schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, ns, name); err != nil {
			return true, nil, err
		}
		tr := a.(clienttesting.CreateAction).GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		tr.Status.Token = "requested"
		tr.Status.ExpirationTimestamp = metav1.NewTime(time.Now().Add(time.Hour))
		return true, tr, nil
	})
	return client
}

func TestGetChoosesSecret(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name       string
		objs       []runtime.Object
		source     Source
		wantSource Source
		wantSecret string
		wantToken  string
	}{
		{
			name:       "the documented flow: one filled Secret",
			objs:       []runtime.Object{serviceAccount("ci", "1"), tokenSecret("ci-token-abc", "ci", "t1", t0)},
			source:     SourceAuto,
			wantSource: SourceSecret, wantSecret: "ci-token-abc", wantToken: "t1",
		},
		{
			name: "the oldest of several wins",
			objs: []runtime.Object{serviceAccount("ci", "1"),
				tokenSecret("b-newer", "ci", "new", t0.Add(time.Hour)),
				tokenSecret("z-older", "ci", "old", t0)},
			source:     SourceSecret,
			wantSource: SourceSecret, wantSecret: "z-older", wantToken: "old",
		},
		{
			name: "same age: the first by name",
			objs: []runtime.Object{serviceAccount("ci", "1"),
				tokenSecret("b", "ci", "tb", t0), tokenSecret("a", "ci", "ta", t0)},
			source:     SourceSecret,
			wantSource: SourceSecret, wantSecret: "a", wantToken: "ta",
		},
		{
			name: "invalidated, empty, foreign, stale-uid and opaque Secrets are skipped",
			objs: []runtime.Object{serviceAccount("ci", "1"),
				tokenSecret("invalid", "ci", "x", t0, invalidated),
				tokenSecret("empty", "ci", "", t0),
				tokenSecret("other", "web", "x", t0),
				tokenSecret("stale", "ci", "x", t0, withUID("0")),
				tokenSecret("opaque", "ci", "x", t0, opaque),
				tokenSecret("good", "ci", "tg", t0.Add(time.Hour), withUID("1"))},
			source:     SourceSecret,
			wantSource: SourceSecret, wantSecret: "good", wantToken: "tg",
		},
		{
			name:       "auto falls back to TokenRequest",
			objs:       []runtime.Object{serviceAccount("ci", "1"), tokenSecret("invalid", "ci", "x", t0, invalidated)},
			source:     SourceAuto,
			wantSource: SourceRequest, wantToken: "requested",
		},
		{
			name:       "request ignores Secrets",
			objs:       []runtime.Object{serviceAccount("ci", "1"), tokenSecret("s", "ci", "t", t0)},
			source:     SourceRequest,
			wantSource: SourceRequest, wantToken: "requested",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := &Getter{Client: newFake(tc.objs...).CoreV1()}
			c, err := g.Get(context.Background(), Request{Namespace: ns, ServiceAccount: "ci", Source: tc.source})
			if err != nil {
				t.Fatal(err)
			}
			got := []string{string(c.Source), c.SecretName, c.Token, c.ServiceAccount, c.Namespace}
			want := []string{string(tc.wantSource), tc.wantSecret, tc.wantToken, "ci", ns}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("source, secret, token, sa, namespace (-want +got):\n%s", diff)
			}
			if tc.wantSource == SourceSecret && string(c.CAData) != "CA-"+tc.wantSecret {
				t.Errorf("CAData = %q, want the Secret's ca.crt", c.CAData)
			}
			if tc.wantSource == SourceRequest && c.ExpirationTimestamp == nil {
				t.Error("a TokenRequest credential has no expiry")
			}
		})
	}
}

func TestGetErrors(t *testing.T) {
	cases := []struct {
		name string
		req  Request
		want string
	}{
		{"unknown service account", Request{Source: SourceAuto, ServiceAccount: "ghost"}, `service account "ghost" not found in namespace "build"`},
		{"unknown service account, request", Request{Source: SourceRequest, ServiceAccount: "ghost"}, `service account "ghost" not found`},
		{"no Secret", Request{Source: SourceSecret, ServiceAccount: "ci"}, "no usable token Secret for service account build/ci"},
		{"short duration", Request{Source: SourceRequest, ServiceAccount: "ci", Duration: 5 * time.Minute}, "--duration must be at least 10m0s"},
		{"fractional duration", Request{Source: SourceRequest, ServiceAccount: "ci", Duration: 10*time.Minute + time.Millisecond}, "--duration must be a whole number of seconds"},
		{"unknown source", Request{Source: "vault", ServiceAccount: "ci"}, "--source must be one of auto, secret, request"},
		{"duration with secret", Request{Source: SourceSecret, ServiceAccount: "ci", Duration: time.Hour}, "cannot be used with --source=secret"},
		{"bound name without kind", Request{Source: SourceRequest, ServiceAccount: "ci", BoundObjectName: "p"}, "--bound-object-name can only be set with --bound-object-kind"},
		{"bound kind without name", Request{Source: SourceRequest, ServiceAccount: "ci", BoundObjectKind: "Pod"}, "--bound-object-name is required"},
		{"create-secret with request", Request{Source: SourceRequest, ServiceAccount: "ci", CreateSecret: true, WaitTimeout: time.Second}, "--create-secret cannot be used with --source=request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := newFake(serviceAccount("ci", "1"))
			tc.req.Namespace = ns
			_, err := (&Getter{Client: client.CoreV1()}).Get(context.Background(), tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
			for _, a := range client.Actions() {
				if a.GetVerb() == "create" && a.GetSubresource() == "" {
					t.Errorf("bad input created an object: %v", a)
				}
			}
		})
	}
}

func TestGetForbiddenTokenRequestNamesPermission(t *testing.T) {
	client := newFake(serviceAccount("ci", "1"))
	client.PrependReactor("create", "serviceaccounts", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts/token"}, "ci", errors.New("RBAC"))
	})
	_, err := (&Getter{Client: client.CoreV1()}).Get(context.Background(), Request{Namespace: ns, ServiceAccount: "ci", Source: SourceRequest})
	if err == nil || !strings.Contains(err.Error(), "create serviceaccounts/token") || !apierrors.IsForbidden(err) {
		t.Fatalf("error = %v, want a forbidden error naming create serviceaccounts/token", err)
	}
}

func TestGetAutoFallsBackWhenSecretsForbidden(t *testing.T) {
	client := newFake(serviceAccount("ci", "1"))
	client.PrependReactor("list", "secrets", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", errors.New("RBAC"))
	})
	c, err := (&Getter{Client: client.CoreV1()}).Get(context.Background(), Request{Namespace: ns, ServiceAccount: "ci", Source: SourceAuto})
	if err != nil || c.Source != SourceRequest {
		t.Fatalf("Get = %v, %v; want a TokenRequest token", c, err)
	}
}

func TestGetShortenedLifetimeWarns(t *testing.T) {
	client := newFake(serviceAccount("ci", "1")) // the fake grants one hour
	var warnings []string
	g := &Getter{Client: client.CoreV1(), Warnf: func(f string, a ...any) { warnings = append(warnings, f) }}
	c, err := g.Get(context.Background(), Request{Namespace: ns, ServiceAccount: "ci", Source: SourceRequest, Duration: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(*c.ExpirationTimestamp); left > time.Hour {
		t.Errorf("expiry in %s: the requested duration was reported, not the server's", left)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "shortened") {
		t.Errorf("warnings = %q, want one about the shortened lifetime", warnings)
	}
}

func TestCreateSecretWaitsForController(t *testing.T) {
	client := newFake(serviceAccount("ci", "1"))
	// Play the token controller: fill the Secret a moment after its creation.
	client.PrependReactor("create", "secrets", func(a clienttesting.Action) (bool, runtime.Object, error) {
		s := a.(clienttesting.CreateAction).GetObject().(*corev1.Secret).DeepCopy()
		s.UID = "secret-uid"
		if err := client.Tracker().Create(schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, s, ns); err != nil {
			return true, nil, err
		}
		go func() {
			time.Sleep(500 * time.Millisecond)
			filled := s.DeepCopy()
			filled.Data = map[string][]byte{corev1.ServiceAccountTokenKey: []byte("filled")}
			_ = client.Tracker().Update(schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, filled, ns)
		}()
		return true, s, nil
	})
	var warnings []string
	g := &Getter{Client: client.CoreV1(), Warnf: func(f string, a ...any) { warnings = append(warnings, f) }}
	c, err := g.Get(context.Background(), Request{Namespace: ns, ServiceAccount: "ci", Source: SourceSecret, CreateSecret: true, WaitTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if c.Token != "filled" || c.SecretName != "ci-token" {
		t.Errorf("got token %q from %q, want filled from ci-token", c.Token, c.SecretName)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "long-lived") {
		t.Errorf("warnings = %q, want one about a long-lived token", warnings)
	}
}

func TestCreateSecretNeverFilledCleansUp(t *testing.T) {
	client := newFake(serviceAccount("ci", "1"))
	g := &Getter{Client: client.CoreV1()}
	start := time.Now()
	_, err := g.Get(context.Background(), Request{Namespace: ns, ServiceAccount: "ci", Source: SourceSecret, CreateSecret: true, WaitTimeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "not filled with a token within --wait-timeout=300ms") {
		t.Fatalf("error = %v, want a wait-timeout error", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("the wait took %s, want it bounded by --wait-timeout", elapsed)
	}
	list, _ := client.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{})
	if len(list.Items) != 0 {
		t.Errorf("the unfilled Secret was left behind: %v", list.Items)
	}
}

func TestCreateSecretTakenNameUsesGeneratedName(t *testing.T) {
	taken := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ci-token", Namespace: ns}, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"k": []byte("v")}}
	client := newFake(serviceAccount("ci", "1"), taken)
	var created []*corev1.Secret
	client.PrependReactor("create", "secrets", func(a clienttesting.Action) (bool, runtime.Object, error) {
		s := a.(clienttesting.CreateAction).GetObject().(*corev1.Secret)
		created = append(created, s.DeepCopy())
		return false, nil, nil
	})
	g := &Getter{Client: client.CoreV1()}
	_, _ = g.Get(context.Background(), Request{Namespace: ns, ServiceAccount: "ci", Source: SourceSecret, CreateSecret: true, WaitTimeout: 100 * time.Millisecond})
	if len(created) != 2 || created[1].GenerateName != "ci-token-" {
		t.Fatalf("creates = %d, second GenerateName = %q; want a retry with generateName ci-token-", len(created), created[len(created)-1].GenerateName)
	}
	got, _ := client.CoreV1().Secrets(ns).Get(context.Background(), "ci-token", metav1.GetOptions{})
	if string(got.Data["k"]) != "v" || got.Type != corev1.SecretTypeOpaque {
		t.Error("the existing Secret ci-token was changed")
	}
}

// TestClientConfigKeepsOnlyTheToken fills every field of a rest.Config and
// checks that only connection settings survive next to the bearer token.
func TestClientConfigKeepsOnlyTheToken(t *testing.T) {
	base := &rest.Config{
		Host:    "https://api.example:6443",
		APIPath: "/api",
		ContentConfig: rest.ContentConfig{
			AcceptContentTypes: "application/json", ContentType: "application/json",
		},
		Username:        "user",
		Password:        "password",
		BearerToken:     "kubeconfig-token",
		BearerTokenFile: "/token/file",
		Impersonate: rest.ImpersonationConfig{
			UserName: "other", UID: "uid", Groups: []string{"g"}, Extra: map[string][]string{"k": {"v"}},
		},
		AuthProvider:        &clientcmdapi.AuthProviderConfig{Name: "oidc"},
		AuthConfigPersister: persister{},
		ExecProvider:        &clientcmdapi.ExecConfig{Command: "aws"},
		TLSClientConfig: rest.TLSClientConfig{
			Insecure: false, ServerName: "api", CertFile: "/c", KeyFile: "/k", CAFile: "/ca",
			CertData: []byte("cert"), KeyData: []byte("key"), CAData: []byte("ca"), NextProtos: []string{"h2"},
		},
		UserAgent:          "ua",
		DisableCompression: true,
		Transport:          http.DefaultTransport,
		WrapTransport:      func(rt http.RoundTripper) http.RoundTripper { return rt },
		QPS:                50,
		Burst:              100,
		RateLimiter:        flowcontrol.NewFakeAlwaysRateLimiter(),
		Timeout:            time.Minute,
		Proxy:              func(*http.Request) (*url.URL, error) { return nil, nil },
		Dial:               func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("no") },
		WarningHandler:     rest.NoWarnings{},
	}
	got := ClientConfig(base, "sa-token")

	if got.BearerToken != "sa-token" {
		t.Errorf("BearerToken not set to the service account token")
	}
	for name, gone := range map[string]bool{
		"Username":         got.Username == "" && got.Password == "",
		"BearerTokenFile":  got.BearerTokenFile == "",
		"Impersonate":      reflect.DeepEqual(got.Impersonate, rest.ImpersonationConfig{}),
		"AuthProvider":     got.AuthProvider == nil,
		"ExecProvider":     got.ExecProvider == nil,
		"CertFile/KeyFile": got.CertFile == "" && got.KeyFile == "",
		"CertData/KeyData": got.CertData == nil && got.KeyData == nil,
		"Transport":        got.Transport == nil,
		"WrapTransport":    got.WrapTransport == nil,
	} {
		if !gone {
			t.Errorf("%s survived the identity switch", name)
		}
	}
	kept := []struct {
		name string
		ok   bool
	}{
		{"Host", got.Host == base.Host},
		{"APIPath", got.APIPath == base.APIPath},
		{"ContentConfig", got.ContentType == base.ContentType},
		{"CAFile/CAData/ServerName/NextProtos", got.CAFile == "/ca" && string(got.CAData) == "ca" && got.ServerName == "api" && len(got.NextProtos) == 1},
		{"UserAgent", got.UserAgent == "ua"},
		{"QPS/Burst/Timeout", got.QPS == 50 && got.Burst == 100 && got.Timeout == time.Minute},
		{"Proxy", got.Proxy != nil},
	}
	for _, k := range kept {
		if !k.ok {
			t.Errorf("%s was not kept", k.name)
		}
	}
	// Every field of rest.Config is classified above: a field added to
	// rest.Config must be classified before this test passes again.
	classified := map[string]bool{
		"Host": true, "APIPath": true, "ContentConfig": true, "Username": true, "Password": true,
		"BearerToken": true, "BearerTokenFile": true, "Impersonate": true, "AuthProvider": true,
		"AuthConfigPersister": true, "ExecProvider": true, "TLSClientConfig": true, "UserAgent": true,
		"DisableCompression": true, "Transport": true, "WrapTransport": true, "QPS": true, "Burst": true,
		"RateLimiter": true, "WarningHandler": true, "WarningHandlerWithContext": true, "Timeout": true,
		"Dial": true, "Proxy": true,
	}
	typ := reflect.TypeOf(rest.Config{})
	for i := 0; i < typ.NumField(); i++ {
		if !classified[typ.Field(i).Name] {
			t.Errorf("rest.Config.%s is not classified by this test", typ.Field(i).Name)
		}
	}
	if got.AuthConfigPersister != nil {
		t.Error("AuthConfigPersister survived the identity switch")
	}
	if got.Dial == nil || got.WarningHandler == nil || got.RateLimiter == nil || !got.DisableCompression {
		t.Error("Dial, WarningHandler, RateLimiter or DisableCompression was not kept")
	}
}

type persister struct{}

func (persister) Persist(map[string]string) error { return nil }

func TestCredentialClientConfigUsesSecretCAOnlyWithoutKubeconfigCA(t *testing.T) {
	c := &Credential{Token: "t", CAData: []byte("secret-ca")}
	if got := c.ClientConfig(&rest.Config{Host: "https://h"}); string(got.CAData) != "secret-ca" {
		t.Errorf("CAData = %q, want the Secret's ca.crt when the kubeconfig has none", got.CAData)
	}
	if got := c.ClientConfig(&rest.Config{Host: "https://h", TLSClientConfig: rest.TLSClientConfig{CAData: []byte("kube-ca")}}); string(got.CAData) != "kube-ca" {
		t.Errorf("CAData = %q, want the kubeconfig's", got.CAData)
	}
	if got := c.ClientConfig(&rest.Config{Host: "https://h", TLSClientConfig: rest.TLSClientConfig{Insecure: true}}); got.CAData != nil {
		t.Errorf("CAData set although TLS verification is off (client-go refuses both)")
	}
}

func TestParseToken(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{in: "  abc.def.ghi\n", want: "abc.def.ghi"},
		{in: "", err: "empty token"},
		{in: " \n\t", err: "empty token"},
		{in: "Bearer abc", err: "give the bare token"},
		{in: "bearer abc", err: "give the bare token"},
		{in: "abc def", err: "more than one word"},
		{in: "abc\x00", err: "characters a bearer token cannot contain"},
	}
	for _, tc := range cases {
		got, err := ParseToken(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseToken(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "abc") {
				t.Errorf("ParseToken(%q) error contains the token: %v", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseToken(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestReadTokenFromStdin(t *testing.T) {
	got, err := ReadToken("-", strings.NewReader("tok\n"))
	if err != nil || got != "tok" {
		t.Errorf("ReadToken(-) = %q, %v", got, err)
	}
	if _, err := ReadToken("/no/such/file", nil); err == nil || !strings.Contains(err.Error(), "--token-file") {
		t.Errorf("missing file error = %v, want it to name --token-file", err)
	}
}

func TestCreateSecretDeletedWhileWaiting(t *testing.T) {
	client := newFake(serviceAccount("ci", "1"))
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	// Someone deletes the Secret before the token controller fills it.
	client.PrependReactor("create", "secrets", func(a clienttesting.Action) (bool, runtime.Object, error) {
		s := a.(clienttesting.CreateAction).GetObject().(*corev1.Secret).DeepCopy()
		s.UID = "secret-uid"
		if err := client.Tracker().Create(gvr, s, ns); err != nil {
			return true, nil, err
		}
		go func() {
			time.Sleep(200 * time.Millisecond)
			_ = client.Tracker().Delete(gvr, ns, s.Name)
		}()
		return true, s, nil
	})
	start := time.Now()
	_, err := (&Getter{Client: client.CoreV1()}).Get(context.Background(), Request{Namespace: ns, ServiceAccount: "ci", Source: SourceSecret, CreateSecret: true, WaitTimeout: 10 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "Secret build/ci-token was deleted while waiting for its token") {
		t.Fatalf("error = %v, want one saying the Secret was deleted", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("took %s: the deletion should end the wait at once", elapsed)
	}
}

func TestCreateSecretInterruptedCleansUp(t *testing.T) {
	client := newFake(serviceAccount("ci", "1"))
	ctx, cancel := context.WithCancel(context.Background())
	client.PrependReactor("create", "secrets", func(clienttesting.Action) (bool, runtime.Object, error) {
		time.AfterFunc(100*time.Millisecond, cancel) // Ctrl-C while waiting
		return false, nil, nil
	})
	_, err := (&Getter{Client: client.CoreV1()}).Get(ctx, Request{Namespace: ns, ServiceAccount: "ci", Source: SourceSecret, CreateSecret: true, WaitTimeout: time.Minute})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	list, _ := client.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{})
	if len(list.Items) != 0 {
		t.Errorf("an interrupted run left its Secret behind: %v", list.Items[0].Name)
	}
}

func TestCredentialPrintsNoToken(t *testing.T) {
	c := &Credential{Token: "secret-token-value", Source: SourceSecret, Namespace: ns, ServiceAccount: "ci"}
	for _, format := range []string{"%v", "%+v", "%s", "%#v"} {
		for _, v := range []any{c, *c} {
			if out := fmt.Sprintf(format, v); strings.Contains(out, "secret-token-value") || !strings.Contains(out, "build/ci") {
				t.Errorf("Sprintf(%q) = %s", format, out)
			}
		}
	}
}
