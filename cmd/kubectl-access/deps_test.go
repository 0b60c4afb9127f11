package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

var updateDeps = flag.Bool("update-deps", false, "rewrite "+depsFile+" from the current imports")

// depsFile lists the packages the plugin links beyond the library floor.
const depsFile = "testdata/deps-beyond-floor.txt"

// libraryFloor is the program that links only what the design requires
// (issue 19); the benchmark measures its start-up beside the plugin's.
const libraryFloor = "./test/bench/floor/lib"

// modulePath is this module's path: the floor's own packages are not
// libraries, so they are left out of its set.
const modulePath = "github.com/kubectl-access/kubectl-access"

const depsHeader = `# Packages kubectl-access links beyond the library floor (test/bench/floor/lib:
# genericclioptions on a cobra command plus the typed core, authentication and
# authorization clients), one import path a line, sorted: go list -deps of
# ./cmd/kubectl-access minus go list -deps of ./test/bench/floor/lib, standard
# library included, for linux/amd64 with CGO_ENABLED=0 as the release is built.
# Every line is start-up time, binary size or both: review an addition as you
# would a new dependency. After changing imports, regenerate and review the diff:
#
#	go test ./cmd/kubectl-access -run TestDependencies -update-deps
`

// TestDependencies pins the plugin's dependency graph to the library
// floor's plus the reviewed list in depsFile, so that a heavy import (the
// whole clientset, a markdown renderer, a scheme) cannot come in, or come
// back, unnoticed. It is not timed: it compares import paths.
//
// The standard library is included: a heavy standard package (text/template,
// net/http/pprof) costs start-up and size as much as a module does, and
// since both programs are listed by the same Go, what a Go release changes
// in the standard library mostly cancels out of the difference.
func TestDependencies(t *testing.T) {
	root := filepath.Join("..", "..")
	plugin := goListDeps(t, root, "./cmd/kubectl-access")
	floor := goListDeps(t, root, libraryFloor)
	if missing := without(floor, plugin); len(missing) > 0 {
		t.Errorf("the plugin no longer links %d package(s) the library floor links, so the floor no longer describes it: change %s to match the design:\n\t%s",
			len(missing), libraryFloor, strings.Join(missing, "\n\t"))
	}
	beyond := without(plugin, floor)
	if *updateDeps {
		data := depsHeader + strings.Join(beyond, "\n") + "\n"
		if err := os.WriteFile(depsFile, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: %d packages beyond the library floor", depsFile, len(beyond))
		return
	}
	data, err := os.ReadFile(depsFile)
	if err != nil {
		t.Fatalf("%v: create it with go test ./cmd/kubectl-access -run TestDependencies -update-deps", err)
	}
	want, err := parseDeps(data)
	if err != nil {
		t.Fatalf("%s: %v", depsFile, err)
	}
	added, removed := without(beyond, want), without(want, beyond)
	if len(added) == 0 && len(removed) == 0 {
		return
	}
	var msg strings.Builder
	fmt.Fprintf(&msg, "the plugin's dependencies beyond the library floor differ from %s:\n", depsFile)
	for _, p := range added {
		fmt.Fprintf(&msg, "\t+ %s\n", p)
	}
	for _, p := range removed {
		fmt.Fprintf(&msg, "\t- %s\n", p)
	}
	msg.WriteString("If the change is meant, review it and run: go test ./cmd/kubectl-access -run TestDependencies -update-deps")
	t.Error(msg.String())
}

// parseDeps reads depsFile: comments (#) and blank lines are skipped; the
// paths must be sorted and distinct, so that the file diffs cleanly.
func parseDeps(data []byte) ([]string, error) {
	var paths []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if n := len(paths); n > 0 && paths[n-1] >= line {
			return nil, fmt.Errorf("line %d: %q is not sorted after %q, or repeated (regenerate with -update-deps)", i+1, line, paths[n-1])
		}
		paths = append(paths, line)
	}
	return paths, nil
}

// without returns the paths of a not in b; both sorted.
func without(a, b []string) []string {
	var out []string
	for _, p := range a {
		if _, found := slices.BinarySearch(b, p); !found {
			out = append(out, p)
		}
	}
	return out
}

// goListDeps returns the sorted import paths pkg links, standard library
// included, its own module's packages left out when pkg is the floor. The
// platform is fixed, so that the list does not depend on the machine.
func goListDeps(t *testing.T, dir, pkg string) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr.String())
	}
	var paths []string
	for _, p := range strings.Fields(string(out)) {
		if pkg == libraryFloor && strings.HasPrefix(p, modulePath+"/") {
			continue
		}
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return slices.Compact(paths)
}
