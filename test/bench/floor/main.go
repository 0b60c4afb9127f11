// Command floor is the benchmark's lower bound for `kubectl access whoami
// -A`: the least a Go program must do to get the same answers. It sends one
// SelfSubjectRulesReview per namespace as a bearer token alone, with the
// client settings the plugin uses (QPS, Burst, concurrency), and nothing
// else: no namespace list, no identity review, no formatting beyond a count.
//
//	floor -kubeconfig FILE -token-file FILE -namespaces FILE [-concurrency N] [-qps Q] [-burst B]
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
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "floor: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig giving the server and its CA (its credentials are not used)")
	tokenFile := flag.String("token-file", "", "file holding the bearer token to act as")
	nsFile := flag.String("namespaces", "", "file listing the namespaces, one a line")
	concurrency := flag.Int("concurrency", 8, "reviews in flight at once")
	qps := flag.Float64("qps", 5, "client QPS (rest.Config.QPS)")
	burst := flag.Int("burst", 10, "client burst (rest.Config.Burst)")
	flag.Parse()
	if *kubeconfig == "" || *tokenFile == "" || *nsFile == "" {
		return errors.New("-kubeconfig, -token-file and -namespaces are required")
	}
	if *concurrency < 1 {
		return fmt.Errorf("-concurrency must be at least 1 (got %d)", *concurrency)
	}
	token, err := os.ReadFile(*tokenFile)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(*nsFile)
	if err != nil {
		return err
	}
	namespaces := strings.Fields(string(data))

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
