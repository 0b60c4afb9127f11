//go:build !linux

package controlplane

import (
	"os"
	"syscall"
)

// sysProcAttr returns nil: process groups and the parent-death signal are
// only set up on Linux, the platform the tests run on.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// terminate asks p to exit, or kills it where signals are not supported.
func terminate(p *os.Process) error {
	if err := p.Signal(syscall.SIGTERM); err != nil && err != os.ErrProcessDone {
		return p.Kill()
	}
	return nil
}

// kill kills p.
func kill(p *os.Process) error { return p.Kill() }
