package stack

import (
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// LocalPort is the Meta.RxPort of packets the stack originates.
const LocalPort = 0xffff

// Layout of a packet the host stack originates, in its buffer from
// pkt.Headroom: a placeholder Ethernet header (ip4-rewrite writes it),
// IPv4 without options, then the transport's header and data.
const (
	OriginL3 = wire.EthernetLen
	OriginL4 = OriginL3 + wire.IPv4MinLen
	// OriginL4v6 is where the transport header starts in an IPv6 packet
	// the stack originates (IPv6 without extension headers).
	OriginL4v6 = OriginL3 + wire.IPv6Len
)

// DefaultHopLimit is the hop limit of IPv6 packets the stack originates.
const DefaultHopLimit = 64

// Originate lays buffer i out as a packet the host sends to ip4-lookup:
// l4 bytes of transport (header and data) after an IPv4 header of
// protocol proto from src to dst written by e, with the Meta offsets,
// RxPort LocalPort and FlagLocal set. It returns the l4 bytes (which the
// caller fills, before or after: Originate does not touch them). Every
// transport's output uses it.
func Originate(a *pkt.Arena, i pkt.Index, e *wire.IPv4Emitter, proto uint8, src, dst [4]byte, l4 int) []byte {
	return OriginateAt(a, i, pkt.Headroom, e, proto, src, dst, l4)
}

// OriginateAt is Originate with the packet's data starting at offset start
// of the buffer's slot instead of pkt.Headroom (a transport that wrote its
// segment at the IPv6 layout's OriginL4v6 sends it over IPv4 from
// pkt.Headroom+OriginL4v6-OriginL4).
func OriginateAt(a *pkt.Arena, i pkt.Index, start int, e *wire.IPv4Emitter, proto uint8, src, dst [4]byte, l4 int) []byte {
	d, _ := a.SetData(i, start, OriginL4+l4)
	clear(d[:OriginL3])
	seg := e.Emit(d[OriginL3:], proto, src, dst, l4)
	m := a.Meta(i)
	m.L3, m.L4 = OriginL3, OriginL4
	m.RxPort = LocalPort
	m.Flags = pkt.FlagLocal
	return seg[:l4]
}

// Originate6 is Originate for IPv6: buffer i laid out as a packet to
// ip6-lookup, an IPv6 header (no extension headers, hop limit
// DefaultHopLimit) of next header proto from src to dst before l4 bytes of
// transport at OriginL4v6.
func Originate6(a *pkt.Arena, i pkt.Index, proto uint8, src, dst [16]byte, l4 int) []byte {
	d, _ := a.SetData(i, pkt.Headroom, OriginL4v6+l4)
	clear(d[:OriginL3])
	f := wire.IPv6Fields{PayloadLen: uint16(l4), NextHeader: proto, HopLimit: DefaultHopLimit, Src: src, Dst: dst}
	wire.IPv6(d[OriginL3:]).Encode(&f)
	m := a.Meta(i)
	m.L3, m.L4 = OriginL3, OriginL4v6
	m.RxPort = LocalPort
	m.Flags = pkt.FlagLocal
	return d[OriginL4v6 : OriginL4v6+l4]
}
