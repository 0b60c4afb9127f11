//go:build unix

package kubeconfig

import (
	"io/fs"
	"syscall"
)

// fileOwner returns the owner and group of fi.
func fileOwner(fi fs.FileInfo) (uid, gid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}

// openToOthers reports whether fi grants any access to its group or to
// others.
func openToOthers(fi fs.FileInfo) bool {
	return fi.Mode().Perm()&0o077 != 0
}
