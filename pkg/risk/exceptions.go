package risk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-access/kubectl-access/pkg/version"
)

// Accepted findings, for CI: a finding someone has looked at and accepted,
// with a reason, is still reported but no longer fails a run. Exceptions
// come from a small versioned file (ParseExceptions) or one at a time from
// the command line (ParseIgnore); a command reads them, the judging is here
// so every command that grades risk accepts alike.

// ExceptionsKind is the kind of an exceptions file; its apiVersion is
// version.RecordAPIVersion.
const ExceptionsKind = "RiskExceptions"

// Exception accepts the findings of one check: everywhere, in one
// namespace, for one service account, or both.
type Exception struct {
	// Check is the ID of the check accepted.
	Check string `yaml:"check"`
	// Namespace limits the exception to findings in this namespace; empty
	// accepts the check in every namespace and cluster-wide.
	Namespace string `yaml:"namespace,omitempty"`
	// ServiceAccount, "NAMESPACE/NAME", limits the exception to that
	// service account being reviewed; empty accepts it for any subject.
	ServiceAccount string `yaml:"serviceAccount,omitempty"`
	// Reason says why the finding is accepted; it is printed beside it.
	Reason string `yaml:"reason"`
}

// exceptionsFile is the file ParseExceptions reads.
type exceptionsFile struct {
	APIVersion string      `yaml:"apiVersion"`
	Kind       string      `yaml:"kind"`
	Exceptions []Exception `yaml:"exceptions"`
}

// unknownField and goTypes rewrite the YAML decoder's errors, which name
// Go types ("field x not found in type risk.Exception"), in the file's
// terms.
var (
	unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)
	goTypes      = strings.NewReplacer("into []risk.Exception", "into the list of exceptions", "into risk.Exception", "into an exception", "into risk.exceptionsFile", "into the file (a mapping)")
)

// ParseExceptions reads an exceptions file:
//
//	apiVersion: access.kubectl-access.io/v1alpha1
//	kind: RiskExceptions
//	exceptions:
//	- check: read-secrets
//	  namespace: build            # optional
//	  serviceAccount: build/ci    # optional
//	  reason: the CI job deploys Secrets it reads back
//
// Decoding is strict: an unknown field, a missing reason, an unknown check
// or a malformed name is an error that gives the line.
func ParseExceptions(data []byte) ([]Exception, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var file exceptionsFile
	if err := dec.Decode(&file); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty")
		}
		return nil, errors.New(goTypes.Replace(unknownField.ReplaceAllString(err.Error(), `unknown field $1`)))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("line %d: a second YAML document; the file holds one", extra.Line)
	}
	if file.APIVersion != version.RecordAPIVersion || file.Kind != ExceptionsKind {
		return nil, fmt.Errorf("apiVersion %q, kind %q: want apiVersion %s, kind %s", file.APIVersion, file.Kind, version.RecordAPIVersion, ExceptionsKind)
	}
	// The entries again as nodes, for the line of each.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	lines := entryLines(&root)
	for i, e := range file.Exceptions {
		line := 0
		if i < len(lines) {
			line = lines[i]
		}
		if err := e.validate(); err != nil {
			return nil, fmt.Errorf("line %d: exception %d of %d: %w", line, i+1, len(file.Exceptions), err)
		}
	}
	return file.Exceptions, nil
}

// entryLines returns the line of each entry of the exceptions list.
func entryLines(root *yaml.Node) []int {
	if len(root.Content) == 0 {
		return nil
	}
	doc := root.Content[0]
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "exceptions" {
			var lines []int
			for _, n := range doc.Content[i+1].Content {
				lines = append(lines, n.Line)
			}
			return lines
		}
	}
	return nil
}

// validate checks one exception's values.
func (e Exception) validate() error {
	if err := knownCheck(e.Check); err != nil {
		return err
	}
	if e.Namespace != "" {
		if errs := validation.IsDNS1123Label(e.Namespace); len(errs) > 0 {
			return fmt.Errorf("namespace %q is not a valid namespace name: %s", e.Namespace, strings.Join(errs, "; "))
		}
	}
	if e.ServiceAccount != "" {
		ns, name, ok := strings.Cut(e.ServiceAccount, "/")
		if !ok || len(validation.IsDNS1123Label(ns)) > 0 || len(validation.IsDNS1123Subdomain(name)) > 0 {
			return fmt.Errorf("serviceAccount %q: want NAMESPACE/NAME, e.g. build/ci", e.ServiceAccount)
		}
	}
	if strings.TrimSpace(e.Reason) == "" {
		return errors.New("no reason: say why the finding is accepted")
	}
	return nil
}

// knownCheck says whether id names a check, and lists them when not.
func knownCheck(id string) error {
	if id == "" {
		return fmt.Errorf("no check: want one of %s", strings.Join(IDs(), ", "))
	}
	if _, ok := Lookup(id); !ok {
		return fmt.Errorf("unknown check %q: want one of %s", id, strings.Join(IDs(), ", "))
	}
	return nil
}

// IgnoreReason is the reason of an exception given on the command line.
const IgnoreReason = "accepted on the command line"

// ParseIgnore reads an exception written CHECK or CHECK:NAMESPACE, as
// --risk-ignore takes it.
func ParseIgnore(s string) (Exception, error) {
	check, ns, _ := strings.Cut(s, ":")
	e := Exception{Check: check, Namespace: ns, Reason: IgnoreReason}
	if strings.Contains(s, ":") && ns == "" {
		return Exception{}, fmt.Errorf("%q: no namespace after the colon; want CHECK or CHECK:NAMESPACE", s)
	}
	if err := e.validate(); err != nil {
		return Exception{}, fmt.Errorf("%q: %w", s, err)
	}
	return e, nil
}

// Exceptions are the exceptions of a run.
type Exceptions []Exception

// For returns the exceptions that apply to the subject username: those for
// any subject, and those for its service account.
func (es Exceptions) For(username string) Exceptions {
	var out Exceptions
	for _, e := range es {
		if e.ServiceAccount == "" {
			out = append(out, e)
			continue
		}
		ns, name, _ := strings.Cut(e.ServiceAccount, "/")
		if username == "system:serviceaccount:"+ns+":"+name {
			out = append(out, e)
		}
	}
	return out
}

// Accepting returns the first exception that accepts a finding of check in
// namespace ("" for a cluster-scoped right, which only an exception for
// every namespace accepts).
func (es Exceptions) Accepting(check, namespace string) (Exception, bool) {
	for _, e := range es {
		if e.Check == check && (e.Namespace == "" || e.Namespace == namespace) {
			return e, true
		}
	}
	return Exception{}, false
}

// ParseThreshold reads the value of a --fail-on-risk flag: a severity's
// name fails on findings of that severity or worse; "true" is High (the
// flag's meaning before severities), "false" is off (0).
func ParseThreshold(s string) (Severity, error) {
	switch strings.ToLower(s) {
	case "true":
		return High, nil
	case "false":
		return 0, nil
	}
	sev, err := ParseSeverity(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not one of %s, true (high) or false (off)", s, SeverityNames(", "))
	}
	return sev, nil
}
