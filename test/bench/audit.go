package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// auditPolicy makes kube-apiserver log every request at level Metadata (who,
// verb, URI, user agent; never a body, so never a token), once per request
// (no RequestReceived stage). kube-controller-manager's requests and the
// API server's own loopback requests are left out: they are background
// noise, not requests a measured command sent.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  users: ["system:kube-controller-manager", "system:apiserver"]
- level: Metadata
`

// harnessAgent is the user agent product of the benchmark's own requests
// (setup and markers); they are never counted.
const harnessAgent = "kubectl-access-bench"

// auditEvent is the part of an audit.k8s.io/v1 Event the benchmark reads.
type auditEvent struct {
	AuditID    string `json:"auditID"`
	Stage      string `json:"stage"`
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	UserAgent  string `json:"userAgent"`
	// Received is when the server received the request, StageAt when the
	// event's stage (ResponseComplete, or ResponseStarted for a watch)
	// was reached.
	Received time.Time `json:"requestReceivedTimestamp"`
	StageAt  time.Time `json:"stageTimestamp"`
}

// request is one HTTP request as the audit log records it.
type request struct {
	// Verb is the Kubernetes verb (get, list, create, watch, ...), or the
	// lower-cased HTTP method for a non-resource URL.
	Verb string
	// Path is the request URI without its query.
	Path string
	// Received is when the server received it and Completed when it
	// finished answering (its last stage); zero when the log does not say.
	Received, Completed time.Time
}

// route is what a request asked for, without its timing.
type route struct{ Verb, Path string }

func (r request) route() route { return route{r.Verb, r.Path} }

// agentOf returns the product of a user agent, the part before the first
// "/" or space: kubectl for "kubectl/v1.37.2 (linux/amd64) kubernetes/abc",
// kubectl-access, curl.
func agentOf(userAgent string) string {
	if i := strings.IndexAny(userAgent, "/ "); i >= 0 {
		return userAgent[:i]
	}
	return userAgent
}

// parseAudit reads audit events, one JSON object a line, and returns the
// distinct requests (by auditID, whatever their stages) per user agent
// product, in the order they were first logged. Requests of the benchmark
// harness are left out. It stops after the line whose user agent is
// stopAgent (when not empty) and reports whether it saw it. An incomplete
// last line (no newline yet) is ignored: the server is still writing it.
func parseAudit(r io.Reader, stopAgent string) (byAgent map[string][]request, sawStop bool, err error) {
	byAgent = map[string][]request{}
	// seen locates each audit ID's request, so that a later stage of it
	// (ResponseComplete after ResponseStarted) moves its completion.
	type place struct {
		agent string
		i     int
	}
	seen := map[string]place{}
	br := bufio.NewReaderSize(r, 64<<10)
	for line := 1; ; line++ {
		text, err := br.ReadBytes('\n')
		if err == io.EOF {
			return byAgent, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		text = bytes.TrimSpace(text)
		if len(text) == 0 {
			continue
		}
		var ev auditEvent
		if err := json.Unmarshal(text, &ev); err != nil {
			return nil, false, fmt.Errorf("audit log line %d: %w", line, err)
		}
		if stopAgent != "" && ev.UserAgent == stopAgent {
			return byAgent, true, nil
		}
		agent := agentOf(ev.UserAgent)
		if agent == harnessAgent || ev.AuditID == "" {
			continue
		}
		if at, ok := seen[ev.AuditID]; ok {
			if q := &byAgent[at.agent][at.i]; ev.StageAt.After(q.Completed) {
				q.Completed = ev.StageAt
			}
			continue
		}
		seen[ev.AuditID] = place{agent, len(byAgent[agent])}
		path, _, _ := strings.Cut(ev.RequestURI, "?")
		byAgent[agent] = append(byAgent[agent], request{Verb: ev.Verb, Path: path, Received: ev.Received, Completed: ev.StageAt})
	}
}

// isDiscovery reports whether path is an API discovery endpoint: /api,
// /api/v1, /apis, /apis/GROUP, /apis/GROUP/VERSION or OpenAPI.
func isDiscovery(path string) bool {
	if path == "/openapi" || strings.HasPrefix(path, "/openapi/") {
		return true
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch parts[0] {
	case "api":
		return len(parts) <= 2
	case "apis":
		return len(parts) <= 3
	}
	return false
}

// describeRequests sums up requests for a table cell: "verb path" in first
// seen order, with ×N for repeats.
func describeRequests(reqs []request) string {
	counts := map[route]int{}
	var order []route
	for _, r := range reqs {
		if counts[r.route()] == 0 {
			order = append(order, r.route())
		}
		counts[r.route()]++
	}
	parts := make([]string, 0, len(order))
	for _, r := range order {
		s := r.Verb + " " + r.Path
		if n := counts[r]; n > 1 {
			s += " ×" + strconv.Itoa(n)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// auditLog reads the requests a command sent from kube-apiserver's audit
// log, by byte offset: remember Offset before the command, call Since after.
type auditLog struct {
	path string
	// mark sends one request with the given user agent, so that Since knows
	// when every earlier request has been logged.
	mark func(ctx context.Context, userAgent string) error
	seq  int
}

// Offset is the current size of the log, where the next command's requests
// will start.
func (l *auditLog) Offset() (int64, error) {
	info, err := os.Stat(l.path)
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// Since returns the requests logged after offset, per user agent product.
// It first sends a marker request and waits (up to 10 s) for it to be
// logged, so that the requests of a command that has exited are all in.
func (l *auditLog) Since(ctx context.Context, offset int64) (map[string][]request, error) {
	l.seq++
	marker := harnessAgent + "/marker-" + strconv.Itoa(l.seq)
	if err := l.mark(ctx, marker); err != nil {
		return nil, fmt.Errorf("sending the audit marker request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		byAgent, found, err := l.read(offset, marker)
		if err != nil || found {
			return byAgent, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the audit log %s never recorded the marker request: %w", l.path, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (l *auditLog) read(offset int64, marker string) (map[string][]request, bool, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	if info.Size() < offset {
		return nil, false, fmt.Errorf("the audit log %s shrank below offset %d: was it rotated? (the benchmark sets --audit-log-maxsize=0)", l.path, offset)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, false, err
	}
	return parseAudit(f, marker)
}

// agents returns the keys of byAgent, sorted.
func agents(byAgent map[string][]request) []string {
	keys := make([]string, 0, len(byAgent))
	for k := range byAgent {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// countRequests is the number of requests over all user agents.
func countRequests(byAgent map[string][]request) int {
	n := 0
	for _, reqs := range byAgent {
		n += len(reqs)
	}
	return n
}

// criticalPath is the number of round trips on the longest chain of
// requests of which each was received by the server after the one before
// had been answered: requests that overlap in time count once, requests
// sent one after the other count each. It is read from the audit log's
// timestamps (requestReceivedTimestamp, and the stageTimestamp of the
// request's last stage), so it measures what a command did, not what it
// was meant to do. ok is false when a request has no timestamps; 0 for no
// requests.
//
// The server's clock is the only one used, so the chain is exact as far
// as it goes; on a loaded machine a request sent right after another was
// answered can be logged as received a few microseconds before the first
// one's completion was stamped, which shortens the path, never lengthens
// it.
func criticalPath(reqs []request) (depth int, ok bool) {
	for _, q := range reqs {
		if q.Received.IsZero() || q.Completed.IsZero() {
			return 0, false
		}
	}
	// Longest chain in an interval order: visit the requests by the time
	// they were received; before each, fold in every request answered by
	// then. O(n log n), for the tens of thousands of whoami -A --verify.
	byReceived := slices.Clone(reqs)
	slices.SortFunc(byReceived, func(a, b request) int { return a.Received.Compare(b.Received) })
	byCompleted := make([]int, len(byReceived))
	for i := range byCompleted {
		byCompleted[i] = i
	}
	slices.SortFunc(byCompleted, func(a, b int) int { return byReceived[a].Completed.Compare(byReceived[b].Completed) })
	chain := make([]int, len(byReceived))
	best, done := 0, 0
	for i, q := range byReceived {
		for done < len(byCompleted) && !byReceived[byCompleted[done]].Completed.After(q.Received) {
			best = max(best, chain[byCompleted[done]])
			done++
		}
		chain[i] = best + 1
		depth = max(depth, chain[i])
	}
	return depth, true
}

// allRequests merges the requests of every user agent.
func allRequests(byAgent map[string][]request) []request {
	var all []request
	for _, a := range agents(byAgent) {
		all = append(all, byAgent[a]...)
	}
	return all
}
