package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestPluginDiscovery proves kubectl finds the plugin on PATH and runs it.
func TestPluginDiscovery(t *testing.T) {
	res := kubectl(t, "plugin", "list").RunOK()
	want := filepath.Join(env.binDir, "kubectl-access")
	if !strings.Contains(res.Stdout, want) {
		t.Fatalf("kubectl plugin list does not list %s:\n%s\n%s", want, res.Stdout, res.Stderr)
	}
	if strings.Contains(res.Stderr, "warning") {
		t.Errorf("kubectl plugin list warns about the plugin:\n%s", res.Stderr)
	}
}

func TestVersion(t *testing.T) {
	res := access(t, "version").RunOK()
	if !strings.HasPrefix(res.Stdout, "kubectl-access "+e2eVersion) {
		t.Errorf("kubectl access version = %q, want it to start with kubectl-access %s", res.Stdout, e2eVersion)
	}
	res = access(t, "version", "-o", "json").RunOK()
	var info struct{ Version, Commit, BuildDate, GoVersion, Platform string }
	if err := json.Unmarshal([]byte(res.Stdout), &info); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, res.Stdout)
	}
	if info.Version != e2eVersion || info.GoVersion == "" || info.Platform == "" {
		t.Errorf("version -o json = %+v", info)
	}
	access(t, "version", "-o", "xml").ExpectExit(2, "xml")
	res = access(t, "--help").RunOK()
	if !strings.Contains(res.Stdout, "kubectl access [command]") {
		t.Errorf("help does not read \"kubectl access\":\n%s", res.Stdout)
	}
}
