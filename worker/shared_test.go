package worker

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
)

// TestSharedSleepsAndWakesOnTraffic: a Shared worker sleeps in the
// netpoller (no poll(2) fallback: SchedErr is nil) and a packet wakes it.
func TestSharedSleepsAndWakesOnTraffic(t *testing.T) {
	w, port, _ := newWorker(t)
	w.Shared = true
	w.Start()
	var err error
	var netpoll bool
	if e := w.Do(func() { err, netpoll = w.SchedErr(), w.ep != nil }); e != nil || err != nil || !netpoll {
		t.Fatalf("shared worker: Do %v, SchedErr %v, sleeping in the netpoller %v", e, err, netpoll)
	}
	for k := 1; k <= 3; k++ {
		waitFor(t, "the idle worker to sleep", func() bool { return w.State() == Sleeping })
		port.kick(t, 100)
		waitFor(t, "100 more packets through the graph", func() bool { return port.got.Load() == uint64(100*k) })
	}
	if st := stats(t, w); st.Packets != 300 || st.Sleeps < 3 || st.Wakeups < 3 {
		t.Fatalf("stats %+v: want 300 packets, at least 3 sleeps ended by a descriptor", st)
	}
}

// TestSharedKickWakes: every call (Do kicks the wake-up eventfd) ends the
// sleep through the eventfd, not the MaxSleep timeout: Wakeups counts only
// sleeps a descriptor ended.
func TestSharedKickWakes(t *testing.T) {
	w, _, _ := newWorker(t)
	w.Shared = true
	w.Start()
	const calls = 20
	before := stats(t, w).Wakeups
	for range calls {
		waitFor(t, "the idle worker to sleep", func() bool { return w.State() == Sleeping })
		if err := w.Do(func() {}); err != nil {
			t.Fatal(err)
		}
	}
	if got := stats(t, w).Wakeups - before; got < calls {
		t.Fatalf("%d calls to a sleeping worker, %d sleeps ended by a descriptor", calls, got)
	}
}

// TestSharedWaiterAddedAtRunTime: a waiter added on the worker (a port
// attached while it runs) joins the netpoller's epoll set, and leaves it
// when removed (before its port closes the descriptor).
func TestSharedWaiterAddedAtRunTime(t *testing.T) {
	w, _, _ := newWorker(t)
	w.Shared = true
	w.Start()
	extra := newEventPort(t)
	extra.kick(t, 1) // readable from now on: nothing reads it
	inSet := func() bool {
		var found bool
		if err := w.Do(func() {
			var evs [16]unix.EpollEvent
			n, _ := unix.EpollWait(w.ep.fd, evs[:], 0)
			for _, ev := range evs[:max(n, 0)] {
				found = found || int(ev.Fd) == extra.fd
			}
		}); err != nil {
			t.Fatal(err)
		}
		return found
	}
	if inSet() {
		t.Fatal("descriptor in the set before AddWaiter")
	}
	if err := w.Do(func() { w.AddWaiter(extra) }); err != nil {
		t.Fatal(err)
	}
	if !inSet() {
		t.Fatal("readable descriptor of a waiter added at run time not reported by the worker's epoll set")
	}
	if err := w.Do(func() { w.RemoveWaiter(extra) }); err != nil {
		t.Fatal(err)
	}
	if inSet() {
		t.Fatal("descriptor still in the set after RemoveWaiter")
	}
}

// TestSharedIdleUsesLittleCPU: an idle Shared worker parks in the
// netpoller; the whole process (its thread is not its own) stays near idle.
func TestSharedIdleUsesLittleCPU(t *testing.T) {
	w, _, _ := newWorker(t)
	w.Shared = true
	w.Start()
	waitFor(t, "the idle worker to sleep", func() bool { return w.State() == Sleeping })
	procCPU := func() time.Duration {
		var ru unix.Rusage
		if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	checkIdleCPU(t, "idle shared worker's process", procCPU)
}

// TestSharedStopWhileBusy: Stop ends a Shared worker that is moving
// packets as well as a sleeping one; the leak gate checks that its epoll
// descriptor is closed.
func TestSharedStopWhileBusy(t *testing.T) {
	w, port, _ := newWorker(t)
	w.Shared = true
	w.Start()
	port.kick(t, 1)
	waitFor(t, "the first packet", func() bool { return port.got.Load() == 1 })
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				b := [8]byte{1}
				_, _ = unix.Write(port.fd, b[:])
				runtime.Gosched()
			}
		}
	}()
	w.Stop()
	close(done)
	if w.State() != Stopped {
		t.Fatalf("state %v after Stop", w.State())
	}
	if err := w.Do(func() {}); err != ErrStopped {
		t.Fatalf("Do after Stop = %v", err)
	}
}

// streamPort produces one packet per Recv while left > 0.
type streamPort struct {
	left atomic.Int64
}

func (p *streamPort) Recv(c *pkt.Cache, v *pkt.Vector) int {
	if p.left.Load() <= 0 || v.Free() == 0 {
		return 0
	}
	k := c.AllocN(v.Idx[v.Len : v.Len+1])
	v.Len += k
	p.left.Add(-int64(k))
	return k
}
func (p *streamPort) Send(c *pkt.Cache, v *pkt.Vector) int {
	n := v.Len
	c.FreeN(v.Idx[:n])
	v.Reset()
	return n
}
func (p *streamPort) Stats() driver.Stats    { return driver.Stats{} }
func (p *streamPort) Close(*pkt.Cache) error { return nil }

// TestSharedRunsWokenGoroutinesBeforeNextPass is the point of Shared: on
// one P (a process pinned to one CPU), a goroutine that a pass readied
// (a socket reader, here a channel receiver) runs before the worker's next
// pass, on the same thread, with no other thread woken to steal it. A
// dedicated worker keeps the P while traffic flows: the goroutine waits
// for a preemption.
func TestSharedRunsWokenGoroutinesBeforeNextPass(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	pool := pkttest.NewPool(t, 1024)
	c := pool.NewCache()
	port := &streamPort{}
	const packets = 2000
	var signalled, seen atomic.Int64
	var late int // passes that found the previous pass's goroutine not yet run; worker only
	ready := make(chan struct{}, 1)
	stop := make(chan struct{})
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for {
			select {
			case <-ready:
				seen.Store(signalled.Load())
			case <-stop:
				return
			}
		}
	}()
	sink := graph.Registration{Name: "sink", Func: func(n *graph.Node, v *pkt.Vector) int {
		if seen.Load() != signalled.Load() {
			late++
		}
		k := v.Len
		n.Cache().FreeN(v.Idx[:k])
		v.Reset()
		signalled.Add(1)
		select {
		case ready <- struct{}{}:
		default:
		}
		return k
	}}
	in := driver.InputNode(driver.PortInputName, []driver.Binding{{If: 0, Port: port}}, "sink")
	g, err := graph.Build(c, []graph.Registration{in, sink})
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(0, g, []driver.Port{port})
	if err != nil {
		t.Fatal(err)
	}
	w.Shared = true
	t.Cleanup(func() {
		w.Stop()
		close(stop)
		<-consumed
		g.Close()
		c.Flush()
	})
	port.left.Store(packets)
	w.Start()
	waitFor(t, "the packets through the graph", func() bool { return port.left.Load() == 0 })
	var l int
	var st Stats
	if err := w.Do(func() { l, st = late, w.Stats() }); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d passes with packets, %d found the goroutine readied by the previous one not yet run", st.Packets, l)
	// The scheduler takes a goroutine from the global queue (where Gosched
	// puts the worker) before the local one every 61st time: a few late.
	if st.Packets != packets || l > packets/20 {
		t.Fatalf("%d of %d passes ran before the goroutine the previous pass readied", l, st.Packets)
	}
}

// TestSharedSleepAllocatesNothing: a Shared worker's sleep (deadline,
// netpoller wait, readiness test) allocates nothing, whether a descriptor
// is ready or the timeout ends it.
func TestSharedSleepAllocatesNothing(t *testing.T) {
	p := newEventPort(t)
	ep, err := newEpollWait([]unix.PollFd{{Fd: int32(p.fd)}})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.close()
	p.kick(t, 1) // stays readable: nothing reads it
	if n, kicked := ep.wait(time.Second, p.fd); n != 1 || !kicked {
		t.Fatalf("wait on a readable eventfd: %d ready, kicked %v", n, kicked)
	}
	if a := testing.AllocsPerRun(100, func() { ep.wait(time.Second, p.fd) }); a != 0 {
		t.Fatalf("%.1f allocations per wait with a descriptor ready", a)
	}
	var b [8]byte
	_, _ = unix.Read(p.fd, b[:])
	if n, _ := ep.wait(time.Microsecond, p.fd); n != 0 {
		t.Fatalf("wait on an empty eventfd: %d ready", n)
	}
	if a := testing.AllocsPerRun(20, func() { ep.wait(time.Microsecond, p.fd) }); a != 0 {
		t.Fatalf("%.1f allocations per wait that timed out", a)
	}
}
