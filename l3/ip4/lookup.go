package ip4

import (
	"vecnet/graph"
	"vecnet/l3/fib"
	"vecnet/pkt"
	"vecnet/wire"
)

// ip4-lookup error codes.
const (
	LookupNoRoute = iota
)

const (
	lookNextRewrite = 1 + iota
	lookNextLocal
	lookNextGlean
	lookNextICMPError
)

// LookupNode returns ip4-lookup over table: one snapshot per vector, one
// longest-prefix match per packet, ECMP by a hash of the addresses.
func LookupNode(table *fib.Table) graph.Registration {
	return graph.Registration{
		Name:   LookupName,
		Next:   []string{RewriteName, LocalName, GleanName, ICMPErrorName},
		Errors: []graph.Error{LookupNoRoute: {Name: "no_route", Help: "no route to the destination (net unreachable sent)", Severity: graph.SevWarn}},
		Func: func(n *graph.Node, v *pkt.Vector) int {
			a := n.Arena()
			view := table.Load()
			cnt := v.Len
			for k, i := range v.Idx[:cnt] {
				m := a.Meta(i)
				ip := wire.IPv4(a.Data(i)[m.L3:])
				dst := ip.Dst()
				src := ip.Src()
				h := (uint32(src[0])<<24 | uint32(src[1])<<16 | uint32(src[2])<<8 | uint32(src[3])) * 0x9e3779b1
				h ^= uint32(dst[0])<<24 | uint32(dst[1])<<16 | uint32(dst[2])<<8 | uint32(dst[3])
				h ^= h >> 15
				m.Hash = h
				ai := view.Lookup(dst, h)
				m.Adj = uint32(ai)
				switch view.Adj(ai).Kind {
				case fib.AdjRewrite:
					n.Nexts[k] = lookNextRewrite
				case fib.AdjLocal:
					n.Nexts[k] = lookNextLocal
				case fib.AdjGlean, fib.AdjIncomplete:
					n.Nexts[k] = lookNextGlean
				default:
					n.Count(LookupNoRoute, 1)
					m.Aux = icmpRequest(wire.ICMPv4DestUnreachable, wire.ICMPv4NetUnreachable, 0)
					n.Nexts[k] = lookNextICMPError
				}
			}
			n.Enqueue(v, n.Nexts[:])
			return cnt
		},
		Format: formatIP,
	}
}
