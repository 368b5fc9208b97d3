package wire

import "encoding/binary"

// ICMPv4 message (RFC 792, RFC 1191 for the next-hop MTU).
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Identifier (echo) / unused  | Sequence (echo) / next-hop MTU|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Data (echo payload, or the quoted IP header + 8 bytes) ...
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-
const (
	icmpType     = 0
	icmpCode     = 1
	icmpChecksum = 2
	icmpID       = 4
	icmpSeq      = 6
	icmpMTU      = 6
)

// ICMPv4MinLen is the length of the fixed ICMPv4 header.
const ICMPv4MinLen = 8

// ICMPv4 types.
const (
	ICMPv4EchoReply       = 0
	ICMPv4DestUnreachable = 3
	ICMPv4Echo            = 8
	ICMPv4TimeExceeded    = 11
	ICMPv4ParamProblem    = 12
)

// ICMPv4 codes for ICMPv4DestUnreachable and ICMPv4TimeExceeded.
const (
	ICMPv4NetUnreachable   = 0
	ICMPv4HostUnreachable  = 1
	ICMPv4ProtoUnreachable = 2
	ICMPv4PortUnreachable  = 3
	ICMPv4FragNeeded       = 4
	ICMPv4TTLExceeded      = 0
)

// ICMPv4 is a view of an ICMPv4 message; the checksum covers the whole
// view. Accessors are unchecked: the view must hold at least ICMPv4MinLen
// bytes (see ParseICMPv4).
type ICMPv4 []byte

// ParseICMPv4 returns b as an ICMPv4 view and reports whether it holds the
// 8-byte header. It does not verify the checksum.
func ParseICMPv4(b []byte) (ICMPv4, bool) {
	if len(b) < ICMPv4MinLen {
		return nil, false
	}
	return ICMPv4(b), true
}

// Type returns the message type.
func (c ICMPv4) Type() uint8 { return c[icmpType] }

// Code returns the message code.
func (c ICMPv4) Code() uint8 { return c[icmpCode] }

// SetType sets the message type without updating the checksum.
func (c ICMPv4) SetType(t uint8) { c[icmpType] = t }

// SetCode sets the message code without updating the checksum.
func (c ICMPv4) SetCode(x uint8) { c[icmpCode] = x }

// Checksum returns the checksum field.
func (c ICMPv4) Checksum() uint16 { return binary.BigEndian.Uint16(c[icmpChecksum:]) }

// SetChecksum sets the checksum field.
func (c ICMPv4) SetChecksum(x uint16) { binary.BigEndian.PutUint16(c[icmpChecksum:], x) }

// ComputeChecksum returns the checksum of the whole view with the checksum
// field taken as zero, whatever it holds.
func (c ICMPv4) ComputeChecksum() uint16 {
	return Checksum(c[icmpChecksum+2:], Sum(c[:icmpChecksum], 0))
}

// ChecksumValid reports whether the checksum verifies over the whole view.
func (c ICMPv4) ChecksumValid() bool { return Sum(c, 0) == 0xffff }

// ID returns the echo identifier (bytes 4-5).
func (c ICMPv4) ID() uint16 { return binary.BigEndian.Uint16(c[icmpID:]) }

// Seq returns the echo sequence number (bytes 6-7).
func (c ICMPv4) Seq() uint16 { return binary.BigEndian.Uint16(c[icmpSeq:]) }

// SetID sets the echo identifier (bytes 4-5) without updating the checksum.
func (c ICMPv4) SetID(x uint16) { binary.BigEndian.PutUint16(c[icmpID:], x) }

// SetSeq sets the echo sequence number (bytes 6-7) without updating the
// checksum.
func (c ICMPv4) SetSeq(x uint16) { binary.BigEndian.PutUint16(c[icmpSeq:], x) }

// MTU returns the next-hop MTU of a fragmentation-needed message (bytes
// 6-7, RFC 1191).
func (c ICMPv4) MTU() uint16 { return binary.BigEndian.Uint16(c[icmpMTU:]) }

// SetMTU sets the next-hop MTU (bytes 6-7) without updating the checksum.
func (c ICMPv4) SetMTU(x uint16) { binary.BigEndian.PutUint16(c[icmpMTU:], x) }

// Payload returns the bytes after the 8-byte header.
func (c ICMPv4) Payload() []byte { return c[ICMPv4MinLen:] }
