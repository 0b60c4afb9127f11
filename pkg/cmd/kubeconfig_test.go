package cmd

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
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
		{name: "merge and output file", flags: []string{"--merge", "--output-file=f"}, want: "cannot be used with --output-file"},
		{name: "empty output file", flags: []string{"--output-file="}, want: "--output-file must name a file"},
		{name: "force alone", flags: []string{"--force"}, want: "needs --output-file or --merge"},
		{name: "set current alone", flags: []string{"--set-current"}, want: "--set-current applies to --merge"},
		{name: "empty context name", flags: []string{"--context-name="}, want: "--context-name: the context name must not be empty"},
		{name: "context name with a tab", flags: []string{"--context-name=a\tb"}, want: "control character"},
		{name: "mounted", flags: []string{"--source=mounted"}, want: "--source=mounted is only for kubectl access token"},
		{name: "secret with duration", flags: []string{"--source=secret", "--duration=1h"}, want: "cannot be used with --source=secret"},
		{name: "empty service account", args: []string{""}, want: "SERVICEACCOUNT must not be empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := &KubeconfigOptions{}
			cmd := &cobra.Command{Use: "kubeconfig"}
			o.addFlags(cmd.Flags())
			if err := cmd.ParseFlags(tc.flags); err != nil {
				t.Fatal(err)
			}
			err := o.Complete(tc.args)
			if err == nil {
				err = o.Validate(cmd)
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
			if code := exitcode.Code(err); code != exitcode.Usage {
				t.Errorf("exit code %d, want %d", code, exitcode.Usage)
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
