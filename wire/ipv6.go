package wire

import (
	"encoding/binary"
	"math/bits"
)

// IPv6 header (RFC 8200 section 3):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Traffic Class |           Flow Label                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Payload Length        |  Next Header  |   Hop Limit   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 Source Address (128 bits)                     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|              Destination Address (128 bits)                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	ip6PayloadLen = 4
	ip6Next       = 6
	ip6HopLimit   = 7
	ip6Src        = 8
	ip6Dst        = 24
)

// IPv6Len is the length of the fixed IPv6 header.
const IPv6Len = 40

// IPv6MinMTU is the smallest link MTU IPv6 allows (RFC 8200 section 5).
const IPv6MinMTU = 1280

// IPv6 next-header values this package names.
const (
	IPProtoHopByHop  = 0
	IPProtoRouting   = 43
	IPProtoFragment  = 44
	IPProtoESP       = 50
	IPProtoAH        = 51
	IPProtoICMPv6    = 58
	IPProtoNoNext    = 59
	IPProtoDestOpts  = 60
	IPProtoMobility  = 135
	IPProtoHIP       = 139
	IPProtoShim6     = 140
	IPProtoExpTest1  = 253
	IPProtoExpTest2  = 254
	ipv6MaxExtHeader = 255
)

// IPv6Error says why ParseIPv6 rejected a header.
type IPv6Error uint8

// ParseIPv6 results.
const (
	IPv6OK IPv6Error = iota
	IPv6TooShort
	IPv6BadVersion
	IPv6BadLength
)

// IPv6 is a view of an IPv6 packet, starting at its fixed header.
type IPv6 []byte

// ParseIPv6 checks the fixed header once: at least 40 bytes, version 6,
// payload length within b. The view it returns is cut to the header plus
// payload length (Ethernet padding removed), so every accessor is safe.
func ParseIPv6(b []byte) (IPv6, IPv6Error) {
	if len(b) < IPv6Len {
		return nil, IPv6TooShort
	}
	if b[0]>>4 != 6 {
		return nil, IPv6BadVersion
	}
	n := IPv6Len + int(binary.BigEndian.Uint16(b[ip6PayloadLen:]))
	if n > len(b) {
		return nil, IPv6BadLength
	}
	return IPv6(b[:n]), IPv6OK
}

// Version returns the version field.
func (ip IPv6) Version() uint8 { return ip[0] >> 4 }

// TrafficClass returns the traffic class.
func (ip IPv6) TrafficClass() uint8 { return ip[0]<<4 | ip[1]>>4 }

// PayloadLen returns the payload length field.
func (ip IPv6) PayloadLen() uint16 { return binary.BigEndian.Uint16(ip[ip6PayloadLen:]) }

// SetPayloadLen sets the payload length field.
func (ip IPv6) SetPayloadLen(n uint16) { binary.BigEndian.PutUint16(ip[ip6PayloadLen:], n) }

// NextHeader returns the next header field of the fixed header.
func (ip IPv6) NextHeader() uint8 { return ip[ip6Next] }

// HopLimit returns the hop limit.
func (ip IPv6) HopLimit() uint8 { return ip[ip6HopLimit] }

// SetHopLimit sets the hop limit (IPv6 has no header checksum).
func (ip IPv6) SetHopLimit(h uint8) { ip[ip6HopLimit] = h }

// Src returns the source address.
func (ip IPv6) Src() [16]byte { return [16]byte(ip[ip6Src : ip6Src+16]) }

// Dst returns the destination address.
func (ip IPv6) Dst() [16]byte { return [16]byte(ip[ip6Dst : ip6Dst+16]) }

// SrcHi returns the first 64 bits of the source address as a number.
func (ip IPv6) SrcHi() uint64 { return binary.BigEndian.Uint64(ip[ip6Src:]) }

// SrcLo returns the last 64 bits of the source address as a number.
func (ip IPv6) SrcLo() uint64 { return binary.BigEndian.Uint64(ip[ip6Src+8:]) }

// DstHi returns the first 64 bits of the destination address as a number.
func (ip IPv6) DstHi() uint64 { return binary.BigEndian.Uint64(ip[ip6Dst:]) }

// DstLo returns the last 64 bits of the destination address as a number.
func (ip IPv6) DstLo() uint64 { return binary.BigEndian.Uint64(ip[ip6Dst+8:]) }

// SetSrc sets the source address.
func (ip IPv6) SetSrc(a [16]byte) { copy(ip[ip6Src:ip6Src+16], a[:]) }

// SetDst sets the destination address.
func (ip IPv6) SetDst(a [16]byte) { copy(ip[ip6Dst:ip6Dst+16], a[:]) }

// Payload returns what follows the fixed header.
func (ip IPv6) Payload() []byte { return ip[IPv6Len:] }

// IPv6Fields are the fields Encode writes.
type IPv6Fields struct {
	PayloadLen uint16
	NextHeader uint8
	HopLimit   uint8
	Src, Dst   [16]byte
}

// Encode writes a fixed header (traffic class and flow label 0) into ip,
// which must hold 40 bytes.
func (ip IPv6) Encode(f *IPv6Fields) {
	_ = ip[IPv6Len-1]
	ip[0], ip[1], ip[2], ip[3] = 0x60, 0, 0, 0
	binary.BigEndian.PutUint16(ip[ip6PayloadLen:], f.PayloadLen)
	ip[ip6Next] = f.NextHeader
	ip[ip6HopLimit] = f.HopLimit
	copy(ip[ip6Src:ip6Src+16], f.Src[:])
	copy(ip[ip6Dst:ip6Dst+16], f.Dst[:])
}

// PseudoHeaderSum6 returns the unfolded sum of the IPv6 pseudo-header
// (RFC 8200 section 8.1) for an upper-layer checksum.
func PseudoHeaderSum6(src, dst [16]byte, next uint8, length uint32) uint32 {
	s := Sum(src[:], 0)
	s = Sum(dst[:], s)
	return s + length>>16 + length&0xffff + uint32(next)
}

// ExtWalk is the result of walking an IPv6 packet's extension headers.
type ExtWalk struct {
	// Proto is the upper-layer protocol (or IPProtoNoNext, or an
	// unknown extension's value), at offset Off from the fixed header.
	Proto uint8
	Off   int
	// Count is the number of extension headers walked.
	Count int
	// HopByHop is set when the first extension is a hop-by-hop header.
	HopByHop bool
	// RoutingType is the type of the routing header, -1 when none.
	RoutingType int
	// SegmentsLeft is the routing header's segments left.
	SegmentsLeft uint8
	// Fragment is set when a fragment header was seen; FragOffset is its
	// offset (in 8-byte units).
	Fragment   bool
	FragOffset uint16
}

// ExtError says why WalkExtensions stopped.
type ExtError uint8

// WalkExtensions results.
const (
	ExtOK ExtError = iota
	// ExtTruncated: an extension header runs past the packet.
	ExtTruncated
	// ExtTooMany: more than the allowed number of extension headers.
	ExtTooMany
	// ExtTooLong: the extension headers are longer than allowed.
	ExtTooLong
	// ExtHopByHopNotFirst: a hop-by-hop header after the first position
	// (RFC 8200 section 4.1).
	ExtHopByHopNotFirst
)

// IsExtension reports whether next-header value p names an IPv6 extension
// header that WalkExtensions steps over.
func IsExtension(p uint8) bool {
	switch p {
	case IPProtoHopByHop, IPProtoRouting, IPProtoFragment, IPProtoDestOpts, IPProtoMobility,
		IPProtoHIP, IPProtoShim6, IPProtoAH, IPProtoExpTest1, IPProtoExpTest2:
		return true
	}
	return false
}

// WalkExtensions steps over ip's extension headers, at most maxCount of
// them and maxLen bytes in all, and reports where the upper layer starts.
// It never reads outside ip. ESP and unknown values stop the walk (the
// rest is opaque).
func (ip IPv6) WalkExtensions(maxCount, maxLen int) (ExtWalk, ExtError) {
	w := ExtWalk{Proto: ip[ip6Next], Off: IPv6Len, RoutingType: -1}
	for IsExtension(w.Proto) {
		if w.Count >= maxCount {
			return w, ExtTooMany
		}
		if w.Proto == IPProtoHopByHop && w.Count > 0 {
			return w, ExtHopByHopNotFirst
		}
		if w.Off+8 > len(ip) {
			return w, ExtTruncated
		}
		h := ip[w.Off : w.Off+8]
		var n int
		switch w.Proto {
		case IPProtoFragment:
			n = 8
			w.Fragment = true
			w.FragOffset = binary.BigEndian.Uint16(h[2:]) >> 3
		case IPProtoAH:
			n = (int(h[1]) + 2) * 4
		default:
			n = (int(h[1]) + 1) * 8
		}
		if w.Proto == IPProtoHopByHop {
			w.HopByHop = true
		}
		if w.Proto == IPProtoRouting && w.RoutingType < 0 {
			w.RoutingType, w.SegmentsLeft = int(h[2]), h[3]
		}
		if w.Off+n > len(ip) {
			return w, ExtTruncated
		}
		if w.Off+n-IPv6Len > maxLen {
			return w, ExtTooLong
		}
		w.Count++
		w.Proto = h[0]
		w.Off += n
		if w.Fragment && w.FragOffset != 0 {
			break // a non-first fragment: what follows is not a header
		}
	}
	return w, ExtOK
}

// IsMulticast6 reports whether a is a multicast address (ff00::/8).
func IsMulticast6(a [16]byte) bool { return a[0] == 0xff }

// IsLinkLocal6 reports whether a is a link-local unicast address (fe80::/10).
func IsLinkLocal6(a [16]byte) bool { return a[0] == 0xfe && a[1]&0xc0 == 0x80 }

// SolicitedNode returns the solicited-node multicast address of a
// (ff02::1:ffXX:XXXX, RFC 4291 section 2.7.1).
func SolicitedNode(a [16]byte) [16]byte {
	return [16]byte{0xff, 0x02, 10: 0, 11: 0x01, 12: 0xff, 13: a[13], 14: a[14], 15: a[15]}
}

// MulticastMAC returns the Ethernet address of IPv6 multicast group a
// (33:33 and the group's last 32 bits, RFC 2464 section 7).
func MulticastMAC(a [16]byte) MAC { return MAC{0x33, 0x33, a[12], a[13], a[14], a[15]} }

// AllNodes is ff02::1, the link-local all-nodes group.
var AllNodes = [16]byte{0xff, 0x02, 15: 1}

// CompletePartialL4Checksum finishes a TCP or UDP checksum that a sender
// with checksum offload left for the hardware (see PartialL4Checksum for
// IPv4: the field holds the folded pseudo-header sum). proto and off name
// the upper layer and its offset from the fixed header (past any extension
// headers). It reports whether the checksum was partial and is now
// complete; anything else is left as it is.
func (ip IPv6) CompletePartialL4Checksum(proto uint8, off int) bool {
	if off < IPv6Len || off > len(ip) {
		return false
	}
	seg := ip[off:]
	var field int
	var length int
	switch proto {
	case IPProtoUDP:
		if len(seg) < UDPLen {
			return false
		}
		length = int(binary.BigEndian.Uint16(seg[udpLength:]))
		if binary.BigEndian.Uint16(seg[udpChecksum:]) == 0 || length < UDPLen || length > len(seg) {
			return false
		}
		field = udpChecksum
	case IPProtoTCP:
		if len(seg) < TCPMinLen {
			return false
		}
		length, field = len(seg), tcpChecksum
	default:
		return false
	}
	c := uint64(binary.BigEndian.Uint16(seg[field:]))
	// The pseudo-header sum with four 64-bit loads of the addresses, the
	// carries kept in the upper half.
	var s64 uint64
	for k := ip6Src; k < ip6Dst+16; k += 8 {
		a := binary.BigEndian.Uint64(ip[k:])
		s64 += a>>32 + a&0xffffffff
	}
	s64 += uint64(proto) + uint64(length)
	s64 = s64&0xffff + s64>>16
	s64 = s64&0xffff + s64>>16
	s64 = s64&0xffff + s64>>16
	if s64 == 0 {
		s64 = 0xffff
	}
	if c == 0 {
		c = 0xffff
	}
	if c != s64 {
		return false
	}
	sum := ^fold32(Sum(seg[:length], 0))
	if sum == 0 && proto == IPProtoUDP {
		sum = 0xffff
	}
	binary.BigEndian.PutUint16(seg[field:], sum)
	return true
}

// MaybePartialL4Checksum is the cheap first test of
// CompletePartialL4Checksum, for the per-packet loop: it compares the TCP
// or UDP checksum field at upper-layer offset off with the folded
// pseudo-header sum, taking the segment length from the end of ip (as
// ParseIPv6 cuts it). A true answer is only a candidate.
func (ip IPv6) MaybePartialL4Checksum(proto uint8, off int) bool {
	field := off + udpChecksum
	if proto == IPProtoTCP {
		field = off + tcpChecksum
	} else if proto != IPProtoUDP {
		return false
	}
	if field+2 > len(ip) || len(ip) < IPv6Len {
		return false
	}
	// Ones' complement sum of the addresses with 64-bit adds and an
	// end-around carry, then folded to 16 bits.
	x, c := bits.Add64(binary.BigEndian.Uint64(ip[ip6Src:]), binary.BigEndian.Uint64(ip[ip6Src+8:]), 0)
	x, c = bits.Add64(x, binary.BigEndian.Uint64(ip[ip6Dst:]), c)
	x, c = bits.Add64(x, binary.BigEndian.Uint64(ip[ip6Dst+8:]), c)
	x, c = bits.Add64(x, uint64(proto)+uint64(len(ip)-off), c)
	x, c = bits.Add64(x, 0, c)
	x += c
	s := x&0xffffffff + x>>32
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	v := uint64(binary.BigEndian.Uint16(ip[field:]))
	return v == s || v|s == 0xffff && v&s == 0
}
