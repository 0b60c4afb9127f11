package main

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func executable(t *testing.T, dir, name string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFindPlugin checks which kubectl-access the helper runs: the one beside
// it (through a symlink, as krew links binaries), else the one on PATH.
func TestFindPlugin(t *testing.T) {
	release := t.TempDir()
	onPath := t.TempDir()
	t.Setenv("PATH", onPath)
	beside := executable(t, release, "kubectl-access")
	helper := executable(t, release, "kubectl_complete-access")
	pathPlugin := executable(t, onPath, "kubectl-access")

	if got, err := findPlugin(helper); err != nil || got != beside {
		t.Errorf("findPlugin(helper in release) = %q, %v; want %q", got, err, beside)
	}

	if runtime.GOOS != "windows" {
		links := t.TempDir()
		link := filepath.Join(links, "kubectl_complete-access")
		if err := os.Symlink(helper, link); err != nil {
			t.Fatal(err)
		}
		if got, err := findPlugin(link); err != nil || got != beside {
			t.Errorf("findPlugin(symlink to helper) = %q, %v; want %q", got, err, beside)
		}
	}

	alone := executable(t, t.TempDir(), "kubectl_complete-access")
	if got, err := findPlugin(alone); err != nil || got != pathPlugin {
		t.Errorf("findPlugin(helper alone) = %q, %v; want %q from PATH", got, err, pathPlugin)
	}

	t.Setenv("PATH", t.TempDir())
	if got, err := findPlugin(alone); err == nil {
		t.Errorf("findPlugin with no plugin anywhere = %q, want an error", got)
	}
}
