package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"
)

// unseenResults is PKG.unseen.json: the unseen mutants of one gremlins run
// (PKG.json) that the unseen runner ran itself, and how. Revision is the
// one the runner ran on; it refuses to run on results of another, and the
// renderer ignores a file whose revision is not its PKG.run's.
type unseenResults struct {
	Measured           string `json:"measured"`
	Revision           string `json:"revision"`
	Runtime            string `json:"runtime"`
	Workers            int    `json:"workers"`
	TimeoutCoefficient int    `json:"timeoutCoefficient"`
	// Baseline is the unmutated `go test` run that the timeout is
	// TimeoutCoefficient times.
	Baseline string         `json:"baseline"`
	Timeout  string         `json:"timeout"`
	Mutants  []unseenMutant `json:"mutants"`
}

// unseenMutant is one mutant as gremlins' JSON names it (File relative to
// the package), with the status the runner found.
type unseenMutant struct {
	File   string `json:"file_name"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Type   string `json:"type"`
	Status string `json:"status"`
}

func (m unseenMutant) key() string {
	return fmt.Sprintf("%s:%d:%d %s", m.File, m.Line, m.Column, m.Type)
}

// unseenOptions configure runUnseen.
type unseenOptions struct {
	Root        string // the module measured; never written to
	Results     string // hack/mutate.sh's results directory
	Revision    string // what Root is, as hack/mutate.sh names it
	Workers     int
	Coefficient int
	Log         io.Writer
}

// runUnseen runs, for each package, the NOT COVERED mutants of its
// gremlins results that sit at positions gremlins can never see as
// covered (see unseen), and writes PKG.unseen.json. A package is refused,
// and nothing written for it, when its results are of another revision,
// when a mutant does not match the source, or when its tests fail
// unmutated; the others still run. Mutants run in copies of Root, one per
// worker, made once and reused: the mutated file is written, the
// package's tests run, the file is put back.
func runUnseen(opts unseenOptions, pkgs []string) error {
	if opts.Workers < 1 {
		opts.Workers = 1
	}
	if opts.Coefficient < 1 {
		return fmt.Errorf("the timeout coefficient must be at least 1, not %d", opts.Coefficient)
	}
	tmp, err := os.MkdirTemp("", "kubectl-access-unseen.")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	results, err := filepath.Abs(opts.Results)
	if err != nil {
		return err
	}
	var copies []string
	var errs []error
	for _, pkg := range pkgs {
		jobs, err := unseenJobs(opts, pkg)
		if err == nil && len(jobs) > 0 && copies == nil {
			copies, err = makeCopies(opts.Root, results, tmp, opts.Workers)
		}
		if err == nil {
			err = runPackage(opts, pkg, jobs, copies)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", pkg, err))
			fmt.Fprintf(opts.Log, "%s: unseen mutants not run: %v\n", pkg, err)
		}
	}
	return errors.Join(errs...)
}

// job is one mutant to run: the file (relative to Root), its source and
// the mutated source.
type job struct {
	mutant  unseenMutant
	file    string
	orig    []byte
	mutated []byte
}

// unseenJobs reads pkg's gremlins results, checks their revision and
// prepares every unseen mutant, refusing the package if one does not
// apply to the source as it is.
func unseenJobs(opts unseenOptions, pkg string) ([]job, error) {
	base := filepath.Join(opts.Results, strings.ReplaceAll(pkg, "/", "_"))
	data, err := os.ReadFile(base + ".json")
	if err != nil {
		return nil, fmt.Errorf("no gremlins results to take the unseen mutants from: %w", err)
	}
	var res result
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("%s.json: %w", base, err)
	}
	meta, err := os.ReadFile(base + ".run")
	if err != nil {
		return nil, fmt.Errorf("without %s.run there is no saying which revision gremlins measured: %w", base, err)
	}
	var run pkgRun
	if err := yaml.UnmarshalStrict(meta, &run); err != nil {
		return nil, fmt.Errorf("%s.run: %w", base, err)
	}
	if run.Revision != opts.Revision {
		return nil, fmt.Errorf("gremlins measured revision %q, this is %q: measure it again, or run the unseen step on that revision", run.Revision, opts.Revision)
	}
	src := &unseenIn{root: opts.Root, files: map[string]*unseen{}}
	sources := map[string][]byte{}
	var jobs []job
	var errs []error
	for _, f := range res.Files {
		file := path.Join(pkg, filepath.ToSlash(f.Name))
		for _, m := range f.Mutations {
			if m.Status != notCovered {
				continue
			}
			in, err := src.contains(file, m.Line, m.Column)
			if err != nil {
				return nil, err
			}
			if !in {
				continue
			}
			orig, ok := sources[file]
			if !ok {
				orig, err = os.ReadFile(filepath.Join(opts.Root, filepath.FromSlash(file)))
				if err != nil {
					return nil, err
				}
				sources[file] = orig
			}
			mutated, err := mutate(file, orig, m.Type, m.Line, m.Column)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			jobs = append(jobs, job{
				mutant: unseenMutant{File: f.Name, Line: m.Line, Column: m.Column, Type: m.Type},
				file:   file, orig: orig, mutated: mutated,
			})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return jobs, nil
}

// runPackage runs pkg's jobs, opts.Workers at a time, each worker in its
// own copy, and writes PKG.unseen.json.
func runPackage(opts unseenOptions, pkg string, jobs []job, copies []string) error {
	start := time.Now()
	out := unseenResults{
		Measured:           start.UTC().Format(time.RFC3339),
		Revision:           opts.Revision,
		Workers:            opts.Workers,
		TimeoutCoefficient: opts.Coefficient,
		Mutants:            []unseenMutant{},
	}
	if len(jobs) > 0 {
		fmt.Fprintf(opts.Log, "%s: running %d unseen mutants\n", pkg, len(jobs))
		// Each copy builds the package once unmutated first, so that no
		// mutant's run pays for compiling its dependencies in a new
		// directory, and so that tests failing already are found before
		// any mutant is blamed; then one more run, timed, as gremlins
		// times its coverage run.
		var wg sync.WaitGroup
		warm := make([]error, len(copies))
		for i, dir := range copies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, _, err := goTest(context.Background(), dir, pkg, 0)
				if err == nil && status != lived {
					err = fmt.Errorf("its tests do not pass unmutated in %s (%s)", dir, status)
				}
				warm[i] = err
			}()
		}
		wg.Wait()
		if err := errors.Join(warm...); err != nil {
			return err
		}
		t := time.Now()
		if status, _, err := goTest(context.Background(), copies[0], pkg, 0); err != nil || status != lived {
			return fmt.Errorf("its tests do not pass unmutated (%s, %v)", status, err)
		}
		baseline := time.Since(t)
		timeout := baseline * time.Duration(opts.Coefficient)
		out.Baseline, out.Timeout = baseline.Round(time.Millisecond).String(), timeout.Round(time.Millisecond).String()

		queue := make(chan int)
		done := make([]unseenMutant, len(jobs))
		fail := make([]error, len(copies))
		for w, dir := range copies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range queue {
					if fail[w] != nil {
						continue
					}
					done[i], fail[w] = runJob(dir, pkg, jobs[i], timeout)
					if fail[w] == nil {
						m := done[i]
						fmt.Fprintf(opts.Log, "%s/%s:%d:%d %s: %s\n", pkg, m.File, m.Line, m.Column, m.Type, m.Status)
					}
				}
			}()
		}
		for i := range jobs {
			queue <- i
		}
		close(queue)
		wg.Wait()
		if err := errors.Join(fail...); err != nil {
			return err
		}
		out.Mutants = done
	}
	slices.SortFunc(out.Mutants, func(a, b unseenMutant) int {
		return byPosition(a.File, a.Line, a.Column, a.Type, b.File, b.Line, b.Column, b.Type)
	})
	out.Runtime = time.Since(start).Round(time.Second).String()
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	name := filepath.Join(opts.Results, strings.ReplaceAll(pkg, "/", "_")+".unseen.json")
	if err := os.WriteFile(name+".tmp", append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(name+".tmp", name)
}

// runJob writes the mutated file into the copy at dir, runs the package's
// tests and puts the file back, whatever happened.
func runJob(dir, pkg string, j job, timeout time.Duration) (m unseenMutant, err error) {
	m = j.mutant
	file := filepath.Join(dir, filepath.FromSlash(j.file))
	if err := os.WriteFile(file, j.mutated, 0o644); err != nil {
		return m, err
	}
	defer func() {
		if rerr := os.WriteFile(file, j.orig, 0o644); rerr != nil && err == nil {
			err = fmt.Errorf("putting %s back: %w", file, rerr)
		}
	}()
	m.Status, _, err = goTest(context.Background(), dir, pkg, timeout)
	return m, err
}

// goTest runs `go test -short -count=1 ./pkg` in dir (with GOFLAGS as the
// caller set them) and says what its outcome makes of a mutant: LIVED when
// the tests pass, KILLED when one fails, NOT VIABLE when the package does
// not build (or go test refuses, its exit code 2; gremlins would count a
// build failure, exit code 1, as killed), TIMED OUT when it runs past
// timeout (0: none). The whole process group is killed on timeout, so no
// test binary is left running. Other failures are errors, not guessed at.
func goTest(ctx context.Context, dir, pkg string, timeout time.Duration) (string, []byte, error) {
	args := []string{"test", "-short", "-count=1", "-failfast"}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
		// As gremlins: the test binary's own timeout a little later,
		// so that it is the runner's that decides.
		args = append(args, "-timeout", (timeout + 2*time.Second).String())
	}
	cmd := exec.CommandContext(ctx, "go", append(args, "./"+pkg)...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return timedOut, out.Bytes(), nil
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return lived, out.Bytes(), nil
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		if bytes.Contains(out.Bytes(), []byte("[build failed]")) || bytes.Contains(out.Bytes(), []byte("[setup failed]")) {
			return notViable, out.Bytes(), nil
		}
		return killed, out.Bytes(), nil
	case errors.As(err, &exit) && exit.ExitCode() == 2:
		return notViable, out.Bytes(), nil
	}
	return "", out.Bytes(), fmt.Errorf("go test %s in %s: %w\n%s", pkg, dir, err, out.Bytes())
}

// makeCopies copies the module at root into n new directories under tmp,
// leaving out .git and the results directory.
func makeCopies(root, results, tmp string, n int) ([]string, error) {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for i := range n {
		dst := filepath.Join(tmp, fmt.Sprintf("worker-%d", i))
		if err := copyTree(absRoot, dst, results); err != nil {
			return nil, err
		}
		dirs = append(dirs, dst)
	}
	return dirs, nil
}

func copyTree(src, dst, skip string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// .git is a file in a worktree: a copy pointing at the real
		// repository is not wanted either.
		if p != src && (d.Name() == ".git" || p == skip) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		}
		return nil
	})
}
