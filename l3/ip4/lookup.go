package ip4

import (
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// ip4-lookup error codes.
const (
	LookupNoRoute = iota
	LookupL2Broadcast
)

const (
	lookNextRewrite = 1 + iota
	lookNextLocal
	lookNextGlean
	lookNextICMPError
)

// LookupNode returns ip4-lookup over table: one snapshot per vector, one
// longest-prefix match per packet, ECMP by a hash of the addresses.
// Packets to an unresolved neighbour go to the node named glean (package
// neighbor's GleanName in the data plane).
func LookupNode(table *fib.Table, glean string) graph.Registration {
	return graph.Registration{
		Name: LookupName,
		Next: []string{RewriteName, LocalName, glean, ICMPErrorName},
		Errors: []graph.Error{
			LookupNoRoute:     {Name: "no_route", Help: "no route to the destination (net unreachable sent)", Severity: graph.SevWarn},
			LookupL2Broadcast: {Name: "l2_broadcast", Help: "unicast IP in an Ethernet broadcast frame not for us: not forwarded (RFC 1812 5.3.4)", Severity: graph.SevWarn},
		},
		Func:   func(n *graph.Node, v *pkt.Vector) int { return lookup(n, v, table.Load()) },
		Format: formatIP,
	}
}

// lookup is ip4-lookup's node function over one FIB view (named, not a
// closure, so that its calls inline; see input). Two passes: the first
// reads each packet's destination and flow hash, [fib.View.LookupBatch]
// resolves the whole vector (its table loads overlap), the second
// dispatches.
func lookup(n *graph.Node, v *pkt.Vector, view *fib.View) int {
	a := n.Arena()
	cnt := v.Len
	var dst, hash [pkt.VectorSize]uint32
	var adj [pkt.VectorSize]fib.AdjIndex
	for k, i := range v.Idx[:cnt] {
		m, l3 := a.L3(i)
		ip := wire.IPv4(l3)
		_ = ip[wire.IPv4MinLen-1] // ip4-input checked the header: one bounds check for it here
		h := ip.SrcBits()*0x9e3779b1 ^ ip.DstBits()
		h ^= h >> 15
		m.Hash = h
		dst[k&(pkt.VectorSize-1)], hash[k&(pkt.VectorSize-1)] = ip.DstBits(), h
	}
	view.LookupBatch(dst[:cnt], hash[:cnt], adj[:cnt])
	for k, i := range v.Idx[:cnt] {
		m := a.Meta(i)
		ai := adj[k&(pkt.VectorSize-1)]
		m.Adj = uint32(ai)
		kind := view.Adj(ai).Kind
		if m.Flags&(pkt.FlagL2Broadcast|pkt.FlagLocal) == pkt.FlagL2Broadcast && kind != fib.AdjLocal {
			n.Drop(m, k, LookupL2Broadcast)
			continue
		}
		switch kind {
		case fib.AdjRewrite:
			n.Nexts[k] = lookNextRewrite
		case fib.AdjLocal:
			n.Nexts[k] = lookNextLocal
		case fib.AdjGlean, fib.AdjIncomplete:
			n.Nexts[k] = lookNextGlean
		default:
			n.Count(LookupNoRoute, 1)
			m.ICMP = pkt.ICMPRequest{Type: wire.ICMPv4DestUnreachable, Code: wire.ICMPv4NetUnreachable}
			n.Nexts[k] = lookNextICMPError
		}
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}
