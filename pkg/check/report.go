package check

import (
	"fmt"
	"io"
	"strings"

	"k8s.io/cli-runtime/pkg/printers"
)

// RecordAPIVersion and RecordKind identify check's structured output.
const (
	RecordAPIVersion = "access.kubectl-access.io/v1alpha1"
	RecordKind       = "AccessCheck"
)

// Record is check's -o json|yaml output: every expectation and its result.
type Record struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Summary    Summary        `json:"summary"`
	Results    []ResultRecord `json:"results"`
}

// ResultRecord is one expectation and its result.
type ResultRecord struct {
	// Subject is "namespace/name" or "current".
	Subject string `json:"subject"`
	// Action is the action in its one-line form.
	Action string `json:"action"`
	// Namespace is where it was asked; "" cluster-wide.
	Namespace string `json:"namespace,omitempty"`
	// Expected is "allow" or "deny".
	Expected string `json:"expected"`
	// Got is "allowed" or "denied", "" when undecided.
	Got string `json:"got,omitempty"`
	// Result is held, failed or undecided.
	Result Outcome `json:"result"`
	// Reason is the server's reason.
	Reason string `json:"reason,omitempty"`
	// EvaluationError is an authorizer's failure.
	EvaluationError string `json:"evaluationError,omitempty"`
	// Error is why there is no answer.
	Error string `json:"error,omitempty"`
	// Source is where the expectation is written, file:line.
	Source string `json:"source,omitempty"`
}

// NewRecord builds the record of results.
func NewRecord(results []Result) Record {
	rec := Record{APIVersion: RecordAPIVersion, Kind: RecordKind, Summary: Summarize(results), Results: []ResultRecord{}}
	for _, r := range results {
		rr := ResultRecord{
			Subject: r.Subject, Action: r.Action.String(), Namespace: r.Namespace,
			Expected: expected(r.Allow), Got: got(r), Result: r.Outcome,
			Reason: r.Reason, EvaluationError: r.EvaluationError, Source: r.Pos.String(),
		}
		if r.Err != nil {
			rr.Error = r.Err.Error()
		}
		rec.Results = append(rec.Results, rr)
	}
	return rec
}

func expected(allow bool) string {
	if allow {
		return "allow"
	}
	return "deny"
}

// got is the server's answer, "" when there is none to trust.
func got(r Result) string {
	switch {
	case r.Err != nil:
		return ""
	case r.Allowed:
		return "allowed"
	case r.EvaluationError != "":
		return ""
	}
	return "denied"
}

// verdict is the RESULT column.
func verdict(o Outcome) string {
	switch o {
	case Held:
		return "OK"
	case Failed:
		return "FAIL"
	}
	return "ERROR"
}

// where names the namespace of a result for people.
func where(r Result) string {
	switch {
	case r.Namespace != "":
		return r.Namespace
	case r.Action.ClusterScoped():
		return "(cluster)"
	}
	return "-"
}

// reason is the REASON column: the server's reason, or why there is none.
func reason(r Result) string {
	var parts []string
	if r.Err != nil {
		parts = append(parts, r.Err.Error())
	}
	if r.Reason != "" {
		parts = append(parts, r.Reason)
	}
	if r.EvaluationError != "" {
		parts = append(parts, "evaluation error: "+r.EvaluationError)
	}
	return strings.Join(parts, "; ")
}

// PrintTable writes the human table: SUBJECT, ACTION, NAMESPACE, EXPECTED,
// GOT, RESULT (OK, FAIL, ERROR) and the server's REASON.
func PrintTable(out io.Writer, results []Result) error {
	w := printers.GetNewTabWriter(out)
	fmt.Fprintln(w, "SUBJECT\tACTION\tNAMESPACE\tEXPECTED\tGOT\tRESULT\tREASON")
	for _, r := range results {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Subject, r.Action.String(), where(r), expected(r.Allow),
			dash(got(r)), verdict(r.Outcome), dash(oneLine(reason(r))))
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a table row on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
