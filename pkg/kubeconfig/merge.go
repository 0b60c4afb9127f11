package kubeconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// lockSuffix is what clientcmd.ModifyConfig appends to a kubeconfig's path
// to lock it (a file created with O_EXCL, removed when done).
const lockSuffix = ".lock"

// MergeOptions say how Merge may change the active kubeconfig.
type MergeOptions struct {
	// Force replaces a cluster, user or context of the same name.
	Force bool
	// SetCurrent makes the merged context the current one. Off by default,
	// like kubectl config set-context: merging a service account's
	// credentials must not silently change who the next kubectl runs as.
	SetCurrent bool
}

// CheckMerge reports, without writing anything, whether a kubeconfig whose
// cluster, user and context are all named name can be merged into the
// kubeconfig access loads: no lock file of it exists, no file to be written
// is a symbolic link, the files parse, (unless force) no entry of that name
// exists, and the file to write and its lock file can be written. It
// returns the file new entries would go to. Commands call it
// before they obtain a token, so a merge bound to fail creates nothing.
func CheckMerge(access clientcmd.ConfigAccess, name string, force bool) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	_, dest, err := plan(access, entries{clusters: []string{name}, users: []string{name}, contexts: []string{name}}, force)
	if err != nil {
		return "", err
	}
	return dest, probeWritable(dest)
}

// probeWritable checks that ModifyConfig will be able to lock and write
// dest, without changing it: dest opens for writing (not truncated), and its
// lock file can be created, then is removed at once. A directory that does
// not exist yet is left to ModifyConfig, which creates it.
func probeWritable(dest string) error {
	if f, err := os.OpenFile(dest, os.O_WRONLY, 0); err == nil {
		_ = f.Close()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot write the kubeconfig %s: %w", dest, unwrapPath(err))
	}
	if _, err := os.Stat(filepath.Dir(dest)); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	lock := dest + lockSuffix
	f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		return lockedError(dest)
	case err != nil:
		return fmt.Errorf("cannot write the kubeconfig %s: cannot create its lock file %s: %w", dest, lock, unwrapPath(err))
	}
	_ = f.Close()
	return os.Remove(lock)
}

// Merge adds the clusters, users and contexts of add to the kubeconfig
// access loads, through clientcmd.ModifyConfig, which locks every file of the
// kubeconfig (FILE.lock) while it writes. New entries go to the file
// clientcmd.ConfigAccess.GetDefaultFilename names: --kubeconfig, else the
// first existing file of KUBECONFIG, else ~/.kube/config. A replaced entry
// (with Force) is rewritten in the file it came from. Every other entry is
// left as it is; the current context changes only with SetCurrent. It
// returns the file new entries went to.
//
// The checks of CheckMerge are made again just before ModifyConfig. Like
// kubectl config, ModifyConfig rewrites each file it changes in place, one
// entry at a time; after those checks only I/O failures such as a full disk
// can interrupt it halfway.
func Merge(access clientcmd.ConfigAccess, add *clientcmdapi.Config, opts MergeOptions) (string, error) {
	if add == nil || len(add.Contexts) == 0 {
		return "", errors.New("nothing to merge")
	}
	want := entries{clusters: keys(add.Clusters), users: keys(add.AuthInfos), contexts: keys(add.Contexts)}
	for _, names := range [][]string{want.clusters, want.users, want.contexts} {
		for _, n := range names {
			if err := CheckName(n); err != nil {
				return "", err
			}
		}
	}
	start, dest, err := plan(access, want, opts.Force)
	if err != nil {
		return "", err
	}
	putEntries(start.Clusters, add.Clusters, (*clientcmdapi.Cluster).DeepCopy, func(c *clientcmdapi.Cluster) *string { return &c.LocationOfOrigin })
	putEntries(start.AuthInfos, add.AuthInfos, (*clientcmdapi.AuthInfo).DeepCopy, func(a *clientcmdapi.AuthInfo) *string { return &a.LocationOfOrigin })
	putEntries(start.Contexts, add.Contexts, (*clientcmdapi.Context).DeepCopy, func(c *clientcmdapi.Context) *string { return &c.LocationOfOrigin })
	if opts.SetCurrent {
		start.CurrentContext = add.CurrentContext
	}
	if err := clientcmd.ModifyConfig(access, *start, false); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && errors.Is(err, fs.ErrExist) && strings.HasSuffix(pe.Path, lockSuffix) {
			return "", lockedError(strings.TrimSuffix(pe.Path, lockSuffix))
		}
		return "", fmt.Errorf("merging into the kubeconfig %s: %w", dest, err)
	}
	return dest, nil
}

// entries names the clusters, users and contexts to be written.
type entries struct {
	clusters, users, contexts []string
}

// putEntries copies the entries of add into dst. An entry that replaces one
// of the same name keeps the file that one came from, so ModifyConfig writes
// it back there; a new one goes where ModifyConfig puts new entries.
func putEntries[E any](dst, add map[string]*E, deepCopy func(*E) *E, origin func(*E) *string) {
	for name, e := range add {
		n := deepCopy(e)
		*origin(n) = ""
		if old, ok := dst[name]; ok {
			*origin(n) = *origin(old)
		}
		dst[name] = n
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// plan loads the kubeconfig as ModifyConfig will and checks that the
// entries of want can be written. It returns the loaded configuration and
// the file new entries go to.
func plan(access clientcmd.ConfigAccess, want entries, force bool) (*clientcmdapi.Config, string, error) {
	files := access.GetLoadingPrecedence()
	for _, f := range files {
		if _, err := os.Lstat(f + lockSuffix); err == nil {
			return nil, "", lockedError(f)
		}
	}
	start, err := access.GetStartingConfig()
	if err != nil {
		return nil, "", fmt.Errorf("reading the kubeconfig %s: %w", strings.Join(files, string(os.PathListSeparator)), err)
	}
	dest := access.GetDefaultFilename()
	if dest == "" {
		return nil, "", errors.New("no kubeconfig file to merge into: set --kubeconfig")
	}
	written := map[string]bool{dest: true}
	type existing struct {
		kind, name, origin string
	}
	var found []existing
	for _, n := range want.clusters {
		if e := start.Clusters[n]; e != nil {
			found = append(found, existing{"cluster", n, e.LocationOfOrigin})
		}
	}
	for _, n := range want.users {
		if e := start.AuthInfos[n]; e != nil {
			found = append(found, existing{"user", n, e.LocationOfOrigin})
		}
	}
	for _, n := range want.contexts {
		if e := start.Contexts[n]; e != nil {
			found = append(found, existing{"context", n, e.LocationOfOrigin})
		}
	}
	for _, e := range found {
		if !force {
			where := e.origin
			if where == "" {
				where = dest
			}
			return nil, "", &sentinelError{sentinel: ErrExists, msg: fmt.Sprintf("the kubeconfig %s has a %s named %q already: pass --force to replace it, or --context-name to choose another name", where, e.kind, e.name)}
		}
		if e.origin != "" {
			written[e.origin] = true
		}
	}
	for _, p := range keys(written) {
		if err := checkMergeTarget(p); err != nil {
			return nil, "", err
		}
	}
	return start, dest, nil
}

// checkMergeTarget refuses to let ModifyConfig write p when p is a symbolic
// link (client-go would write through it, into whatever it points to) or
// not a regular file. A missing p is fine: ModifyConfig creates it.
func checkMergeTarget(p string) error {
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("cannot write the kubeconfig %s: %w", p, unwrapPath(err))
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := filepath.EvalSymlinks(p)
		if err != nil {
			return fmt.Errorf("the kubeconfig %s %w to a file that cannot be resolved (%v): --merge does not write through links", p, ErrSymlink, unwrapPath(err))
		}
		return fmt.Errorf("the kubeconfig %s %w to %s: --merge does not write through links, which would change %s instead of the link; pass --kubeconfig=%s to merge into that file", p, ErrSymlink, target, target, target)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("cannot write the kubeconfig %s: it is not a regular file", p)
	}
	return nil
}

func lockedError(kubeconfig string) error {
	lock := kubeconfig + lockSuffix
	return fmt.Errorf("%w: %s exists. Another kubectl may be changing %s right now; if none is, the lock file is stale (left by an interrupted command): remove %s and try again", ErrLocked, lock, kubeconfig, lock)
}
