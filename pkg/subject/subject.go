// Package subject decides who a command acts as, in one place. Every command
// (token, probe, whoami, kubeconfig) builds a Request from its flags and calls
// Resolver.Resolve; none obtains a token or builds a client on its own.
//
// The modes, and the requests each sends before the command's own work:
//
//   - ServiceAccount (the default): the token of a service account, obtained
//     with the caller's own credentials (the kubeconfig's, or the pod's): one
//     GET of the ServiceAccount and one LIST of its namespace's token Secrets,
//     and a TokenRequest when no Secret serves (see pkg/credential). A Secret
//     whose token does not name the account is skipped with a warning.
//     --create-secret may create a Secret, which Identity.Discard deletes
//     again when the command fails afterwards.
//   - Current: the caller's own credentials as they are. No request.
//   - TokenFile: a bearer token read from a file or stdin. No request.
//   - Mounted: the pod's own token, re-read from
//     /var/run/secrets/kubernetes.io/serviceaccount. No request. It is also
//     the default in a pod without a kubeconfig when no service account and
//     no token flag is given.
//
// Before any request, Resolve checks the names (a token pasted where a name
// goes is refused and never echoed or sent) and the server's scheme (no
// credential is requested over plain http:// unless allowed). The identity's
// Config carries its token alone (rest.AnonymousClientConfig plus the bearer
// token), goes only to the caller's server, refuses redirects and caps the
// server's Retry-After (pkg/transport).
package subject

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"

	"github.com/kubectl-access/kubectl-access/pkg/credential"
	"github.com/kubectl-access/kubectl-access/pkg/transport"
)

// Mode says how the identity is obtained.
type Mode string

// The modes of a Request.
const (
	ServiceAccount Mode = "serviceaccount"
	Current        Mode = "current"
	TokenFile      Mode = "token-file"
	Mounted        Mode = "mounted"
)

// DefaultServiceAccount is the service account of a Request that names none,
// as in the documented flow.
const DefaultServiceAccount = "default"

// Request says who a command acts as.
type Request struct {
	// Mode is how the identity is obtained.
	Mode Mode
	// Namespace and Name name the service account (ServiceAccount mode).
	// Name defaults to DefaultServiceAccount.
	Namespace string
	Name      string
	// Token says which token to obtain in ServiceAccount mode; its
	// Namespace and ServiceAccount are taken from the fields above.
	Token credential.Request
	// TokenFile is the file (or "-" for stdin) of TokenFile mode.
	TokenFile string
	// Offline says the command needs the credential only, not a server to
	// send it to (token --token-file, token in a pod): no kubeconfig is read.
	Offline bool
	// AllowInsecureHTTP allows sending credentials over plain http://.
	AllowInsecureHTTP bool
}

// Validate checks the request's values before anything is read or sent.
// Its errors are *NameError, *credential.RequestError or
// *credential.DurationTooShortError.
func (r *Request) Validate() error {
	switch r.Mode {
	case ServiceAccount:
		if err := ValidateNamespace(r.Namespace); err != nil {
			return err
		}
		if err := ValidateServiceAccountName(r.name()); err != nil {
			return err
		}
		req := r.tokenRequest()
		return req.Validate()
	case Current, Mounted:
		return nil
	case TokenFile:
		if r.TokenFile == "" {
			return errors.New("no token file given")
		}
		return nil
	}
	return fmt.Errorf("unknown mode %q", r.Mode)
}

func (r *Request) name() string {
	if r.Name == "" {
		return DefaultServiceAccount
	}
	return r.Name
}

func (r *Request) tokenRequest() credential.Request {
	req := r.Token
	req.Namespace, req.ServiceAccount = r.Namespace, r.name()
	return req
}

// NameError says a name is not a valid Kubernetes name. It never holds the
// rejected value: a token pasted where a name goes must not be echoed.
type NameError struct {
	// Kind is "service account" or "namespace".
	Kind string
	// Problem says what is wrong, e.g. "it looks like a token".
	Problem string
	// LooksLikeToken is true when the value looks like a bearer token.
	LooksLikeToken bool
}

func (e *NameError) Error() string {
	return fmt.Sprintf("is not a valid %s name: %s", e.Kind, e.Problem)
}

// ValidateServiceAccountName checks name as a DNS-1123 subdomain, the rule
// for service account names.
func ValidateServiceAccountName(name string) error {
	return checkName("service account", name, validation.IsDNS1123Subdomain)
}

// ValidateNamespace checks name as a DNS-1123 label, the rule for namespace
// names.
func ValidateNamespace(name string) error {
	return checkName("namespace", name, validation.IsDNS1123Label)
}

func checkName(kind, name string, rule func(string) []string) error {
	if name == "" {
		return &NameError{Kind: kind, Problem: "it is empty"}
	}
	errs := rule(name)
	if len(errs) == 0 {
		return nil
	}
	if looksLikeToken(name) {
		return &NameError{Kind: kind, Problem: "it looks like a token", LooksLikeToken: true}
	}
	// The validation messages describe the rule, never the value.
	return &NameError{Kind: kind, Problem: strings.Join(errs, "; ")}
}

// looksLikeToken reports whether s has the shape of a bearer token rather
// than of a mistyped name: a JWT (its header starts with "eyJ", the encoding
// of `{"`), or a long string with characters no Kubernetes name has.
func looksLikeToken(s string) bool {
	if strings.HasPrefix(s, "eyJ") || len(s) > 253 {
		return true
	}
	if len(s) < 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return true
		}
	}
	return false
}

// Resolver resolves Requests. Commands fill it from the kubeconfig flags
// (see pkg/cmd); tests inject fakes.
type Resolver struct {
	// CallerConfig returns the caller's own configuration: the kubeconfig's
	// (or the pod's). It is called only when a request needs a server.
	CallerConfig func() (*rest.Config, error)
	// CoreClient builds the typed client that obtains tokens with the
	// caller's credentials. Nil means corev1client.NewForConfig.
	CoreClient func(*rest.Config) (corev1client.CoreV1Interface, error)
	// MountedDir is where the pod's token is mounted; "" means
	// credential.MountedDir.
	MountedDir string
	// Stdin is read for TokenFile "-".
	Stdin io.Reader
	// Warnf reports warnings meant for the user (stderr); may be nil.
	Warnf func(format string, args ...any)
	// Throttling counts the server's throttling of every client the
	// identity's configs build; may be nil.
	Throttling *transport.Throttling
}

// Identity is who a command acts as.
type Identity struct {
	// Mode is how it was obtained.
	Mode Mode
	// Config authenticates as the identity alone, against the caller's
	// server; nil for an Offline request.
	Config *rest.Config
	// Caller is the caller's own configuration, for what the command does
	// with the caller's rights (listing namespaces); nil for an Offline
	// request.
	Caller *rest.Config
	// Credential is the identity's token and what is known of it; nil in
	// Current mode.
	Credential *credential.Credential
	// Namespace is the namespace of the request (the context's).
	Namespace string

	expected string
	getter   *credential.Getter
}

// Describe names the identity for messages.
func (id *Identity) Describe() string {
	switch {
	case id.Credential == nil:
		return "the kubeconfig's credentials"
	case id.Credential.Subject() != "":
		return id.Credential.Subject()
	}
	return "the given token"
}

// Token is the bearer token the identity sends: the credential's, or in
// Current mode the kubeconfig's own when it holds one.
func (id *Identity) Token() string {
	if id.Credential != nil {
		return id.Credential.Token
	}
	if id.Config != nil {
		return id.Config.BearerToken
	}
	return ""
}

// WrongSubjectError says the server identified the token as someone other
// than the service account the request named.
type WrongSubjectError struct {
	Want, Got string
}

func (e *WrongSubjectError) Error() string {
	return fmt.Sprintf("the API server identifies the token as %q, not as the requested %q: refusing to report another identity's access as this one's", e.Got, e.Want)
}

// CheckUsername returns a *WrongSubjectError when the request named a
// service account and username (what the server says the token is) is not
// that account's.
func (id *Identity) CheckUsername(username string) error {
	if id.expected == "" || username == id.expected {
		return nil
	}
	return &WrongSubjectError{Want: id.expected, Got: username}
}

// Discard deletes the Secret the request created (--create-secret) when
// the command fails after obtaining the identity; it does nothing
// otherwise. Commands defer it and call Keep once their result is out.
func (id *Identity) Discard() {
	if id != nil && id.getter != nil {
		id.getter.Discard(id.Credential)
	}
}

// Keep makes a later Discard a no-op: the command delivered its result, so
// the Secret it created stays.
func (id *Identity) Keep() {
	if id != nil {
		id.getter = nil
	}
}

// SchemeError says the server is plain http:// and the request did not
// allow sending credentials in clear.
type SchemeError struct {
	Server string
}

func (e *SchemeError) Error() string {
	return fmt.Sprintf("server %s is plain http: credentials would travel in clear", e.Server)
}

// FileError says the token file could not be read or holds no usable token.
type FileError struct {
	Err error
}

func (e *FileError) Error() string { return e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Resolve obtains the identity req asks for. It validates req first, and
// checks the server's scheme before any credential is requested.
func (r *Resolver) Resolve(ctx context.Context, req Request) (*Identity, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	id := &Identity{Mode: req.Mode, Namespace: req.Namespace}
	if req.Mode == TokenFile {
		token, err := credential.ReadToken(req.TokenFile, r.Stdin)
		if err != nil {
			return nil, &FileError{Err: err}
		}
		id.Credential = credential.FromToken(token)
	}
	if req.Mode == Mounted {
		dir := r.MountedDir
		if dir == "" {
			dir = credential.MountedDir
		}
		cred, err := credential.Mounted(dir)
		if err != nil {
			return nil, err
		}
		id.Credential = cred
	}
	if req.Offline && req.Mode != ServiceAccount && req.Mode != Current {
		return id, nil
	}

	caller, err := r.CallerConfig()
	if err != nil {
		return nil, err
	}
	if err := checkScheme(caller, req.AllowInsecureHTTP); err != nil {
		return nil, err
	}
	id.Caller = r.harden(caller)

	switch req.Mode {
	case Current:
		id.Config = r.harden(caller)
		return id, nil
	case ServiceAccount:
		if err := r.obtain(ctx, id, req); err != nil {
			return nil, err
		}
	}
	if err := id.Credential.SetServer(caller); err != nil {
		id.Discard()
		return nil, err
	}
	id.Config = r.harden(id.Credential.ClientConfig(caller))
	return id, nil
}

// obtain gets the service account's token with the caller's credentials.
func (r *Resolver) obtain(ctx context.Context, id *Identity, req Request) error {
	newCore := r.CoreClient
	if newCore == nil {
		newCore = func(cfg *rest.Config) (corev1client.CoreV1Interface, error) { return corev1client.NewForConfig(cfg) }
	}
	core, err := newCore(id.Caller)
	if err != nil {
		return err
	}
	getter := &credential.Getter{Client: core, Warnf: r.Warnf}
	cred, err := getter.Get(ctx, req.tokenRequest())
	if err != nil {
		return &ObtainError{Err: err}
	}
	id.Credential, id.getter = cred, getter
	id.expected = "system:serviceaccount:" + req.Namespace + ":" + req.name()
	return nil
}

// ObtainError says the service account's token could not be obtained with
// the caller's credentials. Its exit code is not that of the server's
// answer (3 and 4 describe what the server answers to the token itself).
type ObtainError struct {
	Err error
}

func (e *ObtainError) Error() string { return e.Err.Error() }
func (e *ObtainError) Unwrap() error { return e.Err }

func (r *Resolver) harden(cfg *rest.Config) *rest.Config {
	return transport.Harden(cfg, transport.Options{Throttling: r.Throttling})
}

// CheckScheme returns a *SchemeError when cfg's server is plain http:// and
// allowHTTP is false, for commands that mint tokens outside Resolve's
// request (the audit checks once, before its inventory).
func CheckScheme(cfg *rest.Config, allowHTTP bool) error { return checkScheme(cfg, allowHTTP) }

// checkScheme refuses plain http:// unless allowed.
func checkScheme(cfg *rest.Config, allowHTTP bool) error {
	u, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return fmt.Errorf("invalid server URL: %w", err)
	}
	if strings.EqualFold(u.Scheme, "http") && !allowHTTP {
		return &SchemeError{Server: u.Redacted()}
	}
	return nil
}
