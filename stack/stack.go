package stack

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/l3/ip6"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack/tcp"
)

// Errors returned by the control side.
var (
	ErrPortInUse     = errors.New("stack: port in use")
	ErrNoEndpoints   = errors.New("stack: too many endpoints")
	ErrNoPorts       = errors.New("stack: no free ephemeral port")
	ErrNotIPv4       = errors.New("stack: address is not IPv4")
	ErrFamily        = errors.New("stack: address families of the socket and the destination differ")
	ErrTooManyGraphs = errors.New("stack: more worker graphs than Config.Workers")
	ErrClosed        = errors.New("stack: socket closed")
	ErrNoBuffers     = errors.New("stack: no packet buffers")
	ErrNoSource      = errors.New("stack: no source address for the destination")
	ErrBadAddress    = errors.New("stack: invalid destination address")
)

// Transport is one protocol of the host stack (package udp, icmp,
// tcp/tcpnode) attached to a Stack: its nodes, its registrations into
// ip4-local's protocol table, and what it gives back at Flush.
type Transport interface {
	// Registrations returns the transport's nodes for every worker's graph.
	Registrations() []graph.Registration
	// Protocols returns its entries of ip4-local's protocol -> node table.
	Protocols() []ip4.ProtocolNode
	// Flush returns the transport's application-side buffers to the pool.
	Flush()
}

// Transport6 is a Transport that also serves IPv6: its entries of
// ip6-local's upper-layer protocol -> node table.
type Transport6 interface {
	Protocols6() []ip6.ProtocolNode
}

// Config configures a Stack.
type Config struct {
	// Workers is the number of worker graphs that will register the
	// stack's nodes (default 1).
	Workers int
	// RxRing and TxRing are the per-socket ring sizes, per worker for RX
	// (default 1024 each).
	RxRing, TxRing int
	// SocketQueue is the most buffers one socket's receive queues hold
	// together, over all workers: SO_RCVBUF counted in buffers, each of
	// which pins a whole slot (default RxRing). A datagram beyond it is
	// dropped and counted as udp4-input/socket_queue_full.
	SocketQueue int
	// SocketBudget is the most buffers the receive queues of all sockets
	// hold together (default DefaultBudgetShare of the pool), so that
	// sockets nobody reads cannot pin the pool. A datagram beyond it is
	// dropped and counted as udp4-input/socket_budget. Each worker may
	// overshoot it by the datagrams of one vector.
	SocketBudget int
	// PoolReserve is how many buffers allocations for applications (socket
	// sends) leave in the pool's shared free list for the drivers' receive
	// refills, ARP and the workers (default DefaultReserveShare of the
	// pool): below it Send fails with ErrNoBuffers.
	PoolReserve int
	// Source returns the source address for a datagram to dst from a
	// socket bound to the unspecified address (the address of the
	// interface the route to dst leaves by). When nil, or when it reports
	// false, such a write fails.
	Source func(dst [4]byte) ([4]byte, bool)
	// Source6 is Source for IPv6 destinations.
	Source6 func(dst [16]byte) ([16]byte, bool)
	// LookupNode and ICMPErrorNode name the nodes replies and port
	// unreachables go to (defaults "ip4-lookup" and "icmp4-error");
	// LookupNode6 and ICMPErrorNode6 those of IPv6 (defaults "ip6-lookup"
	// and "icmp6-error").
	LookupNode, ICMPErrorNode   string
	LookupNode6, ICMPErrorNode6 string
	// TCP, if set, adds the TCP stack: a tcp.Engine per worker configured
	// by *TCP (its Clock, Output and Notify are the stack's), the
	// tcp4-input and tcp4-output nodes (package stack/tcp/tcpnode).
	TCP *tcp.Config
	// TCPFault, if set with TCP, injects loss, duplication and reordering
	// into the TCP segments received and sent (tests only; see TCPFault).
	TCPFault *TCPFault
}

// TCPFault configures fault injection on the host TCP's segments, for
// tests: each worker drops, duplicates and reorders the segments it hands
// to its engine (receive: after tcp4-input's checks, before tcp.Engine.Input)
// and those the engine sends (transmit: before ip4-lookup), each direction
// drawing from its own PCG seeded from Seed and the worker. Off (nil in
// Config.TCPFault) it costs one nil check per segment.
type TCPFault struct {
	Seed      uint64
	Loss      float64 // probability a segment is dropped
	Duplicate float64 // probability a segment is delivered twice
	Reorder   float64 // probability a segment swaps places with the next one
}

// Default shares of the pool for Config.SocketBudget and Config.PoolReserve:
// pool slots divided by these.
const (
	DefaultBudgetShare  = 8
	DefaultReserveShare = 8
)

// Stack is the shared core of the host stack of one data plane: the
// workers' grace periods and wake-ups, the endpoint tables' bookkeeping,
// the application-side buffer cache and the receive budget, and the
// transports attached to it. Its methods are safe for concurrent use; the
// transports' nodes run on the workers.
type Stack struct {
	cfg  Config
	pool *pkt.Pool

	mu        sync.Mutex // serialises table writers, worker registration, Attach
	graphs    map[*graph.Graph]int
	nextGraph int

	workers []*Worker

	appMu    sync.Mutex // guards appCache
	appCache *pkt.Cache // buffers allocated and freed by applications

	rxHeld atomic.Int64 // buffers in all sockets' receive queues (Config.SocketBudget)

	transports []Transport // under mu
}

// Worker is what the application side shares with one worker: its grace
// period counter, the "endpoint has packets to send" bitmaps, and its
// wake-up. Transports' nodes and sockets use it; nothing else should.
type Worker struct {
	seq seqLock
	// Summary and Pending form a two-level bitmap of endpoint ids with
	// packets queued for this worker to send: bit w of Summary says
	// Pending[w] may be non-zero (Kick sets both; the output node swaps
	// them to zero and drains).
	Summary atomic.Uint64
	Pending [MaxEndpoints / 64]atomic.Uint64
	wake    atomic.Pointer[func()]

	// Transmit wake-up through TxWaiter: efd is set before hasWaiter.
	hasWaiter atomic.Bool
	efd       int
	efdMu     sync.RWMutex   // held to write efd (read) and to close it (write)
	efdClosed bool           // efd was closed by Close; under efdMu
	sleepy    atomic.Bool    // the worker announced a sleep (PrepareWait)
	flags     []*atomic.Bool // transports' "work queued" flags (AddFlag)
}

// Enter and Leave bracket a node's use of an endpoint table snapshot (the
// grace period of Stack.Grace): call Enter before loading the snapshot and
// Leave once no reference to it is held.
func (w *Worker) Enter() { w.seq.n.Add(1) }

// Leave: see Enter.
func (w *Worker) Leave() { w.seq.n.Add(1) }

// Awake records that the worker runs again after a sleep (an input node
// calls it once per pass; it costs one load while polling).
func (w *Worker) Awake() {
	if w.sleepy.Load() {
		w.sleepy.Store(false)
	}
}

// AddFlag registers a transport's "work queued for the worker" flag, set
// by Signal: a worker about to sleep checks it. Call before the worker
// starts.
func (w *Worker) AddFlag(f *atomic.Bool) { w.flags = append(w.flags, f) }

// Kick marks endpoint id as having packets for the worker and wakes it if
// needed: with a TxWaiter, only when it announced a sleep; otherwise
// through SetWaker's function when its pending summary was empty.
func (w *Worker) Kick(id uint16) {
	w.Pending[id/64].Or(1 << (id % 64))
	old := w.Summary.Or(1 << (id / 64))
	if w.hasWaiter.Load() {
		if w.sleepy.Load() && w.sleepy.CompareAndSwap(true, false) {
			w.signalFD()
		}
		return
	}
	if old == 0 {
		if f := w.wake.Load(); f != nil {
			(*f)()
		}
	}
}

// Signal sets flag (registered with AddFlag) and wakes the worker as Kick
// does.
func (w *Worker) Signal(flag *atomic.Bool) {
	old := flag.Swap(true)
	if w.hasWaiter.Load() {
		if w.sleepy.Load() && w.sleepy.CompareAndSwap(true, false) {
			w.signalFD()
		}
		return
	}
	if !old {
		if f := w.wake.Load(); f != nil {
			(*f)()
		}
	}
}

// queued reports whether an application queued work the worker has not
// taken yet.
func (w *Worker) queued() bool {
	if w.Summary.Load() != 0 {
		return true
	}
	for _, f := range w.flags {
		if f.Load() {
			return true
		}
	}
	return false
}

// New returns a Stack whose applications allocate buffers from pool (the
// data plane's pool).
func New(pool *pkt.Pool, cfg Config) *Stack {
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.RxRing <= 0 {
		cfg.RxRing = 1024
	}
	if cfg.TxRing <= 0 {
		cfg.TxRing = 1024
	}
	if cfg.SocketQueue <= 0 {
		cfg.SocketQueue = cfg.RxRing
	}
	slots := pool.Arena().Slots()
	if cfg.SocketBudget <= 0 {
		cfg.SocketBudget = max(slots/DefaultBudgetShare, 1)
	}
	if cfg.PoolReserve <= 0 {
		cfg.PoolReserve = slots / DefaultReserveShare
	}
	if cfg.LookupNode == "" {
		cfg.LookupNode = ip4.LookupName
	}
	if cfg.ICMPErrorNode == "" {
		cfg.ICMPErrorNode = ip4.ICMPErrorName
	}
	if cfg.LookupNode6 == "" {
		cfg.LookupNode6 = ip6.LookupName
	}
	if cfg.ICMPErrorNode6 == "" {
		cfg.ICMPErrorNode6 = ip6.ICMPErrorName
	}
	s := &Stack{cfg: cfg, pool: pool, graphs: map[*graph.Graph]int{}, appCache: pool.NewReserveCache(cfg.PoolReserve)}
	s.workers = make([]*Worker, cfg.Workers)
	for w := range s.workers {
		s.workers[w] = new(Worker)
	}
	return s
}

// Config returns the stack's configuration with its defaults filled in.
func (s *Stack) Config() Config { return s.cfg }

// Pool returns the pool applications allocate from.
func (s *Stack) Pool() *pkt.Pool { return s.pool }

// Workers reports Config.Workers.
func (s *Stack) Workers() int { return s.cfg.Workers }

// Worker returns worker w's shared state (0 <= w < Workers()).
func (s *Stack) Worker(w int) *Worker { return s.workers[w] }

// Attach adds a transport; its nodes and protocols join the stack's.
// Transports attach themselves when made (udp.New, icmp.New,
// tcpnode.New), before any graph is built.
func (s *Stack) Attach(t Transport) {
	s.mu.Lock()
	s.transports = append(s.transports, t)
	s.mu.Unlock()
}

// Transports returns the attached transports, in attachment order (for
// the transports' own Of lookups).
func (s *Stack) Transports() []Transport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Transport(nil), s.transports...)
}

// Registrations returns the attached transports' nodes, for every
// worker's graph.
func (s *Stack) Registrations() []graph.Registration {
	var regs []graph.Registration
	for _, t := range s.Transports() {
		regs = append(regs, t.Registrations()...)
	}
	return regs
}

// Protocols returns the attached transports' registrations into
// ip4-local's protocol table.
func (s *Stack) Protocols() []ip4.ProtocolNode {
	var ps []ip4.ProtocolNode
	for _, t := range s.Transports() {
		ps = append(ps, t.Protocols()...)
	}
	return ps
}

// Protocols6 returns the attached transports' registrations into
// ip6-local's protocol table (those that implement Transport6).
func (s *Stack) Protocols6() []ip6.ProtocolNode {
	var ps []ip6.ProtocolNode
	for _, t := range s.Transports() {
		if t6, ok := t.(Transport6); ok {
			ps = append(ps, t6.Protocols6()...)
		}
	}
	return ps
}

// WorkerOf returns the worker slot of graph g, assigning the next free one
// on first sight. Transports call it from their nodes' Init.
func (s *Stack) WorkerOf(g *graph.Graph) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, ok := s.graphs[g]; ok {
		return w, nil
	}
	if s.nextGraph >= len(s.workers) {
		return 0, fmt.Errorf("%w (%d)", ErrTooManyGraphs, len(s.workers))
	}
	w := s.nextGraph
	s.nextGraph++
	s.graphs[g] = w
	return w, nil
}

// SetWaker tells the stack how to wake the worker that runs g when an
// application queued packets for it (typically (*worker.Worker).Kick).
// Without one, a sleeping worker notices within its maximum sleep.
func (s *Stack) SetWaker(g *graph.Graph, wake func()) error {
	w, err := s.WorkerOf(g)
	if err != nil {
		return err
	}
	s.workers[w].wake.Store(&wake)
	return nil
}

// Grace waits until no worker is still between Enter and Leave with a
// snapshot loaded before the call. Caller must not hold anything a worker
// waits on.
func (s *Stack) Grace() {
	for _, w := range s.workers {
		c := w.seq.n.Load()
		if c&1 == 0 {
			continue
		}
		for w.seq.n.Load() == c {
			runtime.Gosched()
		}
	}
}

// AppAlloc allocates a buffer for an application (any goroutine).
func (s *Stack) AppAlloc() (pkt.Index, bool) {
	s.appMu.Lock()
	i, ok := s.appCache.Alloc()
	s.appMu.Unlock()
	return i, ok
}

// AppFree frees buffers on the application side.
func (s *Stack) AppFree(idx []pkt.Index) {
	s.appMu.Lock()
	s.appCache.FreeN(idx)
	s.appMu.Unlock()
}

// SocketBuffers reports how many buffers all sockets' receive queues hold
// (what Config.SocketBudget bounds).
func (s *Stack) SocketBuffers() int { return int(s.rxHeld.Load()) }

// HeldBuffers is the count behind SocketBuffers that transports add to
// when they queue received buffers to sockets and subtract from when the
// buffers leave (Config.SocketBudget bounds it).
func (s *Stack) HeldBuffers() *atomic.Int64 { return &s.rxHeld }

// Flush returns the application-side cache to the pool, for leak checks
// and shutdown.
func (s *Stack) Flush() {
	s.appMu.Lock()
	s.appCache.Flush()
	s.appMu.Unlock()
	for _, t := range s.Transports() {
		t.Flush()
	}
}
