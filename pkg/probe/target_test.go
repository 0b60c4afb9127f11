package probe

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseService(t *testing.T) {
	cases := []struct {
		in      string
		want    Service
		segment string
		err     string
	}{
		{in: "web", want: Service{Name: "web"}, segment: "web"},
		{in: "web:8080", want: Service{Name: "web", Port: "8080"}, segment: "web:8080"},
		{in: "web:http-alt", want: Service{Name: "web", Port: "http-alt"}, segment: "web:http-alt"},
		{in: "build/web", want: Service{Namespace: "build", Name: "web"}, segment: "web"},
		{in: "build/web:80", want: Service{Namespace: "build", Name: "web", Port: "80"}, segment: "web:80"},
		// A scheme always yields the three-part segment the API server splits.
		{in: "https:web", want: Service{Scheme: "https", Name: "web"}, segment: "https:web:"},
		{in: "https:web:8443", want: Service{Scheme: "https", Name: "web", Port: "8443"}, segment: "https:web:8443"},
		{in: "build/https:web:8443", want: Service{Namespace: "build", Scheme: "https", Name: "web", Port: "8443"}, segment: "https:web:8443"},
		{in: "http:web", want: Service{Scheme: "http", Name: "web"}, segment: "http:web:"},
		{in: "https:web:", want: Service{Scheme: "https", Name: "web"}, segment: "https:web:"},
		// "https:443" cannot be a scheme and a name (names start with a letter).
		{in: "https:443", want: Service{Name: "https", Port: "443"}, segment: "https:443"},
		// The explicit empty scheme reaches a Service named like a scheme.
		{in: ":https:web", want: Service{Name: "https", Port: "web"}, segment: "https:web"},

		{in: "", err: "must name a Service"},
		{in: "web:", err: `ends with ":"`},
		{in: "a/b/c", err: `more than one "/"`},
		{in: "Build/web", err: "holds the character 'B'"},
		{in: "bad_ns/web", err: "holds the character '_'"},
		{in: "-ns/web", err: "namespace is not a valid namespace name"},
		{in: "/web", err: "namespace is not a valid namespace name"},
		{in: "1web", err: "name is not a valid Service name"},
		{in: "web.example", err: "name is not a valid Service name"},
		{in: "ftp:web:80", err: "scheme must be http or https"},
		{in: "a:b:c:d", err: `too many ":"`},
		{in: "web:0", err: "from 1 to 65535"},
		{in: "web:65536", err: "from 1 to 65535"},
		{in: "web:8080x", err: "from 1 to 65535"},
		{in: "web:a--b", err: "consecutive hyphens"},
		{in: "https::80", err: "names no Service"},
		{in: "web x", err: "holds a space"},
		{in: "web\n", err: "control character"},
		{in: "wéb", err: "non-ASCII"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseService(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseService(%q) error = %v, want one containing %q", tc.in, err, tc.err)
				}
				if !strings.HasPrefix(err.Error(), "--service") {
					t.Errorf("error %q does not name the flag", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseService(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseService(%q) (-want +got):\n%s", tc.in, diff)
			}
			if s := got.segment(); s != tc.segment {
				t.Errorf("segment = %q, want %q", s, tc.segment)
			}
		})
	}
}

func TestServiceProxyPath(t *testing.T) {
	s := Service{Namespace: "build", Scheme: "https", Name: "web", Port: "8443"}
	if got, want := s.ProxyPath(), "/api/v1/namespaces/build/services/https:web:8443/proxy"; got != want {
		t.Errorf("ProxyPath = %q, want %q", got, want)
	}
	if got, want := s.String(), "build/https:web:8443"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	// The canonical form parses back to the same Service.
	back, err := ParseService(s.String())
	if err != nil || back != s {
		t.Errorf("ParseService(%q) = %+v, %v; want %+v", s.String(), back, err, s)
	}
}

func TestParsePath(t *testing.T) {
	cases := []struct {
		in  string
		err string
	}{
		{in: "/"},
		{in: "/api"},
		{in: "/api/v1/namespaces/kube-system/secrets"},
		{in: "/readyz?verbose"},
		{in: "/api/v1/pods?labelSelector=app%3Dweb&limit=5"},
		{in: "/healthz/"},
		{in: "/a//b"},
		{in: "/files/group%2Fproject"},
		{in: "/a/..b/c.."},
		{in: "/~user/@x:y;z=1,2!$&'()*+"},
		{in: "/search?q=a/b?c"},

		{in: "", err: "must not be empty"},
		{in: "api", err: `must start with "/"`},
		{in: "https://evil.example/api", err: "not a URL"},
		{in: "h://evil.example/api", err: "not a URL"},
		// No scheme before "://": a relative path, not a URL.
		{in: "://evil.example/api", err: `must start with "/"`},
		{in: "//evil.example/api", err: `must not start with "//"`},
		{in: "/a/../b", err: `"." or ".."`},
		{in: "/a/..", err: `"." or ".."`},
		{in: "/./a", err: `"." or ".."`},
		{in: "/a/%2e%2e/b", err: `"." or ".."`},
		{in: "/a/%2E%2E", err: `"." or ".."`},
		{in: "/a/x%2F..%2Fy", err: `"." or ".."`},
		{in: "/a/x%5C..%5Cy", err: `"." or ".."`},
		{in: `/a\..\b`, err: `holds the character '\\'`},
		{in: "/a#frag", err: `holds "#"`},
		{in: "/a b", err: "holds a space"},
		{in: "/a\tb", err: "control character"},
		{in: "/é", err: "non-ASCII"},
		{in: "/a%zz", err: "percent-encoding"},
		{in: "/a%2", err: "percent-encoding"},
		{in: "/a?b=%", err: "query holds"},
		{in: "/a?b c", err: "query holds a space"},
		{in: "/a?b#c", err: `query holds "#"`},
		{in: "/a<b>", err: "holds the character '<'"},
		{in: "/" + strings.Repeat("a", maxPathBytes), err: "longer than"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePath(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParsePath(%q) error = %v, want one containing %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePath(%q): %v", tc.in, err)
			}
			if got != tc.in {
				t.Errorf("ParsePath(%q) = %q, want it unchanged", tc.in, got)
			}
		})
	}
}

func TestTargets(t *testing.T) {
	svc := &Service{Namespace: "build", Name: "web", Port: "8080"}
	cases := []struct {
		name  string
		svc   *Service
		paths []string
		want  []Target
		err   string
	}{
		{name: "default", want: []Target{{Path: "/api", URI: "/api"}}},
		{name: "service default", svc: svc, want: []Target{{Path: "/", URI: "/api/v1/namespaces/build/services/web:8080/proxy/"}}},
		{name: "order kept, duplicates dropped", paths: []string{"/version", "/api", "/version"},
			want: []Target{{Path: "/version", URI: "/version"}, {Path: "/api", URI: "/api"}}},
		{name: "service paths", svc: svc, paths: []string{"/healthz", "/metrics?x=1"},
			want: []Target{
				{Path: "/healthz", URI: "/api/v1/namespaces/build/services/web:8080/proxy/healthz"},
				{Path: "/metrics?x=1", URI: "/api/v1/namespaces/build/services/web:8080/proxy/metrics?x=1"},
			}},
		{name: "one bad path", paths: []string{"api"}, err: `--path must start with "/"`},
		{name: "which path is bad", paths: []string{"/api", "/a/../b"}, err: `--path (value 2 of 2) must not hold "." or ".."`},
		{name: "service without namespace", svc: &Service{Name: "web"}, err: "namespace is not set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Targets(tc.svc, tc.paths)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Targets error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Targets (-want +got):\n%s", diff)
			}
		})
	}
}

// fuzzToken stands for a bearer token pasted into the wrong flag.
const fuzzToken = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2VuLWZvci1mdXp6.SIGNATUREsignature_-42"

// FuzzParseTarget checks that parsing never panics, that what it accepts
// stays under the server (one leading "/", no dot segments, nothing outside
// the Service's proxy), and that its errors never quote a token pasted into
// --service or --path. The seeds run as a normal test.
func FuzzParseTarget(f *testing.F) {
	seeds := []struct{ service, path string }{
		{"", ""}, {"", "/api"}, {"", "/readyz?verbose"}, {"web", ""}, {"build/https:web:8443", "/healthz"},
		{"", "api"}, {"", "//evil/x"}, {"", "/a/%2e%2e/b"}, {"", "/a/x%2F..%2Fy"}, {"x:y:z:w", "/"},
		{"https:web", "/a?b=%zz"}, {"", "https://evil/api"}, {"web:99999", "/"}, {"Web", "/\x00"},
		{fuzzToken, ""}, {"", fuzzToken}, {"", "Bearer " + fuzzToken}, {"", "/" + fuzzToken + " "},
	}
	for _, s := range seeds {
		f.Add(s.service, s.path)
	}
	f.Fuzz(func(t *testing.T, service, path string) {
		uri, err := ParseTarget(service, path, "default")
		if err == nil {
			checkURI(t, service, uri)
		}
		// The same inputs with a token mixed in: accepted or not, the
		// errors must not show it.
		for _, in := range [][2]string{
			{service + fuzzToken, path}, {fuzzToken + service, path},
			{service, path + fuzzToken}, {service, fuzzToken + path}, {fuzzToken + service, fuzzToken + path},
		} {
			if _, err := ParseTarget(in[0], in[1], "default"); err != nil && quotesToken(err.Error()) {
				t.Fatalf("ParseTarget(%q, %q) error quotes the token: %v", in[0], in[1], err)
			}
		}
	})
}

// quotesToken reports whether text holds any 12 consecutive bytes of
// fuzzToken.
func quotesToken(text string) bool {
	for i := 0; i+12 <= len(fuzzToken); i++ {
		if strings.Contains(text, fuzzToken[i:i+12]) {
			return true
		}
	}
	return false
}

// checkURI asserts what every accepted target must be.
func checkURI(t *testing.T, service, uri string) {
	t.Helper()
	if !strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "//") {
		t.Fatalf("accepted %q, which does not start with exactly one /", uri)
	}
	if service != "" && !strings.HasPrefix(uri, "/api/v1/namespaces/") {
		t.Fatalf("accepted %q for a Service, outside the namespaces", uri)
	}
	u, err := url.Parse("https://server.example" + uri)
	if err != nil {
		t.Fatalf("accepted %q, which is no URL: %v", uri, err)
	}
	if u.Host != "server.example" || u.Fragment != "" || u.User != nil {
		t.Fatalf("accepted %q, which changes the host or has a fragment", uri)
	}
	for _, seg := range strings.FieldsFunc(u.Path, func(r rune) bool { return r == '/' || r == '\\' }) {
		if seg == "." || seg == ".." {
			t.Fatalf("accepted %q, whose decoded path %q has a dot segment", uri, u.Path)
		}
	}
	if service != "" {
		proxy := strings.Index(uri, "/proxy/")
		if proxy < 0 || strings.Count(uri[:proxy], "/") != 6 {
			t.Fatalf("accepted %q, which does not go through one Service's proxy", uri)
		}
	}
}

// TestPercentEncodingHexDigits: a "%" must be followed by two hex digits,
// either case; the ends of each digit range are accepted, the characters
// just outside them refused, in either position.
func TestPercentEncodingHexDigits(t *testing.T) {
	cases := []struct {
		c  byte
		ok bool
	}{
		{'0', true}, {'9', true}, {'a', true}, {'f', true}, {'A', true}, {'F', true},
		{'/', false}, {':', false}, {'g', false}, {'@', false}, {'G', false},
	}
	for _, tc := range cases {
		for _, p := range []string{"/x%" + string(tc.c) + "1", "/x%1" + string(tc.c)} {
			_, err := ParsePath(p)
			if tc.ok && err != nil {
				t.Errorf("ParsePath(%q): %v", p, err)
			}
			if !tc.ok && (err == nil || !strings.Contains(err.Error(), "percent-encoding")) {
				t.Errorf("ParsePath(%q) error = %v, want a refused percent-encoding", p, err)
			}
		}
	}
}

// TestParseTarget: the URI sent for one --service and --path as the
// command line gives them; a Service without a namespace takes the
// default one, never overriding one it names, and an empty --path is the
// default path.
func TestParseTarget(t *testing.T) {
	cases := []struct {
		name, service, path, want string
	}{
		{name: "defaults", want: "/api"},
		{name: "a path", path: "/readyz?verbose", want: "/readyz?verbose"},
		{name: "a Service takes the default namespace", service: "web", want: "/api/v1/namespaces/team/services/web/proxy/"},
		{name: "a Service keeps its own namespace", service: "build/https:web:8443", path: "/healthz",
			want: "/api/v1/namespaces/build/services/https:web:8443/proxy/healthz"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTarget(tc.service, tc.path, "team")
			if err != nil || got != tc.want {
				t.Errorf("ParseTarget(%q, %q, team) = %q, %v; want %q", tc.service, tc.path, got, err, tc.want)
			}
		})
	}
}
