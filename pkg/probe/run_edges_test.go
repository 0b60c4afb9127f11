package probe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
)

// TestRunWaitDefaultBackoff: --wait without a Backoff pauses the default
// 250ms before retrying, instead of hammering the server with no pause.
func TestRunWaitDefaultBackoff(t *testing.T) {
	s := newFakeServer(t)
	s.failures["/ok"] = 1
	start := time.Now()
	rep := run(t, s.config(), Options{Wait: 10 * time.Second}, "/ok")
	elapsed := time.Since(start)
	if rep.ExitCode() != exitcode.OK || rep.Attempts != 2 {
		t.Errorf("exit code %d after %d attempts, want 0 after 2", rep.ExitCode(), rep.Attempts)
	}
	if elapsed < defaultBackoff.Duration || elapsed > 5*time.Second {
		t.Errorf("retried after %s, want after the default pause of %s", elapsed, defaultBackoff.Duration)
	}
}

// TestRunReasonPhrase: a result shows the reason phrase the server sent,
// and the standard text of its status when the server sent none.
func TestRunReasonPhrase(t *testing.T) {
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		line := "HTTP/1.1 503"
		if r.URL.Path == "/custom" {
			line = "HTTP/1.1 503 Backend Down"
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		buf.WriteString(line + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		buf.Flush()
	}))
	defer s.Close()
	rep := run(t, tlsConfig(s), Options{}, "/custom", "/bare")
	want := []brief{
		{Path: "/custom", URL: s.URL + "/custom", Reason: "Backend Down", Status: 503, ExitCode: exitcode.BadStatus},
		{Path: "/bare", URL: s.URL + "/bare", Reason: "Service Unavailable", Status: 503, ExitCode: exitcode.BadStatus},
	}
	if diff := cmp.Diff(want, briefs(rep)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

// timeoutError is a net.Error that timed out, as a dial timeout is.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// TestRunTimeoutWithoutRequestTimeout: a timeout when no --request-timeout
// is set (here the dial's own) is reported as it is, not blamed on a flag
// the user did not give.
func TestRunTimeoutWithoutRequestTimeout(t *testing.T) {
	s := newFakeServer(t)
	cfg := s.config()
	cfg.Dial = func(_ context.Context, network, _ string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: timeoutError{}}
	}
	rep := run(t, cfg, Options{}, "/api")
	want := []brief{{Path: "/api", URL: s.URL + "/api", ExitCode: exitcode.Unreachable, Error: "dial tcp: i/o timeout"}}
	if diff := cmp.Diff(want, briefs(rep)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if want := "SelfSubjectReview failed: dial tcp: i/o timeout"; rep.Identity.Error != want {
		t.Errorf("identity error = %q, want %q", rep.Identity.Error, want)
	}
}

// TestRunLatencyInMilliseconds: LatencyMs is in milliseconds: at least the
// server's delay, at most the whole run as the test measured it.
func TestRunLatencyInMilliseconds(t *testing.T) {
	const delay = 20 * time.Millisecond
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(delay)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer s.Close()
	start := time.Now()
	rep := run(t, tlsConfig(s), Options{}, "/slow")
	elapsed := time.Since(start)
	got := rep.Results[0].LatencyMs
	if got < float64(delay.Milliseconds()) || got > float64(elapsed.Microseconds())/1000 {
		t.Errorf("latency %vms, want between %s and %s", got, delay, elapsed)
	}
}
