package harness

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// auditPolicy logs every request at level Metadata: who, verb, URI, user
// agent, never a body (so never a token in one). It keeps the
// RequestReceived stage on purpose: in blocking mode kube-apiserver writes
// that event before it handles the request, so once a command has its
// answers, every request it sent is in the log, with no marker request to
// wait for.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
`

// AuditLog is the audit log of a local control plane: NewAuditLog writes
// its policy, APIServerArgs turns it on in kube-apiserver, and RequestURIs
// reads what the server logged.
type AuditLog struct {
	policy, path string
}

// NewAuditLog writes the audit policy into dir and returns the log that
// kube-apiserver writes there once started with APIServerArgs.
func NewAuditLog(dir string) (*AuditLog, error) {
	dir, err := filepath.Abs(dir) // kube-apiserver runs in a directory of its own
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	a := &AuditLog{policy: filepath.Join(dir, "audit-policy.yaml"), path: filepath.Join(dir, "audit.log")}
	if err := os.WriteFile(a.policy, []byte(auditPolicy), 0o600); err != nil {
		return nil, fmt.Errorf("writing the audit policy: %w", err)
	}
	return a, nil
}

// APIServerArgs are the kube-apiserver flags that write the log: blocking
// mode (the event is on disk before the request is handled), and one file
// that is never rotated (maxsize 0), so that RequestURIs sees every event.
func (a *AuditLog) APIServerArgs() []string {
	return []string{
		"--audit-policy-file=" + a.policy,
		"--audit-log-path=" + a.path,
		"--audit-log-mode=blocking",
		"--audit-log-maxsize=0",
	}
}

// RequestURIs returns the requestURI of every audit event logged so far, in
// the order logged: path and query, as the client sent them. A request
// appears once per stage: RequestReceived and ResponseComplete (and
// ResponseStarted between them for a watch); a request refused by
// authentication once, at ResponseStarted, logged before the 401 is sent.
// A test proves that no request carried something in its URL by looking
// through all of them, after checking that the requests of the command
// under test are there (else the proof would be empty).
func (a *AuditLog) RequestURIs(t testing.TB) []string {
	t.Helper()
	f, err := os.Open(a.path)
	if err != nil {
		t.Fatalf("reading the audit log: %v", err)
	}
	defer f.Close()
	uris, err := requestURIs(f)
	if err != nil {
		t.Fatalf("reading the audit log %s: %v", a.path, err)
	}
	return uris
}

// requestURIs reads audit events, one JSON object a line. An incomplete
// last line (no newline yet) is left out: the server is still writing it.
func requestURIs(r io.Reader) ([]string, error) {
	uris := []string{}
	br := bufio.NewReaderSize(r, 64<<10)
	for line := 1; ; line++ {
		text, err := br.ReadBytes('\n')
		if err == io.EOF {
			return uris, nil
		}
		if err != nil {
			return nil, err
		}
		if text = bytes.TrimSpace(text); len(text) == 0 {
			continue
		}
		var ev struct {
			RequestURI string `json:"requestURI"`
		}
		if err := json.Unmarshal(text, &ev); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		uris = append(uris, ev.RequestURI)
	}
}
