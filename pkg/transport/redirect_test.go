package transport

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
)

// token is the credential the tests must never see leave for another host
// or appear in an error.
const token = "sa-token-that-must-stay-home"

// recorder is a TLS server that records the Authorization header of every
// request it gets, and answers with answer.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	auth []string
}

func newRecorder(t *testing.T, answer http.HandlerFunc) *recorder {
	t.Helper()
	r := &recorder{}
	r.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.auth = append(r.auth, req.Header.Get("Authorization"))
		r.mu.Unlock()
		answer(w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

// received is the Authorization header of each request, in order.
func (r *recorder) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string{}, r.auth...)
}

// host is the server's host:port.
func (r *recorder) host() string {
	u, _ := url.Parse(r.URL)
	return u.Host
}

// configFor is a config that trusts srv and authenticates with token, as
// credential.ClientConfig makes them. httptest gives every TLS server the
// same certificate, so it trusts every other test server too: a redirect
// that is followed does reach its target.
func configFor(srv *httptest.Server) *rest.Config {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return &rest.Config{Host: srv.URL, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
}

// reviewJSON is a SelfSubjectReview answer.
const reviewJSON = `{"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1","status":{"userInfo":{"username":"system:serviceaccount:ns:sa"}}}`

func answerReview(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(reviewJSON))
}

// redirectTo answers every request with status and a Location of target,
// the request's path and query appended, as a front end would.
func redirectTo(status int, target string) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Location", target+req.URL.RequestURI()+"&secret=in-the-query")
		w.WriteHeader(status)
	}
}

// review sends a SelfSubjectReview, the first request of every command,
// through a typed client built from cfg.
func review(cfg *rest.Config) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	_, err = client.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	return err
}

// getNamespace sends a GET through a typed client built from cfg.
func getNamespace(cfg *rest.Config) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	_, err = client.CoreV1().Namespaces().Get(context.Background(), "default", metav1.GetOptions{})
	return err
}

func TestHardenRefusesRedirects(t *testing.T) {
	cases := []struct {
		name   string
		status int
		send   func(*rest.Config) error
	}{
		{"a 307 to a POST is refused", http.StatusTemporaryRedirect, review},
		{"a 308 to a POST is refused", http.StatusPermanentRedirect, review},
		{"a 302 to a POST is refused", http.StatusFound, review},
		{"a 301 to a POST is refused", http.StatusMovedPermanently, review},
		{"a 303 to a POST is refused", http.StatusSeeOther, review},
		{"a 307 to a GET is refused", http.StatusTemporaryRedirect, getNamespace},
		{"a 301 to a GET is refused", http.StatusMovedPermanently, getNamespace},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			other := newRecorder(t, answerReview)
			server := newRecorder(t, redirectTo(tc.status, other.URL))

			err := tc.send(Harden(configFor(server.Server), Options{}))

			if got := other.received(); len(got) != 0 {
				t.Errorf("the redirect target received %d requests; it must receive none", len(got))
			}
			if diff := cmp.Diff([]string{"Bearer " + token}, server.received()); diff != "" {
				t.Errorf("the server asked for must still get the token (-want +got):\n%s", diff)
			}
			var redirect *RedirectError
			if !errors.As(err, &redirect) {
				t.Fatalf("error %v (%T) is not a *RedirectError", err, err)
			}
			if diff := cmp.Diff(RedirectError{StatusCode: tc.status, Host: other.host()}, *redirect); diff != "" {
				t.Errorf("RedirectError (-want +got):\n%s", diff)
			}
			for _, secret := range []string{token, "secret=in-the-query", "/apis/"} {
				if strings.Contains(redirect.Error(), secret) {
					t.Errorf("the error %q contains %q", redirect.Error(), secret)
				}
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("the error %q contains the token", err)
			}
			if code := exitcode.Code(err); code != exitcode.BadStatus {
				t.Errorf("exit code %d, want %d (another non-2xx status)", code, exitcode.BadStatus)
			}
		})
	}
}

// TestRedirectsCarryTheTokenWithoutHarden proves the fault the package
// exists for, so that the test above cannot pass only because the redirect
// would have failed anyway.
func TestRedirectsCarryTheTokenWithoutHarden(t *testing.T) {
	other := newRecorder(t, answerReview)
	server := newRecorder(t, redirectTo(http.StatusTemporaryRedirect, other.URL))

	if err := review(configFor(server.Server)); err != nil {
		t.Fatalf("without Harden the redirect is followed and answered: %v", err)
	}
	if diff := cmp.Diff([]string{"Bearer " + token}, other.received()); diff != "" {
		t.Errorf("without Harden, client-go sends the token to the other host (-want +got):\n%s", diff)
	}
}

func TestRedirectError(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		loc     string
		want    *RedirectError
		message string
	}{
		{
			name: "an absolute Location names its host and port", status: http.StatusTemporaryRedirect,
			loc:     "https://other-host:8443/apis/x?token=abc",
			want:    &RedirectError{StatusCode: http.StatusTemporaryRedirect, Host: "other-host:8443"},
			message: "the server answered 307 Temporary Redirect with a redirect to other-host:8443, which was refused: the token would be sent there",
		},
		{
			name: "user info in the Location is not shown", status: http.StatusFound,
			loc:     "https://user:password@other-host/",
			want:    &RedirectError{StatusCode: http.StatusFound, Host: "other-host"},
			message: "the server answered 302 Found with a redirect to other-host, which was refused: the token would be sent there",
		},
		{
			name: "a relative Location is the request's own host", status: http.StatusMovedPermanently,
			loc:     "/login?next=/api",
			want:    &RedirectError{StatusCode: http.StatusMovedPermanently, Host: "api.example:6443"},
			message: "the server answered 301 Moved Permanently with a redirect to api.example:6443, which was refused: the token would be sent there",
		},
		{
			name: "an unparseable Location is still refused", status: http.StatusPermanentRedirect,
			loc:     "https://bad host:x/",
			want:    &RedirectError{StatusCode: http.StatusPermanentRedirect},
			message: "the server answered 308 Permanent Redirect with a redirect to a location that could not be parsed, which was refused: the token would be sent there",
		},
		{name: "a 3xx without a Location is an ordinary answer", status: http.StatusTemporaryRedirect},
		{name: "a 304 is an ordinary answer", status: http.StatusNotModified, loc: "https://other-host/"},
		{name: "a 300 is an ordinary answer: net/http does not follow it", status: http.StatusMultipleChoices, loc: "https://other-host/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "https://api.example:6443/api", nil)
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}}
			if tc.loc != "" {
				resp.Header.Set("Location", tc.loc)
			}
			got := redirectOf(req, resp)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("redirectOf (-want +got):\n%s", diff)
			}
			if got == nil {
				return
			}
			if got.Error() != tc.message {
				t.Errorf("Error() = %q, want %q", got.Error(), tc.message)
			}
			if apierrors.IsNotFound(got) || apierrors.IsUnauthorized(got) || apierrors.IsForbidden(got) || apierrors.IsTooManyRequests(got) {
				t.Errorf("a redirect is classified as a known API reason")
			}
		})
	}
}

func TestCheckRedirect(t *testing.T) {
	other := newRecorder(t, answerReview)
	server := newRecorder(t, redirectTo(http.StatusFound, other.URL))
	client := server.Client() // trusts the test certificate, carries no hardening
	client.CheckRedirect = CheckRedirect

	resp, err := client.Get(server.URL + "/api")

	if resp == nil || resp.StatusCode != http.StatusFound {
		t.Errorf("Do returns the redirect answer; got %v", resp)
	}
	if got := other.received(); len(got) != 0 {
		t.Errorf("the redirect target received %d requests; it must receive none", len(got))
	}
	var redirect *RedirectError
	if !errors.As(err, &redirect) {
		t.Fatalf("error %v (%T) is not a *RedirectError", err, err)
	}
	if diff := cmp.Diff(RedirectError{StatusCode: http.StatusFound, Host: other.host()}, *redirect); diff != "" {
		t.Errorf("RedirectError (-want +got):\n%s", diff)
	}
}

// TestHardenedHTTPClientRefusesRedirects is how probe sends its GETs: a
// plain http.Client from rest.HTTPClientFor, whose transport refuses the
// redirect before CheckRedirect is asked.
func TestHardenedHTTPClientRefusesRedirects(t *testing.T) {
	other := newRecorder(t, answerReview)
	server := newRecorder(t, redirectTo(http.StatusTemporaryRedirect, other.URL))
	client, err := rest.HTTPClientFor(Harden(configFor(server.Server), Options{}))
	if err != nil {
		t.Fatal(err)
	}

	resp, err := client.Get(server.URL + "/api")

	if resp != nil {
		t.Errorf("a refused redirect returns no answer; got %d", resp.StatusCode)
	}
	if got := other.received(); len(got) != 0 {
		t.Errorf("the redirect target received %d requests; it must receive none", len(got))
	}
	var redirect *RedirectError
	if !errors.As(err, &redirect) {
		t.Fatalf("error %v (%T) is not a *RedirectError", err, err)
	}
	if diff := cmp.Diff(RedirectError{StatusCode: http.StatusTemporaryRedirect, Host: other.host()}, *redirect); diff != "" {
		t.Errorf("RedirectError (-want +got):\n%s", diff)
	}
}
