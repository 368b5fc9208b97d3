package stack

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack/tcp"
	"github.com/vecnet/vecnet/wire"
)

// Errors returned by the control side.
var (
	ErrPortInUse     = errors.New("stack: port in use")
	ErrNoEndpoints   = errors.New("stack: too many endpoints")
	ErrNoPorts       = errors.New("stack: no free ephemeral port")
	ErrNotIPv4       = errors.New("stack: address is not IPv4")
	ErrTooManyGraphs = errors.New("stack: more worker graphs than Config.Workers")
)

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
	// LookupNode and ICMPErrorNode name the nodes replies and port
	// unreachables go to (defaults "ip4-lookup" and "icmp4-error").
	LookupNode, ICMPErrorNode string
	// TCP, if set, adds the TCP stack: a tcp.Engine per worker configured
	// by *TCP (its Clock, Output and Notify are the stack's), the
	// tcp4-input and tcp4-output nodes, and ListenTCP/DialTCP.
	TCP *tcp.Config
	// TCPFault, if set with TCP, injects loss, duplication and reordering
	// into the TCP segments received and sent (tests only; see TCPFault).
	TCPFault *TCPFault
}

// Default shares of the pool for Config.SocketBudget and Config.PoolReserve:
// pool slots divided by these.
const (
	DefaultBudgetShare  = 8
	DefaultReserveShare = 8
)

// Stack is the host UDP stack of one data plane. Its methods are safe for
// concurrent use; its nodes run on the workers.
type Stack struct {
	cfg  Config
	pool *pkt.Pool

	tab atomic.Pointer[table] // the snapshot the nodes read

	mu        sync.Mutex // serialises table writers and worker registration
	nextEph   uint16
	freeIDs   []uint16
	graphs    map[*graph.Graph]int
	nextGraph int

	workers []*workerShared

	appMu    sync.Mutex // guards appCache
	appCache *pkt.Cache // buffers allocated and freed by applications

	rxHeld atomic.Int64 // buffers in all sockets' receive queues (Config.SocketBudget)

	tcp *tcpStack // nil unless Config.TCP
}

// workerShared is what the application side shares with one worker.
type workerShared struct {
	seq     seqLock
	summary atomic.Uint64                    // bit w: pending[w] may be non-zero
	pending [MaxEndpoints / 64]atomic.Uint64 // bit id: socket id has TX pending
	wake    atomic.Pointer[func()]

	// Transmit wake-up through TxWaiter: efd is set before hasWaiter.
	hasWaiter atomic.Bool
	efd       int
	efdMu     sync.RWMutex // held to write efd (read) and to close it (write)
	efdClosed bool         // efd was closed by Close; under efdMu
	sleepy    atomic.Bool  // the worker announced a sleep (PrepareWait)
	tcpKick   atomic.Bool  // tcp4-output has application-sent segments to drain
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
	s := &Stack{cfg: cfg, pool: pool, nextEph: EphemeralFirst, graphs: map[*graph.Graph]int{}, appCache: pool.NewReserveCache(cfg.PoolReserve)}
	for id := MaxEndpoints - 1; id >= 1; id-- {
		s.freeIDs = append(s.freeIDs, uint16(id))
	}
	s.workers = make([]*workerShared, cfg.Workers)
	for w := range s.workers {
		s.workers[w] = new(workerShared)
	}
	s.tab.Store(new(table))
	if cfg.TCP != nil {
		s.tcp = newTCPStack(s, *cfg.TCP)
	}
	return s
}

// Workers reports Config.Workers.
func (s *Stack) Workers() int { return s.cfg.Workers }

// Registrations returns the stack's nodes, for every worker's graph.
func (s *Stack) Registrations() []graph.Registration {
	regs := []graph.Registration{s.inputNode(), s.outputNode(), s.icmpNode()}
	if s.tcp != nil {
		regs = append(regs, s.tcpInputNode(), s.tcpOutputNode())
	}
	return regs
}

// Protocols returns the stack's registrations into ip4-local's protocol
// table: UDP, ICMP (errors for connected sockets) and, with Config.TCP, TCP.
func (s *Stack) Protocols() []ip4.ProtocolNode {
	ps := []ip4.ProtocolNode{{Protocol: wire.IPProtoUDP, Node: UDPInputName}, {Protocol: wire.IPProtoICMP, Node: ICMPInputName}}
	if s.tcp != nil {
		ps = append(ps, ip4.ProtocolNode{Protocol: wire.IPProtoTCP, Node: TCPInputName})
	}
	return ps
}

// workerOf returns the worker slot of graph g, assigning the next free one
// on first sight. Called from node Init.
func (s *Stack) workerOf(g *graph.Graph) (int, error) {
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
	w, err := s.workerOf(g)
	if err != nil {
		return err
	}
	s.workers[w].wake.Store(&wake)
	return nil
}

// publish installs t as the snapshot. Caller holds s.mu.
func (s *Stack) publish(t *table) { s.tab.Store(t) }

// grace waits until no worker still runs a stack node with a snapshot
// loaded before the call. Caller must not hold anything a worker waits on.
func (s *Stack) grace() {
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

// bindPort finds the port for ep (port 0 = an ephemeral one), publishes it
// and returns the endpoint id and port. Caller holds s.mu.
func (s *Stack) bindPort(port uint16, ep endpoint) (uint16, uint16, error) {
	cur := s.tab.Load()
	if port == 0 {
		span := EphemeralLast - EphemeralFirst + 1
		for k := 0; k < span; k++ {
			p := s.nextEph
			s.nextEph++
			if s.nextEph > EphemeralLast {
				s.nextEph = EphemeralFirst
			}
			if cur.ports[p] == 0 {
				port = p
				break
			}
		}
		if port == 0 {
			return 0, 0, ErrNoPorts
		}
	} else if cur.ports[port] != 0 {
		return 0, 0, fmt.Errorf("%w: %d", ErrPortInUse, port)
	}
	if len(s.freeIDs) == 0 {
		return 0, 0, ErrNoEndpoints
	}
	id := s.freeIDs[len(s.freeIDs)-1]
	s.freeIDs = s.freeIDs[:len(s.freeIDs)-1]
	t := cur.clone()
	t.ports[port] = id
	t.eps[id] = ep
	s.publish(t)
	return id, port, nil
}

// unbind removes port's endpoint id, waits for the grace period and then
// calls done (with s.mu released) before the id may be reused.
func (s *Stack) unbind(port, id uint16, done func()) {
	s.mu.Lock()
	cur := s.tab.Load()
	if cur.ports[port] != id {
		s.mu.Unlock()
		return
	}
	t := cur.clone()
	t.ports[port] = 0
	t.eps[id] = endpoint{}
	s.publish(t)
	s.mu.Unlock()
	s.grace()
	if done != nil {
		done()
	}
	s.mu.Lock()
	s.freeIDs = append(s.freeIDs, id)
	s.mu.Unlock()
}

// HandleUDP installs h for datagrams to port on any local address. It
// fails if the port is taken. h runs on worker threads, on several at once
// when there are several workers (each with its own batch), and must not
// block, keep the batch, or call RemoveHandler or Socket.Close.
func (s *Stack) HandleUDP(port uint16, h UDPHandler) error {
	if port == 0 || h == nil {
		return errors.New("stack: HandleUDP needs a port and a handler")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _, err := s.bindPort(port, endpoint{kind: epHandler, handler: h})
	return err
}

// RemoveHandler removes the handler of port. When it returns, no worker
// runs the handler any more. It waits for the workers, so it must not be
// called on a worker (from a handler).
func (s *Stack) RemoveHandler(port uint16) {
	s.mu.Lock()
	id := s.tab.Load().ports[port]
	ok := id != 0 && s.tab.Load().eps[id].kind == epHandler
	s.mu.Unlock()
	if ok {
		s.unbind(port, id, nil)
	}
}

// appAlloc allocates a buffer for an application.
func (s *Stack) appAlloc() (pkt.Index, bool) {
	s.appMu.Lock()
	i, ok := s.appCache.Alloc()
	s.appMu.Unlock()
	return i, ok
}

// appFree frees buffers on the application side.
func (s *Stack) appFree(idx []pkt.Index) {
	s.appMu.Lock()
	s.appCache.FreeN(idx)
	s.appMu.Unlock()
}

// SocketBuffers reports how many buffers all sockets' receive queues hold
// (what Config.SocketBudget bounds).
func (s *Stack) SocketBuffers() int { return int(s.rxHeld.Load()) }

// released accounts for k buffers taken out of so's receive queues.
func (s *Stack) released(so *Socket, k int) {
	so.rxHeld.Add(-int32(k))
	s.rxHeld.Add(-int64(k))
}

// Flush returns the application-side cache to the pool, for leak checks
// and shutdown.
func (s *Stack) Flush() {
	s.appMu.Lock()
	s.appCache.Flush()
	s.appMu.Unlock()
	if s.tcp != nil {
		s.tcp.flush()
	}
}
