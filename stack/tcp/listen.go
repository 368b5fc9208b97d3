package tcp

import (
	"net/netip"

	"github.com/vecnet/vecnet/wire"
)

// Listener accepts connections on a local port (RFC 9293 LISTEN). Its
// backlog bounds the connections in SYN-RECEIVED plus those waiting for
// Accept; past it, SYNs are answered with SYN cookies (Config.SynCookies)
// or dropped.
type Listener struct {
	e        *Engine
	addr     netip.AddrPort
	backlog  int
	pending  int     // connections in SYN-RECEIVED
	queue    []*Conn // established, waiting for Accept
	closed   bool
	dirty    bool
	events   Event
	lastSlot uint32
}

// Listen starts listening on addr (an unspecified address listens on all
// of the host's addresses).
func (e *Engine) Listen(addr netip.AddrPort, backlog int) (*Listener, error) {
	if a := addr.Addr(); !a.IsValid() {
		return nil, ErrNotIPv4
	}
	if e.listeners[addr.Port()] != nil {
		return nil, ErrInUse
	}
	l := &Listener{e: e, addr: addr, backlog: max(backlog, 1)}
	e.listeners[addr.Port()] = l
	return l, nil
}

// Addr returns the address the listener was opened on.
func (l *Listener) Addr() netip.AddrPort { return l.addr }

// Accept returns an established connection, or ErrWouldBlock.
func (l *Listener) Accept() (*Conn, error) {
	if l.closed {
		return nil, ErrClosed
	}
	for len(l.queue) > 0 {
		c := l.queue[0]
		copy(l.queue, l.queue[1:])
		l.queue[len(l.queue)-1] = nil
		l.queue = l.queue[:len(l.queue)-1]
		c.listener = nil
		return c, nil
	}
	return nil, ErrWouldBlock
}

// Close stops listening and resets the connections not yet accepted.
func (l *Listener) Close() {
	if l.closed {
		return
	}
	l.closed = true
	e := l.e
	e.now = e.clock.Now()
	delete(e.listeners, l.addr.Port())
	for i := len(e.all) - 1; i >= 0; i-- { // backwards: terminate moves the last entry to i
		c := e.all[i]
		if c.listener == l && c.state != StateClosed {
			c.listener = nil
			c.sendRST(c.sndNxt)
			c.terminate(ErrAborted)
		}
	}
	for _, c := range l.queue {
		c.listener = nil
		if c.state != StateClosed {
			c.sendRST(c.sndNxt)
			c.terminate(ErrAborted)
		}
	}
	l.queue, l.pending = nil, 0
	e.finish()
}

func (l *Listener) notify(ev Event) {
	l.events |= ev
	if !l.dirty {
		l.dirty = true
		l.e.dirtyL = append(l.e.dirtyL, l)
	}
}

// forget drops c (which is closing) from the listener's counts.
func (l *Listener) forget(c *Conn) {
	if c.state == StateSynReceived {
		l.pending--
	}
	for i, q := range l.queue {
		if q == c {
			copy(l.queue[i:], l.queue[i+1:])
			l.queue[len(l.queue)-1] = nil
			l.queue = l.queue[:len(l.queue)-1]
			break
		}
	}
	c.listener = nil
}

// established moves c from SYN-RECEIVED to the accept queue.
func (l *Listener) established(c *Conn) {
	l.pending--
	l.queue = append(l.queue, c)
	l.notify(EventAcceptable)
}

// segmentArrives handles a segment for the listener (RFC 9293 3.10.7.2).
func (l *Listener) segmentArrives(s *Segment, k *connKey, o *wire.TCPOptions) {
	e := l.e
	t := s.TCP
	f := t.Flags()
	switch {
	case f&wire.TCPFlagRST != 0:
		return
	case f&wire.TCPFlagACK != 0:
		if f&wire.TCPFlagSYN == 0 && e.cfg.SynCookies && l.cookieACK(s, k) {
			return
		}
		e.count(ErrBadCookie)
		e.replyRST(s)
		return
	case f&wire.TCPFlagSYN == 0:
		return
	}
	// Half-open connections reserve their buffers like any other; those of
	// one listener may hold at most half the budget, so that a SYN flood
	// from addresses that never answer cannot take all of it from the
	// connections being established (from cookies) and served.
	halfOpenFull := (l.pending+1)*(e.cfg.SendBuffer+e.cfg.RecvBuffer) > e.budget.limit/2
	if l.pending+len(l.queue) >= l.backlog || halfOpenFull {
		if e.cfg.SynCookies {
			l.sendCookie(s, k, o)
			return
		}
		e.count(ErrBacklogFull)
		return
	}
	c, err := e.newConn(*k, s.Dst, s.Src)
	if err != nil {
		return
	}
	c.listener = l
	c.state = StateSynReceived
	l.pending++
	c.acceptSyn(t, o)
	c.forceSyn = true
	e.addConn(c)
	e.markDirty(c)
}

// acceptSyn records the peer's SYN: its sequence number and options.
func (c *Conn) acceptSyn(t wire.TCP, o *wire.TCPOptions) {
	c.irs = Seq(t.Seq())
	c.rcvNxt = c.irs + 1
	c.rcvAdv = c.rcvNxt
	c.lastAckSent = c.rcvNxt
	c.sndWnd = int(t.Window()) // never scaled in a SYN
	c.sndWl1, c.sndWl2 = c.irs, Seq(t.Ack())
	c.maxSndWnd = c.sndWnd
	mss := 536
	if o.HasMSS {
		mss = int(o.MSS)
	}
	c.mss = max(min(mss, c.e.mssFor(c.v6)), 64)
	c.wsOK = o.HasWindowScale && (c.state == StateSynReceived || c.wsOK)
	if c.wsOK {
		c.sndShift = o.WindowScale
	} else {
		c.rcvShift = 0
	}
	c.sackOK = o.SACKPermitted && !c.e.cfg.NoSACK
	c.tsOK = o.HasTimestamps && !c.e.cfg.NoTimestamps
	if c.tsOK {
		c.tsRecent = o.TSVal
	}
	c.cc.init(c.e.cfg.Congestion, c.mss)
}

// SYN cookies (used when the backlog is full): the ISN of the SYN-ACK
// encodes a 64-second time slot (top 5 bits), an MSS index (next 3 bits)
// and 24 bits of the keyed hash of the 4-tuple, the slot and the peer's
// ISN, so the ACK that completes the handshake can rebuild the connection
// without any state kept for the SYN. Window scaling, SACK and timestamps
// are not encoded: a connection made from a cookie runs without them.
var cookieMSS = [8]uint16{536, 1024, 1220, 1300, 1360, 1400, 1440, 1460}

func cookieSlot(now int64) uint32 { return uint32(now / 64e9) }

func (e *Engine) cookie(k *connKey, peerISN Seq, slot uint32, mssIdx int) Seq {
	h := e.isnHash(k, slot^uint32(peerISN)*2654435761)
	return Seq(slot&31<<27 | uint32(mssIdx)<<24 | h&0xffffff)
}

func (l *Listener) sendCookie(s *Segment, k *connKey, o *wire.TCPOptions) {
	e := l.e
	idx := 0
	for i, m := range cookieMSS {
		if o.HasMSS && m <= o.MSS && int(m) <= e.mssFor(isV6(s.Dst.Addr())) {
			idx = i
		}
	}
	slot := cookieSlot(e.now)
	isn := e.cookie(k, Seq(s.TCP.Seq()), slot, idx)
	e.count(StatSynCookieSent)
	var opts wire.TCPOptions
	opts.HasMSS, opts.MSS = true, uint16(e.mssFor(isV6(s.Dst.Addr())))
	e.emit(s.Dst, s.Src, isn, Seq(s.TCP.Seq())+1, wire.TCPFlagSYN|wire.TCPFlagACK, 0xffff, &opts, nil, 0, 0)
}

// cookieACK makes a connection from a valid cookie in the ACK s.
func (l *Listener) cookieACK(s *Segment, k *connKey) bool {
	e := l.e
	t := s.TCP
	isn := Seq(t.Ack()) - 1
	peerISN := Seq(t.Seq()) - 1
	slot := cookieSlot(e.now)
	v := uint32(isn)
	idx := int(v >> 24 & 7)
	ok := false
	for back := uint32(0); back < 2 && !ok; back++ {
		sl := slot - back
		if sl&31 == v>>27 && e.cookie(k, peerISN, sl, idx) == isn {
			ok = true
		}
	}
	if !ok {
		return false
	}
	if len(l.queue) >= l.backlog {
		e.count(ErrBacklogFull) // valid, but no room: the peer retransmits
		return true
	}
	c, err := e.newConn(*k, s.Dst, s.Src)
	if err != nil {
		return true
	}
	e.count(StatSynCookieOK)
	c.iss = isn
	c.sndUna, c.sndNxt, c.sndMax, c.sndBase, c.recover = isn+1, isn+1, isn+1, isn+1, isn
	c.irs, c.rcvNxt = peerISN, peerISN+1
	c.rcvAdv, c.lastAckSent = c.rcvNxt, c.rcvNxt
	c.rcvShift, c.sndShift = 0, 0
	c.mss = min(int(cookieMSS[idx]), e.mssFor(c.v6))
	c.cc.init(e.cfg.Congestion, c.mss)
	c.sndWnd, c.maxSndWnd = int(t.Window()), int(t.Window())
	c.sndWl1, c.sndWl2 = Seq(t.Seq()), Seq(t.Ack())
	c.state = StateEstablished
	c.listener = l
	e.addConn(c)
	l.pending++ // established() takes it back
	l.established(c)
	if len(t.Payload()) > 0 || t.Flags()&wire.TCPFlagFIN != 0 {
		var o wire.TCPOptions
		c.segmentArrives(s, &o)
	}
	return true
}

// replyRST answers a segment that has no connection (RFC 9293 3.10.7.1).
func (e *Engine) replyRST(s *Segment) {
	t := s.TCP
	f := t.Flags()
	if f&wire.TCPFlagRST != 0 {
		return
	}
	if f&wire.TCPFlagACK != 0 {
		e.emit(s.Dst, s.Src, Seq(t.Ack()), 0, wire.TCPFlagRST, 0, nil, nil, 0, 0)
	} else {
		ack := Seq(t.Seq()).Add(segLen(t))
		e.emit(s.Dst, s.Src, 0, ack, wire.TCPFlagRST|wire.TCPFlagACK, 0, nil, nil, 0, 0)
	}
	e.count(StatRSTSent)
}

// segLen returns the sequence space a segment occupies (data, SYN, FIN).
func segLen(t wire.TCP) int {
	n := len(t) - t.HeaderLen()
	if t.Flags()&wire.TCPFlagSYN != 0 {
		n++
	}
	if t.Flags()&wire.TCPFlagFIN != 0 {
		n++
	}
	return n
}
