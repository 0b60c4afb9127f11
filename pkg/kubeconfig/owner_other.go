//go:build !unix

package kubeconfig

import "io/fs"

// fileOwner reports no owner: file ownership is not a uid and gid here.
func fileOwner(fs.FileInfo) (uid, gid int, ok bool) { return 0, 0, false }

// openToOthers reports false: permission bits do not say who may read a
// file here (Windows reports 0666 for any writable file).
func openToOthers(fs.FileInfo) bool { return false }
