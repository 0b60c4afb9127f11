package cmd

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
)

func TestKubeconfigValidate(t *testing.T) {
	cases := []struct {
		name  string
		flags []string
		args  []string
		want  string // "" = valid
	}{
		{name: "defaults"},
		{name: "output file", flags: []string{"--output-file=f"}},
		{name: "output file, force", flags: []string{"--output-file=f", "--force"}},
		{name: "merge, force, set current, name", flags: []string{"--merge", "--force", "--set-current", "--context-name=ci"}},
		{name: "json on stdout", flags: []string{"-o", "json"}},
		{name: "merge and output file", flags: []string{"--merge", "--output-file=f"}, want: "--merge writes into the active kubeconfig; it cannot be used with --output-file"},
		{name: "output format and output file", flags: []string{"-o", "yaml", "--output-file=f"}, want: "--output formats the kubeconfig printed on stdout; it cannot be used with --output-file or --merge"},
		{name: "unknown output format", flags: []string{"-o", "xml"}, want: `--output must be one of yaml, json (got "xml")`},
		{name: "empty output file", flags: []string{"--output-file="}, want: "--output-file must name a file"},
		{name: "force alone", flags: []string{"--force"}, want: "--force replaces an existing file or kubeconfig entry; it needs --output-file or --merge"},
		{name: "set current alone", flags: []string{"--set-current"}, want: "--set-current applies to --merge"},
		{name: "empty context name", flags: []string{"--context-name="}, want: "--context-name: the context name must not be empty"},
		{name: "context name with a tab", flags: []string{"--context-name=a\tb"}, want: "control character"},
		{name: "mounted", flags: []string{"--source=mounted"}, want: "--source=mounted is only for kubectl access token"},
		{name: "secret with duration", flags: []string{"--source=secret", "--duration=1h"}, want: "--duration, --audience and --bound-object-kind apply to TokenRequest tokens; they cannot be used with --source=secret"},
		{name: "create secret with request", flags: []string{"--source=request", "--create-secret"}, want: "--create-secret cannot be used with --source=request"},
		{name: "empty service account", args: []string{""}, want: "SERVICEACCOUNT must not be empty"},
		{name: "a token as SERVICEACCOUNT", args: []string{testToken}, want: "the SERVICEACCOUNT argument is not a valid service account name: it looks like a token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			flags := NewKubeconfigFlags()
			cf, fs, _ := parseFlags(t, flags.AddFlags, tc.flags...)
			o, err := flags.ToOptions(cf, fs, tc.args, genericiooptions.NewTestIOStreamsDiscard())
			if err == nil {
				err = o.Validate()
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testToken[:20]) {
				t.Errorf("the error echoes the token: %v", err)
			}
			if code := exitcode.Code(err); code != exitcode.Usage {
				t.Errorf("exit code %d, want %d", code, exitcode.Usage)
			}
		})
	}
}

// TestKubeconfigName: the entries are named NAMESPACE:SERVICEACCOUNT@CLUSTER
// of the current context unless --context-name says otherwise.
func TestKubeconfigName(t *testing.T) {
	cases := []struct {
		name  string
		flags []string
		args  []string
		want  string
	}{
		{name: "the default service account of the context's namespace", want: "build:default@test"},
		{name: "a service account in -n", flags: []string{"-n", "prod"}, args: []string{"ci"}, want: "prod:ci@test"},
		{name: "--context-name", flags: []string{"--context-name", "mine"}, args: []string{"ci"}, want: "mine"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			flags := NewKubeconfigFlags()
			cf, fs, _ := parseFlags(t, flags.AddFlags, tc.flags...)
			o, err := flags.ToOptions(cf, fs, tc.args, genericiooptions.NewTestIOStreamsDiscard())
			if err != nil {
				t.Fatal(err)
			}
			if o.name != tc.want {
				t.Errorf("name = %q, want %q", o.name, tc.want)
			}
		})
	}
}

func TestCurrentCluster(t *testing.T) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["prod"] = &clientcmdapi.Cluster{Server: "https://prod"}
	cfg.Clusters["empty"] = &clientcmdapi.Cluster{}
	cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: "t"}
	cfg.Contexts["prod"] = &clientcmdapi.Context{Cluster: "prod", AuthInfo: "u"}
	cfg.Contexts["broken"] = &clientcmdapi.Context{Cluster: "empty", AuthInfo: "u"}
	cfg.CurrentContext = "prod"
	path := filepath.Join(t.TempDir(), "config")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	cases := []struct {
		name                     string
		context, cluster, server string
		want, wantErr            string
	}{
		{name: "current context", want: "prod"},
		{name: "--context", context: "broken", wantErr: `the current context "broken" uses cluster "empty", which has no server URL: set one with kubectl config set-cluster empty --server=`},
		{name: "--cluster", cluster: "empty", wantErr: `uses cluster "empty", which has no server URL`},
		{name: "--server gives the missing server", context: "broken", server: "https://x", want: "empty"},
		{name: "--cluster names the cluster", cluster: "prod", context: "broken", want: "prod"},
		{name: "unknown context: client-go says so later", context: "nope", want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cf := genericclioptions.NewConfigFlags(false)
			cf.KubeConfig = str(path)
			cf.Context, cf.ClusterName, cf.APIServer = str(tc.context), str(tc.cluster), str(tc.server)
			got, err := currentCluster(cf)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				if code := exitcode.Code(err); code != exitcode.Usage {
					t.Errorf("exit code %d, want %d", code, exitcode.Usage)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("currentCluster = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestQuoteArg(t *testing.T) {
	cases := map[string]string{
		"build:ci@prod":   "build:ci@prod",
		"my cluster":      "'my cluster'",
		"it's":            `'it'\''s'`,
		"a$(rm -rf /)":    "'a$(rm -rf /)'",
		"arn:aws:eks/x-1": "arn:aws:eks/x-1",
	}
	for in, want := range cases {
		if got := quoteArg(in); got != want {
			t.Errorf("quoteArg(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHostOf(t *testing.T) {
	if got := hostOf("https://10.0.0.1:443"); got != "10.0.0.1:443" {
		t.Errorf("hostOf = %q", got)
	}
	if got := hostOf("::"); got != "cluster" {
		t.Errorf("hostOf of garbage = %q, want cluster", got)
	}
}

// kubeconfig runs `kubectl access kubeconfig args` at the options level
// against the fakes.
func (c *fakeCluster) kubeconfig(args ...string) (stdout, stderr string, err error) {
	c.t.Helper()
	flags := NewKubeconfigFlags()
	cf, fs, pos := parseFlags(c.t, flags.AddFlags, args...)
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	o, err := flags.ToOptions(cf, fs, pos, streams)
	if err == nil {
		c.inject(&o.identity)
		if err = o.Validate(); err == nil {
			err = o.Run(context.Background())
		}
	}
	return out.String(), errOut.String(), err
}

// TestKubeconfigPrinted: the printed kubeconfig holds the token alone, for
// the caller's server, under NAMESPACE:SERVICEACCOUNT@CLUSTER.
func TestKubeconfigPrinted(t *testing.T) {
	c := newFakeCluster(t)
	stdout, stderr, err := c.kubeconfig("ci")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	cfg, err := clientcmd.Load([]byte(stdout))
	if err != nil {
		t.Fatalf("stdout is no kubeconfig: %v\n%s", err, stdout)
	}
	const name = "build:ci@test"
	if cfg.CurrentContext != name || len(cfg.Contexts) != 1 || len(cfg.Clusters) != 1 || len(cfg.AuthInfos) != 1 {
		t.Fatalf("kubeconfig has current context %q and %d contexts, %d clusters, %d users; want %q and one of each",
			cfg.CurrentContext, len(cfg.Contexts), len(cfg.Clusters), len(cfg.AuthInfos), name)
	}
	if ctx := cfg.Contexts[name]; ctx == nil || ctx.Cluster != name || ctx.AuthInfo != name || ctx.Namespace != "build" {
		t.Errorf("context = %+v", cfg.Contexts[name])
	}
	if cluster := cfg.Clusters[name]; cluster == nil || cluster.Server != testServer {
		t.Errorf("cluster = %+v, want server %s", cfg.Clusters[name], testServer)
	}
	want := &clientcmdapi.AuthInfo{Token: testToken}
	if diff := cmp.Diff(want, cfg.AuthInfos[name], cmpopts.IgnoreFields(clientcmdapi.AuthInfo{}, "Extensions", "LocationOfOrigin")); diff != "" {
		t.Errorf("the user holds more than the token (-want +got):\n%s", diff)
	}
	got := requests(c.caller)
	if len(got) >= 2 && got[0] > got[1] {
		got[0], got[1] = got[1], got[0] // sent at once, in no order
	}
	if diff := cmp.Diff([]string{"get serviceaccounts in build", "list secrets in build", "create serviceaccounts/token in build"}, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if !strings.Contains(stderr, "Note: the token in this kubeconfig expires at ") {
		t.Errorf("stderr does not say when the token expires:\n%s", stderr)
	}
}
