// Package probe sends GET requests to the API server as one identity and
// reports what the server answered: status, latency, body, and the identity
// the server saw (a SelfSubjectReview made with the same credentials). It is
// the careful version of the documented
// curl $APISERVER/api --header "Authorization: Bearer $TOKEN".
//
// Requests sent by Run: one SelfSubjectReview and one GET per distinct path,
// and with Options.Wait the failed ones again. No discovery.
package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	authenticationv1client "k8s.io/client-go/kubernetes/typed/authentication/v1"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/transport"
	"github.com/kubectl-access/kubectl-access/pkg/version"
)

// The record printed by -o json|yaml.
const (
	// APIVersion versions the Report record.
	APIVersion = version.RecordAPIVersion
	// Kind is the kind of the Report record.
	Kind = "ProbeReport"
)

// MaxBodyBytes bounds how much of a response body is read and kept.
const MaxBodyBytes = 1 << 20

// parallelism bounds the requests in flight at once.
const parallelism = 4

// defaultBackoff is the pause between --wait attempts: 250ms doubling to 5s,
// jittered so that many scripts waiting on one cluster spread out.
var defaultBackoff = wait.Backoff{Duration: 250 * time.Millisecond, Factor: 2, Jitter: 0.2, Steps: 1 << 30, Cap: 5 * time.Second}

// Options say how to probe.
type Options struct {
	// Body keeps each response body (up to MaxBodyBytes) in the results.
	Body bool
	// Wait, when positive, retries the paths that failed, with backoff,
	// until every path succeeds or Wait has passed. Attempts already sent
	// when it passes run to their end (bounded by the request timeout).
	Wait time.Duration
	// Backoff overrides the pause between attempts; zero uses 250ms
	// doubling to 5s, jittered.
	Backoff wait.Backoff
}

// Report is what a probe found. It is the -o json|yaml record.
type Report struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Server is the API server URL the requests went to.
	Server string `json:"server"`
	// Service is NAMESPACE/[SCHEME:]NAME[:PORT] when probing through a
	// Service's proxy.
	Service string `json:"service,omitempty"`
	// Identity is who the API server says the requests came from.
	Identity Identity `json:"identity"`
	// Results has one entry per distinct path, in the order given.
	Results []Result `json:"results"`
	// Attempts is how many times the failing paths were sent (1 without
	// --wait).
	Attempts int `json:"attempts"`
}

// Identity is the user the API server saw, from a SelfSubjectReview.
type Identity struct {
	// Username is the user name, e.g. system:serviceaccount:NS:NAME; empty
	// when the review failed.
	Username string `json:"username"`
	// UID is the user's UID, when the server reports one.
	UID string `json:"uid,omitempty"`
	// Groups are the user's groups, sorted.
	Groups []string `json:"groups"`
	// Error says why the identity is unknown.
	Error string `json:"error,omitempty"`
}

// Result is what one path answered.
type Result struct {
	// Path is the --path value.
	Path string `json:"path"`
	// Method is the HTTP method, always GET.
	Method string `json:"method"`
	// URL is the full URL requested.
	URL string `json:"url"`
	// Status is the HTTP status code, 0 when no response came.
	Status int `json:"status"`
	// Reason is the status text, e.g. Forbidden.
	Reason string `json:"reason,omitempty"`
	// OK is true for a 2xx answer.
	OK bool `json:"ok"`
	// LatencyMs is the time from sending the request to the end of the
	// body (or the failure), in milliseconds.
	LatencyMs float64 `json:"latencyMs"`
	// ExitCode is the documented exit code this result alone would give.
	ExitCode int `json:"exitCode"`
	// Error is the API server's message for a non-2xx answer, or what went
	// wrong when no answer came.
	Error string `json:"error,omitempty"`
	// Body is the response body, with --body.
	Body string `json:"body,omitempty"`
	// BodyTruncated is true when the body was longer than MaxBodyBytes.
	BodyTruncated bool `json:"bodyTruncated,omitempty"`
}

// Prober sends the requests as one identity.
type Prober struct {
	client  *http.Client
	base    *url.URL
	reviews authenticationv1client.SelfSubjectReviewInterface
	opts    Options
	// timeout is the per-request limit (--request-timeout), 0 for none.
	timeout time.Duration
}

// New returns a Prober that authenticates as cfg does and verifies TLS as
// cfg says. Every request is bounded by cfg.Timeout when it is set. For a
// bearer token alone, cfg comes from credential.ClientConfig.
func New(cfg *rest.Config, opts Options) (*Prober, error) {
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("building an HTTP client: %w", err)
	}
	// The transport adds the credentials to every request it sends,
	// wherever it goes: a redirect must never be followed. A config hardened
	// by pkg/transport refuses it already; this is the backstop.
	client.CheckRedirect = transport.CheckRedirect
	base, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, exitcode.WithCode(exitcode.Usage, fmt.Errorf("invalid server URL: %w", err))
	}
	auth, err := authenticationv1client.NewForConfigAndClient(cfg, client)
	if err != nil {
		return nil, err
	}
	return &Prober{client: client, base: base, reviews: auth.SelfSubjectReviews(), opts: opts, timeout: cfg.Timeout}, nil
}

// url returns the full URL of a target's path and query.
func (p *Prober) url(uri string) string {
	return strings.TrimSuffix(p.base.String(), "/") + uri
}

// Server is the API server URL requests go to, any password in it masked.
func (p *Prober) Server() string {
	return strings.TrimSuffix(p.base.Redacted(), "/")
}

// Run probes every target once, or with Options.Wait until all succeed or
// the wait ends, and reports the last answer of each. It returns an error
// only when ctx ends (e.g. SIGINT); failures are in the report.
func (p *Prober) Run(ctx context.Context, targets []Target) (*Report, error) {
	rep := &Report{
		APIVersion: APIVersion,
		Kind:       Kind,
		Server:     p.Server(),
		Results:    make([]Result, len(targets)),
	}
	pending := make([]int, len(targets))
	for i := range pending {
		pending[i] = i
	}
	backoff := p.opts.Backoff
	if backoff.Duration <= 0 {
		backoff = defaultBackoff
	}
	deadline := time.Now().Add(p.opts.Wait)
	askIdentity := true
	for {
		rep.Attempts++
		p.round(ctx, rep, targets, pending, askIdentity)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		pending = pending[:0]
		for i, r := range rep.Results {
			if !r.OK {
				pending = append(pending, i)
			}
		}
		askIdentity = rep.Identity.Error != ""
		remaining := time.Until(deadline)
		if len(pending) == 0 || p.opts.Wait <= 0 || remaining <= 0 {
			return rep, nil
		}
		pause := min(backoff.Step(), remaining)
		klog.V(1).Infof("attempt %d: %d of %d paths failed (exit code %d); retrying in %s", rep.Attempts, len(pending), len(targets), rep.ExitCode(), pause.Round(time.Millisecond))
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
}

// round sends the pending targets, and the identity review when asked,
// with bounded concurrency. Each unit writes only its own slot.
func (p *Prober) round(ctx context.Context, rep *Report, targets []Target, pending []int, askIdentity bool) {
	var g errgroup.Group
	g.SetLimit(parallelism)
	if askIdentity {
		g.Go(func() error {
			rep.Identity = p.identity(ctx)
			return nil
		})
	}
	for _, i := range pending {
		g.Go(func() error {
			rep.Results[i] = p.get(ctx, targets[i])
			return nil
		})
	}
	_ = g.Wait() // every unit records its failure in the report
}

// identity asks the API server who the credentials are.
func (p *Prober) identity(ctx context.Context) Identity {
	review, err := p.reviews.Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err == nil {
		groups := append([]string{}, review.Status.UserInfo.Groups...)
		sort.Strings(groups)
		return Identity{Username: review.Status.UserInfo.Username, UID: review.Status.UserInfo.UID, Groups: groups}
	}
	id := Identity{Groups: []string{}}
	switch {
	case apierrors.IsUnauthorized(err):
		id.Error = "the credentials were not accepted: 401 Unauthorized"
	case apierrors.IsForbidden(err):
		id.Error = "not allowed to create a SelfSubjectReview: 403 Forbidden"
	case apierrors.IsNotFound(err):
		id.Error = "the API server does not serve SelfSubjectReview (authentication.k8s.io/v1)"
	default:
		id.Error = "SelfSubjectReview failed: " + p.describe(ctx, err)
	}
	return id
}

// get sends one GET and records the answer.
func (p *Prober) get(ctx context.Context, t Target) Result {
	r := Result{Path: t.Path, Method: http.MethodGet, URL: p.Server() + t.URI}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url(t.URI), nil)
	if err != nil {
		r.ExitCode, r.Error = exitcode.Usage, fmt.Sprintf("invalid URL: %v", err)
		return r
	}
	start := time.Now()
	resp, err := p.client.Do(req)
	var redirect *transport.RedirectError
	switch {
	case errors.As(err, &redirect):
		r.LatencyMs = millis(time.Since(start))
		r.Status, r.Reason = redirect.StatusCode, http.StatusText(redirect.StatusCode)
		r.ExitCode, r.Error = exitcode.BadStatus, redirect.Error()
		return r
	case err != nil:
		r.LatencyMs = millis(time.Since(start))
		r.ExitCode, r.Error = transportCode(err), p.describe(ctx, err)
		return r
	}
	defer resp.Body.Close()
	body, truncated, readErr := readBounded(resp.Body, MaxBodyBytes)
	r.LatencyMs = millis(time.Since(start))
	r.Status = resp.StatusCode
	r.Reason = reason(resp)
	r.OK = resp.StatusCode >= 200 && resp.StatusCode < 300
	r.ExitCode = StatusCode(resp.StatusCode)
	if !r.OK {
		r.Error = statusMessage(resp, body)
	}
	if readErr != nil {
		r.Error = strings.TrimPrefix(r.Error+"; ", "; ") + "reading the body: " + p.describe(ctx, readErr)
		if r.OK {
			r.OK, r.ExitCode = false, transportCode(readErr)
		}
	}
	if p.opts.Body {
		r.Body, r.BodyTruncated = string(body), truncated
	}
	return r
}

// readBounded reads up to limit bytes of body, and drains a little more so
// the connection can be reused; truncated says the body was longer.
func readBounded(body io.Reader, limit int64) (data []byte, truncated bool, err error) {
	data, err = io.ReadAll(io.LimitReader(body, limit+1))
	if int64(len(data)) > limit {
		data, truncated = data[:limit], true
	}
	return data, truncated, err
}

// reason is the status text of resp, e.g. "Forbidden".
func reason(resp *http.Response) string {
	text := strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)))
	if text == "" {
		text = http.StatusText(resp.StatusCode)
	}
	return text
}

// statusMessage is the API server's explanation of a non-2xx answer: the
// message of a metav1.Status body when there is one.
func statusMessage(resp *http.Response, body []byte) string {
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if loc := resp.Header.Get("Location"); loc != "" {
			return "redirect to " + loc + " not followed: the credentials would go with it"
		}
	}
	if status, ok := decodeStatus(body); ok && status.Message != "" {
		return status.Message
	}
	return ""
}

// StatusCode is the documented exit code of an HTTP status: 0 for 2xx, 3
// for 401, 4 for 403, 5 for anything else.
func StatusCode(status int) int {
	switch {
	case status >= 200 && status < 300:
		return exitcode.OK
	case status == http.StatusUnauthorized:
		return exitcode.Unauthorized
	case status == http.StatusForbidden:
		return exitcode.Forbidden
	}
	return exitcode.BadStatus
}

// transportCode is the exit code of a request that got no answer: 6 for TLS
// verification, 7 for unreachable servers and timeouts, 1 otherwise.
func transportCode(err error) int {
	if code := exitcode.Transport(err); code != exitcode.OK {
		return code
	}
	return exitcode.Error
}

// describe is err without the "Get URL:" prefix of *url.Error, since every
// result already shows its URL, and with the request timeout said plainly.
func (p *Prober) describe(ctx context.Context, err error) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	text := err.Error()
	var netErr net.Error
	timedOut := errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout())
	if timedOut && p.timeout > 0 && ctx.Err() == nil {
		return fmt.Sprintf("no answer within %s (--request-timeout): %s", p.timeout, text)
	}
	return text
}

// millis is d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// ExitCode is the documented exit code of the whole report: the lowest
// non-zero code among 3 to 7 over all results, else 1 when a result failed
// otherwise, else 0.
func (r *Report) ExitCode() int {
	return Aggregate(r.Results)
}

// Aggregate is the exit code of a set of results: the lowest non-zero code
// among 3 to 7 (401 < 403 < other status < TLS < unreachable), else 1 when
// a result failed otherwise, else 0.
func Aggregate(results []Result) int {
	code := exitcode.OK
	for _, r := range results {
		c := r.ExitCode
		switch {
		case c == exitcode.OK:
		case c >= exitcode.Unauthorized && c <= exitcode.Unreachable:
			if code < exitcode.Unauthorized || c < code {
				code = c
			}
		case code == exitcode.OK:
			code = exitcode.Error
		}
	}
	return code
}

// Failed returns the results that did not answer 2xx, in order.
func (r *Report) Failed() []Result {
	var failed []Result
	for _, res := range r.Results {
		if !res.OK {
			failed = append(failed, res)
		}
	}
	return failed
}

// Summary says in one line which paths failed and how, for stderr.
func (r *Report) Summary() string {
	failed := r.Failed()
	if len(failed) == 0 {
		return fmt.Sprintf("all %d paths answered 2xx", len(r.Results))
	}
	const shown = 3
	parts := make([]string, 0, shown+1)
	for i, f := range failed {
		if i == shown {
			parts = append(parts, fmt.Sprintf("and %d more", len(failed)-shown))
			break
		}
		parts = append(parts, f.Path+": "+f.Outcome())
	}
	return fmt.Sprintf("%d of %d paths failed (exit code %d): %s", len(failed), len(r.Results), r.ExitCode(), strings.Join(parts, "; "))
}

// Outcome is a short description of the answer: "403 Forbidden", or the
// error when no answer came.
func (r Result) Outcome() string {
	if r.Status == 0 {
		return r.Error
	}
	return strconv.Itoa(r.Status) + " " + r.Reason
}
