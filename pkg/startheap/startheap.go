// Package startheap lets a short run end before its first garbage
// collection, and a long one collect as it always would.
//
// Most kubectl-access commands allocate 4 to 5 MiB in all, about half of it
// the package initialisation of client-go's scheme, and the Go runtime's
// first collection comes when the heap reaches 4 MiB. That one collection,
// which marks every object the initialisation built, costs a whoami or a
// token about a tenth of its time; it frees nothing the run would need again.
package startheap

import (
	"os"
	"runtime"
	"runtime/debug"
)

// Percent is GOGC until the first collection: the runtime's smallest heap
// goal is 4 MiB at GOGC=100 and grows with it, so 200 lets the heap reach
// 8 MiB before it is first collected.
const Percent = 200

// Set sets GOGC to percent until the first garbage collection ends, then
// back to 100, the default: after it, the heap's goal is twice what the run
// holds, as always, so a long run (whoami -A, audit) peaks no higher than
// before. With GOGC in the environment it does nothing: the user's choice
// stands.
func Set(percent int) {
	if os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(percent)
	// The sentinel is unreachable from the start, so the first collection
	// finds it garbage, and its cleanup runs once that collection is over.
	runtime.AddCleanup(new(sentinel), func(int) { debug.SetGCPercent(100) }, 0)
}

// sentinel is large enough to be allocated on its own, not in the tiny
// allocator's blocks, whose cleanups may never run.
type sentinel [64]byte
