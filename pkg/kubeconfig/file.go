package kubeconfig

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// fileMode is the mode of a written kubeconfig: it holds a bearer token.
const fileMode = 0o600

// Output is a kubeconfig file about to be written: the target is checked and
// a temporary file already exists next to it, so a command learns that the
// path is unusable before it obtains a token. Finish with Commit, and always
// call Abort (a no-op after a successful Commit) so that no temporary file
// is left behind.
type Output struct {
	target
	tmp tempFile
	// old is the file found at the target by CreateOutput, nil if none.
	old fs.FileInfo
	// ownerErr says why the temporary file could not be given old's owner.
	ownerErr error
}

// target is a path a kubeconfig is written to, with the rules for what may
// be there already.
type target struct {
	path string
	// replace lets an existing regular file be replaced.
	replace bool
	// keepOwner gives the written file the owner and group of the file it
	// replaces, so that root merging into a user's kubeconfig does not leave
	// the user a file they can no longer read.
	keepOwner bool
	// name is how errors call the file: its path, or "the kubeconfig PATH".
	name string
	// linkAdvice says what to do instead when path is a symbolic link to
	// resolved ("" when the link does not resolve).
	linkAdvice func(resolved string) string
}

// tempFile is what an Output needs of its temporary file; tests substitute
// one that fails part way.
type tempFile interface {
	io.Writer
	Name() string
	Chmod(mode fs.FileMode) error
	Chown(uid, gid int) error
	Sync() error
	Close() error
}

// createTemp creates a temporary file with os.CreateTemp: exclusively
// (O_EXCL, so never an existing file or a link planted there), mode 0600.
func createTemp(dir, pattern string) (tempFile, error) {
	return os.CreateTemp(dir, pattern)
}

// CreateOutput checks that path can receive a kubeconfig and creates the
// temporary file, mode 0600, in its directory. Without force an existing
// path is refused (ErrExists). A symbolic link is always refused
// (ErrSymlink): renaming over it would replace the link and writing through
// it would change another file, neither of which the user asked for.
// Directories and other non-regular files are refused too. The directory
// itself must exist.
func CreateOutput(path string, force bool) (*Output, error) {
	if path == "" {
		return nil, errors.New("no output file given")
	}
	t := target{path: path, replace: force, name: path, linkAdvice: func(string) string {
		return "refusing to replace the link or to write through it; give the path of the file it points to, or another path"
	}}
	return createOutput(t, createTemp)
}

// createOutput checks t and creates the temporary file next to it with
// create.
func createOutput(t target, create func(dir, pattern string) (tempFile, error)) (*Output, error) {
	old, err := t.check()
	if err != nil {
		return nil, err
	}
	dir, base := filepath.Split(t.path)
	if dir == "" {
		dir = "."
	}
	tmp, err := create(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", t.name, unwrapPath(err))
	}
	o := &Output{target: t, tmp: tmp, old: old}
	// CreateTemp's 0600 is reduced by the umask; set it exactly.
	if err := tmp.Chmod(fileMode); err != nil {
		o.Abort()
		return nil, fmt.Errorf("cannot write %s: %w", t.name, unwrapPath(err))
	}
	if t.keepOwner && old != nil {
		o.ownerErr = keepOwner(tmp, old)
	}
	return o, nil
}

// Path is the file the kubeconfig goes to.
func (o *Output) Path() string { return o.path }

// Commit writes cfg to the temporary file, syncs it, and moves it to the
// target in one step: with force by rename (which replaces an existing
// file), else by link, which fails if the target appeared since
// CreateOutput, so a file created meanwhile is never replaced. The
// directory is synced too, so the move survives a crash. On any error the
// temporary file is removed and the target is as it was.
func (o *Output) Commit(cfg *clientcmdapi.Config) (err error) {
	if o.tmp == nil {
		return errors.New("kubeconfig output already committed or aborted")
	}
	defer func() {
		if err != nil {
			o.Abort()
		}
	}()
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("encoding the kubeconfig: %w", err)
	}
	if _, err := o.tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", o.name, unwrapPath(err))
	}
	if err := o.tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", o.name, unwrapPath(err))
	}
	if err := o.tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", o.name, unwrapPath(err))
	}
	// The target may have changed since CreateOutput; look again so the
	// error says what it became.
	if _, err := o.check(); err != nil {
		return err
	}
	if err := o.move(); err != nil {
		return err
	}
	o.tmp = nil
	syncDir(filepath.Dir(o.path))
	return nil
}

// move puts the written temporary file in place.
func (o *Output) move() error {
	name := o.tmp.Name()
	if o.replace {
		if err := os.Rename(name, o.path); err != nil {
			return fmt.Errorf("cannot replace %s: %w", o.name, unwrapPath(err))
		}
		return nil
	}
	err := os.Link(name, o.path)
	switch {
	case err == nil:
		// The target now exists; the temporary name is just a second link.
		_ = os.Remove(name)
		return nil
	case errors.Is(err, fs.ErrExist):
		return existsError(o.path)
	}
	// Some file systems have no hard links. Fall back to rename after one
	// more look: the window in which another file could appear is tiny.
	if _, statErr := os.Lstat(o.path); !errors.Is(statErr, fs.ErrNotExist) {
		return existsError(o.path)
	}
	if err := os.Rename(name, o.path); err != nil {
		return fmt.Errorf("cannot create %s: %w", o.name, unwrapPath(err))
	}
	return nil
}

// Abort removes the temporary file unless Commit moved it into place.
func (o *Output) Abort() {
	if o == nil || o.tmp == nil {
		return
	}
	_ = o.tmp.Close()
	_ = os.Remove(o.tmp.Name())
	o.tmp = nil
}

// WriteFile writes cfg to path atomically with mode 0600, refusing to
// replace an existing file unless force. See CreateOutput and Commit.
func WriteFile(path string, cfg *clientcmdapi.Config, force bool) error {
	o, err := CreateOutput(path, force)
	if err != nil {
		return err
	}
	defer o.Abort()
	return o.Commit(cfg)
}

// check says whether t.path may be (re)placed by a new kubeconfig, and
// returns the file there now, nil if there is none.
func (t target) check() (fs.FileInfo, error) {
	fi, err := os.Lstat(t.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("cannot write %s: %w", t.name, unwrapPath(err))
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, t.symlinkError()
	case fi.IsDir():
		return nil, fmt.Errorf("cannot write %s: it is a directory", t.name)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("cannot write %s: it is not a regular file", t.name)
	case !t.replace:
		return nil, existsError(t.path)
	}
	return fi, nil
}

func (t target) symlinkError() error {
	resolved, err := filepath.EvalSymlinks(t.path)
	if err != nil {
		link, _ := os.Readlink(t.path)
		return fmt.Errorf("%s %w to %s, which cannot be resolved (%v): %s", t.name, ErrSymlink, link, unwrapPath(err), t.linkAdvice(""))
	}
	return fmt.Errorf("%s %w to %s: %s", t.name, ErrSymlink, resolved, t.linkAdvice(resolved))
}

func existsError(path string) error {
	return fmt.Errorf("%s %w: pass --force to replace it", path, ErrExists)
}

// keepOwner gives tmp the owner and group of old when they are not ours,
// as when root writes a user's file. Only root may give a file away, so an
// error is expected otherwise; the caller reports it as a warning.
func keepOwner(tmp tempFile, old fs.FileInfo) error {
	uid, gid, ok := fileOwner(old)
	if !ok || (uid == os.Geteuid() && gid == os.Getegid()) {
		return nil
	}
	if err := tmp.Chown(uid, gid); err != nil {
		return fmt.Errorf("cannot give it back its owner (uid %d, gid %d): %w", uid, gid, unwrapPath(err))
	}
	return nil
}

// unwrapPath drops the *fs.PathError wrapper whose message repeats the path,
// often in a temporary file's name the user has never heard of.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// syncDir makes a rename in dir durable. Errors are ignored: the file is in
// place by then, and some systems cannot sync a directory.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
