package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-access/kubectl-access/pkg/credential"
	"github.com/kubectl-access/kubectl-access/pkg/exitcode"
	"github.com/kubectl-access/kubectl-access/pkg/kubeconfig"
	"github.com/kubectl-access/kubectl-access/pkg/subject"
)

var (
	kubeconfigLong = `
		Print a kubeconfig that authenticates as a service account's token, or
		write it to a file, or merge it into the active kubeconfig.

		SERVICEACCOUNT defaults to "default", in the namespace from -n or the
		kubeconfig context. The token comes from the same place as with
		kubectl access token (--source, --duration, --audience, --create-secret):
		by default a usable legacy token Secret, else a short-lived TokenRequest
		token. When the token expires, stderr says when.

		The kubeconfig has one cluster, one user and one context, all named
		NAMESPACE:SERVICEACCOUNT@CLUSTER, where CLUSTER is the current context's
		cluster; --context-name sets another name for all three. The cluster is
		the current context's server, its certificate authority embedded as
		certificate-authority-data (the kubeconfig's, else the legacy Secret's
		ca.crt), and insecure-skip-tls-verify only if the current cluster already
		skips verification. The user holds the token and nothing else. The
		context uses the service account's namespace and is the current one.

		By default the kubeconfig is printed on stdout. It holds the token:
		redirect it to a file only you can read, or use --output-file.

		--output-file writes it atomically, mode 0600: a temporary file in the
		same directory, synced, then moved into place. An existing file is kept
		unless --force; a symbolic link is never replaced or written through.

		--merge adds the cluster, user and context to the active kubeconfig, as
		kubectl config does, under its lock files (FILE.lock): the file is read,
		merged and replaced atomically while the lock is held, so a crash never
		leaves it truncated and a concurrent kubectl config edit is never lost.
		They go to the file --kubeconfig names, else the first existing file of
		KUBECONFIG, else ~/.kube/config. Other entries are kept, though the file
		is re-encoded as kubectl config re-encodes it (comments and unknown
		fields are not kept); an entry of the same name is replaced only with
		--force, in the file it came from. The current context stays as it is
		unless --set-current. The kubeconfig is written mode 0600, since it
		holds a token: one readable or writable by its group or others is
		tightened to 0600 with a warning, and it keeps its owner. A kubeconfig
		that is a symbolic link is refused: give its target with --kubeconfig.

		Every check that needs no server (flags, the output file, lock files,
		links, names, write permission) is made before the token is obtained,
		so a run that fails them requests no token and creates no Secret.

		Exit codes (1 also for an existing file or entry without --force, a lock
		file, a symbolic link):`

	// kubeconfigExitCodes are the exit codes kubeconfig's help lists after its text.
	kubeconfigExitCodes = []int{0, 1, 2, 6, 7, 130}

	kubeconfigExample = `
		# Print a kubeconfig for the service account "ci" of namespace "build"
		kubectl access kubeconfig ci -n build

		# Write it to a file, mode 0600, replacing the file if it exists
		kubectl access kubeconfig ci -n build --output-file ci.kubeconfig --force

		# A kubeconfig whose token is valid for 24 hours
		kubectl access kubeconfig ci -n build --source=request --duration=24h --output-file ci.kubeconfig

		# A kubeconfig with a long-lived token from a legacy Secret, created if needed
		kubectl access kubeconfig ci -n build --source=secret --create-secret --output-file ci.kubeconfig

		# Add the context "build:ci@CLUSTER" to the active kubeconfig, and use it
		kubectl access kubeconfig ci -n build --merge
		kubectl --context build:ci@CLUSTER auth whoami`
)

// NewCmdKubeconfig returns the kubeconfig command.
func NewCmdKubeconfig(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	spec := commandSpec{use: "kubeconfig [SERVICEACCOUNT]", short: "Print, write or merge a kubeconfig that authenticates as a service account's token", long: kubeconfigLong, example: kubeconfigExample, exitCodes: kubeconfigExitCodes, outputs: []cobra.Completion{"yaml", "json"}}
	return newCommand(configFlags, streams, spec, NewKubeconfigFlags())
}

// KubeconfigFlags are the flags of the kubeconfig command.
type KubeconfigFlags struct {
	identity identityFlags
	// outputFile is where to write the kubeconfig; "" prints it.
	outputFile string
	// force replaces an existing output file or kubeconfig entry.
	force bool
	// merge adds the entries to the active kubeconfig.
	merge bool
	// setCurrent makes the merged context the current one.
	setCurrent bool
	// contextName names the cluster, user and context; "" for the default.
	contextName string
	// output is the format printed on stdout: yaml or json.
	output string
}

// NewKubeconfigFlags returns the kubeconfig command's flags.
func NewKubeconfigFlags() *KubeconfigFlags { return &KubeconfigFlags{} }

// AddFlags registers the flags on fs.
func (f *KubeconfigFlags) AddFlags(fs *pflag.FlagSet) {
	f.identity.AddFlags(fs)
	fs.Lookup("allow-insecure-http").Usage = "If true, allow a kubeconfig for a plain http:// server, which would send the token in clear."
	fs.StringVar(&f.outputFile, "output-file", "", "Write the kubeconfig to this file (mode 0600, atomically) instead of stdout. An existing file is kept unless --force.")
	fs.BoolVar(&f.force, "force", false, "If true, replace an existing --output-file, or with --merge existing entries of the same name.")
	fs.BoolVar(&f.merge, "merge", false, "If true, add the cluster, user and context to the active kubeconfig instead of printing them.")
	fs.BoolVar(&f.setCurrent, "set-current", false, "If true, with --merge, also make the new context the current one.")
	fs.StringVar(&f.contextName, "context-name", "", "Name of the cluster, user and context of the kubeconfig. Default: NAMESPACE:SERVICEACCOUNT@CLUSTER.")
	fs.StringVarP(&f.output, "output", "o", "yaml", "Format of the kubeconfig printed on stdout. One of: (yaml, json).")
}

// KubeconfigOptions are the parsed inputs of the kubeconfig command.
type KubeconfigOptions struct {
	KubeconfigFlags
	identity identityOptions
	// outputSet, outputFileSet and contextNameSet say the flag was given.
	outputSet, outputFileSet, contextNameSet bool
	// name names the cluster, user and context written.
	name string
	// configAccess is the kubeconfig files --merge writes to.
	configAccess clientcmd.ConfigAccess

	genericiooptions.IOStreams
}

// ToOptions parses the flags and arguments; the entries' name defaults to
// NAMESPACE:SERVICEACCOUNT@CLUSTER of the current context.
func (f *KubeconfigFlags) ToOptions(cf *genericclioptions.ConfigFlags, fs *pflag.FlagSet, args []string, streams genericiooptions.IOStreams) (*KubeconfigOptions, error) {
	id, err := f.identity.toOptions(cf, fs, args, streams)
	if err != nil {
		return nil, err
	}
	o := &KubeconfigOptions{
		KubeconfigFlags: *f, identity: id,
		outputSet: fs.Changed("output"), outputFileSet: fs.Changed("output-file"), contextNameSet: fs.Changed("context-name"),
		configAccess: cf.ToRawKubeConfigLoader().ConfigAccess(),
		IOStreams:    streams,
	}
	o.name = f.contextName
	if o.name == "" {
		clusterName, err := currentCluster(cf)
		if err != nil {
			return nil, err
		}
		if clusterName == "" {
			cfg, err := cf.ToRESTConfig()
			if err != nil {
				return nil, exitcode.WithCode(exitcode.Usage, fmt.Errorf("loading the kubeconfig: %w", err))
			}
			clusterName = hostOf(cfg.Host)
		}
		name := id.request.Name
		if name == "" {
			name = subject.DefaultServiceAccount
		}
		o.name = kubeconfig.DefaultName(id.request.Namespace, name, clusterName)
	}
	return o, nil
}

func (o *KubeconfigOptions) identityOptions() *identityOptions { return &o.identity }

// Validate checks the values before anything is read or sent.
func (o *KubeconfigOptions) Validate() error {
	if err := validateOutput(o.output, "yaml", "json"); err != nil {
		return err
	}
	switch {
	case o.outputSet && (o.merge || o.outputFile != ""):
		return exitcode.Usagef("--output formats the kubeconfig printed on stdout; it cannot be used with --output-file or --merge, which write YAML")
	case o.merge && o.outputFile != "":
		return exitcode.Usagef("--merge writes into the active kubeconfig; it cannot be used with --output-file")
	case o.outputFileSet && o.outputFile == "":
		return exitcode.Usagef("--output-file must name a file")
	case o.force && !o.merge && o.outputFile == "":
		return exitcode.Usagef("--force replaces an existing file or kubeconfig entry; it needs --output-file or --merge")
	case o.setCurrent && !o.merge:
		return exitcode.Usagef("--set-current applies to --merge; a printed or written kubeconfig always uses its own context")
	case o.identity.request.Token.Source == credential.SourceMounted:
		return exitcode.Usagef("--source=mounted is only for kubectl access token")
	}
	if o.contextNameSet {
		if err := kubeconfig.CheckName(o.contextName); err != nil {
			return exitcode.WithCode(exitcode.Usage, fmt.Errorf("--context-name: %w", err))
		}
	}
	return o.identity.validate()
}

// Run checks where the kubeconfig goes, obtains the token, builds the
// kubeconfig and prints, writes or merges it. Everything that can fail
// without the server fails before the token is obtained; a Secret created
// for it (--create-secret) is deleted again when a later step fails.
func (o *KubeconfigOptions) Run(ctx context.Context) error {
	var out *kubeconfig.Output
	switch {
	case o.outputFile != "":
		var err error
		if out, err = kubeconfig.CreateOutput(o.outputFile, o.force); err != nil {
			return err
		}
		defer out.Abort()
	case o.merge:
		if _, err := kubeconfig.CheckMerge(o.configAccess, o.name, o.force); err != nil {
			return err
		}
	}

	id, err := o.identity.resolver.Resolve(ctx, o.identity.request)
	if err != nil {
		return explain(err)
	}
	defer id.Discard()
	cred := id.Credential
	cfg, err := kubeconfig.Build(cred, kubeconfig.Options{Name: o.name, Insecure: id.Caller.Insecure, TLSServerName: id.Caller.ServerName})
	if err != nil {
		return err
	}

	switch {
	case out != nil:
		if err := out.Commit(cfg); err != nil {
			return err
		}
		fmt.Fprintf(o.ErrOut, "Wrote a kubeconfig for service account %s/%s to %s (context %q).\n", cred.Namespace, cred.ServiceAccount, out.Path(), o.name)
	case o.merge:
		file, err := kubeconfig.Merge(o.configAccess, cfg, kubeconfig.MergeOptions{Force: o.force, SetCurrent: o.setCurrent, Warnf: warner(o.IOStreams)})
		if err != nil {
			return err
		}
		how := fmt.Sprintf("use it with kubectl --context=%s", quoteArg(o.name))
		if o.setCurrent {
			how = "it is now the current context"
		}
		fmt.Fprintf(o.ErrOut, "Added context %q for service account %s/%s, with a cluster and a user of the same name, to %s; %s.\n", o.name, cred.Namespace, cred.ServiceAccount, file, how)
	default:
		if err := o.print(cfg); err != nil {
			return err
		}
	}
	id.Keep()
	o.printNotes(cred, id.Caller)
	return nil
}

// print writes cfg to stdout as YAML (as in a kubeconfig file) or JSON.
func (o *KubeconfigOptions) print(cfg *clientcmdapi.Config) error {
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	if o.output == "json" {
		if data, err = yaml.YAMLToJSON(data); err != nil {
			return err
		}
		var indented bytes.Buffer
		if err := json.Indent(&indented, data, "", "    "); err != nil {
			return err
		}
		data = append(indented.Bytes(), '\n')
	}
	_, err = o.Out.Write(data)
	return err
}

// printNotes says on stderr how long the kubeconfig will work and what it
// trusts.
func (o *KubeconfigOptions) printNotes(cred *credential.Credential, caller *rest.Config) {
	switch {
	case cred.ExpirationTimestamp != nil:
		exp := *cred.ExpirationTimestamp
		left := time.Until(exp).Round(time.Second)
		if left > time.Minute {
			left = left.Round(time.Minute)
		}
		fmt.Fprintf(o.ErrOut, "Note: the token in this kubeconfig expires at %s (in %s); run this command again for a new one.\n", exp.UTC().Format(time.RFC3339), left)
	case cred.Source == credential.SourceSecret:
		fmt.Fprintf(o.ErrOut, "Note: the token in this kubeconfig comes from Secret %s/%s: it does not expire, and stays valid until the Secret is deleted.\n", cred.Namespace, cred.SecretName)
	}
	if audiences := o.identity.request.Token.Audiences; len(audiences) > 0 {
		warner(o.IOStreams)("the token is for audiences %s: the API server accepts it only if one of them is its own (--api-audiences)", strings.Join(audiences, ", "))
	}
	if caller.Insecure {
		warner(o.IOStreams)("the kubeconfig skips TLS verification (insecure-skip-tls-verify), like the current cluster")
	}
}

// currentCluster returns the name of the cluster the kubeconfig selects
// (after --context and --cluster), or "" when there is none, such as in a
// pod. A selected cluster without a server is a usage error, reported here
// with what to do rather than by client-go.
func currentCluster(cf *genericclioptions.ConfigFlags) (string, error) {
	raw, err := cf.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return "", exitcode.WithCode(exitcode.Usage, fmt.Errorf("loading the kubeconfig: %w", err))
	}
	contextName := raw.CurrentContext
	if cf.Context != nil && *cf.Context != "" {
		contextName = *cf.Context
	}
	var clusterName string
	if c := raw.Contexts[contextName]; c != nil {
		clusterName = c.Cluster
	}
	if cf.ClusterName != nil && *cf.ClusterName != "" {
		clusterName = *cf.ClusterName
	}
	if cf.APIServer != nil && *cf.APIServer != "" {
		return clusterName, nil
	}
	if cluster := raw.Clusters[clusterName]; cluster != nil && cluster.Server == "" {
		return "", noServerError(contextName, clusterName)
	}
	return clusterName, nil
}

func noServerError(contextName, clusterName string) error {
	return exitcode.WithCode(exitcode.Usage, fmt.Errorf("the current context %q uses cluster %q, which has no server URL: set one with kubectl config set-cluster %s --server=https://HOST:PORT, or pass --server", contextName, clusterName, quoteArg(clusterName)))
}

// hostOf names a cluster after its server's host when the kubeconfig gives
// it no name.
func hostOf(server string) string {
	if u, err := url.Parse(server); err == nil && u.Host != "" {
		return u.Host
	}
	return "cluster"
}

// quoteArg quotes s for a shell when it holds more than safe characters.
func quoteArg(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:@/=+,", r)) {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}
