// Command jobs holds the benchmark's floor of each single-shot job of
// kubectl-access (issue 19): on top of the library floor (the same root
// command, test/bench/floor/internal/libfloor, whose `version` is the
// library floor's), each subcommand sends the requests the plugin's command
// sends, with the best overlap possible, and prints one line the benchmark
// checks, nothing more: no validation of the token's claims, no tables, no
// hardening beyond client-go's defaults.
//
//	jobs token SA             GET ServiceAccount ∥ LIST token Secrets; prints the Secret's token
//	jobs token-request SA     one TokenRequest; prints the token
//	jobs token-auto SA        as token, then a TokenRequest when no Secret serves; prints the token
//	jobs probe SA --path P    the token as above, then as the token SelfSubjectReview ∥ GET P,
//	                          the token's TLS connection dialled while the lookup is in flight;
//	                          prints "USER STATUS"
//	jobs whoami --token-file F  SelfSubjectReview ∥ SelfSubjectRulesReview in the namespace
//	                          ∥ the 4 RBAC LISTs that fold the baseline (ClusterRoles,
//	                          ClusterRoleBindings, and the namespace's Roles and RoleBindings,
//	                          with the kubeconfig's credentials); prints "USER N rules M objects"
//	jobs whoami --all --token-file F [--concurrency N --qps Q --burst B]
//	                          whoami -A: SelfSubjectReview ∥ the namespace LIST ∥ the 4 RBAC
//	                          LISTs cluster-wide (the kubeconfig's credentials); once the
//	                          review and the namespace LIST are in, one SelfSubjectRulesReview
//	                          per namespace, N at a time, with the plugin's client rate limit;
//	                          prints "USER N reviews M objects"; with --verify-file F, then
//	                          the SelfSubjectAccessReviews F lists in every namespace (verify.go),
//	                          N at a time, one byte kept per answer; adds "K access reviews A allowed"
//	jobs kubeconfig SA        the token as above; prints a kubeconfig holding it (YAML)
//	jobs audit                the 3 LISTs at once, then per account (16 at a time) a TokenRequest
//	                          and its rules reviews (audit.go); prints "N accounts M reviews"
//
// The namespace is the kubeconfig context's or -n, as for the plugin.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	rbacv1client "k8s.io/client-go/kubernetes/typed/rbac/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-access/kubectl-access/pkg/startheap"
	"github.com/kubectl-access/kubectl-access/test/bench/floor/internal/libfloor"
)

func main() {
	// As the plugin does: a floor that collected garbage the plugin does
	// not would be no floor.
	startheap.Set(startheap.Percent)
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	root, cf := libfloor.NewRoot(streams)
	j := &jobs{cf: cf, out: streams.Out}
	var path, tokenFile string
	probe := &cobra.Command{Use: "probe SA", Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
		return j.probe(cmd.Context(), args[0], path)
	}}
	probe.Flags().StringVar(&path, "path", "/api", "path to GET as the token")
	var fan fanOut
	whoami := &cobra.Command{Use: "whoami", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
		if fan.all {
			return j.whoamiAll(cmd.Context(), tokenFile, fan)
		}
		return j.whoami(cmd.Context(), tokenFile)
	}}
	whoami.Flags().StringVar(&tokenFile, "token-file", "", "file holding the token to act as")
	whoami.Flags().BoolVar(&fan.all, "all", false, "every namespace, as whoami -A")
	whoami.Flags().IntVar(&fan.concurrency, "concurrency", 16, "with --all: rules reviews in flight at once")
	whoami.Flags().Float32Var(&fan.qps, "qps", 400, "with --all: the token's client QPS")
	whoami.Flags().IntVar(&fan.burst, "burst", 400, "with --all: the token's client burst")
	whoami.Flags().StringVar(&fan.verifyFile, "verify-file", "", "with --all: after the rules reviews, ask the SelfSubjectAccessReviews of this file (one JSON {scope, spec} per line), as whoami -A --verify")
	root.AddCommand(
		&cobra.Command{Use: "token SA", Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
			return j.token(cmd.Context(), args[0])
		}},
		&cobra.Command{Use: "token-request SA", Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
			return j.tokenRequest(cmd.Context(), args[0])
		}},
		&cobra.Command{Use: "token-auto SA", Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
			return j.tokenAuto(cmd.Context(), args[0])
		}},
		probe,
		whoami,
		&cobra.Command{Use: "kubeconfig SA", Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
			return j.kubeconfig(cmd.Context(), args[0])
		}},
		&cobra.Command{Use: "audit", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
			return j.audit(cmd.Context())
		}},
	)
	if err := root.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

// jobs runs the floor of each job with the root command's kubectl flags.
type jobs struct {
	cf  *genericclioptions.ConfigFlags
	out io.Writer
}

// caller returns the caller's config, its clients and the namespace.
func (j *jobs) caller() (*rest.Config, *libfloor.Clients, string, error) {
	cfg, err := j.cf.ToRESTConfig()
	if err != nil {
		return nil, nil, "", err
	}
	ns, _, err := j.cf.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, nil, "", err
	}
	c, err := libfloor.NewClients(cfg)
	return cfg, c, ns, err
}

// secretToken reads the ServiceAccount and its namespace's token Secrets at
// once, as the plugin does, and returns the token of the oldest Secret
// annotated for it (uid included).
func secretToken(ctx context.Context, c *libfloor.Clients, ns, name string) (*corev1.Secret, error) {
	var (
		secrets    *corev1.SecretList
		secretsErr error
		wg         sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		secrets, secretsErr = c.Core.Secrets(ns).List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("type", string(corev1.SecretTypeServiceAccountToken)).String(),
		})
	}()
	sa, err := c.Core.ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if secretsErr != nil {
		return nil, secretsErr
	}
	var best *corev1.Secret
	for i := range secrets.Items {
		s := &secrets.Items[i]
		if s.Annotations[corev1.ServiceAccountNameKey] != sa.Name || len(s.Data[corev1.ServiceAccountTokenKey]) == 0 {
			continue
		}
		if uid := s.Annotations[corev1.ServiceAccountUIDKey]; uid != "" && uid != string(sa.UID) {
			continue
		}
		if best == nil || s.CreationTimestamp.Before(&best.CreationTimestamp) {
			best = s
		}
	}
	if best == nil {
		return nil, fmt.Errorf("service account %s/%s: %w", ns, name, errNoSecret)
	}
	return best, nil
}

// errNoSecret says a service account has no usable token Secret.
var errNoSecret = errors.New("no token Secret")

func (j *jobs) token(ctx context.Context, name string) error {
	_, c, ns, err := j.caller()
	if err != nil {
		return err
	}
	s, err := secretToken(ctx, c, ns, name)
	if err != nil {
		return err
	}
	_, err = j.out.Write(s.Data[corev1.ServiceAccountTokenKey])
	return err
}

// tokenAuto is the floor of token with --source=auto (the default): the
// ServiceAccount and its token Secrets at once, then a TokenRequest when no
// Secret serves.
func (j *jobs) tokenAuto(ctx context.Context, name string) error {
	_, c, ns, err := j.caller()
	if err != nil {
		return err
	}
	s, err := secretToken(ctx, c, ns, name)
	switch {
	case err == nil:
		_, err = j.out.Write(s.Data[corev1.ServiceAccountTokenKey])
		return err
	case !errors.Is(err, errNoSecret):
		return err
	}
	return j.requestToken(ctx, c, ns, name)
}

func (j *jobs) tokenRequest(ctx context.Context, name string) error {
	_, c, ns, err := j.caller()
	if err != nil {
		return err
	}
	return j.requestToken(ctx, c, ns, name)
}

// requestToken sends one TokenRequest for ns/name and prints the token.
func (j *jobs) requestToken(ctx context.Context, c *libfloor.Clients, ns, name string) error {
	tr, err := c.Core.ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	_, err = j.out.Write([]byte(tr.Status.Token))
	return err
}

// rbacClient returns the RBAC client with the caller's credentials, with
// the floor's user agent.
func rbacClient(base *rest.Config) (rbacv1client.RbacV1Interface, error) {
	cfg := rest.CopyConfig(base)
	cfg.UserAgent = libfloor.UserAgent
	return rbacv1client.NewForConfig(cfg)
}

// asToken returns clients that authenticate as token alone.
func asToken(base *rest.Config, token string) (*libfloor.Clients, error) {
	cfg := rest.AnonymousClientConfig(base)
	cfg.BearerToken = token
	return libfloor.NewClients(cfg)
}

// predialed returns a config for the token's requests (without the token,
// which is set later) whose first TLS connection is dialled and
// handshaken now, in the background, so that it is ready when the token
// is: the handshake overlaps the caller's lookup.
func predialed(ctx context.Context, base *rest.Config) (*rest.Config, error) {
	cfg := rest.AnonymousClientConfig(base)
	u, err := url.Parse(cfg.Host)
	if err != nil || u.Scheme != "https" {
		return cfg, err // nothing to dial ahead over plain http
	}
	tlsConfig, err := rest.TLSConfigFor(cfg)
	if err != nil || tlsConfig == nil {
		return cfg, err
	}
	tlsConfig = tlsConfig.Clone()
	tlsConfig.NextProtos = []string{"h2", "http/1.1"}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	dialer := &tls.Dialer{Config: tlsConfig}
	ready := make(chan net.Conn, 1)
	go func() {
		conn, err := dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			conn = nil
		}
		ready <- conn
	}()
	var once sync.Once
	cfg.Transport = &http.Transport{
		TLSClientConfig:   tlsConfig,
		ForceAttemptHTTP2: true,
		Proxy:             http.ProxyFromEnvironment,
		DialTLSContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			var conn net.Conn
			once.Do(func() { conn = <-ready })
			if conn != nil && a == addr {
				return conn, nil
			}
			if conn != nil {
				conn.Close()
			}
			return dialer.DialContext(ctx, network, a)
		},
	}
	// client-go takes either its TLS options or a transport of ours.
	cfg.TLSClientConfig = rest.TLSClientConfig{}
	return cfg, nil
}

func (j *jobs) probe(ctx context.Context, name, path string) error {
	base, c, ns, err := j.caller()
	if err != nil {
		return err
	}
	tokenCfg, err := predialed(ctx, base)
	if err != nil {
		return err
	}
	s, err := secretToken(ctx, c, ns, name)
	if err != nil {
		return err
	}
	tokenCfg.BearerToken = string(s.Data[corev1.ServiceAccountTokenKey])
	tc, err := libfloor.NewClients(tokenCfg)
	if err != nil {
		return err
	}
	var (
		user   string
		revErr error
		wg     sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		var r *authenticationv1.SelfSubjectReview
		if r, revErr = tc.Authentication.SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{}); revErr == nil {
			user = r.Status.UserInfo.Username
		}
	}()
	var status int
	getErr := tc.Authentication.RESTClient().Get().AbsPath(path).Do(ctx).StatusCode(&status).Error()
	wg.Wait()
	if revErr != nil {
		return revErr
	}
	if status == 0 {
		return getErr
	}
	_, err = fmt.Fprintf(j.out, "%s %d\n", user, status)
	return err
}

func (j *jobs) whoami(ctx context.Context, tokenFile string) error {
	token, err := readTokenFile(tokenFile)
	if err != nil {
		return err
	}
	base, err := j.cf.ToRESTConfig()
	if err != nil {
		return err
	}
	ns, _, err := j.cf.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return err
	}
	tc, err := asToken(base, token)
	if err != nil {
		return err
	}
	rbac, err := rbacClient(base)
	if err != nil {
		return err
	}
	var (
		rules    *authorizationv1.SelfSubjectRulesReview
		rulesErr error
		objects  [4]int
		listErrs [4]error
		wg       sync.WaitGroup
	)
	wg.Go(func() {
		rules, rulesErr = tc.Authorization.SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
			Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns},
		}, metav1.CreateOptions{})
	})
	lists := rbacLists(ctx, rbac, ns)
	for i, list := range lists {
		wg.Go(func() { objects[i], listErrs[i] = list() })
	}
	review, err := tc.Authentication.SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	wg.Wait()
	if err != nil {
		return err
	}
	if rulesErr != nil {
		return rulesErr
	}
	if err := errors.Join(listErrs[:]...); err != nil {
		return err
	}
	_, err = fmt.Fprintf(j.out, "%s %d rules %d objects\n", review.Status.UserInfo.Username, len(rules.Status.ResourceRules)+len(rules.Status.NonResourceRules), objects[0]+objects[1]+objects[2]+objects[3])
	return err
}

// readTokenFile returns the token held in the file named by --token-file.
func readTokenFile(name string) (string, error) {
	if name == "" {
		return "", errors.New("--token-file is required")
	}
	data, err := os.ReadFile(name)
	return strings.TrimSpace(string(data)), err
}

// rbacLists are the 4 LISTs that fold the baseline: ClusterRoles,
// ClusterRoleBindings, and the Roles and RoleBindings of ns (every
// namespace for metav1.NamespaceAll); each returns how many objects came.
func rbacLists(ctx context.Context, rbac rbacv1client.RbacV1Interface, ns string) [4]func() (int, error) {
	return [4]func() (int, error){
		func() (int, error) {
			l, err := rbac.ClusterRoles().List(ctx, metav1.ListOptions{})
			if err != nil {
				return 0, err
			}
			return len(l.Items), nil
		},
		func() (int, error) {
			l, err := rbac.ClusterRoleBindings().List(ctx, metav1.ListOptions{})
			if err != nil {
				return 0, err
			}
			return len(l.Items), nil
		},
		func() (int, error) {
			l, err := rbac.Roles(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return 0, err
			}
			return len(l.Items), nil
		},
		func() (int, error) {
			l, err := rbac.RoleBindings(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return 0, err
			}
			return len(l.Items), nil
		},
	}
}

// fanOut are the settings of whoami --all.
type fanOut struct {
	all         bool
	concurrency int
	qps         float32
	burst       int
	// verifyFile holds the access reviews of --verify; "" for none.
	verifyFile string
}

// whoamiAll is the floor of whoami -A on the library floor: what the
// plugin's design must send, with the best overlap. The rules reviews wait
// for the namespace list, and for the identity review, as the plugin's do
// (a token that is not the subject's must not be reviewed everywhere).
func (j *jobs) whoamiAll(ctx context.Context, tokenFile string, fan fanOut) error {
	token, err := readTokenFile(tokenFile)
	if err != nil {
		return err
	}
	base, err := j.cf.ToRESTConfig()
	if err != nil {
		return err
	}
	// The token's clients at the plugin's rate limit; the caller's keep
	// the kubeconfig's.
	limited := rest.CopyConfig(base)
	limited.QPS, limited.Burst = fan.qps, fan.burst
	tc, err := asToken(limited, token)
	if err != nil {
		return err
	}
	caller, err := libfloor.NewClients(base)
	if err != nil {
		return err
	}
	rbac, err := rbacClient(base)
	if err != nil {
		return err
	}
	var (
		wg       sync.WaitGroup
		objects  [4]int
		listErrs [4]error
		nsList   *corev1.NamespaceList
		nsErr    error
	)
	lists := rbacLists(ctx, rbac, metav1.NamespaceAll)
	for i, list := range lists {
		wg.Go(func() { objects[i], listErrs[i] = list() })
	}
	nsDone := make(chan struct{})
	go func() {
		defer close(nsDone)
		nsList, nsErr = caller.Core.Namespaces().List(ctx, metav1.ListOptions{})
	}()
	review, err := tc.Authentication.SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		<-nsDone
		wg.Wait()
		return err
	}
	// The reviews wait for the namespace list too; the RBAC lists go on
	// beside them.
	<-nsDone
	if nsErr != nil {
		wg.Wait()
		return nsErr
	}
	reviews := make(chan string)
	errs := make(chan error, fan.concurrency)
	var fanWG sync.WaitGroup
	for range max(fan.concurrency, 1) {
		fanWG.Go(func() {
			for ns := range reviews {
				if _, err := tc.Authorization.SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
					Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns},
				}, metav1.CreateOptions{}); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for _, n := range nsList.Items {
		reviews <- n.Name
	}
	close(reviews)
	fanWG.Wait()
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if err := errors.Join(listErrs[:]...); err != nil {
		return err
	}
	verified := ""
	if fan.verifyFile != "" {
		questions, err := readAccessQuestions(fan.verifyFile)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(nsList.Items))
		for _, n := range nsList.Items {
			names = append(names, n.Name)
		}
		reviews, allowed, err := verifyAll(ctx, tc.Authorization, questions, names, fan.concurrency)
		if err != nil {
			return err
		}
		verified = fmt.Sprintf(" %d access reviews %d allowed", reviews, allowed)
	}
	_, err = fmt.Fprintf(j.out, "%s %d reviews %d objects%s\n", review.Status.UserInfo.Username, len(nsList.Items), objects[0]+objects[1]+objects[2]+objects[3], verified)
	return err
}

func (j *jobs) kubeconfig(ctx context.Context, name string) error {
	base, c, ns, err := j.caller()
	if err != nil {
		return err
	}
	s, err := secretToken(ctx, c, ns, name)
	if err != nil {
		return err
	}
	ca := base.CAData
	if len(ca) == 0 && base.CAFile != "" {
		if ca, err = os.ReadFile(base.CAFile); err != nil {
			return err
		}
	}
	id := ns + ":" + name
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[id] = &clientcmdapi.Cluster{Server: base.Host, CertificateAuthorityData: ca}
	cfg.AuthInfos[id] = &clientcmdapi.AuthInfo{Token: string(s.Data[corev1.ServiceAccountTokenKey])}
	cfg.Contexts[id] = &clientcmdapi.Context{Cluster: id, AuthInfo: id, Namespace: ns}
	cfg.CurrentContext = id
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	_, err = j.out.Write(data)
	return err
}
