// Package credential obtains a service account's bearer token the way the
// documented flow does (its legacy token Secret) or the modern way (the
// TokenRequest API), and builds clients that talk to the API server as that
// token alone.
package credential

import (
	"context"
	"errors"
	"fmt"
	"io"
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

// Validate checks a request before anything is sent to the server. The
// messages name the flags the command line uses.
func (r *Request) Validate() error {
	switch r.Source {
	case SourceAuto, SourceSecret, SourceRequest:
	default:
		return fmt.Errorf("--source must be one of auto, secret, request (got %q)", r.Source)
	}
	if r.ServiceAccount == "" {
		return errors.New("service account name must not be empty")
	}
	if r.Duration < 0 {
		return fmt.Errorf("--duration must be positive (got %s)", r.Duration)
	}
	if r.Duration > 0 && r.Duration < MinDuration {
		return fmt.Errorf("--duration must be at least %s or 0 for the server's default (got %s)", MinDuration, r.Duration)
	}
	if r.Duration%time.Second != 0 {
		return fmt.Errorf("--duration must be a whole number of seconds (got %s)", r.Duration)
	}
	switch r.BoundObjectKind {
	case "":
		if r.BoundObjectName != "" {
			return errors.New("--bound-object-name can only be set with --bound-object-kind")
		}
	case "Pod", "Secret", "Node":
		if r.BoundObjectName == "" {
			return errors.New("--bound-object-name is required with --bound-object-kind")
		}
	default:
		return fmt.Errorf("--bound-object-kind must be one of Pod, Secret, Node (got %q)", r.BoundObjectKind)
	}
	if r.Source == SourceSecret && (r.Duration != 0 || len(r.Audiences) > 0 || r.BoundObjectKind != "") {
		return errors.New("--duration, --audience and --bound-object-kind apply to TokenRequest tokens; they cannot be used with --source=secret")
	}
	if r.CreateSecret && r.Source == SourceRequest {
		return errors.New("--create-secret cannot be used with --source=request")
	}
	if r.CreateSecret && r.WaitTimeout <= 0 {
		return fmt.Errorf("--wait-timeout must be positive (got %s)", r.WaitTimeout)
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
}

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
	secret := usableSecret(secrets, sa)
	if secret == nil && req.CreateSecret {
		if secret, err = g.createSecret(ctx, sa, req.WaitTimeout); err != nil {
			return nil, err
		}
	}
	if secret != nil {
		klog.V(1).Infof("using the token of Secret %s/%s", secret.Namespace, secret.Name)
		return fromSecret(sa, secret), nil
	}
	if req.Source == SourceSecret {
		return nil, fmt.Errorf("%w for service account %s/%s (Kubernetes no longer creates them since 1.24): use --create-secret to create one, or --source=request for a short-lived token", ErrNoSecret, req.Namespace, req.ServiceAccount)
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
// is stable.
func usableSecret(list *corev1.SecretList, sa *corev1.ServiceAccount) *corev1.Secret {
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
		if len(s.Data[corev1.ServiceAccountTokenKey]) == 0 {
			klog.V(1).Infof("skipping Secret %s: its token is not filled yet", s.Name)
			continue
		}
		usable = append(usable, s)
	}
	if len(usable) == 0 {
		return nil
	}
	sort.Slice(usable, func(i, j int) bool { return olderThan(usable[i], usable[j]) })
	return usable[0]
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

// createSecret creates a legacy token Secret for sa and waits until the
// token controller fills it. On failure it deletes only the Secret it created.
func (g *Getter) createSecret(ctx context.Context, sa *corev1.ServiceAccount, timeout time.Duration) (*corev1.Secret, error) {
	secrets := g.Client.Secrets(sa.Namespace)
	want := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        sa.Name + "-token",
			Namespace:   sa.Namespace,
			Annotations: map[string]string{annotationSAName: sa.Name},
		},
		Type: corev1.SecretTypeServiceAccountToken,
	}
	created, err := secrets.Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		existing, getErr := secrets.Get(ctx, want.Name, metav1.GetOptions{})
		if getErr == nil && belongsTo(existing, sa) && existing.Labels[labelInvalidSince] == "" {
			// Ours from an earlier run that did not see it filled: wait again.
			return g.waitFilled(ctx, existing, timeout, false)
		}
		want.Name, want.GenerateName = "", sa.Name+"-token-"
		created, err = secrets.Create(ctx, want, metav1.CreateOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("creating a token Secret for service account %s/%s: %w", sa.Namespace, sa.Name, err)
	}
	g.warnf("created Secret %s/%s holding a long-lived token for service account %s: it stays valid until the Secret is deleted", created.Namespace, created.Name, sa.Name)
	return g.waitFilled(ctx, created, timeout, true)
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
		return nil, fmt.Errorf("Secret %s/%s was not filled with a token within --wait-timeout=%s: is kube-controller-manager running its serviceaccount-token controller?", s.Namespace, s.Name, timeout)
	}
	return nil, fmt.Errorf("waiting for Secret %s/%s to be filled: %w", s.Namespace, s.Name, err)
}

var errSecretDeleted = errors.New("secret deleted")

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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	uid := s.UID
	err := g.Client.Secrets(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		g.warnf("could not delete the unfilled Secret %s/%s this run created: %v", s.Namespace, s.Name, err)
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
// authenticates as the credential alone and verifies TLS with its CA.
func (c *Credential) ClientConfig(base *rest.Config) *rest.Config {
	cfg := ClientConfig(base, c.Token)
	if len(cfg.CAData) == 0 && cfg.CAFile == "" && !cfg.Insecure {
		cfg.CAData = c.CAData
	}
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

// ReadToken reads a token handed over in a file (or stdin for "-"), trims
// surrounding whitespace and rejects what cannot be a bearer token, so that
// a mistake never turns into an anonymous request.
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
		return "", fmt.Errorf("reading --token-file: %w", err)
	}
	return ParseToken(string(data))
}

// ParseToken validates a bearer token given as text. Its errors never
// contain the text.
func ParseToken(text string) (string, error) {
	token := strings.TrimSpace(text)
	switch {
	case token == "":
		return "", errors.New("--token-file holds an empty token")
	case strings.HasPrefix(strings.ToLower(token), "bearer "):
		return "", errors.New(`--token-file holds an "Authorization: Bearer" value; give the bare token`)
	case strings.ContainsAny(token, " \t\r\n"):
		return "", errors.New("--token-file holds more than one word; give one bare token")
	}
	for _, r := range token {
		if r < 0x21 || r > 0x7e {
			return "", errors.New("--token-file holds characters a bearer token cannot contain")
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
