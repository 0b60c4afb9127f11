package review

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	authenticationv1alpha1 "k8s.io/api/authentication/v1alpha1"
	authenticationv1beta1 "k8s.io/api/authentication/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// jwt builds an unsigned JWT with claims, enough for the claims decoder.
func jwt(t *testing.T, claims map[string]any) string {
	t.Helper()
	header, _ := json.Marshal(map[string]any{"alg": "RS256", "kid": "test"})
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(header) + "." + enc(payload) + ".c2lnbmF0dXJl"
}

// boundClaims are the claims of a TokenRequest token bound to a pod.
func boundClaims() map[string]any {
	return map[string]any{
		"iss": "https://kubernetes.default.svc",
		"sub": "system:serviceaccount:build:ci",
		"aud": []any{"https://kubernetes.default.svc"},
		"exp": 4102444800,
		"jti": "0f1e2d3c",
		"kubernetes.io": map[string]any{
			"namespace":      "build",
			"serviceaccount": map[string]any{"name": "ci", "uid": "sa-uid"},
			"pod":            map[string]any{"name": "runner", "uid": "pod-uid"},
			"node":           map[string]any{"name": "node-1", "uid": "node-uid"},
		},
	}
}

func ciUser() authenticationv1.UserInfo {
	return authenticationv1.UserInfo{
		Username: "system:serviceaccount:build:ci",
		UID:      "sa-uid",
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:build", "system:authenticated"},
	}
}

// serve answers SelfSubjectReviews of each version with the given error, or
// with user when the error is nil, and records the versions asked.
func serve(user authenticationv1.UserInfo, errs map[string]error, asked *[]string) *fake.Clientset {
	client := fake.NewClientset()
	client.PrependReactor("create", "selfsubjectreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		v := action.GetResource().Version
		*asked = append(*asked, v)
		if err := errs[v]; err != nil {
			return true, nil, err
		}
		switch v {
		case "v1":
			return true, &authenticationv1.SelfSubjectReview{Status: authenticationv1.SelfSubjectReviewStatus{UserInfo: user}}, nil
		case "v1beta1":
			return true, &authenticationv1beta1.SelfSubjectReview{Status: authenticationv1beta1.SelfSubjectReviewStatus{UserInfo: user}}, nil
		}
		return true, &authenticationv1alpha1.SelfSubjectReview{Status: authenticationv1alpha1.SelfSubjectReviewStatus{UserInfo: user}}, nil
	})
	return client
}

func notFound(version string) error {
	return apierrors.NewNotFound(schema.GroupResource{Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}, version)
}

func TestIdentifyFallsBackThroughVersions(t *testing.T) {
	token := jwt(t, boundClaims())
	cases := []struct {
		name       string
		errs       map[string]error
		token      string
		want       *Identity
		wantAsked  []string
		wantErrHas string
	}{
		{
			name:      "v1 served",
			token:     token,
			want:      &Identity{User: ciUser(), Source: SourceSelfSubjectReview, APIVersion: "authentication.k8s.io/v1"},
			wantAsked: []string{"v1"},
		},
		{
			name:      "v1beta1 after v1 is not found",
			errs:      map[string]error{"v1": notFound("v1")},
			token:     token,
			want:      &Identity{User: ciUser(), Source: SourceSelfSubjectReview, APIVersion: "authentication.k8s.io/v1beta1"},
			wantAsked: []string{"v1", "v1beta1"},
		},
		{
			name:      "v1alpha1 last",
			errs:      map[string]error{"v1": notFound("v1"), "v1beta1": notFound("v1beta1")},
			token:     token,
			want:      &Identity{User: ciUser(), Source: SourceSelfSubjectReview, APIVersion: "authentication.k8s.io/v1alpha1"},
			wantAsked: []string{"v1", "v1beta1", "v1alpha1"},
		},
		{
			name:  "token claims when none is served",
			errs:  map[string]error{"v1": notFound("v1"), "v1beta1": notFound("v1beta1"), "v1alpha1": notFound("v1alpha1")},
			token: token,
			want: &Identity{User: func() authenticationv1.UserInfo {
				u := ciUser()
				u.Extra = map[string]authenticationv1.ExtraValue{
					"authentication.kubernetes.io/credential-id": {"JTI=0f1e2d3c"},
					"authentication.kubernetes.io/pod-name":      {"runner"},
					"authentication.kubernetes.io/pod-uid":       {"pod-uid"},
					"authentication.kubernetes.io/node-name":     {"node-1"},
					"authentication.kubernetes.io/node-uid":      {"node-uid"},
				}
				return u
			}(), Source: SourceTokenClaims},
			wantAsked: []string{"v1", "v1beta1", "v1alpha1"},
		},
		{
			name:       "none served and no token",
			errs:       map[string]error{"v1": notFound("v1"), "v1beta1": notFound("v1beta1"), "v1alpha1": notFound("v1alpha1")},
			wantAsked:  []string{"v1", "v1beta1", "v1alpha1"},
			wantErrHas: "serves no SelfSubjectReview",
		},
		{
			name:       "none served and a token that is not a JWT",
			errs:       map[string]error{"v1": notFound("v1"), "v1beta1": notFound("v1beta1"), "v1alpha1": notFound("v1alpha1")},
			token:      "static-token-abc",
			wantAsked:  []string{"v1", "v1beta1", "v1alpha1"},
			wantErrHas: "not a JWT",
		},
		{
			name:       "401 is not a reason to fall back",
			errs:       map[string]error{"v1": apierrors.NewUnauthorized("Unauthorized")},
			token:      token,
			wantAsked:  []string{"v1"},
			wantErrHas: "Unauthorized",
		},
		{
			name:       "403 is not a reason to fall back",
			errs:       map[string]error{"v1": apierrors.NewForbidden(schema.GroupResource{Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}, "", nil)},
			token:      token,
			wantAsked:  []string{"v1"},
			wantErrHas: "forbidden",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			got, err := Identify(context.Background(), serve(ciUser(), tc.errs, &asked), tc.token)
			if diff := cmp.Diff(tc.wantAsked, asked); diff != "" {
				t.Errorf("versions asked (-want +got):\n%s", diff)
			}
			if tc.wantErrHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrHas) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErrHas)
				}
				if tc.token != "" && strings.Contains(err.Error(), tc.token) {
					t.Error("the error contains the token")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIdentifyKeepsAPIErrorClass(t *testing.T) {
	var asked []string
	_, err := Identify(context.Background(), serve(ciUser(), map[string]error{"v1": apierrors.NewUnauthorized("Unauthorized")}, &asked), "")
	if !apierrors.IsUnauthorized(err) {
		t.Errorf("error %v does not unwrap to a 401, so it would not exit 3", err)
	}
}

func TestUserFromClaims(t *testing.T) {
	cases := []struct {
		name   string
		claims map[string]any
		want   authenticationv1.UserInfo
		errHas string
	}{
		{
			name: "legacy Secret token",
			claims: map[string]any{
				"iss":                                    "kubernetes/serviceaccount",
				"sub":                                    "system:serviceaccount:build:ci",
				"kubernetes.io/serviceaccount/namespace": "build",
				"kubernetes.io/serviceaccount/service-account.uid": "sa-uid",
			},
			want: ciUser(),
		},
		{
			name:   "OIDC token with groups",
			claims: map[string]any{"iss": "https://idp.example", "sub": "alice", "groups": []any{"dev", "ops", 3}},
			want:   authenticationv1.UserInfo{Username: "alice", Groups: []string{"dev", "ops"}},
		},
		{
			name:   "OIDC token without groups",
			claims: map[string]any{"sub": "bob"},
			want:   authenticationv1.UserInfo{Username: "bob"},
		},
		{
			name:   "no subject",
			claims: map[string]any{"iss": "x"},
			errHas: "no sub claim",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := UserFromClaims(jwt(t, tc.claims))
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("error = %v, want %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("user (-want +got):\n%s", diff)
			}
		})
	}
}
