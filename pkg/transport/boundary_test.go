package transport

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"
)

// TestRetryAfterStatusBoundary pins which statuses client-go retries after
// a Retry-After (429 and every 5xx, rest/request.go checkWait): the first
// 5xx is capped like the others, the last 4xx is left alone.
func TestRetryAfterStatusBoundary(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		want    string
		counted throttled
	}{
		{name: "500 is the first status retried", status: 500, want: "5",
			counted: throttled{ByStatus: map[int]int{500: 1}, Capped: 1}},
		{name: "499 is not retried", status: 499, want: "3600"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var counter Throttling
			cfg := Harden(&rest.Config{}, Options{MaxRetryAfter: 5 * time.Second, Throttling: &counter})
			rt := cfg.WrapTransport(roundTripperFunc(func(req *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: tc.status, Header: http.Header{"Retry-After": {"3600"}}, Body: http.NoBody, Request: req}, nil
			}))
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://api.example/api", nil)
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
