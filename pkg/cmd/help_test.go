package cmd

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-access/kubectl-access/pkg/review"
)

// TestHelpTextAsKubectlRendersIt renders the help text of every command
// (walking the tree, so a new command is covered without being listed) with
// longDesc and examples, and with kubectl's templates.LongDesc and
// templates.Examples, and wants the same string: the help stays what
// kubectl's rendering made it. It also wants help to show the text rendered,
// and a second help the same text.
func TestHelpTextAsKubectlRendersIt(t *testing.T) {
	root := NewCmdAccess(genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
	var raw []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Annotations[rawHelpAnnotation] != "" {
			raw = append(raw, c)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	// Every command of ours, the completion command and its 4 shells.
	if len(raw) < 13 {
		t.Fatalf("%d commands have help text to render, want every command of the tree; setHelp is no longer used", len(raw))
	}
	for _, c := range raw {
		t.Run(c.CommandPath(), func(t *testing.T) {
			long, example := c.Long, c.Example
			if got, want := longDesc(long), templates.LongDesc(long); got != want {
				t.Errorf("longDesc renders\n%q\nkubectl's templates render\n%q", got, want)
			}
			if got, want := examples(example), templates.Examples(example); got != want {
				t.Errorf("examples renders\n%q\nkubectl's templates render\n%q", got, want)
			}
			var out bytes.Buffer
			for i := range 2 {
				out.Reset()
				c.SetOut(&out)
				if err := c.Help(); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(out.String(), longDesc(long)) || !strings.Contains(out.String(), examples(example)) {
					t.Errorf("help %d does not show the rendered text:\n%s", i+1, out.String())
				}
			}
			if long != "" && strings.Contains(out.String(), long) && long != longDesc(long) {
				t.Errorf("help shows the text as written, not rendered:\n%s", out.String())
			}
		})
	}
}

// TestWhoamiHelpQuotesTheRiskCatalog: the counts whoami's help quotes are
// the catalog's.
func TestWhoamiHelpQuotesTheRiskCatalog(t *testing.T) {
	perNamespace, limited, clusterScoped := review.RiskActionCounts()
	if perNamespace != helpRiskActionsPerNamespace || limited != helpRiskActionsLimited || clusterScoped != helpRiskActionsClusterScoped {
		t.Errorf("the risk catalog has %d actions per namespace, %d limited to one and %d cluster-scoped; whoami's help says %d, %d and %d: update the helpRiskActions constants",
			perNamespace, limited, clusterScoped, helpRiskActionsPerNamespace, helpRiskActionsLimited, helpRiskActionsClusterScoped)
	}
}
