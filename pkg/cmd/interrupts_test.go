package cmd

import (
	"context"
	"syscall"
	"testing"
	"time"
)

func TestCatchInterruptsCancelsTheRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := &interrupts{cancel: cancel, done: ctx.Done()}
	defer in.release()
	catchInterrupts(context.WithValue(ctx, interruptsKey{}, in))
	catchInterrupts(context.WithValue(ctx, interruptsKey{}, in)) // once
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGHUP did not cancel the run")
	}
	if got := in.caught(); got != syscall.SIGHUP {
		t.Errorf("caught %v, want SIGHUP", got)
	}
}

func TestInterruptsNotCaughtUntilACommandRuns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := &interrupts{cancel: cancel, done: ctx.Done()}
	catchInterrupts(ctx) // a context Execute did not make: nothing to catch
	in.release()
	catchInterrupts(context.WithValue(ctx, interruptsKey{}, in)) // after release: too late
	if in.signals != nil {
		t.Error("signal handlers were installed for a run that started no command, or after release")
	}
	if ctx.Err() != nil || in.caught() != nil {
		t.Error("the run was cancelled without a signal")
	}
}
