package kubeconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-access/kubectl-access/pkg/controlplane"
	"github.com/kubectl-access/kubectl-access/pkg/credential"
)

// testToken looks like a JWT and appears nowhere else in the tests, so
// finding it in an error is a leak.
const testToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YnVpbGQ6Y2kifQ.c2lnbmF0dXJlLXRlc3Q"

// testCA returns a PEM self-signed CA certificate.
func testCA(t testing.TB) []byte {
	t.Helper()
	ca, err := controlplane.UntrustedCA()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func testCred(ca []byte) *credential.Credential {
	return &credential.Credential{
		Token:          testToken,
		Source:         credential.SourceRequest,
		ServiceAccount: "ci",
		Namespace:      "build",
		Server:         "https://api.example.com:6443",
		CAData:         ca,
	}
}

// assertNoToken fails when err's message holds the test token.
func assertNoToken(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testToken) {
		t.Errorf("error contains the token: %v", err)
	}
}

func TestDefaultName(t *testing.T) {
	if got, want := DefaultName("build", "ci", "prod"), "build:ci@prod"; got != want {
		t.Errorf("DefaultName = %q, want %q", got, want)
	}
}

func TestBuild(t *testing.T) {
	ca := testCA(t)
	const name = "build:ci@prod"
	want := func(cluster *clientcmdapi.Cluster) *clientcmdapi.Config {
		cfg := clientcmdapi.NewConfig()
		cfg.Clusters[name] = cluster
		cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: testToken}
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: "build"}
		cfg.CurrentContext = name
		return cfg
	}
	cases := []struct {
		name string
		cred *credential.Credential
		opts Options
		want *clientcmdapi.Config
	}{
		{
			name: "CA embedded",
			cred: testCred(ca),
			opts: Options{Name: name},
			want: want(&clientcmdapi.Cluster{Server: "https://api.example.com:6443", CertificateAuthorityData: ca}),
		},
		{
			name: "tls-server-name kept",
			cred: testCred(ca),
			opts: Options{Name: name, TLSServerName: "kubernetes"},
			want: want(&clientcmdapi.Cluster{Server: "https://api.example.com:6443", CertificateAuthorityData: ca, TLSServerName: "kubernetes"}),
		},
		{
			name: "insecure drops the CA, which client-go refuses alongside it",
			cred: testCred(ca),
			opts: Options{Name: name, Insecure: true},
			want: want(&clientcmdapi.Cluster{Server: "https://api.example.com:6443", InsecureSkipTLSVerify: true}),
		},
		{
			name: "no CA: the system roots verify the server",
			cred: testCred(nil),
			opts: Options{Name: name},
			want: want(&clientcmdapi.Cluster{Server: "https://api.example.com:6443"}),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Build(tc.cred, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Build (-want +got):\n%s", diff)
			}
			// The serialized form loads back to the same configuration,
			// and client-go accepts it.
			data, err := clientcmd.Write(*got)
			if err != nil {
				t.Fatal(err)
			}
			back, err := clientcmd.Load(data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, back, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if _, err := clientcmd.NewDefaultClientConfig(*back, nil).ClientConfig(); err != nil {
				t.Errorf("client-go refuses the kubeconfig: %v", err)
			}
		})
	}
}

func TestBuildCopiesCA(t *testing.T) {
	ca := testCA(t)
	cred := testCred(ca)
	cfg, err := Build(cred, Options{Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	cred.CAData[0] = 'X'
	if cfg.Clusters["n"].CertificateAuthorityData[0] == 'X' {
		t.Error("the kubeconfig shares the credential's CA buffer")
	}
}

func TestBuildRejects(t *testing.T) {
	ca := testCA(t)
	with := func(f func(c *credential.Credential)) *credential.Credential {
		c := testCred(ca)
		f(c)
		return c
	}
	cases := []struct {
		name string
		cred *credential.Credential
		opts Options
		want string
	}{
		{"no credential", nil, Options{Name: "n"}, "no credential"},
		{"empty token", with(func(c *credential.Credential) { c.Token = "" }), Options{Name: "n"}, "no token"},
		{"token with a newline", with(func(c *credential.Credential) { c.Token = testToken + "\nX" }), Options{Name: "n"}, "cannot contain"},
		{"token with a space", with(func(c *credential.Credential) { c.Token = "Bearer " + testToken }), Options{Name: "n"}, "cannot contain"},
		{"empty name", testCred(ca), Options{}, "must not be empty"},
		{"name with a control character", testCred(ca), Options{Name: "a\x1bb"}, "control character"},
		{"name with surrounding space", testCred(ca), Options{Name: " a"}, "white space"},
		{"name not UTF-8", testCred(ca), Options{Name: "a\xffb"}, "UTF-8"},
		{"no server", with(func(c *credential.Credential) { c.Server = "" }), Options{Name: "n"}, "no server"},
		{"server without scheme", with(func(c *credential.Credential) { c.Server = "api.example.com:6443" }), Options{Name: "n"}, "invalid server URL"},
		{"server of another scheme", with(func(c *credential.Credential) { c.Server = "ftp://api" }), Options{Name: "n"}, "invalid server URL"},
		{"server not UTF-8", with(func(c *credential.Credential) { c.Server = "http://\x92" }), Options{Name: "n"}, "invalid UTF-8"},
		{"server with a space", with(func(c *credential.Credential) { c.Server = "https://a b" }), Options{Name: "n"}, "white space"},
		{"tls-server-name with a newline", testCred(ca), Options{Name: "n", TLSServerName: "a\nb"}, "invalid tls-server-name"},
		{"server with a password", with(func(c *credential.Credential) { c.Server = "https://u:p@api" }), Options{Name: "n"}, "user name or password"},
		{"bad namespace", with(func(c *credential.Credential) { c.Namespace = "Not_A_Namespace" }), Options{Name: "n"}, "invalid namespace"},
		{"CA not PEM", with(func(c *credential.Credential) { c.CAData = []byte("not a certificate") }), Options{Name: "n"}, "no PEM certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Build(tc.cred, tc.opts)
			if err == nil {
				t.Fatalf("Build succeeded: %+v", cfg)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			assertNoToken(t, err)
		})
	}
}

// FuzzBuildWriteFile builds a kubeconfig from arbitrary inputs and writes
// it: it must never panic, never put the token in an error, and whatever it
// accepts must load back identical from a 0600 file, with nothing else left
// in the directory.
func FuzzBuildWriteFile(f *testing.F) {
	f.Add(testToken, "build:ci@prod", "https://api.example.com:6443", "build", "", true, false)
	f.Add("abc", "n", "http://127.0.0.1:8080/prefix", "", "kubernetes", false, true)
	f.Add("tok en", "x", "https://h", "ns", "", true, false)
	f.Add("t", "ünïcødé:sa@clüster", "https://[::1]:6443", "default", "", false, false)
	f.Add("t", "a\nb", "https://h", "ns", "", false, false)
	f.Add("t", "n", "https://u:pw@h", "ns", "", false, false)
	f.Add("t", "n", "https://h", "Bad", "", false, false)
	f.Add("t", "n", "ht tp://h", "ns", "", false, false)
	ca := testCA(f)
	f.Fuzz(func(t *testing.T, token, name, server, namespace, serverName string, withCA, insecure bool) {
		cred := &credential.Credential{Token: token, ServiceAccount: "sa", Namespace: namespace, Server: server}
		if withCA {
			cred.CAData = ca
		}
		cfg, err := Build(cred, Options{Name: name, Insecure: insecure, TLSServerName: serverName})
		leaks := func(err error) bool {
			// Only a token that is not part of the other inputs can be
			// told apart from them in a message.
			return err != nil && len(token) >= 4 && strings.Contains(err.Error(), token) &&
				!strings.Contains(name+server+namespace+serverName, token)
		}
		if err != nil {
			if leaks(err) {
				t.Fatalf("Build error holds the token: %v", err)
			}
			return
		}
		dir := t.TempDir()
		path := filepath.Join(dir, "kubeconfig")
		if err := WriteFile(path, cfg, false); err != nil {
			if leaks(err) {
				t.Fatalf("WriteFile error holds the token: %v", err)
			}
			t.Fatalf("WriteFile of an accepted kubeconfig failed: %v", err)
		}
		if err := WriteFile(path, cfg, false); !errors.Is(err, ErrExists) || leaks(err) {
			t.Fatalf("second WriteFile without force = %v, want ErrExists without the token", err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", fi.Mode().Perm())
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Errorf("directory holds %d entries, want only the kubeconfig", len(entries))
		}
		back, err := clientcmd.LoadFromFile(path)
		if err != nil {
			t.Fatalf("the written kubeconfig does not load: %v", err)
		}
		got := back.AuthInfos[name]
		if got == nil || got.Token != token || back.CurrentContext != name ||
			back.Clusters[name] == nil || back.Clusters[name].Server != server || back.Clusters[name].TLSServerName != serverName ||
			back.Contexts[name] == nil || back.Contexts[name].Namespace != namespace {
			t.Fatalf("the kubeconfig does not load back as built")
		}
		if insecure && len(back.Clusters[name].CertificateAuthorityData) > 0 {
			t.Error("CA data alongside insecure-skip-tls-verify")
		}
	})
}
