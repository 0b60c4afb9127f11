package review

import (
	"errors"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-access/kubectl-access/pkg/risk"
)

// An answer is a dozen bytes, and an explanation the server repeats is held
// once: with -A --verify there are tens of thousands of answers.
func TestAnswersAreCompact(t *testing.T) {
	if size := unsafe.Sizeof(answerUnit{}); size > 12 {
		t.Errorf("an answer takes %d bytes, want at most 12", size)
	}
	exec := risk.Action{Verb: "create", Resource: "pods", Subresource: "exec"}
	answers, err := newAnswers(func(add func(string, risk.Action)) {
		for _, ns := range []string{"a", "b", "c", "d", "e"} {
			add(ns, exec)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	answers.set(0, true, false, "allowed by the webhook", "", nil)
	answers.set(1, true, false, "allowed by the webhook", "", nil)
	answers.set(2, false, true, "", "", boom)
	answers.set(3, false, true, "", "", boom)
	// An error clears what was answered before it.
	answers.set(4, true, false, "allowed by the webhook", "", nil)
	answers.set(4, true, false, "allowed by the webhook", "", boom)
	want := []Verification{
		{Namespace: "a", Action: exec, Allowed: true, Reason: "allowed by the webhook"},
		{Namespace: "b", Action: exec, Allowed: true, Reason: "allowed by the webhook"},
		{Namespace: "c", Action: exec, Err: boom},
		{Namespace: "d", Action: exec, Err: boom},
		{Namespace: "e", Action: exec, Err: boom},
	}
	if diff := cmp.Diff(want, answers.List(), verifyCmp); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	// The reason once (e's first answer shared it), and each error apart:
	// errors are not compared, as some cannot be.
	if len(answers.details) != 1+3 {
		t.Errorf("%d details held, want 4: the shared reason once, each error apart", len(answers.details))
	}
	if len(answers.namespaces) != 5 || len(answers.actions) != 1 {
		t.Errorf("%d namespaces and %d actions held, want 5 and 1", len(answers.namespaces), len(answers.actions))
	}
}

func TestAnswersOfNothing(t *testing.T) {
	var nothing *Answers
	if nothing.Len() != 0 || nothing.List() != nil {
		t.Errorf("nil answers: Len %d, List %v", nothing.Len(), nothing.List())
	}
}

func TestNotable(t *testing.T) {
	partnerUnverified := []VerifiedRisk{{Check: "c", PartnerUnverified: true}}
	cases := []struct {
		name string
		v    VerifiedAction
		want bool
	}{
		{"denied", VerifiedAction{Verified: true}, false},
		{"allowed by the rules", VerifiedAction{Verified: true, Allowed: true, CoveredByRules: true}, false},
		{"asked with --check", VerifiedAction{Verified: true, Requested: true}, true},
		{"allowed outside the rules", VerifiedAction{Verified: true, Allowed: true}, true},
		{"not verified", VerifiedAction{}, true},
		{"allowed, the other half unknown", VerifiedAction{Verified: true, Allowed: true, CoveredByRules: true, Risks: partnerUnverified}, true},
		{"denied, the other half unknown", VerifiedAction{Verified: true, Risks: partnerUnverified}, false},
	}
	for _, tc := range cases {
		if got := tc.v.Notable(); got != tc.want {
			t.Errorf("%s: Notable() = %t, want %t", tc.name, got, tc.want)
		}
		// Whatever is not notable counts in no verdict, at any threshold.
		if !tc.v.Notable() {
			held, unverified := VerifiedRisks([]VerifiedAction{tc.v}, 0)
			if len(held)+len(unverified) > 0 {
				t.Errorf("%s: not notable, yet VerifiedRisks counts it", tc.name)
			}
		}
	}
}

// EachVerified stops making records when the caller stops.
func TestEachVerifiedStops(t *testing.T) {
	secrets := risk.Action{Verb: "get", Resource: "secrets"}
	answers := answersOf(t, []Verification{{Namespace: "a", Action: secrets}, {Namespace: "b", Action: secrets}, {Namespace: "c", Action: secrets}})
	n := 0
	for v := range EachVerified(nil, answers, nil) {
		n++
		if v.Namespace != "a" {
			t.Errorf("first record of namespace %q, want a", v.Namespace)
		}
		break
	}
	if n != 1 {
		t.Errorf("%d records made, want 1", n)
	}
	if got := Verified(nil, answers, nil); len(got) != 3 || got[2].Namespace != "c" {
		t.Errorf("Verified = %v, want a record per answer in order", got)
	}
}
