package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"

	"github.com/kubectl-access/kubectl-access/pkg/review"
	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

func TestCanIArgs(t *testing.T) {
	for _, tc := range []struct {
		name, action, want string
	}{
		{"a subresource is kubectl's --subresource flag", "create pods/exec", "create pods --subresource=exec -n bench"},
		{"the group stays on the resource", "escalate roles.rbac.authorization.k8s.io", "escalate roles.rbac.authorization.k8s.io -n bench"},
		{"a subresource of a grouped resource", "update deployments/scale.apps", "update deployments.apps --subresource=scale -n bench"},
		{"one object's name follows the resource", "get secrets app-config", "get secrets app-config -n bench"},
		{"a cluster-scoped action is asked in no namespace", "impersonate users", "impersonate users -A"},
		{"a cluster-scoped subresource", "get nodes/proxy", "get nodes --subresource=proxy -A"},
		{"a non-resource URL takes no namespace", "get /metrics", "get /metrics"},
		{"wildcards are passed as they are", "* *.*", "* *.* -n bench"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := risk.ParseAction(tc.action)
			if err != nil {
				t.Fatal(err)
			}
			if got := canIArgs(a, "bench"); got != tc.want {
				t.Errorf("canIArgs(%q) = %q, want %q", tc.action, got, tc.want)
			}
		})
	}
}

func TestAnswers(t *testing.T) {
	out := "ATTRIBUTE   VALUE\nUsername    x\nResources  Non-Resource URLs\nyes\nno\nno\n"
	if err := answers(3)(out); err != nil {
		t.Errorf("three answers: %v", err)
	}
	if err := answers(4)(out); err == nil {
		t.Error("a missing answer (a can-i that failed) was not noticed")
	}
}

func TestVerifiedAll(t *testing.T) {
	subject := "system:serviceaccount:bench:reader"
	if err := verifiedAll(subject)("Username  " + subject + "\n"); err != nil {
		t.Errorf("every action verified, none outside the rules: %v", err)
	}
	if err := verifiedAll(subject)("Username  " + subject + "\n\nVERIFIED ACTION  NAMESPACE  ALLOWED\n"); err == nil {
		t.Error("a VERIFIED ACTION table, with RBAC alone deciding, was not noticed")
	}
}

// withAccessReviews makes variant v of c send n SelfSubjectAccessReviews
// besides its other requests.
func withAccessReviews(c *comparison, v, n int) {
	for range n {
		c.Requests[v]["kubectl-access"] = append(c.Requests[v]["kubectl-access"], request{Verb: "create", Path: accessReviewPath})
	}
}

func TestVerifyReport(t *testing.T) {
	reviews1, reviews55 := accessReviews(1), accessReviews(55)
	// The kubectl loop takes 100 ms per process.
	loopMillis := float64(2+reviews1) * 100
	bench := measuredComparison("verify", []string{nameWhoami, nameWhoamiVerify, nameVerifyLoop}, []float64{20, 50, loopMillis}, []int{2, 2, 0})
	bench.Namespaces = 1
	withAccessReviews(bench, 1, reviews1)
	bench.Requests[2] = map[string][]request{"kubectl": {{Verb: "get", Path: "/api"}, {Verb: "get", Path: "/apis"}}}
	all := measuredComparison("verify-50", []string{nameWhoamiAll, nameWhoamiAllVerify}, []float64{40, 8000}, []int{57, 57})
	all.N, all.Namespaces = 50, 55
	withAccessReviews(all, 1, reviews55)

	r := &report{opts: &options{ns: []int{50, 500}}, memExact: true, caps: capabilities{concurrency: 16},
		comparisons: []*comparison{bench, all}}
	md := r.markdown()
	bound := rateLimitBound(1+55+reviews55, 16)
	for _, want := range []string{
		"## Cost of --verify",
		fmt.Sprintf("| verify | 1 | %d | %d | 0 | 2 → %d | 20.0 ms | 50.0 ms | 2.50× | 2.50× | 3 | ", reviews1, reviews1, 2+reviews1),
		fmt.Sprintf("| verify-50 | 55 | %d | %d | 0 | 57 → %d | 40.0 ms | 8.00 s | 200.0× | 200.0× | 3 | %s | %s |", reviews55, reviews55, 57+reviews55, fmtDur(bound), fmtRatio(float64(8*time.Second)/float64(bound))),
		fmt.Sprintf("%d kubectl processes (auth whoami, can-i --list, then %d can-i) took %s against 50.0 ms for `whoami --verify` (%s", 2+reviews1, reviews1,
			fmtDur(time.Duration(loopMillis)*time.Millisecond), fmtRatio(loopMillis/50)),
		"2 discovery requests in one round",
		fmt.Sprintf("over 55 namespaces %d processes, about %s a round", 1+55+reviews55, fmtLong(time.Duration(1+55+reviews55)*100*time.Millisecond)),
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(md, "has one pair") {
		t.Error("the report explains a one-round job, but every job ran 3 rounds")
	}
}

// The floor program's questions are the plugin's risky actions, each with
// the scope whoami -A --verify asks it in.
func TestWriteAccessQuestions(t *testing.T) {
	file := filepath.Join(t.TempDir(), "q.json")
	if err := writeAccessQuestions(file); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var q struct {
			Scope string                                      `json:"scope"`
			Spec  authorizationv1.SelfSubjectAccessReviewSpec `json:"spec"`
		}
		if err := json.Unmarshal([]byte(line), &q); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if q.Spec.ResourceAttributes == nil && q.Spec.NonResourceAttributes == nil {
			t.Errorf("%q asks nothing", line)
		}
		if q.Scope == "limited" && q.Spec.ResourceAttributes.Namespace == "" {
			t.Errorf("%q is limited to no namespace", line)
		}
		count[q.Scope]++
	}
	perNamespace, limited, clusterScoped := review.RiskActionCounts()
	want := map[string]int{"namespaced": perNamespace, "limited": limited, "cluster": clusterScoped}
	for scope, n := range want {
		if count[scope] != n {
			t.Errorf("%d questions of scope %s, want %d", count[scope], scope, n)
		}
	}
}
