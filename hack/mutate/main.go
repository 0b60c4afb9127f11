// Command mutate renders docs/mutation.md from the JSON that gremlins writes
// (`gremlins unleash --output FILE`), one file per package, as hack/mutate.sh
// leaves them in its results directory:
//
//	go run ./hack/mutate -results DIR -o docs/mutation.md pkg/risk pkg/exitcode ...
//
// For each package named, DIR holds pkg_risk.json (a gremlins run) or
// pkg_risk.skipped (one line: why it was not measured); a package with
// neither is reported as not measured this run. It only renders: running
// gremlins, with which flags, is hack/mutate.sh's business.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// result is the part of gremlins' JSON output (internal/report/internal in
// gremlins v0.6.0) that the document uses.
type result struct {
	Files []struct {
		Name      string     `json:"file_name"`
		Mutations []mutation `json:"mutations"`
	} `json:"files"`
	TestEfficacy      float64 `json:"test_efficacy"`
	MutationsCoverage float64 `json:"mutations_coverage"`
}

type mutation struct {
	Type   string `json:"type"`
	Status string `json:"status"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

// Statuses as gremlins spells them (mutator.Status.String).
const (
	killed     = "KILLED"
	lived      = "LIVED"
	notCovered = "NOT COVERED"
	timedOut   = "TIMED OUT"
	notViable  = "NOT VIABLE"
)

// mutant is one mutation that the tests did not catch, located in the
// repository.
type mutant struct {
	File   string // relative to the repository root, slash-separated
	Line   int
	Column int
	Type   string
	Status string
}

// pkgReport is one row of the summary table.
type pkgReport struct {
	Pkg        string
	Skipped    string // why it was not measured; empty when it was
	Killed     int
	Lived      int
	NotCovered int
	TimedOut   int
	NotViable  int
	Efficacy   float64
	Coverage   float64
	Survivors  []mutant // LIVED and TIMED OUT, sorted by position
}

// run describes how the results were obtained, for the document's header.
type run struct {
	Version            string
	Runtime            string
	Workers            string
	TimeoutCoefficient string
	Load               string
}

func main() {
	var (
		results = flag.String("results", "", "directory of gremlins' JSON, one <pkg with / as _>.json per package")
		out     = flag.String("o", "docs/mutation.md", "file to write")
		r       run
	)
	flag.StringVar(&r.Version, "version", "", "gremlins version, for the header")
	flag.StringVar(&r.Runtime, "runtime", "", "wall time of the gremlins runs, for the header")
	flag.StringVar(&r.Workers, "workers", "", "gremlins --workers, for the header")
	flag.StringVar(&r.TimeoutCoefficient, "timeout-coefficient", "", "gremlins --timeout-coefficient, for the header")
	flag.StringVar(&r.Load, "load", "", "load averages at the start and end, for the header")
	flag.Parse()
	if *results == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: go run ./hack/mutate -results DIR [-o FILE] PKG...")
		os.Exit(2)
	}
	if err := write(*results, *out, r, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "hack/mutate:", err)
		os.Exit(1)
	}
}

func write(dir, out string, r run, pkgs []string) error {
	reports := make([]pkgReport, 0, len(pkgs))
	for _, pkg := range pkgs {
		rep, err := load(dir, pkg)
		if err != nil {
			return err
		}
		reports = append(reports, rep)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := render(f, r, reports); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return f.Close()
}

// load reads one package's result from dir.
func load(dir, pkg string) (pkgReport, error) {
	rep := pkgReport{Pkg: pkg}
	base := filepath.Join(dir, strings.ReplaceAll(pkg, "/", "_"))
	data, err := os.ReadFile(base + ".json")
	if errors.Is(err, fs.ErrNotExist) {
		reason, err := os.ReadFile(base + ".skipped")
		switch {
		case errors.Is(err, fs.ErrNotExist):
			rep.Skipped = "not asked for in this run"
		case err != nil:
			return rep, err
		default:
			rep.Skipped = strings.TrimSpace(string(reason))
		}
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	var res result
	if err := json.Unmarshal(data, &res); err != nil {
		return rep, fmt.Errorf("%s.json: %w", base, err)
	}
	return summarize(pkg, res), nil
}

// summarize counts the statuses of one package's mutants. The percentages
// are gremlins' own (efficacy: killed over killed and lived; mutator
// coverage: killed and lived over those and the not covered), so that the
// document and `gremlins unleash` never disagree.
func summarize(pkg string, res result) pkgReport {
	rep := pkgReport{Pkg: pkg, Efficacy: res.TestEfficacy, Coverage: res.MutationsCoverage}
	for _, f := range res.Files {
		// gremlins names files relative to the package it was run on.
		file := path.Join(pkg, filepath.ToSlash(f.Name))
		for _, m := range f.Mutations {
			switch m.Status {
			case killed:
				rep.Killed++
			case lived:
				rep.Lived++
			case notCovered:
				rep.NotCovered++
			case timedOut:
				rep.TimedOut++
			case notViable:
				rep.NotViable++
			}
			if m.Status == lived || m.Status == timedOut {
				rep.Survivors = append(rep.Survivors, mutant{File: file, Line: m.Line, Column: m.Column, Type: m.Type, Status: m.Status})
			}
		}
	}
	sort.Slice(rep.Survivors, func(i, j int) bool {
		a, b := rep.Survivors[i], rep.Survivors[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Type < b.Type
	})
	return rep
}

func render(w io.Writer, r run, reports []pkgReport) error {
	var b strings.Builder
	b.WriteString("# Mutation testing\n\n")
	b.WriteString("<!-- Generated by `make mutate` (hack/mutate.sh, hack/mutate); do not edit by hand, run it again. -->\n\n")
	b.WriteString("Each mutant is a small change to the code (`<` for `<=`, `==` for `!=`, `+` for `-`, ...) that gremlins makes in a copy of the repository before running the package's unit tests (`go test -short`). ")
	b.WriteString("**Killed**: a test failed, so a regression like it would be caught. **Lived**: every test passed; these are listed below, each a change no test notices. ")
	b.WriteString("**Not covered**: no test runs that line, so it was not tried. **Timed out**: the tests took longer than the timeout coefficient times the unmutated run (usually a mutant that makes a loop endless; counted neither killed nor lived). ")
	b.WriteString("**Efficacy** is killed / (killed + lived); **mutator coverage** is (killed + lived) / (killed + lived + not covered). Not part of `make test`: nothing here fails CI; run it before a release.\n\n")

	b.WriteString("## Run\n\n| | |\n|---|---|\n")
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", k, v)
		}
	}
	row("Tool", "gremlins "+r.Version+" (hack/tools/gremlins), default mutators")
	row("Command", "`make mutate` → `hack/mutate.sh`, one `gremlins unleash` per package")
	row("Workers", r.Workers)
	row("Timeout coefficient", r.TimeoutCoefficient)
	row("Load average (1/5/15 min)", r.Load)
	row("Runtime", r.Runtime)
	b.WriteString("\n## Per package\n\n")
	b.WriteString("| package | killed | lived | not covered | timed out | not viable | efficacy | mutator coverage |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	var skipped []pkgReport
	for _, rep := range reports {
		if rep.Skipped != "" {
			skipped = append(skipped, rep)
			fmt.Fprintf(&b, "| `%s` | not measured this run | | | | | | |\n", rep.Pkg)
			continue
		}
		fmt.Fprintf(&b, "| `%s` | %d | %d | %d | %d | %d | %.2f%% | %.2f%% |\n",
			rep.Pkg, rep.Killed, rep.Lived, rep.NotCovered, rep.TimedOut, rep.NotViable, rep.Efficacy, rep.Coverage)
	}
	if len(skipped) > 0 {
		b.WriteString("\nNot measured this run:\n\n")
		for _, rep := range skipped {
			fmt.Fprintf(&b, "- `%s`: %s\n", rep.Pkg, rep.Skipped)
		}
	}

	b.WriteString("\n## Surviving mutants\n\n")
	listed := false
	for _, rep := range reports {
		if len(rep.Survivors) == 0 {
			continue
		}
		listed = true
		fmt.Fprintf(&b, "### `%s`\n\n| where | mutator | status |\n|---|---|---|\n", rep.Pkg)
		for _, m := range rep.Survivors {
			fmt.Fprintf(&b, "| %s:%d:%d | %s | %s |\n", m.File, m.Line, m.Column, m.Type, m.Status)
		}
		b.WriteString("\n")
	}
	if !listed {
		b.WriteString("None: every mutant that a test reaches was killed.\n")
	}
	_, err := io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	return err
}
