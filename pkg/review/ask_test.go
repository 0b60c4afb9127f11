package review

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
)

// TestAsk asks each question in the namespace given, whatever the
// action's scope, in order, and keeps every answer with its question.
func TestAsk(t *testing.T) {
	client, specs := ssarFake(func(spec authorizationv1.SelfSubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
		ra := spec.ResourceAttributes
		return authorizationv1.SubjectAccessReviewStatus{Allowed: ra != nil && ra.Namespace == "b", Reason: "r"}, nil
	})
	pods, nodes := verifyAction(t, "get pods"), verifyAction(t, "list nodes")
	v := &Verifier{Client: client.AuthorizationV1(), Concurrency: 1}
	got, err := v.Ask(context.Background(), []Question{{Namespace: "a", Action: pods}, {Namespace: "b", Action: nodes}, {Action: verifyAction(t, "get /metrics")}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Verification{
		{Namespace: "a", Action: pods, Reason: "r"},
		{Namespace: "b", Action: nodes, Allowed: true, Reason: "r"},
		{Action: verifyAction(t, "get /metrics"), Reason: "r"},
	}
	if diff := cmp.Diff(want, got.List()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var asked []string
	for _, s := range *specs {
		if s.ResourceAttributes != nil {
			asked = append(asked, s.ResourceAttributes.Namespace+" "+s.ResourceAttributes.Resource)
		} else {
			asked = append(asked, s.NonResourceAttributes.Path)
		}
	}
	if diff := cmp.Diff([]string{"a pods", "b nodes", "/metrics"}, asked); diff != "" {
		t.Errorf("asked (-want +got):\n%s", diff)
	}
}
