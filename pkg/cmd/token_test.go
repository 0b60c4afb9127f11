package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/version"
)

// token runs `kubectl access token args` at the options level against the
// fakes, printing to out and reading stdin, and returns stderr and its
// error.
func (c *fakeCluster) token(out io.Writer, stdin string, args ...string) (stderr string, err error) {
	c.t.Helper()
	flags := NewTokenFlags()
	cf, fs, pos := parseFlags(c.t, flags.AddFlags, args...)
	var errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: out, ErrOut: &errOut}
	o, err := flags.ToOptions(cf, fs, pos, streams)
	if err == nil {
		c.inject(&o.identity)
		if err = o.Validate(); err == nil {
			err = o.Run(context.Background())
		}
	}
	return errOut.String(), err
}

// TestTokenRequests pins what token sends, with the caller's credentials:
// by default the ServiceAccount GET and Secret LIST (at once), then a
// TokenRequest when no Secret serves; the bare token on stdout.
func TestTokenRequests(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{name: "auto without a usable Secret", args: []string{"ci"},
			want: []string{"get serviceaccounts in build", "list secrets in build", "create serviceaccounts/token in build"}},
		{name: "the TokenRequest API alone", args: []string{"ci", "--source=request"},
			want: []string{"create serviceaccounts/token in build"}},
		{name: "-n names the service account's namespace", args: []string{"ci", "-n", "build", "--source=request"},
			want: []string{"create serviceaccounts/token in build"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t)
			var out bytes.Buffer
			if stderr, err := c.token(&out, "", tc.args...); err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if out.String() != testToken {
				t.Errorf("stdout = %q, want the token alone, without a newline (not a terminal)", out.String())
			}
			got := requests(c.caller)
			if len(got) >= 2 && got[0] > got[1] {
				got[0], got[1] = got[1], got[0] // sent at once, in no order
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if n := len(c.asToken.Actions()); n != 0 {
				t.Errorf("token sent %d requests as the token", n)
			}
		})
	}
}

func TestTokenRecord(t *testing.T) {
	c := newFakeCluster(t)
	var out bytes.Buffer
	if stderr, err := c.token(&out, "", "ci", "-o", "json"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var rec TokenRecord
	if err := json.Unmarshal(out.Bytes(), &rec); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, out.String())
	}
	if rec.ExpirationTimestamp == nil {
		t.Error("the record has no expiry; the TokenRequest gave one")
	}
	rec.ExpirationTimestamp = nil
	want := TokenRecord{APIVersion: version.RecordAPIVersion, Kind: "ServiceAccountToken", Token: testToken, Source: "request",
		ServiceAccount: "ci", Namespace: "build", Audiences: []string{}}
	if diff := cmp.Diff(want, rec); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
}

// errWriter fails every write, as a closed pipe would.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// TestTokenCreatedSecretOnlyStaysWhenPrinted: the Secret --create-secret
// created is deleted again when its token could not be printed, and stays
// once it was.
func TestTokenCreatedSecretOnlyStaysWhenPrinted(t *testing.T) {
	args := []string{"ci", "--source=secret", "--create-secret"}
	t.Run("printed", func(t *testing.T) {
		c := newFakeCluster(t)
		c.playTokenController()
		var out bytes.Buffer
		stderr, err := c.token(&out, "", args...)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		if out.String() != secretToken {
			t.Errorf("stdout = %q, want the created Secret's token", out.String())
		}
		if diff := cmp.Diff([]string{"ci-token"}, c.secretNames()); diff != "" {
			t.Errorf("Secrets left (-want +got):\n%s", diff)
		}
		if !strings.Contains(stderr, "Warning: created Secret build/ci-token holding a long-lived token for service account ci") {
			t.Errorf("stderr does not say a Secret was created:\n%s", stderr)
		}
	})
	t.Run("not printed", func(t *testing.T) {
		c := newFakeCluster(t)
		c.playTokenController()
		stderr, err := c.token(errWriter{}, "", args...)
		if err == nil || !strings.Contains(err.Error(), "broken pipe") {
			t.Fatalf("error = %v, want the write's", err)
		}
		if diff := cmp.Diff([]string{}, c.secretNames()); diff != "" {
			t.Errorf("Secrets left (-want +got):\n%s", diff)
		}
		if !strings.Contains(stderr, "Warning: deleted Secret build/ci-token again: this run created it and failed") {
			t.Errorf("stderr does not say the Secret was deleted:\n%s", stderr)
		}
	})
}

// TestTokenFileIsOffline: describing a token handed over reads no
// kubeconfig and sends nothing.
func TestTokenFileIsOffline(t *testing.T) {
	c := newFakeCluster(t)
	var out bytes.Buffer
	if stderr, err := c.token(&out, testToken+"\n", "--token-file", "-", "--claims"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(out.String(), `"sub": "system:serviceaccount:build:ci"`) {
		t.Errorf("claims = %s", out.String())
	}
	if c.callerConfigs != 0 || len(c.caller.Actions()) != 0 {
		t.Errorf("--token-file read the caller's config %d times and sent %v", c.callerConfigs, requests(c.caller))
	}
}

func TestTokenErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{name: "no usable Secret with --source=secret", args: []string{"ci", "--source=secret"}, code: exitcode.Error,
			want: "no usable token Secret for service account build/ci (Kubernetes no longer creates them since 1.24): use --create-secret to create one, or --source=request for a short-lived token"},
		{name: "an unknown service account", args: []string{"nobody", "--source=request"}, code: exitcode.Error,
			want: `service account "nobody" not found in namespace "build"`},
		{name: "--claims of the exec credential", args: []string{"ci", "--claims", "-o", "exec-credential"}, code: exitcode.Usage,
			want: "--claims cannot be used with --output=exec-credential"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t)
			var out bytes.Buffer
			_, err := c.token(&out, "", tc.args...)
			if code := exitcode.Code(err); code != tc.code {
				t.Errorf("exit %d, want %d: %v", code, tc.code, err)
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error = %v\nwant    %s", err, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", out.String())
			}
		})
	}
}
