package subject

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/kubectl-access/kubectl-access/pkg/credential"
)

// TestLooksLikeToken pins each edge of the rule: the length limits and
// every end of the character ranges a name may use, so that a moved
// boundary turns a typo into "a token" (or the other way round).
func TestLooksLikeToken(t *testing.T) {
	cases := []struct {
		name  string
		value string
		want  bool
	}{
		{name: "253 name characters are a long name", value: strings.Repeat("a", 253), want: false},
		{name: "254 characters are a token whatever they are", value: strings.Repeat("a", 254), want: true},
		{name: "31 characters are too short for a token", value: strings.Repeat("_", 31), want: false},
		{name: "32 characters with one outside a name are a token", value: strings.Repeat("a", 31) + "_", want: true},
		{name: "the ends of every range a name uses", value: strings.Repeat("az09-.", 6), want: false},
		{name: "just before a", value: strings.Repeat("a", 31) + "`", want: true},
		{name: "just after z", value: strings.Repeat("a", 31) + "{", want: true},
		{name: "just before 0", value: strings.Repeat("a", 31) + "/", want: true},
		{name: "just after 9", value: strings.Repeat("a", 31) + ":", want: true},
		{name: "an uppercase letter", value: strings.Repeat("a", 31) + "A", want: true},
		{name: "a JWT header however short", value: "eyJ", want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := looksLikeToken(tc.value); got != tc.want {
				t.Errorf("looksLikeToken(%q) = %v, want %v", tc.value, got, tc.want)
			}
		})
	}
}

// mountedDir writes a pod's service account directory: token, namespace
// and CA, as the kubelet does.
func mountedDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"token":     requestedToken + "\n",
		"namespace": "build\n",
		"ca.crt":    "pod CA",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestResolveMounted(t *testing.T) {
	t.Run("online: the pod's token to the caller's server", func(t *testing.T) {
		client := newFake()
		r, n := resolver(&rest.Config{Host: "https://example.invalid", BearerToken: "caller-token"}, client)
		r.MountedDir = mountedDir(t)
		id, err := r.Resolve(context.Background(), Request{Mode: Mounted})
		if err != nil {
			t.Fatal(err)
		}
		if id.Credential == nil || id.Credential.Token != requestedToken || id.Credential.Source != credential.SourceMounted {
			t.Fatalf("credential = %v, want the mounted token", id.Credential)
		}
		if id.Config == nil || id.Config.BearerToken != requestedToken || id.Config.Host != "https://example.invalid" {
			t.Fatalf("the config does not carry the mounted token to the caller's server")
		}
		if string(id.Credential.CAData) != "pod CA" || id.Credential.Namespace != "build" {
			t.Errorf("CAData = %q, Namespace = %q; want the pod's", id.Credential.CAData, id.Credential.Namespace)
		}
		if n.callerConfig != 1 || len(client.Actions()) != 0 || len(n.coreClient) != 0 {
			t.Errorf("a mounted token read the kubeconfig %d times and sent %v", n.callerConfig, client.Actions())
		}
	})
	t.Run("offline: the token alone, no kubeconfig", func(t *testing.T) {
		r, n := resolver(&rest.Config{Host: "https://example.invalid"}, newFake())
		r.MountedDir = mountedDir(t)
		id, err := r.Resolve(context.Background(), Request{Mode: Mounted, Offline: true})
		if err != nil {
			t.Fatal(err)
		}
		if id.Credential == nil || id.Credential.Token != requestedToken {
			t.Fatalf("credential = %v, want the mounted token", id.Credential)
		}
		if n.callerConfig != 0 || id.Config != nil || id.Caller != nil {
			t.Errorf("an offline mounted token read the kubeconfig (%d calls) or built configs", n.callerConfig)
		}
	})
	t.Run("a directory without a token is an error, before the kubeconfig", func(t *testing.T) {
		r, n := resolver(&rest.Config{Host: "https://example.invalid"}, newFake())
		r.MountedDir = t.TempDir()
		id, err := r.Resolve(context.Background(), Request{Mode: Mounted})
		if !errors.Is(err, fs.ErrNotExist) || id != nil {
			t.Fatalf("Resolve = %v, %v; want no identity and an error wrapping fs.ErrNotExist", id, err)
		}
		if n.callerConfig != 0 {
			t.Errorf("the kubeconfig was read %d times after the token could not be", n.callerConfig)
		}
	})
	t.Run("no directory given: the kubelet's", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(credential.MountedDir, "token")); err == nil {
			t.Skipf("%s has a token: this runs in a pod", credential.MountedDir)
		}
		r, _ := resolver(&rest.Config{Host: "https://example.invalid"}, newFake())
		_, err := r.Resolve(context.Background(), Request{Mode: Mounted})
		if err == nil || !strings.Contains(err.Error(), filepath.Join(credential.MountedDir, "token")) {
			t.Fatalf("error = %v, want one naming %s", err, credential.MountedDir)
		}
	})
}

func TestObtainErrorIsItsCause(t *testing.T) {
	cause := errors.New("serviceaccounts \"ci\" is forbidden")
	err := error(&ObtainError{Err: cause})
	if err.Error() != cause.Error() || !errors.Is(err, cause) {
		t.Errorf("ObtainError = %q, unwraps to the cause: %v", err, errors.Is(err, cause))
	}
}
