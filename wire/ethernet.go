package wire

import "encoding/binary"

// Ethernet II header (IEEE 802.3 clause 3, DIX framing); the FCS is not
// part of the frame as drivers see it.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Destination MAC address                    |
//	+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                      Source MAC address                       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           EtherType           |  Payload ...
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	ethDst  = 0
	ethSrc  = 6
	ethType = 12
)

// EthernetLen is the length of an untagged Ethernet header in bytes.
const EthernetLen = 14

// MAC is an IEEE 802 48-bit MAC address, a comparable value.
type MAC [6]byte

// BroadcastMAC is the all-ones broadcast address ff:ff:ff:ff:ff:ff.
var BroadcastMAC = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// String returns m as six lower-case hex pairs separated by colons
// ("02:00:00:00:0a:01"). It allocates; do not call it per packet.
func (m MAC) String() string {
	const hex = "0123456789abcdef"
	var b [17]byte
	for i, x := range m {
		if i > 0 {
			b[3*i-1] = ':'
		}
		b[3*i] = hex[x>>4]
		b[3*i+1] = hex[x&0xf]
	}
	return string(b[:])
}

// IsMulticast reports whether m is a group address (I/G bit set); this
// includes the broadcast address.
func (m MAC) IsMulticast() bool { return m[0]&1 != 0 }

// EtherType is the 16-bit protocol identifier of an Ethernet frame or VLAN
// tag, in host order.
type EtherType uint16

// EtherType values the data plane dispatches on.
const (
	EtherTypeIPv4 EtherType = 0x0800
	EtherTypeARP  EtherType = 0x0806
	EtherTypeVLAN EtherType = 0x8100
	// EtherTypeQinQ is the 802.1ad service tag's TPID (the outer tag of
	// a QinQ frame).
	EtherTypeQinQ EtherType = 0x88a8
	EtherTypeIPv6 EtherType = 0x86dd
)

// Ethernet is a view of an Ethernet frame starting at the destination
// address. Accessors are unchecked: the view must hold at least EthernetLen
// bytes (see ParseEthernet). The bytes belong to the slice's owner.
type Ethernet []byte

// ParseEthernet returns b as an Ethernet view and reports whether b is long
// enough to hold the header. The view keeps the whole frame so that
// Payload works.
func ParseEthernet(b []byte) (Ethernet, bool) {
	if len(b) < EthernetLen {
		return nil, false
	}
	return Ethernet(b), true
}

// Dst returns the destination MAC address.
func (e Ethernet) Dst() MAC { return MAC(e[ethDst : ethDst+6]) }

// Src returns the source MAC address.
func (e Ethernet) Src() MAC { return MAC(e[ethSrc : ethSrc+6]) }

// Type returns the EtherType (EtherTypeVLAN for a tagged frame).
func (e Ethernet) Type() EtherType { return EtherType(binary.BigEndian.Uint16(e[ethType:])) }

// SetDst sets the destination MAC address.
func (e Ethernet) SetDst(m MAC) { copy(e[ethDst:ethDst+6], m[:]) }

// SetSrc sets the source MAC address.
func (e Ethernet) SetSrc(m MAC) { copy(e[ethSrc:ethSrc+6], m[:]) }

// SetType sets the EtherType.
func (e Ethernet) SetType(t EtherType) { binary.BigEndian.PutUint16(e[ethType:], uint16(t)) }

// Payload returns the bytes after the 14-byte header (for a tagged frame,
// starting with the VLAN tag's TCI).
func (e Ethernet) Payload() []byte { return e[EthernetLen:] }

// EthernetHeader returns the 14-byte header dst, src, typ: the link rewrite
// a neighbour entry hands to the FIB, whatever the network family.
func EthernetHeader(dst, src MAC, typ EtherType) [EthernetLen]byte {
	var h [EthernetLen]byte
	copy(h[0:6], dst[:])
	copy(h[6:12], src[:])
	h[12], h[13] = byte(typ>>8), byte(typ)
	return h
}
