package harness

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubectl-access/kubectl-access/pkg/controlplane"
)

// controlPlaneStartTimeout bounds the start of a suite's control plane: a
// cold start on a busy 2-core machine takes well under a minute.
const controlPlaneStartTimeout = 3 * time.Minute

// Main is the TestMain of a suite that needs the local control plane. Under
// -short it prints skipped (what the suite needs, how to run it) and exits
// 0. Otherwise it calls run with a new temporary directory, named
// kubectl-access-NAME-*, that it removes afterwards. run sets the suite up,
// returns m.Run() and lets its deferred teardown run after the tests; Main
// exits with that code, or prints run's error and exits 1.
func Main(m *testing.M, name, skipped string, run func(m *testing.M, tmp string) (int, error)) {
	flag.Parse()
	if testing.Short() {
		fmt.Println(skipped)
		os.Exit(0)
	}
	os.Exit(inTempDir(m, name, run))
}

// inTempDir is Main's body, apart so that its deferred removal runs before
// os.Exit.
func inTempDir(m *testing.M, name string, run func(m *testing.M, tmp string) (int, error)) int {
	tmp, err := os.MkdirTemp("", "kubectl-access-"+name+"-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	code, err := run(m, tmp)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return code
}

// ControlPlaneKubectl returns the path of the kubectl built with the local
// control plane, or an error that says how to build it when it is missing.
// Suites check it before their long setup, to fail at once.
func ControlPlaneKubectl() (string, error) {
	kubectl := filepath.Join(controlplane.BinDir(), "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		return "", fmt.Errorf("the local control plane binaries are missing in %s: run `make test` (it builds them), or hack/build-controlplane.sh", controlplane.BinDir())
	}
	return kubectl, nil
}

// StartControlPlane starts the suite's local control plane in dir, with
// extraAPIServerArgs added to kube-apiserver's flags, and says on stdout
// how long it took. The caller stops it.
func StartControlPlane(dir string, extraAPIServerArgs ...string) (*controlplane.ControlPlane, error) {
	ctx, cancel := context.WithTimeout(context.Background(), controlPlaneStartTimeout)
	defer cancel()
	start := time.Now()
	cp, err := controlplane.Start(ctx, controlplane.Options{BinDir: controlplane.BinDir(), Dir: dir, ExtraAPIServerArgs: extraAPIServerArgs})
	if err != nil {
		return nil, fmt.Errorf("starting the local control plane: %w", err)
	}
	fmt.Printf("local control plane ready at %s in %s\n", cp.Server, time.Since(start).Round(100*time.Millisecond))
	return cp, nil
}
