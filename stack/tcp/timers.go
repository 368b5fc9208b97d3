package tcp

// Timers are per-connection deadlines (monotonic ns, never = unarmed);
// the earliest is registered in the engine's timer wheel: retransmission, delayed ACK, persist (zero
// window probes), keepalive, and TIME-WAIT / FIN-WAIT-2 expiry.

// maxRetries bounds retransmissions of one segment (SYN: 6, as Linux's
// tcp_syn_retries; data: 15, tcp_retries2) before the connection times out.
const maxSynRetries, maxRetries = 6, 15

func (c *Conn) nextDeadline() int64 {
	return min(c.rtoAt, c.delackAt, c.persistAt, c.keepAt, c.closeAt, c.tlpAt, c.rackAt)
}

// runTimers handles every timer of c that is due.
func (c *Conn) runTimers() {
	e := c.e
	now := e.now
	if c.closeAt <= now {
		c.closeAt = never
		c.terminate(nil)
		return
	}
	if c.rtoAt <= now {
		c.rtoAt = never
		c.retransmitTimeout()
		if c.state == StateClosed {
			return
		}
	}
	if c.rackAt <= now {
		c.rackAt = never
		c.rackTimeout()
	}
	if c.tlpAt <= now {
		c.tlpAt = never
		c.tailLossProbe()
	}
	if c.delackAt <= now {
		c.delackAt = never
		c.ackNow = true
		e.markDirty(c)
	}
	if c.persistAt <= now {
		c.persistAt = never
		if c.sndNxt.Sub(c.sndBase) < c.snd.len && c.sndUna == c.sndMax {
			c.probe = true
			c.persistBackoff++
			e.markDirty(c)
		}
	}
	if c.keepAt <= now {
		c.keepAt = never
		c.keepaliveTimeout()
	}
}

// retransmitTimeout is the RTO expiry (RFC 6298 section 5): back off the
// timer, collapse the congestion window and go back to sndUna.
func (c *Conn) retransmitTimeout() {
	e := c.e
	if c.sndUna == c.sndMax && !c.forceSynPending() {
		return
	}
	c.backoff++
	limit := maxRetries
	if c.state == StateSynSent || c.state == StateSynReceived {
		limit = maxSynRetries
	}
	if c.backoff > limit {
		c.terminate(c.timeoutErr())
		return
	}
	e.count(StatTimeout)
	c.rto = min(c.rto*2, e.cfg.MaxRTO)
	c.rttTiming = false
	c.tlpAt, c.tlpOut, c.rackAt = never, false, never
	switch c.state {
	case StateSynSent, StateSynReceived:
		c.forceSyn = true
	default:
		if c.backoff == 1 {
			c.cc.onTimeout(c.sndMax.Sub(c.sndUna))
		} else {
			c.cc.cwnd = c.cc.mss
		}
		c.inRecovery, c.dupAcks = false, 0
		c.recover = c.sndMax
		c.sndNxt = c.sndUna
		c.sack.highRxt = c.sndUna
		// RFC 6675 section 5.1 / RFC 2018: after a timeout the SACK
		// information may be reneged; forget it.
		c.sack.reset()
		c.rack.forgetSACKs()
	}
	c.rtoAt = e.now + c.rto
	e.markDirty(c)
}

func (c *Conn) forceSynPending() bool {
	return c.state == StateSynSent || c.state == StateSynReceived
}

// armPersist arms the persist timer when data waits and nothing is in
// flight to bring a window update: the peer's window is zero (RFC 9293
// 3.8.6.1) or too small for sender SWS avoidance (the override timeout of
// 3.8.6.2.1). It disarms it once data is in flight or sent.
func (c *Conn) armPersist() {
	waiting := c.sndNxt.Sub(c.sndBase) < c.snd.len && c.sndUna == c.sndMax
	switch {
	case !waiting:
		c.persistAt, c.persistBackoff = never, 0
	case c.persistAt == never:
		d := max(c.rto, c.e.cfg.MinRTO) << min(c.persistBackoff, 10)
		c.persistAt = c.e.now + min(d, c.e.cfg.MaxRTO)
	}
}

// armKeepalive (re)arms keepalive after activity.
func (c *Conn) armKeepalive() {
	if !c.keepalive || c.state == StateClosed {
		c.keepAt = never
		return
	}
	c.keepAt = c.lastRecv + c.keepIdle
	if c.keepProbes > 0 {
		c.keepAt = c.e.now + c.keepIntvl
	}
}

// keepaliveTimeout sends a keepalive probe, or times the connection out
// after keepCount unanswered ones.
func (c *Conn) keepaliveTimeout() {
	if !c.keepalive || c.state != StateEstablished && c.state != StateCloseWait {
		return
	}
	if c.e.now-c.lastRecv < c.keepIdle && c.keepProbes == 0 {
		c.armKeepalive()
		return
	}
	if c.keepProbes >= c.keepCount {
		c.terminate(c.timeoutErr())
		return
	}
	c.keepProbes++
	c.keepProbeNow = true
	c.e.count(StatKeepalive)
	c.e.markDirty(c)
	c.armKeepalive()
}

// armTLP (re)arms the tail loss probe timeout (RFC 8985 section 7.2)
// after a transmission or an ACK: with SACK, data in flight and no
// recovery, a probe goes out after PTO = 2*SRTT (with a single segment in
// flight, at least 1.5*SRTT plus the peer's delayed ACK), if that comes
// before the RTO. One probe per flight: the next needs an ACK of new data.
func (c *Conn) armTLP() {
	c.tlpAt = never
	if !c.sackOK || c.srtt == 0 || c.sndUna == c.sndMax || c.inRecovery || c.tlpOut || c.backoff > 0 || c.rackAt != never {
		return
	}
	switch c.state {
	case StateEstablished, StateCloseWait, StateFinWait1, StateClosing, StateLastAck:
	default:
		return
	}
	pto := max(2*c.srtt, 10*int64(1e6))
	if c.sndMax.Sub(c.sndUna) <= c.smss() {
		pto = max(pto, 3*c.srtt/2+200*int64(1e6))
	}
	if at := c.e.now + pto; at < c.rtoAt {
		c.tlpAt = at
	}
}

// tailLossProbe sends the probe when the PTO expires: new data if the
// peer's window takes it, else the last segment again, so that the ACK it
// draws (with SACK) shows a lost tail without waiting for the RTO.
func (c *Conn) tailLossProbe() {
	if c.tlpOut || c.sndUna == c.sndMax || c.inRecovery {
		return
	}
	c.tlpOut = true
	c.tlpProbe = true
	c.e.count(StatTailLossProbe)
	c.rtoAt = c.e.now + c.rto
	c.e.markDirty(c)
}
