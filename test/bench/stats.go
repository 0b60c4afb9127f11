package main

import (
	"math"
	"slices"
	"time"
)

// summary describes the wall times of one variant.
type summary struct {
	N                int
	Median, Min, Max time.Duration
}

// summarize returns the median, minimum and maximum of ds; the zero summary
// for no samples.
func summarize(ds []time.Duration) summary {
	if len(ds) == 0 {
		return summary{}
	}
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return summary{
		N:      len(ds),
		Median: time.Duration(math.Round(median(xs))),
		Min:    slices.Min(ds),
		Max:    slices.Max(ds),
	}
}

// median is the middle value of xs, or the mean of the two middle values for
// an even count; NaN for no values. xs is not modified.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	mid := len(s) / 2
	if len(s)%2 == 1 {
		return s[mid]
	}
	return (s[mid-1] + s[mid]) / 2
}

// ratio compares variant B with variant A, run in the same rounds.
type ratio struct {
	// Pairs is how many rounds both ran in.
	Pairs int
	// MedianOfRatios is the median of B[i]/A[i] over rounds i: each pair
	// ran back to back, so a burst of load elsewhere on the machine hits
	// both sides of a pair.
	MedianOfRatios float64
	// Min and Max are the extreme per-pair ratios.
	Min, Max float64
	// OfMedians is median(B)/median(A).
	OfMedians float64
}

// compare returns B/A pair by pair. Rounds beyond the shorter slice and
// rounds where A took no time are left out; with no pair left, every ratio
// is NaN.
func compare(b, a []time.Duration) ratio {
	n := min(len(a), len(b))
	per := make([]float64, 0, n)
	for i := range n {
		if a[i] > 0 {
			per = append(per, float64(b[i])/float64(a[i]))
		}
	}
	r := ratio{Pairs: len(per), MedianOfRatios: math.NaN(), Min: math.NaN(), Max: math.NaN(), OfMedians: math.NaN()}
	if len(per) == 0 {
		return r
	}
	r.MedianOfRatios = median(per)
	r.Min, r.Max = slices.Min(per), slices.Max(per)
	if ma := summarize(a[:n]).Median; ma > 0 {
		r.OfMedians = float64(summarize(b[:n]).Median) / float64(ma)
	}
	return r
}

// marginal is the extra time per extra unit between two sizes: the slope
// (t2-t1)/(n2-n1) of the line through (n1, t1) and (n2, t2). It is what one
// more namespace costs once the fixed costs (process start, the token, the
// namespace list) are paid. ok is false when n2 == n1.
func marginal(n1 int, t1 time.Duration, n2 int, t2 time.Duration) (slope time.Duration, ok bool) {
	if n2 == n1 {
		return 0, false
	}
	return (t2 - t1) / time.Duration(n2-n1), true
}
