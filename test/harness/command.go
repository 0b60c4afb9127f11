// Package harness is what the end-to-end suites of kubectl-access (test/e2e,
// test/krew) share: a command runner whose calls read like the sentence they
// test, in the manner of krew's integration tests,
//
//	harness.Command(t, "kubectl", "access", "token", "ci", "--duration=5m").
//		WithPath(bin).WithKubeconfig(admin).
//		ExpectRefusal(2, "--duration must be at least 10m")
//
// the secret-leak assertion every command's output is held to, the suites'
// TestMain (skipped under -short) and local control plane, and a reader of
// that control plane's audit log for tests that must prove what no request
// carried.
//
// A command runs in a clean environment: the PATH, HOME, KUBECONFIG and
// variables the test gives it, and nothing of the test process's own unless
// the test passes it on, so that no kubeconfig, cache or plugin of the
// machine's can answer for the plugin. It is an ordinary package, not a
// _test file, so that both test packages can import it.
package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// DefaultTimeout bounds every command that does not say otherwise
// (WithTimeout), so that a hang fails its test instead of the whole run.
const DefaultTimeout = 2 * time.Minute

// waitDelay is how long Run still reads a command's output once the
// command is killed or has exited.
const waitDelay = 10 * time.Second

// Cmd is one command a test runs. Command starts it, the With methods
// adjust it, and Run, RunOK, ExpectExit or ExpectRefusal run it; Exec hands
// it over for a test that must drive the process itself. Each run of the
// same Cmd starts a new process.
type Cmd struct {
	t          testing.TB
	name       string
	args       []string
	path       []string
	home       string
	kubeconfig string
	env        []string
	// stdin is kept as a string, not a reader, so that every run of the
	// Cmd reads all of it.
	stdin    string
	hasStdin bool
	dir      string
	timeout  time.Duration
}

// Result is what a command printed and how it exited.
type Result struct {
	// Stdout and Stderr are everything the command wrote on each.
	Stdout, Stderr string
	// Code is the exit code.
	Code int
	// Elapsed is how long the command ran.
	Elapsed time.Duration
}

// Command describes a run of the program name with args. A name without a
// path separator is looked up in the PATH the command runs with (WithPath),
// as a shell would, not in the test process's own.
func Command(t testing.TB, name string, args ...string) *Cmd {
	t.Helper()
	return &Cmd{t: t, name: name, args: args, timeout: DefaultTimeout}
}

// WithPath sets the command's PATH to dirs, in order. Without it the
// command has no PATH.
func (c *Cmd) WithPath(dirs ...string) *Cmd { c.path = dirs; return c }

// WithHome sets HOME, and KUBECACHEDIR to its cache directory. Without it
// every run gets a fresh, empty home in the test's temporary directory.
func (c *Cmd) WithHome(dir string) *Cmd { c.home = dir; return c }

// WithKubeconfig sets KUBECONFIG; "" (the default) sets it empty, so that
// kubectl reads no kubeconfig of the machine's.
func (c *Cmd) WithKubeconfig(path string) *Cmd { c.kubeconfig = path; return c }

// WithEnv adds KEY=VALUE variables. They come after the ones the Cmd sets
// itself, so they override them (KUBECONFIG=a:b, for instance).
func (c *Cmd) WithEnv(kv ...string) *Cmd { c.env = append(c.env, kv...); return c }

// WithStdin gives the command s on its standard input; without it, the
// command reads end of file.
func (c *Cmd) WithStdin(s string) *Cmd { c.stdin, c.hasStdin = s, true; return c }

// WithDir runs the command in dir instead of the test's working directory.
func (c *Cmd) WithDir(dir string) *Cmd { c.dir = dir; return c }

// WithTimeout bounds the run to d instead of DefaultTimeout.
func (c *Cmd) WithTimeout(d time.Duration) *Cmd { c.timeout = d; return c }

// String is the command as a failure message names it: the program's base
// name and the arguments.
func (c *Cmd) String() string {
	return strings.Join(append([]string{filepath.Base(c.name)}, c.args...), " ")
}

// Exec returns the command, not started, for a test that must act on the
// running process (send it a signal, read its stderr as it comes). ctx
// kills the process when done. Stdout and Stderr are the caller's to set.
func (c *Cmd) Exec(ctx context.Context) *exec.Cmd {
	c.t.Helper()
	home := c.home
	if home == "" {
		home = c.t.TempDir()
	}
	var env []string
	if c.path != nil {
		env = append(env, "PATH="+strings.Join(c.path, string(os.PathListSeparator)))
	}
	env = append(env,
		"HOME="+home,
		"KUBECONFIG="+c.kubeconfig,
		"KUBECACHEDIR="+filepath.Join(home, "cache"),
	)
	env = append(env, c.env...)
	program, err := lookPath(c.name, lastValue(env, "PATH"))
	if err != nil {
		c.t.Fatalf("running %s: %v", c, err)
	}
	cmd := exec.CommandContext(ctx, program, c.args...)
	cmd.Env = env
	cmd.Dir = c.dir
	if c.hasStdin {
		cmd.Stdin = strings.NewReader(c.stdin)
	}
	return cmd
}

// Run runs the command and returns its result, whatever the exit code. It
// fails the test if the command cannot start or does not finish in time.
func (c *Cmd) Run() Result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	cmd := c.Exec(ctx)
	// A child the command left behind could hold its output open after
	// the timeout killed it; stop waiting for that output soon after.
	cmd.WaitDelay = waitDelay
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String(), Elapsed: time.Since(start)}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		c.t.Fatalf("%s did not finish within %s\nstderr:\n%s", c, c.timeout, res.Stderr)
	case errors.As(err, &exitErr):
		res.Code = exitErr.ExitCode()
	case err != nil:
		c.t.Fatalf("running %s: %v", c, err)
	}
	return res
}

// RunOK runs the command and fails the test unless it exits 0.
func (c *Cmd) RunOK() Result {
	c.t.Helper()
	res := c.Run()
	if res.Code != 0 {
		c.t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", c, res.Code, res.Stdout, res.Stderr)
	}
	return res
}

// ExpectExit runs the command and fails the test unless it exits with code
// and its stderr contains every one of want.
func (c *Cmd) ExpectExit(code int, want ...string) Result {
	c.t.Helper()
	res := c.Run()
	if res.Code != code {
		c.t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", c, res.Code, code, res.Stdout, res.Stderr)
	}
	for _, w := range want {
		if !strings.Contains(res.Stderr, w) {
			c.t.Errorf("%s: stderr does not contain %q:\n%s", c, w, res.Stderr)
		}
	}
	return res
}

// ExpectRefusal runs a command that must be refused: it exits with code,
// prints nothing on stdout and exactly one "error: " line on stderr, which
// contains every one of want.
func (c *Cmd) ExpectRefusal(code int, want ...string) Result {
	c.t.Helper()
	res := c.ExpectExit(code, append([]string{"error: "}, want...)...)
	if res.Stdout != "" {
		c.t.Errorf("stdout is not empty: %q", res.Stdout)
	}
	if n := strings.Count(res.Stderr, "error: "); n != 1 {
		c.t.Errorf("%d error lines, want exactly one:\n%s", n, res.Stderr)
	}
	return res
}

// lookPath finds name in the directories of path, as a shell would. A name
// with a path separator is taken as it is. Empty entries are skipped: they
// would mean the working directory, which no command here runs from.
func lookPath(name, path string) (string, error) {
	if strings.ContainsRune(name, os.PathSeparator) {
		return name, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not in the command's PATH %q", name, path)
}

// lastValue returns the value of the last KEY=VALUE entry for key in env,
// the one a program sees.
func lastValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}
