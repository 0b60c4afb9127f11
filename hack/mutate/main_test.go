package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sample is gremlins v0.6.0 output trimmed to two files; files come in map
// order, mutants in the order they finished.
const sample = `{"go_module":"github.com/kubectl-access/kubectl-access","files":[
 {"file_name":"risk.go","mutations":[
  {"type":"CONDITIONALS_NEGATION","status":"KILLED","line":40,"column":9},
  {"type":"CONDITIONALS_BOUNDARY","status":"LIVED","line":31,"column":12},
  {"type":"ARITHMETIC_BASE","status":"TIMED OUT","line":31,"column":5},
  {"type":"INCREMENT_DECREMENT","status":"NOT COVERED","line":88,"column":3}]},
 {"file_name":"compact.go","mutations":[
  {"type":"CONDITIONALS_NEGATION","status":"LIVED","line":7,"column":2},
  {"type":"INVERT_NEGATIVES","status":"NOT VIABLE","line":9,"column":4},
  {"type":"CONDITIONALS_NEGATION","status":"KILLED","line":12,"column":6}]}],
 "test_efficacy":50,"mutations_coverage":80,"mutants_total":5,"mutants_killed":2,
 "mutants_lived":2,"mutants_not_viable":1,"mutants_not_covered":1,"elapsed_time":3.5,
 "mutator_statistics":{"conditionals_negation":3}}`

func TestSummarize(t *testing.T) {
	var res result
	if err := json.Unmarshal([]byte(sample), &res); err != nil {
		t.Fatal(err)
	}
	want := pkgReport{
		Pkg: "pkg/risk", Killed: 2, Lived: 2, NotCovered: 1, TimedOut: 1, NotViable: 1,
		Efficacy: 50, Coverage: 80,
		Survivors: []mutant{
			{File: "pkg/risk/compact.go", Line: 7, Column: 2, Type: "CONDITIONALS_NEGATION", Status: "LIVED"},
			{File: "pkg/risk/risk.go", Line: 31, Column: 5, Type: "ARITHMETIC_BASE", Status: "TIMED OUT"},
			{File: "pkg/risk/risk.go", Line: 31, Column: 12, Type: "CONDITIONALS_BOUNDARY", Status: "LIVED"},
		},
	}
	got, err := summarize("pkg/risk", res, nil, noSource(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summarize (-want +got):\n%s", diff)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"pkg_risk.json":       sample,
		"pkg_probe.skipped":   "the time budget of 60s was spent before this package started\n",
		"pkg_exitcode.json":   `{"files":[]}`,
		"pkg_unrelated.json":  `not json`,
		"pkg_transport.other": ``,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, pkg, skipped string
		wantErr            bool
	}{
		{name: "a package with results is measured", pkg: "pkg/risk"},
		{name: "a package with no mutants is measured", pkg: "pkg/exitcode"},
		{name: "a skipped package carries its reason", pkg: "pkg/probe", skipped: "the time budget of 60s was spent before this package started"},
		{name: "a package with neither file has no results", pkg: "pkg/transport", skipped: "no results for it in the results directory"},
		{name: "unreadable results are an error, not a silent skip", pkg: "pkg/unrelated", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := load(dir, tc.pkg, nil, noSource(t))
			if (err != nil) != tc.wantErr {
				t.Fatalf("load: err = %v, want error %v", err, tc.wantErr)
			}
			if rep.Skipped != tc.skipped {
				t.Errorf("Skipped = %q, want %q", rep.Skipped, tc.skipped)
			}
		})
	}
}

// writeTree writes files (slash-separated paths relative to a new
// directory) and returns the directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// noSource is a source tree in which sample's not covered mutant
// (risk.go:88:3) is an ordinary statement.
func noSource(t *testing.T) *unseenIn {
	root := writeTree(t, map[string]string{"pkg/risk/risk.go": "package risk\n" + strings.Repeat("\n", 100)})
	return &unseenIn{root: root, files: map[string]*unseen{}}
}

// source is a small file with each kind of position; the comments give the
// columns of the operators.
const source = `package risk

const limit = 2 * 3

var g = func(a int) int { return a - 1 }

func f(a, b int) int {
	switch {
	case a < b:
		return a - b
	}
	return limit
}
`

func TestUnseen(t *testing.T) {
	root := writeTree(t, map[string]string{"pkg/risk/risk.go": source})
	src := &unseenIn{root: root, files: map[string]*unseen{}}
	cases := []struct {
		name         string
		line, column int
		want         bool
	}{
		{name: "a package-level const", line: 3, column: 17, want: true},
		{name: "a package-level var", line: 5, column: 9, want: true},
		{name: "a function literal's body in a package-level var", line: 5, column: 36, want: false},
		{name: "a switch's case expression", line: 9, column: 9, want: true},
		{name: "a statement in a case body", line: 10, column: 12, want: false},
		{name: "the function's first line", line: 7, column: 1, want: false},
		{name: "a line past the end", line: 99, column: 1, want: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := src.contains("pkg/risk/risk.go", tc.line, tc.column)
			if err != nil || got != tc.want {
				t.Errorf("contains(%d, %d) = %v, %v; want %v", tc.line, tc.column, got, err, tc.want)
			}
		})
	}
	if _, err := src.contains("pkg/risk/missing.go", 1, 1); err == nil {
		t.Error("a missing source file is no error")
	}
}

func TestCovers(t *testing.T) {
	const line = "\tcase a < b && a < c:"
	cases := []struct {
		name, code string
		column     int
		want       bool
	}{
		{name: "the fragment across the column", code: "a < b", column: 9, want: true},
		{name: "the column at the fragment's first byte", code: "< b", column: 9, want: true},
		{name: "the column at the fragment's last byte", code: "a <", column: 9, want: true},
		{name: "the column just before the fragment", code: "< b", column: 8, want: false},
		{name: "the column just after the fragment", code: "a <", column: 10, want: false},
		{name: "a second occurrence across the column", code: "a <", column: 18, want: true},
		{name: "a fragment not on the line", code: "a > b", column: 9, want: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := covers(line, tc.code, tc.column); got != tc.want {
				t.Errorf("covers(%q, %q, %d) = %v, want %v", line, tc.code, tc.column, got, tc.want)
			}
		})
	}
}

func TestCheckEquivalents(t *testing.T) {
	root := writeTree(t, map[string]string{"pkg/risk/risk.go": source})
	fresh := equivalent{File: "pkg/risk/risk.go", Line: 9, Column: 9, Mutator: "CONDITIONALS_BOUNDARY", Code: "a < b", Reason: "r"}
	moved := fresh
	moved.Line = 10
	gone := fresh
	gone.Line = 40
	missing := fresh
	missing.File = "pkg/risk/missing.go"
	errs := checkEquivalents(root, []equivalent{fresh, moved, gone, missing})
	var got []string
	for _, err := range errs {
		got = append(got, err.Error())
	}
	want := []string{
		`pkg/risk/risk.go:10:9 CONDITIONALS_BOUNDARY: the line no longer reads "a < b" there; look at the mutant again and update hack/mutate/equivalent.yaml`,
		`pkg/risk/risk.go:40:9 CONDITIONALS_BOUNDARY: the line no longer reads "a < b" there; look at the mutant again and update hack/mutate/equivalent.yaml`,
	}
	if len(got) != 3 || !strings.HasPrefix(got[2], "pkg/risk/missing.go:9:9 CONDITIONALS_BOUNDARY: open ") {
		t.Fatalf("errors = %q, want two stale entries and one missing file", got)
	}
	if diff := cmp.Diff(want, got[:2]); diff != "" {
		t.Errorf("stale entries (-want +got):\n%s", diff)
	}
}

func TestLoadEquivalents(t *testing.T) {
	dir := t.TempDir()
	write := func(content string) string {
		p := filepath.Join(dir, "equivalent.yaml")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if eqs, err := loadEquivalents(filepath.Join(dir, "none.yaml")); err != nil || eqs != nil {
		t.Errorf("a missing file = %v, %v; want none declared", eqs, err)
	}
	eqs, err := loadEquivalents(write("- {file: pkg/a/a.go, line: 3, column: 4, mutator: M, code: x, reason: why}\n"))
	if diff := cmp.Diff([]equivalent{{File: "pkg/a/a.go", Line: 3, Column: 4, Mutator: "M", Code: "x", Reason: "why"}}, eqs); err != nil || diff != "" {
		t.Errorf("loadEquivalents = %v (-want +got):\n%s", err, diff)
	}
	for _, bad := range []string{
		"- {file: pkg/a/a.go, line: 3, column: 4, mutator: M, code: x}\n",
		"- {file: pkg/a/a.go, line: 3, column: 4, mutator: M, code: x, reason: why, extra: 1}\n",
	} {
		if _, err := loadEquivalents(write(bad)); err == nil {
			t.Errorf("loadEquivalents(%q) accepted it", bad)
		}
	}
}

// TestEquivalentFileIsCurrent: every declared equivalent still points at
// the code it was written for, so the list cannot silently excuse a new
// mutant after an edit.
func TestEquivalentFileIsCurrent(t *testing.T) {
	eqs, err := loadEquivalents("equivalent.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(eqs) == 0 {
		t.Fatal("hack/mutate/equivalent.yaml declares nothing")
	}
	for _, err := range checkEquivalents(filepath.Join("..", ".."), eqs) {
		t.Error(err)
	}
}

// measured is gremlins output for pkg/risk/risk.go (source above): one
// killed, a lived declared equivalent, a lived not declared, a case
// expression and an ordinary statement not covered.
const measured = `{"files":[{"file_name":"risk.go","mutations":[
  {"type":"ARITHMETIC_BASE","status":"KILLED","line":12,"column":9},
  {"type":"CONDITIONALS_BOUNDARY","status":"LIVED","line":9,"column":9},
  {"type":"CONDITIONALS_NEGATION","status":"LIVED","line":9,"column":9},
  {"type":"ARITHMETIC_BASE","status":"NOT COVERED","line":10,"column":12},
  {"type":"ARITHMETIC_BASE","status":"NOT COVERED","line":3,"column":17}]}],
 "test_efficacy":33.33,"mutations_coverage":60}`

func TestSummarizeEquivalentAndUnseen(t *testing.T) {
	root := writeTree(t, map[string]string{"pkg/risk/risk.go": source})
	var res result
	if err := json.Unmarshal([]byte(measured), &res); err != nil {
		t.Fatal(err)
	}
	eqs := []equivalent{
		{File: "pkg/risk/risk.go", Line: 9, Column: 9, Mutator: "CONDITIONALS_BOUNDARY", Code: "a < b", Reason: "a equals b nowhere"},
		{File: "pkg/risk/risk.go", Line: 10, Column: 12, Mutator: "ARITHMETIC_BASE", Code: "a - b", Reason: "not lived, so unused"},
		{File: "pkg/other/other.go", Line: 1, Column: 1, Mutator: "X", Code: "x", Reason: "another package's"},
	}
	got, err := summarize("pkg/risk", res, eqs, &unseenIn{root: root, files: map[string]*unseen{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := pkgReport{
		Pkg: "pkg/risk", Killed: 1, Lived: 2, NotCovered: 2, Efficacy: float64(1) / 3 * 100, Coverage: 60,
		Equivalent: 1, Unseen: 1,
		Survivors: []mutant{
			{File: "pkg/risk/risk.go", Line: 9, Column: 9, Type: "CONDITIONALS_BOUNDARY", Status: "LIVED", Equivalent: "a equals b nowhere"},
			{File: "pkg/risk/risk.go", Line: 9, Column: 9, Type: "CONDITIONALS_NEGATION", Status: "LIVED"},
		},
		Unused: eqs[1:2],
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summarize (-want +got):\n%s", diff)
	}
	// 1 killed of 1 + 2 - 1; 3 tried of 3 + 2 - 1.
	if e, c := got.adjustedEfficacy(), got.adjustedCoverage(); e != 50 || c != 75 {
		t.Errorf("adjusted efficacy %v, coverage %v; want 50, 75", e, c)
	}
}

// TestSummarizeRanUnseen: an unseen mutant that hack/mutate ran counts
// under its status, in the raw figures too, and a lived one is a survivor
// like gremlins' own, subject to the declared equivalents.
func TestSummarizeRanUnseen(t *testing.T) {
	root := writeTree(t, map[string]string{"pkg/risk/risk.go": source})
	var res result
	if err := json.Unmarshal([]byte(measured), &res); err != nil {
		t.Fatal(err)
	}
	src := func() *unseenIn { return &unseenIn{root: root, files: map[string]*unseen{}} }
	ran := &unseenResults{Revision: "abc1234", Mutants: []unseenMutant{{File: "risk.go", Line: 3, Column: 17, Type: "ARITHMETIC_BASE", Status: lived}}}
	eqs := []equivalent{{File: "pkg/risk/risk.go", Line: 3, Column: 17, Mutator: "ARITHMETIC_BASE", Code: "2 * 3", Reason: "six either way"}}
	got, err := summarize("pkg/risk", res, eqs, src(), ran)
	if err != nil {
		t.Fatal(err)
	}
	want := pkgReport{
		Pkg: "pkg/risk", Killed: 1, Lived: 3, NotCovered: 1, Efficacy: 25, Coverage: 80,
		Equivalent: 1, Ran: 1, UnseenRun: ran,
		Survivors: []mutant{
			{File: "pkg/risk/risk.go", Line: 3, Column: 17, Type: "ARITHMETIC_BASE", Status: "LIVED", Equivalent: "six either way", Ran: true},
			{File: "pkg/risk/risk.go", Line: 9, Column: 9, Type: "CONDITIONALS_BOUNDARY", Status: "LIVED"},
			{File: "pkg/risk/risk.go", Line: 9, Column: 9, Type: "CONDITIONALS_NEGATION", Status: "LIVED"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summarize (-want +got):\n%s", diff)
	}
	// 1 killed of 1 + 3 - 1; 4 tried of 4 + 1 - 0.
	if e, c := fmt.Sprintf("%.2f", got.adjustedEfficacy()), got.adjustedCoverage(); e != "33.33" || c != 80 {
		t.Errorf("adjusted efficacy %v, coverage %v; want 33.33, 80", e, c)
	}

	killedRun := &unseenResults{Mutants: []unseenMutant{{File: "risk.go", Line: 3, Column: 17, Type: "ARITHMETIC_BASE", Status: killed}}}
	if got, err := summarize("pkg/risk", res, nil, src(), killedRun); err != nil || got.Killed != 2 || got.Ran != 1 || got.Unseen != 0 || got.NotCovered != 1 || got.Efficacy != 50 {
		t.Errorf("a killed unseen mutant: %+v, %v; want 2 killed, 1 run, 1 not covered, 50%% efficacy", got, err)
	}

	for name, m := range map[string]unseenMutant{
		"a mutant gremlins ran":                   {File: "risk.go", Line: 12, Column: 9, Type: "ARITHMETIC_BASE", Status: killed},
		"a mutant gremlins did not report":        {File: "risk.go", Line: 3, Column: 17, Type: "CONDITIONALS_NEGATION", Status: killed},
		"a not covered mutant that is not unseen": {File: "risk.go", Line: 10, Column: 12, Type: "ARITHMETIC_BASE", Status: killed},
	} {
		if _, err := summarize("pkg/risk", res, nil, src(), &unseenResults{Mutants: []unseenMutant{m}}); err == nil {
			t.Errorf("%s in the unseen results was accepted", name)
		}
	}
}

// TestLoadUnseen: PKG.unseen.json counts when it is of gremlins' revision,
// and is set aside, saying so, when it is not.
func TestLoadUnseen(t *testing.T) {
	srcRoot := writeTree(t, map[string]string{"pkg/risk/risk.go": source})
	unseenJSON := `{"revision":"%s","measured":"2026-12-02T01:00:00Z","mutants":[{"file_name":"risk.go","line":3,"column":17,"type":"ARITHMETIC_BASE","status":"KILLED"}]}`
	dir := writeTree(t, map[string]string{
		"pkg_risk.json":        measured,
		"pkg_risk.run":         runAt,
		"pkg_risk.unseen.json": fmt.Sprintf(unseenJSON, "abc1234"),
	})
	rep, err := load(dir, "pkg/risk", nil, &unseenIn{root: srcRoot, files: map[string]*unseen{}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ran != 1 || rep.Killed != 2 || rep.UnseenRun == nil || rep.UnseenNote != "" || rep.Run.Revision != "abc1234" {
		t.Errorf("unseen results of the same revision: %+v", rep)
	}
	if err := os.WriteFile(filepath.Join(dir, "pkg_risk.unseen.json"), []byte(fmt.Sprintf(unseenJSON, "def5678")), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err = load(dir, "pkg/risk", nil, &unseenIn{root: srcRoot, files: map[string]*unseen{}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ran != 0 || rep.Killed != 1 || rep.Unseen != 1 || rep.UnseenRun != nil || rep.UnseenNote != `results of revision "def5678" ignored: gremlins measured "abc1234"` {
		t.Errorf("unseen results of another revision: %+v", rep)
	}
	if err := os.WriteFile(filepath.Join(dir, "pkg_risk.unseen.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := load(dir, "pkg/risk", nil, &unseenIn{root: srcRoot, files: map[string]*unseen{}}); err == nil {
		t.Error("unreadable unseen results were accepted")
	}
}

// TestRawFiguresAreGremlins: with nothing run by hack/mutate, the raw
// figures are those gremlins reported.
func TestRawFiguresAreGremlins(t *testing.T) {
	var res result
	if err := json.Unmarshal([]byte(sample), &res); err != nil {
		t.Fatal(err)
	}
	got, err := summarize("pkg/risk", res, nil, noSource(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Efficacy != res.TestEfficacy || got.Coverage != res.MutationsCoverage {
		t.Errorf("efficacy %v, coverage %v; gremlins said %v, %v", got.Efficacy, got.Coverage, res.TestEfficacy, res.MutationsCoverage)
	}
	none, err := summarize("pkg/risk", result{}, nil, noSource(t), nil)
	if err != nil || none.Efficacy != 0 || none.Coverage != 0 {
		t.Errorf("no mutants: efficacy %v, coverage %v (%v); gremlins says 0, 0", none.Efficacy, none.Coverage, err)
	}
}

func TestTarget(t *testing.T) {
	cases := []struct {
		name string
		rep  pkgReport
		want string
	}{
		{"both raw figures at the target", pkgReport{Killed: 9, Lived: 1, NotCovered: 1, Efficacy: 90, Coverage: 90.9}, "met (raw)"},
		{"raw efficacy just under", pkgReport{Killed: 89, Lived: 11, Efficacy: 89, Coverage: 100}, "**not met**"},
		{"raw coverage just under, exactly 85% without the unseen", pkgReport{Killed: 85, NotCovered: 16, Unseen: 1, Efficacy: 100, Coverage: 84.16}, "met (adjusted only)"},
		{"equivalents make it", pkgReport{Killed: 89, Lived: 11, Equivalent: 2, Efficacy: 89, Coverage: 100}, "met (adjusted only)"},
		{"even adjusted, short", pkgReport{Killed: 80, Lived: 20, Equivalent: 1, Efficacy: 80, Coverage: 100}, "**not met**"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rep.target(); got != tc.want {
				t.Errorf("target() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLoadRun(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"pkg_exitcode.json": `{"files":[]}`,
		"pkg_exitcode.run":  "measured: 2026-12-01T23:00:00Z\nrevision: abc1234\nruntime: 12s\nworkers: \"1\"\ntimeoutCoefficient: \"10\"\nload: 1 2 3\n",
		"pkg_risk.json":     `{"files":[]}`,
		"pkg_risk.run":      "measured: x\nunknown: y\n",
	})
	rep, err := load(dir, "pkg/exitcode", nil, noSource(t))
	if err != nil {
		t.Fatal(err)
	}
	want := pkgRun{Measured: "2026-12-01T23:00:00Z", Revision: "abc1234", Runtime: "12s", Workers: "1", TimeoutCoefficient: "10", Load: "1 2 3"}
	if diff := cmp.Diff(want, rep.Run); diff != "" {
		t.Errorf("run (-want +got):\n%s", diff)
	}
	if _, err := load(dir, "pkg/risk", nil, noSource(t)); err == nil {
		t.Error("a .run file with an unknown field was accepted")
	}
}

func TestRender(t *testing.T) {
	reports := []pkgReport{
		{Pkg: "pkg/exitcode", Killed: 8, Efficacy: 100, Coverage: 100,
			Run: pkgRun{Measured: "2026-12-01T23:00:00Z", Revision: "abc1234", Runtime: "12s", Workers: "1", TimeoutCoefficient: "10", Load: "1 2 3"}},
		{Pkg: "pkg/risk", Killed: 1, Lived: 2, NotCovered: 2, Efficacy: 33.33, Coverage: 60, Equivalent: 1, Unseen: 1, Ran: 1,
			UnseenRun: &unseenResults{Measured: "2026-12-02T01:00:00Z", Revision: "abc1234", Runtime: "9s", Workers: 1, Baseline: "1.5s", Timeout: "15s", Mutants: make([]unseenMutant, 1)},
			Survivors: []mutant{
				{File: "pkg/risk/risk.go", Line: 3, Column: 17, Type: "ARITHMETIC_BASE", Status: "LIVED", Ran: true},
				{File: "pkg/risk/risk.go", Line: 7, Column: 9, Type: "CONDITIONALS_BOUNDARY", Status: "LIVED", Equivalent: "a equals b nowhere"},
				{File: "pkg/risk/risk.go", Line: 7, Column: 9, Type: "CONDITIONALS_NEGATION", Status: "LIVED"},
				{File: "pkg/risk/risk.go", Line: 9, Column: 2, Type: "ARITHMETIC_BASE", Status: "TIMED OUT"},
			},
			Unused: []equivalent{{File: "pkg/risk/risk.go", Line: 8, Column: 12, Mutator: "ARITHMETIC_BASE"}}},
		{Pkg: "pkg/probe", Skipped: "the time budget of 60s was spent before this package started"},
		{Pkg: "pkg/subject", Killed: 3, Efficacy: 100, Coverage: 100, UnseenNote: `results of revision "def5678" ignored: gremlins measured "abc1234"`},
	}
	var b strings.Builder
	if err := render(&b, "v0.6.0", reports); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	if !strings.Contains(got, "| Tool | gremlins v0.6.0 (hack/tools/gremlins), default mutators |\n") {
		t.Errorf("header lacks the tool:\n%s", got)
	}
	_, tables, ok := strings.Cut(got, "## Per package\n\n")
	if !ok {
		t.Fatalf("no per-package section:\n%s", got)
	}
	want := "| package | killed | lived | equivalent | not covered | unseen | timed out | not viable | run by hack/mutate | efficacy raw | adjusted | mutator coverage raw | adjusted | target |\n" +
		"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n" +
		"| `pkg/exitcode` | 8 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 100.00% | 100.00% | 100.00% | 100.00% | met (raw) |\n" +
		"| `pkg/risk` | 1 | 2 | 1 | 2 | 1 | 0 | 0 | 1 | 33.33% | 50.00% | 60.00% | 75.00% | **not met** |\n" +
		"| `pkg/probe` | not measured | | | | | | | | | | | | |\n" +
		"| `pkg/subject` | 3 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 100.00% | 100.00% | 100.00% | 100.00% | met (raw) |\n" + `
Not measured:

- ` + "`pkg/probe`" + `: the time budget of 60s was spent before this package started

## When each was measured

Packages may come from separate runs (hack/mutate.sh keeps each package's results in ` + "`MUTATE_RESULTS`" + `); each row is its own run. **Files now** compares the package's files (code and tests) at the revision measured with the tree this document was rendered from (` + "`git diff`" + `): "unchanged" means the result describes the code as it is.

| package | measured (UTC) | revision | files now | runtime | workers | timeout coefficient | load average (1/5/15 min) at the start and end |
|---|---|---|---|---|---:|---:|---|
| ` + "`pkg/exitcode`" + ` | 2026-12-01T23:00:00Z | abc1234 |  | 12s | 1 | 10 | 1 2 3 |
| ` + "`pkg/risk`" + ` | unknown (no .run file) | | | | | | |
| ` + "`pkg/subject`" + ` | unknown (no .run file) | | | | | | |

How hack/mutate ran each package's unseen mutants: one at a time per worker, each timed out at the timeout coefficient times the unmutated run of the package's tests shown here.

| package | unseen mutants run | measured (UTC) | revision | runtime | workers | unmutated run | timeout |
|---|---:|---|---|---|---:|---|---|
| ` + "`pkg/exitcode`" + ` | not run | | | | | | |
| ` + "`pkg/risk`" + ` | 1 | 2026-12-02T01:00:00Z | abc1234 | 9s | 1 | 1.5s | 15s |
| ` + "`pkg/subject`" + ` | results of revision "def5678" ignored: gremlins measured "abc1234" | | | | | | |

## Surviving mutants

### ` + "`pkg/risk`" + `

| where | mutator | status |
|---|---|---|
| pkg/risk/risk.go:3:17 | ARITHMETIC_BASE | LIVED, run by hack/mutate |
| pkg/risk/risk.go:7:9 | CONDITIONALS_BOUNDARY | lived (equivalent: a equals b nowhere) |
| pkg/risk/risk.go:7:9 | CONDITIONALS_NEGATION | LIVED |
| pkg/risk/risk.go:9:2 | ARITHMETIC_BASE | TIMED OUT |

Declared equivalent, but not lived in this run (killed, or no longer mutated there): remove from hack/mutate/equivalent.yaml:

- pkg/risk/risk.go:8:12 ARITHMETIC_BASE
`
	if diff := cmp.Diff(want, tables); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
}

func TestRenderNoSurvivors(t *testing.T) {
	var b strings.Builder
	if err := render(&b, "v0.6.0", []pkgReport{{Pkg: "pkg/exitcode", Killed: 8, Efficacy: 100, Coverage: 100}}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(b.String(), "## Surviving mutants\n\nNone: every mutant that a test reaches was killed.\n") {
		t.Errorf("no survivors is not said:\n%s", b.String())
	}
}

// TestFilesSince: a package's files are compared, by git, between the
// revision measured and the tree rendered from.
func TestFilesSince(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	for _, f := range []string{"pkg/a/a.go", "pkg/b/b.go"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte("package x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("add", ".")
	git("commit", "-qm", "one")
	rev := git("rev-parse", "--short", "HEAD")
	if err := os.WriteFile(filepath.Join(dir, "pkg/b/b_test.go"), []byte("package x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", ".")
	for pkg, want := range map[string]string{"pkg/a": "unchanged", "pkg/b": "**changed since**"} {
		if got := filesSince(dir, rev, pkg); got != want {
			t.Errorf("filesSince(%s) = %q, want %q", pkg, got, want)
		}
	}
	if got := filesSince(dir, rev+" with uncommitted changes", "pkg/a"); !strings.HasPrefix(got, "unknown") {
		t.Errorf("a revision with uncommitted changes: %q, want unknown", got)
	}
	if got := filesSince(dir, "0000000", "pkg/a"); !strings.HasPrefix(got, "unknown") {
		t.Errorf("a revision git does not know: %q, want unknown", got)
	}
}
