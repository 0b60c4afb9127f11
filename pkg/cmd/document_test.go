package cmd

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-access/kubectl-access/pkg/audit"
	"github.com/kubectl-access/kubectl-access/pkg/grant"
	"github.com/kubectl-access/kubectl-access/pkg/review"
)

// Strings that look like the lists' own text in either format, and long
// ones that YAML folds at a column, so that an element written at the
// wrong column would not be the same bytes.
var (
	trickyJSON = "\n    \"verifiedActions\": [\n        {}\n    ]"
	trickyYAML = "verifiedActions:\n- {}\nnamespaces:\n- namespace: \"\"\n"
	long       = strings.Repeat("RoleBinding ns/name grants ClusterRole view to the group ", 4)
)

// encodeAtOnce writes v as the libraries encode it whole: an Encoder with
// the document's indent, or sigs.k8s.io/yaml.
func encodeAtOnce(out *bytes.Buffer, output string, v any) error {
	if output == "yaml" {
		data, err := yaml.Marshal(v)
		out.Write(data)
		return err
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", jsonIndent)
	return enc.Encode(v)
}

// printRecord, for a small record, writes what the libraries encode.
func TestPrintRecordWritesWhatTheLibrariesEncode(t *testing.T) {
	rec := whoamiRecord([]review.NamespaceRecord{{Namespace: "a", EvaluationError: long}}, nil, "<&>")
	for _, output := range []string{"json", "yaml"} {
		var want, got bytes.Buffer
		if err := encodeAtOnce(&want, output, rec); err != nil {
			t.Fatal(err)
		}
		if err := printRecord(genericiooptions.IOStreams{Out: &got}, output, rec, nil); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("-o %s printed:\n%s\nencoded:\n%s", output, got.String(), want.String())
		}
	}
}

// whoamiRecord is a record with namespaces and verified actions, and the
// lists taken out of it.
func whoamiRecord(namespaces []review.NamespaceRecord, actions []review.VerifiedAction, note string) review.Record {
	return review.Record{APIVersion: "v1", Kind: "WhoAmI", IdentitySource: trickyJSON + trickyYAML,
		User:       review.UserRecord{Username: "system:serviceaccount:a:b", Groups: []string{"g"}, Extra: map[string][]string{"k": {"v"}}},
		Namespaces: namespaces, VerifiedActions: actions, RBACNote: note}
}

// printWhoami prints rec as whoami does, its lists written one by one.
func printWhoami(t *testing.T, out *bytes.Buffer, output string, rec review.Record) error {
	t.Helper()
	namespaces, actions := rec.Namespaces, rec.VerifiedActions
	rec.VerifiedActions = nil
	lists := []listField{listOf("namespaces", len(namespaces), slices.Values(namespaces), func(l []review.NamespaceRecord) { rec.Namespaces = l }, nil)}
	if len(actions) > 0 {
		lists = append(lists, listOf("verifiedActions", len(actions), slices.Values(actions), func(l []review.VerifiedAction) { rec.VerifiedActions = l }, nil))
	}
	err := printDocument(out, output, &rec, lists...)
	if rec.VerifiedActions != nil || (len(namespaces) > 0 && rec.Namespaces != nil) {
		t.Errorf("the record was left holding %d namespaces and %d actions, want none: the lists are written as they are made", len(rec.Namespaces), len(rec.VerifiedActions))
	}
	return err
}

// TestPrintDocumentWritesWhatTheEncoderWrites compares the lists written
// element by element with the record encoded at once, in both formats.
func TestPrintDocumentWritesWhatTheEncoderWrites(t *testing.T) {
	actions := []review.VerifiedAction{
		{Namespace: "a", Action: "create pods/exec", Verb: "create", Resource: "pods", Subresource: "exec", Allowed: true, Verified: true,
			Reason: `RBAC: allowed by RoleBinding "x<y>&z" ` + trickyJSON + long, Checks: []string{"exec"},
			Risks: []review.VerifiedRisk{{Check: "exec", Severity: 3}}, GrantedBy: []grant.Grant{}},
		{Action: "get /metrics", Verb: "get", NonResourceURL: "/metrics", Error: "boom\n" + trickyYAML + long},
		{Namespace: "b", Reason: long},
	}
	namespaces := []review.NamespaceRecord{
		{Namespace: "a", ResourceRules: []review.ResourceRuleRecord{{ResourceRule: authorizationv1.ResourceRule{Verbs: []string{"get"}, Resources: []string{"pods"}}}}},
		{Namespace: "b", Incomplete: true, EvaluationError: long + trickyYAML},
		{Namespace: "c", Error: trickyJSON},
	}
	for _, tc := range []struct {
		name       string
		namespaces []review.NamespaceRecord
		actions    []review.VerifiedAction
		note       string
	}{
		{"several of each, a field after", namespaces, actions, "no RBAC " + trickyJSON + long},
		{"one of each", namespaces[:1], actions[:1], ""},
		{"namespaces, no action", namespaces, nil, "note"},
		{"nothing", []review.NamespaceRecord{}, nil, ""},
	} {
		for _, output := range []string{"json", "yaml"} {
			t.Run(tc.name+" -o "+output, func(t *testing.T) {
				rec := whoamiRecord(tc.namespaces, tc.actions, tc.note)
				var want, got bytes.Buffer
				if err := encodeAtOnce(&want, output, rec); err != nil {
					t.Fatal(err)
				}
				if err := printWhoami(t, &got, output, rec); err != nil {
					t.Fatal(err)
				}
				if got.String() != want.String() {
					t.Errorf("streamed:\n%s\nencoded at once:\n%s", got.String(), want.String())
				}
			})
		}
	}
}

// The YAML of a long string is folded at the first space past column 80:
// the elements are written at their columns, not folded at another. A
// space every three columns tells any two columns apart.
func TestPrintDocumentFoldsYAMLAsTheEncoderDoes(t *testing.T) {
	rec := whoamiRecord([]review.NamespaceRecord{{Namespace: "a", EvaluationError: strings.Repeat("ab ", 80) + "c"}}, nil, "")
	var want bytes.Buffer
	if err := encodeAtOnce(&want, "yaml", rec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(want.String(), "\n    ") {
		t.Fatalf("the test's string is not folded, so it tests nothing:\n%s", want.String())
	}
	var got bytes.Buffer
	if err := printWhoami(t, &got, "yaml", rec); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("streamed:\n%s\nencoded at once:\n%s", got.String(), want.String())
	}
}

func TestPrintDocumentReportsAWriteFailure(t *testing.T) {
	for _, output := range []string{"json", "yaml"} {
		rec := review.Record{}
		list := []review.VerifiedAction{{Namespace: "a"}}
		err := printDocument(failingWriter{}, output, &rec, listOf("verifiedActions", len(list), slices.Values(list), func(l []review.VerifiedAction) { rec.VerifiedActions = l }, nil))
		if err == nil {
			t.Errorf("-o %s: no error from a writer that fails", output)
		}
	}
}

// A list that makes fewer elements than it was said to hold is an error,
// not a document that claims to be whole.
func TestPrintDocumentReportsAShortList(t *testing.T) {
	for _, output := range []string{"json", "yaml"} {
		rec := review.Record{}
		list := []review.VerifiedAction{{Namespace: "a"}}
		var b bytes.Buffer
		err := printDocument(&b, output, &rec, listOf("verifiedActions", 2, slices.Values(list), func(l []review.VerifiedAction) { rec.VerifiedActions = l }, nil))
		if err == nil || !strings.Contains(err.Error(), "1 elements of \"verifiedActions\" written, 2 expected") {
			t.Errorf("-o %s: err = %v, want the count that was short", output, err)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errFull }

var errFull = bytes.ErrTooLarge

// TestPrintDocumentDoesNotHoldTheDocument: the output comes in pieces of a
// buffer's size, never as one write of the whole document.
func TestPrintDocumentDoesNotHoldTheDocument(t *testing.T) {
	var list []review.VerifiedAction
	for i := range 500 {
		list = append(list, review.VerifiedAction{Namespace: strings.Repeat("n", i%50), Action: "get secrets", Verb: "get", Resource: "secrets"})
	}
	for _, output := range []string{"json", "yaml"} {
		rec := review.Record{}
		w := &largestWrite{}
		if err := printDocument(w, output, &rec, listOf("verifiedActions", len(list), slices.Values(list), func(l []review.VerifiedAction) { rec.VerifiedActions = l }, nil)); err != nil {
			t.Fatal(err)
		}
		if w.total < 60_000 || w.largest > 8192 {
			t.Errorf("-o %s: %d bytes written, the largest write %d bytes; want pieces of at most 8 KiB of a document over 60 KB", output, w.total, w.largest)
		}
	}
}

type largestWrite struct{ largest, total int }

func (w *largestWrite) Write(p []byte) (int, error) {
	w.largest = max(w.largest, len(p))
	w.total += len(p)
	return len(p), nil
}

// A record with another key that ends with a list's name, and holds the
// same zero element, is written whole, not cut at the wrong key.
func TestPrintDocumentWritesTheRecordWholeWhenTheListIsNotFoundOnce(t *testing.T) {
	type item struct {
		Name string `json:"name"`
	}
	type record struct {
		AItems []item `json:"aitems"` // sorts before items in YAML
		Items  []item `json:"items"`
	}
	list := []item{{Name: "a"}, {Name: "b"}}
	for _, output := range []string{"json", "yaml"} {
		rec := record{AItems: []item{{}}}
		want := rec
		want.Items = list
		var w, g bytes.Buffer
		if err := encodeAtOnce(&w, output, want); err != nil {
			t.Fatal(err)
		}
		if err := printDocument(&g, output, &rec, listOf("items", len(list), slices.Values(list), func(l []item) { rec.Items = l }, nil)); err != nil {
			t.Fatal(err)
		}
		if g.String() != w.String() {
			t.Errorf("-o %s streamed:\n%s\nencoded at once:\n%s", output, g.String(), w.String())
		}
	}
}

// The audit's document, written account by account, is the one encoded at
// once: clusters with accounts, with none and with an error, and strings
// that look like the lists' own text or that YAML folds.
func TestPrintAuditDocumentWritesWhatTheEncoderWrites(t *testing.T) {
	tricky := "\n        \"accounts\": [\n            {}\n        ]" + "\n  accounts:\n  - {}\n"
	rec := audit.NewRecord()
	rec.Clusters = []audit.ClusterRecord{
		{Context: "a" + tricky, Server: "https://a", Summary: audit.Summary{Accounts: 2, Risky: 1},
			Accounts: []audit.AccountRecord{
				{Namespace: "n", Name: "ci", Audited: true, Findings: []audit.FindingRecord{{Check: "exec", Reason: tricky + long}}, Bindings: []audit.Binding{}, ReviewedNamespaces: []string{"n"}},
				{Namespace: "n", Name: "default", Default: true, Error: "boom" + tricky},
			}},
		{Context: "empty", Accounts: []audit.AccountRecord{}},
		{Context: "failed", Error: "unreachable " + long, MissingNamespaces: []string{"x"}},
	}
	for _, tc := range []struct {
		name string
		rec  audit.Record
	}{
		{"clusters", rec},
		{"no cluster", audit.NewRecord()},
	} {
		for _, output := range []string{"json", "yaml"} {
			t.Run(tc.name+" -o "+output, func(t *testing.T) {
				var want, got bytes.Buffer
				if err := encodeAtOnce(&want, output, tc.rec); err != nil {
					t.Fatal(err)
				}
				if err := printAuditDocument(&got, output, tc.rec); err != nil {
					t.Fatal(err)
				}
				if got.String() != want.String() {
					t.Errorf("streamed:\n%s\nencoded at once:\n%s", got.String(), want.String())
				}
			})
		}
	}
	if len(rec.Clusters) != 3 || len(rec.Clusters[0].Accounts) != 2 {
		t.Errorf("the caller's record was changed: %d clusters, %d accounts in the first", len(rec.Clusters), len(rec.Clusters[0].Accounts))
	}
}
