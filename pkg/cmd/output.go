package cmd

import (
	"bufio"
	"context"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-access/kubectl-access/pkg/credential"
	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/subject"
)

// validateOutput returns a usage error unless output is "" (the command's
// default) or one of formats. Commands call it before anything is sent.
func validateOutput(output string, formats ...string) error {
	if output == "" || slices.Contains(formats, output) {
		return nil
	}
	return exitcode.Usagef("--output must be one of %s (got %q)", strings.Join(formats, ", "), output)
}

// printRecord prints v as JSON or YAML for -o json|yaml, or has human print
// the default output (see printBuffered); any other format is a usage error.
func printRecord(streams genericiooptions.IOStreams, output string, v any, human func(out io.Writer) error) error {
	switch output {
	case "":
		return printBuffered(streams.Out, human)
	case "json", "yaml":
		return printDocument(streams.Out, output, v)
	}
	return validateOutput(output, "json", "yaml")
}

// printBuffered has print write to a buffer in front of out, and flushes it
// even when print fails, so that out gets what was printed. A table goes
// through a tabwriter, which writes each cell and each run of padding on its
// own: a whoami table would be a hundred writes to stdout, not a few.
func printBuffered(out io.Writer, print func(out io.Writer) error) error {
	b := bufio.NewWriter(out)
	err := print(b)
	if ferr := b.Flush(); err == nil {
		err = ferr
	}
	return err
}

// options is the shape every command's options have: Validate checks the
// values, Run does the work; identityOptions says who it acts as.
type options interface {
	Validate() error
	Run(ctx context.Context) error
	identityOptions() *identityOptions
}

// runE is the RunE of every command: parse the flags into options, validate
// them, catch interrupts from then on, run, and say once on stderr when the
// server throttled the run.
func runE[O options](toOptions func(cmd *cobra.Command, args []string) (O, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		o, err := toOptions(cmd, args)
		if err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		catchInterrupts(cmd.Context())
		err = o.Run(cmd.Context())
		o.identityOptions().reportThrottling()
		return err
	}
}

// commandSpec is what differs between the commands that act as an identity.
type commandSpec struct {
	use, short, long, example string
	// exitCodes are the exit codes the help lists (setHelp).
	exitCodes []int
	// outputs are the values of -o; nil means json and yaml.
	outputs []cobra.Completion
	// sources are the values of --source; nil means auto, secret, request.
	sources []credential.Source
}

// commandFlags are the flags of a command that acts as an identity.
type commandFlags[O options] interface {
	AddFlags(fs *pflag.FlagSet)
	ToOptions(cf *genericclioptions.ConfigFlags, fs *pflag.FlagSet, args []string, streams genericiooptions.IOStreams) (O, error)
}

// The values of -o and --source most commands take.
var (
	jsonYAML                 = []cobra.Completion{"json", "yaml"}
	serviceAccountTokenFlags = []credential.Source{credential.SourceAuto, credential.SourceSecret, credential.SourceRequest}
)

// newCommand builds a command that acts as an identity: at most one
// SERVICEACCOUNT argument (completed from the cluster), flags, and the RunE
// of every command.
func newCommand[O options](configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, spec commandSpec, flags commandFlags[O]) *cobra.Command {
	if spec.outputs == nil {
		spec.outputs = jsonYAML
	}
	if spec.sources == nil {
		spec.sources = serviceAccountTokenFlags
	}
	cmd := &cobra.Command{
		Use:   spec.use,
		Short: spec.short,
		Args:  maxArgs(1),

		ValidArgsFunction: completeServiceAccounts(configFlags),
		RunE: runE(func(cmd *cobra.Command, args []string) (O, error) {
			return flags.ToOptions(configFlags, cmd.Flags(), args, streams)
		}),
	}
	setHelp(cmd, spec.long, spec.example, spec.exitCodes)
	flags.AddFlags(cmd.Flags())
	registerTokenFlagCompletions(cmd, spec.sources...)
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(spec.outputs, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// validateNamespaces checks --namespaces (given when set) against
// -A/--all-namespaces, and each name, the same for every command that
// takes both.
func validateNamespaces(set bool, namespaces []string, allNamespaces bool) error {
	if !set {
		return nil
	}
	switch {
	case allNamespaces:
		return exitcode.Usagef("--namespaces and -A/--all-namespaces cannot be used together")
	case len(namespaces) == 0:
		return exitcode.Usagef("--namespaces must name at least one namespace")
	}
	for i, ns := range namespaces {
		if err := subject.ValidateNamespace(ns); err != nil {
			return exitcode.Usagef("--namespaces: value %d of %d %v", i+1, len(namespaces), err)
		}
	}
	return nil
}
