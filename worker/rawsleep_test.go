package worker

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/vecnet/vecnet/pkt"

	"golang.org/x/sys/unix"
)

// threadSwitches returns the times each of the process's threads was
// switched in (the third field of /proc/self/task/TID/schedstat), by TID.
func threadSwitches(t *testing.T) map[int]uint64 {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]uint64{}
	for _, e := range ents {
		b, err := os.ReadFile("/proc/self/task/" + e.Name() + "/schedstat")
		if err != nil {
			continue // the thread exited
		}
		f := strings.Fields(string(b))
		tid, _ := strconv.Atoi(e.Name())
		if len(f) == 3 {
			m[tid], _ = strconv.ParseUint(f[2], 10, 64)
		}
	}
	return m
}

// ringPort is a port shaped like AF_XDP's: Recv reads a counter the
// traffic raises (a ring's producer index) and makes no system call unless
// there is something, and then a raw one (draining the eventfd the worker
// sleeps on, as the AF_XDP port's kick is raw).
type ringPort struct {
	*eventPort
	pending atomic.Uint32
}

func (p *ringPort) Recv(c *pkt.Cache, v *pkt.Vector) int {
	n := int(p.pending.Swap(0))
	if n == 0 {
		return 0
	}
	var b [8]byte
	_, _, _ = unix.RawSyscall(unix.SYS_READ, uintptr(p.fd), uintptr(unsafe.Pointer(&b[0])), 8)
	k := c.AllocN(v.Idx[v.Len : v.Len+min(n, v.Free())])
	v.Len += k
	return k
}

// TestDedicatedWorkerLeavesSysmonAlone: a dedicated worker that sleeps
// between packets, as one under request-response traffic does, does not
// keep the Go runtime's sysmon thread polling. Through the scheduler's
// system call, the time-slice preemption of the worker (it never yields)
// found its P in a system call and counted a retake, which resets
// sysmon's back-off to 20 µs sleeps: thousands of wake-ups a second, each
// two context switches of the worker's CPU when the process is pinned to
// one. The raw sleep (pollSleep) keeps the P out of the scheduler's sight.
func TestDedicatedWorkerLeavesSysmonAlone(t *testing.T) {
	// The worker's P, the traffic's and the daemon's spare one.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	port := &ringPort{eventPort: newEventPort(t)}
	w, _ := newWorkerOn(t, port, &port.got)
	w.Start()
	waitFor(t, "the idle worker to sleep", func() bool { return w.State() == Sleeping })
	var workerTID int
	if err := w.Do(func() { workerTID = unix.Gettid() }); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan int)
	// Traffic: a packet every millisecond, the worker sleeping between them.
	// Its system calls are raw too: a goroutine of its own that the
	// scheduler saw in a system call at each of its time-slice preemptions
	// would keep sysmon polling as well.
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid := unix.Gettid()
		ts := unix.NsecToTimespec(int64(time.Millisecond))
		for {
			select {
			case <-stop:
				done <- tid
				return
			default:
			}
			port.pending.Add(1)
			b := [8]byte{1}
			_, _, _ = unix.RawSyscall(unix.SYS_WRITE, uintptr(port.fd), uintptr(unsafe.Pointer(&b[0])), 8)
			// The traffic's pace, not a synchronisation.
			_, _, _ = unix.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
		}
	}()
	before := threadSwitches(t)
	t0 := time.Now()
	time.Sleep(time.Second) // measuring over a window, not synchronising
	after := threadSwitches(t)
	el := time.Since(t0)
	close(stop)
	trafficTID := <-done
	var others uint64
	for tid, n := range after {
		if tid == workerTID || tid == trafficTID {
			continue
		}
		others += n - before[tid]
	}
	rate := float64(others) / el.Seconds()
	st := stats(t, w)
	t.Logf("other threads: %.0f switches/s; worker: %d loops, %d sleeps (%d woken), %d packets", rate, st.Loops, st.Sleeps, st.Wakeups, st.Packets)
	if st.Wakeups < 100 {
		t.Fatalf("the worker was woken %d times: the test did not make it sleep between packets", st.Wakeups)
	}
	// sysmon backing off sleeps up to 10 ms (100 wake-ups a second); the
	// test's own goroutines (this one's sleep, the GC) add a few.
	if rate > 1000 {
		t.Fatalf("the process's other threads were switched in %.0f times a second (sysmon polling)", rate)
	}
}
