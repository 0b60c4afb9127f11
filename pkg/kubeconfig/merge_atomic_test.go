package kubeconfig

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// namedConfig is a small kubeconfig to merge, its cluster, user and context
// named name; the same name always gives the same entries.
func namedConfig(t testing.TB, name string) *clientcmdapi.Config {
	t.Helper()
	cred := testCred(nil)
	cred.Server = "https://" + strings.ReplaceAll(name, "-", ".") + ".example.com"
	cfg, err := Build(cred, Options{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// rivalEdit is another well-behaved writer, such as a future kubectl: under
// the lock clientcmd uses, it reads path, adds a context named name, and
// writes path back. It fails with fs.ErrExist when the lock is held.
func rivalEdit(path, name string) error {
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_EXCL, 0)
	if err != nil {
		return err
	}
	_ = lock.Close()
	defer os.Remove(path + ".lock")
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return err
	}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: "prod", AuthInfo: "alice"}
	return clientcmd.WriteToFile(*cfg, path)
}

// rivalAccess is a ConfigAccess whose every read of the kubeconfig first
// lets a rival try to edit it. Merge reads under the lock, so the rival
// must find the lock held each time; an edit it could make would be one
// Merge loses, as Merge writes what it read.
type rivalAccess struct {
	*clientcmd.ClientConfigLoadingRules
	rivalErrs []error
}

func (a *rivalAccess) GetStartingConfig() (*clientcmdapi.Config, error) {
	a.rivalErrs = append(a.rivalErrs, rivalEdit(a.ExplicitPath, fmt.Sprintf("rival-%d", len(a.rivalErrs))))
	return a.ClientConfigLoadingRules.GetStartingConfig()
}

func contextNames(cfg *clientcmdapi.Config) []string { return keys(cfg.Contexts) }

func TestMergeReadsUnderLock(t *testing.T) {
	const name = "build:ci@prod"
	for _, tc := range []struct {
		name  string
		check func(access clientcmd.ConfigAccess) error
	}{
		{"Merge", func(access clientcmd.ConfigAccess) error {
			_, err := Merge(access, testConfig(t), MergeOptions{})
			return err
		}},
		{"CheckMerge", func(access clientcmd.ConfigAccess) error {
			_, err := CheckMerge(access, name, false)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeExisting(t, dir, "config", existingKubeconfig)
			access := &rivalAccess{ClientConfigLoadingRules: &clientcmd.ClientConfigLoadingRules{ExplicitPath: path}}
			if err := tc.check(access); err != nil {
				t.Fatal(err)
			}
			if len(access.rivalErrs) == 0 {
				t.Fatal("the kubeconfig was never read")
			}
			for i, err := range access.rivalErrs {
				if !errors.Is(err, fs.ErrExist) {
					t.Errorf("read %d: the rival's edit = %v, want the lock held (file exists)", i, err)
				}
			}
			if diff := cmp.Diff([]string{"config"}, dirNames(t, dir)); diff != "" {
				t.Errorf("lock or temporary files left (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMergeKeepsEditMadeUnderLock: while another writer holds the lock,
// Merge and CheckMerge refuse and change nothing; once it is done, Merge
// keeps its edit.
func TestMergeKeepsEditMadeUnderLock(t *testing.T) {
	dir := t.TempDir()
	path := writeExisting(t, dir, "config", existingKubeconfig)
	lock := writeExisting(t, dir, "config.lock", "")
	if _, err := CheckMerge(explicit(path), "build:ci@prod", false); !errors.Is(err, ErrLocked) {
		t.Fatalf("CheckMerge with the lock held = %v, want ErrLocked", err)
	}
	if _, err := Merge(explicit(path), testConfig(t), MergeOptions{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("Merge with the lock held = %v, want ErrLocked", err)
	}
	if got := mustRead(t, path); string(got) != existingKubeconfig {
		t.Fatal("the kubeconfig changed while another writer held the lock")
	}
	// The other writer edits, then releases the lock.
	cfg := loadFile(t, path)
	cfg.Contexts["theirs"] = &clientcmdapi.Context{Cluster: "dev", AuthInfo: "sso"}
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	if _, err := Merge(explicit(path), testConfig(t), MergeOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"build:ci@prod", "dev", "dev-sso", "prod", "theirs"}
	if diff := cmp.Diff(want, contextNames(loadFile(t, path))); diff != "" {
		t.Errorf("contexts (-want +got):\n%s", diff)
	}
}

// TestMergeConcurrentWriters runs merges and a rival writer's edits at the
// same time, each retrying while the other holds the lock: no edit is lost.
func TestMergeConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	path := writeExisting(t, dir, "config", existingKubeconfig)
	const n = 8
	deadline := time.Now().Add(10 * time.Second)
	retry := func(do func() error) error {
		for {
			err := do()
			if !errors.Is(err, ErrLocked) && !errors.Is(err, fs.ErrExist) {
				return err
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("still locked after 10s: %w", err)
			}
			time.Sleep(time.Duration(rand.IntN(1000)) * time.Microsecond)
		}
	}
	var g errgroup.Group
	want := []string{"dev", "dev-sso", "prod"}
	for i := range n {
		ours, theirs := fmt.Sprintf("ours-%d", i), fmt.Sprintf("theirs-%d", i)
		want = append(want, ours, theirs)
		add := namedConfig(t, ours)
		g.Go(func() error {
			return retry(func() error {
				_, err := Merge(explicit(path), add, MergeOptions{})
				return err
			})
		})
		g.Go(func() error { return retry(func() error { return rivalEdit(path, theirs) }) })
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, contextNames(loadFile(t, path))); diff != "" {
		t.Errorf("contexts after concurrent edits (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"config"}, dirNames(t, dir)); diff != "" {
		t.Errorf("lock or temporary files left (-want +got):\n%s", diff)
	}
}

// failingFile is a temporary file that fails as a full or broken disk
// would.
type failingFile struct {
	*os.File
	// room is how many bytes Write takes before it fails with ENOSPC; -1
	// for no limit.
	room                        int
	syncErr, closeErr, chownErr error
}

func (f *failingFile) Write(p []byte) (int, error) {
	if f.room < 0 || len(p) <= f.room {
		return f.File.Write(p)
	}
	n, _ := f.File.Write(p[:f.room])
	f.room -= n
	return n, &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
}

func (f *failingFile) Sync() error {
	if f.syncErr != nil {
		return &fs.PathError{Op: "sync", Path: f.Name(), Err: f.syncErr}
	}
	return f.File.Sync()
}

func (f *failingFile) Close() error {
	err := f.File.Close()
	if f.closeErr != nil && err == nil {
		return &fs.PathError{Op: "close", Path: f.Name(), Err: f.closeErr}
	}
	return err
}

func (f *failingFile) Chown(uid, gid int) error {
	if f.chownErr != nil {
		return &fs.PathError{Op: "chown", Path: f.Name(), Err: f.chownErr}
	}
	return f.File.Chown(uid, gid)
}

// failingCreate returns a create function whose n-th temporary file (from
// 1) fails like proto; the others, and all when n is 0, work. With
// createErr set, the n-th cannot be created at all.
func failingCreate(n int, proto failingFile, createErr error) func(dir, pattern string) (tempFile, error) {
	calls := 0
	return func(dir, pattern string) (tempFile, error) {
		calls++
		if calls == n && createErr != nil {
			return nil, &fs.PathError{Op: "open", Path: filepath.Join(dir, pattern), Err: createErr}
		}
		f, err := os.CreateTemp(dir, pattern)
		if err != nil {
			return nil, err
		}
		if calls != n {
			return &failingFile{File: f, room: -1}, nil
		}
		ff := proto
		ff.File = f
		return &ff, nil
	}
}

// TestMergeTornWrite: whatever step of writing fails, the kubeconfig is
// byte for byte as it was, and no temporary or lock file is left.
func TestMergeTornWrite(t *testing.T) {
	cases := []struct {
		name      string
		file      failingFile
		createErr error
		want      string
	}{
		{"disk full before the first byte", failingFile{room: 0}, nil, "writing the kubeconfig %s: no space left on device"},
		{"disk full half way", failingFile{room: 700}, nil, "writing the kubeconfig %s: no space left on device"},
		{"fsync fails", failingFile{room: -1, syncErr: syscall.EIO}, nil, "writing the kubeconfig %s: input/output error"},
		{"close fails", failingFile{room: -1, closeErr: syscall.EIO}, nil, "writing the kubeconfig %s: input/output error"},
		{"temporary file not created", failingFile{}, syscall.ENOSPC, "cannot write the kubeconfig %s: no space left on device"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeExisting(t, dir, "config", existingKubeconfig)
			_, err := merge(explicit(path), testConfig(t), MergeOptions{SetCurrent: true}, failingCreate(1, tc.file, tc.createErr))
			if err == nil {
				t.Fatal("merge succeeded")
			}
			if diff := cmp.Diff(fmt.Sprintf(tc.want, path), err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			assertNoToken(t, err)
			if got := mustRead(t, path); string(got) != existingKubeconfig {
				t.Errorf("the kubeconfig changed:\n%s", got)
			}
			if diff := cmp.Diff([]string{"config"}, dirNames(t, dir)); diff != "" {
				t.Errorf("lock or temporary files left (-want +got):\n%s", diff)
			}
		})
	}

	// With KUBECONFIG=a:b, a replaced entry of b and new ones for a: every
	// temporary file exists before any file is replaced, so a failure to
	// create or to write the first leaves both files as they were.
	const name = "build:ci@prod"
	bContent := strings.Replace(existingKubeconfig, "contexts:\n", "contexts:\n- name: "+name+"\n  context:\n    cluster: prod\n    user: alice\n", 1)
	aContent := "apiVersion: v1\nkind: Config\ncurrent-context: prod\n"
	for _, tc := range []struct {
		name string
		n    int
		err  error
		file failingFile
	}{
		{"second temporary file not created", 2, syscall.ENOSPC, failingFile{}},
		{"first file fails to sync", 1, nil, failingFile{room: -1, syncErr: syscall.EIO}},
	} {
		t.Run("several files: "+tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a := writeExisting(t, dir, "a", aContent)
			b := writeExisting(t, dir, "b", bContent)
			access := &clientcmd.ClientConfigLoadingRules{Precedence: []string{a, b}}
			if _, err := merge(access, testConfig(t), MergeOptions{Force: true}, failingCreate(tc.n, tc.file, tc.err)); err == nil {
				t.Fatal("merge succeeded")
			}
			if got := mustRead(t, a); string(got) != aContent {
				t.Errorf("%s changed:\n%s", a, got)
			}
			if got := mustRead(t, b); string(got) != bContent {
				t.Errorf("%s changed:\n%s", b, got)
			}
			if diff := cmp.Diff([]string{"a", "b"}, dirNames(t, dir)); diff != "" {
				t.Errorf("lock or temporary files left (-want +got):\n%s", diff)
			}
		})
	}
}

// sigkillChildEnv tells the test binary, re-executed by
// TestMergeSurvivesSIGKILL, to be the child that merges until killed: its
// value is the kubeconfig, and sigkillRunEnv tells it which run it is.
const (
	sigkillChildEnv = "KUBECONFIG_TEST_SIGKILL_CHILD"
	sigkillRunEnv   = "KUBECONFIG_TEST_SIGKILL_RUN"
	sigkillMerges   = 50
	sigkillNames    = 10
)

// sigkillName names the entries the child of run merges at step j: a few
// names in turn, new ones in the first runs and then each merged again with
// Force, so that kills fall on adding and on replacing merges while the file
// stays small (parsing a kubeconfig takes time in proportion to its size).
func sigkillName(run, j int) string { return fmt.Sprintf("sa-%d", (run+j)%sigkillNames) }

// TestMergeSIGKILLChild is the child process of TestMergeSurvivesSIGKILL,
// and skips when run otherwise. It prints "ready" once it is about to
// merge.
func TestMergeSIGKILLChild(t *testing.T) {
	path := os.Getenv(sigkillChildEnv)
	if path == "" {
		t.Skip("the child process of TestMergeSurvivesSIGKILL")
	}
	run, err := strconv.Atoi(os.Getenv(sigkillRunEnv))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	for j := range sigkillMerges {
		if _, err := Merge(explicit(path), namedConfig(t, sigkillName(run, j)), MergeOptions{Force: true}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
	}
	os.Exit(0)
}

// TestMergeSurvivesSIGKILL kills a process merging in a loop at random
// points, 50 times: after each kill the kubeconfig parses, is mode 0600,
// and holds every entry it held before, unchanged, plus only entries the
// killed process merged, each complete.
func TestMergeSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary 50 times")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	dir := t.TempDir()
	path := writeExisting(t, dir, "config", existingKubeconfig)
	start := time.Now()
	var kills, completed, staleLocks int
	const runs = 50
	for run := range runs {
		if time.Since(start) > 20*time.Second {
			t.Logf("time budget spent after %d runs", run)
			break
		}
		before := loadFile(t, path)
		cmd := exec.Command(os.Args[0], "-test.run=^TestMergeSIGKILLChild$")
		cmd.Env = append(os.Environ(), sigkillChildEnv+"="+path, sigkillRunEnv+"="+strconv.Itoa(run))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if !bufio.NewScanner(stdout).Scan() {
			_ = cmd.Wait()
			t.Fatalf("run %d: the child did not start: %s", run, stderr.String())
		}
		// A merge takes milliseconds: a delay of up to 100ms ends the child
		// within one of its first merges, at any step of it.
		time.Sleep(time.Duration(rng.Int64N(int64(100 * time.Millisecond))))
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		switch code := cmd.ProcessState.ExitCode(); code {
		case -1:
			kills++
		case 0:
			completed++
		default:
			t.Fatalf("run %d: the child exited %d: %s", run, code, stderr.String())
		}
		// The user, told the lock file is stale, removes it.
		if err := os.Remove(path + ".lock"); err == nil {
			staleLocks++
		}

		after := loadFile(t, path)
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != fileMode {
			t.Fatalf("run %d: kubeconfig mode %v, %v; want 0600", run, fi.Mode().Perm(), err)
		}
		// want is before with the entries this run may have merged, where
		// after has them: one run's names always get the same entries.
		want := before.DeepCopy()
		for j := range sigkillNames {
			name := sigkillName(run, j)
			if after.Contexts[name] == nil {
				continue
			}
			add := namedConfig(t, name)
			want.Clusters[name], want.AuthInfos[name], want.Contexts[name] = add.Clusters[name], add.AuthInfos[name], add.Contexts[name]
		}
		if diff := cmp.Diff(want, after, ignoreOrigin); diff != "" {
			t.Fatalf("run %d: kubeconfig after the kill (-want +got):\n%s", run, diff)
		}
	}
	merged := len(loadFile(t, path).Contexts) - 3
	t.Logf("%d children killed, %d finished first, %d stale lock files removed, %d of %d names merged, in %s", kills, completed, staleLocks, merged, sigkillNames, time.Since(start).Round(time.Millisecond))
	if merged == 0 {
		t.Error("no merge completed before a kill: the test tested nothing")
	}
}
