package main

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDocsUpToDate regenerates the reference into a temporary directory and
// compares it with docs/reference/: a change to a command's help must come with
// `make docs`.
func TestDocsUpToDate(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	committed := filepath.Join(filepath.Dir(file), "..", "..", "docs", "reference")
	fresh := t.TempDir()
	if err := generate(fresh); err != nil {
		t.Fatal(err)
	}
	want := readDocs(t, fresh)
	got := readDocs(t, committed)
	if len(want) == 0 {
		t.Fatal("generated no docs")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("docs/reference/ is stale: run make docs (-generated +committed):\n%s", diff)
	}
}

// TestDocsReproducible generates twice, with a different HOME and
// KUBECACHEDIR, and expects the same bytes: no date, no machine paths.
func TestDocsReproducible(t *testing.T) {
	first := t.TempDir()
	if err := generate(first); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBECACHEDIR", t.TempDir())
	second := t.TempDir()
	if err := generate(second); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(readDocs(t, first), readDocs(t, second)); diff != "" {
		t.Errorf("docs depend on the environment (-first +second):\n%s", diff)
	}
}

// readDocs returns the markdown files of dir by name.
func readDocs(t *testing.T, dir string) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	docs := map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs[filepath.Base(p)] = string(b)
	}
	return docs
}
