package main

import (
	"strings"
	"testing"
	"time"
)

// measuredComparison builds a comparison whose variant i took walls[i]
// milliseconds in every round and sent requests[i] requests.
func measuredComparison(id string, names []string, walls []float64, requests []int) *comparison {
	c := &comparison{ID: id, Pairs: 3}
	for i, name := range names {
		v := variant{Name: name, Shown: name, Argv: []string{"kubectl-access"}, Plugin: strings.HasPrefix(name, "kubectl-access")}
		c.Variants = append(c.Variants, v)
		var samples []sample
		for range c.Pairs {
			samples = append(samples, sample{Wall: time.Duration(walls[i] * float64(time.Millisecond))})
		}
		c.Samples = append(c.Samples, samples)
		reqs := make([]request, requests[i])
		for j := range reqs {
			reqs[j] = request{Verb: "get", Path: "/api/v1/namespaces/bench/serviceaccounts/x"}
		}
		c.Requests = append(c.Requests, map[string][]request{"kubectl-access": reqs})
		c.Memory = append(c.Memory, 20<<20)
	}
	return c
}

func TestTargets(t *testing.T) {
	probe := measuredComparison("probe", []string{nameProbe, nameProbeDispatch, namePipeline}, []float64{20, 60, 250}, []int{4, 4, 4})
	probe.Variants[0].Floor, probe.Variants[1].Floor = 4, 4
	probe.Variants[1].Argv = []string{"kubectl", "access"}
	token := measuredComparison("token-request", []string{nameToken, nameTokenRequest, nameTokenDispatch, nameCreateToken}, []float64{20, 18, 60, 50}, []int{4, 1, 3, 1})
	token.Variants[0].Floor = 3 // one request too many
	whoami := measuredComparison("whoami", []string{nameWhoami, nameAuthPair}, []float64{20, 100}, []int{2, 2})
	whoami.Unavailable = "not available yet: this kubectl-access has no whoami command"
	small := measuredComparison("floor-50", []string{nameWhoamiAll, nameFloor}, []float64{40, 36}, []int{57, 55})
	small.N, small.Namespaces = 50, 55
	large := measuredComparison("floor-500", []string{nameWhoamiAll, nameFloor}, []float64{400, 274}, []int{507, 505})
	large.N, large.Namespaces = 500, 505
	loop := measuredComparison("loop-500", []string{nameWhoamiAll, nameLoop}, []float64{300, 23000}, []int{507, 507})
	loop.N, loop.Namespaces = 500, 505
	loop.Memory[0] = 70 << 20 // over the limit, in the second job only

	r := &report{opts: &options{ns: []int{50, 500}}, memExact: true,
		comparisons: []*comparison{probe, token, whoami, small, large, loop}}
	got := map[string]string{}
	for _, tg := range r.targets() {
		got[tg.name] = tg.result
	}
	for name, want := range map[string]string{
		"probe vs the documented pipeline (kubectl-access binary)":                                                            resultPass, // 12.5x
		"probe vs the documented pipeline (kubectl access, through kubectl)":                                                  resultMiss, // 4.2x
		"token vs kubectl create token (kubectl-access binary)":                                                               resultMiss, // 2.5x
		"whoami -A vs the kubectl can-i loop at N=500":                                                                        resultPass,
		"whoami -A within 1.15× of the minimal-Go floor, N=50":                                                                resultPass, // 1.11x
		"whoami -A within 1.15× of the minimal-Go floor, N=500":                                                               resultMiss, // 1.46x
		"requests per plugin command at the issue's floor, no discovery":                                                      resultMiss,
		"peak memory of every kubectl-access command (largest shown)":                                                         resultMiss,
		"start-up of kubectl-access --help":                                                                                   resultNotMeasured + " (startup not run; see -only)",
		"whoami vs kubectl auth whoami + can-i --list (kubectl-access binary)":                                                resultNotMeasured + ": not available yet: this kubectl-access has no whoami command",
		"whoami -A grows linearly in N, no per-namespace cost beyond the review (marginal time per namespace vs the floor's)": resultMiss, // (400-40)/450 vs (274-36)/450
	} {
		if got[name] != want {
			t.Errorf("target %q: got %q, want %q", name, got[name], want)
		}
	}

	md := r.markdown()
	for _, want := range []string{
		"| kubectl-access whoami -A (N=500) | 70.0 MiB |", // the larger of its two jobs
		"| floor (minimal Go) (N=500) | 20.0 MiB |",
		"Not available yet: this kubectl-access has no whoami command.",
		`| token-request | kubectl-access token | 4 | kubectl-access 4 | 3 **MISS** | 0 |`,
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

// TestMemoryTargetNamesTheFloor: a command above the memory limit is named
// with its floor program's peak, or said to have none.
func TestMemoryTargetNamesTheFloor(t *testing.T) {
	audit := measuredComparison("audit", []string{nameAudit, nameFloorAudit}, []float64{900, 800}, []int{1, 1})
	audit.Variants[0].Against = nameFloorAudit
	audit.Memory = []int64{45 << 20, 36 << 20}
	probe := measuredComparison("probe", []string{nameProbe}, []float64{20}, []int{1})
	probe.Memory = []int64{40 << 20}
	small := measuredComparison("token-request", []string{nameToken}, []float64{20}, []int{1})
	all := measuredComparison("floor-500", []string{nameWhoamiAll, nameFloorWhoamiAll}, []float64{400, 360}, []int{507, 511})
	all.Variants[0].PeakAgainst = nameFloorWhoamiAll
	all.Memory = []int64{35 << 20, 28 << 20}
	r := &report{comparisons: []*comparison{audit, probe, small, all}, memExact: true}
	got := r.memoryTarget()
	if got.result != resultMiss {
		t.Errorf("result = %v, want a miss", got.result)
	}
	for _, want := range []string{
		"above it: kubectl-access audit 45.0 MiB against its floor program's 36.0 MiB (1.25×)",
		nameProbe + " 40.0 MiB (no floor program)",
		nameWhoamiAll + " 35.0 MiB against its floor program's 28.0 MiB (1.25×)",
	} {
		if !strings.Contains(got.measured, want) {
			t.Errorf("measured = %q, want it to hold %q", got.measured, want)
		}
	}
	if strings.Contains(got.measured, nameToken+" ") {
		t.Errorf("measured = %q names a command under the limit", got.measured)
	}
}

// TestWhoamiAllAgainstItsFloorProgram: whoami -A is held to its floor
// program on the library floor too, and a miss against the minimal-Go
// floor names that program's own ratio as the measured bound, and whether
// it leaves the target within reach.
func TestWhoamiAllAgainstItsFloorProgram(t *testing.T) {
	for _, tc := range []struct {
		name             string
		whoami, lib      float64
		againstFloorProg string
		reach            string
	}{
		{"out of reach", 400, 360, resultPass, "so no program with these libraries meets it"},
		{"within reach", 400, 300, resultMiss, "so the target is within reach of a program with these libraries"},
	} {
		c := measuredComparison("floor-500", []string{nameWhoamiAll, nameFloor, nameFloorWhoamiAll}, []float64{tc.whoami, 274, tc.lib}, []int{507, 505, 511})
		c.N, c.Namespaces = 500, 505
		r := &report{opts: &options{ns: []int{500}}, memExact: true, comparisons: []*comparison{c}}
		got := map[string]target{}
		for _, tg := range r.targets() {
			got[tg.name] = tg
		}
		minimal := got["whoami -A within 1.15× of the minimal-Go floor, N=500"]
		if minimal.result != resultMiss || !strings.Contains(minimal.measured, "measured bound: its floor program on the library floor") || !strings.Contains(minimal.measured, tc.reach) {
			t.Errorf("%s: minimal-Go target = %+v, want a miss naming the bound and %q", tc.name, minimal, tc.reach)
		}
		if own := got["whoami -A vs its floor program, N=500"]; own.result != tc.againstFloorProg {
			t.Errorf("%s: against its floor program = %q, want %q", tc.name, own.result, tc.againstFloorProg)
		}
	}
}
