package cmd

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	clientauthv1 "k8s.io/client-go/pkg/apis/clientauthentication/v1"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-access/kubectl-access/pkg/credential"
	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
)

var (
	tokenLong = templates.LongDesc(`
		Print a service account's bearer token, for scripts.

		SERVICEACCOUNT defaults to "default", in the namespace from -n or the
		kubeconfig context.

		With --source=secret this is the documented flow: the token of a Secret of
		type kubernetes.io/service-account-token whose
		kubernetes.io/service-account.name annotation names the service account
		(and whose kubernetes.io/service-account.uid annotation, when present,
		matches it). Secrets labelled kubernetes.io/legacy-token-invalid-since and
		Secrets whose token is not filled yet are skipped. When several qualify,
		the oldest wins, then the first by name.

		With --source=request the token comes from the TokenRequest API, like
		kubectl create token; the expiry printed by -o json is the server's, which
		may differ from --duration.

		With --source=auto (the default) a usable Secret is used when there is
		one, else the TokenRequest API. Which one was used is logged at -v=1 and
		reported by -o json|yaml; stdout holds only the token.

		In a pod without a kubeconfig, auto (with no SERVICEACCOUNT) and
		--source=mounted print the pod's own token.

		The token is printed alone, with a trailing newline only on a terminal,
		so TOKEN=$(kubectl access token) and kubectl access token > file are exact.`)

	tokenExample = templates.Examples(`
		# Print the token of the default service account of the current namespace
		kubectl access token

		# Use the token in the documented curl flow, with TLS verified
		TOKEN=$(kubectl access token ci -n build)

		# Request a one-hour token for the audience "vault"
		kubectl access token ci --source=request --duration=1h --audience=vault

		# Create a legacy token Secret if none exists, and print its token
		kubectl access token ci --source=secret --create-secret

		# Show the token's source, Secret and expiry
		kubectl access token ci -o json

		# Show the token's claims (not signature-verified)
		kubectl access token ci --claims

		# Decode a token you already have, read from stdin
		kubectl access token --token-file - --claims < token

		# Serve as a kubeconfig exec credential plugin
		kubectl access token ci -n build -o exec-credential`)
)

// tokenRecordVersion versions the -o json|yaml record of the token command.
const tokenRecordVersion = "access.kubectl-access.io/v1alpha1"

// TokenRecord is what `kubectl access token -o json|yaml` prints.
type TokenRecord struct {
	APIVersion          string     `json:"apiVersion"`
	Kind                string     `json:"kind"`
	Token               string     `json:"token"`
	Source              string     `json:"source"`
	ServiceAccount      string     `json:"serviceAccount"`
	Namespace           string     `json:"namespace"`
	SecretName          string     `json:"secretName,omitempty"`
	ExpirationTimestamp *time.Time `json:"expirationTimestamp"`
	Audiences           []string   `json:"audiences"`
}

// TokenOptions holds the inputs of the token command.
type TokenOptions struct {
	configFlags *genericclioptions.ConfigFlags
	tokenFlags

	// output is "", json, yaml or exec-credential.
	output string
	// claims prints the decoded JWT header and claims instead of the token.
	claims bool
	// serviceAccount is the SERVICEACCOUNT argument, "" when not given.
	serviceAccount string
	// tokenFile names a file (or - for stdin) holding a token to describe
	// instead of obtaining one.
	tokenFile string
	// changedTokenFlag is the first token flag given on the command line.
	changedTokenFlag string

	genericiooptions.IOStreams
}

// NewCmdToken returns the token command.
func NewCmdToken(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &TokenOptions{configFlags: configFlags, IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "token [SERVICEACCOUNT]",
		Short:   "Print a service account's token, from its legacy Secret or the TokenRequest API",
		Long:    tokenLong,
		Example: tokenExample,
		Args:    maxArgs(1),

		ValidArgsFunction: completeServiceAccounts(configFlags),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	o.tokenFlags.addFlags(cmd.Flags())
	cmd.Flag("source").Usage = "Where the token comes from: auto (a legacy token Secret when one is usable, else the TokenRequest API), secret (the documented flow), request (the TokenRequest API) or mounted (the pod's own token)."
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, exec-credential). Default: the token alone.")
	cmd.Flags().BoolVar(&o.claims, "claims", false, "If true, print the token's decoded JWT header and claims (not signature-verified) as JSON instead of the token.")
	cmd.Flags().StringVar(&o.tokenFile, "token-file", "", "Describe the token in this file (- for stdin) instead of obtaining one: with --claims or -o, inspect a token you already have.")
	registerTokenFlagCompletions(cmd, credential.SourceAuto, credential.SourceSecret, credential.SourceRequest, credential.SourceMounted)
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]cobra.Completion{"json", "yaml", "exec-credential"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete fills the options from the arguments.
func (o *TokenOptions) Complete(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		o.serviceAccount = args[0]
	}
	o.changedTokenFlag = changedTokenFlag(cmd)
	if cmd.Flags().Changed("token-file") && o.tokenFile == "" {
		return exitcode.Usagef("--token-file must name a file, or - for stdin")
	}
	return nil
}

// Validate checks the flags before anything is sent.
func (o *TokenOptions) Validate() error {
	switch o.output {
	case "", "json", "yaml", "exec-credential":
	default:
		return exitcode.Usagef("--output must be one of json, yaml, exec-credential (got %q)", o.output)
	}
	if o.claims && o.output == "exec-credential" {
		return exitcode.Usagef("--claims cannot be used with --output=exec-credential")
	}
	if o.tokenFile != "" {
		switch {
		case o.serviceAccount != "":
			return exitcode.Usagef("--token-file gives the token; it cannot be used with a SERVICEACCOUNT argument (%q)", o.serviceAccount)
		case o.changedTokenFlag != "":
			return exitcode.Usagef("--%s obtains a service account token; it cannot be used with --token-file", o.changedTokenFlag)
		}
		return nil
	}
	if o.source == string(credential.SourceMounted) {
		if o.serviceAccount != "" {
			return exitcode.Usagef("--source=mounted prints the pod's own token; it cannot be used with a SERVICEACCOUNT argument (%q)", o.serviceAccount)
		}
		return nil
	}
	req := o.request("namespace", defaultServiceAccount)
	if err := req.Validate(); err != nil {
		return exitcode.WithCode(exitcode.Usage, err)
	}
	return nil
}

// Run obtains the token and prints it.
func (o *TokenOptions) Run(cmd *cobra.Command) error {
	cred, err := o.credential(cmd)
	if err != nil {
		return err
	}
	if o.claims {
		claims, err := credential.DecodeClaims(cred.Token)
		if err != nil {
			return fmt.Errorf("--claims: %w", err)
		}
		output := o.output
		if output == "" {
			output = "json"
		}
		return printRecord(o.IOStreams, output, claims, nil)
	}
	switch o.output {
	case "exec-credential":
		return o.printExecCredential(cred)
	case "json", "yaml":
		return printRecord(o.IOStreams, o.output, tokenRecord(cred), nil)
	}
	if _, err := fmt.Fprint(o.Out, cred.Token); err != nil {
		return err
	}
	if printers.IsTerminal(o.Out) {
		_, err = fmt.Fprintln(o.Out)
	}
	return err
}

func (o *TokenOptions) credential(cmd *cobra.Command) (*credential.Credential, error) {
	if o.tokenFile != "" {
		token, err := credential.ReadToken(o.tokenFile, o.In)
		if err != nil {
			return nil, exitcode.WithCode(exitcode.Usage, err)
		}
		return credential.FromToken(token), nil
	}
	mounted := o.source == string(credential.SourceMounted) ||
		(o.source == string(credential.SourceAuto) && o.serviceAccount == "" && !o.createSecret && inPod(o.configFlags))
	if mounted {
		return credential.Mounted(credential.MountedDir)
	}
	caller, err := callerConfig(o.configFlags, o.IOStreams)
	if err != nil {
		return nil, err
	}
	namespace, _, err := o.configFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, exitcode.WithCode(exitcode.Usage, fmt.Errorf("reading the namespace from the kubeconfig: %w", err))
	}
	name := o.serviceAccount
	if name == "" {
		name = defaultServiceAccount
	}
	return getToken(cmd.Context(), caller, o.tokenFlags, namespace, name, o.IOStreams)
}

func tokenRecord(c *credential.Credential) TokenRecord {
	audiences := c.Audiences
	if audiences == nil {
		audiences = []string{}
	}
	var exp *time.Time
	if c.ExpirationTimestamp != nil {
		t := c.ExpirationTimestamp.UTC()
		exp = &t
	}
	return TokenRecord{
		APIVersion:          tokenRecordVersion,
		Kind:                "ServiceAccountToken",
		Token:               c.Token,
		Source:              string(c.Source),
		ServiceAccount:      c.ServiceAccount,
		Namespace:           c.Namespace,
		SecretName:          c.SecretName,
		ExpirationTimestamp: exp,
		Audiences:           audiences,
	}
}

// printExecCredential prints a client.authentication.k8s.io/v1
// ExecCredential, so the command can serve as a kubeconfig exec plugin.
func (o *TokenOptions) printExecCredential(c *credential.Credential) error {
	ec := clientauthv1.ExecCredential{
		TypeMeta: metav1.TypeMeta{APIVersion: clientauthv1.SchemeGroupVersion.String(), Kind: "ExecCredential"},
		Status:   &clientauthv1.ExecCredentialStatus{Token: c.Token},
	}
	if c.ExpirationTimestamp != nil {
		t := metav1.NewTime(*c.ExpirationTimestamp)
		ec.Status.ExpirationTimestamp = &t
	}
	data, err := json.Marshal(ec)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.Out, "%s\n", data)
	return err
}
