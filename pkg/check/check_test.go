package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/expect"
	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

// server answers the SelfSubjectAccessReviews of each subject from a set
// of allowed questions, "NAMESPACE VERB RESOURCE[/SUB] [NAME]" or " VERB
// /PATH", through a typed fake per subject.
type server struct {
	t       *testing.T
	mu      sync.Mutex
	allowed map[string]map[string]bool
	// evalErr answers a question denied with an evaluation error.
	evalErr map[string]string
	// fail answers a question with an error.
	fail map[string]error
	// missing subjects cannot be connected to.
	missing map[string]bool
	clients map[string]*fake.Clientset
	// namespaces are what ListNamespaces lists per selector.
	namespaces map[string][]string
	listErr    error
	lists      []string
}

func newServer(t *testing.T) *server {
	return &server{t: t, allowed: map[string]map[string]bool{}, evalErr: map[string]string{}, fail: map[string]error{},
		missing: map[string]bool{}, clients: map[string]*fake.Clientset{}, namespaces: map[string][]string{}}
}

func (s *server) allow(subject string, questions ...string) {
	if s.allowed[subject] == nil {
		s.allowed[subject] = map[string]bool{}
	}
	for _, q := range questions {
		s.allowed[subject][q] = true
	}
}

func question(spec authorizationv1.SelfSubjectAccessReviewSpec) string {
	if n := spec.NonResourceAttributes; n != nil {
		return " " + n.Verb + " " + n.Path
	}
	r := spec.ResourceAttributes
	q := r.Namespace + " " + r.Verb + " " + r.Resource
	if r.Group != "" {
		q = r.Namespace + " " + r.Verb + " " + r.Resource + "." + r.Group
	}
	if r.Subresource != "" {
		q += "/" + r.Subresource
	}
	if r.Name != "" {
		q += " " + r.Name
	}
	return q
}

func (s *server) connect(_ context.Context, subject string) (authorizationv1client.SelfSubjectAccessReviewsGetter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.missing[subject] {
		return nil, exitcode.WithCode(exitcode.Error, fmt.Errorf("service account %q not found", subject))
	}
	client := fake.NewClientset()
	client.PrependReactor("create", "selfsubjectaccessreviews", func(a clienttesting.Action) (bool, runtime.Object, error) {
		review := a.(clienttesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).DeepCopy()
		q := question(review.Spec)
		if err := s.fail[q]; err != nil {
			return true, nil, err
		}
		review.Status.Allowed = s.allowed[subject][q]
		review.Status.EvaluationError = s.evalErr[q]
		if review.Status.Allowed {
			review.Status.Reason = "granted by test"
		}
		return true, review, nil
	})
	s.clients[subject] = client
	return client.AuthorizationV1(), nil
}

func (s *server) list(_ context.Context, selector string) ([]string, error) {
	s.lists = append(s.lists, selector)
	if s.listErr != nil {
		return nil, s.listErr
	}
	return s.namespaces[selector], nil
}

// asked lists the questions a subject's client sent, in order.
func (s *server) asked(subject string) []string {
	out := []string{}
	if c := s.clients[subject]; c != nil {
		for _, a := range c.Actions() {
			out = append(out, question(a.(clienttesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).Spec))
		}
	}
	return out
}

func (s *server) checker() *Checker {
	return &Checker{Connect: s.connect, ListNamespaces: s.list, DefaultNamespace: "ctx", Concurrency: 1}
}

func parse(t *testing.T, body string) []expect.Set {
	t.Helper()
	docs, err := expect.Parse("e.yaml", []byte("apiVersion: access.kubectl-access.io/v1alpha1\nkind: AccessExpectations\nexpectations:\n"+body))
	if err != nil {
		t.Fatal(err)
	}
	var sets []expect.Set
	for _, d := range docs {
		sets = append(sets, d.Expectations...)
	}
	return sets
}

// row is a result in brief.
func row(r Result) string {
	s := fmt.Sprintf("%s %s %s in %q: %s", r.Subject, expected(r.Allow), r.Action.String(), r.Namespace, r.Outcome)
	if r.Err != nil {
		s += " (" + r.Err.Error() + ")"
	}
	return s
}

func rows(results []Result) []string {
	out := []string{}
	for _, r := range results {
		out = append(out, row(r))
	}
	return out
}

func TestRun(t *testing.T) {
	cases := []struct {
		name  string
		doc   string
		setup func(s *server)
		want  []string
		asked map[string][]string
		lists []string
	}{
		{
			name: "allowed and denied as expected hold, the others fail",
			doc: `- subjects: [a/ci]
  namespaces: [a, b]
  allow: [get pods]
  deny: [get secrets]
`,
			setup: func(s *server) { s.allow("a/ci", "a get pods", "b get secrets") },
			want: []string{
				`a/ci allow get pods in "a": held`,
				`a/ci allow get pods in "b": failed`,
				`a/ci deny get secrets in "a": held`,
				`a/ci deny get secrets in "b": failed`,
			},
			asked: map[string][]string{"a/ci": {"a get pods", "b get pods", "a get secrets", "b get secrets"}},
		},
		{
			name: "no namespaces: the service account's own, the context's for current",
			doc: `- subjects: [a/ci, current]
  allow: [list pods]
`,
			setup: func(s *server) { s.allow("a/ci", "a list pods"); s.allow("current", "ctx list pods") },
			want:  []string{`a/ci allow list pods in "a": held`, `current allow list pods in "ctx": held`},
			asked: map[string][]string{"a/ci": {"a list pods"}, "current": {"ctx list pods"}},
		},
		{
			name: "an action's namespaces win over the set's; cluster-scoped actions are asked once, cluster-wide",
			doc: `- subjects: [a/ci]
  namespaces: [a, b]
  allow: [get pods -n c, get /metrics, list nodes]
`,
			setup: func(s *server) { s.allow("a/ci", "c get pods", " get /metrics", " list nodes") },
			want:  []string{`a/ci allow get /metrics in "": held`, `a/ci allow get pods in "c": held`, `a/ci allow list nodes in "": held`},
			asked: map[string][]string{"a/ci": {"c get pods", " get /metrics", " list nodes"}},
		},
		{
			name: "a question written twice is asked once, and reported once per expected answer",
			doc: `- subjects: [a/ci]
  allow: [get pods]
  deny: [get pods]
- subjects: [a/ci]
  namespaces: [a]
  allow: [get pods]
`,
			setup: func(s *server) { s.allow("a/ci", "a get pods") },
			want:  []string{`a/ci allow get pods in "a": held`, `a/ci deny get pods in "a": failed`},
			asked: map[string][]string{"a/ci": {"a get pods"}},
		},
		{
			name: `"*" and selectors are listed once each`,
			doc: `- subjects: [a/ci]
  namespaces: ["*"]
  deny: [get secrets]
- subjects: [a/ci]
  namespaceSelector: team=x
  deny: [list secrets]
- subjects: [b/ci]
  namespaceSelector: team=x
  deny: [list secrets]
`,
			setup: func(s *server) { s.namespaces[""] = []string{"z", "a"}; s.namespaces["team=x"] = []string{"x"} },
			want: []string{
				`a/ci deny get secrets in "a": held`, `a/ci deny get secrets in "z": held`, `a/ci deny list secrets in "x": held`,
				`b/ci deny list secrets in "x": held`,
			},
			asked: map[string][]string{"a/ci": {"a get secrets", "z get secrets", "x list secrets"}, "b/ci": {"x list secrets"}},
			lists: []string{"", "team=x"},
		},
		{
			name: "a selector that matches nothing is undecided, not passed",
			doc: `- subjects: [a/ci]
  namespaceSelector: team=none
  deny: [get secrets]
  allow: [get /healthz]
`,
			setup: func(s *server) { s.allow("a/ci", " get /healthz") },
			want:  []string{`a/ci allow get /healthz in "": held`, `a/ci deny get secrets in "": undecided (namespaceSelector "team=none" matches no namespace)`},
			asked: map[string][]string{"a/ci": {" get /healthz"}},
			lists: []string{"team=none"},
		},
		{
			name: "namespaces that cannot be listed are undecided",
			doc: `- subjects: [a/ci]
  namespaces: ["*"]
  deny: [get secrets]
`,
			setup: func(s *server) { s.listErr = errors.New("forbidden") },
			want:  []string{`a/ci deny get secrets in "": undecided (forbidden)`},
			asked: map[string][]string{"a/ci": {}},
			lists: []string{""},
		},
		{
			name: "a subject that does not exist is undecided, the others still run",
			doc: `- subjects: [a/ghost, a/ci]
  allow: [get pods]
`,
			setup: func(s *server) { s.missing["a/ghost"] = true; s.allow("a/ci", "a get pods") },
			want:  []string{`a/ci allow get pods in "a": held`, `a/ghost allow get pods in "a": undecided (subject a/ghost: service account "a/ghost" not found)`},
			asked: map[string][]string{"a/ci": {"a get pods"}, "a/ghost": {}},
		},
		{
			name: "a failed review is undecided",
			doc: `- subjects: [a/ci]
  namespaces: [a, b]
  deny: [get secrets]
`,
			setup: func(s *server) {
				s.fail["b get secrets"] = apierrors.NewInternalError(errors.New("boom"))
			},
			want: []string{`a/ci deny get secrets in "a": held`, `a/ci deny get secrets in "b": undecided (Internal error occurred: boom)`},
		},
		{
			name: "a denial with an evaluation error is undecided; an allowance with one stands",
			doc: `- subjects: [a/ci]
  namespaces: [a, b]
  deny: [get secrets]
`,
			setup: func(s *server) {
				s.evalErr["a get secrets"] = "webhook failed"
				s.evalErr["b get secrets"] = "webhook failed"
				s.allow("a/ci", "b get secrets")
			},
			want: []string{`a/ci deny get secrets in "a": undecided`, `a/ci deny get secrets in "b": failed`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			if tc.setup != nil {
				tc.setup(s)
			}
			results, err := s.checker().Run(context.Background(), parse(t, tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, rows(results)); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			for subject, want := range tc.asked {
				if diff := cmp.Diff(want, s.asked(subject)); diff != "" {
					t.Errorf("questions asked as %s (-want +got):\n%s", subject, diff)
				}
			}
			if tc.lists != nil {
				if diff := cmp.Diff(tc.lists, s.lists); diff != "" {
					t.Errorf("namespace lists (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestRunInterrupted(t *testing.T) {
	s := newServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.checker().Run(ctx, parse(t, "- subjects: [a/ci]\n  allow: [get pods]\n")); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestRunStopsASubjectOnARejectedToken(t *testing.T) {
	s := newServer(t)
	s.fail["a get pods"] = apierrors.NewUnauthorized("no")
	s.checker()
	c := s.checker()
	results, err := c.Run(context.Background(), parse(t, "- subjects: [a/ci]\n  namespaces: [a, b, c]\n  allow: [get pods]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Outcome != Undecided || exitcode.Code(r.Err) != exitcode.Unauthorized {
			t.Errorf("%s: code %d", row(r), exitcode.Code(r.Err))
		}
	}
	if n := len(s.asked("a/ci")); n != 1 {
		t.Errorf("%d reviews after a 401, want 1", n)
	}
}

func TestSummary(t *testing.T) {
	results := []Result{{Outcome: Held}, {Outcome: Held}, {Outcome: Failed}, {Outcome: Undecided}}
	s := Summarize(results)
	if diff := cmp.Diff(Summary{Expectations: 4, Held: 2, Failed: 1, Undecided: 1}, s); diff != "" {
		t.Error(diff)
	}
	if got := s.String(); got != "4 expectations, 2 held, 1 failed, 1 undecided" {
		t.Errorf("%q", got)
	}
	if got := Summarize(results[:1]).String(); got != "1 expectation, 1 held, 0 failed" {
		t.Errorf("%q", got)
	}
	if got := Summarize(nil).String(); got != "0 expectations, 0 held, 0 failed" {
		t.Errorf("%q", got)
	}
}

func TestUnknownVerbs(t *testing.T) {
	sets := parse(t, "- subjects: [a/b]\n  allow: [frobnicate pods, get pods, post /x]\n  deny: [escalate roles.rbac.authorization.k8s.io, zap pods]\n")
	var got []string
	for _, a := range UnknownVerbs(sets) {
		got = append(got, a.Pos.String()+" "+a.Verb)
	}
	if diff := cmp.Diff([]string{"e.yaml:5 frobnicate", "e.yaml:6 zap"}, got); diff != "" {
		t.Error(diff)
	}
}

func TestErrors(t *testing.T) {
	e1, e2 := errors.New("one"), errors.New("two")
	results := []Result{
		{Outcome: Undecided, Err: e1}, {Outcome: Held}, {Outcome: Undecided, Err: errors.New("one")},
		{Outcome: Undecided, Err: e2}, {Outcome: Undecided, EvaluationError: "hook"}, {Outcome: Failed, Err: e2},
	}
	var got []string
	for _, e := range Errors(results) {
		got = append(got, e.Error())
	}
	if diff := cmp.Diff([]string{"one", "two", "denied with an evaluation error: hook"}, got); diff != "" {
		t.Error(diff)
	}
}

func TestSort(t *testing.T) {
	mk := func(subject, verb, ns string, allow bool) Result {
		return Result{Expectation: Expectation{Subject: subject, Action: risk.Action{Verb: verb, Resource: "pods"}, Namespace: ns, Allow: allow}}
	}
	results := []Result{mk("b", "get", "a", true), mk("a", "list", "a", true), mk("a", "get", "b", true), mk("a", "get", "a", false), mk("a", "get", "a", true)}
	Sort(results)
	want := []string{`a allow get pods in "a": `, `a deny get pods in "a": `, `a allow get pods in "b": `, `a allow list pods in "a": `, `b allow get pods in "a": `}
	if diff := cmp.Diff(want, rows(results)); diff != "" {
		t.Error(diff)
	}
}

func sampleResults() []Result {
	pos := expect.Pos{File: "e.yaml", Line: 7}
	return []Result{
		{Expectation: Expectation{Subject: "a/ci", Action: risk.Action{Verb: "get", Resource: "pods"}, Namespace: "a", Allow: true, Pos: pos}, Outcome: Held, Allowed: true, Reason: "RBAC: allowed by RoleBinding"},
		{Expectation: Expectation{Subject: "a/ci", Action: risk.Action{Verb: "get", Resource: "secrets"}, Namespace: "a", Pos: pos}, Outcome: Failed, Allowed: true, Reason: "by hook"},
		{Expectation: Expectation{Subject: "a/ci", Action: risk.Action{Verb: "get", NonResourceURL: "/metrics"}, Allow: true}, Outcome: Failed},
		{Expectation: Expectation{Subject: "b/x", Action: risk.Action{Verb: "list", Resource: "pods"}, Allow: true}, Outcome: Undecided, Err: errors.New("subject b/x: not\nfound")},
		{Expectation: Expectation{Subject: "b/x", Action: risk.Action{Verb: "list", Resource: "nodes"}}, Outcome: Undecided, EvaluationError: "hook down"},
	}
}

func TestPrintTable(t *testing.T) {
	var b strings.Builder
	if err := PrintTable(&b, sampleResults()); err != nil {
		t.Fatal(err)
	}
	want := `SUBJECT   ACTION         NAMESPACE   EXPECTED   GOT       RESULT   REASON
a/ci      get pods       a           allow      allowed   OK       RBAC: allowed by RoleBinding
a/ci      get secrets    a           deny       allowed   FAIL     by hook
a/ci      get /metrics   (cluster)   allow      denied    FAIL     -
b/x       list pods      -           allow      -         ERROR    subject b/x: not found
b/x       list nodes     (cluster)   deny       -         ERROR    evaluation error: hook down
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestNewRecord(t *testing.T) {
	rec := NewRecord(sampleResults())
	want := Record{APIVersion: RecordAPIVersion, Kind: RecordKind, Summary: Summary{Expectations: 5, Held: 1, Failed: 2, Undecided: 2}, Results: []ResultRecord{
		{Subject: "a/ci", Action: "get pods", Namespace: "a", Expected: "allow", Got: "allowed", Result: Held, Reason: "RBAC: allowed by RoleBinding", Source: "e.yaml:7"},
		{Subject: "a/ci", Action: "get secrets", Namespace: "a", Expected: "deny", Got: "allowed", Result: Failed, Reason: "by hook", Source: "e.yaml:7"},
		{Subject: "a/ci", Action: "get /metrics", Expected: "allow", Got: "denied", Result: Failed},
		{Subject: "b/x", Action: "list pods", Expected: "allow", Result: Undecided, Error: "subject b/x: not\nfound"},
		{Subject: "b/x", Action: "list nodes", Expected: "deny", Result: Undecided, EvaluationError: "hook down"},
	}}
	if diff := cmp.Diff(want, rec); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := NewRecord(nil).Results; got == nil || len(got) != 0 {
		t.Errorf("no results: %#v, want an empty list", got)
	}
}

func TestJUnit(t *testing.T) {
	data, err := JUnit(sampleResults())
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="kubectl access check" tests="5" failures="2" errors="2">
  <testsuite name="a/ci" tests="3" failures="2" errors="0" skipped="0" time="0">
    <testcase name="allow get pods in a" classname="a/ci" time="0"></testcase>
    <testcase name="deny get secrets in a" classname="a/ci" time="0">
      <failure message="expected deny, got allowed" type="ExpectationFailed">subject a/ci, deny get secrets in a, expected deny, written at e.yaml:7&#xA;server: by hook</failure>
    </testcase>
    <testcase name="allow get /metrics" classname="a/ci" time="0">
      <failure message="expected allow, got denied" type="ExpectationFailed">subject a/ci, allow get /metrics, expected allow</failure>
    </testcase>
  </testsuite>
  <testsuite name="b/x" tests="2" failures="0" errors="2" skipped="0" time="0">
    <testcase name="allow list pods (no namespace)" classname="b/x" time="0">
      <error message="no answer to trust: subject b/x: not found" type="Undecided">subject b/x, allow list pods (no namespace), expected allow&#xA;server: subject b/x: not&#xA;found</error>
    </testcase>
    <testcase name="deny list nodes" classname="b/x" time="0">
      <error message="no answer to trust: evaluation error: hook down" type="Undecided">subject b/x, deny list nodes, expected deny&#xA;server: evaluation error: hook down</error>
    </testcase>
  </testsuite>
</testsuites>
`
	if diff := cmp.Diff(want, string(data)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestReportFile(t *testing.T) {
	dir := t.TempDir()
	leftovers := func() []string {
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	t.Run("a new file, then replaced", func(t *testing.T) {
		path := filepath.Join(dir, "r.xml")
		for _, content := range []string{"one", "two"} {
			f, err := CreateReport(path)
			if err != nil {
				t.Fatal(err)
			}
			if f.Path() != path {
				t.Errorf("path %q", f.Path())
			}
			if err := f.Commit([]byte(content)); err != nil {
				t.Fatal(err)
			}
			f.Abort()
			data, err := os.ReadFile(path)
			if err != nil || string(data) != content {
				t.Errorf("%q %v, want %q", data, err, content)
			}
			if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
				t.Errorf("mode %v", fi.Mode())
			}
		}
		if diff := cmp.Diff([]string{"r.xml"}, leftovers()); diff != "" {
			t.Errorf("files left (-want +got):\n%s", diff)
		}
		_ = os.Remove(path)
	})
	t.Run("a directory or a link is refused before anything is written", func(t *testing.T) {
		sub := filepath.Join(dir, "sub")
		if err := os.Mkdir(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(dir, "link")
		if err := os.Symlink(filepath.Join(dir, "elsewhere"), link); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{sub, link} {
			if _, err := CreateReport(p); !errors.Is(err, ErrNotRegular) {
				t.Errorf("%s: %v, want ErrNotRegular", p, err)
			}
		}
		if _, err := CreateReport(filepath.Join(dir, "missing", "r.xml")); err == nil {
			t.Error("a report in a missing directory was accepted")
		}
		_ = os.Remove(sub)
		_ = os.Remove(link)
	})
	t.Run("abort leaves nothing", func(t *testing.T) {
		f, err := CreateReport(filepath.Join(dir, "aborted.xml"))
		if err != nil {
			t.Fatal(err)
		}
		f.Abort()
		f.Abort()
		if got := leftovers(); len(got) != 0 {
			t.Errorf("files left: %v", got)
		}
	})
	t.Run("a directory that appears before the commit is not replaced", func(t *testing.T) {
		path := filepath.Join(dir, "late")
		f, err := CreateReport(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := f.Commit([]byte("x")); !errors.Is(err, ErrNotRegular) {
			t.Errorf("commit: %v, want ErrNotRegular", err)
		}
		if diff := cmp.Diff([]string{"late"}, leftovers()); diff != "" {
			t.Errorf("files left (-want +got):\n%s", diff)
		}
	})
}
