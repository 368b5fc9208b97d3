package neighbor

import (
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// Node names.
const (
	ARPInputName = "arp-input"
	GleanName    = "ip4-glean"
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
	ARPErrLearned
	ARPErrUnsolicited
	ARPErrTableFull
)

const (
	arpNextOutput = 1 + iota
	arpNextLookup
)

type arpState struct {
	glean *gleanState // this worker's glean queue, to release on a reply
	obs   []Observation
	slot  []uint8 // vector position of each observation
}

// ARPNode returns arp-input: requests for one of the receiving interface's
// addresses are answered in place. Senders on the interface's subnets are
// given to the neighbour table once per vector (see the package doc for
// what creates, updates and confirms an entry), and packets that waited in
// this worker's ip4-glean for a sender are released to ip4-lookup (other
// workers' queues notice on their timer).
func ARPNode(ifs *iface.Table, nt *Table) graph.Registration {
	return graph.Registration{
		Name: ARPInputName,
		Next: []string{driver.OutputNodeName, ip4.LookupName},
		Errors: []graph.Error{
			ARPErrMalformed:       {Name: "malformed", Help: "not an Ethernet/IPv4 ARP packet, or too short"},
			ARPErrNotForUs:        {Name: "not_for_us", Help: "ARP target is not one of our addresses (a known sender is still updated)", Severity: graph.SevInfo},
			ARPErrRepliesSent:     {Name: "replies_sent", Help: "ARP requests answered", Severity: graph.SevInfo},
			ARPErrRepliesReceived: {Name: "replies_received", Help: "ARP replies received and learned", Severity: graph.SevInfo},
			ARPErrNotOnSubnet:     {Name: "sender_not_on_subnet", Help: "ARP sender address outside the interface's subnets", Severity: graph.SevWarn},
			ARPErrBadSender:       {Name: "bad_sender", Help: "ARP sender MAC is broadcast/multicast, or sender IP is ours or a subnet's broadcast/network address"},
			ARPErrNoInterface:     {Name: "no_interface", Help: "ARP on an interface without configuration"},
			ARPErrLearned:         {Name: "learned", Help: "new neighbour entries", Severity: graph.SevInfo},
			ARPErrUnsolicited:     {Name: "unsolicited_reply", Help: "ARP reply from an unknown sender we did not ask: not learned", Severity: graph.SevWarn},
			ARPErrTableFull:       {Name: "table_full", Help: "sender not learned: the neighbour table is full of reachable entries", Severity: graph.SevWarn},
		},
		Init: func(n *graph.Node) error {
			n.State = &arpState{obs: make([]Observation, 0, pkt.VectorSize), slot: make([]uint8, 0, pkt.VectorSize)}
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
	st.obs, st.slot = st.obs[:0], st.slot[:0]
	for k, i := range v.Idx[:cnt] {
		n.Nexts[k] = arpOne(n, st, set, a, i, a.Meta(i), k)
	}
	if len(st.obs) > 0 {
		nt.ObserveBatch(st.obs, n.Graph().Now())
		for j := range st.obs {
			arpLearned(n, st, v, &st.obs[j], int(st.slot[j]))
		}
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}

// arpLearned accounts for what the table did with the sender of packet k
// and releases what this worker held for it.
func arpLearned(n *graph.Node, st *arpState, v *pkt.Vector, o *Observation, k int) {
	switch o.Result {
	case Created, Changed, Confirmed, Static:
		if o.Result == Created {
			n.Count(ARPErrLearned, 1)
		}
		if st.glean != nil {
			st.glean.q.release(n, o.Port, o.IP, arpNextLookup)
		}
	case Full:
		n.Count(ARPErrTableFull, 1)
	}
	if o.How != ReplyForUs {
		return
	}
	m := n.Arena().Meta(v.Idx[k])
	switch o.Result {
	case Ignored:
		n.Drop(m, k, ARPErrUnsolicited)
	case Full:
		n.Drop(m, k, ARPErrTableFull)
	default:
		n.Drop(m, k, ARPErrRepliesReceived)
	}
}

// arpOne checks packet i, answers it if it is a request for us, and queues
// its sender for the table. A reply's drop code waits for the table's
// verdict (arpLearned).
func arpOne(n *graph.Node, st *arpState, set *iface.Set, a *pkt.Arena, i pkt.Index, m *pkt.Meta, k int) uint16 {
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
	if smac[0]&1 != 0 || in.Has(sip) || subnetBroadcast(in, sip) {
		n.Drop(m, k, ARPErrBadSender)
		return graph.NextDrop
	}
	forUs := in.Has(tip)
	if !onSubnet(in, sip) {
		if !forUs {
			n.Drop(m, k, ARPErrNotForUs)
			return graph.NextDrop
		}
		n.Drop(m, k, ARPErrNotOnSubnet)
		return graph.NextDrop
	}
	how := Overheard
	if forUs {
		how = ReplyForUs
		if arp.Op() == wire.ARPRequest {
			how = RequestForUs
		}
	}
	st.obs = append(st.obs, Observation{Port: in.Index, IP: sip, MAC: smac, How: how})
	st.slot = append(st.slot, uint8(k))
	switch how {
	case Overheard:
		n.Drop(m, k, ARPErrNotForUs)
		return graph.NextDrop
	case ReplyForUs:
		return graph.NextDrop // code set by arpLearned
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

// subnetBroadcast reports whether ip is the broadcast or network address
// of one of in's subnets (/30 and shorter: /31 and /32 have neither,
// RFC 3021).
func subnetBroadcast(in *iface.Interface, ip [4]byte) bool {
	a := uint32(ip[0])<<24 | uint32(ip[1])<<16 | uint32(ip[2])<<8 | uint32(ip[3])
	for _, p := range in.Addrs {
		if p.Bits() > 30 || !p.Contains(addr4(ip)) {
			continue
		}
		host := uint32(1)<<(32-p.Bits()) - 1
		if a&host == host || a&host == 0 {
			return true
		}
	}
	return false
}
