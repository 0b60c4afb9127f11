// Package e2e runs the built kubectl-access binary through a real kubectl
// against a real kube-apiserver, etcd and kube-controller-manager started by
// pkg/controlplane, through the shared runner of test/harness. The API
// server keeps an audit log of every request (env.audit), for tests that
// must prove what no request carried. Run it with `make test`; `go test
// -short` skips it.
package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kubectl-access/kubectl-access/pkg/controlplane"
	"github.com/kubectl-access/kubectl-access/test/harness"
)

// suite is what TestMain prepares once for every test of the package.
type suite struct {
	// binDir holds kubectl-access and kubectl, and goes first on PATH.
	binDir string
	// cp is the running control plane.
	cp *controlplane.ControlPlane
	// audit is cp's audit log: every request at level Metadata.
	audit *harness.AuditLog
}

// env is set once by TestMain before any test runs and never changed.
var env suite

func TestMain(m *testing.M) {
	harness.Main(m, "e2e", "skipping end-to-end tests in -short mode: they need the local control plane; run `make test`", runSuite)
}

func runSuite(m *testing.M, tmp string) (int, error) {
	env.binDir = filepath.Join(tmp, "bin")
	kubectl, err := harness.ControlPlaneKubectl()
	if err != nil {
		return 0, err
	}
	if err := buildPlugin(env.binDir); err != nil {
		return 0, fmt.Errorf("building kubectl-access: %w", err)
	}
	if err := os.Symlink(kubectl, filepath.Join(env.binDir, "kubectl")); err != nil {
		return 0, err
	}
	if env.audit, err = harness.NewAuditLog(filepath.Join(tmp, "audit")); err != nil {
		return 0, err
	}
	if env.cp, err = harness.StartControlPlane(filepath.Join(tmp, "controlplane"), env.audit.APIServerArgs()...); err != nil {
		return 0, err
	}
	defer env.cp.Stop()
	return m.Run(), nil
}

// kubectl runs the real kubectl found first on the suite's PATH, with the
// admin kubeconfig and a fresh home.
func kubectl(t *testing.T, args ...string) *harness.Cmd {
	t.Helper()
	return harness.Command(t, "kubectl", args...).
		WithPath(env.binDir, os.Getenv("PATH")).
		WithKubeconfig(env.cp.AdminKubeconfig)
}

// access runs `kubectl access ARGS...`: the plugin as kubectl discovers it.
func access(t *testing.T, args ...string) *harness.Cmd {
	t.Helper()
	return kubectl(t, append([]string{"access"}, args...)...)
}

// decodeRecord decodes the -o json output of command into a T, failing the
// test on any field T does not know: the output is the documented record,
// nothing more.
func decodeRecord[T any](t *testing.T, command, stdout string) T {
	t.Helper()
	var rec T
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		t.Fatalf("%s -o json is not the documented record: %v\n%s", command, err, stdout)
	}
	return rec
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
