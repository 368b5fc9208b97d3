package ip4

import (
	"fmt"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/icmperr"
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
	locNextReassembly // the registered protocols' nodes follow
)

// ProtocolNode is one entry of ip4-local's protocol -> node table: the
// host's (unfragmented or reassembled) packets of IP protocol Protocol go
// to the node named Node.
type ProtocolNode struct {
	Protocol uint8
	Node     string
}

// LocalConfig says where ip4-local sends what it does not answer itself.
type LocalConfig struct {
	// Protocols is the protocol -> node table, filled by the owners of
	// the nodes through RegisterProtocol (the host stack's transports).
	// Unregistered, UDP gets port unreachable (udp_port_unreachable), TCP
	// is dropped (tcp_no_listener), ICMP other than echo requests is
	// dropped (icmp_other) and other protocols get protocol unreachable —
	// unless PuntNode is set.
	// A node registered for ICMP receives the messages other than echo
	// requests, checksum verified; ip4-local answers echo itself.
	Protocols []ProtocolNode
	// PuntNode, if set, receives what no registered node takes and
	// ip4-local would otherwise drop or answer with an ICMP error: every
	// unregistered protocol, ICMP other than echo requests included
	// (linux-cp's punt to the kernel), counted as punted.
	PuntNode string
	// Echo limits the echo replies one worker sends (a token bucket);
	// default DefaultEchoLimit. Requests over the limit are counted and
	// dropped.
	Echo RateLimit
}

// RegisterProtocol adds proto -> node to the table. Building the node
// fails if a protocol is registered twice.
func (c *LocalConfig) RegisterProtocol(proto uint8, node string) {
	c.Protocols = append(c.Protocols, ProtocolNode{Protocol: proto, Node: node})
}

// DefaultEchoLimit is LocalConfig.Echo's default.
var DefaultEchoLimit = icmperr.DefaultLimit

// localState is one worker's ip4-local state.
type localState struct {
	echo  icmperr.Bucket
	proto *[256]uint16 // protocol -> next edge; 0 (NextDrop) = unregistered
	punt  uint16       // the punt node's edge (also in proto for every unregistered protocol), or NextDrop
}

// DefaultTTL is the TTL of packets the router originates.
const DefaultTTL = wire.DefaultTTL

// LocalNode returns ip4-local: packets addressed to one of the router's
// addresses. Fragments go to ip4-reassembly, which hands whole datagrams
// back. ICMP echo requests are turned into replies in place and routed
// back through ip4-lookup; every other packet goes to the node registered
// for its protocol (cfg.Protocols), one table lookup per packet, or is
// answered or dropped as LocalConfig.Protocols says.
func LocalNode(cfg LocalConfig) graph.Registration {
	next := []string{LookupName, ICMPErrorName, ReassemblyName}
	proto := new([256]uint16)
	var tabErr error
	for _, p := range cfg.Protocols {
		if proto[p.Protocol] != 0 {
			tabErr = fmt.Errorf("ip4: protocol %d registered twice (%s)", p.Protocol, p.Node)
			continue
		}
		next = append(next, p.Node)
		proto[p.Protocol] = uint16(len(next)) // edges are 1..len(next)
	}
	puntEdge := uint16(graph.NextDrop)
	if cfg.PuntNode != "" {
		next = append(next, cfg.PuntNode)
		puntEdge = uint16(len(next))
		for p := range proto {
			if proto[p] == 0 {
				proto[p] = puntEdge
			}
		}
	}
	echo := cfg.Echo.OrDefault(DefaultEchoLimit)
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
			if tabErr != nil {
				return tabErr
			}
			n.State = &localState{echo: icmperr.NewBucket(echo, n.Graph().Now()), proto: proto, punt: puntEdge}
			return nil
		},
		Func:   local,
		Format: formatIP,
	}
}

// local is ip4-local's node function (named, not a closure, so that its
// calls inline; see input).
func local(n *graph.Node, v *pkt.Vector) int {
	st := n.State.(*localState)
	st.echo.Refill(n.Graph().Now())
	proto := st.proto
	a := n.Arena()
	cnt := v.Len
	for k, i := range v.Idx[:cnt] {
		m := a.Meta(i)
		ip := wire.IPv4(a.Data(i)[m.L3:])
		if ip.IsFragment() { // counted by ip4-reassembly
			n.Nexts[k] = locNextReassembly
			continue
		}
		p := ip.Protocol()
		e := proto[p]
		if p == wire.IPProtoICMP {
			n.Nexts[k] = localICMP(n, st, m, k, ip, e)
			continue
		}
		if e != graph.NextDrop {
			if e == st.punt {
				n.Count(LocErrPunted, 1)
			}
			n.Nexts[k] = e
			continue
		}
		switch p {
		case wire.IPProtoUDP:
			n.Count(LocErrUDPShort, 1)
			m.ICMP = pkt.ICMPRequest{Type: wire.ICMPv4DestUnreachable, Code: wire.ICMPv4PortUnreachable}
			n.Nexts[k] = locNextICMPError
		case wire.IPProtoTCP:
			n.Drop(m, k, LocErrNoListener)
		default:
			n.Count(LocErrProtoUnreachable, 1)
			m.ICMP = pkt.ICMPRequest{Type: wire.ICMPv4DestUnreachable, Code: wire.ICMPv4ProtoUnreachable}
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
			if other == st.punt {
				n.Count(LocErrPunted, 1)
			} else {
				n.Count(LocErrICMPOther, 1)
			}
			return other
		}
		n.Drop(m, k, LocErrICMPOther)
		return graph.NextDrop
	}
	if !st.echo.Take() {
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
