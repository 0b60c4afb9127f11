package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubectl-access/kubectl-access/pkg/check"
	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
)

// check runs `kubectl access check args` at the options level against the
// fakes, with stdin, and returns what it printed and its error.
func (c *fakeCluster) check(stdin string, args ...string) (stdout, stderr string, err error) {
	c.t.Helper()
	flags := NewCheckFlags()
	cf, fs, pos := parseFlags(c.t, flags.AddFlags, args...)
	streams, in, out, errOut := genericiooptions.NewTestIOStreams()
	in.WriteString(stdin)
	o, err := flags.ToOptions(cf, fs, pos, streams)
	if err == nil {
		c.inject(&o.identity)
		o.newClient = c.newClient
		if err = o.Validate(); err == nil {
			err = o.Run(context.Background())
		}
	}
	c.checkNoToken(out.String(), errOut.String(), err)
	return out.String(), errOut.String(), err
}

// checkReviews lists the SelfSubjectAccessReviews a fake saw, each as
// "NAMESPACE VERB RESOURCE[/SUB]" or " VERB /PATH", sorted: they are sent
// at once.
func checkReviews(client *fake.Clientset) []string {
	got := []string{}
	for _, a := range client.Actions() {
		if !a.Matches("create", "selfsubjectaccessreviews") {
			continue
		}
		spec := a.(clienttesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).Spec
		if n := spec.NonResourceAttributes; n != nil {
			got = append(got, " "+n.Verb+" "+n.Path)
			continue
		}
		r := spec.ResourceAttributes
		s := r.Namespace + " " + r.Verb + " " + r.Resource
		if r.Subresource != "" {
			s += "/" + r.Subresource
		}
		got = append(got, s)
	}
	sort.Strings(got)
	return got
}

// tokenLifetimes lists the expirationSeconds of every TokenRequest.
func tokenLifetimes(client *fake.Clientset) []int64 {
	got := []int64{}
	for _, a := range client.Actions() {
		if a.Matches("create", "serviceaccounts") && a.GetSubresource() == "token" {
			tr := a.(clienttesting.CreateAction).GetObject().(*authenticationv1.TokenRequest)
			if tr.Spec.ExpirationSeconds == nil {
				got = append(got, 0)
			} else {
				got = append(got, *tr.Spec.ExpirationSeconds)
			}
		}
	}
	return got
}

func writeExpectations(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "e.yaml")
	doc := "apiVersion: access.kubectl-access.io/v1alpha1\nkind: AccessExpectations\nexpectations:\n" + body
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCheckRequests pins the requests of a check, and which credentials
// send each: the token is obtained with the caller's credentials, with the
// shortest lifetime the server accepts (600s) unless --duration says
// otherwise; "*" lists namespaces with them; the token alone asks the
// SelfSubjectAccessReviews, each distinct question once; --current asks
// with the caller's credentials and obtains nothing.
func TestCheckRequests(t *testing.T) {
	obtain := []string{"get serviceaccounts in build", "list secrets in build", "create serviceaccounts/token in build"}
	file := writeExpectations(t, `- subjects: [build/ci]
  namespaces: [build, x]
  allow: [get pods, get /metrics]
  deny: [get secrets, get pods -n x]
`)
	cases := []struct {
		name       string
		args       []string
		stdin      string
		wantCaller []string
		wantToken  []string
		lifetimes  []int64
		wantErr    int
		// allowed are the questions the server allows.
		allowed []string
	}{
		{
			name:       "inline, in the namespace of -n",
			args:       []string{"ci", "-n", "build", "--allow", "get pods", "--deny", "create pods/exec"},
			wantCaller: obtain,
			wantToken:  []string{"build create pods/exec", "build get pods"},
			lifetimes:  []int64{600},
			allowed:    []string{"build get pods"},
		},
		{
			name:       "a file: every distinct question once, a URL once for the cluster",
			args:       []string{"-f", file},
			wantCaller: obtain,
			wantToken:  []string{" get /metrics", "build get pods", "build get secrets", "x get pods", "x get secrets"},
			lifetimes:  []int64{600},
			wantErr:    exitcode.Expectation,
		},
		{
			name:       "--duration is the lifetime asked for",
			args:       []string{"ci", "-n", "build", "--allow", "get pods", "--duration", "1h"},
			wantCaller: obtain,
			wantToken:  []string{"build get pods"},
			lifetimes:  []int64{3600},
			allowed:    []string{"build get pods"},
		},
		{
			name:       "-A lists the namespaces with the caller's credentials, once, before the token is obtained",
			args:       []string{"ci", "-n", "build", "-A", "--deny", "get secrets"},
			wantCaller: append([]string{"list namespaces"}, obtain...),
			wantToken:  []string{"build get secrets", "x get secrets", "y get secrets", "z get secrets"},
			lifetimes:  []int64{600},
		},
		{
			name:       "--current obtains no token: the caller's credentials ask",
			args:       []string{"--current", "--namespaces", "x,y", "--deny", "get secrets"},
			wantCaller: []string{"create selfsubjectaccessreviews", "create selfsubjectaccessreviews"},
			wantToken:  []string{},
			lifetimes:  []int64{},
		},
		{
			name:       "stdin",
			args:       []string{"-f", "-"},
			stdin:      "apiVersion: access.kubectl-access.io/v1alpha1\nkind: AccessExpectations\nexpectations:\n- subjects: [current]\n  deny: [get secrets]\n",
			wantCaller: []string{"create selfsubjectaccessreviews"},
			wantToken:  []string{},
			lifetimes:  []int64{},
		},
		{
			name:       "--generate sends rules reviews, no access review",
			args:       []string{"ci", "-n", "build", "--namespaces", "x,build", "--generate"},
			wantCaller: obtain,
			wantToken:  []string{},
			lifetimes:  []int64{600},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t)
			for _, q := range tc.allowed {
				c.allowed[q] = true
			}
			_, stderr, err := c.check(tc.stdin, tc.args...)
			if exitcode.Code(err) != tc.wantErr {
				t.Fatalf("exit %d (%v), want %d\n%s", exitcode.Code(err), err, tc.wantErr, stderr)
			}
			// The ServiceAccount GET and the Secret LIST are sent at once,
			// in no particular order.
			caller := requests(c.caller)
			for i := 0; i+1 < len(caller); i++ {
				if caller[i] == obtain[1] && caller[i+1] == obtain[0] {
					caller[i], caller[i+1] = caller[i+1], caller[i]
				}
			}
			if diff := cmp.Diff(tc.wantCaller, caller); diff != "" {
				t.Errorf("requests with the caller's credentials (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantToken, checkReviews(c.asToken)); diff != "" {
				t.Errorf("access reviews with the token (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.lifetimes, tokenLifetimes(c.caller)); diff != "" {
				t.Errorf("token lifetimes (-want +got):\n%s", diff)
			}
			for _, cfg := range c.tokenConfigs {
				if cfg.Username != "" || cfg.CertFile != "" || len(cfg.CertData) > 0 || cfg.BearerToken != testToken {
					t.Errorf("the token's client carries other credentials: %+v", cfg)
				}
			}
			if strings.Contains(strings.Join(tc.args, " "), "--generate") {
				if diff := cmp.Diff([]string{"build", "x"}, reviewedNamespaces(c.asToken)); diff != "" {
					t.Errorf("rules reviews (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestCheckOutcome(t *testing.T) {
	t.Run("all held: exit 0, the table, the summary", func(t *testing.T) {
		c := newFakeCluster(t)
		c.allowed["build get pods"] = true
		out, stderr, err := c.check("", "ci", "-n", "build", "--allow", "get pods", "--deny", "get secrets")
		if err != nil {
			t.Fatal(err)
		}
		want := "SUBJECT    ACTION        NAMESPACE   EXPECTED   GOT       RESULT   REASON\n" +
			"build/ci   get pods      build       allow      allowed   OK       -\n" +
			"build/ci   get secrets   build       deny       denied    OK       -\n"
		if diff := cmp.Diff(want, out); diff != "" {
			t.Errorf("table (-want +got):\n%s", diff)
		}
		if stderr != "2 expectations, 2 held, 0 failed\n" {
			t.Errorf("stderr %q", stderr)
		}
	})
	t.Run("a failure: exit 11, named", func(t *testing.T) {
		c := newFakeCluster(t)
		_, stderr, err := c.check("", "ci", "-n", "build", "--allow", "get pods", "--allow", "list pods", "--allow", "watch pods", "--allow", "get configmaps", "-o", "json")
		if exitcode.Code(err) != exitcode.Expectation {
			t.Fatalf("exit %d: %v", exitcode.Code(err), err)
		}
		want := "4 of 4 expectations failed (build/ci: allow get configmaps in build; build/ci: allow get pods in build; build/ci: allow list pods in build, and 1 more)"
		if err.Error() != want {
			t.Errorf("error %q\nwant  %q", err, want)
		}
		if stderr != "4 expectations, 0 held, 4 failed\n" {
			t.Errorf("stderr %q", stderr)
		}
	})
	t.Run("undecided: the code of the failure to ask, before any failure", func(t *testing.T) {
		c := newFakeCluster(t)
		c.accessErr = &netError{}
		out, stderr, err := c.check("", "ci", "-n", "build", "--allow", "get pods", "-o", "json")
		if exitcode.Code(err) != exitcode.Unreachable || !strings.Contains(err.Error(), "1 of 1 expectations are undecided, never counted as held") {
			t.Fatalf("exit %d: %v", exitcode.Code(err), err)
		}
		var rec check.Record
		if err := json.Unmarshal([]byte(out), &rec); err != nil {
			t.Fatal(err)
		}
		if len(rec.Results) != 1 || rec.Results[0].Result != check.Undecided || rec.Results[0].Error == "" || rec.Summary.Undecided != 1 {
			t.Errorf("record %+v", rec)
		}
		if !strings.Contains(stderr, "1 expectation, 0 held, 0 failed, 1 undecided") {
			t.Errorf("stderr %q", stderr)
		}
	})
	t.Run("a missing service account is undecided, with exit 1, and the others are asked", func(t *testing.T) {
		c := newFakeCluster(t)
		c.allowed["build get pods"] = true
		file := writeExpectations(t, "- subjects: [build/ghost, build/ci]\n  allow: [get pods]\n")
		out, _, err := c.check("", "-f", file)
		if exitcode.Code(err) != exitcode.Error || !strings.Contains(err.Error(), `"ghost" not found`) {
			t.Fatalf("exit %d: %v", exitcode.Code(err), err)
		}
		if !strings.Contains(out, "build/ci      get pods   build       allow      allowed   OK") || !strings.Contains(out, "build/ghost   get pods   build       allow      -         ERROR") {
			t.Errorf("table:\n%s", out)
		}
	})
	t.Run("an unknown verb is warned about, with its place, and asked", func(t *testing.T) {
		c := newFakeCluster(t)
		file := writeExpectations(t, "- subjects: [build/ci]\n  deny: [frobnicate pods]\n")
		_, stderr, err := c.check("", "-f", file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stderr, "Warning: "+file+`:5: verb "frobnicate" is not a known verb`) {
			t.Errorf("stderr %q", stderr)
		}
		if diff := cmp.Diff([]string{"build frobnicate pods"}, checkReviews(c.asToken)); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("--junit writes the report", func(t *testing.T) {
		c := newFakeCluster(t)
		path := filepath.Join(t.TempDir(), "r.xml")
		_, _, err := c.check("", "ci", "-n", "build", "--allow", "get pods", "--junit", path)
		if exitcode.Code(err) != exitcode.Expectation {
			t.Fatalf("%v", err)
		}
		data, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(data), `<failure message="expected allow, got denied"`) {
			t.Errorf("%s %v", data, err)
		}
	})
	t.Run("--generate prints a document", func(t *testing.T) {
		c := newFakeCluster(t)
		c.rules["build"] = []authorizationv1.ResourceRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}}
		out, _, err := c.check("", "ci", "-n", "build", "--generate")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "- subjects: [\"build/ci\"]\n  namespaces: [\"build\"]\n  allow:\n  - \"get /version\"\n  - \"get pods\"\n") {
			t.Errorf("%s", out)
		}
	})
	t.Run("--generate fails with the failed namespace's code", func(t *testing.T) {
		c := newFakeCluster(t)
		c.fail["x"] = errors.New("boom")
		out, _, err := c.check("", "ci", "-n", "build", "--namespaces", "build,x", "--generate")
		if exitcode.Code(err) != exitcode.Error || !strings.Contains(err.Error(), `namespace "x"`) || out != "" {
			t.Errorf("%q %v", out, err)
		}
	})
}

// netError is a connection failure as the transport reports it.
type netError struct{}

func (*netError) Error() string   { return "dial tcp 10.0.0.1:443: i/o timeout" }
func (*netError) Timeout() bool   { return true }
func (*netError) Temporary() bool { return true }

// TestCheckRefusals: every bad input is a usage error naming the flag or
// the file and line, and nothing is sent.
func TestCheckRefusals(t *testing.T) {
	bad := writeExpectations(t, "- subjects: [build/ci]\n  alow: [get pods]\n")
	good := writeExpectations(t, "- subjects: [build/ci]\n  allow: [get pods]\n")
	emptyDir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"a malformed file", []string{"-f", bad}, "-f " + bad + ":5: expectations[0].alow: unknown field"},
		{"a missing file", []string{"-f", filepath.Join(emptyDir, "none.yaml")}, "-f stat "},
		{"a directory with no documents", []string{"-f", emptyDir}, "the directory has no *.yaml, *.yml or *.json file"},
		{"stdin twice", []string{"-f", "-", "-f", "-"}, "-f - is given twice"},
		{"-f and --allow", []string{"-f", good, "--allow", "get pods"}, "-f and --allow/--deny cannot be used together"},
		{"-f and --generate", []string{"-f", good, "--generate"}, "it cannot be used with -f"},
		{"--allow and --generate", []string{"ci", "--allow", "get pods", "--generate"}, "it cannot be used with --allow or --deny"},
		{"-f and a service account", []string{"ci", "-f", good}, "-f names its subjects in the file"},
		{"-f and --current", []string{"--current", "-f", good}, "-f names its subjects in the file"},
		{"-f and --namespaces", []string{"-f", good, "--namespaces", "a"}, "--namespaces and -A are for"},
		{"-f and -A", []string{"-f", good, "-A"}, "--namespaces and -A are for"},
		{"nothing to check", []string{"ci"}, "nothing to check"},
		{"--generate and -o", []string{"ci", "--generate", "-o", "json"}, "-o and --junit are for checking"},
		{"--generate and --junit", []string{"ci", "--generate", "--junit", "r.xml"}, "-o and --junit are for checking"},
		{"--namespaces and -A", []string{"ci", "--allow", "get pods", "-A", "--namespaces", "a"}, "--namespaces and -A/--all-namespaces cannot be used together"},
		{"empty --namespaces", []string{"ci", "--allow", "get pods", "--namespaces", ""}, "--namespaces must name at least one namespace"},
		{"a bad namespace", []string{"ci", "--allow", "get pods", "--namespaces", "a,B"}, "--namespaces: value 2 of 2 is not a valid namespace name"},
		{"empty --junit", []string{"ci", "--allow", "get pods", "--junit", ""}, "--junit must name a file"},
		{"--junit into a directory", []string{"ci", "--allow", "get pods", "--junit", emptyDir}, "--junit " + emptyDir + " is not a regular file"},
		{"a bad --deny", []string{"ci", "--allow", "get pods", "--deny", "get"}, `--deny (value 1 of 1): action "get": no resource or URL after the verb`},
		{"a bad -n in an action", []string{"ci", "--allow", "get pods -n B"}, `--allow (value 1 of 1): action "get pods -n B": -n: is not a valid namespace name`},
		{"zero concurrency", []string{"ci", "--allow", "get pods", "--concurrency", "0"}, "--concurrency must be at least 1"},
		{"an unknown output", []string{"ci", "--allow", "get pods", "-o", "xml"}, "--output must be one of json, yaml"},
		{"a short duration", []string{"ci", "--allow", "get pods", "--duration", "1m"}, "--duration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t)
			out, _, err := c.check("", tc.args...)
			if exitcode.Code(err) != exitcode.Usage || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("exit %d: %v\nwant 2 and %q", exitcode.Code(err), err, tc.want)
			}
			if out != "" {
				t.Errorf("stdout %q", out)
			}
			if got := append(requests(c.caller), requests(c.asToken)...); len(got) != 0 {
				t.Errorf("requests sent: %v", got)
			}
		})
	}
}

// TestCheckSelectors lists the namespaces of a selector with the caller's
// credentials and reports one that matches nothing.
func TestCheckSelectors(t *testing.T) {
	c := newFakeCluster(t)
	for _, name := range []string{"x", "y"} {
		ns, err := c.caller.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ns.Labels = map[string]string{"team": "a"}
		if _, err := c.caller.CoreV1().Namespaces().Update(context.Background(), ns, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c.caller.ClearActions()
	file := writeExpectations(t, `- subjects: [build/ci]
  namespaceSelector: team=a
  deny: [get secrets]
- subjects: [build/ci]
  namespaceSelector: team=none
  deny: [list secrets]
`)
	out, _, err := c.check("", "-f", file, "-o", "json")
	if exitcode.Code(err) != exitcode.Error || !strings.Contains(err.Error(), `namespaceSelector "team=none" matches no namespace`) {
		t.Fatalf("exit %d: %v", exitcode.Code(err), err)
	}
	if diff := cmp.Diff([]string{"x get secrets", "y get secrets"}, checkReviews(c.asToken)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var selectors []string
	for _, a := range c.caller.Actions() {
		if a.Matches("list", "namespaces") {
			selectors = append(selectors, a.(clienttesting.ListAction).GetListRestrictions().Labels.String())
		}
	}
	if diff := cmp.Diff([]string{"team=a", "team=none"}, selectors); diff != "" {
		t.Errorf("selectors listed (-want +got):\n%s", diff)
	}
	if !strings.Contains(out, `"result": "undecided"`) {
		t.Errorf("%s", out)
	}
}
