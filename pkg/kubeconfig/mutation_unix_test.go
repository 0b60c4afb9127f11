//go:build unix

package kubeconfig

import (
	"os"
	"syscall"
	"testing"
)

// TestMergeKeepsOwnerOrGroup: root keeps the owner when only the owner is
// another user's, and the group when only the group is, and gives nothing
// away (so nothing can fail) when the file is already root's.
func TestMergeKeepsOwnerOrGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can give a file to another user")
	}
	cases := []struct {
		name     string
		uid, gid int // -1: root's
	}{
		{"only the owner is another user's", 4242, -1},
		{"only the group is another group", -1, 4343},
		{"root's file: no chown at all", -1, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantUID, wantGID := tc.uid, tc.gid
			if wantUID < 0 {
				wantUID = os.Geteuid()
			}
			if wantGID < 0 {
				wantGID = os.Getegid()
			}
			path := writeExisting(t, t.TempDir(), "config", existingKubeconfig)
			if err := os.Chown(path, wantUID, wantGID); err != nil {
				t.Fatal(err)
			}
			// A chown that fails loudly: a file of root's must not need one,
			// and where one is needed the case below fails with the warning.
			var chownErr error
			if tc.uid < 0 && tc.gid < 0 {
				chownErr = syscall.EPERM
			}
			var got warnings
			if _, err := merge(explicit(path), testConfig(t), MergeOptions{Warnf: got.warnf}, failingCreate(1, failingFile{room: -1, chownErr: chownErr}, nil)); err != nil {
				t.Fatal(err)
			}
			got.expect(t, "", path)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if int(st.Uid) != wantUID || int(st.Gid) != wantGID {
				t.Errorf("owner %d:%d, want %d:%d", st.Uid, st.Gid, wantUID, wantGID)
			}
		})
	}
}
