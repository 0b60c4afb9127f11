// Package e2e runs the built kubectl-access binary through a real kubectl
// against a real kube-apiserver, etcd and kube-controller-manager started by
// pkg/controlplane. Run it with `make test`; `go test -short` skips it.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/kubectl-access/kubectl-access/pkg/controlplane"
)

// suite is what TestMain prepares once for every test of the package.
type suite struct {
	// binDir holds kubectl-access and kubectl, and goes first on PATH.
	binDir string
	// cp is the running control plane.
	cp *controlplane.ControlPlane
}

// env is set once by TestMain before any test runs and never changed.
var env suite

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("skipping end-to-end tests in -short mode: they need the local control plane; run `make test`")
		os.Exit(0)
	}
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "kubectl-access-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	env.binDir = filepath.Join(tmp, "bin")

	cpBin := controlplane.BinDir()
	if _, err := os.Stat(filepath.Join(cpBin, "kubectl")); err != nil {
		fmt.Fprintf(os.Stderr, "the local control plane binaries are missing in %s: run `make test` (it builds them), or hack/build-controlplane.sh\n", cpBin)
		return 1
	}
	if err := buildPlugin(env.binDir); err != nil {
		fmt.Fprintf(os.Stderr, "building kubectl-access: %v\n", err)
		return 1
	}
	if err := os.Symlink(filepath.Join(cpBin, "kubectl"), filepath.Join(env.binDir, "kubectl")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	env.cp, err = controlplane.Start(ctx, controlplane.Options{BinDir: cpBin, Dir: filepath.Join(tmp, "controlplane")})
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the local control plane: %v\n", err)
		return 1
	}
	defer env.cp.Stop()
	fmt.Printf("local control plane ready at %s in %s\n", env.cp.Server, time.Since(start).Round(100*time.Millisecond))
	return m.Run()
}

// buildPlugin builds the plugin binary once for the package, the way the
// Makefile does, with a recognisable version stamped in.
func buildPlugin(dir string) error {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	out := filepath.Join(dir, "kubectl-access")
	cmd := exec.Command("go", "build", "-o", out,
		"-ldflags", "-X github.com/kubectl-access/kubectl-access/pkg/version.version="+e2eVersion,
		"./cmd/kubectl-access")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// e2eVersion is stamped into the binary under test so tests can tell it runs.
const e2eVersion = "v0.0.0-e2e"
