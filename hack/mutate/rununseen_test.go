package main

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// module is a tiny module whose unseen mutants end each way a mutant can:
// the comments give the operators' columns.
var module = map[string]string{
	"go.mod": "module example.com/m\n\ngo 1.22\n",
	"pkg/p/p.go": `package p

// step 2 - 1 (column 16): 2 + 1 makes Count 4.
const step = 2 - 1

// first 1 - 1 (column 17): 1 + 1 is out of table's range, which does not compile.
const first = 1 - 1

var table = [1]int{7}

// First is table's first entry.
func First() int { return table[first] }

// Count counts the steps to 10.
func Count() int {
	n := 0
	for i := 0; i < 10; i += step {
		n++
	}
	return n
}

// Sign: x < 0 (column 9) is tested at 0, x > 100 (column 9) not at 100.
func Sign(x int) string {
	switch {
	case x < 0:
		return "negative"
	case x > 100:
		return "big"
	}
	return "other"
}
`,
	"pkg/p/p_test.go": `package p

import "testing"

func TestP(t *testing.T) {
	if First() != 7 || Count() != 10 || Sign(-1) != "negative" || Sign(0) != "other" || Sign(101) != "big" {
		t.Fatal(First(), Count(), Sign(-1), Sign(0), Sign(101))
	}
}
`,
	"pkg/q/q.go": "package q\n\n// Q is one.\nfunc Q() int { return 1 }\n",
}

// gremlinsP is what gremlins reports for pkg/p: every unseen mutant NOT
// COVERED, one mutant it ran, and one not covered that is not unseen (the
// runner leaves it alone).
const gremlinsP = `{"files":[{"file_name":"p.go","mutations":[
 {"type":"ARITHMETIC_BASE","status":"NOT COVERED","line":4,"column":16},
 {"type":"ARITHMETIC_BASE","status":"NOT COVERED","line":7,"column":17},
 {"type":"CONDITIONALS_BOUNDARY","status":"KILLED","line":17,"column":16},
 {"type":"INCREMENT_DECREMENT","status":"NOT COVERED","line":18,"column":4},
 {"type":"CONDITIONALS_BOUNDARY","status":"NOT COVERED","line":26,"column":9},
 {"type":"CONDITIONALS_BOUNDARY","status":"NOT COVERED","line":28,"column":9}]}]}`

const runAt = "measured: 2026-12-02T00:00:00Z\nrevision: abc1234\nruntime: 1s\nworkers: \"1\"\ntimeoutCoefficient: \"10\"\nload: x\n"

func TestRunUnseen(t *testing.T) {
	root := writeTree(t, module)
	results := writeTree(t, map[string]string{
		"pkg_p.json": gremlinsP,
		"pkg_p.run":  runAt,
		"pkg_q.json": `{"files":[]}`,
		"pkg_q.run":  runAt,
	})
	before := snapshot(t, root)
	// 2 workers, so that two copies share the work; a generous
	// coefficient, so that no mutant times out on a loaded machine
	// (TestGoTestTimesOut has one that does).
	opts := unseenOptions{Root: root, Results: results, Revision: "abc1234", Workers: 2, Coefficient: 30, Log: testLog{t}}
	if err := runUnseen(opts, []string{"pkg/p", "pkg/q"}); err != nil {
		t.Fatal(err)
	}
	got := readUnseen(t, results, "pkg/p")
	want := []unseenMutant{
		{File: "p.go", Line: 4, Column: 16, Type: "ARITHMETIC_BASE", Status: killed},
		{File: "p.go", Line: 7, Column: 17, Type: "ARITHMETIC_BASE", Status: notViable},
		{File: "p.go", Line: 26, Column: 9, Type: "CONDITIONALS_BOUNDARY", Status: killed},
		{File: "p.go", Line: 28, Column: 9, Type: "CONDITIONALS_BOUNDARY", Status: lived},
	}
	if diff := cmp.Diff(want, got.Mutants); diff != "" {
		t.Errorf("unseen mutants (-want +got):\n%s", diff)
	}
	if got.Revision != "abc1234" || got.Workers != 2 || got.TimeoutCoefficient != 30 || got.Baseline == "" || got.Timeout == "" || got.Measured == "" {
		t.Errorf("run not described: %+v", got)
	}
	if q := readUnseen(t, results, "pkg/q"); len(q.Mutants) != 0 || q.Revision != "abc1234" {
		t.Errorf("a package without unseen mutants: %+v, want none run at abc1234", q)
	}
	if diff := cmp.Diff(before, snapshot(t, root)); diff != "" {
		t.Errorf("the measured tree changed (-before +after):\n%s", diff)
	}
}

// TestGoTestTimesOut: a mutant whose tests run past the timeout is TIMED
// OUT, and its run is stopped then, test binary and all.
func TestGoTestTimesOut(t *testing.T) {
	root := writeTree(t, map[string]string{
		"go.mod":                "module example.com/m\n\ngo 1.22\n",
		"pkg/loop/loop_test.go": "package loop\n\nimport \"testing\"\n\nfunc TestForEver(t *testing.T) {\n\tfor {\n\t}\n}\n",
	})
	start := time.Now()
	status, out, err := goTest(context.Background(), root, "pkg/loop", 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if status != timedOut {
		t.Errorf("status %s, want %s; output:\n%s", status, timedOut, out)
	}
	// go test's own -timeout is 2s later still, and would only panic the
	// test binary after 5s; WaitDelay would show as 13s.
	if d := time.Since(start); d > 12*time.Second {
		t.Errorf("took %s to stop", d)
	}
}

// TestRunUnseenRefuses: nothing is run, and nothing written, for results
// that are not of the tree as it is; the other packages still are.
func TestRunUnseenRefuses(t *testing.T) {
	root := writeTree(t, module)
	disagree := strings.Replace(gremlinsP, `"line":26,"column":9`, `"line":26,"column":10`, 1)
	results := writeTree(t, map[string]string{
		"pkg_p.json": gremlinsP,
		"pkg_p.run":  strings.Replace(runAt, "abc1234", "def5678", 1),
		"pkg_r.json": disagree,
		"pkg_r.run":  runAt,
		"pkg_s.json": `{"files":[]}`,
		"pkg_q.json": `{"files":[]}`,
		"pkg_q.run":  runAt,
	})
	// pkg/r is pkg/p under another name, so that its JSON names p.go's
	// positions.
	if err := os.MkdirAll(filepath.Join(root, "pkg", "r"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "pkg", "r", "p.go"), []byte(strings.Replace(module["pkg/p/p.go"], "package p", "package r", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := unseenOptions{Root: root, Results: results, Revision: "abc1234", Workers: 1, Coefficient: 10, Log: testLog{t}}
	err := runUnseen(opts, []string{"pkg/p", "pkg/r", "pkg/s", "pkg/t", "pkg/q"})
	for _, want := range []string{
		`pkg/p: gremlins measured revision "def5678", this is "abc1234"`,
		`pkg/r: pkg/r/p.go:26:10: no operator starts there`,
		`pkg/s: without`,
		`pkg/t: no gremlins results`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
	for _, pkg := range []string{"pkg_p", "pkg_r", "pkg_s", "pkg_t"} {
		if _, err := os.Stat(filepath.Join(results, pkg+".unseen.json")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s.unseen.json written for refused results (%v)", pkg, err)
		}
	}
	if q := readUnseen(t, results, "pkg/q"); q.Revision != "abc1234" {
		t.Errorf("pkg/q, whose results are of this revision, was not run: %+v", q)
	}
	if err := runUnseen(unseenOptions{Root: root, Results: results, Revision: "abc1234", Coefficient: 0, Log: testLog{t}}, []string{"pkg/q"}); err == nil {
		t.Error("a timeout coefficient of 0 was accepted")
	}
}

func readUnseen(t *testing.T, results, pkg string) unseenResults {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(results, strings.ReplaceAll(pkg, "/", "_")+".unseen.json"))
	if err != nil {
		t.Fatal(err)
	}
	var u unseenResults
	if err := json.Unmarshal(data, &u); err != nil {
		t.Fatal(err)
	}
	return u
}

// snapshot is every file under root with its content.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		files[p] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
