//go:build unix

package kubeconfig

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// warnings collects what Merge warns of, formatted.
type warnings []string

func (w *warnings) warnf(format string, args ...any) { *w = append(*w, fmt.Sprintf(format, args...)) }

// expect checks that w is the one warning format gives with path for %s,
// or no warning when format is "".
func (w warnings) expect(t *testing.T, format, path string) {
	t.Helper()
	var want warnings
	if format != "" {
		want = warnings{fmt.Sprintf(format, path)}
	}
	if diff := cmp.Diff(want, w); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestMergeTightensPermissions: a kubeconfig open to others than its owner
// is written back 0600, with a warning; every other entry is kept.
func TestMergeTightensPermissions(t *testing.T) {
	cases := []struct {
		name string
		mode fs.FileMode // 0: no file yet
		warn string      // %s is the path
	}{
		{"world-readable is tightened", 0o644, "the kubeconfig %s was mode 0644, open to users other than its owner; it is now mode 0600, as it holds a token"},
		{"group-readable is tightened", 0o640, "the kubeconfig %s was mode 0640, open to users other than its owner; it is now mode 0600, as it holds a token"},
		{"group-writable is tightened", 0o620, "the kubeconfig %s was mode 0620, open to users other than its owner; it is now mode 0600, as it holds a token"},
		{"world-writable is tightened", 0o666, "the kubeconfig %s was mode 0666, open to users other than its owner; it is now mode 0600, as it holds a token"},
		{"owner-only stays quiet", 0o600, ""},
		{"owner-executable becomes 0600 quietly", 0o700, ""},
		{"a new file is 0600", 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config")
			want := clientcmdapi.NewConfig()
			if tc.mode != 0 {
				writeExisting(t, dir, "config", existingKubeconfig)
				if err := os.Chmod(path, tc.mode); err != nil {
					t.Fatal(err)
				}
				want = loadFile(t, path)
			}
			add := testConfig(t)
			var got warnings
			if _, err := Merge(explicit(path), add, MergeOptions{Warnf: got.warnf}); err != nil {
				t.Fatal(err)
			}
			got.expect(t, tc.warn, path)
			if fi, err := os.Stat(path); err != nil || fi.Mode() != fileMode {
				t.Errorf("mode %v, %v; want -rw-------", fi.Mode(), err)
			}
			const name = "build:ci@prod"
			want.Clusters[name], want.AuthInfos[name], want.Contexts[name] = add.Clusters[name], add.AuthInfos[name], add.Contexts[name]
			if diff := cmp.Diff(want, loadFile(t, path), ignoreOrigin); diff != "" {
				t.Errorf("kubeconfig after Merge (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"config"}, dirNames(t, dir)); diff != "" {
				t.Errorf("lock or temporary files left (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMergeKeepsOwner: root merging into another user's kubeconfig gives
// the new file that user's owner and group; where that is not permitted,
// Merge still writes it, and warns.
func TestMergeKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can give a file to another user")
	}
	const uid, gid = 4242, 4343
	cases := []struct {
		name     string
		chownErr error
		wantUID  int
		wantGID  int
		warn     string // %s is the path
	}{
		{"owner and group kept", nil, uid, gid, ""},
		{"not permitted: written and warned", syscall.EPERM, 0, 0, "the kubeconfig %s now belongs to the user running this command: cannot give it back its owner (uid 4242, gid 4343): operation not permitted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeExisting(t, dir, "config", existingKubeconfig)
			if err := os.Chown(path, uid, gid); err != nil {
				t.Fatal(err)
			}
			var got warnings
			if _, err := merge(explicit(path), testConfig(t), MergeOptions{Warnf: got.warnf}, failingCreate(1, failingFile{room: -1, chownErr: tc.chownErr}, nil)); err != nil {
				t.Fatal(err)
			}
			got.expect(t, tc.warn, path)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if int(st.Uid) != tc.wantUID || int(st.Gid) != tc.wantGID || fi.Mode() != fileMode {
				t.Errorf("owner %d:%d mode %v, want %d:%d -rw-------", st.Uid, st.Gid, fi.Mode(), tc.wantUID, tc.wantGID)
			}
			if loadFile(t, path).Contexts["build:ci@prod"] == nil {
				t.Error("the context was not merged")
			}
		})
	}
}
