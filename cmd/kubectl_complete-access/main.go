// Command kubectl_complete-access lets kubectl complete "kubectl access
// <TAB>". kubectl 1.26 and newer runs the executable kubectl_complete-<plugin>
// found on PATH with the words typed after the plugin's name, and shows what
// it prints; this one passes them on to cobra's hidden completion command,
// "kubectl-access __complete ARGS...".
//
// It is a Go program rather than a shell script so that the same helper works
// on Windows. It ships in the release archive next to kubectl-access.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// pluginName is the executable this helper completes for.
const pluginName = "kubectl-access"

func main() {
	os.Exit(run(os.Args[1:]))
}

// run completes args with the plugin and returns the exit code to use.
func run(args []string) int {
	self, err := os.Executable()
	if err != nil {
		self = ""
	}
	plugin, err := findPlugin(self)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubectl_complete-access: %v\n", err)
		return 1
	}
	cmd := exec.Command(plugin, append([]string{"__complete"}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		return exitErr.ExitCode()
	case err != nil:
		fmt.Fprintf(os.Stderr, "kubectl_complete-access: %v\n", err)
		return 1
	}
	return 0
}

// findPlugin returns the kubectl-access beside the helper at self (symlinks
// resolved), so that a helper completes with the plugin of its own release;
// else the kubectl-access on PATH, which is the one kubectl runs.
func findPlugin(self string) (string, error) {
	name := pluginName
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if self != "" {
		if resolved, err := filepath.EvalSymlinks(self); err == nil {
			self = resolved
		}
		beside := filepath.Join(filepath.Dir(self), name)
		if fi, err := os.Stat(beside); err == nil && !fi.IsDir() {
			return beside, nil
		}
	}
	path, err := exec.LookPath(pluginName)
	if err != nil {
		return "", fmt.Errorf("%s is neither beside this helper nor on PATH: %w", pluginName, err)
	}
	return path, nil
}
