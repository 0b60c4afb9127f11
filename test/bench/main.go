// Command bench measures kubectl-access side by side with the documented
// shell flow and with kubectl, on a local control plane it starts itself
// (issue 8). It is a benchmark, not a test: it reports and never fails on
// speed.
//
//	make bench                          # build, then run with the defaults
//	make bench BENCH_FLAGS='-pairs 5 -n 20'
//	go run ./test/bench [flags]         # after make build controlplane
//
// It starts etcd, kube-apiserver (with an audit log at level Metadata) and
// kube-controller-manager from pkg/controlplane; creates namespace bench
// with service account legacy (a hand-made legacy token Secret,
// legacy-token) and service account reader (no Secret, bound to a small
// ClusterRole in bench and in every 5th extra namespace); then measures,
// running the variants of each job interleaved (A B A B ...) so that load
// from elsewhere on the machine hits both sides alike:
//
//  1. kubectl access probe vs the documented kubectl|grep|cut + curl pipeline;
//  2. kubectl access token vs kubectl create token, and vs kubectl get
//     secret -o jsonpath | base64 -d;
//  3. kubectl access whoami vs kubectl auth whoami + kubectl auth can-i
//     --list with the same token (a token-only kubeconfig);
//  4. kubectl access whoami -A over N extra namespaces vs a shell loop of
//     kubectl auth can-i --list -n NS --token, and vs the floor: the same N
//     SelfSubjectRulesReviews sent by test/bench/floor with the plugin's
//     client settings, and vs its floor program on the library floor
//     (test/bench/floor/jobs whoami --all: the namespace list, the identity
//     review and the RBAC lists too, with the best overlap);
//  5. whoami --verify, which adds one SelfSubjectAccessReview per risky
//     action (pkg/review.RiskActionCounts), beside the rules
//     review alone: in namespace bench, also vs kubectl auth can-i once per
//     action; with -A over N extra namespaces, vs the least time the
//     plugin's client rate limit allows, as a kubectl loop there would
//     start thousands of processes (the report estimates it instead), and
//     beside its floor program (test/bench/floor/jobs whoami --all
//     --verify-file: the same reviews, a byte kept per answer), the bound
//     of its peak memory;
//  6. the requests each command sends, counted by user agent from the API
//     server's audit log (no hook in the plugin);
//  7. start-up time, peak memory (rusage of every run), binary and archive
//     size, next to kubectl's;
//  8. the floors of issue 19, built like the plugin: the bare Go floor
//     (test/bench/floor/bare, crypto/tls and net/http), the library floor
//     (test/bench/floor/lib, genericclioptions on cobra plus the typed core,
//     authentication and authorization clients) beside the start-up, and
//     per single-shot job a floor program (test/bench/floor/jobs) sending
//     the job's requests with the best overlap possible; kubectl-access
//     kubeconfig against its floor; and each command's critical path in
//     round trips, from the audit log's timestamps, beside its floor's.
//
// It prints a Markdown report, with the targets marked PASS or MISS,
// and writes it to -out (docs/benchmarks.md by default). Commands the
// plugin does not have yet are reported as not available rather than
// failing the run.
//
// Flags (the knobs that bound the run time: with the defaults on 2 cores
// a run took 15 minutes on a loaded machine, nearly 3 of them in the
// --verify jobs, most of that one run of whoami -A --verify at 500
// namespaces, which the client rate limit holds to at least 77 s):
//
//	-bin FILE            the plugin binary, named kubectl-access (bin/kubectl-access)
//	-controlplane DIR    etcd, kube-apiserver, kube-controller-manager, kubectl
//	-n LIST              extra namespace counts for whoami -A (50,500)
//	-pairs N             rounds for the quick jobs (15)
//	-loop-pairs LIST     rounds against the kubectl loop, one per -n entry (5,3)
//	-verify-pairs LIST   rounds for whoami -A --verify, one per -n entry (3,1);
//	                     the --verify job in namespace bench takes the first
//	-startup-pairs N     rounds for the start-up job (30)
//	-concurrency N       floor concurrency; 0 reads the plugin's default from whoami --help
//	-qps Q, -burst B     floor client QPS and burst; 0 takes the plugin's (review.FanOutConfig)
//	-floor FILE          a prebuilt floor binary (default: built into a temporary directory)
//	-only LIST           run only these jobs: startup,token,probe,whoami,kubeconfig,verify,check,namespaces,audit
//	-out FILE            where to write the report; "" prints it only
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kubectl-access/kubectl-access/pkg/controlplane"
	"github.com/kubectl-access/kubectl-access/pkg/review"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// options are the parsed flags.
type options struct {
	plugin string
	binDir string
	floor  string
	// bareFloor, libFloor and jobFloor are the floor programs of issue 19,
	// built into the work directory when a job needs them.
	bareFloor, libFloor, jobFloor string
	ns                            []int
	pairs                         int
	loopPairs                     []int
	verifyPairs                   []int
	startupPairs                  int
	concurrency                   int
	qps                           float64
	burst                         int
	only                          map[string]bool
	out                           string
	args                          []string
}

// pluginRateLimit is the client rate limit whoami sets for its fan-out of
// reviews at the given concurrency, taken from the plugin's own
// review.FanOutConfig rather than copied, so that the floor keeps the
// plugin's settings (unless -qps or -burst say otherwise) and the --verify
// bound follows them.
func pluginRateLimit(concurrency int) (qps float64, burst int) {
	cfg := review.FanOutConfig(&rest.Config{}, concurrency)
	return float64(cfg.QPS), cfg.Burst
}

// allJobs are the names -only accepts.
const allJobs = "startup,token,probe,whoami,kubeconfig,verify,check,namespaces,audit"

func parseFlags(args []string) (*options, error) {
	o := &options{args: args}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.plugin, "bin", "bin/kubectl-access", "the plugin binary; its name must be kubectl-access so that kubectl finds it on PATH")
	fs.StringVar(&o.binDir, "controlplane", controlplane.BinDir(), "directory with etcd, kube-apiserver, kube-controller-manager and kubectl")
	fs.StringVar(&o.floor, "floor", "", "prebuilt floor binary (default: go build ./test/bench/floor into a temporary directory)")
	nsList := fs.String("n", "50,500", "extra namespace counts for whoami -A, ascending")
	fs.IntVar(&o.pairs, "pairs", 15, "rounds for the quick jobs")
	loopList := fs.String("loop-pairs", "5,3", "rounds against the kubectl loop, one per -n entry (the last repeats)")
	verifyList := fs.String("verify-pairs", "3,1", "rounds for whoami -A --verify, one per -n entry (the last repeats); the --verify job in namespace bench takes the first. At 500 namespaces one run takes over a minute")
	fs.IntVar(&o.startupPairs, "startup-pairs", 30, "rounds for the start-up job")
	fs.IntVar(&o.concurrency, "concurrency", 0, "floor concurrency; 0 reads the plugin's default from `kubectl-access whoami --help`")
	fs.Float64Var(&o.qps, "qps", 0, "floor client QPS; 0 is the plugin's (review.FanOutConfig)")
	fs.IntVar(&o.burst, "burst", 0, "floor client burst; 0 is the plugin's (review.FanOutConfig)")
	onlyList := fs.String("only", allJobs, "jobs to run, comma-separated: "+allJobs)
	fs.StringVar(&o.out, "out", "docs/benchmarks.md", "file the Markdown report is written to; empty prints it only")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if o.ns, err = intList("-n", *nsList); err != nil {
		return nil, err
	}
	for i := 1; i < len(o.ns); i++ {
		if o.ns[i] <= o.ns[i-1] {
			return nil, fmt.Errorf("-n must be ascending (got %s)", *nsList)
		}
	}
	if o.loopPairs, err = intList("-loop-pairs", *loopList); err != nil {
		return nil, err
	}
	if o.verifyPairs, err = intList("-verify-pairs", *verifyList); err != nil {
		return nil, err
	}
	if o.pairs < 1 || o.startupPairs < 1 {
		return nil, errors.New("-pairs and -startup-pairs must be at least 1")
	}
	o.only = map[string]bool{}
	for _, j := range strings.Split(*onlyList, ",") {
		j = strings.TrimSpace(j)
		if !slices.Contains(strings.Split(allJobs, ","), j) {
			return nil, fmt.Errorf("-only: unknown job %q (known: %s)", j, allJobs)
		}
		o.only[j] = true
	}
	if filepath.Base(o.plugin) != "kubectl-access" {
		return nil, fmt.Errorf("-bin must name a file called kubectl-access, so that kubectl finds it as a plugin (got %s)", o.plugin)
	}
	if o.plugin, err = filepath.Abs(o.plugin); err != nil {
		return nil, err
	}
	return o, nil
}

// intList parses "50,500" into positive integers.
func intList(flagName, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: %q is not a positive integer", flagName, f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(args []string) int {
	o, err := parseFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	return 0
}

// bench does the whole run.
func bench(ctx context.Context, o *options) error {
	for _, f := range []string{o.plugin, filepath.Join(o.binDir, "kubectl")} {
		if info, err := os.Stat(f); err != nil || info.Mode()&0o111 == 0 {
			return fmt.Errorf("%s is not an executable file: run make build controlplane first", f)
		}
	}
	// The report's directory, before minutes of measuring.
	if o.out != "" {
		if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
			return err
		}
	}
	work, err := os.MkdirTemp("", "kubectl-access-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	home := filepath.Join(work, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}

	r := &runner{dir: work, progress: os.Stderr}
	r.env = []string{
		"PATH=" + strings.Join([]string{filepath.Dir(o.plugin), o.binDir, os.Getenv("PATH")}, string(os.PathListSeparator)),
		"HOME=" + home,
		"LANG=C.UTF-8",
	}
	r.timeBin = findGNUTime(work)
	if r.timeBin == "" {
		fmt.Fprintln(os.Stderr, "bench: GNU time is not installed: peak memory is read from rusage, an upper bound (on Debian: apt-get install -y time)")
	}
	rep := &report{started: time.Now(), opts: o, machine: describeMachine(), memExact: r.timeBin != ""}
	rep.caps = detect(ctx, r, o.plugin)
	rep.versions = versions(ctx, r, o)
	if rep.curl, err = exec.LookPath("curl"); err != nil {
		rep.curl = ""
		fmt.Fprintln(os.Stderr, "bench: curl is not installed: the documented pipeline cannot run (on Debian: apt-get install -y curl)")
	}
	if o.concurrency == 0 {
		o.concurrency = rep.caps.concurrency
	}
	qps, burst := pluginRateLimit(o.concurrency)
	if o.qps == 0 {
		o.qps = qps
	}
	if o.burst == 0 {
		o.burst = burst
	}
	if (o.only["namespaces"] || o.only["check"]) && o.floor == "" {
		if o.floor, err = buildFloor(ctx, work, "floor", "./test/bench/floor"); err != nil {
			return err
		}
	}
	if o.only["startup"] {
		if o.bareFloor, err = buildFloor(ctx, work, "bare-floor", "./test/bench/floor/bare"); err != nil {
			return err
		}
		if o.libFloor, err = buildFloor(ctx, work, "library-floor", "./test/bench/floor/lib"); err != nil {
			return err
		}
	}
	// whoami -A (namespaces) and audit have their floors there too.
	if o.only["token"] || o.only["probe"] || o.only["whoami"] || o.only["kubeconfig"] || o.only["namespaces"] || o.only["audit"] {
		if o.jobFloor, err = buildFloor(ctx, work, "job-floor", "./test/bench/floor/jobs"); err != nil {
			return err
		}
	}

	policy := filepath.Join(work, "audit-policy.yaml")
	auditPath := filepath.Join(work, "audit.log")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "bench: starting the control plane")
	cp, err := controlplane.Start(ctx, controlplane.Options{
		BinDir: o.binDir,
		ExtraAPIServerArgs: []string{
			"--audit-policy-file=" + policy,
			"--audit-log-path=" + auditPath,
			"--audit-log-mode=blocking",
			// 0: one plain file, never rotated, so byte offsets hold.
			"--audit-log-maxsize=0",
		},
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := cp.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: stopping the control plane: %v\n", err)
		}
	}()
	c, err := setup(ctx, cp, work)
	if err != nil {
		return err
	}
	r.env = append(r.env, "KUBECONFIG="+c.benchKubeconfig)
	r.audit = &auditLog{path: auditPath, mark: c.mark}
	// kubectl caches discovery under $HOME/.kube/cache; warm it once, as a
	// user's would be, so that no measured run pays for a cold cache.
	if _, _, err := r.runOnce(ctx, variant{Shown: "kubectl api-resources", Argv: []string{"kubectl", "api-resources"}}, false); err != nil {
		return err
	}

	b := &benchmarks{o: o, c: c, r: r, rep: rep, work: work}
	if err := b.runAll(ctx); err != nil {
		return err
	}
	rep.sizes = sizes(o)
	rep.finished = time.Now()
	rep.machine.loadEnd = loadAverage()
	text := rep.markdown()
	fmt.Print(text)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(text), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: wrote %s\n", o.out)
	}
	return nil
}

// capabilities is what the plugin binary under test can do.
type capabilities struct {
	// missing maps a command to why it cannot be measured yet.
	missing map[string]string
	// concurrency is whoami's default --concurrency, 0 when unknown.
	concurrency int
}

// concurrencyDefault finds the default of --concurrency in help text.
var concurrencyDefault = regexp.MustCompile(`--concurrency[^\n]*\(default (\d+)\)`)

// detect finds which commands and flags the plugin has, from their help.
func detect(ctx context.Context, r *runner, plugin string) capabilities {
	caps := capabilities{missing: map[string]string{}}
	needs := map[string][]string{
		"token":      nil,
		"kubeconfig": nil,
		"probe":      {"--path", "--token-file"},
		"whoami":     {"--all-namespaces", "--token-file", "--concurrency"},
		"check":      {"--filename", "--junit"},
		"audit":      {"--all-contexts"},
	}
	for cmd, flags := range needs {
		_, help, err := r.runOnce(ctx, variant{Shown: "kubectl-access " + cmd + " --help", Argv: []string{plugin, cmd, "--help"}}, false)
		if err != nil || !strings.Contains(help, "kubectl access "+cmd) {
			caps.missing[cmd] = "not available yet: this kubectl-access has no " + cmd + " command"
			continue
		}
		for _, f := range flags {
			if !strings.Contains(help, f) {
				caps.missing[cmd] = "not available yet: kubectl-access " + cmd + " has no " + f + " flag"
			}
		}
		if cmd == "whoami" {
			if !strings.Contains(help, "--verify") {
				caps.missing["verify"] = "not available yet: kubectl-access whoami has no --verify flag"
			}
			if m := concurrencyDefault.FindStringSubmatch(help); m != nil {
				caps.concurrency, _ = strconv.Atoi(m[1])
			}
		}
	}
	return caps
}

// buildFloor builds the floor program pkg into dir/name the way the
// Makefile builds the plugin (stripped, static, trimmed paths), so that
// both start alike.
func buildFloor(ctx context.Context, dir, name, pkg string) (string, error) {
	out := filepath.Join(dir, name)
	fmt.Fprintf(os.Stderr, "bench: building %s\n", pkg)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the floor program %s: %w\n%s", pkg, err, msg)
	}
	return out, nil
}
