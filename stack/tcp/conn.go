package tcp

import (
	"errors"
	"net/netip"
)

// State is a connection state (RFC 9293 section 3.3.2).
type State uint8

// States.
const (
	StateClosed State = iota
	StateSynSent
	StateSynReceived
	StateEstablished
	StateFinWait1
	StateFinWait2
	StateCloseWait
	StateClosing
	StateLastAck
	StateTimeWait
)

var stateNames = [...]string{"CLOSED", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2",
	"CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"}

// String returns the state name as RFC 9293 spells it.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "?"
}

// Errors returned by the API and kept as a connection's Err.
var (
	ErrWouldBlock   = errors.New("tcp: operation would block")
	ErrRefused      = errors.New("tcp: connection refused")
	ErrReset        = errors.New("tcp: connection reset by peer")
	ErrTimeout      = errors.New("tcp: connection timed out")
	ErrAborted      = errors.New("tcp: connection aborted")
	ErrClosed       = errors.New("tcp: use of closed connection")
	ErrNotConnected = errors.New("tcp: not connected")
	ErrInUse        = errors.New("tcp: address in use")
	ErrNoBuffers    = errors.New("tcp: buffer budget exhausted")
	ErrNotIPv4      = errors.New("tcp: only IPv4 is supported")
	ErrFamilies     = errors.New("tcp: local and remote addresses of different families")
	ErrShutdown     = errors.New("tcp: write after CloseWrite")
)

const never = int64(1<<63 - 1)

// Conn is one TCP connection. Its methods are the API the socket layer
// builds on; they never block (ErrWouldBlock) and run on the engine's
// worker.
type Conn struct {
	e             *Engine
	key           connKey
	local, remote netip.AddrPort
	v6            bool // an IPv6 connection (MSS from the IPv6 MTU)
	state         State
	err           error
	softErr       error // the last ICMP soft error (icmp.go), reported on a timeout
	softErrUna    Seq   // sndUna when softErr came
	allIndex      int
	reserved      int
	listener      *Listener // passive open, until accepted
	context       any
	dirty         bool
	events        Event

	// send sequence space
	iss, sndUna, sndNxt, sndMax Seq
	sndBase                     Seq // sequence number of snd's first byte
	sndWnd, maxSndWnd           int
	sndWl1, sndWl2              Seq
	sndShift                    uint8
	snd                         byteRing
	finQueued                   bool // CloseWrite called: FIN follows the data
	finSeq                      Seq  // FIN's sequence number once finQueued
	mss                         int  // send MSS (options excluded)

	// receive sequence space
	irs, rcvNxt Seq
	rcvShift    uint8
	rcvAdv      Seq // right edge of the window last advertised
	rcv         byteRing
	ooo         oooList
	rcvFin      bool // FIN received (rcvNxt counts it)
	rcvFinOOO   bool // a FIN arrived out of order at rcvFinAt
	rcvFinAt    Seq
	readClosed  bool // Close called: no more reads
	writeClosed bool

	// options
	tsOK, sackOK, wsOK bool
	tsRecent           uint32
	tsOffset           uint32
	lastAckSent        Seq
	sack               scoreboard
	dsack              seqRange // data received twice, for the next segment's first SACK block
	dsackOn            bool
	rack               rack // RACK's state and the sent ranges (rack.go)

	// RTT and timers (RFC 6298)
	srtt, rttvar, rto int64
	rttTiming         bool
	rttSeq            Seq
	rttStart          int64
	backoff           int
	rtoAt, delackAt   int64
	persistAt, keepAt int64
	closeAt           int64 // TIME_WAIT end or FIN_WAIT_2 timeout
	tlpAt             int64 // tail loss probe timeout
	rackAt            int64 // RACK's reordering timer (RFC 8985 section 6.3)
	tlpOut            bool  // a probe is out: no other until new data is acknowledged
	tlpProbe          bool  // send the probe now
	wheelAt           int64 // deadline of the live timer wheel entry (never: none)
	persistBackoff    int
	keepProbes        int
	keepIdle          int64
	keepIntvl         int64
	keepCount         int
	keepalive         bool
	lastRecv          int64

	// congestion
	cc            congestion
	dupAcks       int
	inRecovery    bool
	recover       Seq
	ackNow        bool // send an ACK in this entry point's output
	unackedSegs   int  // full segments received since the last ACK
	noDelay       bool
	lingerZero    bool
	forceSyn      bool // retransmit SYN or SYN-ACK
	probe         bool // send a zero-window probe now
	keepProbeNow  bool
	sentWndUpdate bool
	holdACKs      bool // SetHoldACKs (view.go)
	ackHeld       bool // in the engine's held list
}

// Dial starts an active open from local to remote (RFC 9293 OPEN). The
// connection reports EventConnected or EventClosed (with Err ErrRefused or
// ErrTimeout). A local port of 0 is not chosen for the caller: the socket
// layer picks ephemeral ports.
func (e *Engine) Dial(local, remote netip.AddrPort) (*Conn, error) {
	e.now = e.clock.Now()
	if !sameFamily(local.Addr(), remote.Addr()) {
		return nil, ErrFamilies
	}
	k := keyOf(local, remote)
	if old := e.conns.lookup(k); old != nil {
		if old.state != StateTimeWait {
			return nil, ErrInUse
		}
		// Safe reuse (RFC 6528): the new ISN comes from the clock-driven
		// generator and is above the old incarnation's sequence space.
		e.count(StatTimeWaitReuse)
		old.terminate(nil)
	}
	c, err := e.newConn(k, local, remote)
	if err != nil {
		return nil, err
	}
	c.state = StateSynSent
	c.forceSyn = true
	c.wsOK, c.sackOK, c.tsOK = true, !e.cfg.NoSACK, !e.cfg.NoTimestamps // offered; settled by the SYN-ACK
	e.addConn(c)
	e.markDirty(c)
	e.finish()
	return c, nil
}

// newConn makes a connection with buffers reserved from the budget.
func (e *Engine) newConn(k connKey, local, remote netip.AddrPort) (*Conn, error) {
	need := e.cfg.SendBuffer + e.cfg.RecvBuffer
	if !e.budget.reserve(need) {
		e.count(ErrBudget)
		return nil, ErrNoBuffers
	}
	c := &Conn{e: e, key: k, local: local, remote: remote, allIndex: -1, reserved: need,
		snd: e.sndPool.ring(e.cfg.SendBuffer), rcv: e.rcvPool.ring(e.cfg.RecvBuffer),
		mss: 536, rto: e.cfg.InitialRTO, rtoAt: never, delackAt: never, persistAt: never, keepAt: never,
		closeAt: never, tlpAt: never, rackAt: never, wheelAt: never, keepIdle: e.cfg.KeepIdle, keepIntvl: e.cfg.KeepInterval, keepCount: e.cfg.KeepCount,
		lastRecv: e.now}
	c.iss = e.isn(&k, e.now)
	c.sndUna, c.sndNxt, c.sndMax, c.sndBase, c.recover = c.iss, c.iss, c.iss, c.iss+1, c.iss
	c.tsOffset = e.isnHash(&k, 1)
	c.rack.init(c.iss)
	for c.rcvShift = 0; c.rcvShift < 14 && e.cfg.RecvBuffer>>c.rcvShift > 0xffff; c.rcvShift++ {
	}
	c.v6 = isV6(local.Addr())
	c.cc.init(e.cfg.Congestion, e.mssFor(c.v6))
	return c, nil
}

// SetContext attaches the layer above's object (its socket) to c, for
// Notify to find without a lookup.
func (c *Conn) SetContext(v any) { c.context = v }

// Context returns what SetContext attached.
func (c *Conn) Context() any { return c.context }

// State returns the connection state.
func (c *Conn) State() State { return c.state }

// Err returns why the connection closed (nil while open or after an
// orderly close).
func (c *Conn) Err() error { return c.err }

// LocalAddr returns the local address and port.
func (c *Conn) LocalAddr() netip.AddrPort { return c.local }

// RemoteAddr returns the peer's address and port.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.remote }

// MSS returns the send MSS in use.
func (c *Conn) MSS() int { return c.mss }

// Read copies received data into p. It returns 0, nil at the end of the
// stream (the peer's FIN, all data read), ErrWouldBlock when no data is
// there yet, or the connection's error.
func (c *Conn) Read(p []byte) (int, error) {
	if c.readClosed {
		return 0, ErrClosed
	}
	if c.rcv.len == 0 {
		switch {
		case c.err != nil:
			return 0, c.err
		case c.rcvFin:
			return 0, nil
		case c.state == StateClosed:
			return 0, ErrNotConnected
		}
		return 0, ErrWouldBlock
	}
	e := c.e
	e.enter()
	n := c.rcv.read(p)
	if c.rcv.len == 0 {
		if c.ooo.n == 0 {
			c.rcv.head = 0 // nothing stored: the next data starts at the beginning (as Consume does)
		}
		c.releaseReadBuffer()
	}
	// Window update (receiver SWS avoidance, RFC 9293 3.8.6.2.2): announce
	// the opened window once it grew by an MSS or half the buffer, and
	// only when the window the peer knows is below half the new one (the
	// ACKs of a busy connection carry the window anyway).
	cur, nw := c.rcvAdv.Sub(c.rcvNxt), c.rcvWindow()
	if c.state != StateClosed && nw-cur >= min(c.e.mssFor(c.v6), len(c.rcv.buf)/2) && cur < nw/2 {
		c.ackNow = true
		e.markDirty(c)
		e.leave()
	}
	return n, nil
}

// Readable returns the bytes that Read can return without blocking.
func (c *Conn) Readable() int { return c.rcv.len }

// Write queues as much of p as the send buffer takes and sends what the
// windows allow. It returns ErrWouldBlock with n < len(p) when the buffer
// is full (EventWritable follows when space frees).
func (c *Conn) Write(p []byte) (int, error) {
	switch {
	case c.err != nil:
		return 0, c.err
	case c.writeClosed:
		return 0, ErrShutdown
	case c.state == StateClosed:
		return 0, ErrNotConnected
	case c.state != StateEstablished && c.state != StateCloseWait && c.state != StateSynSent && c.state != StateSynReceived:
		return 0, ErrShutdown
	}
	e := c.e
	e.enter()
	n := c.snd.write(p)
	if n > 0 {
		e.markDirty(c)
		e.leave()
	}
	if n < len(p) {
		return n, ErrWouldBlock
	}
	return n, nil
}

// Writable returns the free space in the send buffer.
func (c *Conn) Writable() int { return c.snd.free() }

// CloseWrite sends a FIN after the queued data (half-close, RFC 9293 CLOSE
// in ESTABLISHED or CLOSE-WAIT); reading goes on.
func (c *Conn) CloseWrite() error {
	if c.writeClosed {
		return nil
	}
	switch c.state {
	case StateClosed:
		return ErrNotConnected
	case StateSynSent:
		c.writeClosed = true
		c.e.enter()
		c.terminate(nil)
		c.e.leave()
		return nil
	}
	e := c.e
	e.enter()
	c.writeClosed, c.finQueued = true, true
	c.finSeq = c.sndBase.Add(c.snd.len)
	switch c.state {
	case StateEstablished, StateSynReceived:
		c.setState(StateFinWait1)
	case StateCloseWait:
		c.setState(StateLastAck)
	}
	e.markDirty(c)
	e.leave()
	return nil
}

// Close closes both directions. With unread data, or with linger set to
// zero, it aborts (RST, RFC 2525); otherwise it sends a FIN after the
// queued data and the engine finishes the close on its own.
func (c *Conn) Close() error {
	if c.readClosed {
		return nil
	}
	c.readClosed = true
	if c.state == StateClosed {
		return nil
	}
	c.releaseReadBuffer()
	if c.rcv.len > 0 || c.lingerZero {
		c.Abort()
		return nil
	}
	return c.CloseWrite()
}

// Abort resets the connection: it sends a RST and drops all state.
func (c *Conn) Abort() {
	if c.state == StateClosed {
		return
	}
	e := c.e
	e.enter()
	if c.state != StateSynSent && c.state != StateTimeWait {
		c.sendRST(c.sndNxt)
	}
	c.terminate(ErrAborted)
	e.leave()
}

// SetNoDelay turns Nagle's algorithm off (true) or on (false, the default).
func (c *Conn) SetNoDelay(on bool) {
	c.noDelay = on
	if on && c.state != StateClosed {
		c.e.enter()
		c.e.markDirty(c)
		c.e.leave()
	}
}

// SetKeepAlive turns keepalive on or off with the given idle time,
// interval and probe count (zero values keep the engine's defaults).
func (c *Conn) SetKeepAlive(on bool, idle, interval int64, count int) {
	c.keepalive = on
	if idle > 0 {
		c.keepIdle = idle
	}
	if interval > 0 {
		c.keepIntvl = interval
	}
	if count > 0 {
		c.keepCount = count
	}
	c.keepProbes = 0
	c.armKeepalive()
	c.e.schedule(c)
}

// SetLingerZero makes Close abort with a RST (SO_LINGER with a zero
// timeout). A positive linger timeout is the socket layer's to wait for.
func (c *Conn) SetLingerZero(on bool) { c.lingerZero = on }

// setState moves to s.
func (c *Conn) setState(s State) { c.state = s }

// notify records ev for dispatch at the end of the entry point.
func (c *Conn) notify(ev Event) {
	c.events |= ev
	c.e.markDirty(c)
}

// terminate moves the connection to CLOSED with err, leaving the engine.
func (c *Conn) terminate(err error) {
	if c.state == StateClosed {
		return
	}
	if c.listener != nil {
		c.listener.forget(c)
	}
	c.state = StateClosed
	if c.err == nil {
		c.err = err
	}
	c.rtoAt, c.delackAt, c.persistAt, c.keepAt, c.closeAt, c.tlpAt, c.rackAt = never, never, never, never, never, never, never
	c.e.removeConn(c)
	c.notify(EventClosed | EventReadable | EventWritable)
}
