package probe

import (
	"bufio"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
)

// TestStatusMessage: a Location is reported for every 3xx (the ones the
// client does not refuse as redirects too, such as 300), never for a 4xx,
// and otherwise the Status body's message.
func TestStatusMessage(t *testing.T) {
	const status = `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"from the body"}`
	cases := []struct {
		name     string
		code     int
		location string
		body     string
		want     string
	}{
		{name: "300 with a Location", code: 300, location: "/elsewhere", body: status, want: "redirect to /elsewhere not followed: the credentials would go with it"},
		{name: "399 with a Location", code: 399, location: "/elsewhere", body: status, want: "redirect to /elsewhere not followed: the credentials would go with it"},
		{name: "400 with a Location is no redirect", code: 400, location: "/elsewhere", body: status, want: "from the body"},
		{name: "299 with a Location is no redirect", code: 299, location: "/elsewhere", body: status, want: "from the body"},
		{name: "a 3xx without a Location", code: 304, body: status, want: "from the body"},
		{name: "a body that is no Status", code: 500, body: "oops", want: ""},
		{name: "a Status without a message", code: 500, body: `{"kind":"Status","apiVersion":"v1","status":"Failure"}`, want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.code, Header: http.Header{}}
			if tc.location != "" {
				resp.Header.Set("Location", tc.location)
			}
			if got := statusMessage(resp, []byte(tc.body)); got != tc.want {
				t.Errorf("statusMessage = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRunMultipleChoicesIsReported: a 300 with a Location is not a redirect
// the client follows or refuses; the result says where it pointed, and
// that it was not followed.
func TestRunMultipleChoicesIsReported(t *testing.T) {
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", "/elsewhere")
		w.WriteHeader(http.StatusMultipleChoices)
	}))
	defer s.Close()
	rep := run(t, tlsConfig(s), Options{}, "/api")
	want := []brief{{Path: "/api", URL: s.URL + "/api", Reason: "Multiple Choices", Status: 300, ExitCode: exitcode.BadStatus,
		Error: "redirect to /elsewhere not followed: the credentials would go with it"}}
	if diff := cmp.Diff(want, briefs(rep)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

// TestRunBodyCutShort: an answer whose body ends before its Content-Length
// fails, with the read error after the status's own message; a 2xx is no
// longer OK.
func TestRunBodyCutShort(t *testing.T) {
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, body := "200 OK", `{"kind":"APIVersions"`
		if r.URL.Path == "/forbidden" {
			status, body = "403 Forbidden", `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"denied"}`
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		writeCutShort(buf, status, body)
	}))
	defer s.Close()
	rep := run(t, tlsConfig(s), Options{}, "/api", "/forbidden")
	got := briefs(rep)
	want := []brief{
		{Path: "/api", URL: s.URL + "/api", Reason: "OK", Status: 200, ExitCode: exitcode.Error, Error: "reading the body: unexpected EOF"},
		{Path: "/forbidden", URL: s.URL + "/forbidden", Reason: "Forbidden", Status: 403, ExitCode: exitcode.Forbidden, Error: "denied; reading the body: unexpected EOF"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if rep.Results[0].OK {
		t.Error("a 200 whose body was cut short is OK")
	}
}

// writeCutShort writes an HTTP/1.1 answer that promises 10 bytes more than
// body holds, then the connection closes.
func writeCutShort(buf *bufio.ReadWriter, status, body string) {
	buf.WriteString("HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nConnection: close\r\n")
	buf.WriteString("Content-Length: " + strconv.Itoa(len(body)+10) + "\r\n\r\n" + body)
	buf.Flush()
}

func tlsConfig(s *httptest.Server) *rest.Config {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	return &rest.Config{Host: s.URL, BearerToken: testToken, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
}

// TestReadBounded pins the limit: a body of exactly limit bytes is whole,
// one byte more is truncated to limit.
func TestReadBounded(t *testing.T) {
	cases := []struct {
		body, want string
		truncated  bool
	}{
		{body: "1234", want: "1234"},
		{body: "12345", want: "12345"},
		{body: "123456", want: "12345", truncated: true},
	}
	for _, tc := range cases {
		data, truncated, err := readBounded(strings.NewReader(tc.body), 5)
		if err != nil || string(data) != tc.want || truncated != tc.truncated {
			t.Errorf("readBounded(%q, 5) = %q, %v, %v; want %q, %v", tc.body, data, truncated, err, tc.want, tc.truncated)
		}
	}
}
