package probe

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// DefaultPath is probed when no --path is given: what the documented curl
// flow asks for.
const DefaultPath = "/api"

// defaultServicePath is probed through a Service's proxy when no --path is
// given: the root of the service.
const defaultServicePath = "/"

// maxPathBytes bounds a --path value; API server paths are far shorter.
const maxPathBytes = 8192

// Service is a Service reached through the API server's service proxy:
// /api/v1/namespaces/NAMESPACE/services/[SCHEME:]NAME[:PORT]/proxy/.
type Service struct {
	// Namespace is the Service's namespace; empty until defaulted to the
	// subject's namespace.
	Namespace string
	// Name is the Service's name.
	Name string
	// Scheme is "", "http" or "https": how the API server talks to the
	// endpoints. Empty means http.
	Scheme string
	// Port is a port number or name of the Service; empty for its only
	// (unnamed) port.
	Port string
}

// String is the Service as --service takes it, with the namespace.
func (s Service) String() string {
	ns := ""
	if s.Namespace != "" {
		ns = s.Namespace + "/"
	}
	return ns + s.segment()
}

// segment is the [SCHEME:]NAME[:PORT] path segment of the service proxy, in
// the form the API server splits: with a scheme it always has three parts
// (https:web: for the default port), since "https:web" would mean the
// Service "https" on port "web" to the API server.
func (s Service) segment() string {
	switch {
	case s.Scheme != "":
		return s.Scheme + ":" + s.Name + ":" + s.Port
	case s.Port != "":
		return s.Name + ":" + s.Port
	}
	return s.Name
}

// ProxyPath is the API path of the Service's proxy, without the trailing
// slash. The namespace must be set.
func (s Service) ProxyPath() string {
	return "/api/v1/namespaces/" + s.Namespace + "/services/" + s.segment() + "/proxy"
}

// ParseService parses a --service value, [NAMESPACE/][SCHEME:]NAME[:PORT]:
// "web", "build/web:8080", "https:web:8443", "build/https:web". SCHEME is
// http or https; "https:web" means the scheme https, not a port named web
// (write ":https:web" for the Service "https" on port "web"). Errors never
// quote the value: a token pasted into the wrong flag must not reach stderr.
func ParseService(value string) (Service, error) {
	var s Service
	if value == "" {
		return s, errors.New("--service must name a Service: [NAMESPACE/][SCHEME:]NAME[:PORT]")
	}
	if err := checkChars(value, isServiceChar); err != nil {
		return s, fmt.Errorf("--service %w; the form is [NAMESPACE/][SCHEME:]NAME[:PORT]", err)
	}
	segment := value
	if ns, rest, found := strings.Cut(value, "/"); found {
		if strings.Contains(rest, "/") {
			return s, errors.New(`--service has more than one "/"; the form is [NAMESPACE/][SCHEME:]NAME[:PORT]`)
		}
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return s, fmt.Errorf("--service: the namespace is not a valid namespace name: %s", strings.Join(errs, "; "))
		}
		s.Namespace, segment = ns, rest
	}
	parts := strings.Split(segment, ":")
	switch len(parts) {
	case 1:
		s.Name = parts[0]
	case 2:
		if isScheme(parts[0]) && len(validation.IsDNS1035Label(parts[1])) == 0 {
			s.Scheme, s.Name = parts[0], parts[1]
		} else {
			s.Name, s.Port = parts[0], parts[1]
			if s.Port == "" {
				return s, errors.New(`--service ends with ":" but names no port; leave the ":" out for the Service's only port`)
			}
		}
	case 3:
		s.Scheme, s.Name, s.Port = parts[0], parts[1], parts[2]
		if s.Scheme != "" && !isScheme(s.Scheme) {
			return s, errors.New("--service: the scheme must be http or https")
		}
	default:
		return s, errors.New(`--service has too many ":"; the form is [NAMESPACE/][SCHEME:]NAME[:PORT]`)
	}
	if s.Name == "" {
		return s, errors.New("--service names no Service; the form is [NAMESPACE/][SCHEME:]NAME[:PORT]")
	}
	if errs := validation.IsDNS1035Label(s.Name); len(errs) > 0 {
		return s, fmt.Errorf("--service: the name is not a valid Service name: %s", strings.Join(errs, "; "))
	}
	if s.Port != "" {
		if err := checkPort(s.Port); err != nil {
			return s, fmt.Errorf("--service: %w", err)
		}
	}
	return s, nil
}

func isScheme(s string) bool { return s == "http" || s == "https" }

// checkPort accepts a port number (1-65535) or a port name.
func checkPort(port string) error {
	if port[0] >= '0' && port[0] <= '9' {
		n, err := strconv.Atoi(port)
		if err != nil || len(validation.IsValidPortNum(n)) > 0 {
			return errors.New("the port must be a number from 1 to 65535 or a port name")
		}
		return nil
	}
	if errs := validation.IsValidPortName(port); len(errs) > 0 {
		return fmt.Errorf("the port is not a valid port name: %s", strings.Join(errs, "; "))
	}
	return nil
}

func isServiceChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == ':' || c == '/'
}

// ParsePath checks a --path value and returns it as it will be sent: it
// must start with one "/" (no scheme, no host: the token only ever goes to
// the kubeconfig's server), hold only URI characters (non-ASCII must be
// percent-encoded), and have no "." or ".." segment, encoded or not, that
// could climb out of a Service's proxy. A query is allowed; a fragment is
// not. Errors never quote the value.
func ParsePath(p string) (string, error) {
	switch {
	case p == "":
		return "", errors.New(`must not be empty; give a path such as /api`)
	case len(p) > maxPathBytes:
		return "", fmt.Errorf("is longer than %d bytes", maxPathBytes)
	case strings.HasPrefix(p, "//"):
		return "", errors.New(`must not start with "//": give a path on the server, not another host`)
	case p[0] != '/':
		if i := strings.Index(p, "://"); i > 0 && !strings.ContainsAny(p[:i], "/?") {
			return "", errors.New(`must be a path such as /api, not a URL: the server comes from the kubeconfig or --server`)
		}
		return "", errors.New(`must start with "/", such as /api or /readyz`)
	}
	rawPath, rawQuery, hasQuery := strings.Cut(p, "?")
	if err := checkChars(rawPath, isPathChar); err != nil {
		return "", err
	}
	if err := checkEscapes(rawPath); err != nil {
		return "", err
	}
	for _, segment := range strings.Split(rawPath, "/") {
		decoded, err := url.PathUnescape(segment)
		if err != nil {
			return "", errors.New("holds an invalid percent-encoding")
		}
		for _, part := range strings.FieldsFunc(decoded, func(r rune) bool { return r == '/' || r == '\\' }) {
			if part == "." || part == ".." {
				return "", errors.New(`must not hold "." or ".." segments (encoded or not)`)
			}
		}
	}
	if hasQuery {
		if err := checkChars(rawQuery, isQueryChar); err != nil {
			return "", fmt.Errorf("query %w", err)
		}
		if err := checkEscapes(rawQuery); err != nil {
			return "", fmt.Errorf("query %w", err)
		}
	}
	return p, nil
}

// isPathChar reports whether c may appear unescaped in a URI path (RFC 3986
// pchar or "/"), with "%" checked separately.
func isPathChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/%", c) >= 0
}

func isQueryChar(c byte) bool { return isPathChar(c) || c == '?' }

// checkChars names the first character that ok rejects, without quoting
// anything around it.
func checkChars(s string, ok func(byte) bool) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ok(c) {
			continue
		}
		switch {
		case c == '#':
			return errors.New(`holds "#": a fragment is never sent to the server`)
		case c == ' ':
			return errors.New("holds a space; percent-encode it as %20")
		case c < 0x20 || c == 0x7f:
			return errors.New("holds a control character")
		case c >= 0x80:
			return errors.New("holds a non-ASCII character; percent-encode it")
		}
		return fmt.Errorf("holds the character %q, which is not allowed there; percent-encode it", c)
	}
	return nil
}

// checkEscapes rejects a "%" not followed by two hex digits.
func checkEscapes(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return errors.New(`holds a "%" that does not start a percent-encoding (%XX)`)
		}
		i += 2
	}
	return nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// Target is one request to send: the --path as given and the path and query
// sent to the server.
type Target struct {
	// Path is the --path value (or the default) as the user gave it.
	Path string
	// URI is the path and query sent to the server: Path itself, or Path
	// under the Service's proxy.
	URI string
}

// Targets checks the --path values and returns one Target for each distinct
// one, in the order given: the paths themselves, or, with svc, the paths
// under the Service's proxy. No paths means /api, or / through a Service.
// svc must have its namespace set.
func Targets(svc *Service, paths []string) ([]Target, error) {
	if len(paths) == 0 {
		paths = []string{DefaultPath}
		if svc != nil {
			paths = []string{defaultServicePath}
		}
	}
	if err := CheckPaths(paths); err != nil {
		return nil, err
	}
	targets := make([]Target, 0, len(paths))
	seen := make(map[string]bool, len(paths))
	for _, p := range paths {
		if seen[p] {
			continue
		}
		seen[p] = true
		uri := p
		if svc != nil {
			if svc.Namespace == "" {
				return nil, errors.New("the Service's namespace is not set")
			}
			uri = svc.ProxyPath() + p
		}
		targets = append(targets, Target{Path: p, URI: uri})
	}
	return targets, nil
}

// CheckPaths checks the --path values alone, before the Service's
// namespace is known.
func CheckPaths(paths []string) error {
	for i, p := range paths {
		if _, err := ParsePath(p); err != nil {
			if len(paths) > 1 {
				return fmt.Errorf("--path (value %d of %d) %w", i+1, len(paths), err)
			}
			return fmt.Errorf("--path %w", err)
		}
	}
	return nil
}

// ParseTarget parses one --service value (empty for none) and one --path
// value (empty for the default) as the command line gives them, and returns
// the path and query to send; namespace is the default for a Service given
// without one.
func ParseTarget(service, path, namespace string) (string, error) {
	var svc *Service
	if service != "" {
		s, err := ParseService(service)
		if err != nil {
			return "", err
		}
		if s.Namespace == "" {
			s.Namespace = namespace
		}
		svc = &s
	}
	var paths []string
	if path != "" {
		paths = []string{path}
	}
	targets, err := Targets(svc, paths)
	if err != nil {
		return "", err
	}
	return targets[0].URI, nil
}
