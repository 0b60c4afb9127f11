// Command mutate renders docs/mutation.md from the JSON that gremlins writes
// (`gremlins unleash --output FILE`), one file per package, as hack/mutate.sh
// leaves them in its results directory:
//
//	go run ./hack/mutate -results DIR -o docs/mutation.md pkg/risk pkg/exitcode ...
//
// For each package named, DIR holds pkg_risk.json (a gremlins run) and
// pkg_risk.run (when, at which revision and how it was measured), or
// pkg_risk.skipped (one line: why it was not measured); a package with
// neither has no results there, and pkg_risk.unseen.json when the unseen
// mutants of that run were run too (-run-unseen, below): they count with
// gremlins' own. Results of separate runs render together, each with its
// own date. Lived mutants declared in
// hack/mutate/equivalent.yaml are shown with their reason and counted apart,
// and the entries' fingerprints are checked against the source (run it from
// the repository root). It only renders: running gremlins, with which flags,
// is hack/mutate.sh's business.
//
// With -run-unseen it runs instead the mutants gremlins cannot run (see
// unseen and runUnseen) and writes PKG.unseen.json beside PKG.json, which
// the rendering then counts with gremlins' own:
//
//	go run ./hack/mutate -run-unseen -results DIR -revision REV [-workers N] [-timeout-coefficient C] PKG...
package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
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
	// Equivalent is the reason from hack/mutate/equivalent.yaml when the
	// mutant is LIVED and declared equivalent there.
	Equivalent string
	// Ran says hack/mutate ran it (an unseen mutant), not gremlins.
	Ran bool
}

// pkgReport is one row of the summary table.
type pkgReport struct {
	Pkg        string
	Skipped    string // why it was not measured; empty when it was
	Run        pkgRun
	Killed     int
	Lived      int
	NotCovered int
	TimedOut   int
	NotViable  int
	Efficacy   float64
	Coverage   float64
	// Equivalent counts the LIVED mutants declared equivalent.
	Equivalent int
	// Unseen counts the NOT COVERED mutants at positions gremlins never
	// counts as covered (see unseen) that hack/mutate did not run either.
	Unseen int
	// Ran counts the unseen mutants that hack/mutate ran (PKG.unseen.json),
	// each counted under the status it found instead of NOT COVERED.
	Ran int
	// UnseenRun is how they were run; UnseenNote, when set, why they were
	// not (or not counted).
	UnseenRun  *unseenResults
	UnseenNote string
	Survivors  []mutant // LIVED and TIMED OUT, sorted by position
	// Unused are the declared equivalents in this package that did not
	// live this run.
	Unused []equivalent
	// Now says whether the package's files (code and tests) are still
	// those of the revision measured, in the tree rendered from:
	// "unchanged", "changed since", or why it is not known.
	Now string
}

// pkgRun is how one package was measured: hack/mutate.sh writes it beside
// the package's JSON (pkg_risk.run), so that results of separate runs can
// be rendered together and each says when and where it was measured.
type pkgRun struct {
	Measured           string `json:"measured"`
	Revision           string `json:"revision"`
	Runtime            string `json:"runtime"`
	Workers            string `json:"workers"`
	TimeoutCoefficient string `json:"timeoutCoefficient"`
	Load               string `json:"load"`
}

// Targets of issue #18.
const (
	targetEfficacy = 90.0
	targetCoverage = 85.0
)

func main() {
	var (
		results = flag.String("results", "", "directory of gremlins' JSON, one <pkg with / as _>.json per package")
		out     = flag.String("o", "docs/mutation.md", "file to write")
		eqFile  = flag.String("equivalent", "hack/mutate/equivalent.yaml", "declared equivalent mutants")
		version = flag.String("version", "", "gremlins version, for the header")

		runUnseenFlag = flag.Bool("run-unseen", false, "run the unseen mutants of the packages' gremlins results instead of rendering")
		revision      = flag.String("revision", "", "with -run-unseen: the revision of the tree, as hack/mutate.sh names it; results of another are refused")
		workers       = flag.Int("workers", 1, "with -run-unseen: mutants run at once")
		coefficient   = flag.Int("timeout-coefficient", 10, "with -run-unseen: a mutant times out at this times the unmutated run")
	)
	flag.Parse()
	if *results == "" || flag.NArg() == 0 || (*runUnseenFlag && *revision == "") {
		fmt.Fprintln(os.Stderr, "usage: go run ./hack/mutate -results DIR [-o FILE] [-equivalent FILE] PKG...")
		fmt.Fprintln(os.Stderr, "       go run ./hack/mutate -run-unseen -results DIR -revision REV [-workers N] [-timeout-coefficient C] PKG...")
		os.Exit(2)
	}
	if *runUnseenFlag {
		opts := unseenOptions{Root: ".", Results: *results, Revision: *revision, Workers: *workers, Coefficient: *coefficient, Log: os.Stderr}
		if err := runUnseen(opts, flag.Args()); err != nil {
			os.Exit(1)
		}
		return
	}
	if err := write(*results, *out, *eqFile, *version, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "hack/mutate:", err)
		os.Exit(1)
	}
}

func write(dir, out, eqFile, version string, pkgs []string) error {
	eqs, err := loadEquivalents(eqFile)
	if err != nil {
		return err
	}
	// A stale entry would excuse a mutant nobody looked at: refuse to
	// render until it is looked at again.
	if errs := checkEquivalents(".", eqs); len(errs) > 0 {
		return errors.Join(errs...)
	}
	src := &unseenIn{root: ".", files: map[string]*unseen{}}
	reports := make([]pkgReport, 0, len(pkgs))
	for _, pkg := range pkgs {
		rep, err := load(dir, pkg, eqs, src)
		if err != nil {
			return err
		}
		if rep.Run.Revision != "" {
			rep.Now = filesSince(".", rep.Run.Revision, pkg)
		}
		reports = append(reports, rep)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := render(f, version, reports); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return f.Close()
}

// filesSince says whether pkg's files in the tree at root are those of
// revision rev, as git sees them (uncommitted changes included), so that a
// result measured at an older revision says whether it still describes
// the code.
func filesSince(root, rev, pkg string) string {
	if strings.HasSuffix(rev, " with uncommitted changes") {
		return "unknown: measured with uncommitted changes"
	}
	err := exec.Command("git", "-C", root, "diff", "--quiet", rev, "--", pkg).Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return "unchanged"
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return "**changed since**"
	}
	return "unknown: " + err.Error()
}

// load reads one package's result from dir.
func load(dir, pkg string, eqs []equivalent, src *unseenIn) (pkgReport, error) {
	rep := pkgReport{Pkg: pkg}
	base := filepath.Join(dir, strings.ReplaceAll(pkg, "/", "_"))
	data, err := os.ReadFile(base + ".json")
	if errors.Is(err, fs.ErrNotExist) {
		reason, err := os.ReadFile(base + ".skipped")
		switch {
		case errors.Is(err, fs.ErrNotExist):
			rep.Skipped = "no results for it in the results directory"
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
	var run pkgRun
	meta, err := os.ReadFile(base + ".run")
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return rep, err
	default:
		if err := yaml.UnmarshalStrict(meta, &run); err != nil {
			return rep, fmt.Errorf("%s.run: %w", base, err)
		}
	}
	ran, note, err := loadUnseen(base, run)
	if err != nil {
		return rep, err
	}
	rep, err = summarize(pkg, res, eqs, src, ran)
	if err != nil {
		return rep, err
	}
	rep.Run = run
	if rep.UnseenRun == nil {
		rep.UnseenNote = note
	}
	return rep, nil
}

// loadUnseen reads PKG.unseen.json, the unseen mutants hack/mutate ran,
// if there is one of the revision gremlins measured; otherwise it returns
// nil and says why none are counted.
func loadUnseen(base string, run pkgRun) (*unseenResults, string, error) {
	data, err := os.ReadFile(base + ".unseen.json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	var u unseenResults
	if err := json.Unmarshal(data, &u); err != nil {
		return nil, "", fmt.Errorf("%s.unseen.json: %w", base, err)
	}
	if u.Revision != run.Revision {
		return nil, fmt.Sprintf("results of revision %q ignored: gremlins measured %q", u.Revision, run.Revision), nil
	}
	return &u, "", nil
}

// summarize counts the statuses of one package's mutants: gremlins' own,
// and, for the unseen mutants hack/mutate ran (ran, when not nil), the
// status it found. The raw percentages are computed as gremlins computes
// them (efficacy: killed over killed and lived; mutator coverage: killed
// and lived over those and the not covered), so that they are gremlins'
// own when hack/mutate ran nothing; the adjusted ones (efficacy and
// coverage methods) leave out the declared equivalents and the unseen
// positions that were not run.
func summarize(pkg string, res result, eqs []equivalent, src *unseenIn, ran *unseenResults) (pkgReport, error) {
	rep := pkgReport{Pkg: pkg, UnseenRun: ran}
	runStatus := map[string]string{}
	if ran != nil {
		for _, m := range ran.Mutants {
			runStatus[m.key()] = m.Status
		}
	}
	declared := map[string]equivalent{}
	for _, e := range eqs {
		if path.Dir(e.File) == pkg {
			declared[e.key()] = e
		}
	}
	used := map[string]bool{}
	for _, f := range res.Files {
		// gremlins names files relative to the package it was run on.
		file := path.Join(pkg, filepath.ToSlash(f.Name))
		for _, m := range f.Mutations {
			status, byUs := "", false
			if m.Status == notCovered {
				in, err := src.contains(file, m.Line, m.Column)
				if err != nil {
					return rep, err
				}
				k := unseenMutant{File: f.Name, Line: m.Line, Column: m.Column, Type: m.Type}.key()
				if status, byUs = runStatus[k]; byUs {
					if !in {
						return rep, fmt.Errorf("%s: %s is in the unseen results but not at an unseen position", pkg, k)
					}
					delete(runStatus, k)
					m.Status = status
					rep.Ran++
				} else if in {
					rep.Unseen++
				}
			}
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
				s := mutant{File: file, Line: m.Line, Column: m.Column, Type: m.Type, Status: m.Status, Ran: byUs}
				if e, ok := declared[equivalent{File: file, Line: m.Line, Column: m.Column, Mutator: m.Type}.key()]; ok && m.Status == lived {
					s.Equivalent = e.Reason
					used[e.key()] = true
					rep.Equivalent++
				}
				rep.Survivors = append(rep.Survivors, s)
			}
		}
	}
	// What is left was not a NOT COVERED mutant of this gremlins run:
	// the two files are not of one measurement.
	if len(runStatus) > 0 {
		left := make([]string, 0, len(runStatus))
		for k := range runStatus {
			left = append(left, k)
		}
		sort.Strings(left)
		return rep, fmt.Errorf("%s: the unseen results name mutants that gremlins did not report NOT COVERED: %s", pkg, strings.Join(left, ", "))
	}
	rep.Efficacy = gremlinsPercent(rep.Killed, rep.Killed, rep.Killed+rep.Lived)
	rep.Coverage = gremlinsPercent(rep.Killed+rep.Lived, rep.Killed+rep.Lived, rep.Killed+rep.Lived+rep.NotCovered)
	for _, e := range eqs {
		if path.Dir(e.File) == pkg && !used[e.key()] {
			rep.Unused = append(rep.Unused, e)
		}
	}
	slices.SortFunc(rep.Survivors, func(a, b mutant) int {
		return byPosition(a.File, a.Line, a.Column, a.Type, b.File, b.Line, b.Column, b.Type)
	})
	return rep, nil
}

// byPosition orders mutants by file, line, column, then mutator.
func byPosition(fileA string, lineA, colA int, typeA string, fileB string, lineB, colB int, typeB string) int {
	return cmp.Or(strings.Compare(fileA, fileB), cmp.Compare(lineA, lineB), cmp.Compare(colA, colB), strings.Compare(typeA, typeB))
}

// adjustedEfficacy is killed over killed and the lived that are not
// declared equivalent.
func (r pkgReport) adjustedEfficacy() float64 {
	return percent(r.Killed, r.Killed+r.Lived-r.Equivalent)
}

// adjustedCoverage is killed and lived over those and the not covered that
// gremlins could have seen.
func (r pkgReport) adjustedCoverage() float64 {
	return percent(r.Killed+r.Lived, r.Killed+r.Lived+r.NotCovered-r.Unseen)
}

// gremlinsPercent is n over of, as gremlins reports it (newReport in
// internal/report): 0 unless guard is positive.
func gremlinsPercent(guard, n, of int) float64 {
	if guard <= 0 {
		return 0
	}
	return float64(n) / float64(of) * 100
}

// orNone is s, or "none" for a step that had nothing to run.
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func percent(n, of int) float64 {
	if of == 0 {
		return 100
	}
	return 100 * float64(n) / float64(of)
}

// target says whether the package meets issue #18's targets on gremlins'
// own numbers, only once the declared equivalents and the unseen positions
// are left out, or not at all.
func (r pkgReport) target() string {
	switch {
	case r.Efficacy >= targetEfficacy && r.Coverage >= targetCoverage:
		return "met (raw)"
	case r.adjustedEfficacy() >= targetEfficacy && r.adjustedCoverage() >= targetCoverage:
		return "met (adjusted only)"
	}
	return "**not met**"
}

func render(w io.Writer, version string, reports []pkgReport) error {
	var b strings.Builder
	b.WriteString("# Mutation testing\n\n")
	b.WriteString("<!-- Generated by `make mutate` (hack/mutate.sh, hack/mutate); do not edit by hand, run it again. -->\n\n")
	b.WriteString("Each mutant is a small change to the code (`<` for `<=`, `==` for `!=`, `+` for `-`, ...) that gremlins makes in a copy of the repository before running the package's unit tests (`go test -short`). ")
	b.WriteString("**Killed**: a test failed, so a regression like it would be caught. **Lived**: every test passed; these are listed below, each a change no test notices. ")
	b.WriteString("**Not covered**: no test runs that line, so it was not tried. **Timed out**: the tests took longer than the timeout coefficient times the unmutated run (usually a mutant that makes a loop endless; counted neither killed nor lived). ")
	b.WriteString("**Efficacy** is killed / (killed + lived); **mutator coverage** is (killed + lived) / (killed + lived + not covered). Not part of `make test`: nothing here fails CI; run it before a release.\n\n")
	b.WriteString("gremlins decides what is covered from `go test -coverprofile` blocks, which never include a switch's case expressions nor package-level `const`/`var` declarations, so it reports every mutant there not covered and never runs it, however well it is tested. ")
	b.WriteString("hack/mutate runs those itself after gremlins (`go run ./hack/mutate -run-unseen`): the same change gremlins would have made, in a copy of the repository, with the same `go test -short` and the same kind of timeout; it refuses results of another revision than the tree it runs on. ")
	b.WriteString("What it finds is counted like gremlins' own results, killed as killed, lived as lived (listed below, marked run by hack/mutate), and the column **run by hack/mutate** says how many of a package's mutants it ran. ")
	b.WriteString("So the raw figures are measurements over every mutant gremlins found, its runs and hack/mutate's together; they are gremlins' own figures when hack/mutate ran none. ")
	b.WriteString("(One difference: a mutant that does not compile is not viable here; gremlins counts it killed, since `go test` then fails.)\n\n")
	b.WriteString("The adjusted figures leave out two kinds of mutant, each counted in its own column: ")
	b.WriteString("**equivalent**, a lived mutant declared in `hack/mutate/equivalent.yaml` with the reason it cannot change behaviour (listed below with that reason; an entry whose line has changed stops the rendering, and `go test ./hack/mutate` checks them all); ")
	b.WriteString("**unseen**, a not-covered mutant at one of those positions that hack/mutate did not run either (its step skipped, or refused; see below why). ")
	fmt.Fprintf(&b, "The target (issue #18) is %.0f%% efficacy and %.0f%% mutator coverage; the last column says whether the raw figures meet it, or only the adjusted ones.\n\n", targetEfficacy, targetCoverage)

	b.WriteString("## Run\n\n| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Tool | gremlins %s (hack/tools/gremlins), default mutators |\n", version)
	b.WriteString("| Command | `make mutate` → `hack/mutate.sh`, one `gremlins unleash` per package, then `go run ./hack/mutate -run-unseen` on its results |\n")

	b.WriteString("\n## Per package\n\n")
	b.WriteString("| package | killed | lived | equivalent | not covered | unseen | timed out | not viable | run by hack/mutate | efficacy raw | adjusted | mutator coverage raw | adjusted | target |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	var skipped []pkgReport
	for _, rep := range reports {
		if rep.Skipped != "" {
			skipped = append(skipped, rep)
			fmt.Fprintf(&b, "| `%s` | not measured | | | | | | | | | | | | |\n", rep.Pkg)
			continue
		}
		fmt.Fprintf(&b, "| `%s` | %d | %d | %d | %d | %d | %d | %d | %d | %.2f%% | %.2f%% | %.2f%% | %.2f%% | %s |\n",
			rep.Pkg, rep.Killed, rep.Lived, rep.Equivalent, rep.NotCovered, rep.Unseen, rep.TimedOut, rep.NotViable, rep.Ran,
			rep.Efficacy, rep.adjustedEfficacy(), rep.Coverage, rep.adjustedCoverage(), rep.target())
	}
	if len(skipped) > 0 {
		b.WriteString("\nNot measured:\n\n")
		for _, rep := range skipped {
			fmt.Fprintf(&b, "- `%s`: %s\n", rep.Pkg, rep.Skipped)
		}
	}

	b.WriteString("\n## When each was measured\n\n")
	b.WriteString("Packages may come from separate runs (hack/mutate.sh keeps each package's results in `MUTATE_RESULTS`); each row is its own run. **Files now** compares the package's files (code and tests) at the revision measured with the tree this document was rendered from (`git diff`): \"unchanged\" means the result describes the code as it is.\n\n")
	b.WriteString("| package | measured (UTC) | revision | files now | runtime | workers | timeout coefficient | load average (1/5/15 min) at the start and end |\n")
	b.WriteString("|---|---|---|---|---|---:|---:|---|\n")
	for _, rep := range reports {
		if rep.Skipped != "" {
			continue
		}
		r := rep.Run
		if r == (pkgRun{}) {
			fmt.Fprintf(&b, "| `%s` | unknown (no .run file) | | | | | | |\n", rep.Pkg)
			continue
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s | %s |\n", rep.Pkg, r.Measured, r.Revision, rep.Now, r.Runtime, r.Workers, r.TimeoutCoefficient, r.Load)
	}

	b.WriteString("\nHow hack/mutate ran each package's unseen mutants: one at a time per worker, each timed out at the timeout coefficient times the unmutated run of the package's tests shown here.\n\n")
	b.WriteString("| package | unseen mutants run | measured (UTC) | revision | runtime | workers | unmutated run | timeout |\n")
	b.WriteString("|---|---:|---|---|---|---:|---|---|\n")
	for _, rep := range reports {
		if rep.Skipped != "" {
			continue
		}
		u := rep.UnseenRun
		if u == nil {
			note := rep.UnseenNote
			if note == "" {
				note = "not run"
			}
			fmt.Fprintf(&b, "| `%s` | %s | | | | | | |\n", rep.Pkg, note)
			continue
		}
		fmt.Fprintf(&b, "| `%s` | %d | %s | %s | %s | %d | %s | %s |\n", rep.Pkg, len(u.Mutants), u.Measured, u.Revision, u.Runtime, u.Workers, orNone(u.Baseline), orNone(u.Timeout))
	}

	b.WriteString("\n## Surviving mutants\n\n")
	listed := false
	for _, rep := range reports {
		if len(rep.Survivors) == 0 && len(rep.Unused) == 0 {
			continue
		}
		listed = true
		fmt.Fprintf(&b, "### `%s`\n\n", rep.Pkg)
		if len(rep.Survivors) > 0 {
			b.WriteString("| where | mutator | status |\n|---|---|---|\n")
			for _, m := range rep.Survivors {
				status := m.Status
				if m.Equivalent != "" {
					status = "lived (equivalent: " + m.Equivalent + ")"
				}
				if m.Ran {
					status += ", run by hack/mutate"
				}
				fmt.Fprintf(&b, "| %s:%d:%d | %s | %s |\n", m.File, m.Line, m.Column, m.Type, status)
			}
			b.WriteString("\n")
		}
		if len(rep.Unused) > 0 {
			b.WriteString("Declared equivalent, but not lived in this run (killed, or no longer mutated there): remove from hack/mutate/equivalent.yaml:\n\n")
			for _, e := range rep.Unused {
				fmt.Fprintf(&b, "- %s:%d:%d %s\n", e.File, e.Line, e.Column, e.Mutator)
			}
			b.WriteString("\n")
		}
	}
	if !listed {
		b.WriteString("None: every mutant that a test reaches was killed.\n")
	}
	_, err := io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	return err
}
