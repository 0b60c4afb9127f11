package main

import (
	"encoding/json"
	"os"
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
	if diff := cmp.Diff(want, summarize("pkg/risk", res)); diff != "" {
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
		{name: "a package with neither file was not asked for", pkg: "pkg/transport", skipped: "not asked for in this run"},
		{name: "unreadable results are an error, not a silent skip", pkg: "pkg/unrelated", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := load(dir, tc.pkg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("load: err = %v, want error %v", err, tc.wantErr)
			}
			if rep.Skipped != tc.skipped {
				t.Errorf("Skipped = %q, want %q", rep.Skipped, tc.skipped)
			}
		})
	}
}

func TestRender(t *testing.T) {
	var res result
	if err := json.Unmarshal([]byte(sample), &res); err != nil {
		t.Fatal(err)
	}
	reports := []pkgReport{
		{Pkg: "pkg/exitcode", Killed: 8, Efficacy: 100, Coverage: 100},
		summarize("pkg/risk", res),
		{Pkg: "pkg/probe", Skipped: "the time budget of 60s was spent before this package started"},
	}
	var b strings.Builder
	if err := render(&b, run{Version: "v0.6.0", Workers: "2", Runtime: "75s"}, reports); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, line := range []string{
		"| Tool | gremlins v0.6.0 (hack/tools/gremlins), default mutators |",
		"| Workers | 2 |",
		"| Runtime | 75s |",
	} {
		if !strings.Contains(got, line+"\n") {
			t.Errorf("header lacks %q:\n%s", line, got)
		}
	}
	if strings.Contains(got, "| Load average") {
		t.Errorf("an empty header field is printed:\n%s", got)
	}
	_, tables, ok := strings.Cut(got, "## Per package\n\n")
	if !ok {
		t.Fatalf("no per-package section:\n%s", got)
	}
	want := `| package | killed | lived | not covered | timed out | not viable | efficacy | mutator coverage |
|---|---:|---:|---:|---:|---:|---:|---:|
| ` + "`pkg/exitcode`" + ` | 8 | 0 | 0 | 0 | 0 | 100.00% | 100.00% |
| ` + "`pkg/risk`" + ` | 2 | 2 | 1 | 1 | 1 | 50.00% | 80.00% |
| ` + "`pkg/probe`" + ` | not measured this run | | | | | | |

Not measured this run:

- ` + "`pkg/probe`" + `: the time budget of 60s was spent before this package started

## Surviving mutants

### ` + "`pkg/risk`" + `

| where | mutator | status |
|---|---|---|
| pkg/risk/compact.go:7:2 | CONDITIONALS_NEGATION | LIVED |
| pkg/risk/risk.go:31:5 | ARITHMETIC_BASE | TIMED OUT |
| pkg/risk/risk.go:31:12 | CONDITIONALS_BOUNDARY | LIVED |
`
	if diff := cmp.Diff(want, tables); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
}

func TestRenderNoSurvivors(t *testing.T) {
	var b strings.Builder
	if err := render(&b, run{}, []pkgReport{{Pkg: "pkg/exitcode", Killed: 8, Efficacy: 100, Coverage: 100}}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(b.String(), "## Surviving mutants\n\nNone: every mutant that a test reaches was killed.\n") {
		t.Errorf("no survivors is not said:\n%s", b.String())
	}
}
