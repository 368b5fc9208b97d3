package wire

import "encoding/binary"

// ARP packet for IPv4 over Ethernet (RFC 826). Only this combination
// (hardware type 1, protocol 0x0800, lengths 6 and 4) is supported.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Hardware type         |         Protocol type         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  HW len (6)   | Proto len (4) |           Operation           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  Sender hardware address ...                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  ... (6 bytes)                |  Sender protocol address ...  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  ... (4 bytes)                |  Target hardware address ...  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                          ... (6 bytes)                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 Target protocol address (4 bytes)             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	arpHType     = 0
	arpPType     = 2
	arpHLen      = 4
	arpPLen      = 5
	arpOp        = 6
	arpSenderMAC = 8
	arpSenderIP  = 14
	arpTargetMAC = 18
	arpTargetIP  = 24
)

// ARPLen is the length of an Ethernet/IPv4 ARP packet in bytes.
const ARPLen = 28

// ARP operation codes.
const (
	ARPRequest = 1
	ARPReply   = 2
)

// ARP is a view of an Ethernet/IPv4 ARP packet. Accessors are unchecked:
// the view must hold ARPLen bytes (see ParseARP).
type ARP []byte

// ParseARP reports whether b starts with an Ethernet/IPv4 ARP packet
// (hardware type 1, protocol type 0x0800, address lengths 6 and 4) and
// returns it re-sliced to ARPLen bytes. It does not check the operation.
func ParseARP(b []byte) (ARP, bool) {
	if len(b) < ARPLen {
		return nil, false
	}
	b = b[:ARPLen]
	if binary.BigEndian.Uint16(b[arpHType:]) != 1 || binary.BigEndian.Uint16(b[arpPType:]) != uint16(EtherTypeIPv4) ||
		b[arpHLen] != 6 || b[arpPLen] != 4 {
		return nil, false
	}
	return ARP(b), true
}

// Op returns the operation (ARPRequest, ARPReply).
func (a ARP) Op() uint16 { return binary.BigEndian.Uint16(a[arpOp:]) }

// SenderMAC returns the sender hardware address.
func (a ARP) SenderMAC() MAC { return MAC(a[arpSenderMAC : arpSenderMAC+6]) }

// SenderIP returns the sender protocol address.
func (a ARP) SenderIP() [4]byte { return [4]byte(a[arpSenderIP : arpSenderIP+4]) }

// TargetMAC returns the target hardware address.
func (a ARP) TargetMAC() MAC { return MAC(a[arpTargetMAC : arpTargetMAC+6]) }

// TargetIP returns the target protocol address.
func (a ARP) TargetIP() [4]byte { return [4]byte(a[arpTargetIP : arpTargetIP+4]) }

// ARPFields are the variable fields of an Ethernet/IPv4 ARP packet, for
// ARP.Encode.
type ARPFields struct {
	Op        uint16
	SenderMAC MAC
	SenderIP  [4]byte
	TargetMAC MAC
	TargetIP  [4]byte
}

// Encode writes all ARPLen bytes of an Ethernet/IPv4 ARP packet from f
// into a, which must hold at least ARPLen bytes.
func (a ARP) Encode(f *ARPFields) {
	_ = a[ARPLen-1]
	binary.BigEndian.PutUint16(a[arpHType:], 1)
	binary.BigEndian.PutUint16(a[arpPType:], uint16(EtherTypeIPv4))
	a[arpHLen] = 6
	a[arpPLen] = 4
	binary.BigEndian.PutUint16(a[arpOp:], f.Op)
	copy(a[arpSenderMAC:arpSenderMAC+6], f.SenderMAC[:])
	copy(a[arpSenderIP:arpSenderIP+4], f.SenderIP[:])
	copy(a[arpTargetMAC:arpTargetMAC+6], f.TargetMAC[:])
	copy(a[arpTargetIP:arpTargetIP+4], f.TargetIP[:])
}
