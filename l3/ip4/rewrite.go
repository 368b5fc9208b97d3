package ip4

import (
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// ip4-rewrite error codes.
const (
	RwErrTTLExpired = iota
	RwErrMTU
	RwErrStaleAdj
	RwErrFragNeeded
)

const (
	rwNextOutput = 1 + iota
	rwNextICMPError
	rwNextFrag
)

// RewriteNode returns ip4-rewrite: TTL-1 with an RFC 1624 checksum update,
// the MTU check, and the adjacency's Ethernet header written in front of the
// IP header (a VLAN tag received is removed; a sub-interface's tags are
// part of the adjacency's rewrite: one copy per packet). A packet larger than the
// egress MTU gets fragmentation needed when it has DF, and otherwise is
// rewritten and handed to ip4-frag with the MTU in Meta.MTU. When the graph
// declares the ip4-output arc (OutputArc, started here, ending at
// interface-output), a rewritten packet enters it for its egress interface;
// fragments ip4-frag makes go to interface-output directly.
func RewriteNode(table *fib.Table) graph.Registration {
	arc := -1
	return graph.Registration{
		Name: RewriteName,
		Next: []string{driver.OutputNodeName, ICMPErrorName, FragName},
		Errors: []graph.Error{
			RwErrTTLExpired: {Name: "ttl_expired", Help: "TTL <= 1 on forwarding (time exceeded sent)", Severity: graph.SevWarn},
			RwErrMTU:        {Name: "mtu_exceeded", Help: "packet we originate with DF larger than the egress MTU"},
			RwErrStaleAdj:   {Name: "stale_adjacency", Help: "adjacency vanished between lookup and rewrite"},
			RwErrFragNeeded: {Name: "fragmentation_needed", Help: "DF packet larger than the egress MTU (frag-needed sent)", Severity: graph.SevWarn},
		},
		Init: func(n *graph.Node) error {
			if id, err := n.Graph().ArcID(OutputArc); err == nil {
				arc = id
			}
			return nil
		},
		Func:   func(n *graph.Node, v *pkt.Vector) int { return rewrite(n, v, arc, table.Load()) },
		Format: formatIP,
	}
}

// rewrite is ip4-rewrite's node function over one FIB snapshot (named,
// not a closure, so that its calls inline; see input); arc is the
// ip4-output arc's id, or -1 when the graph has none.
func rewrite(n *graph.Node, v *pkt.Vector, arc int, view *fib.View) int {
	a := n.Arena()
	cnt := v.Len
	if arc >= 0 && !n.ArcActive(arc) {
		arc = -1 // no output feature on any interface: no ArcStart per packet
	}
	for k, i := range v.Idx[:cnt] {
		m, d := a.Packet(i)
		adj := view.Adj(fib.AdjIndex(m.Adj))
		// f is the frame as it will leave: the adjacency's link header
		// (Ethernet, plus a sub-interface's VLAN tags) goes just in front
		// of the IP header, over the link header that came in, into the
		// headroom when it is longer (off < 0).
		rw := int(adj.RewriteLen)
		off := int(m.L3) - rw
		if adj.Kind != fib.AdjRewrite {
			n.Drop(m, k, RwErrStaleAdj)
			continue
		}
		var f []byte
		if off >= 0 {
			f = d[off:]
		} else if start := int(m.Off) + off; start >= 0 {
			f = a.Slot(i)[start : int(m.Off)+int(m.Len)]
		} else {
			n.Drop(m, k, RwErrStaleAdj)
			continue
		}
		_ = f[rw+wire.IPv4MinLen-1] // one bounds check for both headers
		ip := wire.IPv4(f[rw:])
		local := m.Flags&pkt.FlagLocal != 0 // originated here: not forwarded, TTL kept
		if ip.TTL() <= 1 && !local {
			n.Count(RwErrTTLExpired, 1)
			m.ICMP = pkt.ICMPRequest{Type: wire.ICMPv4TimeExceeded, Code: wire.ICMPv4TTLExceeded}
			n.Nexts[k] = rwNextICMPError
			continue
		}
		next := uint16(rwNextOutput)
		if ip.TotalLen() > adj.MTU {
			if ip.DontFragment() {
				if local {
					n.Drop(m, k, RwErrMTU)
					continue
				}
				n.Count(RwErrFragNeeded, 1)
				m.ICMP = pkt.ICMPRequest{Type: wire.ICMPv4DestUnreachable, Code: wire.ICMPv4FragNeeded}
				m.MTU = adj.MTU
				n.Nexts[k] = rwNextICMPError
				continue
			}
			m.MTU = adj.MTU
			next = rwNextFrag
		}
		if !local {
			ip.DecTTL()
		}
		if rw == wire.EthernetLen { // untagged: a fixed-size move, no memmove call
			*(*[wire.EthernetLen]byte)(f) = [wire.EthernetLen]byte(adj.Rewrite[:wire.EthernetLen])
		} else {
			copy(f[:rw], adj.Rewrite[:rw])
		}
		if off != 0 {
			m.Off = uint16(int(m.Off) + off)
			m.Len = uint16(len(f))
			m.L3 = uint16(rw)
			m.L4 = uint16(int(m.L4) - off)
		}
		m.TxPort = adj.Port
		if next == rwNextOutput && arc >= 0 {
			next = n.ArcStart(arc, m)
		}
		n.Nexts[k] = next
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}
