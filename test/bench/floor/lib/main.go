// Command lib is the benchmark's library floor (issue 19): the least
// program that links what kubectl-access's design requires,
// genericclioptions.ConfigFlags on a cobra root command plus the typed
// core, authentication and authorization clients, and starts the way the
// plugin does (cobra Execute). Its `version` and `--help` are the floor of
// the plugin's start-up; cmd/kubectl-access's dependency test pins the
// plugin's imports to this program's plus a reviewed list.
//
//	lib version | lib --help | lib clients [kubectl flags]
//
// clients builds the three typed clients from the kubeconfig and prints
// their API paths, so that the linker keeps them; it sends nothing.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-access/kubectl-access/pkg/startheap"
	"github.com/kubectl-access/kubectl-access/test/bench/floor/internal/libfloor"
)

func main() {
	// As the plugin does: a floor that collected garbage the plugin does
	// not would be no floor.
	startheap.Set(startheap.Percent)
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	root, configFlags := libfloor.NewRoot(streams)
	root.AddCommand(&cobra.Command{
		Use:   "clients",
		Short: "Build the typed clients from the kubeconfig; send nothing",
		RunE: func(*cobra.Command, []string) error {
			cfg, err := configFlags.ToRESTConfig()
			if err != nil {
				return err
			}
			c, err := libfloor.NewClients(cfg)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(streams.Out, c.Core.RESTClient().Get().URL(), c.Authentication.RESTClient().Get().URL(), c.Authorization.RESTClient().Get().URL())
			return err
		},
	})
	if err := root.Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}
