package credential

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Claims is the decoded, unverified content of a JWT bearer token.
type Claims struct {
	// Header is the JOSE header (alg, kid, ...).
	Header map[string]any `json:"header"`
	// Claims is the payload: iss, sub, aud, exp, kubernetes.io, ...
	Claims map[string]any `json:"claims"`
	// SignatureVerified is always false: the signature is not checked, so
	// nothing here is proof of anything; only the API server can tell.
	SignatureVerified bool `json:"signatureVerified"`
}

// ErrNotJWT is returned for a token that is not a JSON Web Token, such as a
// static or bootstrap token.
var ErrNotJWT = errors.New("the token is not a JWT (expected three base64url parts separated by dots)")

// DecodeClaims decodes the header and claims of a JWT without verifying its
// signature. Its errors never contain the token.
func DecodeClaims(token string) (*Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return nil, ErrNotJWT
	}
	header, err := decodeSegment(parts[0])
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrNotJWT, err)
	}
	claims, err := decodeSegment(parts[1])
	if err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrNotJWT, err)
	}
	return &Claims{Header: header, Claims: claims}, nil
}

func decodeSegment(seg string) (map[string]any, error) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return nil, errors.New("not base64url")
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

// Subject returns the sub claim.
func (c *Claims) Subject() string {
	s, _ := c.Claims["sub"].(string)
	return s
}

// Expiry returns the exp claim, or nil when there is none.
func (c *Claims) Expiry() *time.Time {
	exp, ok := c.Claims["exp"].(float64)
	if !ok {
		return nil
	}
	t := time.Unix(int64(exp), 0).UTC()
	return &t
}

// Audiences returns the aud claim, which may be a string or a list.
func (c *Claims) Audiences() []string {
	switch aud := c.Claims["aud"].(type) {
	case string:
		return []string{aud}
	case []any:
		out := make([]string, 0, len(aud))
		for _, a := range aud {
			if s, ok := a.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// ServiceAccount returns the namespace and name of the service account a
// Kubernetes-issued token names in its subject, or empty strings.
func (c *Claims) ServiceAccount() (namespace, name string) {
	parts := strings.Split(c.Subject(), ":")
	if len(parts) != 4 || parts[0] != "system" || parts[1] != "serviceaccount" {
		return "", ""
	}
	return parts[2], parts[3]
}

// ServiceAccountUID returns the uid of the service account a
// Kubernetes-issued token names: the legacy claim
// kubernetes.io/serviceaccount/service-account.uid, else the bound token's
// kubernetes.io.serviceaccount.uid; "" when there is neither.
func (c *Claims) ServiceAccountUID() string {
	if uid, ok := c.Claims["kubernetes.io/serviceaccount/service-account.uid"].(string); ok && uid != "" {
		return uid
	}
	k8s, _ := c.Claims["kubernetes.io"].(map[string]any)
	sa, _ := k8s["serviceaccount"].(map[string]any)
	uid, _ := sa["uid"].(string)
	return uid
}

func (c *Credential) fillFromClaims(claims *Claims) {
	if ns, name := claims.ServiceAccount(); name != "" {
		c.Namespace, c.ServiceAccount = ns, name
	}
	c.ExpirationTimestamp = claims.Expiry()
	c.Audiences = claims.Audiences()
}

// FromToken describes a token handed over by the user (--token-file), with
// what its claims say when it is a JWT.
func FromToken(token string) *Credential {
	c := &Credential{Token: token, Source: SourceFile}
	if claims, err := DecodeClaims(token); err == nil {
		c.fillFromClaims(claims)
	}
	return c
}
