package tcp

import "net/netip"

// PathMTU applies an ICMP "fragmentation needed" (RFC 1191) for the
// connection local -> remote: the send MSS drops to fit mtu (never below
// 536 + 40 bytes of headers; a larger or stale value is ignored) and what
// is in flight is sent again in the smaller size.
func (e *Engine) PathMTU(local, remote netip.AddrPort, mtu int) {
	if !sameFamily(local.Addr(), remote.Addr()) {
		return
	}
	c := e.conns.lookup(keyOf(local, remote))
	if c == nil || c.state == StateClosed || c.state == StateTimeWait {
		return
	}
	mss := max(mtu, 576) - 40
	if c.v6 {
		mss = max(mtu, 1280) - 60 // IPv6's minimum MTU (RFC 8200 section 5)
	}
	if mss >= c.mss {
		return
	}
	e.now = e.clock.Now()
	c.mss = mss
	c.cc.mss = mss
	if c.sndUna != c.sndMax && c.state != StateSynSent && c.state != StateSynReceived {
		// Resend what is outstanding at the new size, without a window
		// reduction: the loss was not congestion.
		c.sndNxt = c.sndUna
		c.rttTiming = false
		e.markDirty(c)
	}
	e.finish()
}
