package cmd

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-access/kubectl-access/pkg/review"
)

// TestHelpTextAsKubectlRendersIt renders every text this package hands to
// longDesc or examples (found in the source, so a new one is covered
// without being listed) with kubectl's templates.LongDesc and
// templates.Examples too, and wants the same string: the help stays what
// kubectl's rendering made it. A format string (fmt.Sprintf) is compared
// before its arguments are put in; they are numbers.
func TestHelpTextAsKubectlRendersIt(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := map[string]int{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 1 {
				return true
			}
			fn, ok := call.Fun.(*ast.Ident)
			if !ok || (fn.Name != "longDesc" && fn.Name != "examples") {
				return true
			}
			arg := call.Args[0]
			if sprintf, ok := arg.(*ast.CallExpr); ok && len(sprintf.Args) > 0 {
				arg = sprintf.Args[0]
			}
			lit, ok := arg.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: %s of something not a string literal; render it here and add it to this test", fset.Position(call.Pos()), fn.Name)
				return true
			}
			raw, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			seen[fn.Name]++
			got, want := longDesc(raw), templates.LongDesc(raw)
			if fn.Name == "examples" {
				got, want = examples(raw), templates.Examples(raw)
			}
			if got != want {
				t.Errorf("%s: %s renders\n%q\nkubectl's templates render\n%q", fset.Position(call.Pos()), fn.Name, got, want)
			}
			return true
		})
	}
	// Every command has a long description, and all but the root and
	// completion's parent examples.
	if seen["longDesc"] < 8 || seen["examples"] < 8 {
		t.Errorf("found %d long descriptions and %d examples; the test no longer finds the texts", seen["longDesc"], seen["examples"])
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
