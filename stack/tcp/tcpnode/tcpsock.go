package tcpnode

import (
	"errors"
	"net/netip"
	"sync/atomic"

	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/tcp"
)

// ErrNoTCP is returned by package sock's ListenTCP and DialTCP on a stack without
// Config.TCP.
var ErrNoTCP = errors.New("tcpnode: no TCP (Config.TCP not set)")

var errBadWorker = errors.New("tcpnode: no such worker")

// Listener is a TCP listener on every worker's engine: a connection
// lives on the worker that received its SYN. Its methods are safe for
// concurrent use and never block; package sock builds net.Listener on them.
type Listener struct {
	t      *TCP
	addr   netip.AddrPort
	ls     []*tcp.Listener // by worker
	next   atomic.Uint32   // worker Accept looks at first (fairness)
	ready  chan struct{}   // one slot: a connection may be acceptable
	closed atomic.Bool
}

// Conn is one TCP connection of a worker's engine. Its methods take the
// engine's lock, are safe for concurrent use and never block
// (tcp.ErrWouldBlock); package sock builds net.Conn on them.
type Conn struct {
	tw     *tcpWorker
	c      *tcp.Conn
	rready chan struct{} // one slot, for the reader: state changed
	wready chan struct{} // one slot, for the writer (or dialer): state changed
}

func newConn(tw *tcpWorker, c *tcp.Conn) *Conn {
	return &Conn{tw: tw, c: c, rready: make(chan struct{}, 1), wready: make(chan struct{}, 1)}
}

// notify is every engine's Config.Notify: it wakes the waiters of the
// connection or listener. It runs under tw.mu, once per object per entry
// point, and does not block.
func (tw *tcpWorker) notify(c *tcp.Conn, l *tcp.Listener, ev tcp.Event) {
	if c != nil {
		switch x := c.Context().(type) {
		case *Conn:
			signal(x.rready)
			signal(x.wready)
		case *GraphConn:
			tw.graphNotify(x, ev)
		}
		return
	}
	if tl := tw.listeners[l]; tl != nil {
		signal(tl.ready)
	} else if gl := tw.graphListeners[l]; gl != nil && ev&tcp.EventAcceptable != 0 {
		tw.graphAccept(l, gl)
	}
}

// signal does a non-blocking send on a one-slot channel.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Listen listens on addr (an IPv4 or IPv6 address of the host, 0.0.0.0
// for every IPv4 address, :: for every address of both families; the port
// must be set) on every worker.
func (t *TCP) Listen(addr netip.AddrPort, backlog int) (*Listener, error) {
	a := addr.Addr().Unmap().WithZone("")
	if !a.IsValid() {
		return nil, stack.ErrBadAddress
	}
	addr = netip.AddrPortFrom(a, addr.Port())
	tl := &Listener{t: t, addr: addr, ready: make(chan struct{}, 1)}
	for _, tw := range t.workers {
		tw.mu.Lock()
		l, err := tw.eng.Listen(addr, backlog)
		if err == nil {
			tw.listeners[l] = tl
		}
		tw.mu.Unlock()
		if err != nil {
			tl.Close()
			return nil, err
		}
		tl.ls = append(tl.ls, l)
	}
	return tl, nil
}

// Addr returns the address the listener was opened on.
func (tl *Listener) Addr() netip.AddrPort { return tl.addr }

// Ready returns the channel that receives when a connection may be
// acceptable (or the listener closed). Check Accept after each receive.
func (tl *Listener) Ready() <-chan struct{} { return tl.ready }

// Accept returns an established connection from any worker, or
// tcp.ErrWouldBlock, or tcp.ErrClosed after Close.
func (tl *Listener) Accept() (*Conn, error) {
	if tl.closed.Load() {
		return nil, tcp.ErrClosed
	}
	n := len(tl.ls)
	start := int(tl.next.Add(1))
	for k := range n {
		w := (start + k) % n
		tw := tl.t.workers[w]
		tw.mu.Lock()
		c, err := tl.ls[w].Accept()
		var tc *Conn
		if err == nil {
			tc = newConn(tw, c)
			c.SetContext(tc)
		}
		tw.mu.Unlock()
		if err == nil {
			return tc, nil
		}
		if err != tcp.ErrWouldBlock {
			return nil, err
		}
	}
	return nil, tcp.ErrWouldBlock
}

// Close stops listening on every worker and resets the connections not
// yet accepted.
func (tl *Listener) Close() {
	if tl.closed.Swap(true) {
		return
	}
	for w, l := range tl.ls {
		tw := tl.t.workers[w]
		tw.mu.Lock()
		l.Close()
		delete(tw.listeners, l)
		tw.mu.Unlock()
	}
	signal(tl.ready)
}

// Dial starts an active open from laddr (the unspecified address picks
// the source address of the route to raddr; port 0 an ephemeral port) to
// raddr, on the workers in turn. It returns at once: wait on Ready until
// State leaves SYN-SENT (Err is tcp.ErrRefused or tcp.ErrTimeout on
// failure). The answers may arrive on any worker's queue: the connection
// is in the flow table before its SYN leaves, and a worker that gets a
// segment of it hands it to the connection's worker.
func (t *TCP) Dial(laddr, raddr netip.AddrPort) (*Conn, error) {
	w := int((t.nextW.Add(1) - 1) % uint32(len(t.workers)))
	return t.DialOn(w, laddr, raddr)
}

// DialOn is Dial on the given worker's engine (0 <= worker < the stack's
// workers).
func (t *TCP) DialOn(worker int, laddr, raddr netip.AddrPort) (*Conn, error) {
	if worker < 0 || worker >= len(t.workers) {
		return nil, errBadWorker
	}
	ra := raddr.Addr().Unmap().WithZone("")
	if !ra.IsValid() || ra.IsUnspecified() || raddr.Port() == 0 {
		return nil, stack.ErrBadAddress
	}
	raddr = netip.AddrPortFrom(ra, raddr.Port())
	la := laddr.Addr().Unmap().WithZone("")
	if !la.IsValid() || la.IsUnspecified() {
		var ok bool
		la, ok = t.source(ra)
		if !ok {
			return nil, stack.ErrNoSource
		}
	}
	if la.Is4() != ra.Is4() {
		return nil, stack.ErrFamily
	}
	tw := t.workers[worker]
	tc := newConn(tw, nil)
	span := uint32(stack.EphemeralLast - stack.EphemeralFirst + 1)
	tries := uint32(1)
	if laddr.Port() == 0 {
		tries = span
	}
	for range tries {
		port := laddr.Port()
		if port == 0 {
			port = uint16(stack.EphemeralFirst + t.nextEph.Add(1)%span)
		}
		local := netip.AddrPortFrom(la, port)
		tw.mu.Lock()
		c, err := t.dialLocked(tw, worker, local, raddr)
		if err == nil {
			tc.c = c
			c.SetContext(tc)
		}
		tw.mu.Unlock()
		if err == nil {
			return tc, nil
		}
		if err != tcp.ErrInUse {
			return nil, err
		}
	}
	return nil, stack.ErrNoPorts
}

// dialLocked opens local -> remote on worker w's engine. With several
// workers it first claims the 4-tuple in the flow table, so that no other
// worker uses it and the answer to the SYN finds its way here. Caller
// holds tw.mu.
func (t *TCP) dialLocked(tw *tcpWorker, w int, local, remote netip.AddrPort) (*tcp.Conn, error) {
	if t.flows == nil {
		return tw.eng.Dial(local, remote)
	}
	k := flowKeyOf(local, remote)
	owner, added := t.flows.claim(k, w)
	if owner != w {
		return nil, tcp.ErrInUse
	}
	c, err := tw.eng.Dial(local, remote)
	if err != nil && added {
		t.flows.remove(k, w)
	}
	return c, err
}

// ReadReady and WriteReady return the channels that receive after the
// connection's state changed (data, space, connected, closed): one for
// the reader, one for the writer, each with one slot. Re-check after each
// receive.
func (tc *Conn) ReadReady() <-chan struct{} { return tc.rready }

// WriteReady: see ReadReady.
func (tc *Conn) WriteReady() <-chan struct{} { return tc.wready }

// Wake makes the pending or next receive on ReadReady and WriteReady
// return (to re-evaluate a deadline, say).
func (tc *Conn) Wake() {
	signal(tc.rready)
	signal(tc.wready)
}

// LocalAddr returns the connection's local address and port.
func (tc *Conn) LocalAddr() netip.AddrPort { return tc.c.LocalAddr() }

// RemoteAddr returns the peer's address and port.
func (tc *Conn) RemoteAddr() netip.AddrPort { return tc.c.RemoteAddr() }

// State returns the connection's state.
func (tc *Conn) State() tcp.State {
	tc.tw.mu.Lock()
	st := tc.c.State()
	tc.tw.mu.Unlock()
	return st
}

// Err returns why the connection closed (nil while open or after an
// orderly close).
func (tc *Conn) Err() error {
	tc.tw.mu.Lock()
	err := tc.c.Err()
	tc.tw.mu.Unlock()
	return err
}

// Read is tcp.Conn.Read under the engine's lock.
func (tc *Conn) Read(p []byte) (int, error) {
	tc.tw.mu.Lock()
	n, err := tc.c.Read(p)
	tc.tw.mu.Unlock()
	return n, err
}

// Write is tcp.Conn.Write under the engine's lock.
func (tc *Conn) Write(p []byte) (int, error) {
	tc.tw.mu.Lock()
	n, err := tc.c.Write(p)
	tc.tw.mu.Unlock()
	return n, err
}

// CloseWrite is tcp.Conn.CloseWrite under the engine's lock.
func (tc *Conn) CloseWrite() error {
	tc.tw.mu.Lock()
	err := tc.c.CloseWrite()
	tc.tw.mu.Unlock()
	return err
}

// Close is tcp.Conn.Close under the engine's lock.
func (tc *Conn) Close() error {
	tc.tw.mu.Lock()
	err := tc.c.Close()
	tc.tw.mu.Unlock()
	return err
}

// Abort is tcp.Conn.Abort under the engine's lock.
func (tc *Conn) Abort() {
	tc.tw.mu.Lock()
	tc.c.Abort()
	tc.tw.mu.Unlock()
}

// SetNoDelay is tcp.Conn.SetNoDelay under the engine's lock.
func (tc *Conn) SetNoDelay(on bool) {
	tc.tw.mu.Lock()
	tc.c.SetNoDelay(on)
	tc.tw.mu.Unlock()
}

// SetKeepAlive is tcp.Conn.SetKeepAlive under the engine's lock (times in
// nanoseconds; zero keeps the engine's default).
func (tc *Conn) SetKeepAlive(on bool, idle, interval int64, count int) {
	tc.tw.mu.Lock()
	tc.c.SetKeepAlive(on, idle, interval, count)
	tc.tw.mu.Unlock()
}

// SetLingerZero is tcp.Conn.SetLingerZero under the engine's lock.
func (tc *Conn) SetLingerZero(on bool) {
	tc.tw.mu.Lock()
	tc.c.SetLingerZero(on)
	tc.tw.mu.Unlock()
}

// Wake makes the pending or next receive on Ready return.
func (tl *Listener) Wake() { signal(tl.ready) }

// source returns the source address for a connection to dst: the route's
// interface address (Config.Source or Source6 by dst's family).
func (t *TCP) source(dst netip.Addr) (netip.Addr, bool) {
	if dst.Is4() {
		if t.cfg.Source == nil {
			return netip.Addr{}, false
		}
		src, ok := t.cfg.Source(dst.As4())
		return netip.AddrFrom4(src), ok
	}
	if t.cfg.Source6 == nil {
		return netip.Addr{}, false
	}
	src, ok := t.cfg.Source6(dst.As16())
	return netip.AddrFrom16(src), ok
}
