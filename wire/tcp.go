package wire

import "encoding/binary"

// TCP header (RFC 9293).
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Source Port          |       Destination Port        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Sequence Number                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Acknowledgment Number                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Data |       |C|E|U|A|P|R|S|F|                               |
//	| Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//	|       |       |R|E|G|K|H|T|N|N|                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Checksum            |         Urgent Pointer        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Options                    |    Padding    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                             Data ...
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-
//	Data Offset counts 32-bit words.
const (
	tcpSrcPort  = 0
	tcpDstPort  = 2
	tcpSeq      = 4
	tcpAck      = 8
	tcpDataOff  = 12
	tcpFlags    = 13
	tcpWindow   = 14
	tcpChecksum = 16
	tcpUrgent   = 18
)

// TCPMinLen is the length of a TCP header without options.
const TCPMinLen = 20

// TCP flag bits as returned by TCP.Flags (byte 13 of the header).
const (
	TCPFlagFIN = 1 << iota
	TCPFlagSYN
	TCPFlagRST
	TCPFlagPSH
	TCPFlagACK
	TCPFlagURG
	TCPFlagECE
	TCPFlagCWR
)

// TCP is a view of a TCP segment starting at its header; the segment
// length is len of the view (TCP has no length field, so it comes from the
// IP total length). Accessors are unchecked: after ParseTCP the view holds
// at least HeaderLen bytes; a view made by conversion must hold at least
// TCPMinLen bytes.
type TCP []byte

// ParseTCP reports whether b starts with a TCP header whose data offset is
// at least 5 words and within b, and returns b as a TCP view (the whole
// segment, not re-sliced). It does not verify the checksum.
func ParseTCP(b []byte) (TCP, bool) {
	if len(b) < TCPMinLen {
		return nil, false
	}
	hl := int(b[tcpDataOff]>>4) * 4
	if hl < TCPMinLen || hl > len(b) {
		return nil, false
	}
	return TCP(b), true
}

// SrcPort returns the source port.
func (t TCP) SrcPort() uint16 { return binary.BigEndian.Uint16(t[tcpSrcPort:]) }

// DstPort returns the destination port.
func (t TCP) DstPort() uint16 { return binary.BigEndian.Uint16(t[tcpDstPort:]) }

// Seq returns the sequence number.
func (t TCP) Seq() uint32 { return binary.BigEndian.Uint32(t[tcpSeq:]) }

// Ack returns the acknowledgment number.
func (t TCP) Ack() uint32 { return binary.BigEndian.Uint32(t[tcpAck:]) }

// DataOffset returns the data offset field in 32-bit words.
func (t TCP) DataOffset() uint8 { return t[tcpDataOff] >> 4 }

// HeaderLen returns the header length in bytes (data offset * 4).
func (t TCP) HeaderLen() int { return int(t[tcpDataOff]>>4) * 4 }

// Flags returns the flag byte (TCPFlagFIN ... TCPFlagCWR).
func (t TCP) Flags() uint8 { return t[tcpFlags] }

// Window returns the window field (unscaled).
func (t TCP) Window() uint16 { return binary.BigEndian.Uint16(t[tcpWindow:]) }

// Checksum returns the checksum field.
func (t TCP) Checksum() uint16 { return binary.BigEndian.Uint16(t[tcpChecksum:]) }

// Urgent returns the urgent pointer.
func (t TCP) Urgent() uint16 { return binary.BigEndian.Uint16(t[tcpUrgent:]) }

// SetSrcPort sets the source port without updating the checksum.
func (t TCP) SetSrcPort(p uint16) { binary.BigEndian.PutUint16(t[tcpSrcPort:], p) }

// SetDstPort sets the destination port without updating the checksum.
func (t TCP) SetDstPort(p uint16) { binary.BigEndian.PutUint16(t[tcpDstPort:], p) }

// SetSeq sets the sequence number without updating the checksum.
func (t TCP) SetSeq(n uint32) { binary.BigEndian.PutUint32(t[tcpSeq:], n) }

// SetAck sets the acknowledgment number without updating the checksum.
func (t TCP) SetAck(n uint32) { binary.BigEndian.PutUint32(t[tcpAck:], n) }

// SetFlags sets the flag byte without updating the checksum.
func (t TCP) SetFlags(f uint8) { t[tcpFlags] = f }

// SetWindow sets the window field without updating the checksum.
func (t TCP) SetWindow(w uint16) { binary.BigEndian.PutUint16(t[tcpWindow:], w) }

// SetChecksum sets the checksum field.
func (t TCP) SetChecksum(c uint16) { binary.BigEndian.PutUint16(t[tcpChecksum:], c) }

// SetUrgent sets the urgent pointer without updating the checksum.
func (t TCP) SetUrgent(u uint16) { binary.BigEndian.PutUint16(t[tcpUrgent:], u) }

// Options returns the option bytes between the fixed header and HeaderLen.
func (t TCP) Options() []byte { return t[TCPMinLen:t.HeaderLen()] }

// Payload returns the data after HeaderLen to the end of the view.
func (t TCP) Payload() []byte { return t[t.HeaderLen():] }

// TCPFields are the fields of a TCP header for TCP.Encode. DataOffset is
// in 32-bit words; 0 means 5 (no options).
type TCPFields struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	DataOffset       uint8
	Flags            uint8
	Window           uint16
	Urgent           uint16
}

// Encode writes the 20-byte fixed header from f into t, which must hold at
// least TCPMinLen bytes, with a zero checksum. Option bytes (if
// f.DataOffset > 5) are the caller's to write; compute the checksum with
// ComputeChecksum once the segment is complete.
func (t TCP) Encode(f *TCPFields) {
	_ = t[TCPMinLen-1]
	off := f.DataOffset
	if off == 0 {
		off = TCPMinLen / 4
	}
	binary.BigEndian.PutUint16(t[tcpSrcPort:], f.SrcPort)
	binary.BigEndian.PutUint16(t[tcpDstPort:], f.DstPort)
	binary.BigEndian.PutUint32(t[tcpSeq:], f.Seq)
	binary.BigEndian.PutUint32(t[tcpAck:], f.Ack)
	t[tcpDataOff] = off << 4
	t[tcpFlags] = f.Flags
	binary.BigEndian.PutUint16(t[tcpWindow:], f.Window)
	binary.BigEndian.PutUint16(t[tcpChecksum:], 0)
	binary.BigEndian.PutUint16(t[tcpUrgent:], f.Urgent)
}

// ComputeChecksum returns the TCP checksum over the IPv4 pseudo-header for
// src and dst and the first length bytes of t (the segment length, header
// and data), with the checksum field taken as zero.
func (t TCP) ComputeChecksum(src, dst [4]byte, length uint16) uint16 {
	b := t[:length]
	s := Sum(b[:tcpChecksum], PseudoHeaderSum(src, dst, IPProtoTCP, length))
	return Checksum(b[tcpChecksum+2:], s)
}

// ChecksumValid reports whether the checksum verifies over the IPv4
// pseudo-header for src and dst and the first length bytes of t.
func (t TCP) ChecksumValid(src, dst [4]byte, length uint16) bool {
	return Sum(t[:length], PseudoHeaderSum(src, dst, IPProtoTCP, length)) == 0xffff
}

// ComputeChecksum6 is ComputeChecksum over the IPv6 pseudo-header.
func (t TCP) ComputeChecksum6(src, dst [16]byte, length uint16) uint16 {
	b := t[:length]
	s := Sum(b[:tcpChecksum], PseudoHeaderSum6(src, dst, IPProtoTCP, uint32(length)))
	return Checksum(b[tcpChecksum+2:], s)
}

// ChecksumValid6 is ChecksumValid over the IPv6 pseudo-header.
func (t TCP) ChecksumValid6(src, dst [16]byte, length uint16) bool {
	return fold32(Sum(t[:length], PseudoHeaderSum6(src, dst, IPProtoTCP, uint32(length)))) == 0xffff
}
