// Package cmd holds the cobra commands of kubectl-access. Commands are thin:
// they parse flags, call the packages that do the work, and print.
package cmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
)

// maxVerbosity is the highest -v level honoured. From 8 on, client-go logs
// request and response bodies, and TokenRequest and Secret bodies hold tokens.
const maxVerbosity = 7

var rootLong = `
	Find a service account's token, check what the API server answers to it,
	show what it may really do, and check that against what it should do.

	The documented way to reach the API server by hand reads a service account's
	token Secret, decodes it and sends it with curl --insecure. That flow breaks
	on clusters since Kubernetes 1.24 (no token Secrets), skips TLS and says
	nothing about permissions. kubectl access does it properly: the token from
	the legacy Secret or the TokenRequest API, TLS verified, requests sent as the
	token alone, and the permissions the API server itself reports.

	Exit codes: 0 success; 1 error; 2 usage error; 3 token not accepted (401);
	4 forbidden (403); 5 other HTTP error; 6 TLS verification failed;
	7 server unreachable or timed out; 8 risky rights found (whoami
	--fail-on-risk); 11 an expectation did not hold (check); 130 interrupted.`

// Execute runs kubectl-access with args and returns the process exit code.
// It is the only place errors are printed. Once a command starts its work
// (runE), SIGINT, SIGTERM and SIGHUP cancel the run's context, so every
// clean-up (a Secret created by --create-secret, a temporary file) runs,
// and the code is 128 plus the signal's number.
func Execute(args []string, streams genericiooptions.IOStreams) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := &interrupts{cancel: cancel, done: ctx.Done()}
	defer in.release()
	root := NewCmdAccess(streams)
	root.SetArgs(args)
	err := root.ExecuteContext(context.WithValue(ctx, interruptsKey{}, in))
	if sig := in.caught(); sig != nil {
		fmt.Fprintf(streams.ErrOut, "error: interrupted (%s)\n", sig)
		return exitcode.Signal(sig)
	}
	if err == nil {
		return exitcode.OK
	}
	code := exitcode.Code(err)
	var silent *silentError
	if errors.As(err, &silent) {
		return code
	}
	fmt.Fprintf(streams.ErrOut, "error: %v\n", err)
	return code
}

// interrupts turns SIGINT, SIGTERM and SIGHUP into the cancellation of a
// run, from the moment a command starts its work: version, help and
// completion create nothing to clean up, and the handlers would cost them
// two more threads (the runtime's signal loop and the watcher) on the way
// to exit.
type interrupts struct {
	// cancel cancels the run; done is closed when the run ends.
	cancel  context.CancelFunc
	done    <-chan struct{}
	once    sync.Once
	signals chan os.Signal

	mu  sync.Mutex
	sig os.Signal
}

// interruptsKey is the context key of a run's *interrupts.
type interruptsKey struct{}

// catchInterrupts starts catching the signals of the run of ctx, once; a
// context that Execute did not make has none to catch.
func catchInterrupts(ctx context.Context) {
	if in, ok := ctx.Value(interruptsKey{}).(*interrupts); ok {
		in.once.Do(in.start)
	}
}

func (in *interrupts) start() {
	in.signals = make(chan os.Signal, 1)
	signal.Notify(in.signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		select {
		case sig := <-in.signals:
			in.mu.Lock()
			in.sig = sig
			in.mu.Unlock()
			in.cancel()
		case <-in.done:
		}
	}()
}

// caught returns the signal that interrupted the run, if one did.
func (in *interrupts) caught() os.Signal {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.sig
}

// release lets the handlers go, if they were started. signal.Stop waits
// until the runtime's signal loop is receiving: in a run as short as a
// probe, that wait is most of a millisecond on the way to exit. The
// process exits when Execute returns, so Stop runs without holding it up.
func (in *interrupts) release() {
	in.once.Do(func() {}) // no start after this
	if in.signals != nil {
		go signal.Stop(in.signals)
	}
}

// NewCmdAccess returns the root command with every subcommand.
func NewCmdAccess(streams genericiooptions.IOStreams) *cobra.Command {
	configFlags := genericclioptions.NewConfigFlags(true)
	cmd := &cobra.Command{
		Use:   "kubectl-access",
		Short: "Service-account tokens, what the API server answers to them, and what they may do",
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl access",
		},
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return capVerbosity(cmd, streams)
		},
	}
	setHelp(cmd, rootLong, "", nil)
	help := cmd.HelpFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		renderHelp(c)
		help(c, args)
	})
	// Help and the completion scripts go to the given streams.
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return exitcode.Usagef("%v", err)
	})
	configFlags.AddFlags(cmd.PersistentFlags())
	addVerbosityFlag(cmd.PersistentFlags())

	cmd.AddCommand(
		NewCmdToken(configFlags, streams),
		NewCmdProbe(configFlags, streams),
		NewCmdKubeconfig(configFlags, streams),
		NewCmdWhoami(configFlags, streams),
		NewCmdCheck(configFlags, streams),
		NewCmdAudit(configFlags, streams),
		NewCmdVersion(streams),
	)
	registerRootCompletions(cmd, configFlags)
	return cmd
}

// noArgs rejects positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return exitcode.Usagef("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return nil
}

// maxArgs accepts at most n positional arguments, else a usage error.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return exitcode.Usagef("%q accepts at most %d argument(s), got %d: %q", cmd.CommandPath(), n, len(args), args)
		}
		return nil
	}
}

// addVerbosityFlag registers klog's -v (and only that) on fs.
func addVerbosityFlag(fs *pflag.FlagSet) {
	goflags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(goflags)
	v := pflag.PFlagFromGoFlag(goflags.Lookup("v"))
	v.Usage = fmt.Sprintf("number for the log level verbosity (at most %d: higher levels would log bodies holding tokens)", maxVerbosity)
	fs.AddFlag(v)
}

// capVerbosity lowers -v to maxVerbosity with a warning, so no level the
// plugin accepts can print a token.
func capVerbosity(cmd *cobra.Command, streams genericiooptions.IOStreams) error {
	f := cmd.Flags().Lookup("v")
	if f == nil {
		return nil
	}
	level, err := strconv.Atoi(f.Value.String())
	if err != nil || level <= maxVerbosity {
		return nil
	}
	fmt.Fprintf(streams.ErrOut, "Warning: -v=%d lowered to %d: higher levels log API bodies, which can hold tokens\n", level, maxVerbosity)
	return f.Value.Set(strconv.Itoa(maxVerbosity))
}
