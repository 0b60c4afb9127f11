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
// to lock it (a file created with O_EXCL, removed when done). Merge takes
// the same locks, so kubectl config and Merge never write at the same time.
const lockSuffix = ".lock"

// MergeOptions say how Merge may change the active kubeconfig.
type MergeOptions struct {
	// Force replaces a cluster, user or context of the same name.
	Force bool
	// SetCurrent makes the merged context the current one. Off by default,
	// like kubectl config set-context: merging a service account's
	// credentials must not silently change who the next kubectl runs as.
	SetCurrent bool
	// Warnf, if set, is told of what the user should know although the
	// merge succeeded: that a kubeconfig's permissions were tightened, or
	// that it could not be given back its owner. The message is one
	// sentence with no "Warning:" prefix and no newline.
	Warnf func(format string, args ...any)
}

func (o MergeOptions) warnf(format string, args ...any) {
	if o.Warnf != nil {
		o.Warnf(format, args...)
	}
}

// CheckMerge reports, without changing any kubeconfig, whether a kubeconfig
// whose cluster, user and context are all named name can be merged into the
// kubeconfig access loads. It takes and releases the locks Merge takes, so
// a lock file held by another command, or one that cannot be created, is
// reported; then it checks, as Merge does, that no file to be written is a
// symbolic link, the files parse, (unless force) no entry of that name
// exists, and the files to write can be written. It returns the file new
// entries would go to. Commands call it before they obtain a token, so a
// merge bound to fail creates nothing.
func CheckMerge(access clientcmd.ConfigAccess, name string, force bool) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	held, err := lockAll(access, false)
	if err != nil {
		return "", err
	}
	defer held.release()
	p, err := plan(access, entries{clusters: []string{name}, users: []string{name}, contexts: []string{name}}, force)
	if err != nil {
		return "", err
	}
	return p.dest, nil
}

// Merge adds the clusters, users and contexts of add to the kubeconfig
// access loads. New entries go to the file
// clientcmd.ConfigAccess.GetDefaultFilename names: --kubeconfig, else the
// first existing file of KUBECONFIG, else ~/.kube/config. A replaced entry
// (with Force) is rewritten in the file it came from. Every other entry is
// left as it is, though the file is re-encoded as kubectl config re-encodes
// it; the current context changes only with SetCurrent. It returns the file
// new entries went to.
//
// Every file of the kubeconfig is locked as clientcmd.ModifyConfig locks it
// (FILE.lock, created exclusively; a lock file that exists is ErrLocked,
// never waited for or removed) before the kubeconfig is read, and unlocked
// after it is written, so an edit another kubectl makes meanwhile is
// neither lost nor mixed with this one. Each changed file is replaced
// atomically: a new file, created exclusively in the same directory, is
// written, synced and renamed over it, and the directory is synced, so a
// crash or a full disk leaves either the old file or the new one, never a
// truncated one. The file keeps its owner and group where the user running
// Merge may give them (root can).
//
// Permissions are tightened, never kept loose: a merged kubeconfig is
// written mode 0600, as it holds a token. When a file was readable or
// writable by its group or others, Warnf says that it is now 0600.
// A new file is created 0600, and its directory, when it is missing too,
// 0700.
func Merge(access clientcmd.ConfigAccess, add *clientcmdapi.Config, opts MergeOptions) (string, error) {
	return merge(access, add, opts, createTemp)
}

// merge is Merge with the temporary files made by create.
func merge(access clientcmd.ConfigAccess, add *clientcmdapi.Config, opts MergeOptions, create func(dir, pattern string) (tempFile, error)) (string, error) {
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
	held, err := lockAll(access, true)
	if err != nil {
		return "", err
	}
	defer held.release()
	p, err := plan(access, want, opts.Force)
	if err != nil {
		return "", err
	}
	files, err := p.changes(add, opts.SetCurrent)
	if err != nil {
		return "", err
	}
	if err := write(files, held, opts, create); err != nil {
		return "", err
	}
	return p.dest, nil
}

// changes returns the files the merge of add changes, with add merged in.
func (p *mergePlan) changes(add *clientcmdapi.Config, setCurrent bool) (fileConfigs, error) {
	files := fileConfigs{}
	if err := putEntries(files, p, add.Clusters, clusterOrigin, func(c *clientcmdapi.Config) map[string]*clientcmdapi.Cluster { return c.Clusters }); err != nil {
		return nil, err
	}
	if err := putEntries(files, p, add.AuthInfos, userOrigin, func(c *clientcmdapi.Config) map[string]*clientcmdapi.AuthInfo { return c.AuthInfos }); err != nil {
		return nil, err
	}
	if err := putEntries(files, p, add.Contexts, contextOrigin, func(c *clientcmdapi.Config) map[string]*clientcmdapi.Context { return c.Contexts }); err != nil {
		return nil, err
	}
	if setCurrent {
		// Where ModifyConfig writes the current context: the file of
		// KUBECONFIG read first, so its current-context wins.
		cfg, err := files.get(p.dest)
		if err != nil {
			return nil, err
		}
		cfg.CurrentContext = add.CurrentContext
	}
	return files, nil
}

// write replaces each file of files atomically (see Output), and warns of
// permissions tightened and owners not kept.
func write(files fileConfigs, held locks, opts MergeOptions, create func(dir, pattern string) (tempFile, error)) error {
	// Every temporary file is created before any is moved into place, so
	// that a directory that cannot be written changes nothing.
	outs := make([]*Output, 0, len(files))
	for _, path := range keys(files) {
		if !held[path] {
			// Only when a file of KUBECONFIG and its directory appeared
			// between locking and reading.
			return fmt.Errorf("the kubeconfig %s appeared while merging, unlocked: try again", path)
		}
		out, err := createOutput(mergeTarget(path), create)
		if err != nil {
			return err
		}
		defer out.Abort()
		outs = append(outs, out)
	}
	for _, out := range outs {
		if err := out.Commit(files[out.path]); err != nil {
			return err
		}
		if out.old != nil && openToOthers(out.old) {
			opts.warnf("the kubeconfig %s was mode %04o, open to users other than its owner; it is now mode 0600, as it holds a token", out.path, out.old.Mode().Perm())
		}
		if out.ownerErr != nil {
			opts.warnf("the kubeconfig %s now belongs to the user running this command: %v", out.path, out.ownerErr)
		}
	}
	return nil
}

// mergeTarget is path as Merge writes it: an existing file is replaced,
// keeping its owner, a link is refused with advice.
func mergeTarget(path string) target {
	return target{path: path, replace: true, keepOwner: true, name: "the kubeconfig " + path, linkAdvice: func(resolved string) string {
		if resolved == "" {
			return "--merge does not write through links"
		}
		return fmt.Sprintf("--merge does not write through links, which would change %s instead of the link; pass --kubeconfig=%s to merge into that file", resolved, resolved)
	}}
}

// locks are the kubeconfig files whose lock files this merge holds.
type locks map[string]bool

// release removes the lock files.
func (l locks) release() {
	for f := range l {
		_ = os.Remove(f + lockSuffix)
	}
}

// lockAll locks every file of the kubeconfig access loads, in sorted order
// like clientcmd.ModifyConfig. A file whose directory does not exist has
// nothing to protect and is skipped, except the file new entries go to
// when mkdir is set: then its directory is created, mode 0700. On error no
// lock is kept.
func lockAll(access clientcmd.ConfigAccess, mkdir bool) (locks, error) {
	dest := access.GetDefaultFilename()
	files := map[string]bool{}
	for _, f := range access.GetLoadingPrecedence() {
		files[f] = true
	}
	if dest != "" {
		files[dest] = true
	}
	held := locks{}
	for _, f := range keys(files) {
		if _, err := os.Stat(filepath.Dir(f)); errors.Is(err, fs.ErrNotExist) {
			if !mkdir || f != dest {
				continue
			}
			if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
				held.release()
				return nil, fmt.Errorf("cannot write the kubeconfig %s: %w", f, unwrapPath(err))
			}
		}
		if err := lockFile(f); err != nil {
			held.release()
			return nil, err
		}
		held[f] = true
	}
	return held, nil
}

// lockFile creates the lock file of the kubeconfig f.
func lockFile(f string) error {
	lock := f + lockSuffix
	l, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		return lockedError(f)
	case err != nil:
		return fmt.Errorf("cannot write the kubeconfig %s: cannot create its lock file %s: %w", f, lock, unwrapPath(err))
	}
	// The lock is the file's existence; nothing is written to it.
	_ = l.Close()
	return nil
}

// entries names the clusters, users and contexts to be written.
type entries struct {
	clusters, users, contexts []string
}

// fileConfigs are the files a merge changes, each loaded alone (as
// ModifyConfig does), so that relative paths are written back unresolved
// and entries of the other files are not copied in.
type fileConfigs map[string]*clientcmdapi.Config

// get returns the configuration of path, loading it the first time.
func (fc fileConfigs) get(path string) (*clientcmdapi.Config, error) {
	if cfg := fc[path]; cfg != nil {
		return cfg, nil
	}
	cfg, err := clientcmd.LoadFromFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		cfg = clientcmdapi.NewConfig()
	case err != nil:
		return nil, fmt.Errorf("reading the kubeconfig %s: %w", path, err)
	}
	fc[path] = cfg
	return cfg, nil
}

// putEntries copies the entries of add into the files they go to: an entry
// that replaces one of the same name in the kubeconfig goes to the file that
// one came from (origin), a new one to p.dest. of picks the entries of type
// E out of a configuration.
func putEntries[E any, P interface {
	*E
	DeepCopy() *E
}](files fileConfigs, p *mergePlan, add map[string]P, origin func(P) string, of func(*clientcmdapi.Config) map[string]P) error {
	for _, name := range keys(add) {
		file := p.dest
		if old := of(p.start)[name]; old != nil {
			file = p.fileFor(origin(old))
		}
		cfg, err := files.get(file)
		if err != nil {
			return err
		}
		of(cfg)[name] = add[name].DeepCopy()
	}
	return nil
}

func clusterOrigin(c *clientcmdapi.Cluster) string { return c.LocationOfOrigin }
func userOrigin(u *clientcmdapi.AuthInfo) string   { return u.LocationOfOrigin }
func contextOrigin(c *clientcmdapi.Context) string { return c.LocationOfOrigin }

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// mergePlan is a merge found possible.
type mergePlan struct {
	// start is the kubeconfig as loaded, all its files merged.
	start *clientcmdapi.Config
	// dest is the file new entries go to.
	dest string
}

// fileFor returns the file an entry goes to that replaces one loaded from
// origin: the same file, so that the entry does not move, or dest.
func (p *mergePlan) fileFor(origin string) string {
	if origin == "" {
		return p.dest
	}
	return origin
}

// plan loads the kubeconfig and checks that the entries of want can be
// written: (unless force) none of them exists yet, and every file they go
// to is a regular file that opens for writing, or does not exist. Callers
// hold the locks of lockAll, so what plan reads is what will be changed.
func plan(access clientcmd.ConfigAccess, want entries, force bool) (*mergePlan, error) {
	files := access.GetLoadingPrecedence()
	start, err := access.GetStartingConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig %s: %w", strings.Join(files, string(os.PathListSeparator)), err)
	}
	p := &mergePlan{start: start, dest: access.GetDefaultFilename()}
	if p.dest == "" {
		return nil, errors.New("no kubeconfig file to merge into: set --kubeconfig")
	}
	written := map[string]bool{p.dest: true}
	type existing struct {
		kind, name, origin string
	}
	var found []existing
	for _, n := range want.clusters {
		if e := start.Clusters[n]; e != nil {
			found = append(found, existing{"cluster", n, clusterOrigin(e)})
		}
	}
	for _, n := range want.users {
		if e := start.AuthInfos[n]; e != nil {
			found = append(found, existing{"user", n, userOrigin(e)})
		}
	}
	for _, n := range want.contexts {
		if e := start.Contexts[n]; e != nil {
			found = append(found, existing{"context", n, contextOrigin(e)})
		}
	}
	for _, e := range found {
		where := p.fileFor(e.origin)
		if !force {
			return nil, &sentinelError{sentinel: ErrExists, msg: fmt.Sprintf("the kubeconfig %s has a %s named %q already: pass --force to replace it, or --context-name to choose another name", where, e.kind, e.name)}
		}
		written[where] = true
	}
	for _, path := range keys(written) {
		if err := checkWritable(path); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// checkWritable refuses a kubeconfig Merge would write when it is a
// symbolic link (writing through it would change whatever it points to;
// replacing it would drop the link), not a regular file, or not writable
// by us: renaming over a file the user made read-only would change it all
// the same. A missing file is fine: Merge creates it.
func checkWritable(path string) error {
	old, err := mergeTarget(path).check()
	if err != nil || old == nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("cannot write the kubeconfig %s: %w", path, unwrapPath(err))
	}
	return f.Close()
}

func lockedError(kubeconfig string) error {
	lock := kubeconfig + lockSuffix
	return fmt.Errorf("%w: %s exists. Another kubectl may be changing %s right now; if none is, the lock file is stale (left by an interrupted command): remove %s and try again", ErrLocked, lock, kubeconfig, lock)
}
