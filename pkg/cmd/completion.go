package cmd

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/kubectl-access/kubectl-access/pkg/client"
	"github.com/kubectl-access/kubectl-access/pkg/complete"
	"github.com/kubectl-access/kubectl-access/pkg/credential"
)

// Shell completion. kubectl 1.26 and newer completes "kubectl access <TAB>"
// by running kubectl_complete-access (cmd/kubectl_complete-access), which runs
// "kubectl-access __complete ARGS..."; cobra answers that hidden command with
// the functions registered here. Lookups in the cluster use the caller's own
// kubeconfig, as kubectl's completion does, and fail silently: a shell shows
// whatever a completion prints.

// completeServiceAccounts completes the first argument with the names of the
// service accounts of the namespace from -n or the kubeconfig context. Use it
// as the ValidArgsFunction of a command whose first argument is
// SERVICEACCOUNT.
func completeServiceAccounts(configFlags *genericclioptions.ConfigFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		client, err := completionClient(cmd, configFlags)
		if err != nil {
			return completionFailed(err)
		}
		namespace, _, err := configFlags.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return completionFailed(err)
		}
		names, err := complete.ServiceAccounts(completionContext(cmd), client.CoreV1(), namespace, toComplete)
		if err != nil {
			return completionFailed(err)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeNamespaces completes a flag value (-n) with the names of the
// namespaces the caller may list.
func completeNamespaces(configFlags *genericclioptions.ConfigFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		client, err := completionClient(cmd, configFlags)
		if err != nil {
			return completionFailed(err)
		}
		names, err := complete.Namespaces(completionContext(cmd), client.CoreV1(), toComplete)
		if err != nil {
			return completionFailed(err)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeKubeconfig completes a flag value (--context, --cluster, --user)
// with the names of kind in the kubeconfig. It reads no server.
func completeKubeconfig(configFlags *genericclioptions.ConfigFlags, kind complete.KubeconfigKind) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		raw, err := configFlags.ToRawKubeConfigLoader().RawConfig()
		if err != nil {
			return completionFailed(err)
		}
		return complete.KubeconfigNames(&raw, kind, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// registerTokenFlagCompletions completes the values of the token flags
// (tokenFlags) that cmd has: --source with sources, --bound-object-kind with
// the kinds the TokenRequest API binds to.
func registerTokenFlagCompletions(cmd *cobra.Command, sources ...credential.Source) {
	if cmd.Flags().Lookup("source") != nil {
		values := make([]cobra.Completion, 0, len(sources))
		for _, s := range sources {
			values = append(values, string(s))
		}
		_ = cmd.RegisterFlagCompletionFunc("source", cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
	}
	if cmd.Flags().Lookup("bound-object-kind") != nil {
		_ = cmd.RegisterFlagCompletionFunc("bound-object-kind", cobra.FixedCompletions([]cobra.Completion{"Node", "Pod", "Secret"}, cobra.ShellCompDirectiveNoFileComp))
	}
}

// registerRootCompletions completes the values of the kubeconfig flags of the
// root command and adds the completion command.
func registerRootCompletions(root *cobra.Command, configFlags *genericclioptions.ConfigFlags) {
	// Registering fails only for a flag that does not exist; ConfigFlags
	// adds all of these.
	_ = root.RegisterFlagCompletionFunc("namespace", completeNamespaces(configFlags))
	_ = root.RegisterFlagCompletionFunc("context", completeKubeconfig(configFlags, complete.Contexts))
	_ = root.RegisterFlagCompletionFunc("cluster", completeKubeconfig(configFlags, complete.Clusters))
	_ = root.RegisterFlagCompletionFunc("user", completeKubeconfig(configFlags, complete.Users))
	addCompletionCommand(root)
}

// completionClient is a client with the caller's kubeconfig credentials that
// stays quiet: API warnings would land in the user's shell. cobra's hidden
// __complete command runs no PersistentPreRunE, so the -v cap is applied
// here too, silently, before any request.
func completionClient(cmd *cobra.Command, configFlags *genericclioptions.ConfigFlags) (client.Interface, error) {
	if err := capVerbosity(cmd, genericiooptions.NewTestIOStreamsDiscard()); err != nil {
		return nil, err
	}
	cfg, err := configFlags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = userAgent()
	cfg.WarningHandler = rest.NoWarnings{}
	cfg.Timeout = complete.Timeout
	return client.NewForConfig(cfg)
}

func completionContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// completionFailed offers nothing and reports err where cobra's completion
// debugging shows it (stderr of __complete, which shells discard, and
// $BASH_COMP_DEBUG_FILE).
func completionFailed(err error) ([]cobra.Completion, cobra.ShellCompDirective) {
	cobra.CompErrorln(err.Error())
	return nil, cobra.ShellCompDirectiveNoFileComp
}

var completionLong = `
		Print a shell completion script for kubectl access.

		kubectl 1.26 and newer completes the words after "kubectl access" when you
		press TAB, if the kubectl_complete-access helper is on your PATH: it ships in the release
		archive next to kubectl-access (with krew, in the plugin's directory under
		$KREW_ROOT/store/access; see the caveats krew prints on install). Service
		account names and namespaces complete from the cluster of the current
		kubeconfig context.

		The scripts printed here complete the kubectl-access binary typed on its
		own, for shells without kubectl's completion. See each shell's help for how
		to load its script.`

// addCompletionCommand adds cobra's completion command (bash, zsh, fish,
// powershell) now rather than at Execute, so that its help speaks of
// "kubectl access" and of the helper, and so that the generated reference
// docs include it.
func addCompletionCommand(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		setHelp(c, completionLong, c.Example, nil)
		for _, shell := range c.Commands() {
			if long, example, ok := completionShellHelp(shell.Name()); ok {
				setHelp(shell, long, example, nil)
			}
		}
	}
}

// completionShellHelp returns the help of the completion command of shell.
func completionShellHelp(shell string) (long, example string, ok bool) {
	switch shell {
	case "bash":
		return `
			Print the bash completion script for the kubectl-access binary typed on its
			own. It needs the bash-completion package. To complete "kubectl access"
			instead, put the kubectl_complete-access helper on your PATH (see kubectl
			access completion --help).`,
			`
			# Load completion in the current shell
			source <(kubectl access completion bash)

			# Load it in every new shell (Linux)
			kubectl access completion bash > /etc/bash_completion.d/kubectl-access`, true
	case "zsh":
		return `
			Print the zsh completion script for the kubectl-access binary typed on its
			own. If completion is not enabled in your zsh yet, add
			"autoload -U compinit; compinit" to ~/.zshrc. To complete "kubectl access"
			instead, put the kubectl_complete-access helper on your PATH (see kubectl
			access completion --help).`,
			`
			# Load completion in the current shell
			source <(kubectl access completion zsh)

			# Load it in every new shell
			kubectl access completion zsh > "${fpath[1]}/_kubectl-access"`, true
	case "fish":
		return `
			Print the fish completion script for the kubectl-access binary typed on its
			own. To complete "kubectl access" instead, put the
			kubectl_complete-access helper on your PATH (see kubectl access completion
			--help).`,
			`
			# Load completion in the current shell
			kubectl access completion fish | source

			# Load it in every new shell
			kubectl access completion fish > ~/.config/fish/completions/kubectl-access.fish`, true
	case "powershell":
		return `
			Print the PowerShell completion script for the kubectl-access binary typed
			on its own. To load it in every new session, add the output to your
			PowerShell profile. To complete "kubectl access" instead, put
			the kubectl_complete-access.exe helper on your PATH (see kubectl access
			completion --help).`,
			`
			# Load completion in the current session
			kubectl access completion powershell | Out-String | Invoke-Expression`, true
	}
	return "", "", false
}
