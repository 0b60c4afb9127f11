package krew

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// releaseURL is where a release's archives are downloaded from.
const releaseURL = "https://github.com/kubectl-access/kubectl-access/releases/download/"

// manifest is the part of a krew Plugin manifest the tests read.
type manifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Caveats          string `json:"caveats"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			Sha256 string `json:"sha256"`
			Bin    string `json:"bin"`
			Files  []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
		} `json:"platforms"`
	} `json:"spec"`
}

func readManifest(t *testing.T, path string) manifest {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.UnmarshalStrict(data, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// TestManifestMatchesArchives checks the manifest rendered from .krew.yaml
// for the archives just built: one platform each, the release URL pattern,
// and each archive's real sha256.
func TestManifestMatchesArchives(t *testing.T) {
	m := readManifest(t, env.manifest)
	if m.Metadata.Name != "access" || m.Spec.Version != env.version {
		t.Errorf("manifest names plugin %q version %q, want access %s", m.Metadata.Name, m.Spec.Version, env.version)
	}
	if m.Spec.Homepage != "https://github.com/kubectl-access/kubectl-access" {
		t.Errorf("homepage = %q", m.Spec.Homepage)
	}
	if n := len(m.Spec.ShortDescription); n == 0 || n > 50 {
		t.Errorf("shortDescription %q has %d characters; krew-index asks for a short one", m.Spec.ShortDescription, n)
	}
	for _, word := range []string{"TokenRequest", "Secret", "probe", "whoami", "kubeconfig", "risky"} {
		if !strings.Contains(m.Spec.Description, word) {
			t.Errorf("description does not mention %q", word)
		}
	}
	helper := `cp "${KREW_ROOT:-$HOME/.krew}/store/access/` + env.version + `/kubectl_complete-access"`
	if !strings.Contains(m.Spec.Caveats, helper) {
		t.Errorf("caveats do not tell where the completion helper is installed (%s):\n%s", helper, m.Spec.Caveats)
	}

	seen := map[platform]bool{}
	for _, pl := range m.Spec.Platforms {
		p := platform{pl.Selector.MatchLabels["os"], pl.Selector.MatchLabels["arch"]}
		seen[p] = true
		if want := releaseURL + env.version + "/" + p.archive(); pl.URI != want {
			t.Errorf("%s: uri %q, want %q", p, pl.URI, want)
		}
		data, err := os.ReadFile(filepath.Join(env.dist, p.archive()))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); pl.Sha256 != got {
			t.Errorf("%s: sha256 %s in the manifest, %s of %s", p, pl.Sha256, got, p.archive())
		}
		if want := p.exe("kubectl-access"); pl.Bin != want {
			t.Errorf("%s: bin %q, want %q", p, pl.Bin, want)
		}
	}
	for _, p := range platforms() {
		if !seen[p] {
			t.Errorf("no platform entry for %s", p)
		}
	}
	if len(m.Spec.Platforms) != len(platforms()) {
		t.Errorf("%d platform entries, want %d", len(m.Spec.Platforms), len(platforms()))
	}
}

// TestValidateKrewManifest runs krew's own validate-krew-manifest: on the
// release manifest for its structure, and on the same manifest downloading
// from the local file server, where it installs every platform's archive
// with `kubectl krew install` (KREW_OS/KREW_ARCH) and checks for a license.
func TestValidateKrewManifest(t *testing.T) {
	k := newKrewEnv(t)
	k.command(t, "validate-krew-manifest", "-manifest", env.manifest, "-skip-install").RunOK()
	res := k.command(t, "validate-krew-manifest", "-manifest", env.localManifest).RunOK()
	if want := "all 6 spec.platforms installed fine"; !strings.Contains(res.Stderr, want) {
		t.Errorf("validate-krew-manifest did not report %q:\n%s", want, res.Stderr)
	}
	t.Logf("validate-krew-manifest installed all platforms in %s", res.Elapsed.Round(100_000_000))
}

// TestCommittedManifest checks the plugins.yaml in the repository: krew
// accepts it, and it is .krew.yaml rendered (make dist krew-manifest), so the
// two never drift apart. Versions and checksums may be of an older build.
func TestCommittedManifest(t *testing.T) {
	k := newKrewEnv(t)
	committed := filepath.Join(env.root, "plugins.yaml")
	// validate-krew-manifest wants the file named after the plugin.
	named := filepath.Join(t.TempDir(), "access.yaml")
	data, err := os.ReadFile(committed)
	if err != nil {
		t.Fatalf("plugins.yaml: %v (run make dist krew-manifest)", err)
	}
	if err := os.WriteFile(named, data, 0o644); err != nil {
		t.Fatal(err)
	}
	k.command(t, "validate-krew-manifest", "-manifest", named, "-skip-install").RunOK()

	fresh, err := os.ReadFile(env.manifest)
	if err != nil {
		t.Fatal(err)
	}
	old := readManifest(t, committed).Spec.Version
	normalize := func(b []byte, version string) string {
		s := strings.ReplaceAll(string(b), version, "VERSION")
		return regexp.MustCompile(`sha256: [0-9a-f]{64}`).ReplaceAllString(s, "sha256: SHA256")
	}
	if diff := cmp.Diff(normalize(fresh, env.version), normalize(data, old)); diff != "" {
		t.Errorf("plugins.yaml is not .krew.yaml rendered; run make dist krew-manifest (-rendered +committed):\n%s", diff)
	}
}
