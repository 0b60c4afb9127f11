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
}

// request is one HTTP request as the audit log records it.
type request struct {
	// Verb is the Kubernetes verb (get, list, create, watch, ...), or the
	// lower-cased HTTP method for a non-resource URL.
	Verb string
	// Path is the request URI without its query.
	Path string
}

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
	seen := map[string]bool{}
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
		if agent == harnessAgent || ev.AuditID == "" || seen[ev.AuditID] {
			continue
		}
		seen[ev.AuditID] = true
		path, _, _ := strings.Cut(ev.RequestURI, "?")
		byAgent[agent] = append(byAgent[agent], request{Verb: ev.Verb, Path: path})
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
	counts := map[request]int{}
	var order []request
	for _, r := range reqs {
		if counts[r] == 0 {
			order = append(order, r)
		}
		counts[r]++
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
