package ip4

import (
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/l3/icmperr"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// icmp4-error error codes.
const (
	IcmpErrSent = iota
	IcmpErrAboutICMPError
	IcmpErrFragment
	IcmpErrBadSource
	IcmpErrNoSourceAddr
	IcmpErrNoHeadroom
	// IcmpErrRateLimited is the first of the per-class rate-limit
	// counters: IcmpErrRateLimited + an icmperr.Class.
	IcmpErrRateLimited
)

// classOf returns the budget of an ICMP error of type typ and code code.
func classOf(typ, code uint8) icmperr.Class {
	switch {
	case typ == wire.ICMPv4TimeExceeded:
		return icmperr.TimeExceeded
	case typ == wire.ICMPv4DestUnreachable && code == wire.ICMPv4FragNeeded:
		return icmperr.TooBig
	case typ == wire.ICMPv4DestUnreachable:
		return icmperr.Unreachable
	}
	return icmperr.Other
}

// RFC 1812 4.3.2.3: an ICMP error carries as much of the original as fits
// in 576 bytes.
const maxICMPErrorLen = 576

// ICMPErrorConfig rate-limits the errors one worker sends: one token
// bucket per class of error (time exceeded, fragmentation needed, other
// destination unreachable, the rest), each of this shape; zero fields take
// icmperr.DefaultLimit (1000 a second, 100 at once).
type ICMPErrorConfig = RateLimit

type icmpErrState struct {
	budget icmperr.Budget
	ip     wire.IPv4Emitter
}

const icmpNextLookup = 1

// ICMPErrorNode returns icmp4-error. A packet arrives with Meta.ICMP holding
// the ICMP type and code (and Meta.MTU, for fragmentation needed, the
// next-hop MTU); the node
// turns the packet itself into the error message (new IP and ICMP headers
// pushed in front of the original, which is cut to 576 bytes in all), sourced
// from the receiving interface's address, and routes it back via ip4-lookup.
// It never answers an ICMP error, a non-first fragment or a bad source.
func ICMPErrorNode(ifs *iface.Table, cfg ICMPErrorConfig) graph.Registration {
	lim := cfg.OrDefault(icmperr.DefaultLimit)
	return graph.Registration{
		Name: ICMPErrorName,
		Next: []string{LookupName},
		Errors: append([]graph.Error{
			IcmpErrSent:           {Name: "sent", Help: "ICMP errors sent", Severity: graph.SevInfo},
			IcmpErrAboutICMPError: {Name: "about_icmp_error", Help: "no ICMP error about an ICMP error", Severity: graph.SevInfo},
			IcmpErrFragment:       {Name: "non_first_fragment", Help: "no ICMP error about a non-first fragment", Severity: graph.SevInfo},
			IcmpErrBadSource:      {Name: "bad_source", Help: "no ICMP error to a multicast, broadcast or zero source", Severity: graph.SevInfo},
			IcmpErrNoSourceAddr:   {Name: "no_source_address", Help: "receiving interface has no IPv4 address to send from"},
			IcmpErrNoHeadroom:     {Name: "no_headroom", Help: "no room in front of the packet for the error headers"},
		}, icmperr.RateLimitErrors("frag_needed", "fragmentation needed", "ICMP")...),
		Init: func(n *graph.Node) error {
			n.State = &icmpErrState{budget: icmperr.NewBudget(lim, n.Graph().Now())}
			return nil
		},
		Func:   func(n *graph.Node, v *pkt.Vector) int { return icmpError(n, v, ifs.Load()) },
		Format: formatIP,
	}
}

// icmpError is icmp4-error's node function over one interface snapshot
// (named, not a closure, so that its calls inline; see input).
func icmpError(n *graph.Node, v *pkt.Vector, set *iface.Set) int {
	st := n.State.(*icmpErrState)
	now := n.Graph().Now()
	st.budget.Refill(now)
	a := n.Arena()
	cnt := v.Len
	for k, i := range v.Idx[:cnt] {
		m := a.Meta(i)
		n.Nexts[k] = makeError(n, st, set, a, i, m, k)
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}

func isICMPError(t uint8) bool {
	return t == wire.ICMPv4DestUnreachable || t == wire.ICMPv4TimeExceeded || t == wire.ICMPv4ParamProblem ||
		t == 4 /* source quench */ || t == 5 /* redirect */
}

func makeError(n *graph.Node, st *icmpErrState, set *iface.Set, a *pkt.Arena, i pkt.Index, m *pkt.Meta, k int) uint16 {
	d := a.Data(i)
	orig := wire.IPv4(d[m.L3:])
	if orig.FragOffset() != 0 {
		n.Drop(m, k, IcmpErrFragment)
		return graph.NextDrop
	}
	if orig.Protocol() == wire.IPProtoICMP {
		if p := orig.Payload(); len(p) == 0 || isICMPError(p[0]) {
			n.Drop(m, k, IcmpErrAboutICMPError)
			return graph.NextDrop
		}
	}
	src := orig.Src()
	if src[0] == 0 || src[0] >= 224 {
		n.Drop(m, k, IcmpErrBadSource)
		return graph.NextDrop
	}
	in := set.Get(m.RxPort)
	if in == nil || in.Addr4 == ([4]byte{}) {
		n.Drop(m, k, IcmpErrNoSourceAddr)
		return graph.NextDrop
	}
	typ, code, mtu := m.ICMP.Type, m.ICMP.Code, m.MTU
	if !st.budget.Admit(n, m, k, wire.IPv4MinLen+wire.ICMPv4MinLen, classOf(typ, code), IcmpErrNoHeadroom, IcmpErrRateLimited) {
		return graph.NextDrop
	}
	// New layout: [Ethernet][IPv4][ICMP][quote of the original].
	pkt2, quote := icmperr.Reshape(a, i, m, len(orig), wire.IPv4MinLen, wire.ICMPv4MinLen, maxICMPErrorLen)
	st.ip.Emit(pkt2[wire.EthernetLen:], wire.IPProtoICMP, in.Addr4, src, wire.ICMPv4MinLen+quote)
	icmp := wire.ICMPv4(pkt2[wire.EthernetLen+wire.IPv4MinLen:])
	icmp.SetType(typ)
	icmp.SetCode(code)
	icmp.SetID(0)
	icmp.SetSeq(0)
	if typ == wire.ICMPv4DestUnreachable && code == wire.ICMPv4FragNeeded {
		icmp.SetMTU(mtu)
	}
	icmp.SetChecksum(0)
	icmp.SetChecksum(icmp.ComputeChecksum())
	m.Flags |= pkt.FlagLocal
	n.Count(IcmpErrSent, 1)
	return icmpNextLookup
}
