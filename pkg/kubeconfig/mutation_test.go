package kubeconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"
)

// TestCheckTokenCharacters pins the ends of the printable ASCII a bearer
// token may hold: '!' and '~' are in, space and DEL are out.
func TestCheckTokenCharacters(t *testing.T) {
	cases := []struct {
		name, token string
		ok          bool
	}{
		{name: "the first printable character", token: "a!b", ok: true},
		{name: "the last printable character", token: "a~b", ok: true},
		{name: "a space", token: "a b"},
		{name: "DEL", token: "a\x7fb"},
		{name: "empty", token: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkToken(tc.token); (err == nil) != tc.ok {
				t.Errorf("checkToken(%q) = %v, want ok %v", tc.token, err, tc.ok)
			}
		})
	}
}

// TestCommitTwice: a committed output is spent; a second Commit says so
// and leaves the file the first one wrote.
func TestCommitTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	o, err := CreateOutput(path, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	if err := o.Commit(cfg); err != nil {
		t.Fatal(err)
	}
	first := mustRead(t, path)
	err = o.Commit(cfg)
	if err == nil || err.Error() != "kubeconfig output already committed or aborted" {
		t.Fatalf("second Commit = %v, want it refused as already committed", err)
	}
	if got := mustRead(t, path); string(got) != string(first) {
		t.Error("the second Commit changed the file")
	}
	if diff := cmp.Diff([]string{"config"}, dirNames(t, filepath.Dir(path))); diff != "" {
		t.Errorf("files left (-want +got):\n%s", diff)
	}
}

// destAccess is a ConfigAccess whose file for new entries is not among the
// files it loads.
type destAccess struct {
	clientcmd.ConfigAccess
	precedence []string
	dest       string
}

func (a destAccess) GetLoadingPrecedence() []string { return a.precedence }
func (a destAccess) GetDefaultFilename() string     { return a.dest }

// TestLockAllLocksTheDestination: the file new entries go to is locked
// even when it is not one of the loaded files.
func TestLockAllLocksTheDestination(t *testing.T) {
	dir := t.TempDir()
	loaded, dest := filepath.Join(dir, "loaded"), filepath.Join(dir, "dest")
	held, err := lockAll(destAccess{precedence: []string{loaded}, dest: dest}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer held.release()
	if diff := cmp.Diff(locks{loaded: true, dest: true}, held); diff != "" {
		t.Errorf("locks held (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"dest.lock", "loaded.lock"}, dirNames(t, dir)); diff != "" {
		t.Errorf("lock files (-want +got):\n%s", diff)
	}
}

// TestCheckWritableExistingFile: an existing regular file that cannot be
// opened for writing is refused, even though it is otherwise a fine
// target. Root ignores file modes, so as root a sysfs attribute with no
// write method (the kernel refuses writing it to anyone) stands in.
func TestCheckWritableExistingFile(t *testing.T) {
	path := "/sys/kernel/uevent_seqnum"
	if os.Geteuid() != 0 {
		path = writeExisting(t, t.TempDir(), "config", existingKubeconfig)
		if err := os.Chmod(path, 0o400); err != nil {
			t.Fatal(err)
		}
	} else if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		t.Skipf("root ignores file modes, and there is no read-only sysfs attribute here (%v)", err)
	}
	err := checkWritable(path)
	if want := "cannot write the kubeconfig " + path + ": permission denied"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("checkWritable = %v, want %q", err, want)
	}
}
