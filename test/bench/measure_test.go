package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// TestRateLimitBound pins the token bucket arithmetic of the --verify
// bound: the burst is free, the rest goes at QPS.
func TestRateLimitBound(t *testing.T) {
	qps, burst := pluginRateLimit(16)
	if qps <= 0 || burst <= 0 {
		t.Fatalf("pluginRateLimit(16) = %g, %d: whoami sets no client rate limit for its fan-out", qps, burst)
	}
	for _, tc := range []struct {
		name     string
		requests int
		want     time.Duration
	}{
		{"within the burst, no wait", burst, 0},
		{"fewer than the burst, no wait", 1, 0},
		{"beyond the burst, at QPS", burst + int(2*qps), 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rateLimitBound(tc.requests, 16); got != tc.want {
				t.Errorf("rateLimitBound(%d, 16) = %s, want %s", tc.requests, got, tc.want)
			}
		})
	}
	if got := rateLimitBound(1000000, 0); got != 0 {
		t.Errorf("rateLimitBound with an unknown concurrency = %s, want 0 (no bound shown)", got)
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
