// Command floor is the benchmark's lower bound for `kubectl access whoami
// -A`: the least a Go program must do to get the same answers. It sends one
// SelfSubjectRulesReview per namespace as a bearer token alone, with the
// client settings the plugin uses (QPS, Burst, concurrency), and nothing
// else: no namespace list, no identity review, no formatting beyond a count.
// With -access-reviews it is the floor of `kubectl access check` instead:
// one SelfSubjectAccessReview per line of the file ("NAMESPACE VERB
// RESOURCE [GROUP]"), as the token, and prints "N access reviews".
//
//	floor -kubeconfig FILE -token-file FILE (-namespaces FILE | -access-reviews FILE) [-concurrency N] [-qps Q] [-burst B]
//
// The kubeconfig gives the server and its CA only; its credentials are
// dropped. It prints "N reviews" and exits 0, or prints the first error and
// exits 1. test/bench builds and runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sync/errgroup"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-access/kubectl-access/pkg/startheap"
)

func main() {
	// As the plugin does: a floor that collected garbage the plugin does
	// not would be no floor.
	startheap.Set(startheap.Percent)
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "floor: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig giving the server and its CA (its credentials are not used)")
	tokenFile := flag.String("token-file", "", "file holding the bearer token to act as")
	nsFile := flag.String("namespaces", "", "file listing the namespaces, one a line")
	accessFile := flag.String("access-reviews", "", "file listing SelfSubjectAccessReviews to send instead, one a line: NAMESPACE VERB RESOURCE [GROUP]")
	concurrency := flag.Int("concurrency", 8, "reviews in flight at once")
	qps := flag.Float64("qps", 5, "client QPS (rest.Config.QPS)")
	burst := flag.Int("burst", 10, "client burst (rest.Config.Burst)")
	flag.Parse()
	if *kubeconfig == "" || *tokenFile == "" || (*nsFile == "") == (*accessFile == "") {
		return errors.New("-kubeconfig, -token-file and one of -namespaces and -access-reviews are required")
	}
	if *concurrency < 1 {
		return fmt.Errorf("-concurrency must be at least 1 (got %d)", *concurrency)
	}
	token, err := os.ReadFile(*tokenFile)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(*nsFile + *accessFile)
	if err != nil {
		return err
	}

	base, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	cfg := rest.AnonymousClientConfig(base)
	cfg.BearerToken = strings.TrimSpace(string(token))
	cfg.QPS, cfg.Burst = float32(*qps), *burst
	cfg.UserAgent = "kubectl-access-bench-floor/v0 (" + runtime.GOOS + "/" + runtime.GOARCH + ")"
	client, err := authorizationv1client.NewForConfig(cfg)
	if err != nil {
		return err
	}

	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(*concurrency)
	if *accessFile != "" {
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		for _, line := range lines {
			f := strings.Fields(line)
			if len(f) < 3 {
				return fmt.Errorf("-access-reviews: %q is not NAMESPACE VERB RESOURCE [GROUP]", line)
			}
			attrs := &authorizationv1.ResourceAttributes{Namespace: f[0], Verb: f[1], Resource: f[2]}
			if len(f) > 3 {
				attrs.Group = f[3]
			}
			g.Go(func() error {
				review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: attrs}}
				if _, err := client.SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{}); err != nil {
					return fmt.Errorf("%s: %w", line, err)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		fmt.Printf("%d access reviews\n", len(lines))
		return nil
	}
	namespaces := strings.Fields(string(data))
	for _, ns := range namespaces {
		g.Go(func() error {
			review := &authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns}}
			if _, err := client.SelfSubjectRulesReviews().Create(ctx, review, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("namespace %s: %w", ns, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	fmt.Printf("%d reviews\n", len(namespaces))
	return nil
}
