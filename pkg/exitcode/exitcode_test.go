package exitcode

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestCode(t *testing.T) {
	gr := schema.GroupResource{Resource: "pods"}
	refused := &url.Error{Op: "Get", URL: "https://127.0.0.1:1/api", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, OK},
		{"plain", errors.New("boom"), Error},
		{"usage", Usagef("--x must be y"), Usage},
		{"explicit code wins over the class", WithCode(Error, apierrors.NewForbidden(gr, "p", errors.New("no"))), Error},
		{"wrapped explicit code", fmt.Errorf("ctx: %w", WithCode(Risk, errors.New("risky"))), Risk},
		{"401", apierrors.NewUnauthorized("no"), Unauthorized},
		{"403", apierrors.NewForbidden(gr, "p", errors.New("no")), Forbidden},
		{"404", apierrors.NewNotFound(gr, "p"), BadStatus},
		{"500", apierrors.NewInternalError(errors.New("x")), BadStatus},
		{"unknown authority", &url.Error{Op: "Get", URL: "u", Err: x509.UnknownAuthorityError{}}, TLS},
		{"hostname", fmt.Errorf("w: %w", x509.HostnameError{Host: "h"}), TLS},
		{"connection refused", refused, Unreachable},
		{"dns", &net.DNSError{Err: "no such host", Name: "x"}, Unreachable},
		{"deadline", fmt.Errorf("w: %w", context.DeadlineExceeded), Unreachable},
		{"canceled", context.Canceled, Interrupted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Code(tc.err); got != tc.want {
				t.Errorf("Code(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}

func TestWithCodeNil(t *testing.T) {
	if WithCode(TLS, nil) != nil {
		t.Error("WithCode(nil) is not nil")
	}
}

func TestWorst(t *testing.T) {
	cases := []struct {
		name  string
		codes []int
		want  int
	}{
		{"nothing failed", []int{OK, OK}, OK},
		{"no codes", nil, OK},
		{"unreachable explains every other failure", []int{Unauthorized, Unreachable, Forbidden}, Unreachable},
		{"TLS before a rejected token", []int{Unauthorized, TLS}, TLS},
		{"a rejected token before a refusal", []int{Forbidden, Unauthorized}, Unauthorized},
		{"a wrong subject before a refusal", []int{Forbidden, WrongSubject}, WrongSubject},
		{"a refusal before another status", []int{BadStatus, Forbidden}, Forbidden},
		{"another status before a plain error", []int{Error, BadStatus}, BadStatus},
		{"interrupted before everything", []int{Unreachable, Interrupted}, Interrupted},
		{"an unknown code counts as an error", []int{42}, Error},
		{"risk is not a failure code", []int{Risk, OK}, Error},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Worst(tc.codes...); got != tc.want {
				t.Errorf("Worst(%v) = %d, want %d", tc.codes, got, tc.want)
			}
		})
	}
}

func TestSignal(t *testing.T) {
	for sig, want := range map[os.Signal]int{os.Interrupt: 130, syscall.SIGTERM: 143, syscall.SIGHUP: 129} {
		if got := Signal(sig); got != want {
			t.Errorf("Signal(%v) = %d, want %d", sig, got, want)
		}
	}
}

func TestHelpListsTheCodesAsked(t *testing.T) {
	got := Help(OK, Interrupted)
	want := "    0    " + Table[0].Meaning + "\n    130  " + Table[len(Table)-1].Meaning
	if got != want {
		t.Errorf("Help = %q, want %q", got, want)
	}
	if n := strings.Count(Help(), "\n") + 1; n != len(Table) {
		t.Errorf("Help() has %d lines, want one per code (%d)", n, len(Table))
	}
}
