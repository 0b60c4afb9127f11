// Command kubectl-access is the kubectl plugin run as "kubectl access".
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-access/kubectl-access/pkg/cmd"
	"github.com/kubectl-access/kubectl-access/pkg/startheap"
)

func main() {
	startheap.Set(startheap.Percent)
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	os.Exit(cmd.Execute(os.Args[1:], streams))
}
