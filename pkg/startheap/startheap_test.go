package startheap

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// gogc reads GOGC as the runtime has it, without changing it.
func gogc(t *testing.T) int {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatalf("%s is not supported by this runtime", s[0].Name)
	}
	return int(s[0].Value.Uint64())
}

// keepGOGC puts the test binary's GOGC back when the test ends.
func keepGOGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	debug.SetGCPercent(prev)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
}

func TestSetHoldsUntilTheFirstCollection(t *testing.T) {
	keepGOGC(t)
	t.Setenv("GOGC", "")
	debug.SetGCPercent(100)
	Set(Percent)
	if got := gogc(t); got != Percent {
		t.Fatalf("GOGC = %d after Set(%d), want %d", got, Percent, Percent)
	}
	runtime.GC()
	deadline := time.Now().Add(10 * time.Second)
	for gogc(t) != 100 {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC = %d 10s after the first collection, want 100 again", gogc(t))
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSetLeavesTheEnvironmentsGOGC(t *testing.T) {
	keepGOGC(t)
	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150) // as the runtime read it at start-up
	Set(Percent)
	if got := gogc(t); got != 150 {
		t.Errorf("GOGC = %d after Set with GOGC=150 in the environment, want 150", got)
	}
}
