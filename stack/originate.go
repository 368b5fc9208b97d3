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
)

// Originate lays buffer i out as a packet the host sends to ip4-lookup:
// l4 bytes of transport (header and data) after an IPv4 header of
// protocol proto from src to dst written by e, with the Meta offsets,
// RxPort LocalPort and FlagLocal set. It returns the l4 bytes (which the
// caller fills, before or after: Originate does not touch them). Every
// transport's output uses it.
func Originate(a *pkt.Arena, i pkt.Index, e *wire.IPv4Emitter, proto uint8, src, dst [4]byte, l4 int) []byte {
	d, _ := a.SetData(i, pkt.Headroom, OriginL4+l4)
	clear(d[:OriginL3])
	seg := e.Emit(d[OriginL3:], proto, src, dst, l4)
	m := a.Meta(i)
	m.L3, m.L4 = OriginL3, OriginL4
	m.RxPort = LocalPort
	m.Flags = pkt.FlagLocal
	return seg[:l4]
}
