package ip4

import (
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// ip4-local error codes.
const (
	LocErrBadICMP = iota
	LocErrBadICMPChecksum
	LocErrEchoReplied
	LocErrICMPOther
	LocErrNoListener
	LocErrProtoUnreachable
	LocErrUDPShort
	LocErrEchoRateLimited
	LocErrPunted
)

const (
	locNextLookup = 1 + iota
	locNextICMPError
	locNextReassembly
	locNextUDP
)

// LocalConfig says where ip4-local sends what it does not answer itself.
type LocalConfig struct {
	// UDPNode, if set, receives UDP packets for the host (the host stack's
	// udp-input). When empty, UDP gets port unreachable.
	UDPNode string
	// ICMPNode, if set, receives the host's ICMP messages other than echo
	// requests, checksum verified (the host stack's error delivery to
	// sockets). When empty they are counted as icmp_other and dropped.
	ICMPNode string
	// TCPNode, if set, receives TCP segments for the host (the host
	// stack's tcp4-input). When empty they are counted as tcp_no_listener
	// and dropped.
	TCPNode string
	// PuntNode, if set, receives what ip4-local would otherwise drop or
	// answer with an ICMP error: TCP without TCPNode, UDP without UDPNode,
	// ICMP other than echo requests without ICMPNode, and protocols it
	// does not handle (linux-cp's punt to the kernel).
	PuntNode string
	// Echo limits the echo replies one worker sends (a token bucket);
	// default DefaultEchoLimit. Requests over the limit are counted and
	// dropped.
	Echo RateLimit
}

// DefaultEchoLimit is LocalConfig.Echo's default.
var DefaultEchoLimit = RateLimit{Rate: 1000, Burst: 100}

// localState is one worker's ip4-local state.
type localState struct {
	echo tokenBucket
}

// DefaultTTL is the TTL of packets the router originates.
const DefaultTTL = 64

// LocalNode returns ip4-local: packets addressed to one of the router's
// addresses. Fragments go to ip4-reassembly, which hands whole datagrams
// back. ICMP echo requests are turned into replies in place and routed
// back through ip4-lookup; UDP goes to cfg.UDPNode or gets port unreachable;
// TCP goes to cfg.TCPNode or is counted and dropped; other protocols get
// protocol unreachable.
func LocalNode(cfg LocalConfig) graph.Registration {
	next := []string{LookupName, ICMPErrorName, ReassemblyName}
	if cfg.UDPNode != "" {
		next = append(next, cfg.UDPNode)
	}
	icmpEdge := uint16(graph.NextDrop)
	if cfg.ICMPNode != "" {
		next = append(next, cfg.ICMPNode)
		icmpEdge = uint16(len(next)) // edges are 1..len(next)
	}
	tcpEdge := uint16(graph.NextDrop)
	if cfg.TCPNode != "" {
		next = append(next, cfg.TCPNode)
		tcpEdge = uint16(len(next))
	}
	puntEdge := uint16(graph.NextDrop)
	if cfg.PuntNode != "" {
		next = append(next, cfg.PuntNode)
		puntEdge = uint16(len(next))
		if icmpEdge == graph.NextDrop {
			icmpEdge = puntEdge
		}
		if tcpEdge == graph.NextDrop {
			tcpEdge = puntEdge
		}
	}
	udp := cfg.UDPNode != ""
	echo := cfg.Echo.orDefault(DefaultEchoLimit)
	return graph.Registration{
		Name: LocalName,
		Next: next,
		Errors: []graph.Error{
			LocErrBadICMP:          {Name: "icmp_too_short", Help: "ICMP message shorter than 8 bytes"},
			LocErrBadICMPChecksum:  {Name: "icmp_bad_checksum", Help: "ICMP checksum is wrong"},
			LocErrEchoReplied:      {Name: "echo_replies", Help: "ICMP echo requests answered", Severity: graph.SevInfo},
			LocErrICMPOther:        {Name: "icmp_other", Help: "ICMP message for the host other than echo request", Severity: graph.SevInfo},
			LocErrNoListener:       {Name: "tcp_no_listener", Help: "TCP segment for the host, no TCP stack here", Severity: graph.SevWarn},
			LocErrProtoUnreachable: {Name: "proto_unreachable", Help: "protocol not handled by the host (unreachable sent)", Severity: graph.SevWarn},
			LocErrUDPShort:         {Name: "udp_port_unreachable", Help: "UDP for the host with no listener (port unreachable sent)", Severity: graph.SevWarn},
			LocErrEchoRateLimited:  {Name: "echo_rate_limited", Help: "ICMP echo request not answered: echo reply rate limit", Severity: graph.SevWarn},
			LocErrPunted:           {Name: "punted", Help: "packets for the host no vecnet node handles, handed to the punt node (the kernel)", Severity: graph.SevInfo},
		},
		Init: func(n *graph.Node) error {
			n.State = &localState{echo: newBucket(echo, n.Graph().Now())}
			return nil
		},
		Func:   func(n *graph.Node, v *pkt.Vector) int { return local(n, v, udp, icmpEdge, tcpEdge, puntEdge) },
		Format: formatIP,
	}
}

// local is ip4-local's node function (named, not a closure, so that its
// calls inline; see input). udp says whether UDP has a next node (edge
// locNextUDP); icmpEdge is the edge for ICMP other than echo requests, or
// NextDrop; tcpEdge likewise for TCP; puntEdge, when not NextDrop, takes
// UDP without a UDP node and unhandled protocols.
func local(n *graph.Node, v *pkt.Vector, udp bool, icmpEdge, tcpEdge, puntEdge uint16) int {
	st := n.State.(*localState)
	st.echo.refill(n.Graph().Now())
	a := n.Arena()
	cnt := v.Len
	for k, i := range v.Idx[:cnt] {
		m := a.Meta(i)
		ip := wire.IPv4(a.Data(i)[m.L3:])
		if ip.IsFragment() { // counted by ip4-reassembly
			n.Nexts[k] = locNextReassembly
			continue
		}
		switch ip.Protocol() {
		case wire.IPProtoICMP:
			n.Nexts[k] = localICMP(n, st, m, k, ip, icmpEdge)
		case wire.IPProtoUDP:
			if udp {
				n.Nexts[k] = locNextUDP
				continue
			}
			if puntEdge != graph.NextDrop {
				n.Count(LocErrPunted, 1)
				n.Nexts[k] = puntEdge
				continue
			}
			n.Count(LocErrUDPShort, 1)
			m.Aux = icmpRequest(wire.ICMPv4DestUnreachable, wire.ICMPv4PortUnreachable, 0)
			n.Nexts[k] = locNextICMPError
		case wire.IPProtoTCP:
			if tcpEdge != graph.NextDrop {
				if tcpEdge == puntEdge {
					n.Count(LocErrPunted, 1)
				}
				n.Nexts[k] = tcpEdge
				continue
			}
			n.Drop(m, k, LocErrNoListener)
		default:
			if puntEdge != graph.NextDrop {
				n.Count(LocErrPunted, 1)
				n.Nexts[k] = puntEdge
				continue
			}
			n.Count(LocErrProtoUnreachable, 1)
			m.Aux = icmpRequest(wire.ICMPv4DestUnreachable, wire.ICMPv4ProtoUnreachable, 0)
			n.Nexts[k] = locNextICMPError
		}
	}
	n.Enqueue(v, n.Nexts[:])
	return cnt
}

// localICMP answers an echo request in place and returns the next edge.
// Messages other than echo requests go to edge other when it is not
// NextDrop.
func localICMP(n *graph.Node, st *localState, m *pkt.Meta, k int, ip wire.IPv4, other uint16) uint16 {
	icmp, ok := wire.ParseICMPv4(ip.Payload())
	if !ok {
		n.Drop(m, k, LocErrBadICMP)
		return graph.NextDrop
	}
	if !icmp.ChecksumValid() {
		n.Drop(m, k, LocErrBadICMPChecksum)
		return graph.NextDrop
	}
	if icmp.Type() != wire.ICMPv4Echo || icmp.Code() != 0 {
		if other != graph.NextDrop {
			n.Count(LocErrICMPOther, 1)
			return other
		}
		n.Drop(m, k, LocErrICMPOther)
		return graph.NextDrop
	}
	if !st.echo.take() {
		n.Drop(m, k, LocErrEchoRateLimited)
		return graph.NextDrop
	}
	// Type 8 -> 0 in the first 16-bit word (type, code): incremental update.
	icmp.SetType(wire.ICMPv4EchoReply)
	icmp.SetChecksum(wire.ChecksumUpdate16(icmp.Checksum(), uint16(wire.ICMPv4Echo)<<8, uint16(wire.ICMPv4EchoReply)<<8))
	src, dst := ip.Src(), ip.Dst()
	ip.SetSrc(dst)
	ip.SetDst(src)
	ip.SetTTL(DefaultTTL)
	ip.SetChecksum(0)
	ip.SetChecksum(ip.ComputeChecksum())
	m.Flags |= pkt.FlagLocal
	n.Count(LocErrEchoReplied, 1)
	return locNextLookup
}
