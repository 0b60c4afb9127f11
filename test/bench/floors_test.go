package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// timed replaces variant v's requests with one per [from, to] interval,
// in milliseconds.
func timed(c *comparison, v int, intervals ...[2]float64) {
	var reqs []request
	for _, iv := range intervals {
		reqs = append(reqs, request{Verb: "get", Path: "/api/v1/namespaces/bench/serviceaccounts/x", Received: at(iv[0]), Completed: at(iv[1])})
	}
	c.Requests[v] = map[string][]request{"kubectl-access": reqs}
}

// results maps each target's name to its result and measured text.
func results(r *report) (result, measured map[string]string) {
	result, measured = map[string]string{}, map[string]string{}
	for _, t := range r.targets() {
		result[t.name], measured[t.name] = t.result, t.measured
	}
	return result, measured
}

func TestFloorTargets(t *testing.T) {
	// Start-up: version at exactly 1.1× the library floor passes, --help
	// just over misses.
	startup := measuredComparison("startup",
		[]string{nameHelp, nameVersion, nameKubectlVersion, nameDispatchVersion, nameBareFloor, nameLibVersion, nameLibHelp},
		[]float64{33.1, 33, 60, 90, 10, 30, 30}, []int{0, 0, 0, 0, 0, 0, 0})
	// Jobs: token at exactly 1.15× passes; whoami over; probe under.
	secret := measuredComparison("token-secret", []string{nameToken, nameTokenDispatch, nameGetSecret, nameFloorToken}, []float64{46, 100, 120, 40}, []int{2, 2, 1, 2})
	secret.Variants[0].Against = nameFloorToken
	whoami := measuredComparison("whoami", []string{nameWhoami, nameAuthPair, nameFloorWhoami}, []float64{50, 280, 40}, []int{2, 10, 2})
	whoami.Variants[0].Against = nameFloorWhoami
	probe := measuredComparison("probe", []string{nameProbe, nameProbeDispatch, namePipeline, nameFloorProbe}, []float64{44, 90, 400, 40}, []int{4, 4, 4, 4})
	probe.Variants[0].Against = nameFloorProbe
	// A comparison run without its floor program (an older run).
	request := measuredComparison("token-request", []string{nameToken, nameTokenRequest, nameCreateToken}, []float64{50, 40, 100}, []int{3, 1, 1})

	r := &report{opts: &options{ns: []int{50}}, memExact: true, comparisons: []*comparison{startup, secret, whoami, probe, request}}
	got, measured := results(r)
	for name, want := range map[string]string{
		"start-up of kubectl-access version vs the library floor's version": resultPass, // 1.10x
		"start-up of kubectl-access --help vs the library floor's --help":   resultMiss, // 1.103x
		"token, Secret path, vs its floor program":                          resultPass, // 1.15x
		"whoami --token-file vs its floor program":                          resultMiss, // 1.25x
		"probe vs its floor program":                                        resultPass, // 1.1x
		"token --source=request vs its floor program":                       resultNotMeasured + " (no floor program in this run)",
		"kubeconfig vs its floor program":                                   resultNotMeasured + " (kubeconfig not run; see -only)",
		// 280/50 = 5.6 < 6: missed, and the floor's 7× shows it reachable.
		"whoami vs kubectl auth whoami + can-i --list (kubectl-access binary)": resultMiss,
		// Not in this comparison: no number, and no bound.
		"whoami vs kubectl auth whoami + can-i --list (kubectl access, through kubectl)": resultNotMeasured,
	} {
		if got[name] != want {
			t.Errorf("target %q: got %q, want %q", name, got[name], want)
		}
	}
	if m := measured["token, Secret path, vs its floor program"]; !strings.HasPrefix(m, "1.15× (46.0 ms vs 40.0 ms;") {
		t.Errorf("token vs its floor measured %q", m)
	}
	if m, want := measured["whoami vs kubectl auth whoami + can-i --list (kubectl-access binary)"], "; measured bound: the floor program (40.0 ms) does 7.00×, so the target is within reach of a program with these libraries"; !strings.HasSuffix(m, want) {
		t.Errorf("whoami vs kubectl measured %q, want it to end with %q", m, want)
	}
	// probe 400/44 = 9.1 < 10 and the floor's 10× exactly reaches it.
	if m := measured["probe vs the documented pipeline (kubectl-access binary)"]; !strings.Contains(m, "does 10.0×, so the target is within reach") {
		t.Errorf("probe vs the pipeline measured %q", m)
	}
	// A target met shows no bound, and a dispatched one never does.
	probe.Samples[2] = probe.Samples[2][:0]
	for range probe.Pairs {
		probe.Samples[2] = append(probe.Samples[2], sample{Wall: 500_000_000})
	}
	_, measured = results(r)
	for _, name := range []string{"probe vs the documented pipeline (kubectl-access binary)", "probe vs the documented pipeline (kubectl access, through kubectl)"} {
		if strings.Contains(measured[name], "bound") {
			t.Errorf("%s: a met or dispatched target shows a bound: %q", name, measured[name])
		}
	}
}

func TestSpeedTargetBoundOutOfReach(t *testing.T) {
	c := measuredComparison("probe", []string{nameProbe, namePipeline, nameFloorProbe}, []float64{50, 300, 40}, []int{4, 4, 4})
	r := &report{opts: &options{ns: []int{50}}, comparisons: []*comparison{c}}
	tg := r.speedTarget("x", "probe", namePipeline, nameProbe, probeSpeedup, nameFloorProbe)
	if want := "measured bound: the floor program (40.0 ms) does 7.50×, so no program with these libraries meets it"; tg.result != resultMiss || !strings.Contains(tg.measured, want) {
		t.Errorf("speedTarget = %q, %q; want a miss with %q", tg.result, tg.measured, want)
	}
	if tg := r.speedTarget("x", "probe", namePipeline, nameProbe, probeSpeedup, "no such variant"); strings.Contains(tg.measured, "bound") {
		t.Errorf("a bound that was not run is shown: %q", tg.measured)
	}
}

func TestCriticalPathTarget(t *testing.T) {
	whoami := measuredComparison("whoami", []string{nameWhoami, nameAuthPair, nameFloorWhoami}, []float64{50, 280, 40}, []int{2, 10, 2})
	whoami.Variants[0].Against = nameFloorWhoami
	// The plugin sends its two reviews one after the other; the floor at once.
	timed(whoami, 0, [2]float64{0, 1}, [2]float64{1.5, 2.5})
	timed(whoami, 2, [2]float64{0, 1}, [2]float64{0.1, 1.2})
	secret := measuredComparison("token-secret", []string{nameToken, nameFloorToken}, []float64{46, 40}, []int{2, 2})
	secret.Variants[0].Against = nameFloorToken
	timed(secret, 0, [2]float64{0, 1}, [2]float64{0.2, 1})
	timed(secret, 1, [2]float64{0, 1}, [2]float64{0.2, 1})
	r := &report{opts: &options{ns: []int{50}}, comparisons: []*comparison{whoami, secret}}

	name := "critical path of each command in round trips, at its floor program's (see Critical path)"
	got, measured := results(r)
	if got[name] != resultMiss || measured[name] != "1 of 2 commands over: kubectl-access whoami --token-file 2 vs 1" {
		t.Errorf("critical path target = %q, %q", got[name], measured[name])
	}
	md := r.markdown()
	for _, want := range []string{
		"## Critical path (round trips)",
		"| whoami | kubectl-access whoami --token-file | 2 | 2 **MISS** | 2–2 | floor: whoami | 2 | 1 | 1–1 |",
		"| token-secret | kubectl-access token | 2 | 1 | 1–1 | floor: token (Secret) | 2 | 1 | 1–1 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}

	timed(whoami, 0, [2]float64{0, 1}, [2]float64{0.5, 2.5})
	if got, measured := results(r); got[name] != resultPass || measured[name] != "all 2 commands at their floor's" {
		t.Errorf("critical path target = %q, %q; want a pass", got[name], measured[name])
	}
	whoami.Requests[2] = map[string][]request{"kubectl-access-bench-floor": {{Verb: "create", Path: "/x"}}}
	if got, measured := results(r); got[name] != resultNotMeasured || measured[name] != "no timestamps in the audit log for kubectl-access whoami --token-file" {
		t.Errorf("critical path target = %q, %q; want not measured", got[name], measured[name])
	}
	r.comparisons = nil
	if got, _ := results(r); got[name] != resultNotMeasured {
		t.Errorf("critical path target with nothing measured = %q", got[name])
	}
}

func TestMemoryAndSizeTargets(t *testing.T) {
	c := measuredComparison("token-secret", []string{nameToken, nameFloorToken}, []float64{46, 40}, []int{2, 2})
	c.Memory[0] = memoryLimit // at the limit: met
	c.Memory[1] = 99 << 20    // not a plugin command: not counted
	r := &report{opts: &options{ns: []int{50}}, memExact: true, comparisons: []*comparison{c},
		sizes: []sizeRow{{name: "kubectl-access", binary: 30 << 20, archive: 12 << 20}, {name: "kubectl v1"}, {name: "library floor", binary: 25 << 20, archive: 10 << 20}}}
	got, measured := results(r)
	memory := "peak memory of every kubectl-access command (largest shown)"
	if got[memory] != resultPass {
		t.Errorf("memory at the limit: %q (%s)", got[memory], measured[memory])
	}
	size := "binary size of kubectl-access, beside the library floor's"
	if want := "30.0 MiB (.tar.gz 12.0 MiB) vs the library floor's 25.0 MiB (.tar.gz 10.0 MiB), 1.20×"; got[size] != "reported" || measured[size] != want {
		t.Errorf("size target = %q, %q; want reported, %q", got[size], measured[size], want)
	}
	c.Memory[0] = memoryLimit + 1
	r.sizes = r.sizes[:1]
	got, measured = results(r)
	if got[memory] != resultMiss {
		t.Errorf("memory over the limit: %q", got[memory])
	}
	if measured[size] != "30.0 MiB (.tar.gz 12.0 MiB)" {
		t.Errorf("size without a floor = %q", measured[size])
	}
	r.sizes = nil
	if got, _ := results(r); got[size] != resultNotMeasured {
		t.Errorf("size without sizes = %q", got[size])
	}
}

func TestNotesPriceOfTheLibraries(t *testing.T) {
	startup := measuredComparison("startup",
		[]string{nameHelp, nameVersion, nameKubectlVersion, nameDispatchVersion, nameBareFloor, nameLibVersion, nameLibHelp},
		[]float64{40, 39, 60, 90, 10, 30, 31}, []int{0, 0, 0, 0, 0, 0, 0})
	r := &report{opts: &options{ns: []int{50}}, comparisons: []*comparison{startup}}
	want := "The price of the libraries: the library floor's `version` (genericclioptions on cobra plus the three typed clients, test/bench/floor/lib) took 30.0 ms against 10.0 ms for the bare Go floor that links crypto/tls and net/http alone (3.00×; median of pair ratios 3.00×); `kubectl-access version` took 1.30× of the library floor's (median of pair ratios 1.30×)."
	if notes := strings.Join(r.notes(), "\n"); !strings.Contains(notes, want) {
		t.Errorf("notes lack %q:\n%s", want, notes)
	}
}

func TestKubeconfigWith(t *testing.T) {
	const good = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user: {token: abc}
contexts:
- name: x
  context: {cluster: c, user: u, namespace: bench}
current-context: x
`
	check := kubeconfigWith("abc")
	if err := check(good); err != nil {
		t.Errorf("a kubeconfig holding the token: %v", err)
	}
	for name, out := range map[string]string{
		"another token":        strings.Replace(good, "token: abc", "token: abd", 1),
		"a certificate too":    strings.Replace(good, "{token: abc}", "{token: abc, client-certificate-data: YQ==}", 1),
		"no current context":   strings.Replace(good, "current-context: x", "current-context: y", 1),
		"a context for no one": strings.Replace(good, "user: u, namespace", "user: v, namespace", 1),
		"not YAML":             "{",
	} {
		if err := check(out); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCriticalPathsOverRounds(t *testing.T) {
	c := &comparison{Variants: []variant{{Name: "a", Against: "f"}, {Name: "f"}, {Name: "other"}}}
	c.Paths = [][]int{{3, 2, 4}, {2, 2}, nil}
	if lo, hi, ok := c.criticalPaths(0); lo != 2 || hi != 4 || !ok {
		t.Errorf("criticalPaths(0) = %d, %d, %v; want the fewest 2 and the most 4", lo, hi, ok)
	}
	c.Paths[1] = []int{2, -1}
	if _, _, ok := c.criticalPaths(1); ok {
		t.Error("a round without timestamps was taken for a known path")
	}
	if _, _, ok := c.criticalPaths(2); ok {
		t.Error("a variant neither traced nor with requests has a path")
	}
	for v, want := range []bool{true, true, false} {
		if got := c.traced(v); got != want {
			t.Errorf("traced(%d) = %v, want %v", v, got, want)
		}
	}
}

// TestRunTracesEveryRound runs a comparison of three commands: the
// plugin command and its floor program have their critical path read in
// every round, the third only its first round's requests.
func TestRunTracesEveryRound(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// What each read of the log finds, in order: the plugin command sends
	// two requests one after the other in round 1 and together in round 2;
	// the floor sends them together, and once without timestamps.
	sent := [][]string{
		{timedEvent("a1", "ResponseComplete", "/x", at(0), at(1)), timedEvent("a2", "ResponseComplete", "/y", at(2), at(3))},
		{timedEvent("f1", "ResponseComplete", "/x", at(0), at(1)), timedEvent("f2", "ResponseComplete", "/y", at(0.5), at(1))},
		{timedEvent("o1", "ResponseComplete", "/z", at(0), at(1))},
		{timedEvent("a3", "ResponseComplete", "/x", at(0), at(1)), timedEvent("a4", "ResponseComplete", "/y", at(0.5), at(3))},
		{event("f3", "ResponseComplete", "get", "/x", pluginUA)},
	}
	reads := 0
	l := &auditLog{path: path, mark: func(_ context.Context, userAgent string) error {
		if reads >= len(sent) {
			return fmt.Errorf("read %d of the audit log, want %d", reads+1, len(sent))
		}
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteString(strings.Join(sent[reads], "") + event("m", "ResponseComplete", "get", "/m", userAgent))
		reads++
		return err
	}}
	ok := []string{"/bin/sh", "-c", "exit 0"}
	c := &comparison{ID: "t", Pairs: 2, Variants: []variant{
		{Name: "a", Shown: "a", Argv: ok, Against: "f"},
		{Name: "f", Shown: "f", Argv: ok},
		{Name: "other", Shown: "other", Argv: ok},
	}}
	r := &runner{dir: dir, audit: l, env: []string{"PATH=/bin:/usr/bin"}}
	r.run(context.Background(), c)
	if c.Err != nil {
		t.Fatal(c.Err)
	}
	if reads != len(sent) {
		t.Errorf("the audit log was read %d times, want %d", reads, len(sent))
	}
	if diff := cmp.Diff([][]int{{2, 1}, {1, -1}, nil}, c.Paths); diff != "" {
		t.Errorf("Paths (-want +got):\n%s", diff)
	}
	if got := describeRequests(c.Requests[0]["kubectl-access"]); got != "get /x; get /y" {
		t.Errorf("the plugin command's requests are %q, want its first round's", got)
	}
	if got := describeRequests(c.Requests[2]["kubectl-access"]); got != "get /z" {
		t.Errorf("the other command's requests are %q, want its first round's", got)
	}
}
