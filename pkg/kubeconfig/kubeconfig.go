// Package kubeconfig turns a service account credential into a kubeconfig
// that authenticates as its token alone, and writes it safely: to a new file
// atomically (a temporary file in the same directory, fsync, then link or
// rename), or merged into the active kubeconfig, read and written under the
// lock files kubectl config uses (FILE.lock), each changed file replaced by
// the same atomic rename. Whatever it writes is mode 0600: a merged
// kubeconfig that was open to group or others is tightened to 0600, with a
// warning.
//
// No error of this package ever contains the token.
package kubeconfig

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-access/kubectl-access/pkg/credential"
)

// Sentinel errors, for errors.Is. The errors returned wrap them with the
// path or name concerned and what the user can do.
var (
	// ErrExists: the output file, or a kubeconfig entry of the same name,
	// already exists and replacing it was not allowed.
	ErrExists = errors.New("already exists")
	// ErrLocked: a kubeconfig lock file exists.
	ErrLocked = errors.New("kubeconfig is locked")
	// ErrSymlink: the file to write is a symbolic link.
	ErrSymlink = errors.New("is a symbolic link")
)

// sentinelError is an error with its own message that still matches a
// sentinel with errors.Is.
type sentinelError struct {
	sentinel error
	msg      string
}

func (e *sentinelError) Error() string        { return e.msg }
func (e *sentinelError) Is(target error) bool { return target == e.sentinel }

// Options shape the kubeconfig Build returns.
type Options struct {
	// Name names the cluster, the user and the context alike, so one name
	// identifies everything the kubeconfig adds. See DefaultName.
	Name string
	// Insecure sets insecure-skip-tls-verify, for a cluster the current
	// kubeconfig already reaches without TLS verification. The CA data is
	// then left out: client-go refuses a cluster with both.
	Insecure bool
	// TLSServerName is the current cluster's tls-server-name, needed when
	// the server's certificate does not name the host of the server URL.
	TLSServerName string
}

// DefaultName is the name given to the cluster, user and context of a
// service account's kubeconfig: NAMESPACE:SERVICEACCOUNT@CLUSTER. The
// NAMESPACE:NAME part is how kubectl create rolebinding --serviceaccount
// names a service account; including the namespace keeps the "default"
// service accounts of two namespaces apart when merged into one kubeconfig.
func DefaultName(namespace, serviceAccount, cluster string) string {
	return namespace + ":" + serviceAccount + "@" + cluster
}

// Build returns a standalone kubeconfig for cred: one cluster (cred.Server,
// verified with cred.CAData embedded as certificate-authority-data), one
// user holding only the token, and one context in the service account's
// namespace, set as current. All three are named opts.Name.
func Build(cred *credential.Credential, opts Options) (*clientcmdapi.Config, error) {
	if cred == nil {
		return nil, errors.New("no credential to build a kubeconfig from")
	}
	if err := checkToken(cred.Token); err != nil {
		return nil, err
	}
	if err := CheckName(opts.Name); err != nil {
		return nil, err
	}
	if err := checkServer(cred.Server); err != nil {
		return nil, err
	}
	if opts.TLSServerName != "" && !printable(opts.TLSServerName) {
		return nil, errors.New("invalid tls-server-name: it holds white space, control characters or invalid UTF-8")
	}
	if cred.Namespace != "" {
		if msgs := validation.IsDNS1123Label(cred.Namespace); len(msgs) > 0 {
			return nil, fmt.Errorf("invalid namespace %q: %s", cred.Namespace, strings.Join(msgs, "; "))
		}
	}
	cluster := &clientcmdapi.Cluster{
		Server:                cred.Server,
		TLSServerName:         opts.TLSServerName,
		InsecureSkipTLSVerify: opts.Insecure,
	}
	if !opts.Insecure && len(cred.CAData) > 0 {
		if !x509.NewCertPool().AppendCertsFromPEM(cred.CAData) {
			return nil, errors.New("the certificate authority data of the cluster holds no PEM certificate")
		}
		cluster.CertificateAuthorityData = append([]byte(nil), cred.CAData...)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[opts.Name] = cluster
	cfg.AuthInfos[opts.Name] = &clientcmdapi.AuthInfo{Token: cred.Token}
	cfg.Contexts[opts.Name] = &clientcmdapi.Context{Cluster: opts.Name, AuthInfo: opts.Name, Namespace: cred.Namespace}
	cfg.CurrentContext = opts.Name
	if err := clientcmd.Validate(*cfg); err != nil {
		return nil, fmt.Errorf("the kubeconfig built for %q is invalid: %w", opts.Name, err)
	}
	return cfg, nil
}

// checkToken rejects what cannot be a bearer token. Its errors never hold
// the token.
func checkToken(token string) error {
	if token == "" {
		return errors.New("the credential holds no token")
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; c < 0x21 || c > 0x7e {
			return errors.New("the token holds characters a bearer token cannot contain")
		}
	}
	return nil
}

// CheckName accepts a cluster, user or context name: any printable UTF-8
// text. Kubeconfig names are map keys, but control characters or surrounding
// white space would make them impossible to type or to tell apart.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("the context name must not be empty")
	case !utf8.ValidString(name):
		return errors.New("the context name is not valid UTF-8")
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("the context name %q must not start or end with white space", name)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("the context name %q holds a control character", name)
		}
	}
	return nil
}

// checkServer accepts an http or https URL with a host.
func checkServer(server string) error {
	if server == "" {
		return errors.New("no server URL: the current context's cluster sets no server")
	}
	if !printable(server) {
		return errors.New("invalid server URL: it holds white space, control characters or invalid UTF-8")
	}
	u, err := url.Parse(server)
	if err != nil {
		return fmt.Errorf("invalid server URL %q: %w", server, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("invalid server URL %q: want https://HOST[:PORT]", server)
	}
	if u.User != nil {
		return errors.New("the server URL must not hold a user name or password")
	}
	return nil
}

// printable reports whether s is valid UTF-8 without white space or control
// characters, so it survives the kubeconfig's YAML encoding unchanged.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}
