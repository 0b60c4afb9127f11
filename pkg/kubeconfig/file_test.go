package kubeconfig

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func testConfig(t *testing.T) *clientcmdapi.Config {
	t.Helper()
	cfg, err := Build(testCred(testCA(t)), Options{Name: "build:ci@prod"})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// dirNames lists the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// mustRead returns the bytes of path.
func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestWriteFileCreates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ci.kubeconfig")
	cfg := testConfig(t)
	if err := WriteFile(path, cfg, false); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o600 {
		t.Errorf("mode %v, want -rw-------", fi.Mode())
	}
	if diff := cmp.Diff([]string{"ci.kubeconfig"}, dirNames(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
	back, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.AuthInfos["build:ci@prod"].Token != testToken || back.CurrentContext != "build:ci@prod" {
		t.Error("the file does not hold the kubeconfig")
	}
}

func TestWriteFileRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := WriteFile("ci.kubeconfig", testConfig(t), false); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ci.kubeconfig"}, dirNames(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
}

func TestWriteFileRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ci.kubeconfig")
	old := []byte("apiVersion: v1\nkind: Config\n# hand-written\n")
	if err := os.WriteFile(path, old, 0o640); err != nil {
		t.Fatal(err)
	}
	// CreateOutput refuses already, so a command learns it before it
	// obtains a token.
	if out, err := CreateOutput(path, false); !errors.Is(err, ErrExists) {
		out.Abort()
		t.Fatalf("CreateOutput = %v, want ErrExists", err)
	}
	err := WriteFile(path, testConfig(t), false)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("WriteFile = %v, want ErrExists", err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "--force") {
		t.Errorf("error %q does not name the file and --force", err)
	}
	assertNoToken(t, err)
	if got := mustRead(t, path); !bytes.Equal(got, old) {
		t.Errorf("the existing file changed to %q", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("the existing file's mode changed to %v", fi.Mode().Perm())
	}
	if diff := cmp.Diff([]string{"ci.kubeconfig"}, dirNames(t, dir)); diff != "" {
		t.Errorf("a temporary file was left (-want +got):\n%s", diff)
	}
}

func TestWriteFileForceReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ci.kubeconfig")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, testConfig(t), true); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v after replacing a 0644 file, want 0600", fi.Mode().Perm())
	}
	if back, err := clientcmd.LoadFromFile(path); err != nil || back.AuthInfos["build:ci@prod"] == nil {
		t.Errorf("the file was not replaced by the kubeconfig: %v", err)
	}
	if diff := cmp.Diff([]string{"ci.kubeconfig"}, dirNames(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
}

func TestWriteFileRefusesSymlink(t *testing.T) {
	for _, force := range []bool{false, true} {
		dir := t.TempDir()
		target := filepath.Join(dir, "real")
		link := filepath.Join(dir, "link")
		old := []byte("kept")
		if err := os.WriteFile(target, old, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		dangling := filepath.Join(dir, "dangling")
		if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{link, dangling} {
			err := WriteFile(p, testConfig(t), force)
			if !errors.Is(err, ErrSymlink) {
				t.Fatalf("WriteFile(%s, force=%v) = %v, want ErrSymlink", p, force, err)
			}
			assertNoToken(t, err)
		}
		if got := mustRead(t, target); !bytes.Equal(got, old) {
			t.Errorf("force=%v: the link's target changed to %q", force, got)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("force=%v: the link was replaced", force)
		}
		if diff := cmp.Diff([]string{"dangling", "link", "real"}, dirNames(t, dir)); diff != "" {
			t.Errorf("force=%v: directory (-want +got):\n%s", force, diff)
		}
	}
}

func TestWriteFileUnwritable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path, want string
		force            bool
	}{
		{"missing directory", filepath.Join(dir, "missing", "kubeconfig"), "no such file or directory", false},
		{"parent is a file", filepath.Join(file, "kubeconfig"), "not a directory", false},
		{"target is a directory", dir, "is a directory", true},
		{"target is a device", os.DevNull, "not a regular file", true},
		{"empty path", "", "no output file", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := WriteFile(tc.path, testConfig(t), tc.force)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("WriteFile = %v, want an error containing %q", err, tc.want)
			}
			assertNoToken(t, err)
		})
	}
	if diff := cmp.Diff([]string{"file"}, dirNames(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
}

func TestWriteFilePermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(ro, 0o700) })
	err := WriteFile(filepath.Join(ro, "kubeconfig"), testConfig(t), false)
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("WriteFile = %v, want permission denied", err)
	}
	if names := dirNames(t, ro); len(names) != 0 {
		t.Errorf("files left in the read-only directory: %v", names)
	}
}

// TestCommitRechecks covers a target that changes between CreateOutput and
// Commit: the temporary file is removed and the target is not touched.
func TestCommitRechecks(t *testing.T) {
	t.Run("created meanwhile, no force", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "kubeconfig")
		out, err := CreateOutput(path, false)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Abort()
		if err := os.WriteFile(path, []byte("theirs"), 0o600); err != nil {
			t.Fatal(err)
		}
		err = out.Commit(testConfig(t))
		if !errors.Is(err, ErrExists) {
			t.Fatalf("Commit = %v, want ErrExists", err)
		}
		if got := mustRead(t, path); string(got) != "theirs" {
			t.Errorf("the file created meanwhile was replaced: %q", got)
		}
		if diff := cmp.Diff([]string{"kubeconfig"}, dirNames(t, dir)); diff != "" {
			t.Errorf("directory (-want +got):\n%s", diff)
		}
	})
	t.Run("became a directory, force", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "kubeconfig")
		out, err := CreateOutput(path, true)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Abort()
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := out.Commit(testConfig(t)); err == nil || !strings.Contains(err.Error(), "is a directory") {
			t.Fatalf("Commit = %v, want a directory error", err)
		}
		if diff := cmp.Diff([]string{"kubeconfig"}, dirNames(t, dir)); diff != "" {
			t.Errorf("directory (-want +got):\n%s", diff)
		}
	})
	t.Run("commit twice", func(t *testing.T) {
		dir := t.TempDir()
		out, err := CreateOutput(filepath.Join(dir, "kubeconfig"), false)
		if err != nil {
			t.Fatal(err)
		}
		if err := out.Commit(testConfig(t)); err != nil {
			t.Fatal(err)
		}
		if err := out.Commit(testConfig(t)); err == nil {
			t.Error("a second Commit succeeded")
		}
		out.Abort()
		if diff := cmp.Diff([]string{"kubeconfig"}, dirNames(t, dir)); diff != "" {
			t.Errorf("Abort after Commit changed the directory (-want +got):\n%s", diff)
		}
	})
}

func TestAbortRemovesTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	out, err := CreateOutput(filepath.Join(dir, "kubeconfig"), false)
	if err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, dir); len(names) != 1 || !strings.HasPrefix(names[0], ".kubeconfig.tmp-") {
		t.Errorf("CreateOutput made %v, want one hidden temporary file", names)
	}
	out.Abort()
	out.Abort()
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("Abort left %v", names)
	}
}
