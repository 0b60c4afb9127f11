package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-access/kubectl-access/pkg/expect"
)

func TestCheckJobDocument(t *testing.T) {
	actions := checkJobActions()
	if len(actions) != checkActions {
		t.Fatalf("%d actions, want %d", len(actions), checkActions)
	}
	namespaces := []string{"bench", "bench-ns-0000"}
	docs, err := expect.Parse("check.yaml", []byte(checkDocument(actions, namespaces)))
	if err != nil {
		t.Fatalf("the job's document does not parse: %v", err)
	}
	s := docs[0].Expectations[0]
	if diff := cmp.Diff([]string{"bench/reader"}, s.Subjects); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff(namespaces, s.Namespaces); diff != "" {
		t.Error(diff)
	}
	if len(s.Deny) != checkActions || len(s.Allow) != 0 {
		t.Errorf("%d deny, %d allow", len(s.Deny), len(s.Allow))
	}
	if got := s.Deny[4].String(); got != "create deployments.apps" {
		t.Errorf("the fifth action is %q", got)
	}
	canI, floor := checkCanILines(actions, namespaces), checkFloorLines(actions, namespaces)
	if len(canI) != 2*checkActions || len(floor) != 2*checkActions {
		t.Errorf("%d can-i lines, %d floor lines", len(canI), len(floor))
	}
	if canI[4] != "create deployments.apps -n bench" || floor[4] != "bench create deployments apps" || floor[0] != "bench create configmaps" {
		t.Errorf("%q %q %q", canI[4], floor[4], floor[0])
	}
	for _, a := range actions {
		if a.verb == "get" || a.verb == "list" || a.verb == "watch" {
			t.Errorf("%v: the reader role grants reads; every expectation must hold", a)
		}
	}
}

func TestCheckNamespaceNames(t *testing.T) {
	all := []string{"bench", "bench-ns-0000", "bench-ns-0001", "default", "kube-system"}
	for i := 2; i < 20; i++ {
		all = append(all, "bench-ns-00"+string(rune('0'+i/10))+string(rune('0'+i%10)))
	}
	got := checkNamespaceNames(all)
	if len(got) != checkNamespaces || got[0] != "bench" || got[1] != "bench-ns-0000" || got[9] != "bench-ns-0008" {
		t.Errorf("%v", got)
	}
}

func TestCheckHeld(t *testing.T) {
	out := "SUBJECT        ACTION              NAMESPACE   EXPECTED   GOT      RESULT   REASON\n" +
		"bench/reader   create configmaps   bench       deny       denied   OK       -\n" +
		"bench/reader   create pods         bench       deny       denied   OK       -\n"
	if err := checkHeld(2)(out); err != nil {
		t.Error(err)
	}
	if err := checkHeld(2)(strings.Replace(out, " OK ", " FAIL ", 1)); err == nil {
		t.Error("a failed expectation was not noticed")
	}
}
