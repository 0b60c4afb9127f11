package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-access/kubectl-access/pkg/credential"
)

// Variant names the targets refer to.
const (
	nameHelp            = "kubectl-access --help"
	nameVersion         = "kubectl-access version"
	nameKubectlVersion  = "kubectl version --client"
	nameDispatchVersion = "kubectl access version"

	nameToken         = "kubectl-access token"
	nameTokenRequest  = "kubectl-access token --source=request"
	nameTokenDispatch = "kubectl access token"
	nameCreateToken   = "kubectl create token"
	nameGetSecret     = "kubectl get secret | base64 -d"

	nameProbe         = "kubectl-access probe"
	nameProbeDispatch = "kubectl access probe"
	namePipeline      = "documented pipeline"

	nameWhoami         = "kubectl-access whoami --token-file"
	nameWhoamiDispatch = "kubectl access whoami --token-file"
	nameWhoamiSA       = "kubectl-access whoami SA"
	nameWhoamiExplain  = "kubectl-access whoami --token-file --explain"
	nameAuthPair       = "kubectl auth whoami + can-i --list"

	nameWhoamiAll = "kubectl-access whoami -A"
	nameFloor     = "floor (minimal Go)"
	nameLoop      = "kubectl can-i loop"

	nameKubeconfig         = "kubectl-access kubeconfig"
	nameKubeconfigDispatch = "kubectl access kubeconfig"

	// The floors of issue 19 (test/bench/floor/bare, lib and jobs).
	nameBareFloor         = "bare Go floor (tls + http)"
	nameLibVersion        = "library floor version"
	nameLibHelp           = "library floor --help"
	nameFloorToken        = "floor: token (Secret)"
	nameFloorTokenRequest = "floor: token (TokenRequest)"
	nameFloorTokenAuto    = "floor: token (Secret, else TokenRequest)"
	nameFloorProbe        = "floor: probe"
	nameFloorWhoami       = "floor: whoami"
	nameFloorWhoamiAll    = "floor: whoami -A"
	nameFloorKubeconfig   = "floor: kubeconfig"
)

// libFloorVersion starts what the library floor's version prints
// (test/bench/floor/internal/libfloor.VersionLine).
const libFloorVersion = "kubectl-access-floor v0"

// Requests sent to obtain a token, per the token command's design and the
// issue's floor: the ServiceAccount and its Secrets, then a TokenRequest
// when no Secret serves.
const (
	tokenRequestsSecret  = 2
	tokenRequestsRequest = 3
)

// The documented pipeline, verbatim but for the service account: grep
// ^legacy instead of ^default, since on a current cluster only a hand-made
// Secret exists. kubectl is the one built for the tests (first on PATH).
const pipelineScript = `APISERVER=$(kubectl config view --minify | grep server | cut -f 2- -d ":" | tr -d " ")
SECRET_NAME=$(kubectl get secrets | grep ^legacy | cut -f1 -d ' ')
TOKEN=$(kubectl describe secret $SECRET_NAME | grep -E '^token' | cut -f2 -d':' | tr -d " ")
curl $APISERVER/api --header "Authorization: Bearer $TOKEN" --insecure`

// benchmarks holds what every job needs.
type benchmarks struct {
	o    *options
	c    *cluster
	r    *runner
	rep  *report
	work string
}

// runAll runs the jobs -only selects, in a fixed order, and adds every
// comparison to the report. A comparison that fails is reported and the
// others still run; an interrupt stops everything.
func (b *benchmarks) runAll(ctx context.Context) error {
	var steps []func(context.Context) error
	if b.o.only["startup"] {
		steps = append(steps, b.startup)
	}
	if b.o.only["token"] {
		steps = append(steps, b.token)
	}
	if b.o.only["probe"] {
		steps = append(steps, b.probe)
	}
	if b.o.only["whoami"] {
		steps = append(steps, b.whoami)
	}
	if b.o.only["kubeconfig"] {
		steps = append(steps, b.kubeconfig)
	}
	if b.o.only["verify"] {
		steps = append(steps, b.verify)
	}
	if b.o.only["check"] {
		steps = append(steps, b.check)
	}
	// whoami -A and whoami -A --verify share the namespaces, created once
	// for each -n in turn.
	if b.o.only["namespaces"] || b.o.only["verify"] {
		steps = append(steps, b.namespaces)
	}
	// The audit job reuses the extra namespaces, so it runs after them.
	if b.o.only["audit"] {
		steps = append(steps, b.auditJob)
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// measure runs c unless it is unavailable, and adds it to the report.
func (b *benchmarks) measure(ctx context.Context, c *comparison) {
	b.rep.comparisons = append(b.rep.comparisons, c)
	if c.Unavailable != "" {
		fmt.Fprintf(os.Stderr, "[%s] %s\n", c.ID, c.Unavailable)
		return
	}
	b.r.run(ctx, c)
	if c.Err != nil {
		fmt.Fprintf(os.Stderr, "[%s] failed: %v\n", c.ID, c.Err)
	}
}

// plugin is a variant running the plugin binary directly.
func (b *benchmarks) plugin(name string, floor int, check func(string) error, args ...string) variant {
	return variant{
		Name:   name,
		Shown:  b.short("kubectl-access " + strings.Join(args, " ")),
		Argv:   append([]string{b.o.plugin}, args...),
		Check:  check,
		Plugin: true,
		Floor:  floor,
	}
}

// dispatched is a variant running the plugin through kubectl's plugin
// dispatch, as a user types it.
func (b *benchmarks) dispatched(name string, floor int, check func(string) error, args ...string) variant {
	return variant{
		Name:  name,
		Shown: b.short("kubectl access " + strings.Join(args, " ")),
		Argv:  append([]string{"kubectl", "access"}, args...),
		Check: check,
		Floor: floor,
	}
}

// short drops the temporary directory from file names in a command shown.
func (b *benchmarks) short(shown string) string {
	return strings.ReplaceAll(shown, b.work+string(filepath.Separator), "")
}

// against sets the floor program v is held to, by its variant name in the
// same comparison.
func against(v variant, floor string) variant {
	v.Against = floor
	return v
}

// peakAgainst sets v's peak memory beside the floor program floor's.
func peakAgainst(v variant, floor string) variant {
	v.PeakAgainst = floor
	return v
}

// floorJob is a variant running a subcommand of the job floors
// (test/bench/floor/jobs) with the runner's kubeconfig.
func (b *benchmarks) floorJob(name string, check func(string) error, args ...string) variant {
	return variant{
		Name:  name,
		Shown: b.short("floor/jobs " + strings.Join(args, " ")),
		Argv:  append([]string{b.o.jobFloor}, args...),
		Check: check,
	}
}

// kubectl is a variant running kubectl.
func kubectl(name string, check func(string) error, args ...string) variant {
	return variant{Name: name, Shown: "kubectl " + strings.Join(args, " "), Argv: append([]string{"kubectl"}, args...), Check: check}
}

// shell is a variant running a bash script.
func shell(name, script string, check func(string) error, env ...string) variant {
	return variant{Name: name, Shown: script, Argv: []string{"bash", "-c", script}, Check: check, Env: env}
}

// unavailable returns why one of commands cannot be measured yet, or "".
func (b *benchmarks) unavailable(commands ...string) string {
	for _, c := range commands {
		if why := b.rep.caps.missing[c]; why != "" {
			return why
		}
	}
	return ""
}

func (b *benchmarks) startup(ctx context.Context) error {
	b.measure(ctx, &comparison{
		ID:    "startup",
		Title: "Start-up: no request, just the process",
		Pairs: b.o.startupPairs,
		Variants: []variant{
			b.plugin(nameHelp, 0, contains1("kubectl access"), "--help"),
			b.plugin(nameVersion, 0, contains1("kubectl-access "), "version"),
			kubectl(nameKubectlVersion, contains1("Client Version"), "version", "--client"),
			b.dispatched(nameDispatchVersion, 0, contains1("kubectl-access "), "version"),
			{Name: nameBareFloor, Shown: "floor/bare", Argv: []string{b.o.bareFloor}, Check: equals("bare floor\n")},
			{Name: nameLibVersion, Shown: "floor/lib version", Argv: []string{b.o.libFloor, "version"}, Check: contains1(libFloorVersion)},
			{Name: nameLibHelp, Shown: "floor/lib --help", Argv: []string{b.o.libFloor, "--help"}, Check: contains1("kubectl-access-floor")},
		},
	})
	return nil
}

func (b *benchmarks) token(ctx context.Context) error {
	reader := "system:serviceaccount:" + benchNS + ":" + readerSA
	b.measure(ctx, &comparison{
		ID:          "token-request",
		Title:       "token, TokenRequest path (service account without a Secret) vs kubectl create token",
		Pairs:       b.o.pairs,
		Unavailable: b.unavailable("token"),
		Variants: []variant{
			against(b.plugin(nameToken, tokenRequestsRequest, jwtFor(reader), "token", readerSA), nameFloorTokenAuto),
			against(b.plugin(nameTokenRequest, 1, jwtFor(reader), "token", readerSA, "--source=request"), nameFloorTokenRequest),
			b.dispatched(nameTokenDispatch, tokenRequestsRequest, jwtFor(reader), "token", readerSA),
			kubectl(nameCreateToken, jwtFor(reader), "create", "token", readerSA),
			b.floorJob(nameFloorTokenRequest, jwtFor(reader), "token-request", readerSA),
			b.floorJob(nameFloorTokenAuto, jwtFor(reader), "token-auto", readerSA),
		},
	})
	b.measure(ctx, &comparison{
		ID:          "token-secret",
		Title:       "token, Secret path (service account with a legacy Secret) vs kubectl get secret | base64 -d",
		Pairs:       b.o.pairs,
		Unavailable: b.unavailable("token"),
		Variants: []variant{
			against(b.plugin(nameToken, tokenRequestsSecret, equals(b.c.legacyToken), "token", legacySA), nameFloorToken),
			b.dispatched(nameTokenDispatch, tokenRequestsSecret, equals(b.c.legacyToken), "token", legacySA),
			shell(nameGetSecret, "kubectl get secret "+legacySecret+" -o jsonpath='{.data.token}' | base64 -d", equals(b.c.legacyToken)),
			b.floorJob(nameFloorToken, equals(b.c.legacyToken), "token", legacySA),
		},
	})
	return nil
}

func (b *benchmarks) probe(ctx context.Context) error {
	why := b.unavailable("probe")
	if why == "" && b.rep.curl == "" {
		why = "not measured: curl is not installed (on Debian: apt-get install -y curl)"
	}
	// The token's requests, one identity review, one per path.
	floor := tokenRequestsSecret + 1 + 1
	answered := allOf(contains1("system:serviceaccount:"+benchNS+":"+legacySA), contains1("200"))
	probe := against(b.plugin(nameProbe, floor, answered, "probe", legacySA, "--path", "/api"), nameFloorProbe)
	probe.Paths = []string{"/api"}
	dispatched := b.dispatched(nameProbeDispatch, floor, answered, "probe", legacySA, "--path", "/api")
	dispatched.Paths = probe.Paths
	pipeline := shell(namePipeline, pipelineScript, contains1(`"APIVersions"`))
	pipeline.Paths = probe.Paths // curl's GET /api is the job, not discovery
	floorProbe := b.floorJob(nameFloorProbe, allOf(contains1("system:serviceaccount:"+benchNS+":"+legacySA+" "), contains1(" 200\n")), "probe", legacySA, "--path", "/api")
	floorProbe.Paths = probe.Paths
	b.measure(ctx, &comparison{
		ID:          "probe",
		Title:       "probe vs the documented pipeline (kubectl | grep | cut, then curl --insecure)",
		Pairs:       b.o.pairs,
		Unavailable: why,
		Variants: []variant{
			probe,
			dispatched,
			pipeline,
			floorProbe,
		},
	})
	return nil
}

// rbacLists are the LISTs whoami sends with the caller's credentials to
// fold the baseline and explain grants: ClusterRoles, ClusterRoleBindings,
// and Roles and RoleBindings (of the one namespace reviewed, or
// cluster-wide with -A).
const rbacLists = 4

func (b *benchmarks) whoami(ctx context.Context) error {
	reader := "system:serviceaccount:" + benchNS + ":" + readerSA
	b.measure(ctx, &comparison{
		ID:          "whoami",
		Title:       "whoami vs kubectl auth whoami + kubectl auth can-i --list, same token, namespace bench",
		Pairs:       b.o.pairs,
		Unavailable: b.unavailable("whoami"),
		Variants: []variant{
			// The identity review and one rules review, beside them the 4
			// LISTs of RBAC objects (caller's credentials) that fold the
			// baseline.
			against(b.plugin(nameWhoami, 1+1+rbacLists, contains1(reader), "whoami", "--token-file", b.c.readerTokenFile), nameFloorWhoami),
			b.dispatched(nameWhoamiDispatch, 1+1+rbacLists, contains1(reader), "whoami", "--token-file", b.c.readerTokenFile),
			b.plugin(nameWhoamiSA, tokenRequestsRequest+1+1+rbacLists, contains1(reader), "whoami", readerSA),
			// --explain reads the RBAC objects once with the caller's
			// credentials: 4 LISTs more (plain whoami sends them too, to
			// fold the baseline; the variant shows what naming each
			// rule's grants adds on top).
			b.plugin(nameWhoamiExplain, 1+1+rbacLists, contains1(reader), "whoami", "--token-file", b.c.readerTokenFile, "--explain"),
			shell(nameAuthPair, "kubectl auth whoami && kubectl auth can-i --list", contains1(reader), "KUBECONFIG="+b.c.tokenKubeconfig),
			b.floorJob(nameFloorWhoami, contains1(reader+" "), "whoami", "--token-file", b.c.readerTokenFile),
		},
	})
	return nil
}

// kubeconfig measures kubectl-access kubeconfig for the service account
// with a legacy Secret, printed on stdout, against its floor: the token's
// two requests, then the YAML.
func (b *benchmarks) kubeconfig(ctx context.Context) error {
	holds := kubeconfigWith(b.c.legacyToken)
	b.measure(ctx, &comparison{
		ID:          "kubeconfig",
		Title:       "kubeconfig, Secret path (service account with a legacy Secret), printed on stdout, vs its floor",
		Pairs:       b.o.pairs,
		Unavailable: b.unavailable("kubeconfig"),
		Variants: []variant{
			against(b.plugin(nameKubeconfig, tokenRequestsSecret, holds, "kubeconfig", legacySA), nameFloorKubeconfig),
			b.dispatched(nameKubeconfigDispatch, tokenRequestsSecret, holds, "kubeconfig", legacySA),
			b.floorJob(nameFloorKubeconfig, holds, "kubeconfig", legacySA),
		},
	})
	return nil
}

// kubeconfigWith checks that the output is a kubeconfig whose current
// context's user holds token and nothing else.
func kubeconfigWith(token string) func(string) error {
	return func(out string) error {
		cfg, err := clientcmd.Load([]byte(out))
		if err != nil {
			return fmt.Errorf("not a kubeconfig: %w", err)
		}
		ctx := cfg.Contexts[cfg.CurrentContext]
		if ctx == nil {
			return fmt.Errorf("no current context %q", cfg.CurrentContext)
		}
		user := cfg.AuthInfos[ctx.AuthInfo]
		switch {
		case user == nil:
			return fmt.Errorf("context %q names no user", cfg.CurrentContext)
		case user.Token != token:
			return errors.New("the user does not hold the expected token")
		case len(user.ClientCertificateData) > 0 || user.ClientCertificate != "" || user.Exec != nil || user.AuthProvider != nil:
			return errors.New("the user holds more than the token")
		}
		return nil
	}
}

// loopScript lists the namespaces with the admin kubeconfig, as -A does
// with the caller's, then asks kubectl for each one's rules with the token.
const loopScript = `TOKEN=$(cat "$TOKEN_FILE")
for ns in $(kubectl --kubeconfig "$ADMIN_KUBECONFIG" get namespaces -o jsonpath='{.items[*].metadata.name}'); do
  kubectl auth can-i --list -n "$ns" --token "$TOKEN"
done`

// namespaces creates the extra namespaces for each -n in turn and, at each
// size, measures whoami -A against the floor and the kubectl loop (job
// namespaces) and against whoami -A --verify (job verify).
func (b *benchmarks) namespaces(ctx context.Context) error {
	why := b.unavailable("whoami")
	for i, n := range b.o.ns {
		if why == "" {
			fmt.Fprintf(os.Stderr, "bench: creating namespaces up to %d\n", n)
			start := time.Now()
			if err := b.c.ensureNamespaces(ctx, n); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "bench: %d namespaces ready in %.1fs\n", n, time.Since(start).Seconds())
		}
		names, err := b.c.namespaces(ctx)
		if err != nil {
			return err
		}
		// The namespace list, the identity review, one rules review each,
		// and the RBAC lists that fold the baseline (cluster-wide with -A).
		floor := 1 + 1 + len(names) + rbacLists
		all := b.plugin(nameWhoamiAll, floor, contains1("system:serviceaccount:"+benchNS+":"+readerSA), "whoami", "--token-file", b.c.readerTokenFile, "-A")
		all.Timeout = 5 * time.Minute
		if b.o.only["namespaces"] {
			if err := b.againstFloorAndLoop(ctx, i, n, names, all, why); err != nil {
				return err
			}
		}
		if b.o.only["verify"] {
			b.verifyAll(ctx, n, len(names), b.o.verifyPairs[min(i, len(b.o.verifyPairs)-1)], all)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// againstFloorAndLoop measures whoami -A (all) over names, the n extra
// namespaces and the scenario's own, against the minimal-Go floor and the
// kubectl loop; i is n's place in -n, why is set when whoami is missing.
func (b *benchmarks) againstFloorAndLoop(ctx context.Context, i, n int, names []string, all variant, why string) error {
	nsFile := filepath.Join(b.work, "namespaces-"+strconv.Itoa(n)+".txt")
	if err := os.WriteFile(nsFile, []byte(strings.Join(names, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	floorProg := variant{
		Name:  nameFloor,
		Shown: fmt.Sprintf("floor -concurrency %d -qps %g -burst %d (%d SelfSubjectRulesReviews)", b.o.concurrency, b.o.qps, b.o.burst, len(names)),
		Argv: []string{b.o.floor, "-kubeconfig", b.c.benchKubeconfig, "-token-file", b.c.readerTokenFile,
			"-namespaces", nsFile, "-concurrency", strconv.Itoa(max(b.o.concurrency, 1)),
			"-qps", strconv.FormatFloat(b.o.qps, 'g', -1, 64), "-burst", strconv.Itoa(b.o.burst)},
		Check:   equals(fmt.Sprintf("%d reviews\n", len(names))),
		Timeout: 5 * time.Minute,
	}
	// The same job on the library floor (issue 19), sending what the
	// plugin's design must: the namespace list, the identity review and the
	// RBAC lists too.
	libFloor := b.floorJob(nameFloorWhoamiAll, contains1(fmt.Sprintf(" %d reviews ", len(names))), "whoami", "--all",
		"--token-file", b.c.readerTokenFile, "--concurrency", strconv.Itoa(max(b.o.concurrency, 1)),
		"--qps", strconv.FormatFloat(b.o.qps, 'g', -1, 64), "--burst", strconv.Itoa(b.o.burst))
	libFloor.Timeout = 5 * time.Minute
	floorWhy := why
	if floorWhy == "" && b.o.concurrency == 0 {
		floorWhy = "not measured: the plugin's default --concurrency is unknown (not in whoami --help); pass -concurrency"
	}
	b.measure(ctx, &comparison{
		ID:          "floor-" + strconv.Itoa(n),
		Title:       fmt.Sprintf("whoami -A over %d namespaces (%d extra) vs the minimal-Go floor and its floor program", len(names), n),
		Pairs:       b.o.pairs,
		N:           n,
		Namespaces:  len(names),
		Unavailable: floorWhy,
		Variants:    []variant{peakAgainst(all, nameFloorWhoamiAll), floorProg, libFloor},
	})
	loop := shell(nameLoop, loopScript, nil,
		"TOKEN_FILE="+b.c.readerTokenFile, "ADMIN_KUBECONFIG="+b.c.benchKubeconfig, "KUBECONFIG="+b.c.noauthKubeconfig)
	loop.Slow = true
	loop.Timeout = time.Duration(len(names))*2*time.Second + time.Minute
	b.measure(ctx, &comparison{
		ID:          "loop-" + strconv.Itoa(n),
		Title:       fmt.Sprintf("whoami -A over %d namespaces (%d extra) vs a kubectl auth can-i --list loop", len(names), n),
		Pairs:       b.o.loopPairs[min(i, len(b.o.loopPairs)-1)],
		N:           n,
		Namespaces:  len(names),
		Unavailable: why,
		Variants:    []variant{all, loop},
	})
	return nil
}

// contains1 checks that the output contains want.
func contains1(want string) func(string) error {
	return func(out string) error {
		if !strings.Contains(out, want) {
			return fmt.Errorf("output does not contain %q", want)
		}
		return nil
	}
}

// allOf checks that every check passes.
func allOf(checks ...func(string) error) func(string) error {
	return func(out string) error {
		for _, c := range checks {
			if err := c(out); err != nil {
				return err
			}
		}
		return nil
	}
}

// equals checks that the output is exactly want.
func equals(want string) func(string) error {
	return func(out string) error {
		if out != want {
			return errors.New("output differs from the expected one")
		}
		return nil
	}
}

// jwtFor checks that the output is a JWT alone whose subject is sub.
func jwtFor(sub string) func(string) error {
	return func(out string) error {
		if strings.TrimSpace(out) != out {
			return errors.New("output has surrounding white space")
		}
		claims, err := credential.DecodeClaims(out)
		if err != nil {
			return err
		}
		if got := claims.Subject(); got != sub {
			return fmt.Errorf("token subject is %q, want %q", got, sub)
		}
		return nil
	}
}
