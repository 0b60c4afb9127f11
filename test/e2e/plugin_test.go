package e2e

import (
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestPluginDiscovery proves kubectl finds the plugin on PATH and runs it.
func TestPluginDiscovery(t *testing.T) {
	res := kubectl(t, "plugin", "list").runOK()
	want := filepath.Join(env.binDir, "kubectl-access")
	if !strings.Contains(res.stdout, want) {
		t.Fatalf("kubectl plugin list does not list %s:\n%s\n%s", want, res.stdout, res.stderr)
	}
	if strings.Contains(res.stderr, "warning") {
		t.Errorf("kubectl plugin list warns about the plugin:\n%s", res.stderr)
	}
}

func TestVersion(t *testing.T) {
	res := access(t, "version").runOK()
	if !strings.HasPrefix(res.stdout, "kubectl-access "+e2eVersion) {
		t.Errorf("kubectl access version = %q, want it to start with kubectl-access %s", res.stdout, e2eVersion)
	}
	res = access(t, "version", "-o", "json").runOK()
	var info struct{ Version, Commit, BuildDate, GoVersion, Platform string }
	if err := json.Unmarshal([]byte(res.stdout), &info); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, res.stdout)
	}
	if info.Version != e2eVersion || info.GoVersion == "" || info.Platform == "" {
		t.Errorf("version -o json = %+v", info)
	}
	access(t, "version", "-o", "xml").expectExit(2, "xml")
	res = access(t, "--help").runOK()
	if !strings.Contains(res.stdout, "kubectl access [command]") {
		t.Errorf("help does not read \"kubectl access\":\n%s", res.stdout)
	}
}
