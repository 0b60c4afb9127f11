package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
)

// accessQuestion is one line of a --verify-file: a SelfSubjectAccessReview
// spec to ask in every namespace (scope "namespaced"), once (scope
// "cluster"), or only in the namespace it names (scope "limited"). The
// benchmark writes the file from the plugin's own list of risky actions, so
// that this floor links none of the plugin's packages.
type accessQuestion struct {
	Scope string                                      `json:"scope"`
	Spec  authorizationv1.SelfSubjectAccessReviewSpec `json:"spec"`
}

// readAccessQuestions reads a --verify-file, a JSON object per line.
func readAccessQuestions(file string) ([]accessQuestion, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []accessQuestion
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.TrimSpace(s.Text()) == "" {
			continue
		}
		var q accessQuestion
		if err := json.Unmarshal(s.Bytes(), &q); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		out = append(out, q)
	}
	return out, s.Err()
}

// verifyAll is the floor of whoami -A --verify's second half: after the
// rules reviews, every question of questions in every namespace its scope
// says, concurrency at a time, as the plugin asks them (action by action,
// namespaces in order), keeping one byte per answer. It returns the number
// of reviews and of those allowed.
func verifyAll(ctx context.Context, client authorizationv1client.AuthorizationV1Interface, questions []accessQuestion, namespaces []string, concurrency int) (reviews, allowed int, err error) {
	type unit struct {
		spec      *authorizationv1.SelfSubjectAccessReviewSpec
		namespace string
	}
	var units []unit
	for i := range questions {
		q := &questions[i]
		switch q.Scope {
		case "cluster":
			units = append(units, unit{spec: &q.Spec})
		case "limited":
			if q.Spec.ResourceAttributes != nil && slices.Contains(namespaces, q.Spec.ResourceAttributes.Namespace) {
				units = append(units, unit{spec: &q.Spec, namespace: q.Spec.ResourceAttributes.Namespace})
			}
		default:
			for _, ns := range namespaces {
				units = append(units, unit{spec: &q.Spec, namespace: ns})
			}
		}
	}
	answers := make([]bool, len(units))
	next := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range max(concurrency, 1) {
		wg.Go(func() {
			for i := range next {
				spec := *units[i].spec
				if spec.ResourceAttributes != nil {
					attrs := *spec.ResourceAttributes
					attrs.Namespace = units[i].namespace
					spec.ResourceAttributes = &attrs
				}
				r, err := client.SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					continue
				}
				answers[i] = r.Status.Allowed
			}
		})
	}
	for i := range units {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, 0, err
	}
	for _, a := range answers {
		if a {
			allowed++
		}
	}
	return len(units), allowed, nil
}
