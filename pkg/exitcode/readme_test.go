package exitcode

import (
	"flag"
	"os"
	"regexp"
	"testing"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the README's exit-code table from Table")

// readmeTable finds the generated table between its markers.
var readmeTable = regexp.MustCompile(`(?s)(<!-- exit-codes:[^\n]*-->\n)(.*?)(<!-- /exit-codes -->)`)

// TestReadmeExitCodes keeps the README's table the rendering of Table: the
// codes are documented in one place. Run with -update-readme to rewrite it.
func TestReadmeExitCodes(t *testing.T) {
	const path = "../../README.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := readmeTable.FindSubmatch(data)
	if m == nil {
		t.Fatalf("%s has no <!-- exit-codes: ... --> ... <!-- /exit-codes --> block", path)
	}
	if *updateReadme {
		out := readmeTable.ReplaceAll(data, []byte("${1}"+Markdown()+"${3}"))
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got := string(m[2]); got != Markdown() {
		t.Errorf("the README's exit-code table is not Table's rendering; run go test ./pkg/exitcode -update-readme\ngot:\n%s\nwant:\n%s", got, Markdown())
	}
}
