package cmd

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/version"
)

var versionExample = templates.Examples(`
	# Print the plugin's version
	kubectl access version

	# Print version, commit and build date as JSON
	kubectl access version -o json`)

// NewCmdVersion returns the version command. It never contacts a server.
func NewCmdVersion(streams genericiooptions.IOStreams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the version of kubectl access",
		Example: versionExample,
		Args:    noArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if err := validateOutput(output, "json", "yaml"); err != nil {
				return err
			}
			return printRecord(streams, output, version.Get(), func() error {
				v := version.Get()
				_, err := fmt.Fprintf(streams.Out, "kubectl-access %s (commit %s, built %s, %s, %s)\n", v.Version, v.Commit, v.BuildDate, v.GoVersion, v.Platform)
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format. One of: (json, yaml).")
	return cmd
}

// validateOutput returns a usage error unless output is "" (the command's
// default) or one of formats. Commands call it before anything is sent.
func validateOutput(output string, formats ...string) error {
	if output == "" || slices.Contains(formats, output) {
		return nil
	}
	return exitcode.Usagef("--output must be one of %s (got %q)", strings.Join(formats, ", "), output)
}

// printRecord prints v as JSON or YAML for -o json|yaml, or calls human for
// the default output; any other format is a usage error.
func printRecord(streams genericiooptions.IOStreams, output string, v any, human func() error) error {
	switch output {
	case "":
		return human()
	case "json":
		data, err := json.MarshalIndent(v, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(streams.Out, "%s\n", data)
		return err
	case "yaml":
		data, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = streams.Out.Write(data)
		return err
	}
	return validateOutput(output, "json", "yaml")
}
