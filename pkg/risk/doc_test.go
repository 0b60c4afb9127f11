package risk

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/risks.md from Checks")

// TestRisksDoc keeps docs/risks.md the rendering of Checks. Run with
// -update to rewrite it.
func TestRisksDoc(t *testing.T) {
	const path = "../../docs/risks.md"
	want := CatalogMarkdown()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; run go test ./pkg/risk -update", err)
	}
	if string(got) != want {
		t.Errorf("%s is stale; run go test ./pkg/risk -update", path)
	}
}

// TestCatalogNamesEveryCheck: each check has its row and its section, with
// its severity, reference and every action.
func TestCatalogNamesEveryCheck(t *testing.T) {
	doc := CatalogMarkdown()
	for _, c := range Checks() {
		for _, want := range []string{
			"| [`" + c.ID + "`](#" + c.ID + ") | " + c.Severity.String() + " | " + c.Reason + " |",
			"\n## " + c.ID + "\n\n**" + c.Severity.String(),
			"Escalation path: " + c.Escalation + ".",
		} {
			if !strings.Contains(doc, want) {
				t.Errorf("the catalog lacks %q", want)
			}
		}
		for _, a := range slices.Concat(c.Actions, c.With) {
			if !strings.Contains(doc, "- `"+a.String()+"` (") {
				t.Errorf("the catalog lacks action %q of %s", a, c.ID)
			}
		}
	}
	for _, want := range []string{"**high** (critical in kube-system)", "- `update configmaps aws-auth` (in namespace kube-system only)", "- `patch nodes` (cluster-scoped)", "- `get secrets` (in each namespace)", "together with any of:\n\n- `create pods/eviction`"} {
		if !strings.Contains(doc, want) {
			t.Errorf("the catalog lacks %q", want)
		}
	}
	if strings.Contains(doc, "://") {
		t.Error("the catalog links somewhere; its references are link-free")
	}
}

// TestReadmeCountsTheChecks: the README quotes how many checks there are.
func TestReadmeCountsTheChecks(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("[docs/risks.md](docs/risks.md) (generated from `pkg/risk`): %d checks", len(Checks())); !strings.Contains(string(readme), want) {
		t.Errorf("README.md does not say %q", want)
	}
}
