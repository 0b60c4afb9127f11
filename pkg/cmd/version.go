package cmd

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-access/kubectl-access/pkg/version"
)

var versionExample = `
	# Print the plugin's version
	kubectl access version

	# Print version, commit and build date as JSON
	kubectl access version -o json`

// NewCmdVersion returns the version command. It never contacts a server.
func NewCmdVersion(streams genericiooptions.IOStreams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of kubectl access",
		Args:  noArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if err := validateOutput(output, "json", "yaml"); err != nil {
				return err
			}
			return printRecord(streams, output, version.Get(), func(out io.Writer) error {
				v := version.Get()
				_, err := fmt.Fprintf(out, "kubectl-access %s (commit %s, built %s, %s, %s)\n", v.Version, v.Commit, v.BuildDate, v.GoVersion, v.Platform)
				return err
			})
		},
	}
	setHelp(cmd, "", versionExample, nil)
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format. One of: (json, yaml).")
	return cmd
}
