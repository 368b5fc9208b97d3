package wire

import "encoding/binary"

// ICMPv6 types (RFC 4443, RFC 4861).
const (
	ICMPv6DestUnreachable = 1
	ICMPv6PacketTooBig    = 2
	ICMPv6TimeExceeded    = 3
	ICMPv6ParamProblem    = 4
	ICMPv6EchoRequest     = 128
	ICMPv6EchoReply       = 129
	ICMPv6RouterSolicit   = 133
	ICMPv6RouterAdvert    = 134
	ICMPv6NeighborSolicit = 135
	ICMPv6NeighborAdvert  = 136
	ICMPv6Redirect        = 137
)

// ICMPv6 codes.
const (
	ICMPv6NoRoute          = 0 // destination unreachable
	ICMPv6AddrUnreachable  = 3 // destination unreachable
	ICMPv6PortUnreachable  = 4 // destination unreachable
	ICMPv6BeyondScope      = 2 // destination unreachable
	ICMPv6HopLimitExceeded = 0 // time exceeded
	ICMPv6ErroneousHeader  = 0 // parameter problem
	ICMPv6UnknownNext      = 1 // parameter problem
)

// ICMPv6 is a view of an ICMPv6 message: type, code, checksum, then a
// 4-byte field (identifier and sequence, MTU, pointer, or flags).
type ICMPv6 []byte

// ICMPv6MinLen is the smallest ICMPv6 message this package handles.
const ICMPv6MinLen = 8

// ParseICMPv6 checks that b holds at least the 8-byte header.
func ParseICMPv6(b []byte) (ICMPv6, bool) {
	if len(b) < ICMPv6MinLen {
		return nil, false
	}
	return ICMPv6(b), true
}

// Type returns the message type.
func (c ICMPv6) Type() uint8 { return c[0] }

// Code returns the message code.
func (c ICMPv6) Code() uint8 { return c[1] }

// SetType sets the message type.
func (c ICMPv6) SetType(t uint8) { c[0] = t }

// SetCode sets the message code.
func (c ICMPv6) SetCode(x uint8) { c[1] = x }

// Checksum returns the checksum field.
func (c ICMPv6) Checksum() uint16 { return binary.BigEndian.Uint16(c[2:]) }

// SetChecksum sets the checksum field.
func (c ICMPv6) SetChecksum(x uint16) { binary.BigEndian.PutUint16(c[2:], x) }

// Word returns the 32-bit field after the checksum (MTU of Packet Too Big,
// pointer of Parameter Problem, flags of a Neighbor Advertisement).
func (c ICMPv6) Word() uint32 { return binary.BigEndian.Uint32(c[4:]) }

// SetWord sets the 32-bit field after the checksum.
func (c ICMPv6) SetWord(x uint32) { binary.BigEndian.PutUint32(c[4:], x) }

// ComputeChecksum6 returns the checksum of c (checksum field zeroed first)
// under the pseudo-header of src and dst.
func (c ICMPv6) ComputeChecksum6(src, dst [16]byte) uint16 {
	c.SetChecksum(0)
	return Checksum(c, PseudoHeaderSum6(src, dst, IPProtoICMPv6, uint32(len(c))))
}

// ChecksumValid6 reports whether c's checksum is right under the
// pseudo-header of src and dst.
func (c ICMPv6) ChecksumValid6(src, dst [16]byte) bool {
	return fold32(Sum(c, PseudoHeaderSum6(src, dst, IPProtoICMPv6, uint32(len(c))))) == 0xffff
}

// IsICMPv6Error reports whether t is an ICMPv6 error type (< 128).
func IsICMPv6Error(t uint8) bool { return t < 128 }

// Neighbor Discovery (RFC 4861 sections 4.3, 4.4): after the 8-byte ICMPv6
// header (the 4-byte word holds NA's R, S, O flags) comes the 16-byte target
// address, then options.
const (
	// NDMinLen is the length of an NS or NA without options.
	NDMinLen = ICMPv6MinLen + 16
	// NA flags in Word().
	NAFlagRouter    = 1 << 31
	NAFlagSolicited = 1 << 30
	NAFlagOverride  = 1 << 29
	// ND option types.
	NDOptSourceLinkAddr = 1
	NDOptTargetLinkAddr = 2
)

// NDTarget returns the target address of an NS or NA (len(c) >= NDMinLen).
func (c ICMPv6) NDTarget() [16]byte { return [16]byte(c[8:24]) }

// NDOptError says why ParseNDOptions rejected an option list.
type NDOptError uint8

// ParseNDOptions results.
const (
	NDOptOK NDOptError = iota
	// NDOptZeroLength: an option with length 0 (RFC 4861 section 4.6).
	NDOptZeroLength
	// NDOptTruncated: an option runs past the message.
	NDOptTruncated
	// NDOptBadLinkAddr: a link-layer address option not 8 bytes long.
	NDOptBadLinkAddr
	// NDOptDuplicate: two link-layer address options of one kind.
	NDOptDuplicate
)

// NDOptions is what ParseNDOptions found.
type NDOptions struct {
	// LinkAddr is the source (NS) or target (NA) link-layer address;
	// HasLinkAddr says whether the option was present.
	LinkAddr    MAC
	HasLinkAddr bool
}

// ParseNDOptions validates the options b (what follows the target address)
// and returns the link-layer address option of type want (source for NS,
// target for NA). Unknown options are skipped, as RFC 4861 requires.
func ParseNDOptions(b []byte, want uint8) (NDOptions, NDOptError) {
	var o NDOptions
	for len(b) > 0 {
		if len(b) < 2 {
			return o, NDOptTruncated
		}
		n := int(b[1]) * 8
		if n == 0 {
			return o, NDOptZeroLength
		}
		if n > len(b) {
			return o, NDOptTruncated
		}
		if b[0] == want {
			if n != 8 {
				return o, NDOptBadLinkAddr
			}
			if o.HasLinkAddr {
				return o, NDOptDuplicate
			}
			o.LinkAddr, o.HasLinkAddr = MAC(b[2:8]), true
		}
		b = b[n:]
	}
	return o, NDOptOK
}
