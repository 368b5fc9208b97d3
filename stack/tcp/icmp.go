package tcp

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/vecnet/vecnet/wire"
)

// ICMPKind is what an ICMP error says about a segment the engine sent
// (ICMPError).
type ICMPKind uint8

// ICMP error kinds. Port and protocol unreachable are hard errors (RFC
// 1122 section 4.2.3.9): they abort a connection in SYN-SENT. The
// unreachables are soft errors: recorded, and reported only if the
// connection then times out (Linux's sk_err_soft). Packet too big lowers
// the path MTU (RFC 1191, RFC 8201).
const (
	ICMPPortUnreachable  ICMPKind = iota + 1 // port unreachable: ErrRefused
	ICMPProtoUnreachable                     // protocol unreachable: ErrProtoUnreachable
	ICMPNetUnreachable                       // network unreachable: ErrNetUnreachable
	ICMPHostUnreachable                      // host unreachable (and the other codes): ErrHostUnreachable
	ICMPProhibited                           // administratively prohibited: ErrProhibited
	ICMPPacketTooBig                         // ICMPv4 fragmentation needed, ICMPv6 packet too big
)

// Errors an ICMP error leaves as a connection's Err.
var (
	ErrProtoUnreachable = errors.New("tcp: protocol not available at the peer")
	ErrNetUnreachable   = errors.New("tcp: network is unreachable")
	ErrHostUnreachable  = errors.New("tcp: no route to host")
	ErrProhibited       = errors.New("tcp: communication administratively prohibited")
)

// Minimum path MTUs: the IPv4 datagram every host must take (RFC 1122
// 3.3.3, 576) and IPv6's minimum link MTU (RFC 8200 section 5, 1280).
const (
	minPathMTU4 = 576
	minPathMTU6 = 1280
)

// mtuPlateaus are RFC 1191 section 7's plateaus, for a fragmentation
// needed without the next-hop MTU (a router older than RFC 1191).
var mtuPlateaus = [...]int{65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68}

// plateauBelow returns the largest plateau below an IP datagram of size
// n (68 when none is).
func plateauBelow(n int) int {
	for _, p := range mtuPlateaus {
		if p < n {
			return p
		}
	}
	return 68
}

// ICMPError applies an ICMP error about a segment this engine sent. quote
// is what the error quotes: the IP header (IPv4, or IPv6 with TCP right
// after it) and at least the first 8 bytes of the TCP header; any bytes
// are safe. mtu is the next-hop MTU of ICMPPacketTooBig (0 for an ICMPv4
// fragmentation needed without one: RFC 1191's plateau below the quoted
// datagram's length is used).
//
// The error is checked as RFC 5927 asks: the quoted sequence number must
// lie in SND.UNA..SND.NXT (else ErrICMPBadSeq), a packet too big must
// report an MTU at or above the family's minimum and below the current
// path MTU (else ErrPMTUIgnored). A packet too big lowers the connection's
// MSS and resends what is in flight at the new size (StatPMTU); port or
// protocol unreachable aborts a connection in SYN-SENT (StatICMPAbort);
// every other error is recorded as the connection's soft error
// (StatICMPSoftError), the error it reports if it then times out.
//
// ICMPError reports whether it applied the error to a connection of this
// engine; a quote about no connection here is not counted, so that the
// caller can try another engine.
func (e *Engine) ICMPError(quote []byte, kind ICMPKind, mtu int) bool {
	var local, remote netip.AddrPort
	var th []byte
	totalLen := 0
	switch {
	case len(quote) >= wire.IPv4MinLen && quote[0]>>4 == 4:
		ihl := int(quote[0]&0xf) * 4
		if ihl < wire.IPv4MinLen || len(quote) < ihl+8 || quote[9] != wire.IPProtoTCP {
			e.count(ErrICMPBadQuote)
			return false
		}
		totalLen = int(binary.BigEndian.Uint16(quote[2:4]))
		th = quote[ihl:]
		local = netip.AddrPortFrom(netip.AddrFrom4([4]byte(quote[12:16])), binary.BigEndian.Uint16(th[0:2]))
		remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte(quote[16:20])), binary.BigEndian.Uint16(th[2:4]))
	case len(quote) >= wire.IPv6Len+8 && quote[0]>>4 == 6:
		if quote[6] != wire.IPProtoTCP {
			e.count(ErrICMPBadQuote)
			return false
		}
		th = quote[wire.IPv6Len:]
		local = netip.AddrPortFrom(netip.AddrFrom16([16]byte(quote[8:24])), binary.BigEndian.Uint16(th[0:2]))
		remote = netip.AddrPortFrom(netip.AddrFrom16([16]byte(quote[24:40])), binary.BigEndian.Uint16(th[2:4]))
	default:
		e.count(ErrICMPBadQuote)
		return false
	}
	c := e.conns.lookup(keyOf(local, remote))
	if c == nil || c.state == StateClosed || c.state == StateTimeWait || c.v6 != isV6(local.Addr()) {
		return false
	}
	seq := Seq(binary.BigEndian.Uint32(th[4:8]))
	if seq.LT(c.sndUna) || seq.GEQ(c.sndMax) {
		e.count(ErrICMPBadSeq)
		return false
	}
	e.now = e.clock.Now()
	applied := true
	switch kind {
	case ICMPPacketTooBig:
		if mtu == 0 && !c.v6 {
			mtu = plateauBelow(totalLen)
		}
		applied = c.pathMTU(mtu)
	case ICMPPortUnreachable, ICMPProtoUnreachable:
		err := ErrRefused
		if kind == ICMPProtoUnreachable {
			err = ErrProtoUnreachable
		}
		if c.state == StateSynSent {
			e.count(StatICMPAbort)
			c.terminate(err)
		} else {
			c.softError(err)
		}
	case ICMPNetUnreachable:
		c.softError(ErrNetUnreachable)
	case ICMPProhibited:
		c.softError(ErrProhibited)
	default:
		c.softError(ErrHostUnreachable)
	}
	e.finish()
	return applied
}

// softError records err as c's soft error: the one it reports instead of
// ErrTimeout if it times out before more of its data is acknowledged.
func (c *Conn) softError(err error) {
	c.e.count(StatICMPSoftError)
	c.softErr, c.softErrUna = err, c.sndUna
}

// timeoutErr is the error of a connection that timed out: its soft error
// when one came since the last acknowledgment of new data (RFC 1122
// 4.2.3.9, Linux's sk_err_soft), else ErrTimeout.
func (c *Conn) timeoutErr() error {
	if c.softErr != nil && c.softErrUna == c.sndUna {
		return c.softErr
	}
	return ErrTimeout
}
