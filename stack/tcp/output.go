package tcp

import (
	"net/netip"

	"github.com/vecnet/vecnet/wire"
)

// emit writes one segment through the Output: header, options, n bytes of
// data from offset off of ring (if ring is not nil) and the checksum. It
// reports false when Output had no buffer.
func (e *Engine) emit(src, dst netip.AddrPort, seq, ack Seq, flags uint8, wnd uint16, opts *wire.TCPOptions,
	ring *byteRing, off, n int) bool {
	ol := 0
	if opts != nil {
		ol = wire.TCPOptionsLen(opts)
	}
	hl := wire.TCPMinLen + ol
	b := e.out.Buffer(hl + n)
	if len(b) < hl+n {
		if b != nil {
			e.out.Send(src, dst, b[:0])
		}
		e.count(ErrNoBuffer)
		return false
	}
	t := wire.TCP(b[:hl+n])
	f := wire.TCPFields{SrcPort: src.Port(), DstPort: dst.Port(), Seq: uint32(seq), Ack: uint32(ack),
		DataOffset: uint8(hl / 4), Flags: flags, Window: wnd}
	t.Encode(&f)
	if ol > 0 {
		wire.PutTCPOptions(t[wire.TCPMinLen:], opts)
	}
	if n > 0 {
		ring.peek(off, t[hl:])
	}
	if isV6(src.Addr()) {
		t.SetChecksum(t.ComputeChecksum6(src.Addr().As16(), dst.Addr().As16(), uint16(hl+n)))
	} else {
		t.SetChecksum(t.ComputeChecksum(src.Addr().As4(), dst.Addr().As4(), uint16(hl+n)))
	}
	e.out.Send(src, dst, t)
	e.sent = true
	return true
}

// rcvWindow returns the receive window to advertise in bytes: the receive
// buffer's free space, capped by what the window field and scale can say.
func (c *Conn) rcvWindow() int {
	return min(c.rcv.free(), 0xffff<<c.rcvShift)
}

// advertise returns the window field for a segment and moves the right
// edge of the window (rcvAdv) if it may: receiver silly window avoidance
// (RFC 9293 section 3.8.6.2.2) holds the edge until it can move by
// min(MSS, half the buffer), and the edge never moves back.
func (c *Conn) advertise() int {
	edge := c.rcvNxt.Add(c.rcvWindow() >> c.rcvShift << c.rcvShift)
	if edge.GT(c.rcvAdv) && edge.Sub(c.rcvAdv) < min(c.e.mssFor(c.v6), len(c.rcv.buf)/2) {
		edge = c.rcvAdv
	}
	edge = seqMax(edge, c.rcvAdv)
	c.rcvAdv = edge
	return max(edge.Sub(c.rcvNxt), 0) >> c.rcvShift
}

// fillOptions sets the options every non-SYN segment of c carries:
// timestamps and SACK blocks.
func (c *Conn) fillOptions(o *wire.TCPOptions) {
	*o = wire.TCPOptions{}
	if c.tsOK {
		o.HasTimestamps, o.TSVal, o.TSEcr = true, c.e.tsNow()+c.tsOffset, c.tsRecent
	}
	if c.sackOK && c.ooo.n > 0 {
		o.NSACK = c.ooo.blocks(&o.SACK)
	}
	if c.sackOK && c.dsackOn {
		// The D-SACK block goes first (RFC 2883 section 4), the
		// out-of-order ranges after it.
		copy(o.SACK[1:], o.SACK[:min(o.NSACK, len(o.SACK)-1)])
		o.SACK[0] = wire.SACKBlock{Left: uint32(c.dsack.left), Right: uint32(c.dsack.right)}
		o.NSACK = min(o.NSACK+1, len(o.SACK))
	}
}

// send emits a segment of c from seq with n bytes of data at that sequence
// number, flags besides ACK, and the current window and options; every
// segment acknowledges rcvNxt and so ends any delayed ACK.
func (c *Conn) send(seq Seq, flags uint8, n int) bool {
	e := c.e
	var o wire.TCPOptions
	c.fillOptions(&o)
	field := c.advertise()
	ok := e.emit(c.local, c.remote, seq, c.rcvNxt, flags|wire.TCPFlagACK, uint16(field), &o, &c.snd, seq.Sub(c.sndBase), n)
	if ok {
		c.ackNow, c.unackedSegs, c.delackAt = false, 0, never
		c.lastAckSent = c.rcvNxt
		c.dsackOn = false
	} else if c.delackAt == never {
		c.delackAt = e.now + e.cfg.DelayedACK // try the ACK again
	}
	return ok
}

// sendSyn sends the SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED) and arms the
// retransmission timer.
func (c *Conn) sendSyn() {
	e := c.e
	var o wire.TCPOptions
	o.HasMSS, o.MSS = true, uint16(e.mssFor(c.v6))
	flags := uint8(wire.TCPFlagSYN)
	var ack Seq
	if c.state == StateSynReceived {
		flags |= wire.TCPFlagACK
		ack = c.rcvNxt
	}
	active := c.state == StateSynSent
	if c.wsOK {
		o.HasWindowScale, o.WindowScale = true, c.rcvShift
	}
	o.SACKPermitted = c.sackOK && (active || !e.cfg.NoSACK)
	if c.tsOK {
		o.HasTimestamps, o.TSVal, o.TSEcr = true, e.tsNow()+c.tsOffset, c.tsRecent
	}
	wnd := min(c.rcvWindow(), 0xffff)
	c.sndNxt = c.iss + 1
	c.rttTiming, c.rttSeq, c.rttStart = c.backoff == 0, c.iss+1, e.now // Karn: time the first SYN only
	c.sndMax = seqMax(c.sndMax, c.sndNxt)
	if e.emit(c.local, c.remote, c.iss, ack, flags, uint16(wnd), &o, nil, 0, 0) {
		c.rcvAdv = c.rcvNxt.Add(wnd)
	}
	if c.rtoAt == never {
		c.rtoAt = e.now + c.rto
	}
}

// sendRST sends a reset with sequence number seq.
func (c *Conn) sendRST(seq Seq) {
	c.e.emit(c.local, c.remote, seq, 0, wire.TCPFlagRST, 0, nil, nil, 0, 0)
	c.e.count(StatRSTSent)
}

// output sends what c owes: a SYN, data and FIN as the windows, Nagle and
// the congestion window allow, probes, and an ACK if one is due and no
// other segment carried it.
func (c *Conn) output() {
	e := c.e
	if c.forceSyn {
		c.forceSyn = false
		c.sendSyn()
		return
	}
	switch c.state {
	case StateClosed, StateSynSent, StateSynReceived:
		return
	case StateTimeWait:
		if c.ackNow {
			c.send(c.sndNxt, 0, 0)
		}
		return
	}
	sent := false
	for c.sendSegment() {
		sent = true
	}
	if c.probe {
		c.probe = false
		if avail := c.snd.len - c.sndNxt.Sub(c.sndBase); avail > 0 && c.sndUna == c.sndMax {
			if c.sndWnd == 0 {
				// A zero-window probe: an old sequence number without
				// data, which the receiver answers with its window (as
				// Linux does; RFC 9293 3.8.6.1 allows one byte of data
				// too, but that byte would then count as in flight).
				c.e.count(StatZeroWindowProbe)
				sent = c.send(c.sndUna-1, 0, 0) || sent
			} else if n := min(avail, c.sndWnd, c.smss()); c.send(c.sndNxt, 0, n) {
				// The sender SWS override: a small window is used whole.
				c.recordSent(c.sndNxt, c.sndNxt.Add(n))
				c.sndNxt = c.sndNxt.Add(n)
				c.sndMax = seqMax(c.sndMax, c.sndNxt)
				sent = true
			}
		}
	}
	if c.tlpProbe {
		c.tlpProbe = false
		sent = c.sendProbe() || sent
	}
	if c.keepProbeNow {
		c.keepProbeNow = false
		// A keepalive probe is an old sequence number with no data.
		sent = c.send(c.sndUna-1, 0, 0) || sent
	}
	switch {
	case sent:
	case (c.ackNow || c.unackedSegs >= 2) && c.holdACK():
		// The application answers first; Engine.FlushACKs sends it if not.
	case c.ackNow || c.unackedSegs >= 2:
		c.send(c.sndNxt, 0, 0)
	case c.unackedSegs > 0 && c.delackAt == never:
		c.delackAt = e.now + e.cfg.DelayedACK
	}
	if c.sndNxt != c.sndUna && c.rtoAt == never {
		c.rtoAt = e.now + c.rto
	}
	c.armPersist()
	if sent || c.tlpAt == never || c.sndUna == c.sndMax {
		c.armTLP()
	}
}

// sendProbe sends the tail loss probe: one segment of new data if the
// peer's window allows (the congestion window may not), else the last
// segment sent.
func (c *Conn) sendProbe() bool {
	off := c.sndNxt.Sub(c.sndBase)
	avail := c.snd.len - off
	if n := min(avail, c.smss(), c.sndUna.Add(c.sndWnd).Sub(c.sndNxt)); n > 0 && c.sndNxt == c.sndMax {
		fin := uint8(0)
		if c.finQueued && c.sndNxt.Add(n) == c.finSeq {
			fin = flagFIN
		}
		if !c.send(c.sndNxt, fin, n) {
			return false
		}
		end := c.sndNxt.Add(n)
		if fin != 0 {
			end++
		}
		c.recordSent(c.sndNxt, end)
		c.sndNxt = end
		c.sndMax = c.sndNxt
		return true
	}
	end := c.sndMax // one past the last sequence number sent
	flags := uint8(0)
	if c.finQueued && end == c.finSeq+1 {
		flags, end = flagFIN, c.finSeq
	}
	start := seqMax(c.sndUna, end.Add(-c.smss()))
	if start.LT(c.sndBase) {
		start = c.sndBase
	}
	n := max(end.Sub(start), 0)
	if n == 0 && flags == 0 {
		return false
	}
	if !c.send(start, flags, n) {
		return false
	}
	if flags != 0 {
		c.recordSent(start, end.Add(1))
	} else {
		c.recordSent(start, end)
	}
	c.e.count(StatRetransmit)
	c.rttTiming = false
	return true
}

// recordSent notes the transmission of [seq, end) now for RACK (with
// SACK only): a retransmission if it starts below sndMax.
func (c *Conn) recordSent(seq, end Seq) {
	if c.sackOK {
		c.rack.sent(seq, end, c.e.now, seq.LT(c.sndMax))
	}
}

// smss returns the data bytes a full segment carries: the MSS less the
// options sent on every segment.
func (c *Conn) smss() int {
	n := c.mss
	if c.tsOK {
		n -= 12
	}
	return n
}

// sendSegment sends the next segment of data (and FIN) the windows, Nagle
// and sender SWS avoidance allow, and reports whether it sent one. In SACK
// recovery (RFC 6675) the segment is NextSeg's: a lost hole first, then
// new data, while the pipe is below cwnd.
func (c *Conn) sendSegment() bool {
	seq := c.sndNxt
	seg := c.smss()
	if c.sackOK && c.ooo.n > 0 {
		seg -= 4 + 8*min(c.ooo.n, 3)
	}
	cwnd := c.cc.cwnd
	if !c.inRecovery && c.dupAcks <= 2 {
		cwnd += c.dupAcks * c.smss() // Limited Transmit (RFC 3042)
	}
	usable := c.sndUna.Add(min(c.sndWnd, cwnd)).Sub(seq)
	if c.inRecovery && c.sackOK {
		if c.cc.cwnd-c.sack.pipe(c) < c.smss() {
			return false
		}
		var hole int
		seq, hole = c.sack.nextSeg(c)
		if hole > 0 {
			usable = hole
		} else {
			usable = c.sndUna.Add(c.sndWnd).Sub(seq)
		}
	}
	off := seq.Sub(c.sndBase)
	avail := max(c.snd.len-off, 0)
	n := min(avail, seg, max(usable, 0))
	fin := c.finQueued && seq.Add(n) == c.finSeq
	if n == 0 && !fin {
		return false
	}
	if n > 0 && n < seg && !fin && seq == c.sndNxt {
		switch {
		case n < avail && n < c.maxSndWnd/2:
			return false // sender SWS avoidance: wait for a larger window
		case n == avail && !c.noDelay && c.sndNxt != c.sndUna:
			return false // Nagle: a small segment waits for the ACK of what is in flight
		}
	}
	flags := uint8(0)
	if fin {
		flags |= wire.TCPFlagFIN
	}
	if n > 0 && n == avail {
		flags |= wire.TCPFlagPSH
	}
	if !c.send(seq, flags, n) {
		return false
	}
	end := seq.Add(n)
	if fin {
		end++
	}
	c.recordSent(seq, end)
	if seq.LT(c.sndMax) {
		c.e.count(StatRetransmit)
		c.rttTiming = false // Karn: no sample from a retransmitted segment
		c.sack.highRxt = seqMax(c.sack.highRxt, end)
	} else if !c.rttTiming {
		c.rttTiming, c.rttSeq, c.rttStart = true, end, c.e.now
	}
	if seq == c.sndNxt {
		c.sndNxt = end
	}
	c.sndMax = seqMax(c.sndMax, c.sndNxt)
	if c.rtoAt == never {
		c.rtoAt = c.e.now + c.rto
	}
	return true
}
