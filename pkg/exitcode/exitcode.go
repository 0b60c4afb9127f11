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
	"slices"
	"strings"
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
	Risk         = 8   // whoami --fail-on-risk found a risky right at or above its threshold
	Unverified   = 9   // whoami --fail-on-risk could not verify every risky action (fails closed)
	WrongSubject = 10  // the server identified the token as someone other than the service account asked for
	Expectation  = 11  // check: an expectation did not hold
	Interrupted  = 130 // interrupted by SIGINT (SIGTERM exits 143, SIGHUP 129: 128 + the signal)
)

// Entry documents one exit code.
type Entry struct {
	Code    int
	Meaning string
}

// Table is the documented table of exit codes, in code order. It is the one
// text every command's help and the README render (a test keeps the README
// in sync).
var Table = []Entry{
	{OK, "success (probe: every path answered 2xx)"},
	{Error, "any other error (e.g. the token could not be obtained)"},
	{Usage, "usage error (bad flag value, unknown flag, conflicting flags, a name that is not a valid Kubernetes name)"},
	{Unauthorized, "the API server answered 401: the token is not accepted"},
	{Forbidden, "the API server answered 403: authenticated, not allowed"},
	{BadStatus, "the API server answered another non-2xx status (404, 5xx, a 429 throttled past --request-timeout, a refused redirect)"},
	{TLS, "TLS verification failed (unknown authority, name mismatch), or a plain http:// server without --allow-insecure-http"},
	{Unreachable, "server unreachable or timed out (connection refused, DNS, --request-timeout)"},
	{Risk, "whoami or audit --fail-on-risk found a risky right at or above its severity (high unless given) that no exception accepts"},
	{Unverified, "whoami or audit --fail-on-risk could not verify every such risky action of an incomplete review: it fails closed"},
	{WrongSubject, "the API server identified the token as someone other than the service account asked for"},
	{Expectation, "check: an expectation did not hold (a right expected is missing, or a right expected denied is allowed)"},
	{Interrupted, "interrupted (Ctrl-C); SIGTERM exits 143 and SIGHUP 129, after the same clean-up"},
}

// Help renders the rows of Table whose codes are given (all when none are),
// indented for a command's long help.
func Help(codes ...int) string {
	var b strings.Builder
	for _, e := range Table {
		if len(codes) > 0 && !slices.Contains(codes, e.Code) {
			continue
		}
		fmt.Fprintf(&b, "    %-4d %s\n", e.Code, e.Meaning)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Markdown renders Table as the README's markdown table.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| code | meaning |\n|---|---|\n")
	for _, e := range Table {
		fmt.Fprintf(&b, "| %d | %s |\n", e.Code, e.Meaning)
	}
	return b.String()
}

// precedence orders the failure codes from the one that explains most to
// the one that explains least: when a run fails in several ways (paths of a
// probe, namespaces of a whoami), the first of these present is its exit
// code. A server that cannot be reached or verified explains every other
// failure; a rejected token explains every refusal.
var precedence = []int{Interrupted, Unreachable, TLS, Unauthorized, WrongSubject, Forbidden, BadStatus, Error}

// Worst returns the exit code of a run that ended with codes: OK when every
// code is OK, else the first failure code of the documented precedence
// (interrupted, unreachable, TLS, 401, wrong subject, 403, other status,
// other error); a code outside that list counts as Error.
func Worst(codes ...int) int {
	found := map[int]bool{}
	for _, c := range codes {
		if c == OK {
			continue
		}
		if !slices.Contains(precedence, c) {
			c = Error
		}
		found[c] = true
	}
	for _, c := range precedence {
		if found[c] {
			return c
		}
	}
	return OK
}

// Signal returns the exit code of a run stopped by sig: 128 plus the signal
// number, as shells report it.
func Signal(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return Interrupted
}

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
