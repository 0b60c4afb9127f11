package cmd

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-access/kubectl-access/pkg/grant"
	"github.com/kubectl-access/kubectl-access/pkg/review"
)

// TestPrintJSONWithListWritesWhatTheEncoderWrites compares the list written
// element by element with the record encoded at once, on records whose
// strings look like the list's own JSON.
func TestPrintJSONWithListWritesWhatTheEncoderWrites(t *testing.T) {
	tricky := "\n    \"verifiedActions\": [\n        {}\n    ]"
	actions := []review.VerifiedAction{
		{Namespace: "a", Action: "create pods/exec", Verb: "create", Resource: "pods", Subresource: "exec", Allowed: true, Verified: true,
			Reason: `RBAC: allowed by RoleBinding "x<y>&z" ` + tricky, Checks: []string{"exec"},
			Risks: []review.VerifiedRisk{{Check: "exec", Severity: 3}}, GrantedBy: []grant.Grant{}},
		{Action: "get /metrics", Verb: "get", NonResourceURL: "/metrics", Error: "boom\n" + tricky},
		{Namespace: "b"},
	}
	for _, tc := range []struct {
		name string
		list []review.VerifiedAction
		note string
	}{
		{"several, a field after", actions, "no RBAC " + tricky},
		{"one", actions[:1], ""},
		{"none", nil, "note"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := review.Record{APIVersion: "v1", Kind: "WhoAmI", IdentitySource: tricky,
				User:       review.UserRecord{Username: "system:serviceaccount:a:b", Groups: []string{"g"}, Extra: map[string][]string{"k": {"v"}}},
				Namespaces: []review.NamespaceRecord{{Namespace: "a"}}, RBACNote: tc.note}
			rec.VerifiedActions = tc.list
			var want bytes.Buffer
			if err := printRecord(genericiooptions.IOStreams{Out: &want}, "json", rec, nil); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := printJSONWithList(&got, &rec, "verifiedActions", rec.VerifiedActions, func(l []review.VerifiedAction) { rec.VerifiedActions = l }); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("streamed:\n%s\nencoded at once:\n%s", got.String(), want.String())
			}
			if len(tc.list) > 0 && !strings.Contains(got.String(), `"verifiedActions": [`) {
				t.Errorf("no list in:\n%s", got.String())
			}
			if len(rec.VerifiedActions) != len(tc.list) {
				t.Errorf("the record's list was not put back: %d elements, want %d", len(rec.VerifiedActions), len(tc.list))
			}
		})
	}
}

func TestPrintJSONWithListReportsAWriteFailure(t *testing.T) {
	rec := review.Record{VerifiedActions: []review.VerifiedAction{{Namespace: "a"}}}
	err := printJSONWithList(failingWriter{}, &rec, "verifiedActions", rec.VerifiedActions, func(l []review.VerifiedAction) { rec.VerifiedActions = l })
	if err == nil {
		t.Fatal("no error from a writer that fails")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errFull }

var errFull = bytes.ErrTooLarge

// TestPrintJSONWithListDoesNotHoldTheDocument: the output comes in pieces
// of a buffer's size, never as one write of the whole document.
func TestPrintJSONWithListDoesNotHoldTheDocument(t *testing.T) {
	rec := review.Record{}
	for i := range 500 {
		rec.VerifiedActions = append(rec.VerifiedActions, review.VerifiedAction{Namespace: strings.Repeat("n", i%50), Action: "get secrets", Verb: "get", Resource: "secrets"})
	}
	w := &largestWrite{}
	if err := printJSONWithList(w, &rec, "verifiedActions", rec.VerifiedActions, func(l []review.VerifiedAction) { rec.VerifiedActions = l }); err != nil {
		t.Fatal(err)
	}
	if w.total < 100_000 || w.largest > 8192 {
		t.Errorf("%d bytes written, the largest write %d bytes; want pieces of at most 8 KiB of a document over 100 KB", w.total, w.largest)
	}
}

type largestWrite struct{ largest, total int }

func (w *largestWrite) Write(p []byte) (int, error) {
	w.largest = max(w.largest, len(p))
	w.total += len(p)
	return len(p), nil
}
