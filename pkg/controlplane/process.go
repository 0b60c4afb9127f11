package controlplane

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// stopGrace is how long a process may take to exit after SIGTERM before it
// is killed.
const stopGrace = 10 * time.Second

// process is one running control plane binary.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	out     *lineWriter   // copy of the output for Options.Log; nil when discarded
	done    chan struct{} // closed once the process has exited and been reaped
	waitErr error         // the result of cmd.Wait; read only after done is closed
	// reported is set once exitError has described an unexpected exit, so
	// that stop does not report it again.
	reported atomic.Bool

	stopOnce sync.Once
	stopErr  error
}

// startProcess starts binary with args, its output appended to logPath and,
// when log is non-nil, copied there line by line prefixed with [name].
// logMu serialises writes to log across processes.
func startProcess(name, binary string, args []string, logPath string, log io.Writer, logMu *sync.Mutex) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	p := &process{name: name, logPath: logPath, done: make(chan struct{})}
	cmd := exec.Command(binary, args...)
	cmd.SysProcAttr = sysProcAttr()
	if log == nil {
		cmd.Stdout, cmd.Stderr = logFile, logFile
	} else {
		p.out = &lineWriter{mu: logMu, w: log, prefix: "[" + name + "] "}
		w := io.MultiWriter(logFile, p.out)
		cmd.Stdout, cmd.Stderr = w, w // the same writer: one copying goroutine
	}
	p.cmd = cmd
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		if p.out != nil {
			p.out.flush()
		}
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// pid returns the process id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop terminates the process group with SIGTERM, then SIGKILL after
// stopGrace, and waits for the process to be reaped. It is idempotent. It
// returns an error if the process could not be stopped, or had already
// exited on its own with a failure that exitError did not report.
func (p *process) stop() error {
	p.stopOnce.Do(func() { p.stopErr = p.doStop() })
	return p.stopErr
}

func (p *process) doStop() error {
	if p.exited() {
		if p.waitErr != nil && !p.reported.Load() {
			return fmt.Errorf("%s had exited on its own: %v%s", p.name, p.waitErr, p.logTail())
		}
		return nil
	}
	if err := terminate(p.cmd.Process); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stopping %s (pid %d): %w", p.name, p.pid(), err)
	}
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
	}
	if err := kill(p.cmd.Process); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing %s (pid %d): %w", p.name, p.pid(), err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(stopGrace):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, p.pid())
	}
}

// exitError describes a process that exited before it was stopped, with the
// end of its log.
func (p *process) exitError() error {
	p.reported.Store(true)
	return fmt.Errorf("%s exited unexpectedly: %v%s", p.name, p.waitErr, p.logTail())
}

// logContains reports whether the log file contains s.
func (p *process) logContains(s string) bool {
	data, err := os.ReadFile(p.logPath)
	return err == nil && bytes.Contains(data, []byte(s))
}

// logTail returns the last lines of the log, formatted to be appended to an
// error message, or "" when there is nothing to show.
func (p *process) logTail() string {
	const maxLines, maxBytes = 25, 6000
	data, err := os.ReadFile(p.logPath)
	if err != nil || len(bytes.TrimSpace(data)) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	tail := strings.Join(lines, "\n")
	if len(tail) > maxBytes {
		tail = "..." + tail[len(tail)-maxBytes:]
	}
	return fmt.Sprintf("\nlast lines of %s:\n%s", p.logPath, tail)
}

// lineWriter writes complete lines to w, each prefixed, holding mu while
// writing so lines from several processes do not interleave.
type lineWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

// Write buffers p and writes out every complete line. Errors of the
// underlying writer are ignored so a failing log never blocks a process.
func (l *lineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	i := bytes.LastIndexByte(l.buf, '\n')
	if i < 0 {
		return len(p), nil
	}
	l.emit(l.buf[:i+1])
	l.buf = append(l.buf[:0], l.buf[i+1:]...)
	return len(p), nil
}

// flush writes out a trailing partial line.
func (l *lineWriter) flush() {
	if len(l.buf) > 0 {
		l.emit(append(l.buf, '\n'))
		l.buf = nil
	}
}

func (l *lineWriter) emit(lines []byte) {
	var out bytes.Buffer
	for line := range bytes.Lines(lines) {
		out.WriteString(l.prefix)
		out.Write(line)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(out.Bytes())
}
