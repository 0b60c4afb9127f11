package check

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// The JUnit XML that GitHub Actions, GitLab and Jenkins read: one testsuite
// per subject, one testcase per expectation, a failure for an expectation
// that failed and an error for one that is undecided. Only the attributes
// of the common (Jenkins) schema are written.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// TestName names the testcase of an expectation: "allow get pods in
// build", "deny get /metrics".
func TestName(r Result) string {
	name := expected(r.Allow) + " " + r.Action.String()
	switch {
	case r.Namespace != "":
		name += " in " + r.Namespace
	case !r.Action.ClusterScoped():
		name += " (no namespace)"
	}
	return name
}

// JUnit renders results as JUnit XML.
func JUnit(results []Result) ([]byte, error) {
	bySubject := map[string]*junitSuite{}
	var names []string
	for _, r := range results {
		s := bySubject[r.Subject]
		if s == nil {
			s = &junitSuite{Name: r.Subject, Time: "0"}
			bySubject[r.Subject] = s
			names = append(names, r.Subject)
		}
		c := junitCase{Name: TestName(r), Classname: r.Subject, Time: "0"}
		detail := fmt.Sprintf("subject %s, %s, expected %s", r.Subject, TestName(r), expected(r.Allow))
		if src := r.Pos.String(); src != "" {
			detail += ", written at " + src
		}
		if rs := reason(r); rs != "" {
			detail += "\nserver: " + rs
		}
		switch r.Outcome {
		case Failed:
			s.Failures++
			c.Failure = &junitProblem{Type: "ExpectationFailed", Message: fmt.Sprintf("expected %s, got %s", expected(r.Allow), got(r)), Text: detail}
		case Undecided:
			s.Errors++
			c.Error = &junitProblem{Type: "Undecided", Message: "no answer to trust: " + oneLine(reason(r)), Text: detail}
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
	}
	sort.Strings(names)
	out := junitSuites{Name: "kubectl access check"}
	for _, n := range names {
		s := bySubject[n]
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Errors += s.Errors
		out.Suites = append(out.Suites, *s)
	}
	data, err := xml.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(data, '\n')...), nil
}

// ReportFile is a report about to be written: the path is checked and a
// temporary file already exists beside it, so a run learns that the path is
// unusable before it asks the server anything. Finish with Commit, and
// always call Abort (a no-op after Commit) so that no temporary file is
// left behind.
type ReportFile struct {
	path string
	tmp  *os.File
	done bool
}

// ErrNotRegular says the report's path is a directory, a symbolic link or
// another file that is not a regular one: renaming over a link would
// replace the link, writing through it would change another file.
var ErrNotRegular = errors.New("is not a regular file")

// CreateReport checks that path can receive a report (it does not exist
// or is a regular file, which is replaced: CI runs write the same report
// again) and creates the temporary file in its directory.
func CreateReport(path string) (*ReportFile, error) {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %w", path, ErrNotRegular)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// os.CreateTemp opens exclusively (O_EXCL), never a file or a link
	// planted there.
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &ReportFile{path: path, tmp: tmp}, nil
}

// Path is where the report goes.
func (f *ReportFile) Path() string { return f.path }

// Commit writes data to the temporary file, syncs it and renames it over
// the path in one step, so a reader sees the old report or the new one,
// never half of one. On error the temporary file is removed.
func (f *ReportFile) Commit(data []byte) error {
	defer f.Abort()
	if _, err := f.tmp.Write(data); err != nil {
		return err
	}
	// Reports are read by CI's uploaders, often as another user.
	if err := f.tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := f.tmp.Sync(); err != nil {
		return err
	}
	if err := f.tmp.Close(); err != nil {
		return err
	}
	// Re-check: a link or directory put there since CreateReport is not
	// replaced.
	if fi, err := os.Lstat(f.path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s %w", f.path, ErrNotRegular)
	}
	if err := os.Rename(f.tmp.Name(), f.path); err != nil {
		return err
	}
	f.done = true
	return nil
}

// Abort removes the temporary file unless Commit moved it into place.
func (f *ReportFile) Abort() {
	if f == nil || f.done {
		return
	}
	_ = f.tmp.Close()
	_ = os.Remove(f.tmp.Name())
	f.done = true
}
