package kubeconfig

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// existingKubeconfig is a kubeconfig with several contexts, relative paths,
// preferences and extensions, as a user's own might be.
const existingKubeconfig = `apiVersion: v1
kind: Config
preferences:
  colors: true
clusters:
- name: prod
  cluster:
    server: https://prod.example.com
    certificate-authority: certs/prod-ca.crt
- name: dev
  cluster:
    server: https://dev.example.com:6443
    insecure-skip-tls-verify: true
    proxy-url: http://proxy.example.com:3128
users:
- name: alice
  user:
    client-certificate: certs/alice.crt
    client-key: certs/alice.key
- name: robot
  user:
    token: robot-token
- name: sso
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: kubelogin
      args: [get-token]
      interactiveMode: Never
contexts:
- name: prod
  context:
    cluster: prod
    user: alice
    namespace: web
- name: dev
  context:
    cluster: dev
    user: robot
- name: dev-sso
  context:
    cluster: dev
    user: sso
    namespace: team
    extensions:
    - name: note
      extension:
        owner: team
current-context: prod
`

// writeExisting writes existingKubeconfig (or content) to dir/name.
func writeExisting(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadFile loads path as written, without resolving paths, and drops
// LocationOfOrigin so configurations of different files compare.
func loadFile(t *testing.T, path string) *clientcmdapi.Config {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	return cfg
}

var ignoreOrigin = cmp.Options{
	cmpopts.EquateEmpty(),
	cmpopts.IgnoreFields(clientcmdapi.Cluster{}, "LocationOfOrigin"),
	cmpopts.IgnoreFields(clientcmdapi.AuthInfo{}, "LocationOfOrigin"),
	cmpopts.IgnoreFields(clientcmdapi.Context{}, "LocationOfOrigin"),
}

func explicit(path string) clientcmd.ConfigAccess {
	return &clientcmd.ClientConfigLoadingRules{ExplicitPath: path}
}

func TestMergeKeepsEveryOtherEntry(t *testing.T) {
	for _, setCurrent := range []bool{false, true} {
		dir := t.TempDir()
		path := writeExisting(t, dir, "config", existingKubeconfig)
		before := loadFile(t, path)
		add := testConfig(t)

		dest, err := Merge(explicit(path), add, MergeOptions{SetCurrent: setCurrent})
		if err != nil {
			t.Fatal(err)
		}
		if dest != path {
			t.Errorf("Merge wrote to %s, want %s", dest, path)
		}
		after := loadFile(t, path)
		want := before.DeepCopy()
		const name = "build:ci@prod"
		want.Clusters[name] = add.Clusters[name]
		want.AuthInfos[name] = add.AuthInfos[name]
		want.Contexts[name] = add.Contexts[name]
		if setCurrent {
			want.CurrentContext = name
		}
		if diff := cmp.Diff(want, after, ignoreOrigin); diff != "" {
			t.Errorf("setCurrent=%v: kubeconfig after Merge (-want +got):\n%s", setCurrent, diff)
		}
		// Relative paths stay relative: the file was not rewritten with
		// paths resolved against the working directory.
		if got := after.Clusters["prod"].CertificateAuthority; got != "certs/prod-ca.crt" {
			t.Errorf("certificate-authority of prod became %q", got)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", fi.Mode().Perm())
		}
		if diff := cmp.Diff([]string{"config"}, dirNames(t, dir)); diff != "" {
			t.Errorf("lock or temporary files left (-want +got):\n%s", diff)
		}
	}
}

func TestMergeIntoNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new-config")
	if _, err := Merge(explicit(path), testConfig(t), MergeOptions{}); err != nil {
		t.Fatal(err)
	}
	got := loadFile(t, path)
	if got.Contexts["build:ci@prod"] == nil || got.CurrentContext != "" {
		t.Errorf("new kubeconfig: contexts %v, current %q; want the context, not current", got.Contexts, got.CurrentContext)
	}
}

// TestMergeCreatesOnlyItsDirectory: the directory of the file new entries
// go to is created, private; no directory is created for the other files
// of KUBECONFIG, which have nothing to lock.
func TestMergeCreatesOnlyItsDirectory(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "kube", "config")
	other := filepath.Join(dir, "elsewhere", "config")
	access := &clientcmd.ClientConfigLoadingRules{Precedence: []string{dest, other}}
	got, err := Merge(access, testConfig(t), MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got != dest {
		t.Errorf("Merge wrote to %s, want %s", got, dest)
	}
	if diff := cmp.Diff([]string{"kube"}, dirNames(t, dir)); diff != "" {
		t.Errorf("directories (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(filepath.Dir(dest)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the new directory: %v, %v; want mode 0700", fi.Mode().Perm(), err)
	}
	if diff := cmp.Diff([]string{"config"}, dirNames(t, filepath.Dir(dest))); diff != "" {
		t.Errorf("lock or temporary files left (-want +got):\n%s", diff)
	}
}

func TestMergeRefusesSameName(t *testing.T) {
	add := testConfig(t)
	const name = "build:ci@prod"
	cases := []struct{ kind, entry string }{
		{"cluster", "clusters:\n- name: " + name + "\n  cluster:\n    server: https://other\n"},
		{"user", "users:\n- name: " + name + "\n  user:\n    token: other\n"},
		{"context", "contexts:\n- name: " + name + "\n  context:\n    cluster: prod\n    user: alice\n"},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			dir := t.TempDir()
			content := "apiVersion: v1\nkind: Config\n" + tc.entry
			path := writeExisting(t, dir, "config", content)

			if _, err := CheckMerge(explicit(path), name, false); !errors.Is(err, ErrExists) {
				t.Errorf("CheckMerge = %v, want ErrExists", err)
			}
			_, err := Merge(explicit(path), add, MergeOptions{})
			if !errors.Is(err, ErrExists) {
				t.Fatalf("Merge = %v, want ErrExists", err)
			}
			for _, w := range []string{tc.kind + " named", name, "--force", "--context-name", path} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			assertNoToken(t, err)
			if got := mustRead(t, path); string(got) != content {
				t.Errorf("the kubeconfig changed:\n%s", got)
			}

			if _, err := Merge(explicit(path), add, MergeOptions{Force: true}); err != nil {
				t.Fatalf("Merge with Force: %v", err)
			}
			after := loadFile(t, path)
			if diff := cmp.Diff(add.Clusters[name], after.Clusters[name], ignoreOrigin); diff != "" {
				t.Errorf("cluster after Force (-want +got):\n%s", diff)
			}
			if after.AuthInfos[name].Token != testToken || after.Contexts[name].Cluster != name {
				t.Error("Force did not replace the entries")
			}
		})
	}
}

// TestMergeSeveralFiles follows KUBECONFIG=a:b: new entries go to the first
// existing file, a replaced entry stays in the file it came from, and the
// other file is not touched.
func TestMergeSeveralFiles(t *testing.T) {
	add := testConfig(t)
	const name = "build:ci@prod"

	t.Run("first file missing", func(t *testing.T) {
		dir := t.TempDir()
		a := filepath.Join(dir, "a")
		b := writeExisting(t, dir, "b", existingKubeconfig)
		access := &clientcmd.ClientConfigLoadingRules{Precedence: []string{a, b}}
		dest, err := Merge(access, add, MergeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if dest != b {
			t.Errorf("new entries went to %s, want %s, the first existing file", dest, b)
		}
		if _, err := os.Stat(a); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was created", a)
		}
	})

	t.Run("both exist", func(t *testing.T) {
		dir := t.TempDir()
		a := writeExisting(t, dir, "a", "apiVersion: v1\nkind: Config\ncurrent-context: prod\n")
		bContent := existingKubeconfig
		b := writeExisting(t, dir, "b", bContent)
		access := &clientcmd.ClientConfigLoadingRules{Precedence: []string{a, b}}
		if _, err := Merge(access, add, MergeOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := mustRead(t, b); string(got) != bContent {
			t.Errorf("%s changed", b)
		}
		if loadFile(t, a).Contexts[name] == nil {
			t.Errorf("the context is not in %s", a)
		}
	})

	t.Run("replaced entry stays in its file", func(t *testing.T) {
		dir := t.TempDir()
		aContent := "apiVersion: v1\nkind: Config\ncurrent-context: prod\n"
		a := writeExisting(t, dir, "a", aContent)
		b := writeExisting(t, dir, "b", strings.Replace(existingKubeconfig, "contexts:\n", "contexts:\n- name: "+name+"\n  context:\n    cluster: prod\n    user: alice\n", 1))
		access := &clientcmd.ClientConfigLoadingRules{Precedence: []string{a, b}}
		if _, err := Merge(access, add, MergeOptions{}); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), b) {
			t.Fatalf("Merge = %v, want ErrExists naming %s", err, b)
		}
		if _, err := Merge(access, add, MergeOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
		if got := loadFile(t, b).Contexts[name]; got == nil || got.Cluster != name {
			t.Errorf("the context in %s was not replaced: %+v", b, got)
		}
		if got := loadFile(t, a); got.Contexts[name] != nil {
			t.Errorf("the replaced context was duplicated into %s", a)
		}
	})
}

func TestMergeStaleLock(t *testing.T) {
	dir := t.TempDir()
	path := writeExisting(t, dir, "config", existingKubeconfig)
	lock := writeExisting(t, dir, "config.lock", "")
	for _, check := range []func() error{
		func() error { _, err := CheckMerge(explicit(path), "n", false); return err },
		func() error { _, err := Merge(explicit(path), testConfig(t), MergeOptions{Force: true}); return err },
	} {
		err := check()
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("err = %v, want ErrLocked", err)
		}
		if !strings.Contains(err.Error(), "remove "+lock) {
			t.Errorf("error %q does not say to remove %s", err, lock)
		}
		assertNoToken(t, err)
	}
	if got := mustRead(t, path); string(got) != existingKubeconfig {
		t.Error("the kubeconfig changed")
	}
	if _, err := os.Stat(lock); err != nil {
		t.Error("the lock file was removed: only the user may decide it is stale")
	}

	// A lock file of any file of KUBECONFIG blocks, as ModifyConfig locks
	// them all.
	other := writeExisting(t, dir, "other", existingKubeconfig)
	writeExisting(t, dir, "other.lock", "")
	fresh := writeExisting(t, t.TempDir(), "config", existingKubeconfig)
	access := &clientcmd.ClientConfigLoadingRules{Precedence: []string{fresh, other}}
	if _, err := Merge(access, testConfig(t), MergeOptions{}); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), other+".lock") {
		t.Errorf("Merge = %v, want ErrLocked naming %s.lock", err, other)
	}
}

func TestMergeRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := writeExisting(t, dir, "real-config", existingKubeconfig)
	link := filepath.Join(dir, "config")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	_, err := Merge(explicit(link), testConfig(t), MergeOptions{Force: true})
	if !errors.Is(err, ErrSymlink) {
		t.Fatalf("Merge = %v, want ErrSymlink", err)
	}
	if !strings.Contains(err.Error(), "--kubeconfig="+target) {
		t.Errorf("error %q does not suggest --kubeconfig=%s", err, target)
	}
	assertNoToken(t, err)
	if _, err := CheckMerge(explicit(link), "n", false); !errors.Is(err, ErrSymlink) {
		t.Errorf("CheckMerge = %v, want ErrSymlink", err)
	}
	if got := mustRead(t, target); !bytes.Equal(got, []byte(existingKubeconfig)) {
		t.Error("the link's target changed")
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the link was replaced")
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	_, err = Merge(explicit(dangling), testConfig(t), MergeOptions{})
	if want := "the kubeconfig " + dangling + " is a symbolic link to " + filepath.Join(dir, "nowhere") + ", which cannot be resolved (no such file or directory): --merge does not write through links"; err == nil || err.Error() != want || !errors.Is(err, ErrSymlink) {
		t.Errorf("Merge into a dangling link = %v, want %q", err, want)
	}
	// Following the advice works.
	if _, err := Merge(explicit(target), testConfig(t), MergeOptions{}); err != nil {
		t.Errorf("Merge into the link's target: %v", err)
	}
}

func TestMergeBadInput(t *testing.T) {
	dir := t.TempDir()
	broken := writeExisting(t, dir, "broken", "clusters: [this is not: a kubeconfig")
	cases := []struct {
		name   string
		access clientcmd.ConfigAccess
		add    *clientcmdapi.Config
		want   string
	}{
		{"unparsable kubeconfig", explicit(broken), testConfig(t), "reading the kubeconfig " + broken},
		{"nothing to merge", explicit(filepath.Join(dir, "x")), clientcmdapi.NewConfig(), "nothing to merge"},
		{"bad name", explicit(filepath.Join(dir, "x")), func() *clientcmdapi.Config {
			c := testConfig(t)
			c.Contexts["bad\tname"] = c.Contexts["build:ci@prod"]
			return c
		}(), "control character"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Merge(tc.access, tc.add, MergeOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Merge = %v, want an error containing %q", err, tc.want)
			}
			assertNoToken(t, err)
		})
	}
	if got := mustRead(t, broken); string(got) != "clusters: [this is not: a kubeconfig" {
		t.Error("the unparsable kubeconfig changed")
	}
}

// TestCheckMergeUnwritable: a kubeconfig that cannot be locked or written
// is reported before a token is obtained, and nothing is left behind.
func TestCheckMergeUnwritable(t *testing.T) {
	t.Run("read-only file", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores file permissions")
		}
		dir := t.TempDir()
		path := writeExisting(t, dir, "config", existingKubeconfig)
		if err := os.Chmod(path, 0o400); err != nil {
			t.Fatal(err)
		}
		if _, err := CheckMerge(explicit(path), "n", false); err == nil || !strings.Contains(err.Error(), "cannot write the kubeconfig "+path+": permission denied") {
			t.Fatalf("CheckMerge = %v, want permission denied", err)
		}
	})
	t.Run("read-only directory", func(t *testing.T) {
		path := "/sys/kubeconfig"
		if os.Geteuid() != 0 {
			dir := t.TempDir()
			path = writeExisting(t, dir, "config", existingKubeconfig)
			if err := os.Chmod(dir, 0o500); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		} else if _, err := os.Stat("/sys/kernel"); err != nil {
			t.Skip("root can write any directory, and there is no sysfs here")
		}
		_, err := CheckMerge(explicit(path), "n", false)
		if err == nil || !strings.Contains(err.Error(), "cannot create its lock file "+path+".lock: permission denied") {
			t.Fatalf("CheckMerge = %v, want the lock file refused", err)
		}
	})
	t.Run("writable", func(t *testing.T) {
		dir := t.TempDir()
		path := writeExisting(t, dir, "config", existingKubeconfig)
		dest, err := CheckMerge(explicit(path), "n", false)
		if err != nil || dest != path {
			t.Fatalf("CheckMerge = %q, %v; want %q", dest, err, path)
		}
		if diff := cmp.Diff([]string{"config"}, dirNames(t, dir)); diff != "" {
			t.Errorf("the probe left files behind (-want +got):\n%s", diff)
		}
		if got := mustRead(t, path); string(got) != existingKubeconfig {
			t.Error("the probe changed the kubeconfig")
		}
	})
	t.Run("directory to be created", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "new", "config")
		if _, err := CheckMerge(explicit(path), "n", false); err != nil {
			t.Fatalf("CheckMerge = %v, want nil: Merge creates the directory", err)
		}
		if names := dirNames(t, dir); len(names) != 0 {
			t.Errorf("CheckMerge created %v", names)
		}
	})
}
