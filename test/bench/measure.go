package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// variant is one way of doing a job: a command line the benchmark runs
// again and again.
type variant struct {
	// Name labels the variant in tables.
	Name string
	// Shown is the command as the report shows it.
	Shown string
	// Argv is what is executed.
	Argv []string
	// Env is added to the runner's environment.
	Env []string
	// Check validates a run's output, so that a command that failed quietly
	// is not timed as a fast one. Nil accepts any output of a run that
	// exited 0.
	Check func(stdout string) error
	// Slow skips the untimed warm-up run (the kubectl loop at N=500 takes
	// minutes).
	Slow bool
	// Plugin marks kubectl-access's own commands, which the memory target
	// applies to.
	Plugin bool
	// Timeout bounds one run.
	Timeout time.Duration
	// Floor is the most requests the plugin may send for this job, from the
	// issue; 0 when no floor applies (kubectl, the shell, the floor
	// program).
	Floor int
	// Paths are URLs the command was asked to request (probe --path), so
	// that a request for /api is not taken for discovery.
	Paths []string
	// Against names the floor program (issue 19) of the same comparison
	// that this plugin command is held to, for its critical path; "" for
	// none.
	Against string
	// PeakAgainst names a floor program of the same comparison whose peak
	// memory this command's is set beside, when it is held to none for its
	// critical path (whoami -A: a fan-out's chain of round trips varies by
	// one or two from run to run).
	PeakAgainst string
}

// sample is one run.
type sample struct {
	Wall time.Duration
	// MaxRSS is the peak resident set size in bytes of the process and the
	// descendants it waited for (wait4's rusage), so a shell pipeline
	// reports its largest member and `kubectl access` (which execs the
	// plugin in place) the larger of the two images; 0 when not measured.
	MaxRSS int64
}

// comparison runs variants interleaved (A B C A B C ...) and keeps every
// sample. Variants[0] is the reference A that ratios are taken against.
type comparison struct {
	ID       string
	Title    string
	Variants []variant
	Pairs    int
	// N is the number of extra namespaces and Namespaces the number of all
	// namespaces, for the whoami -A jobs; 0 for the others.
	N, Namespaces int
	// Samples[v][round] is variant v's run in that round.
	Samples [][]sample
	// Memory[v] is variant v's peak resident set size in bytes, from the
	// run measured for memory (see runner.run).
	Memory []int64
	// Requests[v] is what variant v sent in its first timed round, per
	// user agent product (nil without an audit log).
	Requests []map[string][]request
	// Paths[v] are variant v's critical paths in round trips, one per
	// timed round, for a plugin command held to a floor program and for
	// that floor program (-1 where the audit log had no timestamps); nil
	// for the other variants or without an audit log.
	Paths [][]int
	// Unavailable says why the comparison was not run ("" when it was).
	Unavailable string
	// Err is why it stopped early.
	Err error
}

// walls returns variant v's wall times.
func (c *comparison) walls(v int) []time.Duration {
	ds := make([]time.Duration, len(c.Samples[v]))
	for i, s := range c.Samples[v] {
		ds[i] = s.Wall
	}
	return ds
}

// peakRSS returns variant v's peak resident set size, 0 if unknown.
func (c *comparison) peakRSS(v int) int64 {
	if v >= len(c.Memory) {
		return 0
	}
	return c.Memory[v]
}

// criticalPaths returns the fewest and the most round trips on variant
// v's critical path over its rounds (Paths), or, when no round was traced,
// those of its first round's requests; ok is false when a round had no
// timestamps or nothing is known.
func (c *comparison) criticalPaths(v int) (fewest, most int, ok bool) {
	if v < len(c.Paths) && len(c.Paths[v]) > 0 {
		fewest, most = slices.Min(c.Paths[v]), slices.Max(c.Paths[v])
		return fewest, most, fewest >= 0
	}
	if v >= len(c.Requests) || c.Requests[v] == nil {
		return 0, 0, false
	}
	d, ok := criticalPath(allRequests(c.Requests[v]))
	return d, d, ok
}

// traced reports whether variant v's critical path is read in every
// round: it is held to a floor program, or it is one.
func (c *comparison) traced(v int) bool {
	if c.Variants[v].Against != "" {
		return true
	}
	for _, o := range c.Variants {
		if o.Against == c.Variants[v].Name {
			return true
		}
	}
	return false
}

// index returns the position of the variant named name, or -1.
func (c *comparison) index(name string) int {
	for i, v := range c.Variants {
		if v.Name == name {
			return i
		}
	}
	return -1
}

// measured reports whether the comparison ran to the end.
func (c *comparison) measured() bool {
	return c.Unavailable == "" && c.Err == nil && len(c.Samples) > 0 && len(c.Samples[0]) > 0
}

// runner runs commands in a fixed environment.
type runner struct {
	// env is the whole environment of every command.
	env []string
	// dir is the working directory.
	dir string
	// audit reads the requests each variant sent; nil skips counting.
	audit *auditLog
	// progress receives one line per round.
	progress io.Writer
	// timeBin is GNU time, which measures peak memory; "" when missing.
	//
	// The rusage of a child of this process cannot: Go starts children
	// with vfork (CLONE_VM), and at exec Linux charges the peak resident
	// set of the memory the child shared until then, this benchmark's own
	// (about 30 MiB), to the child. GNU time forks normally, so the rusage
	// it reads is the command's alone.
	timeBin string
}

// findGNUTime returns the path of a GNU time that supports -f %M -o FILE,
// or "".
func findGNUTime(dir string) string {
	bin, err := exec.LookPath("time")
	if err != nil {
		bin = "/usr/bin/time"
	}
	out := filepath.Join(dir, "time-check")
	if err := exec.Command(bin, "-f", "%M", "-o", out, "true").Run(); err != nil {
		return ""
	}
	if _, err := readMaxRSS(out); err != nil {
		return ""
	}
	return bin
}

// readMaxRSS reads the peak resident set size GNU time wrote with -f %M, in
// kilobytes, and returns it in bytes.
func readMaxRSS(file string) (int64, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	lines := strings.Fields(strings.TrimSpace(string(data)))
	if len(lines) == 0 {
		return 0, fmt.Errorf("%s is empty", file)
	}
	kb, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("GNU time wrote %q, not a size", data)
	}
	return kb * 1024, nil
}

// runOnce runs v once and returns its sample and standard output. With
// memory, it runs v under GNU time to measure its peak memory (a few
// hundred microseconds more of wall time), or, without GNU time, reads the
// rusage, which is an upper bound (see timeBin).
func (r *runner) runOnce(ctx context.Context, v variant, memory bool) (sample, string, error) {
	timeout := v.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	env := append(append([]string(nil), r.env...), v.Env...)
	// exec.Command looks a bare name up in this process's PATH, where
	// another kubectl may come first; use the commands' own PATH.
	bin, err := lookPath(v.Argv[0], env)
	if err != nil {
		return sample{}, "", fmt.Errorf("%s: %w", v.Shown, err)
	}
	args := v.Argv[1:]
	memFile := ""
	if memory && r.timeBin != "" {
		memFile = filepath.Join(r.dir, "maxrss")
		args = append([]string{"-f", "%M", "-o", memFile, bin}, args...)
		bin = r.timeBin
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Dir = r.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.Canceled) {
			err = fmt.Errorf("did not finish within %s", timeout)
		}
		return sample{}, "", fmt.Errorf("%s: %w\nstderr: %s", v.Shown, err, tail(stderr.String(), 2000))
	}
	s := sample{Wall: wall}
	switch {
	case memFile != "":
		if s.MaxRSS, err = readMaxRSS(memFile); err != nil {
			return sample{}, "", fmt.Errorf("%s: %w", v.Shown, err)
		}
	case memory:
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			s.MaxRSS = int64(ru.Maxrss) * 1024 // kilobytes on Linux
		}
	}
	if v.Check != nil {
		if err := v.Check(stdout.String()); err != nil {
			return sample{}, "", fmt.Errorf("%s: unexpected output: %w\nstdout: %s\nstderr: %s", v.Shown, err, tail(stdout.String(), 1000), tail(stderr.String(), 1000))
		}
	}
	return s, stdout.String(), nil
}

// run measures c: one untimed warm-up run of each variant that is not
// Slow, which also measures its peak memory, then c.Pairs rounds running
// every variant in turn. A Slow variant's memory is measured in its first
// round instead, where GNU time's start adds well under 1% to a run of
// seconds. The requests of each variant's first round are read from the
// audit log, and so is every round's critical path of the variants that
// take part in one (comparison.traced): one round is a sample of a race
// between a connection's set-up, the scheduler and the server, many show
// the command's shape. The audit reads fall between the timed runs. A
// failed run stops the comparison and is recorded in c.Err.
func (r *runner) run(ctx context.Context, c *comparison) {
	c.Samples = make([][]sample, len(c.Variants))
	c.Requests = make([]map[string][]request, len(c.Variants))
	c.Paths = make([][]int, len(c.Variants))
	c.Memory = make([]int64, len(c.Variants))
	for i, v := range c.Variants {
		if v.Slow {
			continue
		}
		s, _, err := r.runOnce(ctx, v, true)
		if err != nil {
			c.Err = fmt.Errorf("warm-up: %w", err)
			return
		}
		c.Memory[i] = s.MaxRSS
	}
	for round := range c.Pairs {
		var line strings.Builder
		fmt.Fprintf(&line, "[%s] round %d/%d:", c.ID, round+1, c.Pairs)
		for i, v := range c.Variants {
			var offset int64
			read := r.audit != nil && (round == 0 || c.traced(i))
			if read {
				var err error
				if offset, err = r.audit.Offset(); err != nil {
					c.Err = err
					return
				}
			}
			s, _, err := r.runOnce(ctx, v, round == 0 && v.Slow)
			if err != nil {
				c.Err = err
				return
			}
			c.Samples[i] = append(c.Samples[i], s)
			if round == 0 && v.Slow {
				c.Memory[i] = s.MaxRSS
			}
			if read {
				sent, err := r.audit.Since(ctx, offset)
				if err != nil {
					c.Err = err
					return
				}
				if round == 0 {
					c.Requests[i] = sent
				}
				if c.traced(i) {
					d, ok := criticalPath(allRequests(sent))
					if !ok {
						d = -1
					}
					c.Paths[i] = append(c.Paths[i], d)
				}
			}
			fmt.Fprintf(&line, " %s %s", v.Name, fmtDur(s.Wall))
		}
		if r.progress != nil {
			fmt.Fprintln(r.progress, line.String())
		}
	}
}

// lookPath finds name in the PATH of env (the last PATH= entry wins, as in
// exec.Cmd.Env), unless name is a path already.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		file := filepath.Join(dir, name)
		if info, err := os.Stat(file); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return file, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH %s", name, path)
}

// tail returns the end of s, at most n bytes.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
