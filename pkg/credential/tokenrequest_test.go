package credential

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
)

// TestTokenRequestSpec pins what a TokenRequest asks for: a lifetime only
// when one was given (in whole seconds), a bound object only when named,
// and the audiences the server answers with, else the requested ones.
func TestTokenRequestSpec(t *testing.T) {
	hour := int64(3600)
	cases := []struct {
		name          string
		req           Request
		answered      []string // audiences in the server's answer
		want          authenticationv1.TokenRequestSpec
		wantAudiences []string
	}{
		{name: "the server's default lifetime", req: Request{},
			want: authenticationv1.TokenRequestSpec{}},
		{name: "an hour, in seconds", req: Request{Duration: time.Hour},
			want: authenticationv1.TokenRequestSpec{ExpirationSeconds: &hour}},
		{name: "bound to a Pod", req: Request{BoundObjectKind: "Pod", BoundObjectName: "p"},
			want: authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "p"}}},
		{name: "audiences the server does not echo are the requested ones", req: Request{Audiences: []string{"vault"}},
			want: authenticationv1.TokenRequestSpec{Audiences: []string{"vault"}}, wantAudiences: []string{"vault"}},
		{name: "audiences the server answers win", req: Request{Audiences: []string{"vault"}}, answered: []string{"vault", "api"},
			want: authenticationv1.TokenRequestSpec{Audiences: []string{"vault"}}, wantAudiences: []string{"vault", "api"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := newFake(serviceAccount("ci", "1"))
			var sent *authenticationv1.TokenRequestSpec
			client.PrependReactor("create", "serviceaccounts", func(a clienttesting.Action) (bool, runtime.Object, error) {
				tr := a.(clienttesting.CreateAction).GetObject().(*authenticationv1.TokenRequest).DeepCopy()
				spec := tr.Spec
				sent = &spec
				tr.Spec.Audiences = tc.answered
				tr.Status.Token = "requested"
				tr.Status.ExpirationTimestamp = metav1.NewTime(time.Now().Add(time.Hour))
				return true, tr, nil
			})
			req := tc.req
			req.Namespace, req.ServiceAccount, req.Source = ns, "ci", SourceRequest
			c, err := (&Getter{Client: client.CoreV1()}).Get(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tc.want, sent); diff != "" {
				t.Errorf("TokenRequest spec (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantAudiences, c.Audiences); diff != "" {
				t.Errorf("audiences (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDefaultLifetimeIsNeverShortened: without a requested duration there
// is nothing to shorten, even when the server's clock makes the token look
// expired already.
func TestDefaultLifetimeIsNeverShortened(t *testing.T) {
	client := newFake(serviceAccount("ci", "1"))
	client.PrependReactor("create", "serviceaccounts", func(a clienttesting.Action) (bool, runtime.Object, error) {
		tr := a.(clienttesting.CreateAction).GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		tr.Status.Token = "requested"
		tr.Status.ExpirationTimestamp = metav1.NewTime(time.Now().Add(-2 * time.Minute))
		return true, tr, nil
	})
	var warned warnings
	if _, err := (&Getter{Client: client.CoreV1(), Warnf: warned.warnf}).Get(context.Background(), Request{Namespace: ns, ServiceAccount: "ci", Source: SourceRequest}); err != nil {
		t.Fatal(err)
	}
	if len(warned) != 0 {
		t.Errorf("warnings = %q, want none without a requested duration", warned)
	}
}
