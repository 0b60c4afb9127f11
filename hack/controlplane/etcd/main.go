// Command etcd runs the etcd server, built at a pinned version for the local
// test control plane of kubectl-access.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
