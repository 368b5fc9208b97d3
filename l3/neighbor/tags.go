package neighbor

import (
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// pushTags inserts out's VLAN tags (a sub-interface's; none for a hardware
// interface) after the MAC addresses of packet i, an untagged Ethernet
// frame this node wrote: the MACs move TagsLen bytes into the headroom and
// Meta.L3 and L4 follow. It reports false when the headroom is too small.
func pushTags(a *pkt.Arena, i pkt.Index, out *iface.Interface) bool {
	t := int(out.TagsLen)
	if t == 0 {
		return true
	}
	if _, ok := a.Push(i, t); !ok {
		return false
	}
	m, d := a.Packet(i)
	_ = d[t+wire.EthernetLen-1]
	copy(d[:12], d[t:t+12])
	copy(d[12:12+t], out.Tags[:t])
	m.L3 += uint16(t)
	if m.L4 != 0 {
		m.L4 += uint16(t)
	}
	return true
}
