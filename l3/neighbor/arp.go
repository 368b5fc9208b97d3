package neighbor

import (
	"vecnet/graph"
	"vecnet/iface"
	"vecnet/pkt"
	"vecnet/wire"
)

// Node names.
const (
	ARPInputName = "arp-input"
	GleanName    = "ip4-glean"
	lookupName   = "ip4-lookup"
	outputName   = "interface-output"
)

// arp-input error codes.
const (
	ARPErrMalformed = iota
	ARPErrNotForUs
	ARPErrRepliesSent
	ARPErrRepliesReceived
	ARPErrNotOnSubnet
	ARPErrBadSender
	ARPErrNoInterface
)

const (
	arpNextOutput = 1 + iota
	arpNextLookup
)

type arpState struct {
	glean *gleanState // this worker's glean queue, to release on a reply
}

// ARPNode returns arp-input: requests for one of the receiving interface's
// addresses are answered in place; the sender of any ARP packet for us is
// learned (when it lies on one of the interface's subnets), and packets that
// waited in ip4-glean for it are released to ip4-lookup.
func ARPNode(ifs *iface.Table, nt *Table) graph.Registration {
	return graph.Registration{
		Name: ARPInputName,
		Next: []string{outputName, lookupName},
		Errors: []graph.Error{
			ARPErrMalformed:       {Name: "malformed", Help: "not an Ethernet/IPv4 ARP packet, or too short"},
			ARPErrNotForUs:        {Name: "not_for_us", Help: "ARP target is not one of our addresses", Severity: graph.SevInfo},
			ARPErrRepliesSent:     {Name: "replies_sent", Help: "ARP requests answered", Severity: graph.SevInfo},
			ARPErrRepliesReceived: {Name: "replies_received", Help: "ARP replies received and learned", Severity: graph.SevInfo},
			ARPErrNotOnSubnet:     {Name: "sender_not_on_subnet", Help: "ARP sender address outside the interface's subnets", Severity: graph.SevWarn},
			ARPErrBadSender:       {Name: "bad_sender", Help: "ARP sender MAC is broadcast/multicast or sender IP is ours"},
			ARPErrNoInterface:     {Name: "no_interface", Help: "ARP on an interface without configuration"},
		},
		Init: func(n *graph.Node) error {
			n.State = &arpState{}
			return nil
		},
		Func: func(n *graph.Node, v *pkt.Vector) int { return arpInput(n, v, ifs.Load(), nt) },
	}
}

// arpInput is arp-input's node function over one interface snapshot
// (named, not a closure, so that its calls inline; see ip4's input).
func arpInput(n *graph.Node, v *pkt.Vector, set *iface.Set, nt *Table) int {
	st := n.State.(*arpState)
	if st.glean == nil {
		// ip4-glean may be initialised after arp-input: find it lazily.
		if g := n.Graph().Node(GleanName); g != nil {
			st.glean, _ = g.State.(*gleanState)
		}
	}
	a := n.Arena()
	cnt := v.Len
	for k, i := range v.Idx[:cnt] {
		m := a.Meta(i)
		n.Nexts[k] = arpOne(n, st, set, nt, a, i, m, k)
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}

func arpOne(n *graph.Node, st *arpState, set *iface.Set, nt *Table, a *pkt.Arena, i pkt.Index, m *pkt.Meta, k int) uint16 {
	d := a.Data(i)
	arp, ok := wire.ParseARP(d[m.L3:])
	if !ok {
		n.Drop(m, k, ARPErrMalformed)
		return graph.NextDrop
	}
	in := set.Get(m.RxPort)
	if in == nil {
		n.Drop(m, k, ARPErrNoInterface)
		return graph.NextDrop
	}
	smac, sip, tip := arp.SenderMAC(), arp.SenderIP(), arp.TargetIP()
	if smac[0]&1 != 0 || in.Has(sip) {
		n.Drop(m, k, ARPErrBadSender)
		return graph.NextDrop
	}
	if !in.Has(tip) {
		n.Drop(m, k, ARPErrNotForUs)
		return graph.NextDrop
	}
	if !onSubnet(in, sip) {
		n.Drop(m, k, ARPErrNotOnSubnet)
		return graph.NextDrop
	}
	nt.Learn(in.Index, sip, smac)
	if st.glean != nil {
		st.glean.release(n, in.Index, sip, arpNextLookup)
	}
	if arp.Op() != wire.ARPRequest {
		n.Drop(m, k, ARPErrRepliesReceived)
		return graph.NextDrop
	}
	arp.Encode(&wire.ARPFields{Op: wire.ARPReply, SenderMAC: in.MAC, SenderIP: tip, TargetMAC: smac, TargetIP: sip})
	eth := wire.Ethernet(d)
	eth.SetDst(smac)
	eth.SetSrc(in.MAC)
	m.TxPort = m.RxPort
	m.Flags |= pkt.FlagLocal
	n.Count(ARPErrRepliesSent, 1)
	return arpNextOutput
}

func onSubnet(in *iface.Interface, ip [4]byte) bool {
	for _, p := range in.Addrs {
		if p.Contains(addr4(ip)) {
			return true
		}
	}
	return false
}
