package tcp

import "github.com/vecnet/vecnet/wire"

const (
	flagFIN = wire.TCPFlagFIN
	flagSYN = wire.TCPFlagSYN
	flagRST = wire.TCPFlagRST
	flagACK = wire.TCPFlagACK
	flagPSH = wire.TCPFlagPSH
)

// segmentArrives processes a segment for c (RFC 9293 section 3.10.7, with
// the checks of RFC 5961 and RFC 7323).
func (c *Conn) segmentArrives(s *Segment, o *wire.TCPOptions) {
	e := c.e
	t := s.TCP
	if c.state == StateSynSent {
		c.synSentArrives(t, o)
		return
	}
	flags := t.Flags()
	seq, ack := Seq(t.Seq()), Seq(t.Ack())
	payload := t.Payload()
	if c.state == StateTimeWait && flags&(flagSYN|flagACK|flagRST) == flagSYN && c.timeWaitReusable(seq, o) {
		// A new incarnation (RFC 6191): the SYN is above the old sequence
		// space (or newer by timestamp), so the old one can go.
		e.count(StatTimeWaitReuse)
		c.terminate(nil)
		if l := e.listenerFor(s); l != nil {
			k := c.key
			l.segmentArrives(s, &k, o)
		}
		return
	}
	if c.state == StateSynReceived && flags&flagSYN != 0 && seq == c.irs {
		if flags&flagACK == 0 {
			c.forceSyn = true // the peer did not get our SYN-ACK
			e.markDirty(c)
			return
		}
		// Simultaneous open: the peer's SYN-ACK repeats the SYN we have.
		flags &^= flagSYN
		seq++
	}
	fin := flags&flagFIN != 0
	n := len(payload)
	if fin {
		n++
	}

	// PAWS (RFC 7323 section 5.3).
	if c.tsOK && o.HasTimestamps && flags&flagRST == 0 && int32(o.TSVal-c.tsRecent) < 0 {
		e.count(ErrPAWS)
		c.ackNow = true
		e.markDirty(c)
		return
	}

	// 1. Sequence number check.
	if !c.acceptable(seq, n) {
		e.count(ErrOutOfWindow)
		if end := seq.Add(len(payload)); len(payload) > 0 && end.LEQ(c.rcvNxt) && c.rcvNxt.Sub(seq) <= len(c.rcv.buf) {
			c.reportDuplicate(seq, end) // data received twice
		}
		if flags&flagRST == 0 {
			c.ackNow = true
			if c.state == StateSynReceived {
				c.forceSyn = true
			}
			if c.state == StateTimeWait && fin {
				c.closeAt = e.now + 2*e.cfg.MSL
			}
			e.markDirty(c)
		}
		return
	}

	// 2. RST (RFC 5961 section 3.2: only an exact match resets).
	if flags&flagRST != 0 {
		if seq != c.rcvNxt {
			e.count(ErrRSTInvalid)
			c.challengeACK()
			return
		}
		switch c.state {
		case StateSynReceived:
			if c.listener != nil {
				c.terminate(ErrReset) // back to LISTEN: the listener forgets it
			} else {
				c.terminate(ErrRefused)
			}
		case StateClosing, StateLastAck, StateTimeWait:
			c.terminate(nil)
		default:
			c.terminate(ErrReset)
		}
		return
	}

	// 4. SYN in a synchronized state (RFC 5961 section 4.2).
	if flags&flagSYN != 0 {
		c.challengeACK()
		return
	}

	// 5. ACK.
	if flags&flagACK == 0 {
		e.count(ErrNoACK)
		return
	}
	if c.state == StateSynReceived {
		if ack.LEQ(c.sndUna) || ack.GT(c.sndMax) {
			e.count(ErrBadACK)
			c.sendRST(ack)
			return
		}
		c.setState(StateEstablished)
		if l := c.listener; l != nil {
			l.established(c)
		} else {
			c.notify(EventConnected | EventWritable)
		}
	}
	// RFC 5961 section 5.2: an ACK must be within what was sent and at
	// most one window old.
	if ack.GT(c.sndMax) {
		e.count(ErrBadACK)
		c.ackNow = true
		e.markDirty(c)
		return
	}
	if ack.LT(c.sndUna.Add(-max(c.maxSndWnd, 1))) {
		e.count(ErrBadACK)
		c.challengeACK()
		return
	}
	// RFC 7323 section 4.3: TS.Recent follows segments that cover the
	// last ACK sent.
	if c.tsOK && o.HasTimestamps && seq.LEQ(c.lastAckSent) && int32(o.TSVal-c.tsRecent) >= 0 {
		c.tsRecent = o.TSVal
	}
	c.lastRecv = e.now
	c.keepProbes = 0
	c.armKeepalive()
	e.markDirty(c)
	c.processACK(t, o, seq, ack, len(payload) == 0 && !fin)
	if c.state == StateClosed {
		return
	}

	// 7. Data.
	if len(payload) > 0 {
		switch c.state {
		case StateEstablished, StateFinWait1, StateFinWait2:
			if c.readClosed {
				e.count(ErrDataAfterClose)
				c.sendRST(c.sndNxt)
				c.terminate(ErrReset)
				return
			}
			if !c.receiveData(seq, payload) {
				fin = false // the FIN follows bytes that did not fit
			}
		default:
			fin = false // the peer's FIN came already: no data after it
		}
	}

	// 8. FIN.
	if fin {
		at := seq.Add(len(payload))
		switch {
		case at == c.rcvNxt:
			c.finArrives()
		case at.GT(c.rcvNxt) && !c.rcvFin:
			c.rcvFinOOO, c.rcvFinAt = true, at
			c.ackNow = true
		}
	}
}

// acceptable is the segment acceptability test of RFC 9293 section 3.10.7.4
// against the window last advertised.
func (c *Conn) acceptable(seq Seq, n int) bool {
	wnd := max(c.rcvAdv.Sub(c.rcvNxt), 0)
	switch {
	case n == 0 && wnd == 0:
		return seq == c.rcvNxt
	case n == 0:
		return seq.InRange(c.rcvNxt, c.rcvNxt.Add(wnd))
	case wnd == 0:
		return false
	}
	end := seq.Add(n - 1)
	return seq.InRange(c.rcvNxt, c.rcvNxt.Add(wnd)) || end.InRange(c.rcvNxt, c.rcvNxt.Add(wnd))
}

// challengeACK sends an ACK for the current state (RFC 5961), within the
// global rate limit.
func (c *Conn) challengeACK() {
	if c.e.challengeAllowed() {
		c.ackNow = true
		c.e.markDirty(c)
	}
}

// timeWaitReusable reports whether a SYN may replace this TIME-WAIT
// connection: its timestamp is newer, or (without timestamps) its sequence
// number is above the old connection's.
func (c *Conn) timeWaitReusable(seq Seq, o *wire.TCPOptions) bool {
	if c.tsOK && o.HasTimestamps {
		return int32(o.TSVal-c.tsRecent) > 0
	}
	return seq.GT(c.rcvNxt)
}

// processACK handles the acknowledgment and window fields (RFC 9293
// 3.10.7.4 fifth step) with RTT sampling, congestion control, fast
// retransmit and recovery.
func (c *Conn) processACK(t wire.TCP, o *wire.TCPOptions, seq, ack Seq, pure bool) {
	e := c.e
	wnd := int(t.Window()) << c.sndShift
	sackGrew, dsack := false, false
	if c.sackOK && o.NSACK > 0 {
		sackGrew, dsack = c.sack.update(o, ack, c.sndMax)
	} else if c.sack.n > 0 && ack.GT(c.sndUna) {
		c.sack.trim(ack)
	}
	switch {
	case ack.GT(c.sndUna):
		acked := ack.Sub(c.sndUna)
		switch {
		case c.rttTiming && ack.GEQ(c.rttSeq):
			c.rttSample(e.now - c.rttStart)
			c.rack.sampleMinRTT(e.now - c.rttStart)
			c.rttTiming = false
		case c.tsOK && o.HasTimestamps && o.TSEcr != 0 && c.backoff == 0:
			c.rttSample(int64(e.tsNow()+c.tsOffset-o.TSEcr) * 1e6)
		}
		if ack.GT(c.sndBase) {
			d := min(ack.Sub(c.sndBase), c.snd.len)
			if d > 0 {
				c.snd.discard(d)
				if c.snd.len == 0 {
					// All acknowledged: the next data starts at the beginning, so a
					// request-response connection keeps reusing the same few
					// (cached, mapped) pages instead of walking the whole buffer.
					c.snd.head = 0
				}
				c.sndBase = c.sndBase.Add(d)
				c.notify(EventWritable)
			}
		}
		c.sndUna = ack
		if c.sndNxt.LT(ack) {
			c.sndNxt = ack
		}
		c.backoff = 0
		c.tlpOut = false
		if c.inRecovery {
			if ack.GEQ(c.recover) {
				// Full acknowledgment (RFC 6582 section 3.2 step 3).
				c.inRecovery = false
				c.cc.cwnd = min(c.cc.ssthresh, max(c.sndMax.Sub(c.sndUna), c.cc.mss)+c.cc.mss)
				c.rackRecoveryEnded()
			} else if !c.sackOK {
				// Partial acknowledgment: retransmit the next hole and
				// deflate the window by what was acknowledged.
				c.rexmitUna()
				c.cc.cwnd = max(c.cc.cwnd-acked+min(acked, c.cc.mss), c.cc.mss)
			}
		} else if c.state != StateSynReceived {
			c.cc.onAck(acked, e.now, c.srtt)
		}
		c.dupAcks = 0
		if c.sndUna == c.sndMax {
			c.rtoAt = never
		} else {
			c.rtoAt = e.now + c.rto
		}
		if c.finQueued && ack.GT(c.finSeq) {
			c.finAcked()
			if c.state == StateClosed {
				return
			}
		}
	case pure && ack == c.sndUna && c.sndMax != c.sndUna && (wnd == c.sndWnd || sackGrew):
		// A duplicate ACK (RFC 5681 section 2; with SACK, any ACK with
		// new SACK information, RFC 6675 section 2).
		c.dupAcks++
		switch {
		case c.inRecovery && !c.sackOK:
			c.cc.cwnd += c.cc.mss // inflation by the segment that left
		case !c.inRecovery && (c.dupAcks == 3 || c.sackOK && c.sack.lost(c, c.sndUna)):
			c.enterRecovery()
		}
	case sackGrew && !c.inRecovery && c.sack.lost(c, c.sndUna):
		c.enterRecovery()
	}
	if c.sackOK && (c.rack.n > 0 || dsack) && c.rackOnACK(ack, dsack) {
		// RACK found segments lost (RFC 8985 section 6.2 step 5): a
		// recovery sends them (NextSeg), without waiting for duplicate
		// ACKs or the RTO.
		c.rackRecover()
	}
	if c.sndWl1.LT(seq) || c.sndWl1 == seq && c.sndWl2.LEQ(ack) {
		c.sndWnd, c.sndWl1, c.sndWl2 = wnd, seq, ack
		c.maxSndWnd = max(c.maxSndWnd, wnd)
	}
}

// enterRecovery starts fast retransmit and fast recovery (RFC 6582, or
// RFC 6675 with SACK), once per window of data.
func (c *Conn) enterRecovery() {
	if c.sndUna.LT(c.recover) {
		// Still within the window already reduced for (RFC 6582 section
		// 4.1: the ACK must cover the highest sequence number sent, that
		// is reach recover, which is one past it). Segments RACK found
		// lost are still resent, in a recovery without a reduction.
		if c.sackOK && c.rack.anyLost() {
			c.inRecovery = true
			c.recover = c.sndMax
		}
		return
	}
	c.e.count(StatFastRetransmit)
	c.inRecovery = true
	c.recover = c.sndMax
	c.cc.onLoss(c.sndMax.Sub(c.sndUna))
	if c.sackOK {
		c.cc.cwnd = c.cc.ssthresh
		c.sack.highRxt = c.sndUna
	} else {
		c.cc.cwnd = c.cc.ssthresh + 3*c.cc.mss
	}
	c.rexmitUna()
}

// rexmitUna retransmits the first unacknowledged segment now.
func (c *Conn) rexmitUna() {
	off := c.sndUna.Sub(c.sndBase)
	n := min(max(c.snd.len-off, 0), c.smss())
	flags := uint8(0)
	if c.finQueued && c.sndUna.Add(n) == c.finSeq {
		flags = flagFIN
	}
	if n == 0 && flags == 0 {
		return
	}
	if c.send(c.sndUna, flags, n) {
		c.e.count(StatRetransmit)
		c.rttTiming = false
		end := c.sndUna.Add(n)
		if flags != 0 {
			end++
		}
		c.sack.highRxt = seqMax(c.sack.highRxt, end)
		c.recordSent(c.sndUna, end)
		c.rtoAt = c.e.now + c.rto
	}
}

// finAcked moves on once our FIN is acknowledged.
func (c *Conn) finAcked() {
	switch c.state {
	case StateFinWait1:
		c.setState(StateFinWait2)
		if c.readClosed {
			c.closeAt = c.e.now + c.e.cfg.FinTimeout
		}
	case StateClosing:
		c.enterTimeWait()
	case StateLastAck:
		c.terminate(nil)
	}
}

// enterTimeWait starts TIME-WAIT's 2*MSL. The send buffer (empty: the
// FIN was acknowledged) goes back to the budget at once; the receive
// buffer stays for what the application has not read yet, and goes back
// too once all was read or the application closed (see releaseReadBuffer),
// so that a server closing many short connections does not hold a buffer
// per TIME-WAIT for 2*MSL.
func (c *Conn) enterTimeWait() {
	c.setState(StateTimeWait)
	c.releaseBuffers(true, false)
	c.releaseReadBuffer()
	c.rtoAt, c.persistAt, c.keepAt, c.tlpAt, c.rackAt = never, never, never, never, never
	c.closeAt = c.e.now + 2*c.e.cfg.MSL
}

// releaseReadBuffer gives a TIME-WAIT connection's receive buffer back to
// the budget once nothing in it is left to read (all read, or the
// application closed): otherwise each connection the server closes first
// would pin its receive buffer for 2*MSL, and a few hundred short
// connections would exhaust the budget and refuse every new one.
func (c *Conn) releaseReadBuffer() {
	if c.state != StateTimeWait || len(c.rcv.buf) == 0 || (c.rcv.len > 0 && !c.readClosed) {
		return
	}
	if c.rcv.len == 0 && c.ooo.n == 0 {
		c.releaseBuffers(false, true) // empty: back to the pool as well
		return
	}
	c.e.budget.release(len(c.rcv.buf)) // unread data nobody will read
	c.reserved -= len(c.rcv.buf)
	c.rcv = byteRing{}
}

// receiveData stores payload at seq in the receive buffer: in order it
// extends the stream (and joins out-of-order data it reaches), out of
// order it is kept and SACKed. It reports whether all of it was stored.
func (c *Conn) receiveData(seq Seq, payload []byte) bool {
	e := c.e
	if seq.LT(c.rcvNxt) {
		d := c.rcvNxt.Sub(seq)
		c.reportDuplicate(seq, c.rcvNxt)
		payload = payload[d:]
		seq = c.rcvNxt
		c.ackNow = true // duplicate data: tell the peer at once
	}
	off := seq.Sub(c.rcvNxt)
	n := c.rcv.writeAt(c.rcv.len+off, payload)
	if n == 0 {
		return false
	}
	if off > 0 {
		if c.ooo.holds(seq, seq.Add(n)) {
			c.reportDuplicate(seq, seq.Add(n))
		}
		if c.ooo.add(seq, seq.Add(n)) {
			e.count(StatOutOfOrder)
		}
		// Out of order: a duplicate ACK at once, one per segment (not
		// coalesced over the vector: the sender counts them).
		c.send(c.sndNxt, 0, 0)
		return n == len(payload)
	}
	c.rcv.commit(n)
	c.rcvNxt = c.rcvNxt.Add(n)
	if c.ooo.n > 0 {
		end := c.ooo.advance(c.rcvNxt)
		c.rcv.commit(end.Sub(c.rcvNxt))
		c.rcvNxt = end
		c.ackNow = true // a hole filled (RFC 5681 section 4.2)
	}
	if c.rcvFinOOO && c.rcvNxt == c.rcvFinAt {
		c.rcvFinOOO = false
		c.finArrives()
	}
	c.unackedSegs++
	c.notify(EventReadable)
	if c.rcvNxt.Sub(c.lastAckSent) >= maxStretch {
		c.send(c.sndNxt, 0, 0) // bound the stretch of a vector's coalesced ACK
	}
	return n == len(payload)
}

// maxStretch bounds the data one ACK covers when the ACKs of a vector are
// coalesced: 64 KiB, as Linux's GRO produces.
const maxStretch = 64 << 10

// finArrives consumes the peer's FIN at rcvNxt.
func (c *Conn) finArrives() {
	if c.rcvFin {
		return
	}
	c.rcvFin = true
	c.rcvNxt++
	c.ackNow = true
	c.notify(EventReadable)
	switch c.state {
	case StateEstablished:
		c.setState(StateCloseWait)
	case StateFinWait1:
		c.setState(StateClosing)
	case StateFinWait2:
		c.enterTimeWait()
	}
}

// synSentArrives processes a segment in SYN-SENT (RFC 9293 3.10.7.3).
func (c *Conn) synSentArrives(t wire.TCP, o *wire.TCPOptions) {
	e := c.e
	flags := t.Flags()
	ack := Seq(t.Ack())
	if flags&flagACK != 0 && (ack.LEQ(c.iss) || ack.GT(c.sndMax)) {
		e.count(ErrBadACK)
		if flags&flagRST == 0 {
			c.sendRST(ack)
		}
		return
	}
	if flags&flagRST != 0 {
		if flags&flagACK != 0 {
			c.terminate(ErrRefused)
		} else {
			e.count(ErrRSTInvalid)
		}
		return
	}
	if flags&flagSYN == 0 {
		e.count(ErrNoACK)
		return
	}
	c.acceptSyn(t, o)
	c.lastRecv = e.now
	if flags&flagACK == 0 {
		// Simultaneous open: answer with a SYN-ACK from SYN-RECEIVED.
		c.setState(StateSynReceived)
		c.forceSyn = true
		e.markDirty(c)
		return
	}
	if c.rttTiming && c.backoff == 0 {
		c.rttSample(e.now - c.rttStart)
		c.rack.sampleMinRTT(e.now - c.rttStart)
	}
	c.rttTiming = false
	c.sndUna = ack
	c.backoff = 0
	c.rtoAt = never
	c.setState(StateEstablished)
	c.ackNow = true
	c.armKeepalive()
	c.notify(EventConnected | EventWritable)
}
