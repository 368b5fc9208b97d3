// Package worker runs one graph per core: a goroutine locked to an OS
// thread polls its input nodes and dispatches their vectors to completion,
// busy-polling while traffic flows and sleeping in poll(2) on its ports'
// descriptors when idle, so an idle data plane costs almost no CPU. A
// Shared worker (for a process whose application shares its CPUs, such as
// net/http on package sock) is instead an ordinary goroutine that sleeps in
// Go's netpoller and yields after each busy pass to the goroutines it
// woke (shared.go).
//
// Everything a worker owns (its graph, counters, ports) is touched only on
// its thread. The control plane reaches it through Do, which runs a function
// on the worker between two dispatch passes (VPP's RPC to a worker): reads of
// counters and changes of per-worker state go that way, so the hot path needs
// no locks and no atomics.
package worker

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
)

// IdlePolls is how many consecutive empty passes a worker makes before it
// sleeps.
const IdlePolls = 256

// MaxSleep bounds one sleep, so timers (ARP retries, ageing) still run.
const MaxSleep = 10 * time.Millisecond

// DefaultSpin is a new worker's Spin: zero, the plain rule (sleep after
// IdlePolls empty passes, tens of µs). Measured on a shared, oversubscribed
// 2-CPU VM (BENCHMARKS.md §9), every longer spin (50 µs, 200 µs) gave a
// worse loaded p99: a spinning thread spends its CFS share and is then
// preempted for milliseconds, where a sleeper is woken with priority. Set
// Spin (config worker_spin) where the worker has a CPU to itself.
const DefaultSpin = 0

// MaxSpin bounds Spin (configuration checks it).
const MaxSpin = time.Second

// Flusher is implemented by ports that hold transmitted frames back to
// batch their kick (AF_XDP's TX wake-up): the worker calls FlushTX at the
// end of every dispatch pass that moved packets, so no frame waits for a
// later pass. It runs once per pass, never per packet.
type Flusher interface {
	FlushTX()
}

// State tells what a worker is doing, for "show runtime".
type State int32

const (
	Stopped State = iota
	Polling
	Sleeping
)

func (s State) String() string {
	switch s {
	case Polling:
		return "polling"
	case Sleeping:
		return "sleeping"
	default:
		return "stopped"
	}
}

// Stats are a worker's loop counters.
type Stats struct {
	Loops    uint64 // dispatch passes
	Sleeps   uint64 // times it went to sleep
	Packets  uint64 // packets its input nodes produced
	BusyNs   uint64 // wall time spent in passes that moved packets
	SyscallN uint64 // poll(2) calls made to sleep
	Wakeups  uint64 // sleeps a descriptor ended (the others timed out)
	Flushes  uint64 // end-of-pass TX flushes (passes that moved packets, with a Flusher)
	// BusyPassHist counts the passes that moved packets by their time from
	// the start of the pass (the ports' receive) to the end of its TX flush:
	// bucket k holds those under 2^k µs (the last, the rest).
	BusyPassHist [PassHistBuckets]uint64
}

// PassHistBuckets is the number of Stats.BusyPassHist buckets: < 1 µs,
// < 2 µs, … < 2^(PassHistBuckets-2) µs, and longer.
const PassHistBuckets = 12

// passBucket is the BusyPassHist bucket of a pass of d.
func passBucket(d time.Duration) int {
	return min(bits.Len64(uint64(d)/1000), PassHistBuckets-1)
}

// Worker owns one graph and the ports it polls.
type Worker struct {
	ID    int
	Graph *graph.Graph
	// CPU pins the worker's thread to this CPU when >= 0.
	CPU int
	// BusyPoll keeps the worker polling when idle instead of sleeping on
	// its ports (DPDK's lcore model): lowest latency and no wake-up
	// syscalls, at the cost of a whole CPU whether traffic flows or not.
	// Set it before Start.
	BusyPoll bool
	// Spin is adaptive polling (VPP's adaptive mode): after the last pass
	// that moved packets the worker keeps polling for Spin before it sleeps
	// again. Zero restores the plain rule: sleep after
	// IdlePolls empty passes. New sets DefaultSpin; set it before Start.
	Spin time.Duration
	// RTPriority, when > 0, runs the worker's thread under SCHED_FIFO at
	// this priority (1..99), so that a packet's wake-up preempts the
	// machine's other work at once instead of waiting for a CFS slice. On a
	// shared CPU, pair it with a short Spin: a real-time thread that spins
	// holds its CPU (the kernel's RT throttling leaves the rest 5 %). Set it
	// before Start; SchedErr tells whether the kernel allowed it.
	RTPriority int
	// Shared runs the worker as an ordinary goroutine for a process whose
	// application shares the worker's CPUs (net/http on package sock): it
	// is not locked to a thread, sleeps in Go's netpoller (an epoll
	// descriptor holding its ports' and wake-up descriptors) instead of
	// poll(2), and yields its P after every pass that moved packets, so
	// that the goroutines the pass readied run at once on the same thread
	// instead of another thread being woken to steal them. CPU and
	// RTPriority do not apply (SchedErr reports an RTPriority). The
	// default, a dedicated thread, suits a router. Set it before Start.
	Shared bool

	schedErr error
	waiters  []driver.Waiter
	flushers []Flusher
	fds      []unix.PollFd
	wakeFD   int
	rpc      chan func()
	rpcN     atomic.Int32 // calls sent or being sent to rpc and not yet taken
	state    atomic.Int32
	stats    Stats
	done     chan struct{}
	stop     atomic.Bool
	started  atomic.Bool
	closed   sync.Once // the wake-up eventfd is closed once, by the first Stop
	// fdMu guards wakeFD against a kick from another goroutine while Stop
	// closes it; fdClosed is set, under it, once it is closed.
	fdMu     sync.RWMutex
	fdClosed bool
	ep       *epollWait // Shared: the netpoller sleep, made by Run
}

// Start runs the loop in a new goroutine.
func (w *Worker) Start() {
	w.started.Store(true)
	go w.Run()
}

// New makes a worker for g. waiters are the ports it may sleep on; ports
// that are not Waiters are polled every MaxSleep when idle.
func New(id int, g *graph.Graph, ports []driver.Port) (*Worker, error) {
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	w := &Worker{ID: id, Graph: g, CPU: -1, Spin: DefaultSpin, wakeFD: efd, rpc: make(chan func(), 16), done: make(chan struct{})}
	w.fds = append(w.fds, unix.PollFd{Fd: int32(efd), Events: unix.POLLIN})
	for _, p := range ports {
		w.AddPort(p)
	}
	return w, nil
}

// addFlusher remembers x if it is a Flusher, once.
func (w *Worker) addFlusher(x any) {
	f, ok := x.(Flusher)
	if !ok {
		return
	}
	for _, g := range w.flushers {
		if g == f {
			return
		}
	}
	w.flushers = append(w.flushers, f)
}

// AddWaiter adds a descriptor the worker sleeps on besides its ports' (for
// example the host stack's transmit wake-up). Call it before Start, or on
// the worker's thread (Do).
func (w *Worker) AddWaiter(wt driver.Waiter) {
	w.addFlusher(wt)
	w.waiters = append(w.waiters, wt)
	w.fds = append(w.fds, unix.PollFd{Fd: int32(wt.PollFD()), Events: unix.POLLIN})
	if w.ep != nil {
		w.ep.add(wt.PollFD())
	}
}

// AddPort adds p's descriptor, if it is a Waiter with one, to those the
// worker sleeps on (a port attached at run time), and p to the ports
// flushed after each busy pass if it is a Flusher. Call it on the worker's
// thread (Do) or before Start.
func (w *Worker) AddPort(p driver.Port) {
	if wt, ok := p.(driver.Waiter); ok && wt.PollFD() >= 0 {
		w.AddWaiter(wt)
		return
	}
	w.addFlusher(p)
}

// RemoveWaiter stops the worker sleeping on wt (a port detached at run
// time, before it closes its descriptor). Call it on the worker's thread
// (Do) or before Start.
func (w *Worker) RemoveWaiter(wt driver.Waiter) {
	if f, ok := wt.(Flusher); ok {
		for k, g := range w.flushers {
			if g == f {
				w.flushers = append(w.flushers[:k:k], w.flushers[k+1:]...)
				break
			}
		}
	}
	for k, x := range w.waiters {
		if x == wt {
			if w.ep != nil {
				w.ep.remove(int(w.fds[k+1].Fd))
			}
			w.waiters = append(w.waiters[:k:k], w.waiters[k+1:]...)
			w.fds = append(w.fds[:k+1:k+1], w.fds[k+2:]...) // fds[0] is the wake-up eventfd
			return
		}
	}
}

// State reports whether the worker is polling, sleeping or stopped. Safe
// from any goroutine.
func (w *Worker) State() State { return State(w.state.Load()) }

// Run is the worker loop; it returns after Stop. Start calls it in a new
// goroutine; call Run directly only to run the loop on the current one, after
// setting things up with Start's bookkeeping (prefer Start).
func (w *Worker) Run() {
	w.started.Store(true)
	defer close(w.done)
	if w.Shared {
		w.schedErr = w.startShared()
		defer w.stopShared()
	} else {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		dedicatedLoops.Add(1)
		defer dedicatedLoops.Add(-1)
		if w.CPU >= 0 {
			var set unix.CPUSet
			set.Set(w.CPU)
			_ = unix.SchedSetaffinity(0, &set)
		}
		if w.RTPriority > 0 {
			// The thread goes back to SCHED_OTHER when the loop returns: it is
			// unlocked and may then run any goroutine.
			w.schedErr = setFIFO(w.RTPriority)
			if w.schedErr == nil {
				defer setFIFO(0)
			}
		}
	}
	w.loop()
}

// loop is Run's dispatch loop.
func (w *Worker) loop() {
	w.state.Store(int32(Polling))
	// The worker sleeps once it has made minIdle empty passes in a row and
	// spun past spinUntil: with Spin, one empty pass and Spin since the last
	// pass that moved packets; without, IdlePolls empty passes.
	minIdle, spin := IdlePolls, w.Spin
	if spin > 0 {
		minIdle = 1
	}
	idle := 0
	// One clock read per pass (the graph's clock, in ns) serves the graph's
	// timers and Now, the spin and the pass's start; a pass that moved
	// packets reads it once more, after its flush, for BusyNs.
	g := w.Graph
	spinNs := int64(spin)
	var spinUntil int64 // an idle worker starting up does not spin
	for !w.stop.Load() {
		now := g.Clock()
		got := g.PollAt(now)
		w.stats.Loops++
		if got > 0 {
			w.flush()
			d := time.Duration(g.Clock() - now)
			w.stats.Packets += uint64(got)
			w.stats.BusyNs += uint64(d)
			w.stats.BusyPassHist[passBucket(d)]++
			idle = 0
			spinUntil = now + spinNs
			if w.Shared {
				// Run the goroutines this pass readied (a socket's reader,
				// say) now, on this thread; they queue their answers and the
				// next pass sends them.
				runtime.Gosched()
			}
		} else {
			idle++
		}
		if w.rpcN.Load() != 0 {
			w.runRPCs()
		}
		if idle >= minIdle && !w.BusyPoll && now >= spinUntil {
			if w.sleep() {
				// The pass after the wake-up finds the packets (and
				// starts the spin); a control call's kick starts none.
				idle = 0
			} else {
				// Woken by the timeout only: one pass runs the timers,
				// then the worker sleeps again instead of spinning first.
				idle = minIdle - 1
			}
		}
	}
	w.runRPCs()
	w.state.Store(int32(Stopped))
}

// setFIFO puts the calling thread under SCHED_FIFO at prio, or back under
// SCHED_OTHER for prio 0.
func setFIFO(prio int) error {
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(prio)}
	if prio == 0 {
		attr.Policy = 0 // SCHED_OTHER
	}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		return fmt.Errorf("worker: SCHED_FIFO priority %d: %w", prio, err)
	}
	return nil
}

// SchedErr reports why RTPriority could not be applied (nil when it was,
// or was not asked for). Call it through Do or after Stop.
func (w *Worker) SchedErr() error { return w.schedErr }

// flush kicks what the ports' Send calls of this pass left queued.
func (w *Worker) flush() {
	if len(w.flushers) == 0 {
		return
	}
	w.stats.Flushes++
	for _, f := range w.flushers {
		f.FlushTX()
	}
}

func (w *Worker) runRPCs() {
	for {
		select {
		case f := <-w.rpc:
			w.rpcN.Add(-1)
			f()
		default:
			return
		}
	}
}

// sleep waits in poll(2) (or, Shared, in the netpoller) for a port, the
// wake-up eventfd or MaxSleep, and
// reports whether a descriptor became ready (false: the timeout ended it).
func (w *Worker) sleep() bool {
	for _, wt := range w.waiters {
		wt.PrepareWait()
	}
	w.state.Store(int32(Sleeping))
	w.stats.Sleeps++
	w.stats.SyscallN++
	var n int
	var kicked bool
	if w.ep != nil {
		n, kicked = w.ep.wait(MaxSleep, w.wakeFD)
	} else {
		n = pollSleep(w.fds, MaxSleep)
		kicked = w.fds[0].Revents != 0
	}
	if kicked {
		var b [8]byte
		_, _ = unix.Read(w.wakeFD, b[:])
	}
	w.state.Store(int32(Polling))
	if n != 0 {
		w.stats.Wakeups++
	}
	return n != 0
}

// ErrStopped is returned by Do on a worker that has stopped.
var ErrStopped = errors.New("worker: stopped")

// ErrTimeout is returned by Do when the worker did not take the call in
// time: it is wedged in a long node call or overloaded. The call was
// withdrawn and will not run.
var ErrTimeout = errors.New("worker: no answer in time (wedged or overloaded); call withdrawn")

// DefaultDoTimeout bounds Do: a worker runs its calls between two dispatch
// passes, which take microseconds to milliseconds, so a worker that has not
// taken a call after this long is wedged.
const DefaultDoTimeout = 5 * time.Second

// Call states, for withdrawing a call the worker has not started.
const (
	callQueued int32 = iota
	callRunning
	callWithdrawn
)

// Do runs f on the worker's thread between dispatch passes and waits for it,
// for at most DefaultDoTimeout (see DoContext).
func (w *Worker) Do(f func()) error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultDoTimeout)
	err := w.DoContext(ctx, f)
	cancel()
	return err
}

// DoContext runs f on the worker's thread between dispatch passes and waits
// for it until ctx ends. It returns ErrStopped when the worker has stopped
// (its loop has returned, or it was stopped before it started) and
// ErrTimeout, wrapping ctx's error, when the worker did not start f before
// ctx ended: f is then withdrawn and never runs. Once f has started, DoContext
// waits for it to return (f is control-plane code and must be short).
func (w *Worker) DoContext(ctx context.Context, f func()) error {
	if w.stop.Load() {
		return w.stopped(ctx)
	}
	var state atomic.Int32
	ran := make(chan struct{})
	call := func() {
		if !state.CompareAndSwap(callQueued, callRunning) {
			return // withdrawn by a caller that gave up
		}
		f()
		close(ran)
	}
	w.rpcN.Add(1) // before the send: the loop then never misses the call
	select {
	case w.rpc <- call:
	case <-w.done:
		w.rpcN.Add(-1)
		return ErrStopped
	case <-ctx.Done():
		w.rpcN.Add(-1)
		return fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
	}
	w.kick()
	select {
	case <-ran:
		return nil
	case <-w.done:
	case <-ctx.Done():
	}
	if state.CompareAndSwap(callQueued, callWithdrawn) {
		select {
		case <-w.done:
			return ErrStopped
		default:
		}
		if w.stop.Load() && !w.started.Load() {
			return ErrStopped
		}
		return fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
	}
	<-ran // f is running (or ran) on the worker: let it finish
	return nil
}

// stopped waits until a stopping worker's loop has returned (so that the
// caller may touch its state) and returns ErrStopped.
func (w *Worker) stopped(ctx context.Context) error {
	if w.started.Load() {
		select {
		case <-w.done:
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
		}
	}
	return ErrStopped
}

// Stats returns the loop counters; call it through Do or after Stop.
func (w *Worker) Stats() Stats { return w.stats }

// Kick wakes the worker if it sleeps (it writes the worker's eventfd), so
// that work queued from other goroutines, such as a socket's transmit ring,
// is polled at once. Safe from any goroutine.
func (w *Worker) Kick() { w.kick() }

func (w *Worker) kick() {
	// Under fdMu: Stop may close the descriptor at any time, and a write
	// to a closed one could reach whatever file took its number.
	w.fdMu.RLock()
	if !w.fdClosed {
		var one = [8]byte{1}
		_, _ = unix.Write(w.wakeFD, one[:])
	}
	w.fdMu.RUnlock()
}

// Stop ends the loop and waits for it to return. It may be called more
// than once.
func (w *Worker) Stop() {
	w.closed.Do(func() {
		w.stop.Store(true) // also for a worker never started: Do then fails at once
		if w.started.Load() {
			w.kick()
			<-w.done
		}
		w.fdMu.Lock()
		unix.Close(w.wakeFD)
		w.fdClosed = true
		w.fdMu.Unlock()
	})
}

// Wait blocks until the loop has returned.
func (w *Worker) Wait() { <-w.done }
