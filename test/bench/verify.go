package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"

	"github.com/kubectl-access/kubectl-access/pkg/review"
	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

// Variant names of the --verify jobs.
const (
	nameWhoamiVerify    = "kubectl-access whoami --token-file --verify"
	nameWhoamiAllVerify = "kubectl-access whoami -A --verify"
	nameVerifyLoop      = "kubectl can-i per risky action"
	// nameFloorWhoamiAllVerify is whoami -A --verify on the library floor.
	nameFloorWhoamiAllVerify = "floor: whoami -A --verify"
)

// accessReviewPath is where a SelfSubjectAccessReview is created; the
// report counts the requests to it.
const accessReviewPath = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"

// riskActionCounts returns how many of whoami's risky actions are asked once
// per namespace and how many once for the cluster: the
// SelfSubjectAccessReviews of --verify come from the plugin's own list, so
// that the bench follows when it changes. The few limited to kube-system
// are never asked: the bench reviews no such namespace.
func riskActionCounts() (namespaced, clusterScoped int) {
	namespaced, _, clusterScoped = review.RiskActionCounts()
	return namespaced, clusterScoped
}

// accessReviews is the number of SelfSubjectAccessReviews whoami --verify
// sends over namespaces namespaces.
func accessReviews(namespaces int) int {
	namespaced, clusterScoped := riskActionCounts()
	return namespaces*namespaced + clusterScoped
}

// rateLimitBound is the least time the plugin's client rate limiter (a
// token bucket, pluginRateLimit) allows for requests requests at
// concurrency: the burst goes at once, the rest at QPS. 0 when the
// plugin's concurrency is unknown.
func rateLimitBound(requests, concurrency int) time.Duration {
	if concurrency == 0 {
		return 0
	}
	qps, burst := pluginRateLimit(concurrency)
	return time.Duration(float64(max(0, requests-burst)) / qps * float64(time.Second))
}

// canIArgs is the kubectl auth can-i command line that asks what a asks in
// namespace ns: kubectl takes the subresource as a flag, and -A asks a
// cluster-scoped action across every namespace (namespace ""), as the
// plugin does.
func canIArgs(a risk.Action, ns string) string {
	if a.NonResourceURL != "" {
		return a.Verb + " " + a.NonResourceURL
	}
	args := []string{a.Verb, a.Resource}
	if a.Group != "" {
		args[1] += "." + a.Group
	}
	if a.Name != "" {
		args = append(args, a.Name)
	}
	if a.Subresource != "" {
		args = append(args, "--subresource="+a.Subresource)
	}
	if a.ClusterScoped() {
		args = append(args, "-A")
	} else {
		args = append(args, "-n", ns)
	}
	return strings.Join(args, " ")
}

// verifyLoopScript is what whoami --verify does, with kubectl: the
// identity, the rules, then one kubectl auth can-i per risky action, each
// a line of $ACTIONS_FILE ("create pods --subresource=exec -n bench").
// Globbing is off for the "*" of "* *.*"; can-i exits 1 for "no", and the
// output check counts the answers, so a failed call is still noticed.
const verifyLoopScript = `set -f
kubectl auth whoami && kubectl auth can-i --list || exit
while read -r action; do
  kubectl auth can-i $action || true
done < "$ACTIONS_FILE"`

// verify measures whoami --verify in namespace bench, against the plain
// rules review and against kubectl asking the same questions one process
// at a time. Only here does the kubectl loop run: over N namespaces it
// would start one kubectl process per namespace and action (see the report).
func (b *benchmarks) verify(ctx context.Context) error {
	reader := "system:serviceaccount:" + benchNS + ":" + readerSA
	var lines []string
	for _, a := range review.RiskActions() {
		if a.AppliesIn(benchNS) {
			lines = append(lines, canIArgs(a, benchNS))
		}
	}
	actionsFile := filepath.Join(b.work, "verify-actions.txt")
	if err := os.WriteFile(actionsFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	reviews := accessReviews(1)
	loop := shell(nameVerifyLoop, verifyLoopScript, allOf(contains1(reader), answers(reviews)),
		"ACTIONS_FILE="+actionsFile, "KUBECONFIG="+b.c.tokenKubeconfig)
	loop.Slow = true
	loop.Timeout = time.Duration(reviews)*2*time.Second + time.Minute
	b.measure(ctx, &comparison{
		ID:          "verify",
		Title:       fmt.Sprintf("whoami --verify (%d SelfSubjectAccessReviews) vs the rules review alone and vs kubectl auth can-i per risky action, same token, namespace bench", reviews),
		Pairs:       b.o.verifyPairs[0],
		Namespaces:  1,
		Unavailable: b.unavailable("whoami", "verify"),
		Variants: []variant{
			// The identity review and one rules review (the RBAC lists
			// beside them), then the access reviews.
			b.plugin(nameWhoami, 1+1+rbacLists, contains1(reader), "whoami", "--token-file", b.c.readerTokenFile),
			b.plugin(nameWhoamiVerify, 1+1+rbacLists+reviews, verifiedAll(reader), "whoami", "--token-file", b.c.readerTokenFile, "--verify"),
			loop,
		},
	})
	return nil
}

// verifyAll measures whoami -A --verify over every namespace (n extra)
// against whoami -A, the rules review alone, with rounds rounds. The
// --verify runs are Slow: at 500 namespaces one takes over a minute, and
// the plain run before it in each round has warmed the binary.
func (b *benchmarks) verifyAll(ctx context.Context, n, namespaces, rounds int, plain variant) {
	reader := "system:serviceaccount:" + benchNS + ":" + readerSA
	reviews := accessReviews(namespaces)
	// The namespace list, the identity review, one rules review per
	// namespace, the RBAC lists, then the access reviews: with -A those
	// limited to kube-system too (aws-auth).
	_, limited, _ := review.RiskActionCounts()
	all := b.plugin(nameWhoamiAllVerify, 1+1+namespaces+rbacLists+reviews+limited, verifiedAll(reader), "whoami", "--token-file", b.c.readerTokenFile, "-A", "--verify")
	all.Slow = true
	all.Timeout = 3*rateLimitBound(namespaces+reviews, b.rep.caps.concurrency) + 2*time.Minute
	variants := []variant{plain, all}
	// Its floor program sends the same reviews at the same concurrency and
	// rate limit, keeping a byte per answer: the bound of its peak memory.
	questions := filepath.Join(b.work, "verify-questions.json")
	if err := writeAccessQuestions(questions); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v; whoami -A --verify is measured without its floor program\n", err)
	} else if b.o.concurrency > 0 {
		floor := b.floorJob(nameFloorWhoamiAllVerify, contains1(fmt.Sprintf(" %d access reviews ", reviews+limited)), "whoami", "--all",
			"--token-file", b.c.readerTokenFile, "--concurrency", strconv.Itoa(b.o.concurrency),
			"--qps", strconv.FormatFloat(b.o.qps, 'g', -1, 64), "--burst", strconv.Itoa(b.o.burst), "--verify-file", questions)
		floor.Slow, floor.Timeout = true, all.Timeout
		variants = []variant{plain, peakAgainst(all, nameFloorWhoamiAllVerify), floor}
	}
	b.measure(ctx, &comparison{
		ID:          "verify-" + strconv.Itoa(n),
		Title:       fmt.Sprintf("whoami -A --verify over %d namespaces (%d extra, %d SelfSubjectAccessReviews) vs whoami -A", namespaces, n, reviews),
		Pairs:       rounds,
		N:           n,
		Namespaces:  namespaces,
		Unavailable: b.unavailable("whoami", "verify"),
		Variants:    variants,
	})
}

// writeAccessQuestions writes the questions of whoami --verify for the
// floor program (test/bench/floor/jobs --verify-file): one JSON object per
// risky action, with its scope.
func writeAccessQuestions(file string) error {
	var b strings.Builder
	for _, a := range review.RiskActions() {
		q := struct {
			Scope string                                      `json:"scope"`
			Spec  authorizationv1.SelfSubjectAccessReviewSpec `json:"spec"`
		}{Scope: "namespaced", Spec: a.AccessReviewSpec("")}
		switch {
		case a.ClusterScoped():
			q.Scope = "cluster"
		case a.Namespace != "":
			q.Scope, q.Spec = "limited", a.AccessReviewSpec(a.Namespace)
		}
		line, err := json.Marshal(q)
		if err != nil {
			return err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return os.WriteFile(file, []byte(b.String()), 0o600)
}

// verifiedAll checks a whoami --verify run on a cluster where RBAC decides
// alone: the subject is named and no VERIFIED ACTION table is printed,
// which whoami prints only for an action allowed outside the listed rules
// or one it could not verify (a review that failed or was throttled).
func verifiedAll(subject string) func(string) error {
	return allOf(contains1(subject), func(out string) error {
		if strings.Contains(out, "VERIFIED ACTION") {
			return errors.New("whoami printed a VERIFIED ACTION table: an action was allowed outside the rules or could not be verified, with RBAC alone deciding")
		}
		return nil
	})
}

// answers checks that the output holds exactly n lines "yes" or "no", one
// per kubectl auth can-i.
func answers(n int) func(string) error {
	return func(out string) error {
		got := 0
		for _, line := range strings.Split(out, "\n") {
			if line == "yes" || line == "no" {
				got++
			}
		}
		if got != n {
			return fmt.Errorf("%d answers yes or no, want %d", got, n)
		}
		return nil
	}
}

// countAccessReviews is the number of SelfSubjectAccessReviews among
// byAgent's requests.
func countAccessReviews(byAgent map[string][]request) int {
	n := 0
	for _, reqs := range byAgent {
		for _, q := range reqs {
			if q.Path == accessReviewPath {
				n++
			}
		}
	}
	return n
}

// discoveryRequests is the number of discovery requests among byAgent's.
func discoveryRequests(byAgent map[string][]request) int {
	n := 0
	for _, reqs := range byAgent {
		for _, q := range reqs {
			if isDiscovery(q.Path) {
				n++
			}
		}
	}
	return n
}
