// Package exitcode maps errors to the documented exit codes of kubectl-access,
// in one place, so every command answers scripts the same way.
package exitcode

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// The exit codes scripts rely on. They are documented in the README and in
// the help of every command.
const (
	OK           = 0   // success
	Error        = 1   // any other error, e.g. the token could not be obtained
	Usage        = 2   // bad flag value, unknown flag, wrong arguments
	Unauthorized = 3   // the API server answered 401: the token is not accepted
	Forbidden    = 4   // the API server answered 403: authenticated, not allowed
	BadStatus    = 5   // the API server answered another non-2xx status
	TLS          = 6   // TLS verification failed
	Unreachable  = 7   // server unreachable or timed out
	Risk         = 8   // whoami --fail-on-risk found a risky rule
	Interrupted  = 130 // interrupted by SIGINT
)

// codedError carries an explicit exit code for an error.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// WithCode returns err annotated with an explicit exit code; nil stays nil.
func WithCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code: code, err: err}
}

// Usagef returns a usage error (exit code 2) with a formatted message that
// should name the offending flag or argument.
func Usagef(format string, args ...any) error {
	return &codedError{code: Usage, err: fmt.Errorf(format, args...)}
}

// Code returns the exit code for err: an explicit code when one was attached,
// else the class of the underlying API or transport error, else Error.
func Code(err error) int {
	if err == nil {
		return OK
	}
	var coded *codedError
	if errors.As(err, &coded) {
		return coded.code
	}
	if c := Transport(err); c != OK {
		return c
	}
	switch {
	case apierrors.IsUnauthorized(err):
		return Unauthorized
	case apierrors.IsForbidden(err):
		return Forbidden
	case errors.Is(err, context.Canceled):
		return Interrupted
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return BadStatus
	}
	return Error
}

// Transport classifies an error that happened before any HTTP response was
// read: TLS for certificate verification failures, Unreachable for refused
// connections, DNS failures and timeouts, OK when err is neither.
func Transport(err error) int {
	if err == nil {
		return OK
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		record           tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname),
		errors.As(err, &invalid), errors.As(err, &verification), errors.As(err, &record):
		return TLS
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return Unreachable
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return Unreachable
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return Unreachable
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return Unreachable
	}
	return OK
}
