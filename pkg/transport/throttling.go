package transport

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Throttling counts the answers that asked a client to wait, so that a
// command can warn once at the end instead of leaving the user to wonder why
// it was slow. The zero value is ready; it is safe for concurrent use.
type Throttling struct {
	mu sync.Mutex
	// byStatus counts the answers by status code.
	byStatus map[int]int
	// capped counts the waits cut to maxWait; longest is the longest asked.
	capped  int
	longest time.Duration
	maxWait time.Duration
	// notRetried counts the answers returned at once because the wait
	// would have outlasted the request's deadline.
	notRetried int
}

// event is one answer that asked to wait.
type event struct {
	status int
	// asked is the wait the server asked for, zero when it asked none
	// that client-go honours.
	asked      time.Duration
	maxWait    time.Duration
	capped     bool
	notRetried bool
}

// record counts ev; a nil Throttling counts nothing.
func (t *Throttling) record(ev event) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byStatus == nil {
		t.byStatus = map[int]int{}
	}
	t.byStatus[ev.status]++
	if ev.capped {
		t.capped++
		t.longest = max(t.longest, ev.asked)
		t.maxWait = max(t.maxWait, ev.maxWait)
	}
	if ev.notRetried {
		t.notRetried++
	}
}

// Count is how many answers asked to wait; 0 for a nil Throttling.
func (t *Throttling) Count() int {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, c := range t.byStatus {
		n += c
	}
	return n
}

// Summary says in one line what the server asked and what was done about
// it, for a warning on stderr; it is empty when no answer asked to wait.
// For example: "the API server throttled 3 requests (429 Too Many
// Requests); 2 asked to wait up to 1h0m0s, and waited 5s instead; 1 was not
// retried: the wait would outlast the request timeout".
func (t *Throttling) Summary() string {
	if t == nil {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.byStatus) == 0 {
		return ""
	}
	statuses := make([]int, 0, len(t.byStatus))
	total := 0
	for status, n := range t.byStatus {
		statuses = append(statuses, status)
		total += n
	}
	sort.Ints(statuses)
	parts := make([]string, 0, len(statuses))
	for _, status := range statuses {
		part := fmt.Sprintf("%d %s", status, http.StatusText(status))
		if len(statuses) > 1 {
			part = fmt.Sprintf("%d × %s", t.byStatus[status], part)
		}
		parts = append(parts, part)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the API server throttled %s (%s)", requests(total), strings.Join(parts, ", "))
	if t.capped > 0 {
		fmt.Fprintf(&b, "; %d asked to wait up to %s, and waited %s instead", t.capped, t.longest, t.maxWait)
	}
	if t.notRetried > 0 {
		fmt.Fprintf(&b, "; %d %s not retried: the wait would outlast the request timeout", t.notRetried, was(t.notRetried))
	}
	return b.String()
}

// requests is "1 request" or "N requests".
func requests(n int) string {
	if n == 1 {
		return "1 request"
	}
	return fmt.Sprintf("%d requests", n)
}

// was is "was" or "were".
func was(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}
