package review

import "context"

// FanOut runs do(ctx, i) for i in [0, n), at most limit (DefaultConcurrency
// if < 1) at once, with the stopping rules of Review: a failure every other
// unit would repeat (unreachable server, TLS failure, redirect, 401, 403)
// stops the run, described by stopCause, and the units not yet done get a
// NotReviewedError. It returns each unit's error; the error is non-nil only
// when ctx ends. Commands that fan out over more than namespaces (the audit,
// over service accounts) share it.
func FanOut(ctx context.Context, limit, n int, do func(ctx context.Context, i int) error, stopCause func(i int, err error) error) ([]error, error) {
	return fanOut(ctx, limit, n, do, stopCause)
}
