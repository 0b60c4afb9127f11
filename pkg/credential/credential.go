// Package credential obtains a service account's bearer token the way the
// documented flow does (its legacy token Secret) or the modern way (the
// TokenRequest API), and builds clients that talk to the API server as that
// token alone.
package credential

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/watch"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

// Source says where a token comes from.
type Source string

// The token sources. Auto, Secret, Request and Mounted can be asked for;
// File is reported for a token the user handed over with --token-file.
const (
	SourceAuto    Source = "auto"
	SourceSecret  Source = "secret"
	SourceRequest Source = "request"
	SourceMounted Source = "mounted"
	SourceFile    Source = "file"
)

// Annotations and labels the token controller and the legacy token cleaner use.
const (
	annotationSAName       = corev1.ServiceAccountNameKey
	annotationSAUID        = corev1.ServiceAccountUIDKey
	labelInvalidSince      = "kubernetes.io/legacy-token-invalid-since"
	minTokenRequestSeconds = 600
)

// maxTokenBytes bounds what is read from --token-file=- .
const maxTokenBytes = 1 << 20

// MinDuration is the shortest token lifetime the TokenRequest API accepts.
const MinDuration = minTokenRequestSeconds * time.Second

// ErrNoSecret is returned with SourceSecret when the service account has no
// usable legacy token Secret and CreateSecret is false.
var ErrNoSecret = errors.New("no usable token Secret")

// Request says which token to obtain.
type Request struct {
	// Namespace and ServiceAccount name the service account.
	Namespace      string
	ServiceAccount string
	// Source is auto, secret or request.
	Source Source
	// Duration is the requested lifetime of a TokenRequest token; 0 lets
	// the server choose.
	Duration time.Duration
	// Audiences of a TokenRequest token; empty means the API server's.
	Audiences []string
	// BoundObjectKind (Pod, Secret or Node) and BoundObjectName bind a
	// TokenRequest token to an object's lifetime.
	BoundObjectKind string
	BoundObjectName string
	// CreateSecret creates a legacy token Secret when none is usable.
	CreateSecret bool
	// WaitTimeout bounds the wait for the token controller to fill a
	// created Secret.
	WaitTimeout time.Duration
}

// Field names a part of a Request, so that a caller can word an error about
// it with its own name for it (the command line's flags).
type Field string

// The fields of a Request that Validate checks.
const (
	FieldServiceAccount  Field = "ServiceAccount"
	FieldSource          Field = "Source"
	FieldDuration        Field = "Duration"
	FieldAudiences       Field = "Audiences"
	FieldBoundObjectKind Field = "BoundObjectKind"
	FieldBoundObjectName Field = "BoundObjectName"
	FieldCreateSecret    Field = "CreateSecret"
	FieldWaitTimeout     Field = "WaitTimeout"
)

// RequestError says which field of a Request is wrong, and why. Problem
// reads after the field's name ("must be positive (got -1s)"); Conflicts
// lists the fields Problem is about when it is a combination of several.
type RequestError struct {
	Field     Field
	Problem   string
	Conflicts []Field
}

func (e *RequestError) Error() string { return string(e.Field) + " " + e.Problem }

// DurationTooShortError is returned for a TokenRequest lifetime below Min,
// the shortest the TokenRequest API accepts.
type DurationTooShortError struct {
	Min, Got time.Duration
}

func (e *DurationTooShortError) Error() string {
	return fmt.Sprintf("must be at least %s or 0 for the server's default (got %s)", e.Min, e.Got)
}

func invalid(f Field, format string, args ...any) error {
	return &RequestError{Field: f, Problem: fmt.Sprintf(format, args...)}
}

// Validate checks a request before anything is sent to the server. Its
// errors are *RequestError or *DurationTooShortError.
func (r *Request) Validate() error {
	switch r.Source {
	case SourceAuto, SourceSecret, SourceRequest:
	default:
		return invalid(FieldSource, "must be one of auto, secret, request (got %q)", r.Source)
	}
	if r.ServiceAccount == "" {
		return invalid(FieldServiceAccount, "must not be empty")
	}
	if r.Duration < 0 {
		return invalid(FieldDuration, "must be positive (got %s)", r.Duration)
	}
	if r.Duration > 0 && r.Duration < MinDuration {
		return &DurationTooShortError{Min: MinDuration, Got: r.Duration}
	}
	if r.Duration%time.Second != 0 {
		return invalid(FieldDuration, "must be a whole number of seconds (got %s)", r.Duration)
	}
	switch r.BoundObjectKind {
	case "":
		if r.BoundObjectName != "" {
			return invalid(FieldBoundObjectName, "can only be set with %s", FieldBoundObjectKind)
		}
	case "Pod", "Secret", "Node":
		if r.BoundObjectName == "" {
			return invalid(FieldBoundObjectName, "is required with %s", FieldBoundObjectKind)
		}
	default:
		return invalid(FieldBoundObjectKind, "must be one of Pod, Secret, Node (got %q)", r.BoundObjectKind)
	}
	if r.Source == SourceSecret && (r.Duration != 0 || len(r.Audiences) > 0 || r.BoundObjectKind != "") {
		return &RequestError{Field: FieldSource, Problem: "secret gives a legacy token; the TokenRequest fields cannot be used with it",
			Conflicts: []Field{FieldDuration, FieldAudiences, FieldBoundObjectKind}}
	}
	if r.CreateSecret && r.Source == SourceRequest {
		return &RequestError{Field: FieldCreateSecret, Problem: "cannot be used with Source request", Conflicts: []Field{FieldSource}}
	}
	if r.CreateSecret && r.WaitTimeout <= 0 {
		return invalid(FieldWaitTimeout, "must be positive (got %s)", r.WaitTimeout)
	}
	return nil
}

// Credential is a bearer token and what is known about it.
type Credential struct {
	// Token is the bearer token. It must never be logged.
	Token string
	// Source is where the token came from (never auto).
	Source Source
	// ServiceAccount and Namespace name the service account, when known.
	ServiceAccount string
	Namespace      string
	// SecretName names the legacy Secret for SourceSecret.
	SecretName string
	// ExpirationTimestamp is when the token expires; nil if it does not.
	ExpirationTimestamp *time.Time
	// Audiences the token was issued for, when known.
	Audiences []string
	// Server is the API server URL the token is meant for.
	Server string
	// CAData is the PEM bundle that verifies Server: the kubeconfig's, else
	// the legacy Secret's or the pod's ca.crt.
	CAData []byte

	// createdUID is the uid of the Secret Get created for this credential.
	createdUID types.UID
}

// Created reports whether Get created the Secret the token comes from.
func (c *Credential) Created() bool { return c.createdUID != "" }

// Getter obtains credentials with the caller's own client.
type Getter struct {
	// Client is the caller's typed core client (kubeconfig credentials).
	Client corev1client.CoreV1Interface
	// Warnf reports warnings meant for the user (stderr); may be nil.
	Warnf func(format string, args ...any)
}

func (g *Getter) warnf(format string, args ...any) {
	if g.Warnf != nil {
		g.Warnf(format, args...)
	}
}

// Get obtains the token req asks for. Requests sent: for auto and secret, one
// GET of the ServiceAccount and one LIST of its namespace's token Secrets;
// for request (or auto without a usable Secret), one TokenRequest.
func (g *Getter) Get(ctx context.Context, req Request) (*Credential, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if req.Source == SourceRequest {
		return g.request(ctx, req)
	}
	// The ServiceAccount and its namespace's token Secrets are read at once:
	// one round trip instead of two.
	var (
		secrets    *corev1.SecretList
		secretsErr error
		listed     = make(chan struct{})
	)
	go func() {
		defer close(listed)
		secrets, secretsErr = g.Client.Secrets(req.Namespace).List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("type", string(corev1.SecretTypeServiceAccountToken)).String(),
		})
	}()
	sa, err := g.Client.ServiceAccounts(req.Namespace).Get(ctx, req.ServiceAccount, metav1.GetOptions{})
	<-listed
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("service account %q not found in namespace %q", req.ServiceAccount, req.Namespace)
	case apierrors.IsForbidden(err) && req.Source == SourceAuto && !req.CreateSecret:
		klog.V(1).Infof("cannot read service account %s/%s (%v); using the TokenRequest API", req.Namespace, req.ServiceAccount, err)
		return g.request(ctx, req)
	case err != nil:
		return nil, fmt.Errorf("reading service account %s/%s: %w", req.Namespace, req.ServiceAccount, err)
	}
	switch {
	case apierrors.IsForbidden(secretsErr) && req.Source == SourceAuto && !req.CreateSecret:
		klog.V(1).Infof("cannot list Secrets in namespace %s (%v); using the TokenRequest API", req.Namespace, secretsErr)
		return g.request(ctx, req)
	case secretsErr != nil:
		return nil, fmt.Errorf("listing token Secrets in namespace %q: %w", req.Namespace, secretsErr)
	}
	secret, skipped := usableSecret(secrets, sa)
	for _, why := range skipped {
		g.warnf("%s", why)
	}
	created := false
	if secret == nil && req.CreateSecret {
		if secret, created, err = g.createSecret(ctx, sa, req.WaitTimeout); err != nil {
			return nil, err
		}
	}
	if secret != nil {
		klog.V(1).Infof("using the token of Secret %s/%s", secret.Namespace, secret.Name)
		c := fromSecret(sa, secret)
		if created {
			c.createdUID = secret.UID
		}
		return c, nil
	}
	if req.Source == SourceSecret {
		return nil, fmt.Errorf("%w for service account %s/%s (Kubernetes no longer creates them since 1.24)", ErrNoSecret, req.Namespace, req.ServiceAccount)
	}
	klog.V(1).Infof("service account %s/%s has no usable token Secret; using the TokenRequest API", req.Namespace, req.ServiceAccount)
	return g.request(ctx, req)
}

func fromSecret(sa *corev1.ServiceAccount, s *corev1.Secret) *Credential {
	return &Credential{
		Token:          string(s.Data[corev1.ServiceAccountTokenKey]),
		Source:         SourceSecret,
		ServiceAccount: sa.Name,
		Namespace:      sa.Namespace,
		SecretName:     s.Name,
		CAData:         s.Data[corev1.ServiceAccountRootCAKey],
	}
}

// usableSecret returns the usable legacy token Secret of sa in list, or
// nil. Among several, the oldest wins, then the first by name: the choice
// is stable. A Secret whose token does not name sa is skipped and reported
// in skipped (one sentence each, naming the Secret): anyone who may create
// Secrets can plant one annotated with another account's name but holding
// a token of their own, and its token must never pass for sa's.
func usableSecret(list *corev1.SecretList, sa *corev1.ServiceAccount) (secret *corev1.Secret, skipped []string) {
	var usable []*corev1.Secret
	for i := range list.Items {
		s := &list.Items[i]
		if !belongsTo(s, sa) {
			continue
		}
		if _, invalid := s.Labels[labelInvalidSince]; invalid {
			klog.V(1).Infof("skipping Secret %s: labelled %s (the API server rejects its token)", s.Name, labelInvalidSince)
			continue
		}
		token := string(s.Data[corev1.ServiceAccountTokenKey])
		if token == "" {
			klog.V(1).Infof("skipping Secret %s: its token is not filled yet", s.Name)
			continue
		}
		if why := tokenNames(token, sa); why != "" {
			skipped = append(skipped, skippedSecret(s, sa, why))
			continue
		}
		usable = append(usable, s)
	}
	if len(usable) == 0 {
		return nil, skipped
	}
	sort.Slice(usable, func(i, j int) bool { return olderThan(usable[i], usable[j]) })
	return usable[0], skipped
}

func skippedSecret(s *corev1.Secret, sa *corev1.ServiceAccount, why string) string {
	return fmt.Sprintf("skipped Secret %s/%s: it is annotated for service account %s, but %s", s.Namespace, s.Name, sa.Name, why)
}

// tokenNames returns "" when the claims of token name sa (its subject and
// its uid), else what is wrong, without any part of the token.
func tokenNames(token string, sa *corev1.ServiceAccount) string {
	claims, err := DecodeClaims(token)
	if err != nil {
		return "its token is not a service account JWT"
	}
	if ns, name := claims.ServiceAccount(); ns != sa.Namespace || name != sa.Name {
		return "its token belongs to another subject"
	}
	if uid := claims.ServiceAccountUID(); uid == "" || types.UID(uid) != sa.UID {
		return "its token names another service account uid"
	}
	return ""
}

// belongsTo reports whether s is a token Secret of sa: the name annotation
// must match and the uid annotation, when present, too (a Secret left over
// from a deleted service account of the same name does not count).
func belongsTo(s *corev1.Secret, sa *corev1.ServiceAccount) bool {
	if s.Type != corev1.SecretTypeServiceAccountToken || s.Annotations[annotationSAName] != sa.Name {
		return false
	}
	uid, ok := s.Annotations[annotationSAUID]
	return !ok || uid == "" || types.UID(uid) == sa.UID
}

func olderThan(a, b *corev1.Secret) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}

// annotationRun marks a Secret created by one run of the plugin, so that a
// create whose answer never arrived (cancelled in flight) can still be found
// and deleted.
const annotationRun = "access.kubectl-access.io/created-by-run"

// createSecret creates a legacy token Secret for sa and waits until the
// token controller fills it; created says this run created it (rather than
// finding its own from an earlier run). On failure it deletes only the
// Secret it created, including one whose create was cancelled in flight.
func (g *Getter) createSecret(ctx context.Context, sa *corev1.ServiceAccount, timeout time.Duration) (*corev1.Secret, bool, error) {
	secrets := g.Client.Secrets(sa.Namespace)
	run := string(uuid.NewUUID())
	want := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        sa.Name + "-token",
			Namespace:   sa.Namespace,
			Annotations: map[string]string{annotationSAName: sa.Name, annotationRun: run},
		},
		Type: corev1.SecretTypeServiceAccountToken,
	}
	created, err := secrets.Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		existing, getErr := secrets.Get(ctx, want.Name, metav1.GetOptions{})
		if getErr == nil && belongsTo(existing, sa) && existing.Labels[labelInvalidSince] == "" {
			// Ours from an earlier run that did not see it filled: wait again.
			// Or one planted under the name we try first: its token is used
			// only if it names sa, as in usableSecret.
			filled, err := g.waitFilled(ctx, existing, timeout, false)
			if err != nil {
				return nil, false, err
			}
			why := tokenNames(string(filled.Data[corev1.ServiceAccountTokenKey]), sa)
			if why == "" {
				return filled, false, nil
			}
			if len(existing.Data[corev1.ServiceAccountTokenKey]) == 0 { // else usableSecret has said so
				g.warnf("%s", skippedSecret(filled, sa, why))
			}
		}
		want.Name, want.GenerateName = "", sa.Name+"-token-"
		created, err = secrets.Create(ctx, want, metav1.CreateOptions{})
	}
	if err != nil {
		var status apierrors.APIStatus
		if !errors.As(err, &status) || ctx.Err() != nil {
			// No answer: the Secret may exist all the same.
			g.deleteRun(sa.Namespace, run)
		}
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		return nil, false, fmt.Errorf("creating a token Secret for service account %s/%s: %w", sa.Namespace, sa.Name, err)
	}
	g.warnf("created Secret %s/%s holding a long-lived token for service account %s: it stays valid until the Secret is deleted", created.Namespace, created.Name, sa.Name)
	filled, err := g.waitFilled(ctx, created, timeout, true)
	return filled, true, err
}

// deleteRun deletes the Secrets of namespace that carry run's marker.
func (g *Getter) deleteRun(namespace, run string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	list, err := g.Client.Secrets(namespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("type", string(corev1.SecretTypeServiceAccountToken)).String(),
	})
	if err != nil {
		g.warnf("could not check for a Secret this run may have created in namespace %s: %v", namespace, err)
		return
	}
	for i := range list.Items {
		if list.Items[i].Annotations[annotationRun] == run {
			g.deleteCreated(&list.Items[i])
		}
	}
}

// cleanupTimeout bounds the deletion of a Secret a failed run created; it
// runs on a context of its own, since the run's may be cancelled.
const cleanupTimeout = 10 * time.Second

// Discard deletes the Secret that Get created for c, if it did: a command
// whose later step failed calls it so that a failed run leaves nothing
// behind. It does nothing for any other credential.
func (g *Getter) Discard(c *Credential) {
	if c == nil || c.createdUID == "" {
		return
	}
	g.deleteCreated(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: c.SecretName, UID: c.createdUID}})
	c.createdUID = ""
}

// waitFilled watches s until its token is set, it is deleted, or timeout.
// The watch starts at the Secret's own resourceVersion, so no change between
// its creation and the watch is missed; a closed watch is resumed.
func (g *Getter) waitFilled(ctx context.Context, s *corev1.Secret, timeout time.Duration, cleanUp bool) (*corev1.Secret, error) {
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	filled, err := g.watchUntilFilled(waitCtx, s)
	switch {
	case err == nil:
		return filled, nil
	case errors.Is(err, errSecretDeleted):
		return nil, fmt.Errorf("Secret %s/%s was deleted while waiting for its token", s.Namespace, s.Name)
	}
	if cleanUp {
		g.deleteCreated(s)
	}
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case waitCtx.Err() != nil:
		return nil, &NotFilledError{Namespace: s.Namespace, Name: s.Name, Timeout: timeout}
	}
	return nil, fmt.Errorf("waiting for Secret %s/%s to be filled: %w", s.Namespace, s.Name, err)
}

var errSecretDeleted = errors.New("secret deleted")

// NotFilledError says a created Secret was not filled with a token within
// the request's WaitTimeout.
type NotFilledError struct {
	Namespace, Name string
	Timeout         time.Duration
}

func (e *NotFilledError) Error() string {
	return fmt.Sprintf("Secret %s/%s was not filled with a token within %s: is kube-controller-manager running its serviceaccount-token controller?", e.Namespace, e.Name, e.Timeout)
}

// untilFilled reads w until the Secret with uid is filled (returned), is
// deleted or ctx ends (error), or the watch closes (nil, nil).
func untilFilled(ctx context.Context, w watch.Interface, uid types.UID) (*corev1.Secret, error) {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case ev, open := <-w.ResultChan():
			if !open {
				return nil, nil
			}
			got, ok := ev.Object.(*corev1.Secret)
			switch {
			case !ok || got.UID != uid:
				// A watch error (such as 410 Gone) is followed by a close.
			case ev.Type == watch.Deleted:
				return nil, errSecretDeleted
			case len(got.Data[corev1.ServiceAccountTokenKey]) > 0:
				return got, nil
			}
		}
	}
}

func (g *Getter) watchUntilFilled(ctx context.Context, s *corev1.Secret) (*corev1.Secret, error) {
	secrets := g.Client.Secrets(s.Namespace)
	selector := fields.OneTermEqualSelector("metadata.name", s.Name).String()
	current := s
	for {
		if current.UID != s.UID {
			return nil, errSecretDeleted
		}
		if len(current.Data[corev1.ServiceAccountTokenKey]) > 0 {
			return current, nil
		}
		w, err := secrets.Watch(ctx, metav1.ListOptions{FieldSelector: selector, ResourceVersion: current.ResourceVersion})
		if err != nil {
			return nil, err
		}
		filled, err := untilFilled(ctx, w, s.UID)
		if filled != nil || err != nil {
			return filled, err
		}
		// The watch closed: read the Secret again and resume from it.
		current, err = secrets.Get(ctx, s.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, errSecretDeleted
		}
		if err != nil {
			return nil, err
		}
	}
}

// deleteCreated removes a Secret this run created and could not use, so a
// failed run leaves nothing behind. The UID precondition guarantees it never
// deletes anything else.
func (g *Getter) deleteCreated(s *corev1.Secret) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	uid := s.UID
	err := g.Client.Secrets(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	switch {
	case err == nil:
		g.warnf("deleted Secret %s/%s again: this run created it and failed", s.Namespace, s.Name)
	case !apierrors.IsNotFound(err):
		g.warnf("could not delete the Secret %s/%s this run created: %v", s.Namespace, s.Name, err)
	}
}

// request obtains a token through the TokenRequest API.
func (g *Getter) request(ctx context.Context, req Request) (*Credential, error) {
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: req.Audiences}}
	if req.Duration > 0 {
		seconds := int64(req.Duration / time.Second)
		tr.Spec.ExpirationSeconds = &seconds
	}
	if req.BoundObjectKind != "" {
		tr.Spec.BoundObjectRef = &authenticationv1.BoundObjectReference{
			Kind:       req.BoundObjectKind,
			APIVersion: "v1",
			Name:       req.BoundObjectName,
		}
	}
	got, err := g.Client.ServiceAccounts(req.Namespace).CreateToken(ctx, req.ServiceAccount, tr, metav1.CreateOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("service account %q not found in namespace %q (or the bound object does not exist): %w", req.ServiceAccount, req.Namespace, err)
	case apierrors.IsForbidden(err):
		return nil, fmt.Errorf("requesting a token for service account %s/%s needs permission to create serviceaccounts/token in namespace %q: %w", req.Namespace, req.ServiceAccount, req.Namespace, err)
	case err != nil:
		return nil, fmt.Errorf("requesting a token for service account %s/%s: %w", req.Namespace, req.ServiceAccount, err)
	}
	if got.Status.Token == "" {
		return nil, fmt.Errorf("the API server returned an empty token for service account %s/%s", req.Namespace, req.ServiceAccount)
	}
	exp := got.Status.ExpirationTimestamp.Time
	if req.Duration > 0 {
		if granted := time.Until(exp).Round(time.Second); granted < req.Duration-time.Minute {
			g.warnf("the API server shortened the token's lifetime: it expires at %s (in %s), not in the requested %s", exp.UTC().Format(time.RFC3339), granted, req.Duration)
		}
	}
	audiences := got.Spec.Audiences
	if len(audiences) == 0 {
		audiences = req.Audiences
	}
	return &Credential{
		Token:               got.Status.Token,
		Source:              SourceRequest,
		ServiceAccount:      req.ServiceAccount,
		Namespace:           req.Namespace,
		ExpirationTimestamp: &exp,
		Audiences:           audiences,
	}, nil
}

// ClientConfig returns a copy of base that authenticates with token alone:
// rest.AnonymousClientConfig drops client certificates, exec and
// auth-provider plugins, token files, basic auth, impersonation and custom
// transports, so nothing in a kubeconfig can shadow the token.
func ClientConfig(base *rest.Config, token string) *rest.Config {
	cfg := rest.AnonymousClientConfig(base)
	cfg.BearerToken = token
	return cfg
}

// SetServer records where the credential is meant to be used: the server of
// base and the CA that verifies it, preferring the kubeconfig's CA to the one
// that came with the token.
func (c *Credential) SetServer(base *rest.Config) error {
	c.Server = base.Host
	switch {
	case len(base.CAData) > 0:
		c.CAData = base.CAData
	case base.CAFile != "":
		data, err := os.ReadFile(base.CAFile)
		if err != nil {
			return fmt.Errorf("reading the certificate authority of the kubeconfig: %w", err)
		}
		c.CAData = data
	}
	return nil
}

// ClientConfig returns a config for the credential's server that
// authenticates as the credential alone and verifies TLS with the
// kubeconfig's CA. When the kubeconfig names none (the system roots verify
// the server), the CA that came with the token (a legacy Secret's ca.crt) is
// trusted in addition to the system roots, never instead of them: a cluster
// with a publicly trusted serving certificate still verifies.
func (c *Credential) ClientConfig(base *rest.Config) *rest.Config {
	return c.clientConfig(base, x509.SystemCertPool)
}

func (c *Credential) clientConfig(base *rest.Config, systemRoots func() (*x509.CertPool, error)) *rest.Config {
	cfg := ClientConfig(base, c.Token)
	if len(cfg.CAData) > 0 || cfg.CAFile != "" || cfg.Insecure || len(c.CAData) == 0 || cfg.Transport != nil {
		return cfg
	}
	pool, err := systemRoots()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pool = pool.Clone()
	if !pool.AppendCertsFromPEM(c.CAData) {
		klog.V(1).Infof("the certificate authority that came with the token holds no certificate; using the system roots alone")
		return cfg
	}
	// client-go takes either its own CA options or a transport of ours; a
	// transport with the system roots plus this CA is the only way to have
	// both. client-go ignores Proxy and Dial with a transport of ours, so it
	// gets them here (the kubeconfig's proxy-url is Proxy).
	tlsConfig := &tls.Config{RootCAs: pool, ServerName: cfg.ServerName, MinVersion: tls.VersionTLS12}
	cfg.Transport = utilnet.SetTransportDefaults(&http.Transport{
		TLSClientConfig:    tlsConfig,
		Proxy:              cfg.Proxy,
		DialContext:        cfg.Dial,
		DisableCompression: cfg.DisableCompression,
	})
	cfg.TLSClientConfig = rest.TLSClientConfig{}
	return cfg
}

// Subject returns the user name the API server gives the credential's
// service account, or "" when it is not a service account token.
func (c *Credential) Subject() string {
	if c.ServiceAccount == "" || c.Namespace == "" {
		return ""
	}
	return "system:serviceaccount:" + c.Namespace + ":" + c.ServiceAccount
}

// The problems ParseToken finds. They read after the name of where the
// token came from ("--token-file holds an empty token").
var (
	ErrEmptyToken    = errors.New("holds an empty token")
	ErrBearerValue   = errors.New(`holds an "Authorization: Bearer" value; give the bare token`)
	ErrSeveralWords  = errors.New("holds more than one word; give one bare token")
	ErrBadCharacters = errors.New("holds characters a bearer token cannot contain")
)

// ReadToken reads a token handed over in a file (or stdin for "-"), trims
// surrounding whitespace and rejects what cannot be a bearer token, so that
// a mistake never turns into an anonymous request. A problem with the text
// is one of the Err*Token errors above; a read error is returned as is.
func ReadToken(name string, stdin io.Reader) (string, error) {
	var (
		data []byte
		err  error
	)
	if name == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, maxTokenBytes))
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return "", err
	}
	return ParseToken(string(data))
}

// ParseToken validates a bearer token given as text. Its errors never
// contain the text.
func ParseToken(text string) (string, error) {
	token := strings.TrimSpace(text)
	switch {
	case token == "":
		return "", ErrEmptyToken
	case strings.HasPrefix(strings.ToLower(token), "bearer "):
		return "", ErrBearerValue
	case strings.ContainsAny(token, " \t\r\n"):
		return "", ErrSeveralWords
	}
	for _, r := range token {
		if r < 0x21 || r > 0x7e {
			return "", ErrBadCharacters
		}
	}
	return token, nil
}

// String describes the credential without its token, so that printing one
// by mistake (%v, %+v, %s, a panic message) never leaks it.
func (c Credential) String() string {
	exp := "never"
	if c.ExpirationTimestamp != nil {
		exp = c.ExpirationTimestamp.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("Credential{Source: %s, ServiceAccount: %s/%s, SecretName: %q, Expires: %s, Audiences: %v, Server: %q, Token: <redacted>}",
		c.Source, c.Namespace, c.ServiceAccount, c.SecretName, exp, c.Audiences, c.Server)
}

// GoString is String for %#v.
func (c Credential) GoString() string { return c.String() }
