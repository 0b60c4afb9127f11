// Package krew tests the distribution of kubectl-access as a krew plugin with
// the real tools, offline: goreleaser (from the Go module proxy) builds the
// release archives of every platform, krew's validate-krew-manifest and
// `kubectl krew install` (sigs.k8s.io/krew v0.4.3, from the proxy too) accept
// the manifest rendered from .krew.yaml, and the real kubectl runs and
// completes the installed plugin against a local control plane.
//
// The tools are built once per machine (hack/build-tools.sh caches them); the
// archives are built once per run of the package. A machine's first run
// compiles goreleaser and the plugin for six platforms, which takes longer
// than go test's default 10 minute timeout on 2 cores: `make test` passes
// -timeout 60m. `go test -short` skips the package.
package krew

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-access/kubectl-access/pkg/controlplane"
	"github.com/kubectl-access/kubectl-access/test/harness"
)

// suite is what TestMain prepares once for every test of the package.
type suite struct {
	// root is the repository's top directory.
	root string
	// dist holds the archives, checksums.txt and metadata.json that
	// goreleaser built for this run.
	dist string
	// version is the version goreleaser stamped, with krew's "v": the
	// manifest's spec.version and what `kubectl access version` prints.
	version string
	// commit is the commit goreleaser stamped.
	commit string
	// manifest is .krew.yaml rendered for the archives with the release
	// download URLs, as `make krew-manifest` renders plugins.yaml.
	manifest string
	// localManifest is the same manifest downloading the archives from
	// localURL, a file server on loopback standing in for the release host.
	localManifest string
	localURL      string
	// toolBin holds kubectl (the control plane's), kubectl-krew,
	// validate-krew-manifest and git.
	toolBin string
	// kubectl is the real kubectl binary.
	kubectl string
	// cp is the running control plane.
	cp *controlplane.ControlPlane
}

// env is set once by TestMain before any test runs and never changed.
var env suite

func TestMain(m *testing.M) {
	harness.Main(m, "krew", "skipping the krew distribution tests in -short mode: they build goreleaser, krew and the release archives; run `make test`", runSuite)
}

func runSuite(m *testing.M, tmp string) (int, error) {
	env.dist = filepath.Join(tmp, "dist")
	srv, err := serveDir(env.dist)
	if err != nil {
		return 0, err
	}
	defer srv.Close()
	if err := env.prepare(tmp); err != nil {
		return 0, fmt.Errorf("preparing the krew tests: %w", err)
	}
	if env.cp, err = harness.StartControlPlane(filepath.Join(tmp, "controlplane")); err != nil {
		return 0, err
	}
	defer env.cp.Stop()
	return m.Run(), nil
}

// prepare builds the tools and the archives and renders the manifests.
func (s *suite) prepare(tmp string) error {
	_, file, _, _ := runtime.Caller(0)
	s.root = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))

	var err error
	if s.kubectl, err = harness.ControlPlaneKubectl(); err != nil {
		return err
	}

	s.toolBin = filepath.Join(tmp, "tools")
	if err := os.MkdirAll(s.toolBin, 0o755); err != nil {
		return err
	}
	for _, tool := range []struct{ name, link string }{
		{"goreleaser", ""}, // for hack/dist.sh, built here to time it
		{"krew", "kubectl-krew"},
		{"validate-krew-manifest", "validate-krew-manifest"},
	} {
		bin, err := s.buildTool(tool.name)
		if err != nil {
			return err
		}
		if tool.link == "" {
			continue
		}
		if err := os.Symlink(bin, filepath.Join(s.toolBin, tool.link)); err != nil {
			return err
		}
	}
	if err := os.Symlink(s.kubectl, filepath.Join(s.toolBin, "kubectl")); err != nil {
		return err
	}
	// krew clones and updates its index with git.
	git, err := exec.LookPath("git")
	if err != nil {
		return fmt.Errorf("krew needs git: %w", err)
	}
	if err := os.Symlink(git, filepath.Join(s.toolBin, "git")); err != nil {
		return err
	}

	if err := s.buildArchives(tmp); err != nil {
		return err
	}
	if err := s.readMetadata(); err != nil {
		return err
	}

	renderer := filepath.Join(tmp, "krew-manifest")
	if err := s.run("go", "build", "-o", renderer, "./hack/krew-manifest"); err != nil {
		return err
	}
	// validate-krew-manifest wants the file named after the plugin.
	for _, m := range []struct {
		path *string
		dir  string
		args []string
	}{
		{&s.manifest, "release", nil},
		{&s.localManifest, "local", []string{"-base-url", s.localURL}},
	} {
		*m.path = filepath.Join(tmp, m.dir, "access.yaml")
		if err := os.MkdirAll(filepath.Dir(*m.path), 0o755); err != nil {
			return err
		}
		args := append([]string{"-template", ".krew.yaml", "-dist", s.dist, "-o", *m.path}, m.args...)
		if err := s.run(renderer, args...); err != nil {
			return err
		}
	}
	return nil
}

// buildTool returns the cached binary of a release tool, building it on the
// first run on this machine.
func (s *suite) buildTool(name string) (string, error) {
	start := time.Now()
	cmd := exec.Command(filepath.Join(s.root, "hack", "build-tools.sh"), name)
	cmd.Dir = s.root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hack/build-tools.sh %s: %w", name, err)
	}
	fmt.Printf("%s ready in %s\n", name, time.Since(start).Round(100*time.Millisecond))
	return strings.TrimSpace(string(out)), nil
}

// buildArchives runs goreleaser as `make dist` does (hack/dist.sh), with the
// project's .goreleaser.yaml writing into the test's own directory instead
// of dist/.
func (s *suite) buildArchives(tmp string) error {
	config, err := os.ReadFile(filepath.Join(s.root, ".goreleaser.yaml"))
	if err != nil {
		return err
	}
	if strings.Contains("\n"+string(config), "\ndist:") {
		return errors.New(".goreleaser.yaml sets dist: the test cannot redirect the output")
	}
	testConfig := filepath.Join(tmp, "goreleaser.yaml")
	config = append(config, []byte("\ndist: "+s.dist+"\n")...)
	if err := os.WriteFile(testConfig, config, 0o644); err != nil {
		return err
	}
	fmt.Println("building the release archives of 6 platforms (minutes on a machine's first run; then about 20s)")
	start := time.Now()
	if err := s.run(filepath.Join(s.root, "hack", "dist.sh"), "-f", testConfig); err != nil {
		return err
	}
	fmt.Printf("release archives built in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

func (s *suite) readMetadata() error {
	data, err := os.ReadFile(filepath.Join(s.dist, "metadata.json"))
	if err != nil {
		return err
	}
	var meta struct{ Version, Commit string }
	if err := json.Unmarshal(data, &meta); err != nil {
		return fmt.Errorf("metadata.json: %w", err)
	}
	s.version, s.commit = "v"+meta.Version, meta.Commit
	if meta.Version == "" || len(meta.Commit) != 40 {
		return fmt.Errorf("goreleaser stamped version %q, commit %q: want a version and a full commit hash", meta.Version, meta.Commit)
	}
	return nil
}

// run runs a command in the repository, its output going to the test log.
func (s *suite) run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = s.root
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return nil
}

// serveDir serves dir over HTTP on a loopback port, set in env.localURL: the
// release download host, for installing every platform's archive.
func serveDir(dir string) (*http.Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("serving the archives: %w", err)
	}
	env.localURL = "http://" + l.Addr().String()
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return srv, nil
}
