package nat44

import (
	"encoding/binary"

	"github.com/vecnet/vecnet/wire"
)

// isICMPError reports whether ICMP type t quotes the datagram it is about
// (destination unreachable, time exceeded, parameter problem).
func isICMPError(t uint8) bool {
	return t == wire.ICMPv4DestUnreachable || t == wire.ICMPv4TimeExceeded || t == wire.ICMPv4ParamProblem
}

// quote is where an ICMP error's quoted datagram lies in the outer packet.
type quote struct {
	off  int // the quoted IPv4 header
	ihl  int // its length
	slot int // its protocol slot
	csum int // its transport checksum, or -1 when cut off
}

// parseQuote locates the datagram quoted by ip, an ICMP error (RFC 792:
// the IP header and at least 8 bytes of what follows). It reports false
// when the quote is cut short, is not IPv4, is a non-first fragment, or is
// of a protocol NAT44 does not translate (ICMP other than echo).
func parseQuote(ip wire.IPv4) (quote, bool) {
	off := ip.HeaderLen() + wire.ICMPv4MinLen
	if len(ip) < off+wire.IPv4MinLen {
		return quote{}, false
	}
	in := ip[off:]
	ihl := int(in[0]&0x0f) * 4
	if in[0]>>4 != 4 || ihl < wire.IPv4MinLen || len(in) < ihl+8 || (in[6]&0x1f != 0 || in[7] != 0) {
		return quote{}, false
	}
	q := quote{off: off, ihl: ihl, csum: -1}
	switch in[9] {
	case wire.IPProtoTCP:
		q.slot = slotTCP
		if len(in) >= ihl+18 {
			q.csum = off + ihl + 16
		}
	case wire.IPProtoUDP:
		q.slot, q.csum = slotUDP, off+ihl+6
	case wire.IPProtoICMP:
		if t := in[ihl]; t != wire.ICMPv4Echo && t != wire.ICMPv4EchoReply {
			return quote{}, false
		}
		q.slot, q.csum = slotICMP, off+ihl+2
	default:
		return quote{}, false
	}
	return q, true
}

// portOff is the offset in ip of the quoted source port (dst false) or
// destination port (dst true); an ICMP echo's identifier either way.
func (q *quote) portOff(dst bool) int {
	switch {
	case q.slot == slotICMP:
		return q.off + q.ihl + 4
	case dst:
		return q.off + q.ihl + 2
	}
	return q.off + q.ihl
}

// translateQuote rewrites an ICMP error: the quoted datagram's source
// (innerDst false) or destination address and port to addr and port, and
// the outer destination (outerSrc false) or source address to addr. The
// quoted header checksum, the quoted transport checksum (when quoted) and
// the ICMP checksum, which covers the quote, are all updated
// incrementally (RFC 1624), as is the outer header checksum.
func translateQuote(ip wire.IPv4, q *quote, innerDst bool, addr [4]byte, port uint16, outerSrc bool) {
	ic := ip.HeaderLen() + 2 // the ICMP checksum
	icsum := binary.BigEndian.Uint16(ip[ic:])
	aoff := q.off + 12
	if innerDst {
		aoff = q.off + 16
	}
	old := [4]byte(ip[aoff : aoff+4])
	copy(ip[aoff:aoff+4], addr[:])
	icsum = wire.ChecksumUpdate32(icsum, old, addr)
	// The quoted IP header's checksum.
	oldHC := binary.BigEndian.Uint16(ip[q.off+10:])
	newHC := wire.ChecksumUpdate32(oldHC, old, addr)
	binary.BigEndian.PutUint16(ip[q.off+10:], newHC)
	icsum = wire.ChecksumUpdate16(icsum, oldHC, newHC)
	// The quoted port (or echo identifier).
	poff := q.portOff(innerDst)
	oldPort := binary.BigEndian.Uint16(ip[poff:])
	binary.BigEndian.PutUint16(ip[poff:], port)
	icsum = wire.ChecksumUpdate16(icsum, oldPort, port)
	// The quoted transport checksum: pseudo-header and port for TCP and
	// UDP (a UDP checksum of 0 stays 0), identifier for an echo.
	if q.csum >= 0 {
		c := binary.BigEndian.Uint16(ip[q.csum:])
		if q.slot != slotUDP || c != 0 {
			nc := c
			if q.slot != slotICMP {
				nc = wire.ChecksumUpdate32(nc, old, addr)
			}
			nc = wire.ChecksumUpdate16(nc, oldPort, port)
			if q.slot == slotUDP && nc == 0 {
				nc = 0xffff
			}
			binary.BigEndian.PutUint16(ip[q.csum:], nc)
			icsum = wire.ChecksumUpdate16(icsum, c, nc)
		}
	}
	binary.BigEndian.PutUint16(ip[ic:], icsum)
	// The outer header.
	ooff := 16
	if outerSrc {
		ooff = 12
	}
	oldOuter := [4]byte(ip[ooff : ooff+4])
	copy(ip[ooff:ooff+4], addr[:])
	ip.SetChecksum(wire.ChecksumUpdate32(ip.Checksum(), oldOuter, addr))
}
