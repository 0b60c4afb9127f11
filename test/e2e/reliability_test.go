package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-access/kubectl-access/pkg/controlplane"
	"github.com/kubectl-access/kubectl-access/test/harness"
)

// whoamiJSON mirrors the parts of `kubectl access whoami -o json` these
// tests read.
type whoamiJSON struct {
	User struct {
		Username string `json:"username"`
	} `json:"user"`
	Namespaces []struct {
		Namespace     string `json:"namespace"`
		ResourceRules []struct {
			Verbs     []string `json:"verbs"`
			Resources []string `json:"resources"`
		} `json:"resourceRules"`
		Error string `json:"error"`
	} `json:"namespaces"`
}

// canListConfigMaps reports whether a namespace's rules allow listing
// ConfigMaps, the right the tests grant in some namespaces.
func canListConfigMaps(rules []struct {
	Verbs     []string `json:"verbs"`
	Resources []string `json:"resources"`
}) bool {
	for _, r := range rules {
		if contains(r.Resources, "configmaps") && contains(r.Verbs, "list") {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// createNamespaces creates n namespaces named prefix-i concurrently and, in
// every other one, lets ns/sa list ConfigMaps. It returns which namespaces
// grant the right.
func createGrantedNamespaces(t *testing.T, client kubernetes.Interface, prefix string, n int, saNS, sa string) map[string]bool {
	t.Helper()
	ctx := context.Background()
	granted := map[string]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-%03d", prefix, i)
		grant := i%2 == 0
		granted[name] = grant
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
				errs <- err
				return
			}
			if !grant {
				return
			}
			rule := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"list"}}
			if err := grantRole(ctx, client, name, "cm-reader", rule, saNS, sa); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("creating namespaces: %v", err)
	}
	t.Cleanup(func() {
		for name := range granted {
			_ = client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
		}
	})
	return granted
}

// throttle makes API Priority and Fairness hold the requests of ns/sa to a
// tiny share with a one-request queue, so the server answers most of a
// fan-out with 429 and Retry-After.
func throttle(t *testing.T, ns, sa string) {
	t.Helper()
	ctx := context.Background()
	fc := adminClient(t).FlowcontrolV1()
	name := "e2e-throttle-" + randomSuffix()
	zero := int32(0)
	one := int32(1)
	plc := &flowcontrolv1.PriorityLevelConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
			Type: flowcontrolv1.PriorityLevelEnablementLimited,
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
				NominalConcurrencyShares: &one,
				LendablePercent:          &zero,
				BorrowingLimitPercent:    &zero,
				LimitResponse: flowcontrolv1.LimitResponse{
					Type:    flowcontrolv1.LimitResponseTypeQueue,
					Queuing: &flowcontrolv1.QueuingConfiguration{Queues: 1, HandSize: 1, QueueLengthLimit: 1},
				},
			},
		},
	}
	if _, err := fc.PriorityLevelConfigurations().Create(ctx, plc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating PriorityLevelConfiguration: %v", err)
	}
	fs := &flowcontrolv1.FlowSchema{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: name},
			MatchingPrecedence:         100,
			DistinguisherMethod:        &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects: []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindServiceAccount, ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Namespace: ns, Name: sa}}},
				ResourceRules: []flowcontrolv1.ResourcePolicyRule{{
					Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}, ClusterScope: true, Namespaces: []string{"*"},
				}},
				NonResourceRules: []flowcontrolv1.NonResourcePolicyRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}},
			}},
		},
	}
	if _, err := fc.FlowSchemas().Create(ctx, fs, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating FlowSchema: %v", err)
	}
	t.Cleanup(func() {
		_ = fc.FlowSchemas().Delete(context.Background(), name, metav1.DeleteOptions{})
		_ = fc.PriorityLevelConfigurations().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	// The API server says it uses the FlowSchema by marking it not dangling.
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := fc.FlowSchemas().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range got.Status.Conditions {
			if c.Type == flowcontrolv1.FlowSchemaConditionDangling && c.Status == flowcontrolv1.ConditionFalse {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("the API server never took up FlowSchema %s: %v", name, err)
	}
}

// throttledBound is the documented bound for whoami -A over 100 namespaces
// under the throttling of TestWhoamiUnderThrottling: Retry-After is 1s per
// rejection and client-go retries up to 10 times.
const throttledBound = 90 * time.Second

// TestWhoamiUnderThrottling: the server rejects most of the fan-out with 429
// and Retry-After; whoami -A still returns every namespace's correct result.
func TestWhoamiUnderThrottling(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "throttled")
	token := requestToken(t, ns, "throttled")
	prefix := "e2e-apf-" + randomSuffix()
	cfg := adminConfig(t)
	cfg.QPS, cfg.Burst = 100, 100
	granted := createGrantedNamespaces(t, kubernetes.NewForConfigOrDie(cfg), prefix, 100, ns, "throttled")
	throttle(t, ns, "throttled")

	res := access(t, "whoami", "--token-file", "-", "-A", "--concurrency=32", "-o", "json", "-v=6").
		WithStdin(token).WithTimeout(throttledBound + time.Minute).RunOK()
	if res.Elapsed > throttledBound {
		t.Errorf("whoami -A under throttling took %s, documented bound %s", res.Elapsed, throttledBound)
	}
	rejected := strings.Count(res.Stderr, "429 Too Many Requests")
	if rejected == 0 {
		t.Fatalf("the server throttled nothing: the test proves nothing\n%s", res.Stderr)
	}
	t.Logf("%d requests answered 429 and retried; whoami -A took %s", rejected, res.Elapsed)

	var rec whoamiJSON
	if err := json.Unmarshal([]byte(res.Stdout), &rec); err != nil {
		t.Fatalf("whoami -o json: %v", err)
	}
	seen := 0
	for _, n := range rec.Namespaces {
		grant, ours := granted[n.Namespace]
		if !ours {
			continue
		}
		seen++
		if n.Error != "" {
			t.Errorf("namespace %s: %s", n.Namespace, n.Error)
		}
		if got := canListConfigMaps(n.ResourceRules); got != grant {
			t.Errorf("namespace %s: may list configmaps = %v, want %v", n.Namespace, got, grant)
		}
	}
	if seen != len(granted) {
		t.Errorf("%d of the %d namespaces were reviewed", seen, len(granted))
	}
	harness.AssertNoSecretLeak(t, "stderr", res.Stderr, token)
}

// TestWhoamiServerStopsMidRun stops kube-apiserver of a control plane of its
// own while whoami -A reviews its namespaces one at a time.
func TestWhoamiServerStopsMidRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cp, err := controlplane.Start(ctx, controlplane.Options{BinDir: controlplane.BinDir(), Dir: filepath.Join(t.TempDir(), "cp")})
	if err != nil {
		t.Fatalf("starting a second control plane: %v", err)
	}
	defer cp.Stop()
	cfg, err := cp.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 100, 100
	client := kubernetes.NewForConfigOrDie(cfg)
	createGrantedNamespaces(t, client, "stop", 150, "default", "default")

	const requestTimeout = 5 * time.Second
	cmd := access(t, "whoami", "-A", "--concurrency=1", "--request-timeout="+requestTimeout.String(), "-o", "json", "-v=6").
		WithKubeconfig(cp.AdminKubeconfig).Exec(t.Context())
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Stop the API server once a few reviews have been answered.
	var stderr bytes.Buffer
	scanner := bufio.NewScanner(io.TeeReader(stderrPipe, &stderr))
	answered := 0
	var stoppedAt time.Time
	for scanner.Scan() {
		line := scanner.Text()
		if strings.Contains(line, "selfsubjectrulesreviews") && strings.Contains(line, `"Response"`) {
			answered++
		}
		if answered == 10 && stoppedAt.IsZero() {
			stoppedAt = time.Now()
			if err := cp.StopAPIServer(); err != nil {
				t.Errorf("stopping kube-apiserver: %v", err)
			}
		}
	}
	_, _ = io.Copy(io.Discard, stderrPipe)
	err = cmd.Wait()
	ended := time.Now()
	if stoppedAt.IsZero() {
		t.Fatalf("whoami ended after %d answered reviews, before the server could be stopped (%v)\n%s", answered, err, stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 7 {
		t.Errorf("exit code %d, want 7\n%s", code, tail(stderr.String(), 20))
	}
	if took := ended.Sub(stoppedAt); took > requestTimeout+5*time.Second {
		t.Errorf("whoami ended %s after the server stopped, want at most --request-timeout (%s) plus a margin", took, requestTimeout)
	}
	if !strings.Contains(stderr.String(), "were not reviewed") {
		t.Errorf("stderr does not list the namespaces not reviewed:\n%s", tail(stderr.String(), 20))
	}
	var rec whoamiJSON
	if err := json.Unmarshal(stdout.Bytes(), &rec); err != nil {
		t.Fatalf("the results it did get are not printed as JSON: %v\n%s", err, stdout.String())
	}
	reviewed, failed := 0, 0
	for _, n := range rec.Namespaces {
		if n.Error == "" {
			reviewed++
		} else {
			failed++
		}
	}
	if reviewed < 10 || failed == 0 {
		t.Errorf("%d namespaces reviewed and %d failed, want at least the 10 answered before the stop and some failed", reviewed, failed)
	}
}

// TestWhoamiInterrupted sends SIGINT while whoami waits for reviews a server
// never answers: the plugin exits 130 at once. The server is an httptest
// one, since a real API server cannot be made to hang on purpose.
func TestWhoamiInterrupted(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces":
			w.Header().Set("Content-Type", "application/json")
			items := make([]string, 50)
			for i := range items {
				items[i] = fmt.Sprintf(`{"metadata":{"name":"ns-%d"}}`, i)
			}
			fmt.Fprintf(w, `{"kind":"NamespaceList","apiVersion":"v1","metadata":{},"items":[%s]}`, strings.Join(items, ","))
		case strings.HasSuffix(r.URL.Path, "/selfsubjectreviews"):
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1","status":{"userInfo":{"username":"system:serviceaccount:a:b"}}}`)
		default: // SelfSubjectRulesReviews hang
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	defer close(release)

	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["hang"] = &clientcmdapi.Cluster{Server: srv.URL, CertificateAuthorityData: pemCert(srv)}
	cfg.AuthInfos["caller"] = &clientcmdapi.AuthInfo{Token: "caller-token"}
	cfg.Contexts["hang"] = &clientcmdapi.Context{Cluster: "hang", AuthInfo: "caller"}
	cfg.CurrentContext = "hang"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}

	cmd := access(t, "whoami", "--token-file", "-", "-A").WithKubeconfig(path).WithStdin("subject-token\n").Exec(t.Context())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // kubectl has exec'd the plugin, which now waits on the reviews
	signalled := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("whoami did not exit within 10s of SIGINT\n%s", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit code %d after SIGINT, want 130\n%s", code, stderr.String())
	}
	if took := time.Since(signalled); took > 3*time.Second {
		t.Errorf("whoami took %s to exit after SIGINT", took)
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr does not say it was interrupted: %q", stderr.String())
	}
}

func pemCert(srv *httptest.Server) []byte {
	_, ca := srvCA(srv)
	return ca
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
