package ip6

import (
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// ip6-rewrite error codes.
const (
	RwErrHopLimit = iota
	RwErrTooBig
	RwErrStaleAdj
	RwErrMTU
)

const (
	rwNextOutput = 1 + iota
	rwNextICMPError
)

// RewriteNode returns ip6-rewrite: hop limit - 1 (time exceeded when it
// would reach 0), the MTU check (Packet Too Big carrying the egress MTU:
// IPv6 routers never fragment), and the neighbour's Ethernet header written
// in front of the IPv6 header (a VLAN tag received is removed). When the
// graph declares the ip6-output arc (OutputArc, started here, ending at
// interface-output), a rewritten packet enters it for its egress interface.
func RewriteNode(table *fib.Table6) graph.Registration {
	arc := -1
	return graph.Registration{
		Name: RewriteName,
		Next: []string{OutputName, ICMPErrorName},
		Errors: []graph.Error{
			RwErrHopLimit: {Name: "hop_limit_exceeded", Help: "hop limit <= 1 on forwarding (time exceeded sent)", Severity: graph.SevWarn},
			RwErrTooBig:   {Name: "packet_too_big", Help: "packet larger than the egress MTU (Packet Too Big sent)", Severity: graph.SevWarn},
			RwErrStaleAdj: {Name: "stale_adjacency", Help: "adjacency vanished between lookup and rewrite"},
			RwErrMTU:      {Name: "mtu_exceeded", Help: "packet we originate larger than the egress MTU"},
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

// rewrite is ip6-rewrite's node function; arc is the ip6-output arc's id,
// or -1 when the graph has none.
func rewrite(n *graph.Node, v *pkt.Vector, arc int, view *fib.View6) int {
	a := n.Arena()
	cnt := v.Len
	if arc >= 0 && !n.ArcActive(arc) {
		arc = -1 // no feature enabled on any interface: straight on, no ArcStart
	}
	port, next := -1, uint16(0) // the last ArcStart answer and its port
	for k, i := range v.Idx[:cnt] {
		m := a.Meta(i)
		adj := view.Adj(fib.AdjIndex(m.Adj))
		// The adjacency's link header (with a sub-interface's VLAN tags)
		// goes in front of the IP header, as in ip4-rewrite.
		rw := int(adj.RewriteLen)
		off := int(m.L3) - rw
		start := int(m.Off) + off
		if adj.Kind != fib.AdjRewrite || start < 0 {
			n.Drop(m, k, RwErrStaleAdj)
			continue
		}
		f := a.Slot(i)[start : int(m.Off)+int(m.Len)]
		_ = f[rw+wire.IPv6Len-1]
		ip := wire.IPv6(f[rw:])
		local := m.Flags&pkt.FlagLocal != 0
		if ip.HopLimit() <= 1 && !local {
			n.Count(RwErrHopLimit, 1)
			SetICMPRequest(m, wire.ICMPv6TimeExceeded, wire.ICMPv6HopLimitExceeded, 0)
			n.Nexts[k] = rwNextICMPError
			continue
		}
		if int(m.Len)-int(m.L3) > int(adj.MTU) {
			if local {
				n.Drop(m, k, RwErrMTU)
				continue
			}
			n.Count(RwErrTooBig, 1)
			SetICMPRequest(m, wire.ICMPv6PacketTooBig, 0, adj.MTU)
			n.Nexts[k] = rwNextICMPError
			continue
		}
		if !local {
			ip.SetHopLimit(ip.HopLimit() - 1)
		}
		if rw == wire.EthernetLen { // untagged: a fixed-size move, no memmove call
			*(*[wire.EthernetLen]byte)(f) = [wire.EthernetLen]byte(adj.Rewrite[:wire.EthernetLen])
		} else {
			copy(f[:rw], adj.Rewrite[:rw])
		}
		if off != 0 {
			m.Off = uint16(start)
			m.Len = uint16(len(f))
			m.L3 = uint16(rw)
			m.L4 = uint16(int(m.L4) - off)
		}
		m.TxPort = adj.Port
		if arc < 0 {
			n.Nexts[k] = rwNextOutput
			continue
		}
		// As in ip6-input: while ArcStart leads to interface-output (no
		// feature on the port), its answer holds for the port's run.
		if int(m.TxPort) != port {
			port, next = int(m.TxPort), 0
		}
		if next != rwNextOutput {
			next = n.ArcStart(arc, m)
		}
		n.Nexts[k] = next
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}
