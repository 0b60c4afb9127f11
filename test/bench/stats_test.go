package main

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ms(xs ...float64) []time.Duration {
	ds := make([]time.Duration, len(xs))
	for i, x := range xs {
		ds[i] = time.Duration(x * float64(time.Millisecond))
	}
	return ds
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"one", []float64{7}, 7},
		{"odd count, unsorted", []float64{9, 1, 5}, 5},
		{"even count is the mean of the middle two", []float64{4, 1, 3, 2}, 2.5},
		{"repeated values", []float64{2, 2, 2, 9}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.in...)
			if got := median(in); got != tc.want {
				t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
			}
			if diff := cmp.Diff(tc.in, in); diff != "" {
				t.Errorf("median modified its input (-before +after):\n%s", diff)
			}
		})
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Errorf("median(nil) = %v, want NaN", got)
	}
}

func TestSummarize(t *testing.T) {
	got := summarize(ms(30, 10, 20, 50))
	want := summary{N: 4, Median: 25 * time.Millisecond, Min: 10 * time.Millisecond, Max: 50 * time.Millisecond}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if got := summarize(nil); got != (summary{}) {
		t.Errorf("summarize(nil) = %+v, want the zero summary", got)
	}
}

func TestCompare(t *testing.T) {
	// B is 10x A in every round but one, where a burst of load slowed A:
	// the median of pair ratios ignores that round, the extremes show it.
	a := ms(10, 10, 40, 10, 10)
	b := ms(100, 100, 100, 100, 100)
	got := compare(b, a)
	want := ratio{Pairs: 5, MedianOfRatios: 10, Min: 2.5, Max: 10, OfMedians: 10}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("compare (-want +got):\n%s", diff)
	}

	// Pair by pair, not sorted separately: the ratio of medians can differ
	// from the median of ratios.
	got = compare(ms(30, 10, 20), ms(10, 10, 10))
	if got.MedianOfRatios != 2 || got.OfMedians != 2 || got.Min != 1 || got.Max != 3 {
		t.Errorf("compare = %+v, want median of ratios 2, of medians 2, min 1, max 3", got)
	}
	got = compare(ms(10, 40, 40, 10), ms(10, 10, 40, 40))
	if got.MedianOfRatios != 1 || got.OfMedians != 1 || got.Min != 0.25 || got.Max != 4 {
		t.Errorf("compare = %+v, want median of ratios 1, of medians 1, min 0.25, max 4", got)
	}

	// Extra rounds on one side and rounds where A took no time are left out.
	got = compare(ms(20, 30, 99), ms(10, 0))
	if got.Pairs != 1 || got.MedianOfRatios != 2 {
		t.Errorf("compare with uneven sides = %+v, want 1 pair of ratio 2", got)
	}
	got = compare(nil, nil)
	if got.Pairs != 0 || !math.IsNaN(got.MedianOfRatios) || !math.IsNaN(got.OfMedians) {
		t.Errorf("compare(nil, nil) = %+v, want no pairs and NaN ratios", got)
	}
}

func TestMarginal(t *testing.T) {
	// 55 namespaces in 200 ms, 505 in 2 s: 4 ms per extra namespace.
	got, ok := marginal(55, 200*time.Millisecond, 505, 2000*time.Millisecond)
	if !ok || got != 4*time.Millisecond {
		t.Errorf("marginal = %v, %v; want 4ms, true", got, ok)
	}
	if _, ok := marginal(5, time.Second, 5, 2*time.Second); ok {
		t.Error("marginal at equal sizes reported ok")
	}
}
