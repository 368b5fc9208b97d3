package neighbor

import (
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/l3/ip6"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// Node names of Neighbor Discovery.
const (
	NDInputName = ip6.NDInputName // named where ip6-local hands ND to it
	Glean6Name  = "ip6-glean"
)

// nd-input error codes.
const (
	NDErrTooShort = iota
	NDErrBadHopLimit
	NDErrBadCode
	NDErrBadTarget
	NDErrBadOption
	NDErrNoInterface
	NDErrNotForUs
	NDErrAdvertsSent
	NDErrAdvertsReceived
	NDErrLearned
	NDErrUnsolicited
	NDErrTableFull
	NDErrDuplicate
	NDErrBadSource
	NDErrTentative
	NDErrDADProbe
	NDErrRASent
	NDErrRSAnswered
	NDErrRSRateLimited
	NDErrRSIgnored
	NDErrNoBuffer
)

const (
	ndNextOutput = 1 + iota
	ndNextLookup
)

type ndState struct {
	glean *glean6State
	due   []raDue // ndTick's scratch
}

// NDInputNode returns nd-input: Neighbor Solicitations and Advertisements,
// and Router Solicitations, from ip6-local (checksum verified there). Per RFC 4861 7.1 a message is
// dropped and counted unless its hop limit is 255 (it was not forwarded),
// its code 0, its target not multicast and its options well formed (no
// zero length, none past the end, link-layer options 8 bytes). A
// solicitation for one of the receiving interface's addresses is answered
// in place (solicited, override, router flags; our MAC as target link-layer
// option) and its sender learned; a DAD solicitation (source ::) is
// answered to all-nodes, or, when the target is one of our tentative
// addresses, marks it duplicate. An advertisement updates the table (see
// NDTable for what creates an entry) and releases what this worker's
// ip6-glean held for the target; one for our own or tentative address is a
// duplicate, counted and reported. On interfaces with router
// advertisements on (NDTable.SetRA), a router solicitation is answered
// (rate limited) and the node's timer sends the unsolicited
// advertisements (ra.go); elsewhere solicitations are counted and dropped.
func NDInputNode(ifs *iface.Table, nt *NDTable) graph.Registration {
	return graph.Registration{
		Name: NDInputName,
		Next: []string{driver.OutputNodeName, ip6.LookupName},
		Errors: []graph.Error{
			NDErrTooShort:        {Name: "too_short", Help: "NS or NA shorter than 24 bytes, RS shorter than 8"},
			NDErrBadHopLimit:     {Name: "bad_hop_limit", Help: "ND message with hop limit other than 255 (forwarded from off-link)", Severity: graph.SevWarn},
			NDErrBadCode:         {Name: "bad_code", Help: "ND message with code other than 0"},
			NDErrBadTarget:       {Name: "bad_target", Help: "ND target is multicast, or a solicited NA sent to a multicast group"},
			NDErrBadOption:       {Name: "bad_option", Help: "ND option malformed (zero length, truncated, bad link-layer address length, duplicate)"},
			NDErrNoInterface:     {Name: "no_interface", Help: "ND on an interface without configuration"},
			NDErrNotForUs:        {Name: "not_for_us", Help: "solicitation for an address that is not ours", Severity: graph.SevInfo},
			NDErrAdvertsSent:     {Name: "adverts_sent", Help: "solicitations answered with an advertisement", Severity: graph.SevInfo},
			NDErrAdvertsReceived: {Name: "adverts_received", Help: "advertisements received and applied", Severity: graph.SevInfo},
			NDErrLearned:         {Name: "learned", Help: "new neighbour entries", Severity: graph.SevInfo},
			NDErrUnsolicited:     {Name: "unsolicited_advert", Help: "advertisement for an unknown target we did not ask for: not learned", Severity: graph.SevInfo},
			NDErrTableFull:       {Name: "table_full", Help: "neighbour not learned: the table is full of reachable entries", Severity: graph.SevWarn},
			NDErrDuplicate:       {Name: "duplicate_address", Help: "another node uses one of our (tentative) addresses (DAD)", Severity: graph.SevError},
			NDErrBadSource:       {Name: "bad_source", Help: "ND source or link-layer address unusable (multicast MAC, off-link source, DAD with an option)"},
			NDErrTentative:       {Name: "tentative_target", Help: "solicitation for an address still under DAD: not answered", Severity: graph.SevInfo},
			NDErrDADProbe:        {Name: "dad_answered", Help: "DAD solicitation for one of our addresses answered to all-nodes", Severity: graph.SevInfo},
			NDErrRASent:          {Name: "ra_sent", Help: "unsolicited router advertisements sent", Severity: graph.SevInfo},
			NDErrRSAnswered:      {Name: "rs_answered", Help: "router solicitations answered: in place, or (rate limited) by the next advertisement", Severity: graph.SevInfo},
			NDErrRSRateLimited:   {Name: "rs_rate_limited", Help: "router solicitation within 3 s of the last advertisement: answered by the next, brought forward to 3 s after the last", Severity: graph.SevInfo},
			NDErrRSIgnored:       {Name: "rs_ignored", Help: "router solicitation on an interface without router advertisements", Severity: graph.SevInfo},
			NDErrNoBuffer:        {Name: "no_buffer", Help: "no buffer for a router advertisement"},
		},
		Init: func(n *graph.Node) error {
			n.State = &ndState{}
			return nil
		},
		Tick: func(n *graph.Node) { ndTick(n, ifs.Load(), nt) },
		Func: func(n *graph.Node, v *pkt.Vector) int { return ndInput(n, v, ifs.Load(), nt) },
	}
}

func ndInput(n *graph.Node, v *pkt.Vector, set *iface.Set, nt *NDTable) int {
	st := n.State.(*ndState)
	if st.glean == nil {
		if g := n.Graph().Node(Glean6Name); g != nil {
			st.glean, _ = g.State.(*glean6State)
		}
	}
	a := n.Arena()
	cnt := v.Len
	now := n.Graph().Now()
	for k, i := range v.Idx[:cnt] {
		n.Nexts[k] = ndOne(n, st, set, nt, a, i, a.Meta(i), k, now)
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}

func ndOne(n *graph.Node, st *ndState, set *iface.Set, nt *NDTable, a *pkt.Arena, i pkt.Index, m *pkt.Meta, k int, now int64) uint16 {
	d := a.Data(i)
	ip := wire.IPv6(d[m.L3:m.Len])
	icmp := wire.ICMPv6(d[m.L4:m.Len])
	if len(icmp) >= 2 && icmp.Type() == wire.ICMPv6RouterSolicit {
		if ip.HopLimit() != 255 {
			n.Drop(m, k, NDErrBadHopLimit)
			return graph.NextDrop
		}
		if icmp.Code() != 0 {
			n.Drop(m, k, NDErrBadCode)
			return graph.NextDrop
		}
		return ndSolicit(n, set, nt, a, i, m, k, ip, icmp, now)
	}
	if len(icmp) < wire.NDMinLen {
		n.Drop(m, k, NDErrTooShort)
		return graph.NextDrop
	}
	if ip.HopLimit() != 255 {
		n.Drop(m, k, NDErrBadHopLimit)
		return graph.NextDrop
	}
	if icmp.Code() != 0 {
		n.Drop(m, k, NDErrBadCode)
		return graph.NextDrop
	}
	target := icmp.NDTarget()
	if wire.IsMulticast6(target) {
		n.Drop(m, k, NDErrBadTarget)
		return graph.NextDrop
	}
	in := set.Get(m.RxPort)
	if in == nil {
		n.Drop(m, k, NDErrNoInterface)
		return graph.NextDrop
	}
	src, dst := ip.Src(), ip.Dst()
	if icmp.Type() == wire.ICMPv6NeighborAdvert {
		return ndAdvert(n, st, in, nt, m, k, icmp, target, dst, now)
	}
	opts, e := wire.ParseNDOptions(icmp[wire.NDMinLen:], wire.NDOptSourceLinkAddr)
	if e != wire.NDOptOK {
		n.Drop(m, k, NDErrBadOption)
		return graph.NextDrop
	}
	dad := src == [16]byte{}
	if dad {
		// RFC 4861 7.1.1: from ::, to a solicited-node group, no SLLA.
		if opts.HasLinkAddr || dst[0] != 0xff || dst[11] != 1 || dst[12] != 0xff {
			n.Drop(m, k, NDErrBadSource)
			return graph.NextDrop
		}
		if in.IsTentative6(target) {
			nt.Duplicate(in.Index, target) // another node wants it too (RFC 4862 5.4.3)
			n.Drop(m, k, NDErrDuplicate)
			return graph.NextDrop
		}
	}
	if in.IsTentative6(target) {
		n.Drop(m, k, NDErrTentative)
		return graph.NextDrop
	}
	if !in.Has6(target) {
		n.Drop(m, k, NDErrNotForUs)
		return graph.NextDrop
	}
	eth := wire.Ethernet(d)
	smac := [6]byte(eth.Src())
	if opts.HasLinkAddr {
		smac = opts.LinkAddr
	}
	if smac[0]&1 != 0 {
		n.Drop(m, k, NDErrBadSource)
		return graph.NextDrop
	}
	replyTo, replyMAC := src, wire.MAC(smac)
	flags := uint32(wire.NAFlagRouter | wire.NAFlagSolicited | wire.NAFlagOverride)
	if dad {
		replyTo, replyMAC = wire.AllNodes, wire.MulticastMAC(wire.AllNodes)
		flags = wire.NAFlagRouter | wire.NAFlagOverride
		n.Count(NDErrDADProbe, 1)
	} else if opts.HasLinkAddr {
		if !wire.IsLinkLocal6(src) && !in.OnLink6(src) {
			n.Drop(m, k, NDErrBadSource)
			return graph.NextDrop
		}
		switch nt.Observe(in.Index, src, smac, RequestForUs, now) {
		case Created:
			n.Count(NDErrLearned, 1)
			fallthrough
		case Changed, Confirmed:
			if st.glean != nil {
				st.glean.q.release(n, in.Index, src, ndNextLookup)
			}
		case Full:
			n.Count(NDErrTableFull, 1)
		}
	}
	// Answer in place: the advertisement is 32 bytes (target + TLLA).
	const naLen = wire.NDMinLen + 8
	f, ok := a.SetData(i, int(m.Off), wire.EthernetLen+wire.IPv6Len+naLen)
	if !ok {
		n.Drop(m, k, NDErrTooShort)
		return graph.NextDrop
	}
	m.L3 = wire.EthernetLen
	m.L4 = wire.EthernetLen + wire.IPv6Len
	writeND(f, in.MAC, replyMAC, target, replyTo, wire.ICMPv6NeighborAdvert, flags, target, wire.NDOptTargetLinkAddr)
	pushTags(a, i, in) // the frame came in with them: there is room
	m.TxPort = in.Index
	m.Flags |= pkt.FlagLocal
	n.Count(NDErrAdvertsSent, 1)
	return ndNextOutput
}

func ndAdvert(n *graph.Node, st *ndState, in *iface.Interface, nt *NDTable, m *pkt.Meta, k int, icmp wire.ICMPv6, target, dst [16]byte, now int64) uint16 {
	opts, e := wire.ParseNDOptions(icmp[wire.NDMinLen:], wire.NDOptTargetLinkAddr)
	if e != wire.NDOptOK {
		n.Drop(m, k, NDErrBadOption)
		return graph.NextDrop
	}
	solicited := icmp.Word()&wire.NAFlagSolicited != 0
	if solicited && wire.IsMulticast6(dst) {
		n.Drop(m, k, NDErrBadTarget)
		return graph.NextDrop
	}
	if in.IsTentative6(target) || in.Has6(target) {
		nt.Duplicate(in.Index, target)
		n.Drop(m, k, NDErrDuplicate)
		return graph.NextDrop
	}
	if !opts.HasLinkAddr {
		// Without a link-layer address an advertisement only confirms;
		// we keep it simple and learn nothing from it.
		n.Drop(m, k, NDErrUnsolicited)
		return graph.NextDrop
	}
	if opts.LinkAddr[0]&1 != 0 || (!wire.IsLinkLocal6(target) && !in.OnLink6(target) && !st.solicitedNH(nt, in.Index, target, now)) {
		n.Drop(m, k, NDErrBadSource)
		return graph.NextDrop
	}
	how := Overheard
	if solicited {
		how = ReplyForUs
	}
	switch nt.Observe(in.Index, target, opts.LinkAddr, how, now) {
	case Created:
		n.Count(NDErrLearned, 1)
		fallthrough
	case Changed, Confirmed:
		if st.glean != nil {
			st.glean.q.release(n, in.Index, target, ndNextLookup)
		}
		n.Drop(m, k, NDErrAdvertsReceived)
	case Full:
		n.Drop(m, k, NDErrTableFull)
	case Static:
		n.Drop(m, k, NDErrAdvertsReceived)
	default:
		n.Drop(m, k, NDErrUnsolicited)
	}
	return graph.NextDrop
}

// solicitedNH reports whether target is an off-subnet next hop we asked
// for (a route via a global next hop on no connected subnet).
func (st *ndState) solicitedNH(nt *NDTable, port uint16, target [16]byte, now int64) bool {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	k := key6{port, target}
	s := nt.sol[solSlot6(k)]
	return s.k == k && now <= s.until
}

// writeND writes an Ethernet + IPv6 + NS/NA frame into f (86 bytes with
// the option, 78 without): from src to dst, target, the 32-bit flags word,
// and, when opt is not 0, a link-layer address option of type opt with
// srcMAC.
func writeND(f []byte, srcMAC, dstMAC wire.MAC, src, dst [16]byte, typ uint8, flags uint32, target [16]byte, opt uint8) {
	eth := wire.Ethernet(f)
	eth.SetDst(dstMAC)
	eth.SetSrc(srcMAC)
	eth.SetType(wire.EtherTypeIPv6)
	plen := wire.NDMinLen
	if opt != 0 {
		plen += 8
	}
	ip := wire.IPv6(f[wire.EthernetLen:])
	ip.Encode(&wire.IPv6Fields{PayloadLen: uint16(plen), NextHeader: wire.IPProtoICMPv6, HopLimit: 255, Src: src, Dst: dst})
	icmp := wire.ICMPv6(f[wire.EthernetLen+wire.IPv6Len : wire.EthernetLen+wire.IPv6Len+plen])
	icmp.SetType(typ)
	icmp.SetCode(0)
	icmp.SetWord(flags)
	copy(icmp[8:24], target[:])
	if opt != 0 {
		icmp[24], icmp[25] = opt, 1
		copy(icmp[26:32], srcMAC[:])
	}
	icmp.SetChecksum(icmp.ComputeChecksum6(src, dst))
}

// sendND allocates a buffer, writes an ND message into it (see writeND)
// and hands it to edge e of n, out of port. It reports whether a buffer was
// available.
func sendND(n *graph.Node, e uint16, out *iface.Interface, dstMAC wire.MAC, src, dst [16]byte, typ uint8, flags uint32, target [16]byte, opt uint8) bool {
	b, ok := n.Cache().Alloc()
	if !ok {
		return false
	}
	a := n.Arena()
	size := wire.EthernetLen + wire.IPv6Len + wire.NDMinLen
	if opt != 0 {
		size += 8
	}
	f, _ := a.SetData(b, pkt.Headroom, size)
	writeND(f, out.MAC, dstMAC, src, dst, typ, flags, target, opt)
	m := a.Meta(b)
	m.TxPort, m.RxPort = out.Index, out.Index
	m.L3 = wire.EthernetLen
	m.L4 = wire.EthernetLen + wire.IPv6Len
	m.Flags |= pkt.FlagLocal
	pushTags(a, b, out) // into pkt.Headroom: always room
	n.EnqueueOne(b, e)
	return true
}

// source6For picks out's address to solicit target from: a global address
// on target's subnet, else the link-local address, else the first global.
func source6For(out *iface.Interface, target [16]byte) ([16]byte, bool) {
	t := addr6(target)
	for _, p := range out.Addrs6 {
		if !p.Addr().IsLinkLocalUnicast() && p.Contains(t) {
			return p.Addr().As16(), true
		}
	}
	if out.LinkLocal != ([16]byte{}) {
		return out.LinkLocal, true
	}
	return out.Addr6, out.Addr6 != [16]byte{}
}
