package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	clientauthv1 "k8s.io/client-go/pkg/apis/clientauthentication/v1"

	"github.com/kubectl-access/kubectl-access/pkg/credential"
	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/subject"
	"github.com/kubectl-access/kubectl-access/pkg/version"
)

var (
	tokenLong = `
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
		so TOKEN=$(kubectl access token) and kubectl access token > file are exact.

		Exit codes:`

	// tokenExitCodes are the exit codes token's help lists after its text.
	tokenExitCodes = []int{0, 1, 2, 6, 7, 130}

	tokenExample = `
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
		kubectl access token ci -n build -o exec-credential`
)

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

// NewCmdToken returns the token command.
func NewCmdToken(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	spec := commandSpec{use: "token [SERVICEACCOUNT]", short: "Print a service account's token, from its legacy Secret or the TokenRequest API", long: tokenLong, example: tokenExample, exitCodes: tokenExitCodes, outputs: []cobra.Completion{"json", "yaml", "exec-credential"}, sources: []credential.Source{credential.SourceAuto, credential.SourceSecret, credential.SourceRequest, credential.SourceMounted}}
	return newCommand(configFlags, streams, spec, NewTokenFlags())
}

// TokenFlags are the flags of the token command.
type TokenFlags struct {
	identity identityFlags
	// output is "", json, yaml or exec-credential.
	output string
	// claims prints the decoded JWT header and claims instead of the token.
	claims bool
}

// NewTokenFlags returns the token command's flags with their defaults.
func NewTokenFlags() *TokenFlags {
	return &TokenFlags{identity: identityFlags{withTokenFile: true, mountedSource: true, mountedDefault: true}}
}

// AddFlags registers the flags on fs.
func (f *TokenFlags) AddFlags(fs *pflag.FlagSet) {
	f.identity.AddFlags(fs)
	fs.Lookup("token-file").Usage = "Describe the token in this file (- for stdin) instead of obtaining one: with --claims or -o, inspect a token you already have."
	fs.StringVarP(&f.output, "output", "o", "", "Output format. One of: (json, yaml, exec-credential). Default: the token alone.")
	fs.BoolVar(&f.claims, "claims", false, "If true, print the token's decoded JWT header and claims (not signature-verified) as JSON instead of the token.")
}

// TokenOptions are the parsed inputs of the token command.
type TokenOptions struct {
	TokenFlags
	identity identityOptions

	genericiooptions.IOStreams
}

// ToOptions parses the flags and arguments.
func (f *TokenFlags) ToOptions(cf *genericclioptions.ConfigFlags, fs *pflag.FlagSet, args []string, streams genericiooptions.IOStreams) (*TokenOptions, error) {
	id, err := f.identity.toOptions(cf, fs, args, streams)
	if err != nil {
		return nil, err
	}
	// A token described, or read from the pod, needs no server.
	id.request.Offline = id.request.Mode == subject.TokenFile || id.request.Mode == subject.Mounted
	return &TokenOptions{TokenFlags: *f, identity: id, IOStreams: streams}, nil
}

func (o *TokenOptions) identityOptions() *identityOptions { return &o.identity }

// Validate checks the values before anything is read or sent.
func (o *TokenOptions) Validate() error {
	if err := validateOutput(o.output, "json", "yaml", "exec-credential"); err != nil {
		return err
	}
	if o.claims && o.output == "exec-credential" {
		return exitcode.Usagef("--claims cannot be used with --output=exec-credential")
	}
	return o.identity.validate()
}

// Run obtains the token and prints it. A Secret it created (--create-secret)
// is deleted again when the token could not be printed.
func (o *TokenOptions) Run(ctx context.Context) error {
	id, err := o.identity.resolver.Resolve(ctx, o.identity.request)
	if err != nil {
		return explain(err)
	}
	defer id.Discard()
	if err := o.print(id.Credential); err != nil {
		return err
	}
	id.Keep()
	return nil
}

func (o *TokenOptions) print(cred *credential.Credential) error {
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
		_, err := fmt.Fprintln(o.Out)
		return err
	}
	return nil
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
		APIVersion:          version.RecordAPIVersion,
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
