package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-access/kubectl-access/test/harness"
)

// The rules the probe tests grant service accounts.
var (
	listConfigMaps = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}
	proxyServices  = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"services/proxy"}, Verbs: []string{"get"}}
)

// TestProbeServiceAccountTokens: with a legacy token Secret and without one
// (TokenRequest), /api answers 200 and the server sees the service account.
func TestProbeServiceAccountTokens(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "legacy")
	secret := createTokenSecret(t, ns, "legacy", "legacy-token")
	createServiceAccount(t, ns, "modern")

	cases := []struct {
		sa, source string
	}{
		{"legacy", "Secret " + ns + "/legacy-token"},
		{"modern", "using the TokenRequest API"},
	}
	for _, tc := range cases {
		t.Run(tc.sa, func(t *testing.T) {
			res := access(t, "probe", tc.sa, "-n", ns, "-v=1").RunOK()
			lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
			if len(lines) != 3 {
				t.Fatalf("want the identity, a header and one result line, got:\n%s", res.Stdout)
			}
			if want := "Identity: " + saUser(ns, tc.sa) + " (groups: system:authenticated, system:serviceaccounts, system:serviceaccounts:" + ns + ")"; lines[0] != want {
				t.Errorf("identity line = %q\nwant            %q", lines[0], want)
			}
			if f := strings.Fields(lines[2]); len(f) < 5 || f[0] != "200" || f[1] != "OK" || f[2] != "GET" || f[3] != env.cp.Server+"/api" {
				t.Errorf("result line = %q, want 200 OK GET %s/api LATENCY", lines[2], env.cp.Server)
			}
			if !strings.Contains(res.Stderr, tc.source) {
				t.Errorf("-v=1 does not say the token came from %q:\n%s", tc.source, res.Stderr)
			}
			harness.AssertNoSecretLeak(t, "probe stdout", res.Stdout, string(secret.Data[corev1.ServiceAccountTokenKey]))
			harness.AssertNoSecretLeak(t, "probe stderr", res.Stderr, string(secret.Data[corev1.ServiceAccountTokenKey]))
		})
	}
}

// TestProbeSendsTokenAlone: the admin kubeconfig holds a client certificate
// of system:masters; probing as a service account must send the token
// alone, so reading kube-system's Secrets is forbidden.
func TestProbeSendsTokenAlone(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "plain")
	const secrets = "/api/v1/namespaces/kube-system/secrets"

	res := access(t, "probe", "plain", "-n", ns, "--path", secrets).ExpectExit(4, "403 Forbidden")
	if !strings.Contains(res.Stdout, "Identity: "+saUser(ns, "plain")) || !strings.Contains(res.Stdout, "403 Forbidden") {
		t.Errorf("stdout does not show the service account and the 403:\n%s", res.Stdout)
	}
	for _, admin := range []string{"kubectl-access-admin", "system:masters"} {
		if strings.Contains(res.Stdout+res.Stderr, admin) {
			t.Errorf("the output mentions %q: the certificate reached the server\n%s\n%s", admin, res.Stdout, res.Stderr)
		}
	}
	// The same path with the kubeconfig's own certificate is allowed: the
	// 403 above is the token's, not the path's.
	res = access(t, "probe", "--current", "--path", secrets, "-o", "json").RunOK()
	if rep := decodeProbe(t, res.Stdout); rep.Identity.Username != "kubectl-access-admin" || rep.Results[0].Status != 200 {
		t.Errorf("--current: identity %q, status %d; want the admin and 200", rep.Identity.Username, rep.Results[0].Status)
	}
}

// TestProbeTokenFile covers --token-file: a garbage token is rejected (3),
// a real one from stdin works, an empty one is refused before sending.
func TestProbeTokenFile(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "robot")
	token := requestToken(t, ns, "robot")

	garbage := "not-a-token-" + randomSuffix() + randomSuffix()
	res := access(t, "probe", "--token-file", writeTokenFile(t, garbage)).ExpectExit(3, "401 Unauthorized")
	if !strings.Contains(res.Stdout, "Identity: unknown (the credentials were not accepted: 401 Unauthorized)") {
		t.Errorf("stdout does not say the token was rejected:\n%s", res.Stdout)
	}
	harness.AssertNoSecretLeak(t, "stdout", res.Stdout, garbage)
	harness.AssertNoSecretLeak(t, "stderr", res.Stderr, garbage)

	res = access(t, "probe", "--token-file", "-", "-o", "json").WithStdin("\n  " + token + "\n\n").RunOK()
	if rep := decodeProbe(t, res.Stdout); rep.Identity.Username != saUser(ns, "robot") {
		t.Errorf("--token-file - : identity %q, want %q", rep.Identity.Username, saUser(ns, "robot"))
	}

	res = access(t, "probe", "--token-file", "-", "--server", closedServer(t)).WithStdin(" \n").ExpectExit(2, "empty token")
	if res.Stdout != "" {
		t.Errorf("stdout is not empty: %q", res.Stdout)
	}
}

// TestProbeTransportFaults: wrong CA (6), closed port (7), a server that
// never answers (7 within --request-timeout), plain http refused (6) or
// allowed with a warning, --insecure-skip-tls-verify warns.
func TestProbeTransportFaults(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "robot")
	token := requestToken(t, ns, "robot")
	tokenFile := writeTokenFile(t, token)

	t.Run("wrong CA", func(t *testing.T) {
		wrongCA := otherCAKubeconfig(t)
		res := access(t, "probe", "--token-file", tokenFile).WithKubeconfig(wrongCA).ExpectExit(6, "certificate signed by unknown authority")
		if !strings.Contains(res.Stdout, "certificate signed by unknown authority") || !strings.Contains(res.Stdout, "\n-  ") {
			t.Errorf("stdout does not show the TLS failure as a result without status:\n%s", res.Stdout)
		}
		// Obtaining the service account's token fails the same way.
		access(t, "probe", "robot", "-n", ns).WithKubeconfig(wrongCA).ExpectExit(6, "certificate signed by unknown authority")
	})

	t.Run("closed port", func(t *testing.T) {
		server := closedServer(t)
		res := access(t, "probe", "--token-file", tokenFile, "--server", server, "--path", "/api", "--path", "/version").ExpectExit(7, "connection refused")
		for _, p := range []string{"/api", "/version"} {
			if !strings.Contains(res.Stdout, server+p) {
				t.Errorf("stdout does not list %s:\n%s", p, res.Stdout)
			}
		}
	})

	t.Run("no answer", func(t *testing.T) {
		hanging := newFakeAPIServer(t, true)
		res := access(t, "probe", "--token-file", tokenFile, "--server", hanging.URL, "--allow-insecure-http", "--request-timeout=2s").
			WithTimeout(30*time.Second).ExpectExit(7, "no answer within 2s (--request-timeout)")
		if res.Elapsed > 8*time.Second {
			t.Errorf("took %s with --request-timeout=2s", res.Elapsed)
		}
		harness.AssertNoSecretLeak(t, "stderr", res.Stderr, token)
	})

	// Without --request-timeout each request is still bounded, by probe's
	// default of 30s: a server that never answers cannot hang a probe.
	// The outer bound is the test's own, well beyond it.
	t.Run("no answer, default timeout", func(t *testing.T) {
		const defaultTimeout = 30 * time.Second
		hanging := newFakeAPIServer(t, true)
		res := access(t, "probe", "--token-file", tokenFile, "--server", hanging.URL, "--allow-insecure-http").
			WithTimeout(defaultTimeout+30*time.Second).ExpectExit(7, "no answer within 30s (--request-timeout)")
		if res.Elapsed < defaultTimeout || res.Elapsed > defaultTimeout+8*time.Second {
			t.Errorf("took %s without --request-timeout, want the default %s plus a margin", res.Elapsed, defaultTimeout)
		}
		if got := hanging.received(); len(got) == 0 {
			t.Error("the hanging server received no request: the timeout was never waited for")
		}
		harness.AssertNoSecretLeak(t, "stderr", res.Stderr, token)
	})

	t.Run("no answer while obtaining the token, default timeout", func(t *testing.T) {
		// The default bounds the requests that obtain the token too.
		const defaultTimeout = 30 * time.Second
		hanging := newFakeAPIServer(t, true)
		res := access(t, "probe", "ci", "-n", "default", "--server", hanging.URL, "--allow-insecure-http").
			WithTimeout(defaultTimeout + 30*time.Second).Run()
		if res.Code != 7 {
			t.Errorf("exit %d, want 7 (unreachable or timed out)\n%s", res.Code, res.Stderr)
		}
		if res.Elapsed < defaultTimeout || res.Elapsed > defaultTimeout+8*time.Second {
			t.Errorf("took %s without --request-timeout, want the default %s plus a margin", res.Elapsed, defaultTimeout)
		}
	})

	t.Run("plain http", func(t *testing.T) {
		plain := newFakeAPIServer(t, false)
		access(t, "probe", "--token-file", tokenFile, "--server", plain.URL).ExpectExit(6, "--allow-insecure-http")
		if got := plain.received(); len(got) != 0 {
			t.Fatalf("the plain http server received %d requests without --allow-insecure-http", len(got))
		}
		res := access(t, "probe", "--token-file", tokenFile, "--server", plain.URL, "--allow-insecure-http").RunOK()
		if !strings.Contains(res.Stderr, "Warning: "+plain.URL+" is plain http") {
			t.Errorf("no warning about plain http:\n%s", res.Stderr)
		}
		got := plain.received()
		if len(got) != 2 || got[0] != "Bearer "+token || got[1] != "Bearer "+token {
			t.Errorf("the server received %d requests, want 2 with the token alone", len(got))
		}
	})

	t.Run("insecure skip TLS verify", func(t *testing.T) {
		res := access(t, "probe", "--token-file", tokenFile, "--insecure-skip-tls-verify").RunOK()
		if !strings.Contains(res.Stderr, "Warning: TLS verification is disabled") {
			t.Errorf("no warning about --insecure-skip-tls-verify:\n%s", res.Stderr)
		}
	})
}

// TestProbeStatuses: a missing object answers 404 (5); mixed paths print
// every result, exit with the lowest code, and -o json|yaml carry them.
func TestProbeStatuses(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "reader")
	bindRole(t, ns, "reader", listConfigMaps)
	missing := "/api/v1/namespaces/" + ns + "/configmaps/no-such-configmap"
	forbidden := "/api/v1/namespaces/kube-system/secrets"

	access(t, "probe", "reader", "-n", ns, "--path", missing).ExpectExit(5, missing+": 404 Not Found")

	args := []string{"probe", "reader", "-n", ns, "--path", "/api", "--path", missing, "--path", forbidden, "--path", "/api/v1/namespaces/" + ns + "/configmaps?limit=1"}
	res := access(t, args...).ExpectExit(4, "2 of 4 paths failed (exit code 4)")
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if len(lines) != 6 {
		t.Fatalf("want identity, header and 4 result lines, got:\n%s", res.Stdout)
	}
	for i, want := range []string{"200 OK", "404 Not Found", "403 Forbidden", "200 OK"} {
		if !strings.HasPrefix(lines[i+2], want) {
			t.Errorf("line %d = %q, want it to start with %q", i+2, lines[i+2], want)
		}
	}

	res = access(t, append(args, "-o", "json")...).ExpectExit(4)
	rep := decodeProbe(t, res.Stdout)
	if rep.APIVersion != "access.kubectl-access.io/v1alpha1" || rep.Kind != "ProbeReport" || rep.Server != env.cp.Server || rep.Attempts != 1 {
		t.Errorf("record header = %s %s %s attempts %d", rep.APIVersion, rep.Kind, rep.Server, rep.Attempts)
	}
	if rep.Identity.Username != saUser(ns, "reader") || len(rep.Identity.Groups) != 3 {
		t.Errorf("identity = %+v", rep.Identity)
	}
	wantStatus := []int{200, 404, 403, 200}
	if len(rep.Results) != len(wantStatus) {
		t.Fatalf("%d results, want %d", len(rep.Results), len(wantStatus))
	}
	for i, r := range rep.Results {
		if r.Status != wantStatus[i] || r.OK != (wantStatus[i] == 200) || r.Path != args[5+2*i] || r.URL != env.cp.Server+r.Path || r.LatencyMs == nil || *r.LatencyMs <= 0 || r.Method != "GET" {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	if !strings.Contains(rep.Results[2].Error, `cannot list resource "secrets"`) || rep.Results[0].Error != "" {
		t.Errorf("errors: %q and %q", rep.Results[0].Error, rep.Results[2].Error)
	}

	res = access(t, append(args, "-o", "yaml")...).ExpectExit(4)
	var fromYAML probeReport
	if err := yaml.UnmarshalStrict([]byte(res.Stdout), &fromYAML); err != nil || len(fromYAML.Results) != 4 || fromYAML.Identity.Username != saUser(ns, "reader") {
		t.Errorf("-o yaml does not carry the record: %v\n%s", err, res.Stdout)
	}

	// -q: the exit code alone.
	res = access(t, append(args, "-q")...).ExpectExit(4)
	if res.Stdout != "" || res.Stderr != "" {
		t.Errorf("-q printed stdout %q, stderr %q", res.Stdout, res.Stderr)
	}

	// --body: the bodies alone, like curl.
	res = access(t, "probe", "reader", "-n", ns, "--path", "/api", "--body").RunOK()
	if !strings.HasPrefix(res.Stdout, `{"kind":"APIVersions"`) {
		t.Errorf("--body printed %q, want the APIVersions body", res.Stdout)
	}
}

// TestProbeService probes through the API server's service proxy.
func TestProbeService(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "caller")
	bindRole(t, ns, "caller", proxyServices)
	ctx := context.Background()
	client := adminClient(t)

	// A Service whose selector matches no pod has no endpoints: 503.
	_, err := client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "lonely"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "nothing-matches-" + randomSuffix()},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res := access(t, "probe", "caller", "-n", ns, "--service", "lonely").ExpectExit(5, "/: 503 Service Unavailable")
	if !strings.Contains(res.Stdout, env.cp.Server+"/api/v1/namespaces/"+ns+"/services/lonely/proxy/") || !strings.Contains(res.Stdout, `no endpoints available for service "lonely"`) {
		t.Errorf("stdout does not show the proxy URL and the server's message:\n%s", res.Stdout)
	}
	// The namespace can be given in --service; a missing Service is a 404.
	access(t, "probe", "caller", "-n", ns, "--service", ns+"/ghost:80", "--path", "/healthz").ExpectExit(5, "/healthz: 404 Not Found")

	// A success needs an endpoint the proxy accepts: the API server only
	// proxies to the IP of an existing Pod, never to loopback or link-local
	// addresses, and there is no kubelet here. So the test serves HTTP on
	// a non-loopback address of this machine, records a Pod with that IP
	// and an EndpointSlice pointing at it. A machine with loopback only
	// (or a sandbox that forbids binding elsewhere) cannot run this part.
	ip := hostIPv4()
	if ip == "" {
		t.Skip("no non-loopback IPv4 address: the service proxy refuses loopback endpoints, so a success through it cannot be tested here")
	}
	listener, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s (%v): the service proxy refuses loopback endpoints, so a success through it cannot be tested here", ip, err)
	}
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("hello from web"))
	}))
	backend.Listener = listener
	backend.Start()
	t.Cleanup(backend.Close)
	port := listener.Addr().(*net.TCPAddr).Port

	pod, err := client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.invalid/web:1"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.PodIP = ip
	pod.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	if _, err := client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("setting the Pod's IP: %v", err)
	}
	createEndpoints(t, ns, "web", "web-0", ip, port)
	// The API server reads EndpointSlices from its cache: --wait covers
	// the moment until it has seen this one.
	res = access(t, "probe", "caller", "-n", ns, "--service", "web:80", "--path", "/healthz", "--body", "--wait", "20s").RunOK()
	if res.Stdout != "hello from web\n" {
		t.Errorf("--body through the service proxy = %q, want the backend's answer", res.Stdout)
	}
	res = access(t, "probe", "caller", "-n", ns, "--service", "web", "--path", "/healthz", "-o", "json").RunOK()
	if rep := decodeProbe(t, res.Stdout); rep.Service != ns+"/web" || rep.Results[0].Status != 200 ||
		rep.Results[0].URL != env.cp.Server+"/api/v1/namespaces/"+ns+"/services/web/proxy/healthz" {
		t.Errorf("record = %+v", rep)
	}
	// The backend's own status comes through: 404 is exit 5.
	access(t, "probe", "caller", "-n", ns, "--service", "web", "--path", "/nope").ExpectExit(5, "/nope: 404 Not Found")

	// https:NAME asks the API server to speak TLS to the endpoint.
	tlsListener, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	tlsBackend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("hello over tls, tls=" + strconv.FormatBool(r.TLS != nil)))
	}))
	tlsBackend.Listener = tlsListener
	tlsBackend.StartTLS()
	t.Cleanup(tlsBackend.Close)
	createEndpoints(t, ns, "webtls", "web-0", ip, tlsListener.Addr().(*net.TCPAddr).Port)
	res = access(t, "probe", "caller", "-n", ns, "--service", "https:webtls", "--body", "--wait", "20s").RunOK()
	if res.Stdout != "hello over tls, tls=true\n" {
		t.Errorf("--service https:webtls --body = %q, want the TLS backend's answer", res.Stdout)
	}
}

// createEndpoints creates a Service without selector on port 80 and an
// EndpointSlice that sends it to ip:port, the IP of the Pod podName.
func createEndpoints(t *testing.T, ns, name, podName, ip string, port int) {
	t.Helper()
	ctx := context.Background()
	client := adminClient(t)
	if _, err := client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(int32(port))}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ready := true
	portNumber := int32(port)
	if _, err := client.DiscoveryV1().EndpointSlices(ns).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-1", Labels: map[string]string{
			discoveryv1.LabelServiceName: name,
			discoveryv1.LabelManagedBy:   "kubectl-access-e2e",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: podName},
		}},
		Ports: []discoveryv1.EndpointPort{{Port: &portNumber}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestProbeWait: --wait retries until a RoleBinding created part-way
// through takes effect, and gives up with the last answer when none does.
func TestProbeWait(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "late")
	path := "/api/v1/namespaces/" + ns + "/configmaps"

	access(t, "probe", "late", "-n", ns, "--path", path).ExpectExit(4)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := adminClient(t) // here: it fails the test, which only this goroutine may
	bound := make(chan error, 1)
	go func() {
		select {
		case <-time.After(2 * time.Second):
			bound <- grantRole(ctx, client, ns, "late-"+randomSuffix(), listConfigMaps, ns, "late")
		case <-ctx.Done():
			bound <- ctx.Err()
		}
	}()
	res := access(t, "probe", "late", "-n", ns, "--path", path, "--path", "/api", "--wait", "60s", "-o", "json", "-v=1").RunOK()
	if err := <-bound; err != nil {
		t.Fatal(err)
	}
	rep := decodeProbe(t, res.Stdout)
	if rep.Attempts < 2 || !rep.Results[0].OK || rep.Results[0].Status != 200 {
		t.Errorf("attempts %d, result %+v; want 200 after several attempts", rep.Attempts, rep.Results[0])
	}
	if res.Elapsed < 2*time.Second || res.Elapsed > 30*time.Second {
		t.Errorf("took %s; the RoleBinding came after 2s", res.Elapsed)
	}
	if !strings.Contains(res.Stderr, "retrying in") {
		t.Errorf("-v=1 does not log the retries:\n%s", res.Stderr)
	}

	// Nothing grants secrets in kube-system: the wait ends with the 403.
	res = access(t, "probe", "late", "-n", ns, "--path", "/api/v1/namespaces/kube-system/secrets", "--wait", "2s", "-o", "json").ExpectExit(4, "403 Forbidden")
	if rep := decodeProbe(t, res.Stdout); rep.Attempts < 3 || rep.Results[0].Status != 403 {
		t.Errorf("attempts %d, status %d; want several attempts ending in 403", rep.Attempts, rep.Results[0].Status)
	}
	if res.Elapsed < 2*time.Second || res.Elapsed > 15*time.Second {
		t.Errorf("--wait 2s took %s", res.Elapsed)
	}
}

// TestProbeInterrupted: SIGINT ends a --wait at once with exit code 130.
func TestProbeInterrupted(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "waiting")
	code, stderr, elapsed := interruptedRun(t, 2*time.Second, "probe", "waiting", "-n", ns, "--path", "/api/v1/namespaces/kube-system/secrets", "--wait", "5m")
	if code != 130 || !strings.Contains(stderr, "error: interrupted") {
		t.Errorf("exit %d, stderr %q; want 130 and \"error: interrupted\"", code, stderr)
	}
	if elapsed > 5*time.Second {
		t.Errorf("stopped %s after SIGINT", elapsed)
	}
}

// TestProbeTokenNeverLogged runs the probe at the highest verbosity asked
// for (-v=10, capped to 7) and looks for the token everywhere.
func TestProbeTokenNeverLogged(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "quiet")
	secret := createTokenSecret(t, ns, "quiet", "quiet-token")
	legacy := string(secret.Data[corev1.ServiceAccountTokenKey])

	res := access(t, "probe", "quiet", "-n", ns, "--source=secret", "-v=10", "--path", "/api", "--path", "/api/v1/namespaces/kube-system/secrets").ExpectExit(4)
	if !strings.Contains(res.Stderr, `"Request" verb="GET"`) || !strings.Contains(res.Stderr, "selfsubjectreviews") {
		t.Errorf("-v=10 logged no probe requests; is verbosity working?\n%s", res.Stderr)
	}
	harness.AssertNoSecretLeak(t, "stderr of probe -v=10", res.Stderr, legacy)
	harness.AssertNoSecretLeak(t, "stdout of probe -v=10", res.Stdout, legacy)

	token := requestToken(t, ns, "quiet")
	res = access(t, "probe", "--token-file", "-", "-v=10", "-o", "json").WithStdin(token).RunOK()
	harness.AssertNoSecretLeak(t, "stderr of probe --token-file - -v=10", res.Stderr, token)
	harness.AssertNoSecretLeak(t, "stdout of probe --token-file - -v=10", res.Stdout, token)
}

// TestProbeRequestCount pins the requests a probe sends, as client-go logs
// them at -v=6: the token's, one SelfSubjectReview and one GET per path.
// No discovery.
func TestProbeRequestCount(t *testing.T) {
	ns := newNamespace(t)
	createServiceAccount(t, ns, "counted")
	token := requestToken(t, ns, "counted")

	responses := func(stderr string) []string {
		var out []string
		for _, line := range strings.Split(stderr, "\n") {
			if i := strings.Index(line, `"Response" verb=`); i >= 0 {
				f := strings.Fields(line[i:])
				if len(f) >= 3 {
					out = append(out, strings.Trim(strings.TrimPrefix(f[1], "verb="), `"`)+" "+strings.Trim(strings.TrimPrefix(f[2], "url="), `"`))
				}
			}
		}
		return out
	}
	cases := []struct {
		name  string
		args  []string
		stdin string
		want  int
	}{
		// --token-file: no token requests, 1 review + 2 paths.
		{"token file", []string{"probe", "--token-file", "-", "--path", "/api", "--path", "/version"}, token, 3},
		// A service account without a Secret: GET ServiceAccount, LIST
		// Secrets, TokenRequest, then 1 review + 1 path.
		{"service account", []string{"probe", "counted", "-n", ns}, "", 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := access(t, append(tc.args, "-v=6")...)
			if tc.stdin != "" {
				r = r.WithStdin(tc.stdin)
			}
			res := r.RunOK()
			got := responses(res.Stderr)
			if len(got) != tc.want {
				t.Errorf("%d requests, want %d:\n%s", len(got), tc.want, strings.Join(got, "\n"))
			}
			for _, req := range got {
				if strings.Contains(req, "/apis?") || strings.HasSuffix(req, "/apis") || strings.Contains(req, "openapi") {
					t.Errorf("discovery request: %s", req)
				}
			}
			t.Logf("%d requests:\n%s", len(got), strings.Join(got, "\n"))
		})
	}
}

// TestProbeUsageErrors: bad input is refused with exit 2 before anything
// is sent (the server is a closed port, which would exit 7).
func TestProbeUsageErrors(t *testing.T) {
	server := closedServer(t)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"path without slash", []string{"--path", "api"}, `--path must start with "/"`},
		{"path with host", []string{"--path", "//evil.example/api"}, `must not start with "//"`},
		{"dot segments", []string{"--path", "/api/%2e%2e/x"}, `"." or ".."`},
		{"bad service", []string{"--service", "web:99999"}, "from 1 to 65535"},
		{"quiet and output", []string{"-q", "-o", "json"}, "--quiet prints nothing"},
		{"negative wait", []string{"--wait=-5s"}, "--wait must not be negative"},
		{"bad request timeout", []string{"--request-timeout=soon"}, "--request-timeout must be"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := access(t, append([]string{"probe", "--server", server}, tc.args...)...).ExpectExit(2, "error: ", tc.want)
			if res.Stdout != "" {
				t.Errorf("stdout is not empty: %q", res.Stdout)
			}
		})
	}
}
