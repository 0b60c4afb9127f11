package credential

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
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

var secretsGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

func serviceAccount(name, uid string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: k8stypes.UID("uid-" + uid)}}
}

// legacyToken is an unsigned JWT with the claims the token controller
// writes into a legacy Secret's token.
func legacyToken(namespace, sa, uid, secret string) string {
	claims, err := json.Marshal(map[string]string{
		"iss":                                    "kubernetes/serviceaccount",
		"sub":                                    "system:serviceaccount:" + namespace + ":" + sa,
		"kubernetes.io/serviceaccount/namespace": namespace,
		"kubernetes.io/serviceaccount/secret.name":          secret,
		"kubernetes.io/serviceaccount/service-account.name": sa,
		"kubernetes.io/serviceaccount/service-account.uid":  uid,
	})
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return jwt(`{"alg":"RS256","kid":"test"}`, string(claims))
}

// boundToken is an unsigned JWT with the claims of a TokenRequest token.
func boundToken(namespace, sa, uid string) string {
	claims, err := json.Marshal(map[string]any{
		"iss": "https://kubernetes.default.svc",
		"sub": "system:serviceaccount:" + namespace + ":" + sa,
		"aud": []string{"https://kubernetes.default.svc"},
		"kubernetes.io": map[string]any{
			"namespace":      namespace,
			"serviceaccount": map[string]string{"name": sa, "uid": uid},
		},
	})
	if err != nil {
		panic(err)
	}
	return jwt(`{"alg":"RS256","kid":"test"}`, string(claims))
}

// ciToken is the token the token controller puts into Secret secret of
// service account build/ci (uid-1).
func ciToken(secret string) string { return legacyToken(ns, "ci", "uid-1", secret) }

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
	if token == "" {
		s.Data = nil
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func withUID(uid string) secretOpt {
	return func(s *corev1.Secret) { s.Annotations[corev1.ServiceAccountUIDKey] = "uid-" + uid }
}
func withObjectUID(uid string) secretOpt {
	return func(s *corev1.Secret) { s.UID = k8stypes.UID(uid) }
}
func ofRun(run string) secretOpt {
	return func(s *corev1.Secret) { s.Annotations[annotationRun] = run }
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

// warnings collects what a Getter tells the user, formatted.
type warnings []string

func (w *warnings) warnf(format string, args ...any) { *w = append(*w, fmt.Sprintf(format, args...)) }

// leak returns a piece of token (20 characters, or all of a shorter one)
// that text contains, or "".
func leak(text, token string) string {
	if len(token) < 20 {
		if token != "" && strings.Contains(text, token) {
			return token
		}
		return ""
	}
	for i := 0; i+20 <= len(token); i++ {
		if strings.Contains(text, token[i:i+20]) {
			return token[i : i+20]
		}
	}
	return ""
}

// secretNames lists the names of the Secrets left in the namespace, sorted.
func secretNames(t *testing.T, client *fake.Clientset) []string {
	t.Helper()
	list, err := client.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range list.Items {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	return names
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
			objs:       []runtime.Object{serviceAccount("ci", "1"), tokenSecret("ci-token-abc", "ci", ciToken("ci-token-abc"), t0)},
			source:     SourceAuto,
			wantSource: SourceSecret, wantSecret: "ci-token-abc", wantToken: ciToken("ci-token-abc"),
		},
		{
			name: "the oldest of several wins",
			objs: []runtime.Object{serviceAccount("ci", "1"),
				tokenSecret("b-newer", "ci", ciToken("b-newer"), t0.Add(time.Hour)),
				tokenSecret("z-older", "ci", ciToken("z-older"), t0)},
			source:     SourceSecret,
			wantSource: SourceSecret, wantSecret: "z-older", wantToken: ciToken("z-older"),
		},
		{
			name: "same age: the first by name",
			objs: []runtime.Object{serviceAccount("ci", "1"),
				tokenSecret("b", "ci", ciToken("b"), t0), tokenSecret("a", "ci", ciToken("a"), t0)},
			source:     SourceSecret,
			wantSource: SourceSecret, wantSecret: "a", wantToken: ciToken("a"),
		},
		{
			// Each skipped Secret holds a token that names ci, so that only
			// the rule in its name can be what skips it.
			name: "invalidated, empty, foreign, stale-uid and opaque Secrets are skipped",
			objs: []runtime.Object{serviceAccount("ci", "1"),
				tokenSecret("invalid", "ci", ciToken("invalid"), t0, invalidated),
				tokenSecret("empty", "ci", "", t0),
				tokenSecret("other", "web", ciToken("other"), t0),
				tokenSecret("stale", "ci", ciToken("stale"), t0, withUID("0")),
				tokenSecret("opaque", "ci", ciToken("opaque"), t0, opaque),
				tokenSecret("good", "ci", ciToken("good"), t0.Add(time.Hour), withUID("1"))},
			source:     SourceSecret,
			wantSource: SourceSecret, wantSecret: "good", wantToken: ciToken("good"),
		},
		{
			name:       "a bound-token form naming the account and its uid is used",
			objs:       []runtime.Object{serviceAccount("ci", "1"), tokenSecret("bound", "ci", boundToken(ns, "ci", "uid-1"), t0)},
			source:     SourceSecret,
			wantSource: SourceSecret, wantSecret: "bound", wantToken: boundToken(ns, "ci", "uid-1"),
		},
		{
			name:       "auto falls back to TokenRequest",
			objs:       []runtime.Object{serviceAccount("ci", "1"), tokenSecret("invalid", "ci", ciToken("invalid"), t0, invalidated)},
			source:     SourceAuto,
			wantSource: SourceRequest, wantToken: "requested",
		},
		{
			name:       "request ignores Secrets",
			objs:       []runtime.Object{serviceAccount("ci", "1"), tokenSecret("s", "ci", ciToken("s"), t0)},
			source:     SourceRequest,
			wantSource: SourceRequest, wantToken: "requested",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var warned warnings
			g := &Getter{Client: newFake(tc.objs...).CoreV1(), Warnf: warned.warnf}
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
			if c.Created() {
				t.Error("Created() = true for a credential whose Secret Get did not create")
			}
			if len(warned) != 0 {
				t.Errorf("warnings = %q, want none: no Secret here holds a token of someone else", warned)
			}
		})
	}
}

// TestGetSkipsPlantedSecrets: whoever may create Secrets can annotate one
// with the victim's name and put a token of their own in it; its token must
// never pass for the victim's, and the user is told which Secret it was.
func TestGetSkipsPlantedSecrets(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	skipped := func(secret, why string) string {
		return "skipped Secret build/" + secret + ": it is annotated for service account ci, but " + why
	}
	const (
		otherSubject = "its token belongs to another subject"
		otherUID     = "its token names another service account uid"
		notJWT       = "its token is not a service account JWT"
	)
	cases := []struct {
		name         string
		secrets      []*corev1.Secret
		source       Source
		wantSource   Source
		wantSecret   string
		wantToken    string
		wantErr      error
		wantWarnings []string
	}{
		{
			name: "a token of another account is skipped for the next valid Secret",
			secrets: []*corev1.Secret{
				tokenSecret("planted", "ci", legacyToken(ns, "attacker", "uid-9", "planted"), t0), // older: it would win
				tokenSecret("good", "ci", ciToken("good"), t0.Add(time.Hour)),
			},
			source:     SourceSecret,
			wantSource: SourceSecret, wantSecret: "good", wantToken: ciToken("good"),
			wantWarnings: []string{skipped("planted", otherSubject)},
		},
		{
			name:         "a token of the same-named account of another namespace is skipped, auto requests one",
			secrets:      []*corev1.Secret{tokenSecret("planted", "ci", legacyToken("elsewhere", "ci", "uid-1", "planted"), t0)},
			source:       SourceAuto,
			wantSource:   SourceRequest,
			wantToken:    "requested",
			wantWarnings: []string{skipped("planted", otherSubject)},
		},
		{
			name:         "a token of a bound form naming another account is skipped",
			secrets:      []*corev1.Secret{tokenSecret("planted", "ci", boundToken(ns, "attacker", "uid-1"), t0)},
			source:       SourceAuto,
			wantSource:   SourceRequest,
			wantToken:    "requested",
			wantWarnings: []string{skipped("planted", otherSubject)},
		},
		{
			name:         "a token naming another uid (a deleted account of the same name) is skipped",
			secrets:      []*corev1.Secret{tokenSecret("stale", "ci", legacyToken(ns, "ci", "uid-0", "stale"), t0)},
			source:       SourceAuto,
			wantSource:   SourceRequest,
			wantToken:    "requested",
			wantWarnings: []string{skipped("stale", otherUID)},
		},
		{
			name:         "a token naming no uid is skipped",
			secrets:      []*corev1.Secret{tokenSecret("no-uid", "ci", jwt(`{"alg":"RS256"}`, `{"sub":"system:serviceaccount:build:ci"}`), t0)},
			source:       SourceSecret,
			wantErr:      ErrNoSecret,
			wantWarnings: []string{skipped("no-uid", otherUID)},
		},
		{
			name:         "a token that is not a JWT is skipped; secret then has none",
			secrets:      []*corev1.Secret{tokenSecret("static", "ci", "static-token-0123456789abcdefghijklmnopqrstuvwxyz", t0)},
			source:       SourceSecret,
			wantErr:      ErrNoSecret,
			wantWarnings: []string{skipped("static", notJWT)},
		},
		{
			name: "every planted Secret is reported once",
			secrets: []*corev1.Secret{
				tokenSecret("planted-a", "ci", legacyToken(ns, "attacker", "uid-9", "planted-a"), t0),
				tokenSecret("planted-b", "ci", legacyToken(ns, "ci", "uid-8", "planted-b"), t0),
			},
			source:       SourceAuto,
			wantSource:   SourceRequest,
			wantToken:    "requested",
			wantWarnings: []string{skipped("planted-a", otherSubject), skipped("planted-b", otherUID)},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := []runtime.Object{serviceAccount("ci", "1")}
			for _, s := range tc.secrets {
				objs = append(objs, s)
			}
			var warned warnings
			g := &Getter{Client: newFake(objs...).CoreV1(), Warnf: warned.warnf}
			c, err := g.Get(context.Background(), Request{Namespace: ns, ServiceAccount: "ci", Source: tc.source})
			switch {
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			case tc.wantErr == nil && err != nil:
				t.Fatal(err)
			case err == nil:
				got := []string{string(c.Source), c.SecretName, c.Token}
				if diff := cmp.Diff([]string{string(tc.wantSource), tc.wantSecret, tc.wantToken}, got); diff != "" {
					t.Errorf("source, secret, token (-want +got):\n%s", diff)
				}
			}
			// The fake lists in no particular order; a real server lists by name.
			if diff := cmp.Diff(tc.wantWarnings, []string(warned), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			said := strings.Join(warned, "\n")
			if err != nil {
				said += "\n" + err.Error()
			}
			for _, s := range tc.secrets {
				if piece := leak(said, string(s.Data[corev1.ServiceAccountTokenKey])); piece != "" {
					t.Errorf("the warnings or the error repeat %q of the token of Secret %s", piece, s.Name)
				}
			}
		})
	}
}

// TestRequestValidate pins the typed error of each rule: pkg/cmd words
// them with its flag names, so their fields are the contract.
func TestRequestValidate(t *testing.T) {
	base := Request{Namespace: ns, ServiceAccount: "ci", Source: SourceAuto}
	with := func(change func(*Request)) Request {
		r := base
		change(&r)
		return r
	}
	tokenRequestOnly := &RequestError{
		Field:     FieldSource,
		Problem:   "secret gives a legacy token; the TokenRequest fields cannot be used with it",
		Conflicts: []Field{FieldDuration, FieldAudiences, FieldBoundObjectKind},
	}
	cases := []struct {
		name string
		req  Request
		want error
	}{
		{"auto with no options is valid", base, nil},
		{"the shortest TokenRequest lifetime is valid", with(func(r *Request) { r.Source, r.Duration = SourceRequest, MinDuration }), nil},
		{"a bound token is valid", with(func(r *Request) { r.BoundObjectKind, r.BoundObjectName = "Pod", "p" }), nil},
		{"create-secret with a wait is valid", with(func(r *Request) { r.Source, r.CreateSecret, r.WaitTimeout = SourceSecret, true, time.Second }), nil},
		{"the source must be one of the three", with(func(r *Request) { r.Source = "vault" }),
			&RequestError{Field: FieldSource, Problem: `must be one of auto, secret, request (got "vault")`}},
		{"mounted and file are reported, never asked for", with(func(r *Request) { r.Source = SourceMounted }),
			&RequestError{Field: FieldSource, Problem: `must be one of auto, secret, request (got "mounted")`}},
		{"the service account must be named", with(func(r *Request) { r.ServiceAccount = "" }),
			&RequestError{Field: FieldServiceAccount, Problem: "must not be empty"}},
		{"a negative duration is refused", with(func(r *Request) { r.Duration = -time.Second }),
			&RequestError{Field: FieldDuration, Problem: "must be positive (got -1s)"}},
		{"a duration below the TokenRequest minimum is too short", with(func(r *Request) { r.Duration = 5 * time.Minute }),
			&DurationTooShortError{Min: 10 * time.Minute, Got: 5 * time.Minute}},
		{"one second short of the minimum is too short", with(func(r *Request) { r.Duration = MinDuration - time.Second }),
			&DurationTooShortError{Min: MinDuration, Got: MinDuration - time.Second}},
		{"a duration is a whole number of seconds", with(func(r *Request) { r.Duration = MinDuration + time.Millisecond }),
			&RequestError{Field: FieldDuration, Problem: "must be a whole number of seconds (got 10m0.001s)"}},
		{"a bound object name needs a kind", with(func(r *Request) { r.BoundObjectName = "p" }),
			&RequestError{Field: FieldBoundObjectName, Problem: "can only be set with BoundObjectKind"}},
		{"a bound object kind needs a name", with(func(r *Request) { r.BoundObjectKind = "Pod" }),
			&RequestError{Field: FieldBoundObjectName, Problem: "is required with BoundObjectKind"}},
		{"only a Pod, Secret or Node can bind a token", with(func(r *Request) { r.BoundObjectKind, r.BoundObjectName = "Deployment", "d" }),
			&RequestError{Field: FieldBoundObjectKind, Problem: `must be one of Pod, Secret, Node (got "Deployment")`}},
		{"a legacy token has no duration", with(func(r *Request) { r.Source, r.Duration = SourceSecret, time.Hour }), tokenRequestOnly},
		{"a legacy token has no audiences", with(func(r *Request) { r.Source, r.Audiences = SourceSecret, []string{"vault"} }), tokenRequestOnly},
		{"a legacy token is bound to nothing", with(func(r *Request) { r.Source, r.BoundObjectKind, r.BoundObjectName = SourceSecret, "Pod", "p" }), tokenRequestOnly},
		{"create-secret makes no sense for a TokenRequest", with(func(r *Request) { r.Source, r.CreateSecret, r.WaitTimeout = SourceRequest, true, time.Second }),
			&RequestError{Field: FieldCreateSecret, Problem: "cannot be used with Source request", Conflicts: []Field{FieldSource}}},
		{"create-secret needs a positive wait", with(func(r *Request) { r.CreateSecret = true }),
			&RequestError{Field: FieldWaitTimeout, Problem: "must be positive (got 0s)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.Validate()
			if diff := cmp.Diff(tc.want, err); diff != "" {
				t.Fatalf("Validate() (-want +got):\n%s", diff)
			}
			if err != nil && strings.Contains(err.Error(), "--") {
				t.Errorf("error %q names a flag: only pkg/cmd knows the flags", err)
			}
		})
	}
}

// TestGetRefusesInvalidRequestsBeforeAnyRequest: Get returns Validate's
// typed error as is (errors.As finds it) and sends nothing.
func TestGetRefusesInvalidRequestsBeforeAnyRequest(t *testing.T) {
	cases := []struct {
		name string
		req  Request
		want error
	}{
		{"a short duration", Request{Source: SourceRequest, ServiceAccount: "ci", Duration: 5 * time.Minute},
			&DurationTooShortError{Min: MinDuration, Got: 5 * time.Minute}},
		{"create-secret with request", Request{Source: SourceRequest, ServiceAccount: "ci", CreateSecret: true, WaitTimeout: time.Second},
			&RequestError{Field: FieldCreateSecret, Problem: "cannot be used with Source request", Conflicts: []Field{FieldSource}}},
		{"create-secret without a wait", Request{Source: SourceSecret, ServiceAccount: "ci", CreateSecret: true},
			&RequestError{Field: FieldWaitTimeout, Problem: "must be positive (got 0s)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := newFake(serviceAccount("ci", "1"))
			tc.req.Namespace = ns
			_, err := (&Getter{Client: client.CoreV1()}).Get(context.Background(), tc.req)
			if diff := cmp.Diff(tc.want, err); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if got := client.Actions(); len(got) != 0 {
				t.Errorf("an invalid request sent %d requests, want none: %v", len(got), got)
			}
		})
	}
}

func TestGetErrors(t *testing.T) {
	cases := []struct {
		name      string
		req       Request
		is        func(error) bool // what a caller can test the error for
		wantError string
	}{
		{
			name:      "an unknown service account is named with its namespace",
			req:       Request{Source: SourceAuto, ServiceAccount: "ghost"},
			is:        func(error) bool { return true },
			wantError: `service account "ghost" not found in namespace "build"`,
		},
		{
			name:      "an unknown service account for a TokenRequest keeps the API's NotFound",
			req:       Request{Source: SourceRequest, ServiceAccount: "ghost"},
			is:        apierrors.IsNotFound,
			wantError: `service account "ghost" not found in namespace "build" (or the bound object does not exist): serviceaccounts "ghost" not found`,
		},
		{
			name:      "no Secret with source secret is ErrNoSecret, suggesting no flag",
			req:       Request{Source: SourceSecret, ServiceAccount: "ci"},
			is:        func(err error) bool { return errors.Is(err, ErrNoSecret) },
			wantError: "no usable token Secret for service account build/ci (Kubernetes no longer creates them since 1.24)",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := newFake(serviceAccount("ci", "1"))
			tc.req.Namespace = ns
			_, err := (&Getter{Client: client.CoreV1()}).Get(context.Background(), tc.req)
			if err == nil {
				t.Fatal("Get succeeded")
			}
			if diff := cmp.Diff(tc.wantError, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if !tc.is(err) {
				t.Errorf("error %v is not of the kind a caller tests for", err)
			}
			for _, a := range client.Actions() {
				if a.GetVerb() == "create" && a.GetSubresource() == "" {
					t.Errorf("a failed Get created an object: %v", a)
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
	var warned warnings
	g := &Getter{Client: client.CoreV1(), Warnf: warned.warnf}
	c, err := g.Get(context.Background(), Request{Namespace: ns, ServiceAccount: "ci", Source: SourceRequest, Duration: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(*c.ExpirationTimestamp); left > time.Hour {
		t.Errorf("expiry in %s: the requested duration was reported, not the server's", left)
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "shortened") {
		t.Errorf("warnings = %q, want one about the shortened lifetime", warned)
	}
}

func TestParseToken(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    string
		wantErr error
	}{
		{name: "surrounding whitespace is trimmed", in: "  abc.def.ghi\n", want: "abc.def.ghi"},
		{name: "nothing is an empty token", in: "", wantErr: ErrEmptyToken},
		{name: "only whitespace is an empty token", in: " \n\t", wantErr: ErrEmptyToken},
		{name: "an Authorization header value is refused", in: "Bearer abc", wantErr: ErrBearerValue},
		{name: "the Bearer prefix is refused in any case", in: "bearer abc", wantErr: ErrBearerValue},
		{name: "two words are refused", in: "abc def", wantErr: ErrSeveralWords},
		{name: "a control character is refused", in: "abc\x00", wantErr: ErrBadCharacters},
		{name: "a non-ASCII character is refused", in: "abcé", wantErr: ErrBadCharacters},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseToken(tc.in)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("ParseToken(%q) error = %v, want %v", tc.in, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "abc") {
				t.Errorf("ParseToken(%q) error contains the token: %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ParseToken(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestReadToken(t *testing.T) {
	errRead := errors.New("stdin broke")
	cases := []struct {
		name  string
		file  string
		stdin io.Reader
		want  string
		is    func(error) bool
	}{
		{name: "- reads stdin", file: "-", stdin: strings.NewReader("tok\n"), want: "tok", is: func(err error) bool { return err == nil }},
		{name: "stdin is checked like a file", file: "-", stdin: strings.NewReader("Bearer tok"), is: func(err error) bool { return errors.Is(err, ErrBearerValue) }},
		{name: "empty stdin is an empty token", file: "-", stdin: strings.NewReader(""), is: func(err error) bool { return errors.Is(err, ErrEmptyToken) }},
		{name: "a read error of stdin is returned as is", file: "-", stdin: iotest.ErrReader(errRead), is: func(err error) bool { return err == errRead }},
		{name: "a missing file is the file system's error, as is", file: "/no/such/file", is: func(err error) bool {
			var pathErr *fs.PathError
			return errors.As(err, &pathErr) && pathErr.Path == "/no/such/file" && errors.Is(err, fs.ErrNotExist)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadToken(tc.file, tc.stdin)
			if !tc.is(err) {
				t.Fatalf("ReadToken(%q) error = %v (%T)", tc.file, err, err)
			}
			if got != tc.want {
				t.Errorf("ReadToken(%q) = %q, want %q", tc.file, got, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "--") {
				t.Errorf("error %q names a flag: only pkg/cmd knows the flags", err)
			}
		})
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
