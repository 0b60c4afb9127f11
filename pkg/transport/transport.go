// Package transport hardens the HTTP clients that carry a credential: they
// refuse redirects, and they cap how long the API server may make them wait.
//
// Both are fixed below client-go's rest client, in a round tripper installed
// with rest.Config.WrapTransport, because that is the one place every client
// built from a config goes through: typed clients, rest.RESTClientFor and
// rest.HTTPClientFor alike, however late they are built.
//
// Redirects. client-go adds the Authorization header in a round tripper that
// wraps the whole transport, so it adds it again to every request net/http
// sends while following a redirect, even to another host, where net/http
// itself would have dropped it. The round tripper here sits beneath that one
// (client-go applies WrapTransport first, then the bearer token, user agent
// and impersonation round trippers around it), so it sees each 3xx answer
// before net/http can follow it, and turns it into a *RedirectError.
//
// Retry-After. client-go's rest client retries an answer of 429, or of 5xx
// with a Retry-After header of whole seconds, up to 10 times, sleeping for
// the seconds the server asked each time, with no cap (rest/with_retry.go,
// IsNextRetry and Before). The sleep does end when the request's context
// does, and rest.Config.Timeout is a context deadline over the whole retry
// loop (rest/request.go, request), so a timeout bounds it; without one a
// "Retry-After: 3600" holds a command for ten hours. The round tripper here
// rewrites the header before client-go reads it: a wait longer than
// Options.MaxRetryAfter is cut to it, and a wait that would outlast the
// request's deadline is removed, so that client-go returns the throttled
// answer at once instead of sleeping until the deadline and reporting a
// timeout. Every such answer is counted in a *Throttling for the command to
// report.
package transport

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
)

// DefaultMaxRetryAfter is the longest client-go waits before retrying a
// throttled request when Options.MaxRetryAfter is zero. API Priority and
// Fairness asks for a second or so; anything much longer comes from a
// misconfigured server or front end, and with client-go's 10 retries 5s
// still bounds a request at under a minute.
const DefaultMaxRetryAfter = 5 * time.Second

// Options say how Harden bounds the waits the server asks for.
type Options struct {
	// MaxRetryAfter caps each wait a Retry-After header asks for. It is
	// rounded up to whole seconds, the unit of the header, and is at least
	// one second; zero means DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// Throttling, when set, counts the answers that asked to wait: every
	// 429, and every 5xx with a Retry-After that client-go would honour.
	Throttling *Throttling
}

// maxRetryAfterSeconds is MaxRetryAfter in whole seconds, rounded up.
func (o Options) maxRetryAfterSeconds() int {
	d := o.MaxRetryAfter
	if d <= 0 {
		d = DefaultMaxRetryAfter
	}
	return max(1, int((d+time.Second-1)/time.Second))
}

// Harden returns a copy of cfg whose every client refuses redirects with a
// *RedirectError and caps the waits the server asks for as opts says. An
// existing cfg.WrapTransport is kept, beneath the hardening, so that the
// hardening sees the answer the rest of the chain produced.
//
// Harden the config that carries the credential last: rest.AnonymousClientConfig
// (and so credential.ClientConfig) drops WrapTransport. IsHardened checks.
func Harden(cfg *rest.Config, opts Options) *rest.Config {
	hardened := rest.CopyConfig(cfg)
	maxWait := opts.maxRetryAfterSeconds()
	hardened.Wrap(func(next http.RoundTripper) http.RoundTripper {
		return &roundTripper{next: next, maxWait: maxWait, throttling: opts.Throttling}
	})
	return hardened
}

// IsHardened reports whether the clients built from cfg go through Harden's
// round tripper. It builds the transport to find out, so it is meant for
// tests and checks, not for every request. It looks through the round
// trippers that implement utilnet.RoundTripperWrapper, as client-go's own
// do; one wrapped around the hardening that does not hides it, and
// IsHardened then reports false.
func IsHardened(cfg *rest.Config) (bool, error) {
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		return false, err
	}
	for rt != nil {
		if _, ok := rt.(*roundTripper); ok {
			return true, nil
		}
		wrapper, ok := rt.(utilnet.RoundTripperWrapper)
		if !ok {
			return false, nil
		}
		rt = wrapper.WrappedRoundTripper()
	}
	return false, nil
}

// roundTripper refuses redirects and rewrites Retry-After; see the package
// comment for why it must sit beneath client-go's credential round trippers.
type roundTripper struct {
	next http.RoundTripper
	// maxWait is the longest Retry-After passed on, in seconds.
	maxWait    int
	throttling *Throttling
}

var _ utilnet.RoundTripperWrapper = &roundTripper{}

// RoundTrip sends req and returns the answer, except that a redirect
// becomes a *RedirectError, and the Retry-After of a throttled answer is
// capped.
func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if redirect := redirectOf(req, resp); redirect != nil {
		discard(resp.Body)
		return nil, redirect
	}
	rt.capRetryAfter(req.Context(), resp)
	return resp, nil
}

// WrappedRoundTripper lets client-go's utilities (and IsHardened) see
// through to the transport.
func (rt *roundTripper) WrappedRoundTripper() http.RoundTripper { return rt.next }

// capRetryAfter rewrites the Retry-After of an answer client-go would
// retry, and counts the answers that asked to wait.
func (rt *roundTripper) capRetryAfter(ctx context.Context, resp *http.Response) {
	seconds, honoured := retryAfterSeconds(resp)
	retried := honoured && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500)
	if resp.StatusCode != http.StatusTooManyRequests && !retried {
		return
	}
	ev := event{status: resp.StatusCode, maxWait: time.Duration(rt.maxWait) * time.Second}
	if retried {
		ev.asked = time.Duration(min(seconds, maxAskedSeconds)) * time.Second
		wait := min(max(seconds, 0), rt.maxWait)
		switch {
		case !fitsDeadline(ctx, time.Duration(wait)*time.Second):
			// client-go would sleep until the deadline and then report
			// only that it passed; without the header it returns this
			// answer now.
			resp.Header.Del("Retry-After")
			ev.notRetried = true
		case wait != seconds:
			resp.Header.Set("Retry-After", strconv.Itoa(wait))
			ev.capped = seconds > rt.maxWait
		}
	}
	rt.throttling.record(ev)
}

// maxAskedSeconds bounds the recorded wait so that a huge Retry-After
// cannot overflow a time.Duration (about 292 years).
const maxAskedSeconds = 100 * 365 * 24 * 3600

// retryAfterSeconds is the Retry-After header as client-go reads it
// (rest/request.go, retryAfterSeconds): whole seconds, or not at all. An
// HTTP date is not honoured by client-go, so it is left alone here too.
func retryAfterSeconds(resp *http.Response) (int, bool) {
	value := resp.Header.Get("Retry-After")
	if value == "" {
		return 0, false
	}
	seconds, err := strconv.Atoi(value)
	return seconds, err == nil
}

// fitsDeadline reports whether a retry after wait could still be sent
// before ctx's deadline.
func fitsDeadline(ctx context.Context, wait time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) > wait
}

// discard reads a little of a body no one will see, so the connection can
// be reused, and closes it.
func discard(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 4<<10))
	_ = body.Close()
}
