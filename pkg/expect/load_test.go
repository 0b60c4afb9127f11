package expect

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, subject string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(header+"expectations:\n- subjects: ["+subject+"]\n  allow: [get pods]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	docs := filepath.Join(dir, "docs")
	if err := os.Mkdir(docs, 0o700); err != nil {
		t.Fatal(err)
	}
	file := write("one.yaml", "a/one")
	write("docs/b.yml", "a/b")
	write("docs/a.json", "a/a")
	write("docs/c.yaml", "a/c")
	write("docs/skipped.txt", "a/skipped")
	if err := os.Mkdir(filepath.Join(docs, "sub.yaml"), 0o700); err != nil {
		t.Fatal(err)
	}
	stdin := strings.NewReader(header + "expectations:\n- subjects: [current]\n  deny: [get pods]\n")
	sets, err := Load([]string{file, docs, Stdin}, stdin)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range sets {
		got = append(got, s.Subjects[0]+" "+s.Pos.String())
	}
	want := []string{"a/one " + file + ":4", "a/a " + filepath.Join(docs, "a.json") + ":4", "a/b " + filepath.Join(docs, "b.yml") + ":4", "a/c " + filepath.Join(docs, "c.yaml") + ":4", "current <stdin>:4"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("kind: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		names []string
		stdin string
		want  string
	}{
		{"stdin twice", []string{Stdin, bad, Stdin}, "", "- is given twice"},
		{"a missing file", []string{filepath.Join(dir, "none.yaml")}, "", "no such file or directory"},
		{"an empty directory", []string{empty}, "", empty + ": the directory has no *.yaml, *.yml or *.json file"},
		{"a malformed file", []string{bad}, "", bad + ":1: apiVersion: missing"},
		{"a malformed stdin", []string{Stdin}, "kind: x\n", "<stdin>:1: apiVersion: missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.names, strings.NewReader(tc.stdin))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v, want %q", err, tc.want)
			}
		})
	}
	if _, err := Load([]string{Stdin}, failingReader{}); err == nil || !strings.Contains(err.Error(), "reading stdin: broken pipe") {
		t.Errorf("%v", err)
	}
}
