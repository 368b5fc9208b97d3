package worker

import (
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dedicatedLoops counts the dedicated (not Shared) worker loops running in
// the process, for pollSleep.
var dedicatedLoops atomic.Int32

// pollSleep waits in ppoll(2) on fds for at most d and returns the number
// of descriptors ready (0 on timeout or when a signal ended the wait).
//
// A dedicated worker's thread holds its P whether it polls or sleeps, so
// while the process keeps a P spare for every other goroutine (the daemon
// sets GOMAXPROCS to the dedicated workers plus one), the sleep is a raw
// system call that the Go scheduler does not see: no entersyscall and
// exitsyscall, and above all no P in a system call for sysmon to watch.
// Through the scheduler's call a busy worker kept sysmon in its 20 µs
// polling mode (a P found in a system call at a time-slice preemption
// counts as retaken, which resets sysmon's back-off), and on a worker
// pinned to one CPU with its process (taskset) every sysmon wake-up is
// two context switches of the worker's CPU (BENCHMARKS.md 6g). The
// runtime's preemption signal still interrupts a raw sleep (ppoll is never
// restarted after a signal handler), so a stop-the-world does not wait for
// it (with GODEBUG=asyncpreemptoff=1, at most d). Without a spare P the sleep goes
// through the scheduler, which hands the P to other goroutines while the
// worker sleeps.
func pollSleep(fds []unix.PollFd, d time.Duration) int {
	if int(dedicatedLoops.Load()) < runtime.GOMAXPROCS(0) {
		ts := unix.NsecToTimespec(int64(d))
		r, _, e := unix.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), uintptr(len(fds)),
			uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		if e != 0 {
			return 0
		}
		return int(r)
	}
	n, err := unix.Poll(fds, int(d/time.Millisecond))
	if err != nil {
		return 0
	}
	return n
}
