package cmd

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
)

func TestValidateSubjectFlags(t *testing.T) {
	cases := []struct {
		name  string
		flags []string
		args  []string
		want  string // "" = valid
	}{
		{name: "service account", args: []string{"ci"}},
		{name: "current", flags: []string{"--current"}},
		{name: "token file", flags: []string{"--token-file=/t"}},
		{name: "current and token file", flags: []string{"--current", "--token-file=/t"}, want: "--current and --token-file cannot be used together"},
		{name: "current and service account", flags: []string{"--current"}, args: []string{"ci"}, want: `it cannot be used with a SERVICEACCOUNT argument ("ci")`},
		{name: "token file and service account", flags: []string{"--token-file=-"}, args: []string{"ci"}, want: "--token-file gives the token"},
		{name: "token file and source", flags: []string{"--token-file=-", "--source=secret"}, want: "--source obtains a service account token; it cannot be used with --current or --token-file"},
		{name: "current and duration", flags: []string{"--current", "--duration=1h"}, want: "--duration obtains a service account token"},
		{name: "empty token file", flags: []string{"--token-file="}, want: "--token-file must name a file"},
		{name: "mounted", flags: []string{"--source=mounted"}, want: "--source=mounted is only for kubectl access token"},
		{name: "short duration", flags: []string{"--duration=1m"}, want: "--duration must be at least 10m"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &subjectFlags{}
			cmd := &cobra.Command{Use: "x"}
			f.addFlags(cmd.Flags())
			if err := cmd.ParseFlags(tc.flags); err != nil {
				t.Fatal(err)
			}
			err := validateSubjectFlags(cmd, f, tc.args)
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
