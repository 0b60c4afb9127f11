package cmd

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-access/kubectl-access/pkg/audit"
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
			rec.VerifiedActions = nil
			var got bytes.Buffer
			if err := printJSONWithList(&got, &rec, "verifiedActions", len(tc.list), slices.Values(tc.list), func(l []review.VerifiedAction) { rec.VerifiedActions = l }); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("streamed:\n%s\nencoded at once:\n%s", got.String(), want.String())
			}
			if len(tc.list) > 0 && !strings.Contains(got.String(), `"verifiedActions": [`) {
				t.Errorf("no list in:\n%s", got.String())
			}
			if rec.VerifiedActions != nil {
				t.Errorf("the record was left holding %d elements, want none: the list is written as it is made", len(rec.VerifiedActions))
			}
		})
	}
}

func TestPrintJSONWithListReportsAWriteFailure(t *testing.T) {
	rec := review.Record{}
	list := []review.VerifiedAction{{Namespace: "a"}}
	err := printJSONWithList(failingWriter{}, &rec, "verifiedActions", len(list), slices.Values(list), func(l []review.VerifiedAction) { rec.VerifiedActions = l })
	if err == nil {
		t.Fatal("no error from a writer that fails")
	}
}

// A list that makes fewer elements than it was said to hold is an error,
// not a document that claims to be whole.
func TestPrintJSONWithListReportsAShortList(t *testing.T) {
	rec := review.Record{}
	list := []review.VerifiedAction{{Namespace: "a"}}
	var b bytes.Buffer
	err := printJSONWithList(&b, &rec, "verifiedActions", 2, slices.Values(list), func(l []review.VerifiedAction) { rec.VerifiedActions = l })
	if err == nil || !strings.Contains(err.Error(), "1 elements of \"verifiedActions\" written, 2 expected") {
		t.Fatalf("err = %v, want the count that was short", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errFull }

var errFull = bytes.ErrTooLarge

// TestPrintJSONWithListDoesNotHoldTheDocument: the output comes in pieces
// of a buffer's size, never as one write of the whole document.
func TestPrintJSONWithListDoesNotHoldTheDocument(t *testing.T) {
	rec := review.Record{}
	var list []review.VerifiedAction
	for i := range 500 {
		list = append(list, review.VerifiedAction{Namespace: strings.Repeat("n", i%50), Action: "get secrets", Verb: "get", Resource: "secrets"})
	}
	w := &largestWrite{}
	if err := printJSONWithList(w, &rec, "verifiedActions", len(list), slices.Values(list), func(l []review.VerifiedAction) { rec.VerifiedActions = l }); err != nil {
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

// The audit's document, written account by account, is the one the
// encoder writes: clusters with accounts, with none and with an error, and
// strings that look like the lists' own JSON.
func TestPrintAuditJSONWritesWhatTheEncoderWrites(t *testing.T) {
	tricky := "\n        \"accounts\": [\n            {}\n        ]"
	rec := audit.NewRecord()
	rec.Clusters = []audit.ClusterRecord{
		{Context: "a" + tricky, Server: "https://a", Summary: audit.Summary{Accounts: 2, Risky: 1},
			Accounts: []audit.AccountRecord{
				{Namespace: "n", Name: "ci", Audited: true, Findings: []audit.FindingRecord{{Check: "exec", Reason: tricky}}, Bindings: []audit.Binding{}, ReviewedNamespaces: []string{"n"}},
				{Namespace: "n", Name: "default", Default: true, Error: "boom" + tricky},
			}},
		{Context: "empty", Accounts: []audit.AccountRecord{}},
		{Context: "failed", Error: "unreachable", MissingNamespaces: []string{"x"}},
	}
	for _, tc := range []struct {
		name string
		rec  audit.Record
	}{
		{"clusters", rec},
		{"no cluster", audit.NewRecord()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want, got bytes.Buffer
			if err := printRecord(genericiooptions.IOStreams{Out: &want}, "json", tc.rec, nil); err != nil {
				t.Fatal(err)
			}
			if err := printAuditJSON(&got, tc.rec); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("streamed:\n%s\nencoded at once:\n%s", got.String(), want.String())
			}
		})
	}
	if len(rec.Clusters) != 3 || len(rec.Clusters[0].Accounts) != 2 {
		t.Errorf("the caller's record was changed: %d clusters, %d accounts in the first", len(rec.Clusters), len(rec.Clusters[0].Accounts))
	}
}
