package worker

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
)

func TestMain(m *testing.M) { pkttest.Main(m) }

// eventPort is a port whose receive side is an eventfd: the test writes a
// count, the worker wakes from poll(2) and Recv produces that many packets.
type eventPort struct {
	fd    int
	stats driver.Stats
	got   atomic.Uint64 // packets the sink freed
}

func newEventPort(t *testing.T) *eventPort {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return &eventPort{fd: fd}
}

func (p *eventPort) Recv(c *pkt.Cache, v *pkt.Vector) int {
	var b [8]byte
	if _, err := unix.Read(p.fd, b[:]); err != nil {
		return 0
	}
	n := int(b[0]) | int(b[1])<<8
	k := c.AllocN(v.Idx[v.Len : v.Len+min(n, v.Free())])
	v.Len += k
	p.stats.RxPackets += uint64(k)
	return k
}
func (p *eventPort) Send(c *pkt.Cache, v *pkt.Vector) int {
	n := v.Len
	c.FreeN(v.Idx[:n])
	v.Reset()
	return n
}
func (p *eventPort) Stats() driver.Stats    { return p.stats }
func (p *eventPort) Close(*pkt.Cache) error { return nil }
func (p *eventPort) PollFD() int            { return p.fd }
func (p *eventPort) PrepareWait()           {}

func (p *eventPort) kick(t *testing.T, n int) {
	b := [8]byte{byte(n), byte(n >> 8)}
	if _, err := unix.Write(p.fd, b[:]); err != nil {
		t.Fatal(err)
	}
}

func newWorker(t *testing.T) (*Worker, *eventPort, *pkt.Cache) {
	port := newEventPort(t)
	w, c := newWorkerOn(t, port, &port.got)
	return w, port, c
}

// newWorkerOn builds a worker polling port into a sink node that frees
// what it gets and counts it in got; the test's cleanup stops it.
func newWorkerOn(t *testing.T, port driver.Port, got *atomic.Uint64) (*Worker, *pkt.Cache) {
	pool := pkttest.NewPool(t, 1024)
	c := pool.NewCache()
	sink := graph.Registration{Name: "sink", Func: func(n *graph.Node, v *pkt.Vector) int {
		k := v.Len
		got.Add(uint64(k))
		n.Cache().FreeN(v.Idx[:k])
		v.Reset()
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
	t.Cleanup(func() {
		w.Stop()
		g.Close()
		c.Flush()
	})
	return w, c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestIdleWorkerSleepsAndWakesOnTraffic(t *testing.T) {
	w, port, _ := newWorker(t)
	w.Start()
	waitFor(t, "the idle worker to sleep", func() bool { return w.State() == Sleeping })
	port.kick(t, 100)
	waitFor(t, "100 packets through the graph", func() bool { return port.got.Load() == 100 })
	var st Stats
	if err := w.Do(func() { st = w.Stats() }); err != nil {
		t.Fatal(err)
	}
	if st.Packets != 100 || st.Sleeps == 0 || st.Loops == 0 {
		t.Fatalf("stats %+v: want 100 packets, some sleeps and loops", st)
	}
}

// TestBusyPollNeverSleeps: a BusyPoll worker makes many times IdlePolls
// empty passes without sleeping, and still moves traffic and runs calls.
func TestBusyPollNeverSleeps(t *testing.T) {
	w, port, _ := newWorker(t)
	w.BusyPoll = true
	w.Start()
	var st Stats
	waitFor(t, "the idle worker to make 16×IdlePolls passes", func() bool {
		if err := w.Do(func() { st = w.Stats() }); err != nil {
			t.Fatal(err)
		}
		return st.Loops > 16*IdlePolls
	})
	port.kick(t, 100)
	waitFor(t, "100 packets through the graph", func() bool { return port.got.Load() == 100 })
	if err := w.Do(func() { st = w.Stats() }); err != nil {
		t.Fatal(err)
	}
	if st.Sleeps != 0 || st.SyscallN != 0 || w.State() != Polling {
		t.Fatalf("busy-polling worker slept: stats %+v, state %v", st, w.State())
	}
}

func TestIdleWorkerUsesLittleCPU(t *testing.T) {
	w, _, _ := newWorker(t)
	w.Start()
	waitFor(t, "the idle worker to sleep", func() bool { return w.State() == Sleeping })
	// The worker's own thread, read on that thread: the test process's
	// other threads (GC, other tests' leftovers) are not the worker's cost.
	threadCPU := func() time.Duration {
		var ru unix.Rusage
		var err error
		if e := w.Do(func() { err = unix.Getrusage(unix.RUSAGE_THREAD, &ru) }); e != nil || err != nil {
			t.Fatalf("getrusage on the worker: %v %v", e, err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	checkIdleCPU(t, "idle worker", threadCPU)
}

// checkIdleCPU measures cpu (a CPU-time clock) over two seconds of wall
// time and fails when it ran more than 5 % of one core (15 % under -race).
func checkIdleCPU(t *testing.T, what string, cpu func() time.Duration) {
	t.Helper()
	before := cpu()
	t0 := time.Now()
	time.Sleep(2 * time.Second) // measuring idle CPU over a window, not synchronising
	share := float64(cpu()-before) / float64(time.Since(t0))
	t.Logf("%s: %.2f%% of one core", what, 100*share)
	limit := 0.05
	if raceEnabled {
		limit = 0.15
	}
	if share > limit {
		t.Fatalf("%s used %.1f%% of a core, want < %.0f%%", what, 100*share, 100*limit)
	}
}

func TestDoRunsOnWorkerAndFailsAfterStop(t *testing.T) {
	w, _, _ := newWorker(t)
	w.Start()
	ran := false
	if err := w.Do(func() { ran = true }); err != nil || !ran {
		t.Fatalf("Do: err %v ran %v", err, ran)
	}
	w.Stop()
	if err := w.Do(func() {}); err != ErrStopped {
		t.Fatalf("Do after Stop = %v, want ErrStopped", err)
	}
	if w.State() != Stopped {
		t.Fatalf("state %v after Stop", w.State())
	}
}

// TestKickAfterStopWritesNothing: Stop closes the wake-up descriptor; a
// late Kick must not write to whatever file took its number since.
func TestKickAfterStopWritesNothing(t *testing.T) {
	w, _, _ := newWorker(t)
	w.Start()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	fd := w.wakeFD
	w.Stop()
	// The pipe's write end takes the closed descriptor's number.
	if err := unix.Dup3(p[1], fd, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	w.Kick()
	var b [8]byte
	if n, err := unix.Read(p[0], b[:]); err != unix.EAGAIN {
		t.Fatalf("read %d bytes (err %v) from a pipe on the worker's old descriptor %d: a stopped worker's Kick wrote", n, err, fd)
	}
}

// answerWithin runs call in a goroutine and fails the test if it has not
// returned within limit (on a Do that blocks forever the test would
// otherwise hang until go test's own timeout).
func answerWithin(t *testing.T, limit time.Duration, call func() error) error {
	t.Helper()
	res := make(chan error, 1)
	go func() { res <- call() }()
	select {
	case err := <-res:
		return err
	case <-time.After(limit):
		t.Fatalf("Do has not returned after %v", limit)
		return nil
	}
}

// TestDoOnWorkerStoppedBeforeStart: a worker that was stopped without ever
// running must not swallow a control call.
func TestDoOnWorkerStoppedBeforeStart(t *testing.T) {
	w, _, _ := newWorker(t)
	w.Stop()
	ran := false
	err := answerWithin(t, 10*time.Second, func() error { return w.Do(func() { ran = true }) })
	if !errors.Is(err, ErrStopped) || ran {
		t.Fatalf("Do on a stopped worker: err %v ran %v, want ErrStopped and not run", err, ran)
	}
}

// TestDoOnWedgedWorker: a worker stuck in a long node call answers no
// control call; Do gives up with ErrTimeout, and the withdrawn call never
// runs, not even after the worker recovers.
func TestDoOnWedgedWorker(t *testing.T) {
	pool := pkttest.NewPool(t, 1024)
	c := pool.NewCache()
	port := newEventPort(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var wedged atomic.Bool
	wedged.Store(true)
	sink := graph.Registration{Name: "sink", Func: func(n *graph.Node, v *pkt.Vector) int {
		if wedged.Swap(false) {
			close(entered)
			<-release // an application handler that never returns
		}
		k := v.Len
		n.Cache().FreeN(v.Idx[:k])
		v.Reset()
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
	released := false
	t.Cleanup(func() {
		if !released {
			close(release)
		}
		w.Stop()
		g.Close()
		c.Flush()
	})
	w.Start()
	port.kick(t, 1)
	<-entered

	var late atomic.Bool
	t0 := time.Now()
	err = answerWithin(t, 10*time.Second, func() error { return w.Do(func() { late.Store(true) }) })
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Do on a wedged worker = %v, want ErrTimeout", err)
	}
	t.Logf("Do gave up after %v", time.Since(t0).Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.DoContext(ctx, func() { late.Store(true) }); !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("DoContext on a wedged worker = %v, want ErrTimeout wrapping the deadline", err)
	}

	close(release)
	released = true
	if err := w.Do(func() {}); err != nil {
		t.Fatalf("Do after the worker recovered: %v", err)
	}
	if late.Load() {
		t.Fatal("a withdrawn call ran on the worker after Do had returned ErrTimeout")
	}
}

// stats reads w's counters on its thread.
func stats(t *testing.T, w *Worker) Stats {
	t.Helper()
	var st Stats
	if err := w.Do(func() { st = w.Stats() }); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestSpinKeepsPollingAfterTraffic: with Spin, a worker that moved packets
// keeps polling for Spin instead of sleeping after IdlePolls empty passes
// (an answer coming back a round trip later finds it awake), while the
// timeouts of an idle worker's sleeps never start a spin.
func TestSpinKeepsPollingAfterTraffic(t *testing.T) {
	w, port, _ := newWorker(t)
	w.Spin = time.Hour // never ends within the test: any sleep after traffic is a failure
	w.Start()
	waitFor(t, "the idle worker to sleep through three timeouts", func() bool { return stats(t, w).Sleeps >= 3 })
	port.kick(t, 1)
	waitFor(t, "the packet through the graph", func() bool { return port.got.Load() == 1 })
	st0 := stats(t, w)
	waitFor(t, "16×IdlePolls passes after the packet", func() bool { return stats(t, w).Loops > st0.Loops+16*IdlePolls })
	if st := stats(t, w); st.Sleeps != st0.Sleeps || w.State() != Polling {
		t.Fatalf("worker slept within Spin of a packet: sleeps %d → %d, state %v", st0.Sleeps, st.Sleeps, w.State())
	}
}

// TestSpinEndsInSleep: once Spin has passed without a packet the worker
// sleeps again, and a packet wakes it.
func TestSpinEndsInSleep(t *testing.T) {
	w, port, _ := newWorker(t)
	w.Spin = time.Millisecond
	w.Start()
	for k := 1; k <= 3; k++ {
		// Asleep before each packet (the first included: a packet sent
		// while the new worker still polls wakes nothing).
		waitFor(t, "the worker to sleep after its spin", func() bool { return w.State() == Sleeping })
		port.kick(t, 1)
		waitFor(t, "the packet through the graph", func() bool { return port.got.Load() == uint64(k) })
	}
	if st := stats(t, w); st.Wakeups < 3 || st.Packets != 3 {
		t.Fatalf("stats %+v: want 3 packets, each woke the worker", st)
	}
}

// flushPort is an eventPort whose Send leaves frames "queued" until
// FlushTX, as AF_XDP's deferred TX kick does.
type flushPort struct {
	*eventPort
	queued  bool
	flushes int
	late    int // passes that found frames of an earlier pass still queued
}

func (p *flushPort) Recv(c *pkt.Cache, v *pkt.Vector) int {
	if p.queued {
		p.late++
	}
	return p.eventPort.Recv(c, v)
}

func (p *flushPort) Send(c *pkt.Cache, v *pkt.Vector) int {
	if v.Len > 0 {
		p.queued = true
	}
	return p.eventPort.Send(c, v)
}

func (p *flushPort) FlushTX() {
	if p.queued {
		p.flushes++
	}
	p.queued = false
}

// TestFlushAfterEveryBusyPass: a pass that sent frames flushes its ports
// before the next pass begins (before the worker could go to sleep).
func TestFlushAfterEveryBusyPass(t *testing.T) {
	pool := pkttest.NewPool(t, 1024)
	c := pool.NewCache()
	port := &flushPort{eventPort: newEventPort(t)}
	out := graph.Registration{Name: "out", Func: func(n *graph.Node, v *pkt.Vector) int {
		return port.Send(n.Cache(), v)
	}}
	in := driver.InputNode(driver.PortInputName, []driver.Binding{{If: 0, Port: port}}, "out")
	g, err := graph.Build(c, []graph.Registration{in, out})
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(0, g, []driver.Port{port})
	if err != nil {
		t.Fatal(err)
	}
	w.Spin = 0
	t.Cleanup(func() {
		w.Stop()
		g.Close()
		c.Flush()
	})
	w.Start()
	for k := 1; k <= 5; k++ {
		port.kick(t, 3)
		waitFor(t, "a flush", func() bool {
			var f int
			if err := w.Do(func() { f = port.flushes }); err != nil {
				t.Fatal(err)
			}
			return f == k
		})
	}
	var late int
	var st Stats
	if err := w.Do(func() { late, st = port.late, w.Stats() }); err != nil {
		t.Fatal(err)
	}
	if late != 0 || st.Flushes < 5 {
		t.Fatalf("%d passes began with the previous pass's frames unflushed; %d flushes", late, st.Flushes)
	}
}

// TestRemoveWaiterForgetsFlusher: a detached port is neither waited on nor
// flushed (its descriptor is about to close).
func TestRemoveWaiterForgetsFlusher(t *testing.T) {
	w, _, _ := newWorker(t)
	p := &flushPort{eventPort: newEventPort(t)}
	w.AddPort(p)
	if len(w.flushers) != 1 || len(w.waiters) != 2 {
		t.Fatalf("after AddPort: %d flushers, %d waiters", len(w.flushers), len(w.waiters))
	}
	w.RemoveWaiter(p)
	if len(w.flushers) != 0 {
		t.Fatalf("after RemoveWaiter: %d flushers", len(w.flushers))
	}
}

// TestRTPriority: the worker's thread runs under SCHED_FIFO while the loop
// runs (root may; an unprivileged run reports why in SchedErr).
func TestRTPriority(t *testing.T) {
	w, port, _ := newWorker(t)
	w.RTPriority = 1
	w.Start()
	var attr *unix.SchedAttr
	var err, gerr error
	if e := w.Do(func() { err = w.SchedErr(); attr, gerr = unix.SchedGetAttr(0, 0) }); e != nil {
		t.Fatal(e)
	}
	if err != nil {
		if unix.Geteuid() != 0 && os.Getenv("CI") == "" {
			t.Skipf("not root: %v", err)
		}
		t.Fatal(err)
	}
	if gerr != nil || attr.Policy != unix.SCHED_FIFO || attr.Priority != 1 {
		t.Fatalf("worker thread: %+v %v, want SCHED_FIFO priority 1", attr, gerr)
	}
	port.kick(t, 5)
	waitFor(t, "5 packets through the graph", func() bool { return port.got.Load() == 5 })
	if st := stats(t, w); st.BusyPassHist == [PassHistBuckets]uint64{} {
		t.Fatalf("no busy pass in the histogram: %+v", st)
	}
}
