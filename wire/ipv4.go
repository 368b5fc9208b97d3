package wire

import "encoding/binary"

// IPv4 header (RFC 791).
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version|  IHL  |Type of Service|          Total Length         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Identification        |Flags|      Fragment Offset    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Time to Live |    Protocol   |         Header Checksum       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Source Address                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Destination Address                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Options                    |    Padding    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	Flags: bit 0 reserved, bit 1 DF (don't fragment), bit 2 MF (more
//	fragments); Fragment Offset counts 8-byte units.
const (
	ip4VerIHL    = 0
	ip4TOS       = 1
	ip4TotalLen  = 2
	ip4ID        = 4
	ip4FlagsFrag = 6
	ip4TTL       = 8
	ip4Proto     = 9
	ip4Checksum  = 10
	ip4Src       = 12
	ip4Dst       = 16
)

// IPv4MinLen is the length of an IPv4 header without options.
const IPv4MinLen = 20

// IPv4 flag values as returned by IPv4.Flags and taken by IPv4Fields.Flags:
// the three flag bits shifted down to the low bits of a byte.
const (
	IPv4FlagMF = 1 // more fragments
	IPv4FlagDF = 2 // don't fragment
)

// IP protocol numbers (IANA) for IPv4.Protocol.
const (
	IPProtoICMP = 1
	IPProtoTCP  = 6
	IPProtoUDP  = 17
)

// IPv4Error is the reason ParseIPv4 rejects a header; IPv4OK means none.
// The values are small consecutive constants so that callers can index a
// table (for example of error counters) with them.
type IPv4Error uint8

// ParseIPv4 results.
const (
	IPv4OK         IPv4Error = iota // header is well formed
	IPv4TooShort                    // fewer than 20 bytes
	IPv4BadVersion                  // version is not 4
	IPv4BadIHL                      // IHL < 5 or header longer than the buffer
	IPv4BadLength                   // total length < header length or > buffer
)

// String returns a short lower-case name of e.
func (e IPv4Error) String() string {
	switch e {
	case IPv4OK:
		return "ok"
	case IPv4TooShort:
		return "too short"
	case IPv4BadVersion:
		return "bad version"
	case IPv4BadIHL:
		return "bad header length"
	case IPv4BadLength:
		return "bad total length"
	}
	return "unknown ipv4 error"
}

// IPv4 is a view of an IPv4 packet starting at its header. Accessors are
// unchecked: after ParseIPv4 the view holds the header and exactly the
// total length; a view made by conversion must hold at least IPv4MinLen
// bytes (and HeaderLen bytes for Options, TotalLen for Payload).
type IPv4 []byte

// ParseIPv4 checks that b starts with a well-formed IPv4 header: at least
// 20 bytes, version 4, IHL at least 5, the header within b, and the total
// length at least the header length and within b. It returns the view
// re-sliced to the total length, which cuts link-layer padding. It does not
// verify the header checksum (see ChecksumValid).
func ParseIPv4(b []byte) (IPv4, IPv4Error) {
	if len(b) < IPv4MinLen {
		return nil, IPv4TooShort
	}
	vi := b[ip4VerIHL]
	if vi>>4 != 4 {
		return nil, IPv4BadVersion
	}
	hl := int(vi&0xf) * 4
	if hl < IPv4MinLen || hl > len(b) {
		return nil, IPv4BadIHL
	}
	tl := int(binary.BigEndian.Uint16(b[ip4TotalLen:]))
	if tl < hl || tl > len(b) {
		return nil, IPv4BadLength
	}
	return IPv4(b[:tl]), IPv4OK
}

// Version returns the IP version field (4 after ParseIPv4).
func (ip IPv4) Version() uint8 { return ip[ip4VerIHL] >> 4 }

// HeaderLen returns the header length in bytes (IHL * 4).
func (ip IPv4) HeaderLen() int { return int(ip[ip4VerIHL]&0xf) * 4 }

// TOS returns the type-of-service (DSCP and ECN) byte.
func (ip IPv4) TOS() uint8 { return ip[ip4TOS] }

// TotalLen returns the total length field in bytes.
func (ip IPv4) TotalLen() uint16 { return binary.BigEndian.Uint16(ip[ip4TotalLen:]) }

// SetTotalLen sets the total length field without updating the checksum.
func (ip IPv4) SetTotalLen(n uint16) { binary.BigEndian.PutUint16(ip[ip4TotalLen:], n) }

// ID returns the identification field.
func (ip IPv4) ID() uint16 { return binary.BigEndian.Uint16(ip[ip4ID:]) }

// Flags returns the three flag bits shifted down (IPv4FlagDF, IPv4FlagMF;
// 4 is the reserved bit).
func (ip IPv4) Flags() uint8 { return ip[ip4FlagsFrag] >> 5 }

// DontFragment reports whether the DF flag is set.
func (ip IPv4) DontFragment() bool { return ip[ip4FlagsFrag]&0x40 != 0 }

// MoreFragments reports whether the MF flag is set.
func (ip IPv4) MoreFragments() bool { return ip[ip4FlagsFrag]&0x20 != 0 }

// FragOffset returns the fragment offset field in 8-byte units (multiply
// by 8 for bytes).
func (ip IPv4) FragOffset() uint16 { return binary.BigEndian.Uint16(ip[ip4FlagsFrag:]) & 0x1fff }

// IsFragment reports whether the packet is a fragment: MF set or a
// non-zero fragment offset.
func (ip IPv4) IsFragment() bool { return binary.BigEndian.Uint16(ip[ip4FlagsFrag:])&0x3fff != 0 }

// TTL returns the time-to-live.
func (ip IPv4) TTL() uint8 { return ip[ip4TTL] }

// SetTTL sets the time-to-live without updating the checksum.
func (ip IPv4) SetTTL(t uint8) { ip[ip4TTL] = t }

// DecTTL decrements the time-to-live by one and updates the header
// checksum incrementally (RFC 1624), so a valid checksum stays valid. The
// caller checks TTL() > 1 (or > 0) first; a TTL of 0 wraps to 255.
func (ip IPv4) DecTTL() {
	_ = ip[ip4Checksum+1]
	t := ip[ip4TTL]
	ip[ip4TTL] = t - 1
	// ~HC + ~m + m' with m = t<<8, m' = (t-1)<<8 (the protocol byte of the
	// word cancels out).
	s := uint32(^binary.BigEndian.Uint16(ip[ip4Checksum:])) + uint32(^(uint16(t) << 8)) + uint32(t-1)<<8
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	binary.BigEndian.PutUint16(ip[ip4Checksum:], ^uint16(s))
}

// Protocol returns the protocol number of the payload (IPProtoUDP, ...).
func (ip IPv4) Protocol() uint8 { return ip[ip4Proto] }

// Checksum returns the header checksum field.
func (ip IPv4) Checksum() uint16 { return binary.BigEndian.Uint16(ip[ip4Checksum:]) }

// SetChecksum sets the header checksum field.
func (ip IPv4) SetChecksum(c uint16) { binary.BigEndian.PutUint16(ip[ip4Checksum:], c) }

// ComputeChecksum returns the header checksum over HeaderLen bytes with the
// checksum field taken as zero, whatever it holds; store it with
// SetChecksum.
func (ip IPv4) ComputeChecksum() uint16 {
	h := ip[:ip.HeaderLen()]
	s := Sum(h[:ip4Checksum], 0)
	return Checksum(h[ip4Src:], s)
}

// ChecksumValid reports whether the header checksum verifies over
// HeaderLen bytes (the view must hold them, and IHL must be at least 5, as
// after ParseIPv4). It needs no fold: the ones' complement sum of 16-bit
// words is congruent to their plain sum modulo 0xffff, and it folds to
// 0xffff exactly when that plain sum is a non-zero multiple of 0xffff (the
// first word is non-zero when IHL >= 5). Words are added 32 bits at a time;
// a header without options takes no loop.
func (ip IPv4) ChecksumValid() bool {
	s := sum20(ip)
	// k < HeaderLen(), spelt out to stay within the inlining budget.
	for k := IPv4MinLen; k < int(ip[ip4VerIHL]&0xf)*4; k += 4 {
		s += uint64(binary.LittleEndian.Uint32(ip[k:]))
	}
	return s%0xffff == 0
}

// sum20 adds the first 20 bytes of b as 32-bit words; the 64-bit total
// cannot overflow, so no carries are needed. The words are read
// little-endian, which needs no byte swap: that swaps the bytes of every
// 16-bit word, which multiplies the sum by 256 modulo 0xffff, and 256 is
// invertible modulo 0xffff, so whether the sum is a multiple of 0xffff
// does not change (RFC 1071's byte-order independence).
func sum20(b []byte) uint64 {
	_ = b[19]
	return uint64(binary.LittleEndian.Uint32(b[0:])) + uint64(binary.LittleEndian.Uint32(b[4:])) +
		uint64(binary.LittleEndian.Uint32(b[8:])) + uint64(binary.LittleEndian.Uint32(b[12:])) +
		uint64(binary.LittleEndian.Uint32(b[16:]))
}

// Src returns the source address.
func (ip IPv4) Src() [4]byte { return [4]byte(ip[ip4Src : ip4Src+4]) }

// Dst returns the destination address.
func (ip IPv4) Dst() [4]byte { return [4]byte(ip[ip4Dst : ip4Dst+4]) }

// SrcBits returns the source address as a big-endian number (a.b.c.d is
// a<<24 | b<<16 | c<<8 | d), for range tests and hashing: the compiler
// keeps a uint32 in a register where it spills a [4]byte to the stack.
func (ip IPv4) SrcBits() uint32 { return binary.BigEndian.Uint32(ip[ip4Src:]) }

// DstBits returns the destination address as a big-endian number (see
// SrcBits).
func (ip IPv4) DstBits() uint32 { return binary.BigEndian.Uint32(ip[ip4Dst:]) }

// SetSrc sets the source address without updating the checksum.
func (ip IPv4) SetSrc(a [4]byte) { copy(ip[ip4Src:ip4Src+4], a[:]) }

// SetDst sets the destination address without updating the checksum.
func (ip IPv4) SetDst(a [4]byte) { copy(ip[ip4Dst:ip4Dst+4], a[:]) }

// Options returns the option bytes between the fixed header and HeaderLen.
func (ip IPv4) Options() []byte { return ip[IPv4MinLen:ip.HeaderLen()] }

// Payload returns the bytes from HeaderLen to TotalLen, clamped to the
// view (so it is safe on a view made by conversion that was not cut to the
// total length, as long as it holds the header).
func (ip IPv4) Payload() []byte {
	end := int(ip.TotalLen())
	if end > len(ip) {
		end = len(ip)
	}
	hl := ip.HeaderLen()
	if hl > end {
		return ip[end:end]
	}
	return ip[hl:end]
}

// IPv4Fields are the fields of an IPv4 header without options, for
// IPv4.Encode. Flags uses the IPv4FlagDF/IPv4FlagMF values; FragOffset is
// in 8-byte units.
type IPv4Fields struct {
	TOS        uint8
	TotalLen   uint16
	ID         uint16
	Flags      uint8
	FragOffset uint16
	TTL        uint8
	Protocol   uint8
	Src, Dst   [4]byte
}

// Encode writes a 20-byte header (version 4, IHL 5) from f into ip, which
// must hold at least IPv4MinLen bytes, and fills in the header checksum.
func (ip IPv4) Encode(f *IPv4Fields) {
	_ = ip[IPv4MinLen-1]
	ip[ip4VerIHL] = 0x45
	ip[ip4TOS] = f.TOS
	binary.BigEndian.PutUint16(ip[ip4TotalLen:], f.TotalLen)
	binary.BigEndian.PutUint16(ip[ip4ID:], f.ID)
	binary.BigEndian.PutUint16(ip[ip4FlagsFrag:], uint16(f.Flags&7)<<13|f.FragOffset&0x1fff)
	ip[ip4TTL] = f.TTL
	ip[ip4Proto] = f.Protocol
	ip[ip4Checksum] = 0
	ip[ip4Checksum+1] = 0
	copy(ip[ip4Src:ip4Src+4], f.Src[:])
	copy(ip[ip4Dst:ip4Dst+4], f.Dst[:])
	ip.SetChecksum(Checksum(ip[:IPv4MinLen], 0))
}
