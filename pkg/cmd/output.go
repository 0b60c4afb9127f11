package cmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

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
	case "json":
		// An Encoder writes what MarshalIndent and a newline would, without
		// another copy of a document that whoami -A --verify makes tens of
		// megabytes long.
		enc := json.NewEncoder(streams.Out)
		enc.SetIndent("", jsonIndent)
		return enc.Encode(v)
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

// printJSONWithList prints rec as printRecord does with -o json, where the
// field name of rec holds the n elements of list (set puts a list there),
// writing them one by one as list makes them: whoami -A --verify lists
// tens of thousands of verified actions, and encoding the record at once
// held the document three times over (133 MiB at 500 namespaces). The
// bytes are the same either way.
func printJSONWithList[T any](out io.Writer, rec any, name string, n int, list iter.Seq[T], set func([]T)) error {
	return printJSONStream(out, func(b *bufio.Writer) error {
		return writeJSONWithList(b, "", rec, name, n, list, set, writeJSON[T])
	})
}

// printJSONStream has write write a -o json document through a buffer in
// front of out and ends it with the newline an Encoder writes.
func printJSONStream(out io.Writer, write func(b *bufio.Writer) error) error {
	b := bufio.NewWriter(out)
	err := write(b)
	if err == nil {
		err = b.WriteByte('\n')
	}
	if ferr := b.Flush(); err == nil {
		err = ferr
	}
	return err
}

// jsonIndent is the indent of every -o json document.
const jsonIndent = "    "

// writeJSON writes v as json.MarshalIndent does with prefix and jsonIndent.
func writeJSON[T any](b *bufio.Writer, prefix string, v T) error {
	data, err := json.MarshalIndent(v, prefix, jsonIndent)
	if err != nil {
		return err
	}
	_, err = b.Write(data)
	return err
}

// writeJSONWithList writes rec as writeJSON does at prefix, where the field
// name of rec (a struct or a pointer to one) holds the n elements of list,
// which writeElem writes one by one at the list's depth: a list can hold
// lists written the same way. set puts a list into rec, which is left with
// none. With n == 0, rec is written as it is.
func writeJSONWithList[T any](b *bufio.Writer, prefix string, rec any, name string, n int, list iter.Seq[T], set func([]T), writeElem func(b *bufio.Writer, prefix string, e T) error) error {
	if n == 0 {
		return writeJSON(b, prefix, rec)
	}
	elemPrefix := prefix + jsonIndent + jsonIndent
	// The record with one zero element in the list shows where the list
	// goes: the field is at depth 1 below prefix, and a JSON string holds
	// no newline, so the marker occurs once.
	var zero T
	set([]T{zero})
	doc, err := json.MarshalIndent(rec, prefix, jsonIndent)
	set(nil)
	if err != nil {
		return err
	}
	elem, err := json.MarshalIndent(zero, elemPrefix, jsonIndent)
	if err != nil {
		return err
	}
	field := "\n" + prefix + jsonIndent + strconv.Quote(name) + ": [\n"
	marker := []byte(field + elemPrefix + string(elem) + "\n" + prefix + jsonIndent + "]")
	i := bytes.Index(doc, marker)
	if i < 0 {
		set(slices.Collect(list))
		defer set(nil)
		return writeJSON(b, prefix, rec)
	}
	b.Write(doc[:i])
	b.WriteString(field)
	j := 0
	for e := range list {
		if j > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(elemPrefix)
		if err := writeElem(b, elemPrefix, e); err != nil {
			return err
		}
		j++
	}
	if j != n {
		return fmt.Errorf("internal error: %d elements of %q written, %d expected", j, name, n)
	}
	b.WriteString("\n" + prefix + jsonIndent + "]")
	_, err = b.Write(doc[i+len(marker):])
	return err
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
