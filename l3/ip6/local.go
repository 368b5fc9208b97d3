package ip6

import (
	"fmt"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/icmperr"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// ip6-local error codes.
const (
	LocErrBadICMP = iota
	LocErrBadICMPChecksum
	LocErrEchoReplied
	LocErrICMPOther
	LocErrEchoRateLimited
	LocErrUDPUnreachable
	LocErrTCPNoListener
	LocErrOtherNext
	LocErrBadExt
	LocErrMulticastEcho
	LocErrRouterAdvert
	LocErrFragment
)

const (
	locNextLookup = 1 + iota
	locNextICMPError
	locNextND
)

// ProtocolNode is one entry of ip6-local's upper-layer protocol -> node
// table: the host's packets whose extension-header walk ends at Protocol go
// to the node named Node, with Meta.L4 at the upper-layer header.
type ProtocolNode struct {
	Protocol uint8
	Node     string
}

// LocalConfig shapes ip6-local.
type LocalConfig struct {
	// Echo limits the echo replies one worker sends; default 1000/s,
	// burst 100.
	Echo RateLimit
	// Protocols is the upper-layer protocol -> node table, filled by the
	// host stack's transports through RegisterProtocol (UDP, TCP).
	// Unregistered, UDP gets port unreachable (udp_port_unreachable) and
	// TCP is dropped (tcp_no_listener). A node registered for ICMPv6
	// receives the ICMPv6 error messages (types below 128), checksum
	// verified; ip6-local keeps echo and ND to itself.
	Protocols []ProtocolNode
}

// RegisterProtocol adds proto -> node to the table. Building the node
// fails if a protocol is registered twice.
func (c *LocalConfig) RegisterProtocol(proto uint8, node string) {
	c.Protocols = append(c.Protocols, ProtocolNode{Protocol: proto, Node: node})
}

type localState struct {
	echo  icmperr.Bucket
	proto *[256]uint16 // upper-layer protocol -> next edge; 0 = unregistered
}

// LocalNode returns ip6-local: packets for one of the router's addresses or
// the link-scope groups it listens to. ICMPv6 echo requests to a unicast
// address of ours are answered in place and routed back; Neighbor
// Solicitations and Advertisements and Router Solicitations go to nd-input
// (which answers the last where router advertisements are on); router
// advertisements and redirects are counted and dropped; UDP and
// TCP go to the nodes registered for them (cfg.Protocols: the host stack),
// else UDP gets port unreachable; the rest is counted by kind and dropped.
func LocalNode(cfg LocalConfig) graph.Registration {
	echo := cfg.Echo.OrDefault(icmperr.DefaultLimit)
	next := []string{LookupName, ICMPErrorName, NDInputName}
	proto := new([256]uint16)
	var tabErr error
	for _, p := range cfg.Protocols {
		if proto[p.Protocol] != 0 {
			tabErr = fmt.Errorf("ip6: protocol %d registered twice (%s)", p.Protocol, p.Node)
			continue
		}
		next = append(next, p.Node)
		proto[p.Protocol] = uint16(len(next)) // edges are 1..len(next)
	}
	return graph.Registration{
		Name: LocalName,
		Next: next,
		Errors: []graph.Error{
			LocErrBadICMP:         {Name: "icmp_too_short", Help: "ICMPv6 message shorter than 8 bytes"},
			LocErrBadICMPChecksum: {Name: "icmp_bad_checksum", Help: "ICMPv6 checksum is wrong"},
			LocErrEchoReplied:     {Name: "echo_replies", Help: "ICMPv6 echo requests answered", Severity: graph.SevInfo},
			LocErrICMPOther:       {Name: "icmp_other", Help: "ICMPv6 message for the host other than echo request or ND", Severity: graph.SevInfo},
			LocErrEchoRateLimited: {Name: "echo_rate_limited", Help: "ICMPv6 echo request not answered: echo reply rate limit", Severity: graph.SevWarn},
			LocErrUDPUnreachable:  {Name: "udp_port_unreachable", Help: "UDP for the host, no IPv6 UDP stack (port unreachable sent)", Severity: graph.SevWarn},
			LocErrTCPNoListener:   {Name: "tcp_no_listener", Help: "TCP for the host, no IPv6 TCP stack", Severity: graph.SevWarn},
			LocErrOtherNext:       {Name: "next_header_other", Help: "next header not handled by the host", Severity: graph.SevWarn},
			LocErrBadExt:          {Name: "bad_extension", Help: "extension headers malformed or over the bound"},
			LocErrMulticastEcho:   {Name: "multicast_echo", Help: "echo request to a multicast group: not answered", Severity: graph.SevInfo},
			LocErrRouterAdvert:    {Name: "router_discovery", Help: "router advertisement or redirect: ignored (a router takes no configuration from them)", Severity: graph.SevInfo},
			LocErrFragment:        {Name: "fragment", Help: "fragment for the host: IPv6 reassembly not supported", Severity: graph.SevWarn},
		},
		Init: func(n *graph.Node) error {
			if tabErr != nil {
				return tabErr
			}
			n.State = &localState{echo: icmperr.NewBucket(echo, n.Graph().Now()), proto: proto}
			return nil
		},
		Func:   func(n *graph.Node, v *pkt.Vector) int { return local(n, v) },
		Format: formatIP,
	}
}

func local(n *graph.Node, v *pkt.Vector) int {
	st := n.State.(*localState)
	st.echo.Refill(n.Graph().Now())
	a := n.Arena()
	cnt := v.Len
	for k, i := range v.Idx[:cnt] {
		m := a.Meta(i)
		ip := wire.IPv6(a.Data(i)[m.L3:m.Len])
		w, e := ip.WalkExtensions(MaxExtHeaders, MaxExtHeadsLen)
		if e != wire.ExtOK || w.Off > len(ip) {
			n.Drop(m, k, LocErrBadExt)
			continue
		}
		if w.Fragment {
			n.Drop(m, k, LocErrFragment)
			continue
		}
		m.L4 = m.L3 + uint16(w.Off)
		if e := st.proto[w.Proto]; e != 0 && w.Proto != wire.IPProtoICMPv6 {
			n.Nexts[k] = e
			continue
		}
		switch w.Proto {
		case wire.IPProtoICMPv6:
			n.Nexts[k] = localICMP(n, st, m, k, ip, ip[w.Off:], st.proto[wire.IPProtoICMPv6])
		case wire.IPProtoUDP:
			n.Count(LocErrUDPUnreachable, 1)
			SetICMPRequest(m, wire.ICMPv6DestUnreachable, wire.ICMPv6PortUnreachable, 0)
			n.Nexts[k] = locNextICMPError
		case wire.IPProtoTCP:
			n.Drop(m, k, LocErrTCPNoListener)
		default:
			n.Drop(m, k, LocErrOtherNext)
		}
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}

func localICMP(n *graph.Node, st *localState, m *pkt.Meta, k int, ip wire.IPv6, body []byte, errEdge uint16) uint16 {
	icmp, ok := wire.ParseICMPv6(body)
	if !ok {
		n.Drop(m, k, LocErrBadICMP)
		return graph.NextDrop
	}
	src, dst := ip.Src(), ip.Dst()
	if !icmp.ChecksumValid6(src, dst) {
		n.Drop(m, k, LocErrBadICMPChecksum)
		return graph.NextDrop
	}
	switch icmp.Type() {
	case wire.ICMPv6NeighborSolicit, wire.ICMPv6NeighborAdvert, wire.ICMPv6RouterSolicit:
		return locNextND
	case wire.ICMPv6RouterAdvert, wire.ICMPv6Redirect:
		n.Drop(m, k, LocErrRouterAdvert)
		return graph.NextDrop
	case wire.ICMPv6EchoRequest:
	default:
		if errEdge != 0 && wire.IsICMPv6Error(icmp.Type()) {
			return errEdge
		}
		n.Drop(m, k, LocErrICMPOther)
		return graph.NextDrop
	}
	if wire.IsMulticast6(dst) {
		n.Drop(m, k, LocErrMulticastEcho)
		return graph.NextDrop
	}
	if !st.echo.Take() {
		n.Drop(m, k, LocErrEchoRateLimited)
		return graph.NextDrop
	}
	// Swapping the addresses leaves the pseudo-header sum unchanged: only
	// the type word changes.
	icmp.SetType(wire.ICMPv6EchoReply)
	icmp.SetChecksum(wire.ChecksumUpdate16(icmp.Checksum(), uint16(wire.ICMPv6EchoRequest)<<8, uint16(wire.ICMPv6EchoReply)<<8))
	ip.SetSrc(dst)
	ip.SetDst(src)
	ip.SetHopLimit(DefaultHopLimit)
	m.Flags |= pkt.FlagLocal
	n.Count(LocErrEchoReplied, 1)
	return locNextLookup
}
