package wire

import (
	"encoding/binary"
	"math/bits"
)

// The Internet checksum (RFC 1071) is the ones' complement of the ones'
// complement sum of the data taken as big-endian 16-bit words, with an odd
// trailing byte padded with a zero byte. The sum is independent of the word
// size used to compute it as long as carries wrap around, so Sum adds eight
// bytes at a time into a 64-bit accumulator and folds at the end.

// Sum returns the ones' complement sum of b added to initial, folded to 16
// bits (the result is at most 0xffff), so it can be passed as initial to a
// further call. A b of odd length is padded with a zero byte, so only the
// last piece of a message may have an odd length. initial is usually 0 or a
// PseudoHeaderSum.
func Sum(b []byte, initial uint32) uint32 {
	s := uint64(initial)
	var c uint64
	for len(b) >= 32 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[0:8]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[8:16]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[16:24]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[24:32]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	if len(b) >= 4 {
		s, c = bits.Add64(s, uint64(binary.BigEndian.Uint32(b)), c)
		b = b[4:]
	}
	if len(b) >= 2 {
		s, c = bits.Add64(s, uint64(binary.BigEndian.Uint16(b)), c)
		b = b[2:]
	}
	if len(b) == 1 {
		s, c = bits.Add64(s, uint64(b[0])<<8, c)
	}
	s, c = bits.Add64(s, 0, c)
	s += c
	return fold64(s)
}

// fold64 folds a 64-bit ones' complement accumulator to 16 bits.
func fold64(s uint64) uint32 {
	s = s&0xffffffff + s>>32 // < 2^33
	s = s&0xffff + s>>16     // < 0x30000
	s = s&0xffff + s>>16     // <= 0x10001
	s = s&0xffff + s>>16     // <= 0xffff
	return uint32(s)
}

// fold32 folds a 32-bit ones' complement accumulator to 16 bits.
func fold32(s uint32) uint16 {
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return uint16(s)
}

// Checksum returns the Internet checksum of b with initial (a partial sum
// such as a PseudoHeaderSum) added: the value to store in a checksum field
// that was zero while b was summed. b may have an odd length.
func Checksum(b []byte, initial uint32) uint16 {
	return ^uint16(Sum(b, initial))
}

// PseudoHeaderSum returns the folded ones' complement sum of the IPv4
// pseudo-header used by the UDP and TCP checksums (RFC 768, RFC 9293):
// source and destination address, protocol, and the transport length in
// bytes. Pass it as initial to Sum or Checksum.
func PseudoHeaderSum(src, dst [4]byte, proto uint8, length uint16) uint32 {
	s := uint32(src[0])<<8 | uint32(src[1])
	s += uint32(src[2])<<8 | uint32(src[3])
	s += uint32(dst[0])<<8 | uint32(dst[1])
	s += uint32(dst[2])<<8 | uint32(dst[3])
	s += uint32(proto)
	s += uint32(length)
	return uint32(fold32(s))
}

// ChecksumUpdate16 returns the checksum field value hc updated for one
// 16-bit word of the covered data changing from old to new, by RFC 1624
// equation 3: HC' = ~(~HC + ~m + m'). A word that holds two one-byte fields
// (TTL and protocol, ICMP type and code) is passed as hi<<8 | lo.
func ChecksumUpdate16(hc, old, new uint16) uint16 {
	s := uint32(^hc) + uint32(^old) + uint32(new)
	return ^fold32(s)
}

// ChecksumUpdate32 returns the checksum field value hc updated for a 4-byte
// field at an even offset (an IPv4 address, as NAT rewrites it) changing
// from old to new, by RFC 1624 equation 3 applied to both halves.
func ChecksumUpdate32(hc uint16, old, new [4]byte) uint16 {
	s := uint32(^hc)
	s += uint32(^(uint16(old[0])<<8 | uint16(old[1])))
	s += uint32(^(uint16(old[2])<<8 | uint16(old[3])))
	s += uint32(new[0])<<8 | uint32(new[1])
	s += uint32(new[2])<<8 | uint32(new[3])
	return ^fold32(s)
}
