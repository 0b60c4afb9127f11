package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Variant names of the check job.
const (
	nameCheck      = "kubectl-access check -f"
	nameCheckLoop  = "kubectl auth can-i --as per expectation"
	nameCheckFloor = "minimal Go program (SelfSubjectAccessReviews)"
)

// The check job's size: checkActions actions in each of checkNamespaces
// namespaces, so checkActions × checkNamespaces expectations (200), one
// SelfSubjectAccessReview each.
const (
	checkActions    = 20
	checkNamespaces = 10
)

// checkAction is one action of the check job.
type checkAction struct {
	verb, resource, group string
}

// checkJobActions are the job's actions: writes that the reader role never
// grants (it reads configmaps, pods and deployments), so every expectation
// is a deny that holds, in every namespace, bound or not.
func checkJobActions() []checkAction {
	var out []checkAction
	for _, verb := range []string{"create", "update", "patch", "delete"} {
		for _, r := range []checkAction{{resource: "configmaps"}, {resource: "pods"}, {resource: "secrets"}, {resource: "services"}, {resource: "deployments", group: "apps"}} {
			out = append(out, checkAction{verb: verb, resource: r.resource, group: r.group})
		}
	}
	return out[:checkActions]
}

// checkDocument is the expectations document of the job: the actions
// denied to bench/reader in namespaces.
func checkDocument(actions []checkAction, namespaces []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: access.kubectl-access.io/v1alpha1\nkind: AccessExpectations\nexpectations:\n- subjects: [%s/%s]\n  namespaces: [%s]\n  deny:\n", benchNS, readerSA, strings.Join(namespaces, ", "))
	for _, a := range actions {
		target := a.resource
		if a.group != "" {
			target += "." + a.group
		}
		fmt.Fprintf(&b, "  - %s %s\n", a.verb, target)
	}
	return b.String()
}

// checkCanILines are the same questions as kubectl auth can-i arguments,
// one a line, and checkFloorLines as the floor's -access-reviews lines.
func checkCanILines(actions []checkAction, namespaces []string) []string {
	var out []string
	for _, ns := range namespaces {
		for _, a := range actions {
			target := a.resource
			if a.group != "" {
				target += "." + a.group
			}
			out = append(out, a.verb+" "+target+" -n "+ns)
		}
	}
	return out
}

func checkFloorLines(actions []checkAction, namespaces []string) []string {
	var out []string
	for _, ns := range namespaces {
		for _, a := range actions {
			out = append(out, strings.TrimSpace(ns+" "+a.verb+" "+a.resource+" "+a.group))
		}
	}
	return out
}

// checkNamespaceNames picks the job's namespaces: bench and the first
// extra ones.
func checkNamespaceNames(all []string) []string {
	out := []string{benchNS}
	for _, ns := range all {
		if len(out) == checkNamespaces {
			break
		}
		if strings.HasPrefix(ns, nsPrefix) {
			out = append(out, ns)
		}
	}
	return out
}

// checkLoopScript asks each question with its own kubectl auth can-i,
// impersonating the service account with the admin's credentials: the way
// to ask another identity's questions without the plugin. Globbing is off;
// can-i exits 1 for "no", and the output check counts the answers.
const checkLoopScript = `set -f
while read -r q; do
  kubectl auth can-i $q --as "$AS" || true
done < "$QUESTIONS_FILE"`

// checkHeld checks the plugin's table: every expectation OK.
func checkHeld(n int) func(string) error {
	return func(out string) error {
		ok := 0
		for _, line := range strings.Split(out, "\n") {
			fields := strings.Fields(line)
			if len(fields) >= 6 && fields[len(fields)-2] == "OK" {
				ok++
			}
		}
		if ok != n {
			return fmt.Errorf("%d expectations OK, want %d", ok, n)
		}
		return nil
	}
}

// check measures check -f over checkActions × checkNamespaces expectations
// against a kubectl auth can-i --as loop asking the same questions and the
// minimal-Go floor sending the same SelfSubjectAccessReviews.
func (b *benchmarks) check(ctx context.Context) error {
	why := b.unavailable("check")
	if why == "" {
		if err := b.c.ensureNamespaces(ctx, checkNamespaces-1); err != nil {
			return err
		}
	}
	all, err := b.c.namespaces(ctx)
	if err != nil {
		return err
	}
	namespaces := checkNamespaceNames(all)
	actions := checkJobActions()
	n := len(actions) * len(namespaces)
	file := filepath.Join(b.work, "check-expectations.yaml")
	questions := filepath.Join(b.work, "check-questions.txt")
	floorFile := filepath.Join(b.work, "check-floor.txt")
	for path, content := range map[string]string{
		file:      checkDocument(actions, namespaces),
		questions: strings.Join(checkCanILines(actions, namespaces), "\n") + "\n",
		floorFile: strings.Join(checkFloorLines(actions, namespaces), "\n") + "\n",
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return err
		}
	}
	// The token is obtained (ServiceAccount GET, Secret LIST, TokenRequest),
	// then one access review per expectation.
	plugin := b.plugin(nameCheck, 3+n, checkHeld(n), "check", "-f", file)
	plugin.Timeout = 2*rateLimitBound(n, b.rep.caps.concurrency) + time.Minute
	loop := shell(nameCheckLoop, checkLoopScript, answers(n), "QUESTIONS_FILE="+questions, "AS=system:serviceaccount:"+benchNS+":"+readerSA)
	loop.Slow = true
	loop.Timeout = time.Duration(n)*2*time.Second + time.Minute
	floorProg := variant{
		Name:  nameCheckFloor,
		Shown: fmt.Sprintf("floor -access-reviews -concurrency %d -qps %g -burst %d (%d SelfSubjectAccessReviews)", b.o.concurrency, b.o.qps, b.o.burst, n),
		Argv: []string{b.o.floor, "-kubeconfig", b.c.benchKubeconfig, "-token-file", b.c.readerTokenFile,
			"-access-reviews", floorFile, "-concurrency", strconv.Itoa(max(b.o.concurrency, 1)),
			"-qps", strconv.FormatFloat(b.o.qps, 'g', -1, 64), "-burst", strconv.Itoa(b.o.burst)},
		Check:   equals(fmt.Sprintf("%d access reviews\n", n)),
		Timeout: 5 * time.Minute,
	}
	title := fmt.Sprintf("check -f of %d expectations (%d actions × %d namespaces, one SelfSubjectAccessReview each, as bench/reader's own token)", n, len(actions), len(namespaces))
	b.measure(ctx, &comparison{
		ID:          "check-loop",
		Title:       title + " vs the same questions as a kubectl auth can-i --as loop",
		Pairs:       b.o.loopPairs[len(b.o.loopPairs)-1],
		Namespaces:  len(namespaces),
		Unavailable: why,
		Variants:    []variant{plugin, loop},
	})
	floorWhy := why
	if floorWhy == "" && b.o.concurrency == 0 {
		floorWhy = "not measured: the plugin's default --concurrency is unknown (not in whoami --help); pass -concurrency"
	}
	b.measure(ctx, &comparison{
		ID:          "check-floor",
		Title:       title + " vs the minimal-Go floor (the same reviews, token given)",
		Pairs:       b.o.pairs,
		Namespaces:  len(namespaces),
		Unavailable: floorWhy,
		Variants:    []variant{plugin, floorProg},
	})
	return nil
}
