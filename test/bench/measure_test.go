package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLookPathUsesTheCommandsPath(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	for _, dir := range []string{first, second} {
		if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"PATH=/nonexistent", "HOME=/tmp", "PATH=" + second + ":" + first}
	got, err := lookPath("kubectl", env)
	if err != nil || got != filepath.Join(second, "kubectl") {
		t.Errorf("lookPath = %q, %v; want the one in the last PATH entry's first directory, %s", got, err, second)
	}
	if _, err := lookPath("no-such-command", env); err == nil {
		t.Error("lookPath found a command that does not exist")
	}
	if got, _ := lookPath("./bin/x", env); got != "./bin/x" {
		t.Errorf("lookPath changed a path: %q", got)
	}
}

// TestPluginQPSMatchesWhoami guards the copy of whoami's client settings
// the floor uses: the floor is only a floor with the same rate limit.
func TestPluginQPSMatchesWhoami(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "pkg", "cmd", "whoami.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"qps := max(100, 25*concurrency)", "cfg.QPS = float32(qps)", "cfg.Burst = qps"} {
		if !strings.Contains(string(src), want) {
			t.Errorf("pkg/cmd/whoami.go no longer has %q: update pluginQPS in test/bench/main.go to whoami's client settings", want)
		}
	}
	if got := pluginQPS(16); got != 400 {
		t.Errorf("pluginQPS(16) = %d, want 400", got)
	}
	if got := pluginQPS(1); got != 100 {
		t.Errorf("pluginQPS(1) = %d, want 100", got)
	}
}

func TestReadMaxRSS(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content string
		want          int64
		wantErr       bool
	}{
		{"plain", "21480\n", 21480 * 1024, false},
		{"after a failure line", "Command exited with non-zero status 4\n30000\n", 30000 * 1024, false},
		{"empty", "", 0, true},
		{"not a number", "21.5M\n", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.WriteFile(file, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readMaxRSS(file)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("readMaxRSS(%q) = %d, %v; want %d, error %v", tc.content, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
