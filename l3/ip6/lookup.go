package ip6

import (
	"encoding/binary"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// ip6-lookup error codes.
const (
	LookupNoRoute = iota
	LookupLinkLocalSource
)

const (
	lookNextRewrite = 1 + iota
	lookNextLocal
	lookNextGlean
	lookNextICMPError
)

// LookupNode returns ip6-lookup over table: one snapshot per vector, one
// longest-prefix match per packet, ECMP by a hash of the addresses and the
// flow label. A packet with a link-local source is never forwarded off its
// link (RFC 4291 2.5.6): destination unreachable, beyond scope.
func LookupNode(table *fib.Table6) graph.Registration {
	return graph.Registration{
		Name: LookupName,
		Next: []string{RewriteName, LocalName, GleanName, ICMPErrorName},
		Errors: []graph.Error{
			LookupNoRoute:         {Name: "no_route", Help: "no route to the destination (unreachable sent)", Severity: graph.SevWarn},
			LookupLinkLocalSource: {Name: "link_local_source", Help: "link-local source would leave its link (beyond scope sent)", Severity: graph.SevWarn},
		},
		Func:   func(n *graph.Node, v *pkt.Vector) int { return lookup(n, v, table.Load()) },
		Format: formatIP,
	}
}

func lookup(n *graph.Node, v *pkt.Vector, view *fib.View6) int {
	a := n.Arena()
	cnt := v.Len
	for k, i := range v.Idx[:cnt] {
		m, l3 := a.L3(i)
		ip := wire.IPv6(l3)
		_ = ip[wire.IPv6Len-1]
		srcHi, srcLo := ip.SrcHi(), ip.SrcLo()
		dstHi, dstLo := ip.DstHi(), ip.DstLo()
		x := srcHi ^ srcLo ^ dstHi ^ dstLo ^ uint64(binary.BigEndian.Uint32(l3)&0xfffff) // + flow label
		h := (uint32(x>>32) ^ uint32(x)) * 0x9e3779b1
		h ^= h >> 15
		m.Hash = h
		ai := view.Lookup(ip.Dst(), h)
		m.Adj = uint32(ai)
		kind := view.Adj(ai).Kind
		if kind != fib.AdjLocal && srcHi>>54 == 0xfe80>>6 && m.Flags&pkt.FlagLocal == 0 {
			n.Count(LookupLinkLocalSource, 1)
			SetICMPRequest(m, wire.ICMPv6DestUnreachable, wire.ICMPv6BeyondScope, 0)
			n.Nexts[k] = lookNextICMPError
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
			SetICMPRequest(m, wire.ICMPv6DestUnreachable, wire.ICMPv6NoRoute, 0)
			n.Nexts[k] = lookNextICMPError
		}
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}
