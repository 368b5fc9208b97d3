package wire

import "encoding/binary"

// UDP header (RFC 768).
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Source Port          |       Destination Port        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|            Length             |           Checksum            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Data ...
//	+-+-+-+-+-+-+-+-
const (
	udpSrcPort  = 0
	udpDstPort  = 2
	udpLength   = 4
	udpChecksum = 6
)

// UDPLen is the length of the UDP header.
const UDPLen = 8

// UDP is a view of a UDP datagram starting at its header. Accessors are
// unchecked: after ParseUDP the view holds exactly Length() bytes; a view
// made by conversion must hold at least UDPLen bytes (and Length() bytes
// for the checksum and Payload).
type UDP []byte

// ParseUDP reports whether b starts with a UDP datagram whose length field
// is at least 8 and at most len(b), and returns it re-sliced to that
// length. It does not verify the checksum.
func ParseUDP(b []byte) (UDP, bool) {
	if len(b) < UDPLen {
		return nil, false
	}
	n := int(binary.BigEndian.Uint16(b[udpLength:]))
	if n < UDPLen || n > len(b) {
		return nil, false
	}
	return UDP(b[:n]), true
}

// SrcPort returns the source port.
func (u UDP) SrcPort() uint16 { return binary.BigEndian.Uint16(u[udpSrcPort:]) }

// DstPort returns the destination port.
func (u UDP) DstPort() uint16 { return binary.BigEndian.Uint16(u[udpDstPort:]) }

// Length returns the length field (header and data, in bytes).
func (u UDP) Length() uint16 { return binary.BigEndian.Uint16(u[udpLength:]) }

// Checksum returns the checksum field (0 means none was computed).
func (u UDP) Checksum() uint16 { return binary.BigEndian.Uint16(u[udpChecksum:]) }

// SetSrcPort sets the source port without updating the checksum.
func (u UDP) SetSrcPort(p uint16) { binary.BigEndian.PutUint16(u[udpSrcPort:], p) }

// SetDstPort sets the destination port without updating the checksum.
func (u UDP) SetDstPort(p uint16) { binary.BigEndian.PutUint16(u[udpDstPort:], p) }

// SetLength sets the length field without updating the checksum.
func (u UDP) SetLength(n uint16) { binary.BigEndian.PutUint16(u[udpLength:], n) }

// SetChecksum sets the checksum field.
func (u UDP) SetChecksum(c uint16) { binary.BigEndian.PutUint16(u[udpChecksum:], c) }

// Payload returns the data after the header, up to Length() clamped to the
// view.
func (u UDP) Payload() []byte {
	end := int(u.Length())
	if end > len(u) {
		end = len(u)
	}
	if end < UDPLen {
		return u[UDPLen:UDPLen]
	}
	return u[UDPLen:end]
}

// UDPFields are the fields of a UDP header for UDP.Encode.
type UDPFields struct {
	SrcPort, DstPort, Length uint16
}

// Encode writes the 8-byte header from f into u, which must hold at least
// UDPLen bytes, with a zero checksum; compute one with ComputeChecksum once
// the data is in place.
func (u UDP) Encode(f *UDPFields) {
	_ = u[UDPLen-1]
	binary.BigEndian.PutUint16(u[udpSrcPort:], f.SrcPort)
	binary.BigEndian.PutUint16(u[udpDstPort:], f.DstPort)
	binary.BigEndian.PutUint16(u[udpLength:], f.Length)
	binary.BigEndian.PutUint16(u[udpChecksum:], 0)
}

// ComputeChecksum returns the UDP checksum over the IPv4 pseudo-header for
// src and dst and the first Length() bytes of u, with the checksum field
// taken as zero. A computed 0 is returned as 0xffff, since 0 on the wire
// means "no checksum".
func (u UDP) ComputeChecksum(src, dst [4]byte) uint16 {
	n := u.Length()
	b := u[:n]
	s := Sum(b[:udpChecksum], PseudoHeaderSum(src, dst, IPProtoUDP, n))
	c := Checksum(b[udpChecksum+2:], s)
	if c == 0 {
		c = 0xffff
	}
	return c
}

// ChecksumValid reports whether the checksum verifies for the IPv4
// addresses src and dst, or is 0 (no checksum, allowed over IPv4).
func (u UDP) ChecksumValid(src, dst [4]byte) bool {
	if u.Checksum() == 0 {
		return true
	}
	n := u.Length()
	return Sum(u[:n], PseudoHeaderSum(src, dst, IPProtoUDP, n)) == 0xffff
}

// ComputeChecksum6 is ComputeChecksum over the IPv6 pseudo-header (RFC 8200
// section 8.1). A computed 0 is returned as 0xffff.
func (u UDP) ComputeChecksum6(src, dst [16]byte) uint16 {
	n := u.Length()
	b := u[:n]
	s := Sum(b[:udpChecksum], PseudoHeaderSum6(src, dst, IPProtoUDP, uint32(n)))
	c := Checksum(b[udpChecksum+2:], s)
	if c == 0 {
		c = 0xffff
	}
	return c
}

// ChecksumValid6 reports whether the checksum verifies for the IPv6
// addresses src and dst. A zero checksum is invalid over IPv6 (RFC 8200
// section 8.1).
func (u UDP) ChecksumValid6(src, dst [16]byte) bool {
	if u.Checksum() == 0 {
		return false
	}
	n := u.Length()
	return fold32(Sum(u[:n], PseudoHeaderSum6(src, dst, IPProtoUDP, uint32(n)))) == 0xffff
}
