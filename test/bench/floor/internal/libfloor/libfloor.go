// Package libfloor is the part the library floor and the job floors of the
// benchmark share (issue 19): what the plugin's design requires and nothing
// more. A cobra root command carrying genericclioptions.ConfigFlags (every
// standard kubectl flag), a version subcommand, and the typed core,
// authentication and authorization clients built over one HTTP client.
package libfloor

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	authenticationv1client "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
)

// UserAgent is what every floor program sends: the benchmark's audit log
// counts its requests under the product kubectl-access-bench-floor.
var UserAgent = "kubectl-access-bench-floor/v0 (" + runtime.GOOS + "/" + runtime.GOARCH + ")"

// VersionLine is what the version subcommand prints, for the benchmark's
// output check.
const VersionLine = "kubectl-access-floor v0"

// NewRoot returns the root command, with the standard kubectl flags on it
// as the plugin has them, and its version subcommand.
func NewRoot(streams genericiooptions.IOStreams) (*cobra.Command, *genericclioptions.ConfigFlags) {
	configFlags := genericclioptions.NewConfigFlags(true)
	root := &cobra.Command{
		Use:           "kubectl-access-floor",
		Short:         "The least program with the libraries kubectl-access needs",
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	configFlags.AddFlags(root.PersistentFlags())
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the version",
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(streams.Out, "%s (%s, %s/%s)\n", VersionLine, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	})
	return root, configFlags
}

// Clients are the typed clients the plugin's commands use.
type Clients struct {
	Core           corev1client.CoreV1Interface
	Authentication authenticationv1client.AuthenticationV1Interface
	Authorization  authorizationv1client.AuthorizationV1Interface
}

// NewClients builds the three clients over one HTTP client, so that they
// share its connections.
func NewClients(cfg *rest.Config) (*Clients, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = UserAgent
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	core, err := corev1client.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	authn, err := authenticationv1client.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	authz, err := authorizationv1client.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	return &Clients{Core: core, Authentication: authn, Authorization: authz}, nil
}
