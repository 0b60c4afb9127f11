package main

import (
	"os"
	"path/filepath"
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
