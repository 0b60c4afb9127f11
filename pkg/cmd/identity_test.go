package cmd

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/subject"
)

// identityFlagsOf returns the identity flags of a command, as its Flags
// constructor sets them up.
func identityFlagsOf(command string) *identityFlags {
	switch command {
	case "token":
		return &NewTokenFlags().identity
	case "probe":
		return &NewProbeFlags().identity
	case "kubeconfig":
		return &NewKubeconfigFlags().identity
	}
	return &NewWhoamiFlags().identity
}

// identityOptionsOf parses args as command's identity flags and arguments.
func identityOptionsOf(t *testing.T, command string, args ...string) (identityOptions, error) {
	t.Helper()
	f := identityFlagsOf(command)
	cf, fs, pos := parseFlags(t, func(fs *pflag.FlagSet) { f.AddFlags(fs) }, args...)
	return f.toOptions(cf, fs, pos, genericiooptions.NewTestIOStreamsDiscard())
}

func TestIdentityValidate(t *testing.T) {
	cases := []struct {
		name    string
		command string // whoami unless set
		args    []string
		want    string // "" = valid
		// secret is a value the error must not echo.
		secret string
	}{
		{name: "a service account", args: []string{"ci"}},
		{name: "the default service account"},
		{name: "--current", args: []string{"--current"}},
		{name: "--token-file", args: []string{"--token-file=/t"}},
		{name: "the pod's token with token --source=mounted", command: "token", args: []string{"--source=mounted"}},
		{name: "a TokenRequest bound to a pod", args: []string{"ci", "--source=request", "--duration=1h", "--bound-object-kind=Pod", "--bound-object-name=runner"}},
		{name: "--create-secret", args: []string{"ci", "--source=secret", "--create-secret"}},

		{name: "--current and --token-file", args: []string{"--current", "--token-file=/t"}, want: "--current and --token-file cannot be used together"},
		{name: "--current and a SERVICEACCOUNT", args: []string{"--current", "ci"},
			want: "--current acts as the kubeconfig's credentials; it cannot be used with a SERVICEACCOUNT argument"},
		{name: "a token pasted as SERVICEACCOUNT with --current is not echoed", args: []string{"--current", testToken},
			want: "--current acts as the kubeconfig's credentials; it cannot be used with a SERVICEACCOUNT argument", secret: testToken},
		{name: "--token-file and a SERVICEACCOUNT", args: []string{"--token-file=-", "ci"}, want: "--token-file gives the token; it cannot be used with a SERVICEACCOUNT argument"},
		{name: "a token pasted as SERVICEACCOUNT with --token-file is not echoed", args: []string{"--token-file=-", testToken},
			want: "--token-file gives the token; it cannot be used with a SERVICEACCOUNT argument", secret: testToken},
		{name: "--token-file and --source", args: []string{"--token-file=-", "--source=secret"}, want: "--source obtains a service account token; it cannot be used with --token-file"},
		{name: "--current and --duration", args: []string{"--current", "--duration=1h"}, want: "--duration obtains a service account token; it cannot be used with --current or --token-file"},
		{name: "--current and --wait-timeout", args: []string{"--current", "--wait-timeout=1m"}, want: "--wait-timeout obtains a service account token"},
		{name: "an empty --token-file", args: []string{"--token-file="}, want: "--token-file must name a file, or - for stdin"},
		{name: "--source=mounted outside the token command", args: []string{"--source=mounted"}, want: "--source=mounted is only for kubectl access token"},
		{name: "--source=mounted with a SERVICEACCOUNT", command: "token", args: []string{"--source=mounted", "ci"},
			want: "--source=mounted prints the pod's own token; it cannot be used with a SERVICEACCOUNT argument"},
		{name: "an empty SERVICEACCOUNT", args: []string{""}, want: "SERVICEACCOUNT must not be empty"},
		{name: "a token pasted as SERVICEACCOUNT", args: []string{testToken}, secret: testToken,
			want: "the SERVICEACCOUNT argument is not a valid service account name: it looks like a token; pass a token with --token-file (or --token-file - for stdin), never as an argument"},
		{name: "a token pasted as -n", args: []string{"-n", testToken}, secret: testToken,
			want: "the namespace (-n or the context's) is not a valid namespace name: it looks like a token"},
		{name: "-n is checked with --current too", args: []string{"--current", "-n", "Build"}, secret: "Build",
			want: "the namespace (-n or the context's) is not a valid namespace name: a lowercase RFC 1123 label"},
		{name: "an uppercase SERVICEACCOUNT", args: []string{"CI"}, want: "the SERVICEACCOUNT argument is not a valid service account name: a lowercase RFC 1123 subdomain"},
		{name: "a short --duration", args: []string{"--duration=1m"}, want: "--duration must be at least 10m0s or 0 for the server's default (got 1m0s)"},
		{name: "a negative --duration", args: []string{"--duration=-1h"}, want: "--duration must be positive (got -1h0m0s)"},
		{name: "an unknown --source", args: []string{"--source=vault"}, want: `--source must be one of auto, secret, request (got "vault")`},
		{name: "--source=secret with TokenRequest flags", args: []string{"--source=secret", "--audience=vault"},
			want: "--duration, --audience and --bound-object-kind apply to TokenRequest tokens; they cannot be used with --source=secret"},
		{name: "--create-secret with --source=request", args: []string{"--source=request", "--create-secret"}, want: "--create-secret cannot be used with --source=request"},
		{name: "--bound-object-name alone", args: []string{"--bound-object-name=runner"}, want: "--bound-object-name can only be set with --bound-object-kind"},
		{name: "--bound-object-kind alone", args: []string{"--bound-object-kind=Pod"}, want: "--bound-object-name is required with --bound-object-kind"},
		{name: "an unknown --bound-object-kind", args: []string{"--bound-object-kind=Deployment", "--bound-object-name=web"}, want: `--bound-object-kind must be one of Pod, Secret, Node (got "Deployment")`},
		{name: "--create-secret without a wait", args: []string{"--create-secret", "--wait-timeout=0"}, want: "--wait-timeout must be positive (got 0s)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := identityOptionsOf(t, tc.command, tc.args...)
			if err == nil {
				err = o.validate()
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant    %s", err, tc.want)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("the error echoes %q: %v", tc.secret, err)
			}
			if code := exitcode.Code(err); code != exitcode.Usage {
				t.Errorf("exit code %d, want %d", code, exitcode.Usage)
			}
		})
	}
}

// TestIdentityRequest: the flags decide the mode, and the namespace (the
// service account's, and the default of whoami's review and probe's
// --service in every mode) comes from -n, else the kubeconfig context.
func TestIdentityRequest(t *testing.T) {
	cases := []struct {
		name          string
		command       string
		args          []string
		wantMode      subject.Mode
		wantNamespace string
		wantName      string
	}{
		{name: "a service account of the context's namespace", args: []string{"ci"}, wantMode: subject.ServiceAccount, wantNamespace: "build", wantName: "ci"},
		{name: "-n names the namespace", args: []string{"ci", "-n", "prod"}, wantMode: subject.ServiceAccount, wantNamespace: "prod", wantName: "ci"},
		{name: "no SERVICEACCOUNT: the resolver's default", wantMode: subject.ServiceAccount, wantNamespace: "build"},
		{name: "--current", args: []string{"--current"}, wantMode: subject.Current, wantNamespace: "build"},
		{name: "--token-file", args: []string{"--token-file", "-"}, wantMode: subject.TokenFile, wantNamespace: "build"},
		{name: "--token-file with -n", args: []string{"--token-file", "-", "-n", "prod"}, wantMode: subject.TokenFile, wantNamespace: "prod"},
		{name: "token --source=mounted", command: "token", args: []string{"--source=mounted"}, wantMode: subject.Mounted, wantNamespace: "build"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := identityOptionsOf(t, tc.command, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			r := o.request
			if r.Mode != tc.wantMode || r.Namespace != tc.wantNamespace || r.Name != tc.wantName {
				t.Errorf("mode %q, namespace %q, name %q; want %q, %q, %q", r.Mode, r.Namespace, r.Name, tc.wantMode, tc.wantNamespace, tc.wantName)
			}
			if o.resolver == nil || o.resolver.CallerConfig == nil {
				t.Error("no resolver was built from the kubeconfig flags")
			}
		})
	}
}
