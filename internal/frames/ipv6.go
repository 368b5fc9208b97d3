package frames

import (
	"encoding/binary"

	"github.com/vecnet/vecnet/wire"
)

// Spec6 describes an Ethernet/IPv6 frame. Zero fields take defaults: hop
// limit 64, next header UDP (ports 5000 → 9).
type Spec6 struct {
	SrcMAC, DstMAC wire.MAC
	Src, Dst       [16]byte
	HopLimit       uint8
	// Next is wire.IPProtoUDP (default), wire.IPProtoICMPv6 (echo
	// request), or any other (an opaque payload).
	Next uint8
	// Ext are extension headers, each written as given (its first byte,
	// the next header, is filled in).
	Ext     [][]byte
	Payload int // payload bytes after the L4 header, filled with 0, 1, 2 ...
}

// IPv6 returns the frame s describes, with a valid upper-layer checksum.
func IPv6(s Spec6) []byte {
	if s.HopLimit == 0 {
		s.HopLimit = 64
	}
	if s.Next == 0 {
		s.Next = wire.IPProtoUDP
	}
	l4 := s.Payload
	switch s.Next {
	case wire.IPProtoUDP:
		l4 += wire.UDPLen
	case wire.IPProtoICMPv6:
		l4 += wire.ICMPv6MinLen
	}
	ext := 0
	for _, e := range s.Ext {
		ext += len(e)
	}
	b := make([]byte, wire.EthernetLen+wire.IPv6Len+ext+l4)
	eth := wire.Ethernet(b)
	eth.SetDst(s.DstMAC)
	eth.SetSrc(s.SrcMAC)
	eth.SetType(wire.EtherTypeIPv6)
	first := s.Next
	if len(s.Ext) > 0 {
		first = s.Ext[0][0]
	}
	ip := wire.IPv6(b[wire.EthernetLen:])
	ip.Encode(&wire.IPv6Fields{PayloadLen: uint16(ext + l4), NextHeader: first, HopLimit: s.HopLimit, Src: s.Src, Dst: s.Dst})
	off := wire.EthernetLen + wire.IPv6Len
	for k, e := range s.Ext {
		copy(b[off:], e)
		if k+1 < len(s.Ext) {
			b[off] = s.Ext[k+1][0]
		} else {
			b[off] = s.Next
		}
		off += len(e)
	}
	body := b[off:]
	for k := range body {
		body[k] = byte(k)
	}
	switch s.Next {
	case wire.IPProtoUDP:
		binary.BigEndian.PutUint16(body[0:], 5000)
		binary.BigEndian.PutUint16(body[2:], 9)
		binary.BigEndian.PutUint16(body[4:], uint16(l4))
		binary.BigEndian.PutUint16(body[6:], 0)
		c := wire.Checksum(body, wire.PseudoHeaderSum6(s.Src, s.Dst, wire.IPProtoUDP, uint32(l4)))
		if c == 0 {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(body[6:], c)
	case wire.IPProtoICMPv6:
		c := wire.ICMPv6(body)
		c.SetType(wire.ICMPv6EchoRequest)
		c.SetCode(0)
		c.SetWord(0x12340001)
		c.SetChecksum(c.ComputeChecksum6(s.Src, s.Dst))
	}
	return b
}

// ExtHeader returns an extension header of kind (next-header value naming
// it: the first byte is a placeholder IPv6 replaces) and 8*units bytes.
func ExtHeader(kind uint8, units int) []byte {
	e := make([]byte, 8*units)
	e[0] = kind
	e[1] = byte(units - 1)
	if kind == wire.IPProtoFragment {
		e[1] = 0
	}
	return e
}

// RoutingHeader returns a routing header of type typ with segments left.
func RoutingHeader(typ, segmentsLeft uint8) []byte {
	e := make([]byte, 24)
	e[0] = wire.IPProtoRouting
	e[1] = 2
	e[2], e[3] = typ, segmentsLeft
	return e
}

// ND returns a Neighbor Solicitation (typ wire.ICMPv6NeighborSolicit) or
// Advertisement frame from src to dst about target, with flags (NA) and,
// when opt is not 0, a link-layer address option of type opt holding
// srcMAC. hop is the hop limit (255 for valid ND).
func ND(typ uint8, srcMAC, dstMAC wire.MAC, src, dst, target [16]byte, flags uint32, opt uint8, hop uint8) []byte {
	n := wire.NDMinLen
	if opt != 0 {
		n += 8
	}
	b := make([]byte, wire.EthernetLen+wire.IPv6Len+n)
	eth := wire.Ethernet(b)
	eth.SetDst(dstMAC)
	eth.SetSrc(srcMAC)
	eth.SetType(wire.EtherTypeIPv6)
	wire.IPv6(b[wire.EthernetLen:]).Encode(&wire.IPv6Fields{PayloadLen: uint16(n), NextHeader: wire.IPProtoICMPv6, HopLimit: hop, Src: src, Dst: dst})
	c := wire.ICMPv6(b[wire.EthernetLen+wire.IPv6Len:])
	c.SetType(typ)
	c.SetWord(flags)
	copy(c[8:24], target[:])
	if opt != 0 {
		c[24], c[25] = opt, 1
		copy(c[26:32], srcMAC[:])
	}
	c.SetChecksum(c.ComputeChecksum6(src, dst))
	return b
}
