package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// recorder is a testing.TB that records failures instead of failing, so
// that a test can pin what the harness reports. Fatal ends the goroutine
// that record runs the check in, as it ends a test.
type recorder struct {
	testing.TB
	failures []string
	fatal    bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.fatal = true
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

// record runs check with a recorder and returns it once check is done.
func record(t *testing.T, check func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(r)
	}()
	<-done
	return r
}

// sh is a command running script in /bin/sh.
func sh(tb testing.TB, script string) *Cmd { return Command(tb, "/bin/sh", "-c", script) }

func TestRunCapturesOutputAndExitCode(t *testing.T) {
	res := sh(t, "echo out; echo err >&2; exit 3").Run()
	if diff := cmp.Diff(Result{Stdout: "out\n", Stderr: "err\n", Code: 3}, res, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Elapsed" }, cmp.Ignore())); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if res.Elapsed <= 0 {
		t.Errorf("elapsed %s", res.Elapsed)
	}
}

func TestEnvironmentIsOnlyWhatTheTestGives(t *testing.T) {
	home := t.TempDir()
	res := Command(t, "/usr/bin/env").WithPath("/a", "/b").WithHome(home).WithKubeconfig("/k").
		WithEnv("EXTRA=1", "KUBECONFIG=/x:/y").RunOK()
	got := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	slices.Sort(got)
	want := []string{"EXTRA=1", "HOME=" + home, "KUBECACHEDIR=" + filepath.Join(home, "cache"), "KUBECONFIG=/x:/y", "PATH=/a:/b"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
}

func TestEveryRunHasAFreshHome(t *testing.T) {
	cmd := Command(t, "/bin/sh", "-c", `test -z "$(ls -A "$HOME")" && touch "$HOME/used" && echo "$HOME"`)
	first, second := cmd.RunOK().Stdout, cmd.RunOK().Stdout
	if first == second {
		t.Errorf("two runs shared the home %s", first)
	}
}

func TestStdinAndDir(t *testing.T) {
	cmd := Command(t, "/bin/sh", "-c", "pwd; cat").WithStdin("line\n").WithDir("/")
	for range 2 { // every run reads the whole of stdin
		if res := cmd.RunOK(); res.Stdout != "/\nline\n" {
			t.Errorf("stdout %q, want the directory and stdin", res.Stdout)
		}
	}
	if res := sh(t, "cat").RunOK(); res.Stdout != "" {
		t.Errorf("without WithStdin the command read %q", res.Stdout)
	}
}

func TestNameIsLookedUpInTheCommandsPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello"), []byte("#!/bin/sh\necho hello from $0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if res := Command(t, "hello").WithPath(t.TempDir(), dir).RunOK(); res.Stdout != "hello from "+filepath.Join(dir, "hello")+"\n" {
		t.Errorf("stdout %q", res.Stdout)
	}
	r := record(t, func(tb testing.TB) { Command(tb, "sh").WithPath(dir).Run() })
	if want := []string{`running sh: sh is not in the command's PATH "` + dir + `"`}; !r.fatal || !cmp.Equal(want, r.failures) {
		t.Errorf("a name not in the command's PATH (found in the test's): failures %q, want %q", r.failures, want)
	}
}

// TestAssertions pins what each way to run reports: the refusal contract
// and the others are written once here and hold for every suite.
func TestAssertions(t *testing.T) {
	cases := []struct {
		name   string
		run    func(c *Cmd) Result
		script string
		want   []string
		fatal  bool
	}{
		{"RunOK passes exit 0", (*Cmd).RunOK, "echo hi", nil, false},
		{"RunOK fails any other exit", (*Cmd).RunOK, "echo hi; echo no >&2; exit 1", []string{"sh -c echo hi; echo no >&2; exit 1: exit 1\nstdout:\nhi\n\nstderr:\nno\n"}, true},
		{"ExpectExit passes the code and every substring", func(c *Cmd) Result { return c.ExpectExit(2, "bad", "flag") }, "echo bad flag >&2; exit 2", nil, false},
		{"ExpectExit fails another code", func(c *Cmd) Result { return c.ExpectExit(2) }, "exit 0", []string{"sh -c exit 0: exit 0, want 2\nstdout:\n\nstderr:\n"}, true},
		{"ExpectExit looks on stderr only", func(c *Cmd) Result { return c.ExpectExit(2, "flag") }, "echo flag; exit 2", []string{"sh -c echo flag; exit 2: stderr does not contain \"flag\":\n"}, false},
		{"ExpectRefusal passes one error line", func(c *Cmd) Result { return c.ExpectRefusal(2, "--duration") }, "echo 'error: --duration must be' >&2; exit 2", nil, false},
		{"ExpectRefusal wants the error prefix", func(c *Cmd) Result { return c.ExpectRefusal(2, "--duration") }, "echo '--duration must be' >&2; exit 2", []string{"sh -c echo '--duration must be' >&2; exit 2: stderr does not contain \"error: \":\n--duration must be\n", "0 error lines, want exactly one:\n--duration must be\n"}, false},
		{"ExpectRefusal wants stdout empty", func(c *Cmd) Result { return c.ExpectRefusal(1) }, "echo partial; echo 'error: no' >&2; exit 1", []string{`stdout is not empty: "partial\n"`}, false},
		{"ExpectRefusal wants exactly one error line", func(c *Cmd) Result { return c.ExpectRefusal(1) }, "echo 'error: a' >&2; echo 'error: b' >&2; exit 1", []string{"2 error lines, want exactly one:\nerror: a\nerror: b\n"}, false},
		{"ExpectRefusal wants the code first", func(c *Cmd) Result { return c.ExpectRefusal(1) }, "echo out; exit 0", []string{"sh -c echo out; exit 0: exit 0, want 1\nstdout:\nout\n\nstderr:\n"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := record(t, func(tb testing.TB) { tc.run(sh(tb, tc.script)) })
			if diff := cmp.Diff(tc.want, r.failures); diff != "" {
				t.Errorf("failures (-want +got):\n%s", diff)
			}
			if r.fatal != tc.fatal {
				t.Errorf("fatal = %t, want %t", r.fatal, tc.fatal)
			}
		})
	}
}

func TestTimeoutFailsTheTest(t *testing.T) {
	start := time.Now()
	r := record(t, func(tb testing.TB) {
		sh(tb, "echo waiting >&2; exec sleep 30").WithTimeout(200 * time.Millisecond).Run()
	})
	if want := []string{"sh -c echo waiting >&2; exec sleep 30 did not finish within 200ms\nstderr:\nwaiting\n"}; !r.fatal || !cmp.Equal(want, r.failures) {
		t.Errorf("failures %q, want %q", r.failures, want)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the timeout took %s to end the command", took)
	}
}

func TestAssertNoSecretLeak(t *testing.T) {
	const secret = "s3cr3t-token"
	cases := []struct {
		name, text string
		want       []string
	}{
		{"clean text passes", "nothing to see", nil},
		{"the secret itself", "Authorization: Bearer " + secret, []string{"stderr contains the token"}},
		{"its base64 form", `"token": "czNjcjN0LXRva2Vu"`, []string{"stderr contains the base64 form of the token"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := record(t, func(tb testing.TB) { AssertNoSecretLeak(tb, "stderr", tc.text, secret) })
			if diff := cmp.Diff(tc.want, r.failures); diff != "" || r.fatal {
				t.Errorf("failures (-want +got):\n%s", diff)
			}
		})
	}
	if r := record(t, func(tb testing.TB) { AssertNoSecretLeak(tb, "stderr", "text", "") }); !r.fatal {
		t.Error("an empty secret, which every text contains, was not refused")
	}
}
