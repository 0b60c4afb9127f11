package transport

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
)

// headerAdder is a WrapTransport that a caller had installed before Harden.
type headerAdder struct{ next http.RoundTripper }

func (h headerAdder) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("X-Wrapped", "kept")
	return h.next.RoundTrip(req)
}

func TestHardenKeepsTheExistingWrapTransport(t *testing.T) {
	var wrapped atomic.Int32
	server := newRecorder(t, func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("X-Wrapped") == "kept" {
			wrapped.Add(1)
		}
		answerReview(w, req)
	})
	cfg := configFor(server.Server)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return headerAdder{rt} }

	if err := review(Harden(cfg, Options{})); err != nil {
		t.Fatal(err)
	}
	if wrapped.Load() != 1 {
		t.Errorf("the existing WrapTransport was not applied")
	}
}

func TestHardenRefusesRedirectsMadeByAnExistingWrapTransport(t *testing.T) {
	other := newRecorder(t, answerReview)
	server := newRecorder(t, answerReview)
	cfg := configFor(server.Server)
	// A wrapper beneath Harden's answers with a redirect itself: Harden
	// sees what the rest of the chain produced.
	cfg.WrapTransport = func(http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			return &http.Response{
				StatusCode: http.StatusTemporaryRedirect,
				Header:     http.Header{"Location": {other.URL + "/"}},
				Body:       http.NoBody,
				Request:    req,
			}, nil
		})
	}

	err := review(Harden(cfg, Options{}))

	var redirect *RedirectError
	if !errors.As(err, &redirect) {
		t.Fatalf("error %v is not a *RedirectError", err)
	}
	if got := other.received(); len(got) != 0 {
		t.Errorf("the redirect target received %d requests; it must receive none", len(got))
	}
}

func TestHardenLeavesTheOriginalConfigAlone(t *testing.T) {
	server := newRecorder(t, answerReview)
	cfg := configFor(server.Server)
	cfg.QPS, cfg.Burst, cfg.Timeout, cfg.UserAgent = 42, 43, time.Minute, "kubectl-access/test"

	hardened := Harden(cfg, Options{})

	if cfg.WrapTransport != nil {
		t.Errorf("Harden set WrapTransport on its argument")
	}
	// Everything but the wrapper is copied as it was.
	got, want := rest.CopyConfig(hardened), rest.CopyConfig(cfg)
	got.WrapTransport = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Harden changed more than WrapTransport (-want +got):\n%s", diff)
	}
}

func TestIsHardened(t *testing.T) {
	server := newRecorder(t, answerReview)
	cfg := configFor(server.Server)
	wrapped := configFor(server.Server)
	wrapped.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return headerAdder{rt} }
	cases := []struct {
		name string
		cfg  *rest.Config
		want bool
	}{
		{"a config from Harden is hardened", Harden(cfg, Options{}), true},
		{"a copy of a hardened config is hardened", rest.CopyConfig(Harden(cfg, Options{})), true},
		{"hardening beneath a caller's wrapper is found", Harden(wrapped, Options{}), true},
		{"a plain config is not hardened", cfg, false},
		{"another wrapper alone is not hardening", wrapped, false},
		// credential.ClientConfig is built on rest.AnonymousClientConfig:
		// harden after it, never before.
		{"rest.AnonymousClientConfig drops the hardening", rest.AnonymousClientConfig(Harden(cfg, Options{})), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := IsHardened(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("IsHardened = %v, want %v", got, tc.want)
			}
		})
	}
}

// roundTripperFunc answers requests with a function.
type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// throttled is the record Throttling keeps, for comparison.
type throttled struct {
	ByStatus   map[int]int
	Capped     int
	NotRetried int
}

func TestRetryAfterIsCapped(t *testing.T) {
	const date = "Wed, 21 Oct 2015 07:28:00 GMT"
	cases := []struct {
		name       string
		status     int
		retryAfter string // "" for none
		deadline   time.Duration
		want       string // the Retry-After client-go sees; "" for none
		counted    throttled
	}{
		{name: "a wait longer than the cap is cut to it", status: 429, retryAfter: "3600", want: "5",
			counted: throttled{ByStatus: map[int]int{429: 1}, Capped: 1}},
		{name: "a wait within the cap is kept", status: 429, retryAfter: "1", want: "1",
			counted: throttled{ByStatus: map[int]int{429: 1}}},
		{name: "a wait of exactly the cap is kept", status: 429, retryAfter: "5", want: "5",
			counted: throttled{ByStatus: map[int]int{429: 1}}},
		{name: "a 503 that asks to wait is capped as well", status: 503, retryAfter: "3600", want: "5",
			counted: throttled{ByStatus: map[int]int{503: 1}, Capped: 1}},
		{name: "a negative wait becomes no wait", status: 429, retryAfter: "-3", want: "0",
			counted: throttled{ByStatus: map[int]int{429: 1}}},
		{name: "a wait that overflows a duration is capped", status: 429, retryAfter: "9223372036854775807", want: "5",
			counted: throttled{ByStatus: map[int]int{429: 1}, Capped: 1}},
		{name: "a capped wait that would outlast the deadline is removed", status: 429, retryAfter: "3600", deadline: 2 * time.Second,
			counted: throttled{ByStatus: map[int]int{429: 1}, NotRetried: 1}},
		{name: "a wait that fits the deadline is kept", status: 429, retryAfter: "1", deadline: time.Minute, want: "1",
			counted: throttled{ByStatus: map[int]int{429: 1}}},
		{name: "a 429 without Retry-After is counted and not retried", status: 429,
			counted: throttled{ByStatus: map[int]int{429: 1}}},
		{name: "an HTTP date, which client-go does not honour, is left alone", status: 429, retryAfter: date, want: date,
			counted: throttled{ByStatus: map[int]int{429: 1}}},
		{name: "a 500 without Retry-After is an error, not throttling", status: 500},
		{name: "a 503 with an HTTP date is an error, not throttling", status: 503, retryAfter: date, want: date},
		{name: "a 200 with Retry-After is left alone", status: 200, retryAfter: "3600", want: "3600"},
		{name: "a 404 with Retry-After is left alone", status: 404, retryAfter: "3600", want: "3600"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var counter Throttling
			cfg := Harden(&rest.Config{}, Options{MaxRetryAfter: 5 * time.Second, Throttling: &counter})
			rt := cfg.WrapTransport(roundTripperFunc(func(req *http.Request) (*http.Response, error) {
				resp := &http.Response{StatusCode: tc.status, Header: http.Header{}, Body: http.NoBody, Request: req}
				if tc.retryAfter != "" {
					resp.Header.Set("Retry-After", tc.retryAfter)
				}
				return resp, nil
			}))
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example/api", nil)

			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}

			if got := resp.Header.Get("Retry-After"); got != tc.want {
				t.Errorf("Retry-After %q, want %q", got, tc.want)
			}
			got := throttled{ByStatus: counter.byStatus, Capped: counter.capped, NotRetried: counter.notRetried}
			if diff := cmp.Diff(tc.counted, got); diff != "" {
				t.Errorf("counted (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMaxRetryAfterIsWholeSeconds(t *testing.T) {
	cases := []struct {
		name string
		max  time.Duration
		want int
	}{
		{"zero is the default", 0, 5},
		{"negative is the default", -time.Second, 5},
		{"whole seconds are kept", 3 * time.Second, 3},
		{"a fraction rounds up", 1500 * time.Millisecond, 2},
		{"less than a second is a second", time.Millisecond, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Options{MaxRetryAfter: tc.max}).maxRetryAfterSeconds(); got != tc.want {
				t.Errorf("maxRetryAfterSeconds() = %d, want %d", got, tc.want)
			}
		})
	}
}

// throttle answers the first n requests (all when n < 0) with 429 and
// Retry-After: 3600, the rest with a review.
func throttle(n int32) (http.HandlerFunc, *atomic.Int32) {
	var seen atomic.Int32
	return func(w http.ResponseWriter, req *http.Request) {
		if i := seen.Add(1); n < 0 || i <= n {
			w.Header().Set("Retry-After", "3600")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		answerReview(w, req)
	}, &seen
}

func TestThrottledRequestSucceedsAfterTheCap(t *testing.T) {
	answer, seen := throttle(1)
	server := newRecorder(t, answer)
	var counter Throttling
	cfg := Harden(configFor(server.Server), Options{MaxRetryAfter: time.Second, Throttling: &counter})

	start := time.Now()
	err := review(cfg)
	elapsed := time.Since(start)

	if err != nil {
		t.Fatalf("the retry after the capped wait must succeed: %v", err)
	}
	if elapsed > 10*time.Second {
		t.Errorf("took %s; the wait is capped at 1s", elapsed)
	}
	if n := seen.Load(); n != 2 {
		t.Errorf("the server got %d requests, want 2", n)
	}
	want := "the API server throttled 1 request (429 Too Many Requests); 1 asked to wait up to 1h0m0s, and waited 1s instead"
	if got := counter.Summary(); got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}

func TestThrottledForeverEndsWithinTheTimeout(t *testing.T) {
	cases := []struct {
		name    string
		max     time.Duration
		timeout time.Duration
		// requests is how many the server gets, at least; how many waits
		// of 1s fit in 2.5s depends a little on the machine's speed.
		requests int32
	}{
		// The first wait, 5s, would outlast the 2s timeout: the 429 is
		// returned at once.
		{"a cap beyond the timeout returns the first answer", 0, 2 * time.Second, 1},
		// Waits of 1s fit until less than 1s is left.
		{"capped waits are retried until the next would outlast the timeout", time.Second, 2500 * time.Millisecond, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			answer, seen := throttle(-1)
			server := newRecorder(t, answer)
			var counter Throttling
			cfg := Harden(configFor(server.Server), Options{MaxRetryAfter: tc.max, Throttling: &counter})
			cfg.Timeout = tc.timeout

			start := time.Now()
			err := review(cfg)
			elapsed := time.Since(start)

			if elapsed > 10*time.Second {
				t.Errorf("took %s with a %s timeout", elapsed, tc.timeout)
			}
			if !apierrors.IsTooManyRequests(err) {
				t.Errorf("error %v is not the server's 429", err)
			}
			if code := exitcode.Code(err); code != exitcode.BadStatus {
				t.Errorf("exit code %d, want %d", code, exitcode.BadStatus)
			}
			if n := seen.Load(); n < tc.requests {
				t.Errorf("the server got %d requests, want at least %d", n, tc.requests)
			}
			if n, counted := seen.Load(), int32(counter.Count()); counted != n {
				t.Errorf("counted %d throttled answers of %d", counted, n)
			}
			if counter.notRetried != 1 {
				t.Errorf("%d answers not retried, want the last one", counter.notRetried)
			}
		})
	}
}

// TestThrottledForeverWithoutTimeout pins the bound without a deadline:
// client-go's 10 retries, each after the capped wait.
func TestThrottledForeverWithoutTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 10 times the 1s cap")
	}
	answer, seen := throttle(-1)
	server := newRecorder(t, answer)
	var counter Throttling
	cfg := Harden(configFor(server.Server), Options{MaxRetryAfter: time.Second, Throttling: &counter})

	start := time.Now()
	err := review(cfg)
	elapsed := time.Since(start)

	if !apierrors.IsTooManyRequests(err) {
		t.Errorf("error %v is not the server's 429", err)
	}
	if elapsed > 20*time.Second {
		t.Errorf("took %s; 10 waits of 1s", elapsed)
	}
	if n := seen.Load(); n != 11 {
		t.Errorf("the server got %d requests, want 11 (client-go retries 10 times)", n)
	}
	want := "the API server throttled 11 requests (429 Too Many Requests); 11 asked to wait up to 1h0m0s, and waited 1s instead"
	if got := counter.Summary(); got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}

// TestAWrapperAddedAfterHardenKeepsTheHardening: a wrapper added with
// client-go's transport.Wrappers after Harden sits above the hardening,
// which still refuses the redirect.
func TestAWrapperAddedAfterHardenKeepsTheHardening(t *testing.T) {
	other := newRecorder(t, answerReview)
	server := newRecorder(t, redirectTo(http.StatusTemporaryRedirect, other.URL))
	cfg := Harden(configFor(server.Server), Options{})
	cfg.WrapTransport = transport.Wrappers(cfg.WrapTransport, func(rt http.RoundTripper) http.RoundTripper { return headerAdder{rt} })

	err := review(cfg)

	var redirect *RedirectError
	if !errors.As(err, &redirect) {
		t.Fatalf("error %v is not a *RedirectError", err)
	}
	if got := other.received(); len(got) != 0 {
		t.Errorf("the redirect target received %d requests; it must receive none", len(got))
	}
}

func TestThrottlingSummary(t *testing.T) {
	cases := []struct {
		name   string
		events []event
		want   string
	}{
		{name: "nothing throttled says nothing"},
		{
			name:   "one status is named once",
			events: []event{{status: 429}, {status: 429}},
			want:   "the API server throttled 2 requests (429 Too Many Requests)",
		},
		{
			name:   "several statuses are counted apart, in order",
			events: []event{{status: 503}, {status: 429}, {status: 429}},
			want:   "the API server throttled 3 requests (2 × 429 Too Many Requests, 1 × 503 Service Unavailable)",
		},
		{
			name: "capped and abandoned waits are told",
			events: []event{
				{status: 429, asked: time.Minute, maxWait: 5 * time.Second, capped: true},
				{status: 429, asked: time.Hour, maxWait: 5 * time.Second, capped: true},
				{status: 429, notRetried: true},
			},
			want: "the API server throttled 3 requests (429 Too Many Requests); 2 asked to wait up to 1h0m0s, and waited 5s instead; 1 was not retried: the wait would outlast the request timeout",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var counter Throttling
			for _, ev := range tc.events {
				counter.record(ev)
			}
			if got := counter.Summary(); got != tc.want {
				t.Errorf("Summary() = %q, want %q", got, tc.want)
			}
			if got := counter.Count(); got != len(tc.events) {
				t.Errorf("Count() = %d, want %d", got, len(tc.events))
			}
		})
	}
}

func TestNilThrottlingCountsNothing(t *testing.T) {
	var counter *Throttling
	counter.record(event{status: 429})
	if counter.Count() != 0 || counter.Summary() != "" {
		t.Errorf("a nil Throttling reports %d, %q", counter.Count(), counter.Summary())
	}
}

func TestThrottlingIsSafeForConcurrentUse(t *testing.T) {
	var counter Throttling
	done := make(chan struct{})
	const n = 50
	for i := range n {
		go func() {
			counter.record(event{status: []int{429, 503}[i%2]})
			_ = counter.Summary()
			done <- struct{}{}
		}()
	}
	for range n {
		<-done
	}
	if got := counter.Count(); got != n {
		t.Errorf("Count() = %d, want %d", got, n)
	}
}
