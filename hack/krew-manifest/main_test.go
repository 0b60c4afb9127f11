package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testTemplate = `spec:
  version: {{ .TagName }}
  platforms:
  - {{ addURIAndSha "https://example.com/download/{{ .TagName }}/a_{{ .Version }}.tar.gz" .TagName }}
    bin: a
`

func distWith(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestRender(t *testing.T) {
	dist := distWith(t, map[string]string{"a_1.2.3.tar.gz": "archive bytes"})
	for _, tc := range []struct {
		name, baseURL, wantURI string
	}{
		{"release URL", "", "https://example.com/download/v1.2.3/a_1.2.3.tar.gz"},
		{"base URL", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/a_1.2.3.tar.gz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := render(testTemplate, "v1.2.3", dist, tc.baseURL)
			if err != nil {
				t.Fatal(err)
			}
			want := "spec:\n  version: v1.2.3\n  platforms:\n  - uri: " + tc.wantURI + "\n    sha256: " + sum("archive bytes") + "\n    bin: a\n"
			if diff := cmp.Diff(want, string(got)); diff != "" {
				t.Errorf("render (-want +got):\n%s", diff)
			}
			if err := check(got, "v1.2.3"); err != nil {
				t.Errorf("check: %v", err)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	dist := distWith(t, nil)
	_, err := render(testTemplate, "v1.2.3", dist, "")
	if err == nil || !strings.Contains(err.Error(), "make dist") {
		t.Errorf("render with the archive missing: %v, want an error saying to run make dist", err)
	}
	_, err = render("{{ .Nope }}", "v1", dist, "")
	if err == nil {
		t.Error("render of an unknown value succeeded")
	}
}

func TestDistVersion(t *testing.T) {
	dist := distWith(t, map[string]string{"metadata.json": `{"project_name":"kubectl-access","tag":"v0.0.0","version":"0.0.1-snapshot-abc1234"}`})
	got, err := distVersion(dist)
	if err != nil || got != "0.0.1-snapshot-abc1234" {
		t.Errorf("distVersion = %q, %v", got, err)
	}
	if _, err := distVersion(t.TempDir()); err == nil || !strings.Contains(err.Error(), "make dist") {
		t.Errorf("distVersion without a build: %v, want an error saying to run make dist", err)
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct{ name, manifest string }{
		{"wrong version", "spec:\n  version: v2\n  platforms:\n  - {uri: u, sha256: s, bin: b}\n"},
		{"no platforms", "spec:\n  version: v1\n"},
		{"no sha256", "spec:\n  version: v1\n  platforms:\n  - {uri: u, bin: b}\n"},
		{"not YAML", "spec: [\n"},
	} {
		if err := check([]byte(tc.manifest), "v1"); err == nil {
			t.Errorf("%s: check accepted\n%s", tc.name, tc.manifest)
		}
	}
}
