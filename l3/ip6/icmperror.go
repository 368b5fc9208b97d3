package ip6

import (
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/l3/icmperr"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// icmp6-error error codes.
const (
	IcmpErrSent = iota
	IcmpErrAboutICMPError
	IcmpErrBadSource
	IcmpErrMulticastDst
	IcmpErrNoSourceAddr
	IcmpErrNoHeadroom
	// IcmpErrRateLimited is the first of the per-class rate-limit
	// counters: IcmpErrRateLimited + an icmperr.Class.
	IcmpErrRateLimited
)

// classOf returns the budget of an ICMPv6 error of type typ.
func classOf(typ uint8) icmperr.Class {
	switch typ {
	case wire.ICMPv6TimeExceeded:
		return icmperr.TimeExceeded
	case wire.ICMPv6PacketTooBig:
		return icmperr.TooBig
	case wire.ICMPv6DestUnreachable:
		return icmperr.Unreachable
	}
	return icmperr.Other
}

// RFC 4443 2.4(c): an error carries as much of the offending packet as fits
// without the error exceeding the minimum IPv6 MTU.
const maxICMPErrorLen = wire.IPv6MinMTU

// ICMPErrorConfig rate-limits the errors one worker sends: one token
// bucket per class (time exceeded, Packet Too Big, unreachable, the rest),
// each of this shape; zero fields take icmperr.DefaultLimit (1000 a
// second, 100 at once).
type ICMPErrorConfig = RateLimit

type icmpErrState struct {
	budget icmperr.Budget
}

const icmpNextLookup = 1

// ICMPErrorNode returns icmp6-error. A packet arrives with Meta.ICMP and Meta.MTU from
// ICMPRequest; the node turns it into the error in place (IPv6 and ICMPv6
// headers pushed in front of the original, cut so the whole is at most
// 1280 bytes), sourced from the receiving interface's global address, and
// routes it back through ip6-lookup. Per RFC 4443 2.4(e) it never answers
// an ICMPv6 error, a packet to a multicast group (but for Packet Too Big)
// or one from an unspecified or multicast source.
func ICMPErrorNode(ifs *iface.Table, cfg ICMPErrorConfig) graph.Registration {
	lim := cfg.OrDefault(icmperr.DefaultLimit)
	return graph.Registration{
		Name: ICMPErrorName,
		Next: []string{LookupName},
		Errors: append([]graph.Error{
			IcmpErrSent:           {Name: "sent", Help: "ICMPv6 errors sent", Severity: graph.SevInfo},
			IcmpErrAboutICMPError: {Name: "about_icmp_error", Help: "no ICMPv6 error about an ICMPv6 error", Severity: graph.SevInfo},
			IcmpErrBadSource:      {Name: "bad_source", Help: "no ICMPv6 error to an unspecified or multicast source", Severity: graph.SevInfo},
			IcmpErrMulticastDst:   {Name: "multicast_destination", Help: "no ICMPv6 error (but Packet Too Big) about a packet to a multicast group", Severity: graph.SevInfo},
			IcmpErrNoSourceAddr:   {Name: "no_source_address", Help: "receiving interface has no global IPv6 address to send from"},
			IcmpErrNoHeadroom:     {Name: "no_headroom", Help: "no room in front of the packet for the error headers"},
		}, icmperr.RateLimitErrors("packet_too_big", "Packet Too Big", "ICMPv6")...),
		Init: func(n *graph.Node) error {
			n.State = &icmpErrState{budget: icmperr.NewBudget(lim, n.Graph().Now())}
			return nil
		},
		Func:   func(n *graph.Node, v *pkt.Vector) int { return icmpError(n, v, ifs.Load()) },
		Format: formatIP,
	}
}

func icmpError(n *graph.Node, v *pkt.Vector, set *iface.Set) int {
	st := n.State.(*icmpErrState)
	now := n.Graph().Now()
	st.budget.Refill(now)
	a := n.Arena()
	cnt := v.Len
	for k, i := range v.Idx[:cnt] {
		n.Nexts[k] = makeError(n, st, set, a, i, a.Meta(i), k)
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}

func makeError(n *graph.Node, st *icmpErrState, set *iface.Set, a *pkt.Arena, i pkt.Index, m *pkt.Meta, k int) uint16 {
	d := a.Data(i)
	orig := wire.IPv6(d[m.L3:m.Len])
	typ, code, param := m.ICMP.Type, m.ICMP.Code, m.MTU
	if int(m.L4) < int(m.Len) && orig.NextHeader() != wire.IPProtoICMPv6 {
		// an extension header chain: find the upper layer
		if w, e := orig.WalkExtensions(MaxExtHeaders, MaxExtHeadsLen); e == wire.ExtOK && w.Proto == wire.IPProtoICMPv6 &&
			w.Off < len(orig) && wire.IsICMPv6Error(orig[w.Off]) {
			n.Drop(m, k, IcmpErrAboutICMPError)
			return graph.NextDrop
		}
	} else if orig.NextHeader() == wire.IPProtoICMPv6 {
		if p := orig.Payload(); len(p) == 0 || wire.IsICMPv6Error(p[0]) {
			n.Drop(m, k, IcmpErrAboutICMPError)
			return graph.NextDrop
		}
	}
	src := orig.Src()
	if src == ([16]byte{}) || wire.IsMulticast6(src) {
		n.Drop(m, k, IcmpErrBadSource)
		return graph.NextDrop
	}
	if wire.IsMulticast6(orig.Dst()) && typ != wire.ICMPv6PacketTooBig {
		n.Drop(m, k, IcmpErrMulticastDst)
		return graph.NextDrop
	}
	in := set.Get(m.RxPort)
	var from [16]byte
	if in != nil {
		from = in.Addr6
		if wire.IsLinkLocal6(src) {
			from = in.LinkLocal
		}
	}
	if from == ([16]byte{}) {
		n.Drop(m, k, IcmpErrNoSourceAddr)
		return graph.NextDrop
	}
	if !st.budget.Admit(n, m, k, wire.IPv6Len+wire.ICMPv6MinLen, classOf(typ), IcmpErrNoHeadroom, IcmpErrRateLimited) {
		return graph.NextDrop
	}
	p, quote := icmperr.Reshape(a, i, m, len(orig), wire.IPv6Len, wire.ICMPv6MinLen, maxICMPErrorLen)
	ip := wire.IPv6(p[wire.EthernetLen:])
	ip.Encode(&wire.IPv6Fields{PayloadLen: uint16(wire.ICMPv6MinLen + quote), NextHeader: wire.IPProtoICMPv6,
		HopLimit: DefaultHopLimit, Src: from, Dst: src})
	icmp := wire.ICMPv6(p[wire.EthernetLen+wire.IPv6Len:])
	icmp.SetType(typ)
	icmp.SetCode(code)
	icmp.SetWord(uint32(param))
	icmp.SetChecksum(icmp.ComputeChecksum6(from, src))
	m.Flags |= pkt.FlagLocal
	n.Count(IcmpErrSent, 1)
	return icmpNextLookup
}
