package kubeconfig

import (
	"errors"
	"fmt"
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
	path  string
	force bool
	tmp   *os.File
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
	if err := checkTarget(path, force); err != nil {
		return nil, err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	}
	o := &Output{path: path, force: force, tmp: tmp}
	if err := tmp.Chmod(fileMode); err != nil {
		o.Abort()
		return nil, fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	}
	return o, nil
}

// Path is the file the kubeconfig goes to.
func (o *Output) Path() string { return o.path }

// Commit writes cfg to the temporary file, syncs it, and moves it to the
// target in one step: with force by rename (which replaces an existing
// file), else by link, which fails if the target appeared since
// CreateOutput, so a file created meanwhile is never replaced. On any error
// the temporary file is removed and the target is as it was.
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
		return fmt.Errorf("writing %s: %w", o.path, unwrapPath(err))
	}
	if err := o.tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", o.path, unwrapPath(err))
	}
	if err := o.tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", o.path, unwrapPath(err))
	}
	// The target may have changed since CreateOutput; look again so the
	// error says what it became.
	if err := checkTarget(o.path, o.force); err != nil {
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
	if o.force {
		if err := os.Rename(name, o.path); err != nil {
			return fmt.Errorf("cannot replace %s: %w", o.path, unwrapPath(err))
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
		return fmt.Errorf("cannot create %s: %w", o.path, unwrapPath(err))
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

// checkTarget says whether path may be (re)placed by a new kubeconfig.
func checkTarget(path string, force bool) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	case fi.Mode()&fs.ModeSymlink != 0:
		return symlinkError(path, "refusing to replace the link or to write through it; give the path of the file it points to, or another path")
	case fi.IsDir():
		return fmt.Errorf("cannot write %s: it is a directory", path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("cannot write %s: it is not a regular file", path)
	case !force:
		return existsError(path)
	}
	return nil
}

func existsError(path string) error {
	return fmt.Errorf("%s %w: pass --force to replace it", path, ErrExists)
}

func symlinkError(path, advice string) error {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		target, _ = os.Readlink(path)
	}
	return fmt.Errorf("%s %w to %s: %s", path, ErrSymlink, target, advice)
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
