package risk

import (
	"fmt"
	"strings"

	"github.com/kubectl-access/kubectl-access/pkg/version"
)

// CatalogMarkdown renders docs/risks.md: every check with its severity,
// why it is dangerous, where its escalation path is described, and the
// actions that realise it. A test keeps the file this rendering, so the
// catalog is documented in one place, the code.
func CatalogMarkdown() string {
	var b strings.Builder
	b.WriteString(`# Risk checks

<!-- Generated from pkg/risk.Checks; do not edit. Rewrite it with: go test ./pkg/risk -update -->

` + "`kubectl access whoami`" + ` marks every rule it lists, and every action the
server allows outside the listed rules, that fails one of these checks. Each
check has a severity:

- **critical**: the cluster, or every identity in it, at once;
- **high**: the credentials or the code of other identities;
- **medium**: a right that needs more, or luck, to become one of those;
- **low**: only reached by lowering a medium finding (below).

A finding's severity is its check's, weighted by where the rule holds and
how narrow it is: one step **higher** in the namespaces a check names
(kube-system, whose service accounts hold the control plane's rights), one
step **lower** for a rule narrowed by ` + "`resourceNames`" + ` to some objects. The
JSON output says why (` + "`severityNote`" + `). A check made of two halves (pod
stealing, CSR approval) is found only when both are granted.

` + "`--fail-on-risk=SEVERITY`" + ` (plain ` + "`--fail-on-risk`" + ` means ` + "`high`" + `) fails a run on
findings of that severity or worse. ` + "`--risk-ignore CHECK[:NAMESPACE]`" + ` and
` + "`--risk-exceptions FILE`" + ` accept findings: they are still printed, marked
accepted with their reason, and no longer fail the run. The file:

` + "```yaml" + `
apiVersion: ` + version.RecordAPIVersion + `
kind: ` + ExceptionsKind + `
exceptions:
- check: read-secrets          # required: a check below
  namespace: build             # optional: only in this namespace
  serviceAccount: build/ci     # optional: only when reviewing this account
  reason: the CI job reads back the Secrets it deploys   # required
` + "```" + `

Unknown fields, unknown checks and a missing reason are refused, with the
line.

Where a review is incomplete (an authorization webhook), or with
` + "`--verify`" + `, each action below is asked with a SelfSubjectAccessReview: a
cluster-scoped one once, the others in every namespace reviewed (an action
marked with a namespace only there).

| check | severity | why |
|---|---|---|
`)
	for _, c := range Checks() {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s |\n", c.ID, c.ID, c.Severity, c.Reason)
	}
	for _, c := range Checks() {
		fmt.Fprintf(&b, "\n## %s\n\n", c.ID)
		fmt.Fprintf(&b, "**%s**", c.Severity)
		if len(c.RaisedIn) > 0 {
			fmt.Fprintf(&b, " (%s in %s)", c.Severity.raise(), strings.Join(c.RaisedIn, ", "))
		}
		fmt.Fprintf(&b, ": %s.\n\n", c.Reason)
		fmt.Fprintf(&b, "Escalation path: %s.\n\n", c.Escalation)
		if len(c.With) > 0 {
			b.WriteString("Any of these actions")
		} else {
			b.WriteString("Actions (any one fails the check)")
		}
		b.WriteString(":\n\n")
		writeActions(&b, c.Actions)
		if len(c.With) > 0 {
			b.WriteString("\ntogether with any of:\n\n")
			writeActions(&b, c.With)
		}
	}
	return b.String()
}

// writeActions lists actions as ParseAction reads them, with where each is
// asked.
func writeActions(b *strings.Builder, actions []Action) {
	for _, a := range actions {
		where := "in each namespace"
		switch {
		case a.ClusterScoped():
			where = "cluster-scoped"
		case a.Namespace != "":
			where = "in namespace " + a.Namespace + " only"
		}
		fmt.Fprintf(b, "- `%s` (%s)\n", a, where)
	}
}
