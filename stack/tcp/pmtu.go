package tcp

import "net/netip"

// PathMTU applies an ICMP "fragmentation needed" (RFC 1191) or "packet
// too big" (RFC 8201) for the connection local -> remote without the
// checks of ICMPError: the send MSS drops to fit mtu and what is in flight
// is sent again in the smaller size. An MTU below the family's minimum
// (576, 1280) or not below the current path MTU is ignored
// (ErrPMTUIgnored).
func (e *Engine) PathMTU(local, remote netip.AddrPort, mtu int) {
	if !sameFamily(local.Addr(), remote.Addr()) {
		return
	}
	c := e.conns.lookup(keyOf(local, remote))
	if c == nil || c.state == StateClosed || c.state == StateTimeWait {
		return
	}
	e.now = e.clock.Now()
	c.pathMTU(mtu)
	e.finish()
}

// pathMTU lowers c's MSS to fit a path MTU of mtu and reports whether it
// did (StatPMTU), or counts ErrPMTUIgnored.
func (c *Conn) pathMTU(mtu int) bool {
	hdr, least := 40, minPathMTU4
	if c.v6 {
		hdr, least = 60, minPathMTU6
	}
	mss := mtu - hdr
	if mtu < least || mss >= c.mss {
		c.e.count(ErrPMTUIgnored)
		return false
	}
	c.e.count(StatPMTU)
	c.mss = mss
	c.cc.mss = mss
	if c.sndUna != c.sndMax && c.state != StateSynSent && c.state != StateSynReceived {
		// Resend what is outstanding at the new size (the sender keeps
		// DF set), without a window reduction: the loss was not
		// congestion.
		c.sndNxt = c.sndUna
		c.rttTiming = false
		c.e.markDirty(c)
	}
	return true
}
