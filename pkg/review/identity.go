// Package review asks the API server who a subject is (SelfSubjectReview)
// and what it may do (SelfSubjectRulesReview, one per namespace, sent
// concurrently), and compacts the answers into rules with the namespaces
// where each holds. It never re-implements RBAC: the rules are the server's.
package review

import (
	"context"
	"errors"
	"fmt"
	"sort"

	authenticationv1 "k8s.io/api/authentication/v1"
	authenticationv1alpha1 "k8s.io/api/authentication/v1alpha1"
	authenticationv1beta1 "k8s.io/api/authentication/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authenticationv1client "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authenticationv1alpha1client "k8s.io/client-go/kubernetes/typed/authentication/v1alpha1"
	authenticationv1beta1client "k8s.io/client-go/kubernetes/typed/authentication/v1beta1"

	"github.com/kubectl-access/kubectl-access/pkg/credential"
)

// IdentitySource says where an identity comes from.
type IdentitySource string

const (
	// SourceSelfSubjectReview: the API server said who the subject is.
	SourceSelfSubjectReview IdentitySource = "SelfSubjectReview"
	// SourceTokenClaims: the server serves no SelfSubjectReview, so the
	// identity is read from the token's own claims, unverified.
	SourceTokenClaims IdentitySource = "TokenClaims"
)

// Identity is who the subject is.
type Identity struct {
	// User is the user name, UID, groups and extra.
	User authenticationv1.UserInfo
	// Source says whether the server said so or the token's claims do.
	Source IdentitySource
	// APIVersion is the authentication.k8s.io version that answered, empty
	// for SourceTokenClaims.
	APIVersion string
}

// AuthenticationClient is the part of a clientset that sends
// SelfSubjectReviews, in each version that has served them.
type AuthenticationClient interface {
	AuthenticationV1() authenticationv1client.AuthenticationV1Interface
	AuthenticationV1beta1() authenticationv1beta1client.AuthenticationV1beta1Interface
	AuthenticationV1alpha1() authenticationv1alpha1client.AuthenticationV1alpha1Interface
}

// Identify asks the API server who the client's credentials are, with a
// SelfSubjectReview in authentication.k8s.io/v1, falling back to v1beta1
// then v1alpha1 when a version is not served (404). When none is served it
// decodes token's claims instead (token may be empty for credentials that
// are not bearer tokens; then there is nothing to fall back to). Any other
// error, such as 401 for a rejected token, is returned as it is.
func Identify(ctx context.Context, client AuthenticationClient, token string) (*Identity, error) {
	attempts := []struct {
		version string
		create  func() (authenticationv1.UserInfo, error)
	}{
		{"authentication.k8s.io/v1", func() (authenticationv1.UserInfo, error) {
			r, err := client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
			if err != nil {
				return authenticationv1.UserInfo{}, err
			}
			return r.Status.UserInfo, nil
		}},
		{"authentication.k8s.io/v1beta1", func() (authenticationv1.UserInfo, error) {
			r, err := client.AuthenticationV1beta1().SelfSubjectReviews().Create(ctx, &authenticationv1beta1.SelfSubjectReview{}, metav1.CreateOptions{})
			if err != nil {
				return authenticationv1.UserInfo{}, err
			}
			return r.Status.UserInfo, nil
		}},
		{"authentication.k8s.io/v1alpha1", func() (authenticationv1.UserInfo, error) {
			r, err := client.AuthenticationV1alpha1().SelfSubjectReviews().Create(ctx, &authenticationv1alpha1.SelfSubjectReview{}, metav1.CreateOptions{})
			if err != nil {
				return authenticationv1.UserInfo{}, err
			}
			return r.Status.UserInfo, nil
		}},
	}
	for _, a := range attempts {
		user, err := a.create()
		switch {
		case err == nil:
			return &Identity{User: user, Source: SourceSelfSubjectReview, APIVersion: a.version}, nil
		case !apierrors.IsNotFound(err):
			return nil, fmt.Errorf("SelfSubjectReview (%s): %w", a.version, err)
		}
	}
	if token == "" {
		return nil, errors.New("the API server serves no SelfSubjectReview (authentication.k8s.io v1, v1beta1 or v1alpha1), and the credentials are not a token whose claims could tell")
	}
	user, err := UserFromClaims(token)
	if err != nil {
		return nil, fmt.Errorf("the API server serves no SelfSubjectReview, and the token's claims cannot tell who it is: %w", err)
	}
	return &Identity{User: user, Source: SourceTokenClaims}, nil
}

// Extra keys the service account authenticator sets, mirrored from the
// token's claims.
const (
	extraPodName      = "authentication.kubernetes.io/pod-name"
	extraPodUID       = "authentication.kubernetes.io/pod-uid"
	extraNodeName     = "authentication.kubernetes.io/node-name"
	extraNodeUID      = "authentication.kubernetes.io/node-uid"
	extraCredentialID = "authentication.kubernetes.io/credential-id"
)

// UserFromClaims reads the identity a JWT claims, without verifying it: the
// user name from sub and, for a Kubernetes service account token, the groups,
// UID and extra the API server's service account authenticator would give.
// For other JWTs the groups come from a "groups" claim, if any; the server's
// own claim mappings may differ. Its errors never contain the token.
func UserFromClaims(token string) (authenticationv1.UserInfo, error) {
	claims, err := credential.DecodeClaims(token)
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	sub := claims.Subject()
	if sub == "" {
		return authenticationv1.UserInfo{}, errors.New("the token has no sub claim")
	}
	user := authenticationv1.UserInfo{Username: sub}
	ns, name := claims.ServiceAccount()
	if name == "" {
		if groups, ok := claims.Claims["groups"].([]any); ok {
			for _, g := range groups {
				if s, ok := g.(string); ok {
					user.Groups = append(user.Groups, s)
				}
			}
		}
		return user, nil
	}
	user.Groups = []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
	extra := map[string]authenticationv1.ExtraValue{}
	// Bound tokens carry a "kubernetes.io" object; legacy Secret tokens
	// carry flat kubernetes.io/serviceaccount/... claims.
	if k8s, ok := claims.Claims["kubernetes.io"].(map[string]any); ok {
		user.UID = nested(k8s, "serviceaccount", "uid")
		for key, path := range map[string][]string{
			extraPodName:  {"pod", "name"},
			extraPodUID:   {"pod", "uid"},
			extraNodeName: {"node", "name"},
			extraNodeUID:  {"node", "uid"},
		} {
			if v := nested(k8s, path...); v != "" {
				extra[key] = authenticationv1.ExtraValue{v}
			}
		}
	} else if uid, ok := claims.Claims["kubernetes.io/serviceaccount/service-account.uid"].(string); ok {
		user.UID = uid
	}
	if jti, ok := claims.Claims["jti"].(string); ok && jti != "" {
		extra[extraCredentialID] = authenticationv1.ExtraValue{"JTI=" + jti}
	}
	if len(extra) > 0 {
		user.Extra = extra
	}
	return user, nil
}

// nested returns the string at path in m, or "".
func nested(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = obj[p]
	}
	s, _ := cur.(string)
	return s
}

// ExtraKeys returns the keys of extra, sorted.
func ExtraKeys(extra map[string]authenticationv1.ExtraValue) []string {
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
