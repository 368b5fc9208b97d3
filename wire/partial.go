package wire

import "encoding/binary"

// Checksum offload leaves a TCP or UDP checksum unfinished. A Linux sender
// whose device offers transmit checksum offload (veth and most NICs do by
// default) does not sum the segment: it stores in the checksum field the
// folded ones' complement sum of the pseudo-header, not complemented
// (CHECKSUM_PARTIAL), and leaves the rest to "the hardware", which sums from
// the L4 header to the end, the field included, and stores the complement.
// Across a veth that promise travels in the skb, but a frame copied out
// through AF_XDP or AF_PACKET carries only its bytes, so a user-space
// router or host stack must do the hardware's part itself.
//
// Detection compares the field with the pseudo-header sum, which costs a
// few additions per packet; the segment is summed only on a match.
//
// A false positive is harmless: a complete checksum that happens to equal
// the pseudo-header sum (about one packet in 65536) is recomputed over the
// same bytes, which gives the same value, so the rewrite stores what was
// there. A corrupted segment whose field happens to equal the pseudo-header
// sum is given a checksum that matches its corrupted bytes, so its receiver
// can no longer detect the damage; that is what the sender's hardware would
// have done to bytes corrupted before it, it needs a corruption that leaves
// the field equal to one particular value of 65536, and the link CRC and
// the IPv4 header checksum (verified before completion) guard the rest.

// PartialL4Checksum reports whether ip, a view from ParseIPv4, carries a
// whole (not fragmented) TCP or UDP segment whose checksum field holds the
// folded pseudo-header sum, the mark of a checksum left for offload. The
// sum's two ones' complement representations of zero (0x0000 and 0xffff)
// are taken as equal, except that a UDP field of 0 means "no checksum"
// (RFC 768) and is never partial: a sender that offloads stores the folded
// sum, which is never 0. A UDP length field shorter than 8 or past the
// IPv4 payload, or a TCP segment shorter than its fixed header, is not
// partial either (the transport's own parser rejects it later).
func (ip IPv4) PartialL4Checksum() bool {
	_, _, ok := ip.partialL4()
	return ok
}

// partialL4 is PartialL4Checksum that also returns the offset of the
// checksum field in the L4 segment and the segment's length. It runs for
// every TCP and UDP packet, so it reads the header bytes directly and sums
// the pseudo-header with one 64-bit load of both addresses.
func (ip IPv4) partialL4() (field int, length uint16, ok bool) {
	if len(ip) < IPv4MinLen || binary.BigEndian.Uint16(ip[ip4FlagsFrag:])&0x3fff != 0 {
		return 0, 0, false
	}
	hl := int(ip[ip4VerIHL]&0xf) * 4
	if hl > len(ip) {
		return 0, 0, false
	}
	seg := ip[hl:]
	proto := ip[ip4Proto]
	var c uint16
	switch proto {
	case IPProtoUDP:
		if len(seg) < UDPLen {
			return 0, 0, false
		}
		length = binary.BigEndian.Uint16(seg[udpLength:])
		c = binary.BigEndian.Uint16(seg[udpChecksum:])
		if c == 0 || length < UDPLen || int(length) > len(seg) {
			return 0, 0, false
		}
		field = udpChecksum
	case IPProtoTCP:
		if len(seg) < TCPMinLen {
			return 0, 0, false
		}
		length = uint16(len(seg))
		c = binary.BigEndian.Uint16(seg[tcpChecksum:])
		field = tcpChecksum
	default:
		return 0, 0, false
	}
	a := binary.BigEndian.Uint64(ip[ip4Src:])
	s := a>>32 + a&0xffffffff + uint64(proto) + uint64(length) // < 2^34
	s = s&0xffff + s>>16                                       // < 2^18
	s = s&0xffff + s>>16                                       // < 0x20000
	s = s&0xffff + s>>16                                       // <= 0xffff
	if s == 0 {
		s = 0xffff
	}
	if c == 0 {
		c = 0xffff
	}
	return field, length, uint64(c) == s
}

// MaybePartialL4Checksum is the cheap first test of PartialL4Checksum, small
// enough to inline in a node's per-packet loop while the header is in
// cache: for an unfragmented TCP or UDP packet it compares the checksum
// field with the folded pseudo-header sum, taking the segment length from
// the IPv4 total length (ip must end there, as ParseIPv4 and ip4-input
// leave it), so a UDP datagram shorter than its IPv4 payload (trailing
// bytes; no Linux sender makes one) is not a candidate. A true answer is
// only a candidate: CompletePartialL4Checksum checks again with the
// segment's own lengths before it writes.
func (ip IPv4) MaybePartialL4Checksum() bool {
	proto := ip[ip4Proto]
	hl := int(ip[ip4VerIHL]&0xf) << 2
	field := hl + tcpChecksum
	if proto == IPProtoUDP {
		field = hl + udpChecksum
	} else if proto != IPProtoTCP {
		return false
	}
	if field+2 > len(ip) || ip[ip4FlagsFrag]&0x3f|ip[ip4FlagsFrag+1] != 0 {
		return false
	}
	a := binary.BigEndian.Uint64(ip[ip4Src:])
	s := a>>32 + a&0xffffffff + uint64(proto) + uint64(len(ip)-hl)
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	c := uint64(binary.BigEndian.Uint16(ip[field:]))
	// s is never 0 (the sum includes the protocol); a field of 0 is a UDP
	// datagram without checksum, or a TCP checksum written as 0x0000
	// where the sum folded to 0xffff.
	return c == s || c == 0 && proto == IPProtoTCP && s == 0xffff
}

// CompletePartialL4Checksum completes a checksum left for offload: if
// PartialL4Checksum(ip) holds, it computes the full TCP or UDP checksum
// over the pseudo-header and the segment and stores it (a UDP result of 0
// as 0xffff), and reports true; otherwise it changes nothing and reports
// false. ip must be a view from ParseIPv4.
func (ip IPv4) CompletePartialL4Checksum() bool {
	field, length, ok := ip.partialL4()
	if !ok {
		return false
	}
	seg := ip[ip.HeaderLen():]
	seg = seg[:length]
	proto := ip.Protocol()
	s := Sum(seg[:field], PseudoHeaderSum(ip.Src(), ip.Dst(), proto, length))
	c := Checksum(seg[field+2:], s)
	if c == 0 && proto == IPProtoUDP {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(seg[field:], c)
	return true
}

// SetPartialL4Checksum is what a sender with checksum offload does: it
// stores the folded pseudo-header sum in the TCP or UDP checksum field of
// ip (a view from ParseIPv4, not a fragment) and reports true, or reports
// false for other protocols and segments too short for their header. It
// is for tests and traffic generators that imitate such a sender.
func (ip IPv4) SetPartialL4Checksum() bool {
	if ip.IsFragment() {
		return false
	}
	seg := ip[ip.HeaderLen():]
	var field int
	var length uint16
	switch ip.Protocol() {
	case IPProtoUDP:
		if len(seg) < UDPLen {
			return false
		}
		field, length = udpChecksum, binary.BigEndian.Uint16(seg[udpLength:])
		if length < UDPLen || int(length) > len(seg) {
			return false
		}
	case IPProtoTCP:
		if len(seg) < TCPMinLen {
			return false
		}
		field, length = tcpChecksum, uint16(len(seg))
	default:
		return false
	}
	binary.BigEndian.PutUint16(seg[field:], uint16(PseudoHeaderSum(ip.Src(), ip.Dst(), ip.Protocol(), length)))
	return true
}
