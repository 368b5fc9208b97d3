package stack

import (
	"encoding/binary"
	"syscall"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// udp4-icmp-input counters.
const (
	IcmpInSocketErrors = iota
	IcmpInIgnored
)

// icmpState is one worker's udp4-icmp-input state.
type icmpState struct{ ws *workerShared }

// icmpNode returns udp4-icmp-input. It takes ICMP messages for the host
// (checksum verified by ip4-local), and for a destination unreachable that
// quotes a datagram sent by a connected socket to its peer, sets the
// socket's pending error as Linux does (ECONNREFUSED for port unreachable,
// ENETUNREACH, EHOSTUNREACH, ENOPROTOOPT; fragmentation needed and time
// exceeded are not reported). It consumes every packet.
func (s *Stack) icmpNode() graph.Registration {
	return graph.Registration{
		Name: ICMPInputName,
		Errors: []graph.Error{
			IcmpInSocketErrors: {Name: "socket_errors", Help: "ICMP errors reported to a connected socket", Severity: graph.SevInfo},
			IcmpInIgnored:      {Name: "ignored", Help: "ICMP messages for the host not about a connected socket", Severity: graph.SevInfo},
		},
		Init: func(n *graph.Node) error {
			w, err := s.workerOf(n.Graph())
			if err != nil {
				return err
			}
			n.State = &icmpState{ws: s.workers[w]}
			return nil
		},
		Func: func(n *graph.Node, v *pkt.Vector) int {
			ws := n.State.(*icmpState).ws
			ws.seq.n.Add(1)
			tab := s.tab.Load()
			a := n.Arena()
			reported := 0
			for _, i := range v.Idx[:v.Len] {
				if so, errno := icmpTarget(tab, a, i); so != nil {
					so.setError(errno)
					reported++
				}
			}
			ws.seq.n.Add(1)
			cnt := v.Len
			n.Count(IcmpInSocketErrors, uint64(reported))
			n.Count(IcmpInIgnored, uint64(cnt-reported))
			n.Cache().FreeN(v.Idx[:cnt])
			v.Reset()
			return cnt
		},
	}
}

// icmpTarget returns the connected socket an ICMP error in packet i is
// about, and the errno to report, or nil.
func icmpTarget(tab *table, a *pkt.Arena, i pkt.Index) (*Socket, syscall.Errno) {
	m := a.Meta(i)
	d := a.Data(i)
	if int(m.L3)+wire.IPv4MinLen > len(d) {
		return nil, 0
	}
	p := wire.IPv4(d[m.L3:]).Payload()
	if len(p) < wire.ICMPv4MinLen+wire.IPv4MinLen || p[0] != wire.ICMPv4DestUnreachable {
		return nil, 0
	}
	var errno syscall.Errno
	switch p[1] {
	case wire.ICMPv4NetUnreachable:
		errno = syscall.ENETUNREACH
	case wire.ICMPv4ProtoUnreachable:
		errno = syscall.ENOPROTOOPT
	case wire.ICMPv4PortUnreachable:
		errno = syscall.ECONNREFUSED
	case wire.ICMPv4FragNeeded:
		return nil, 0
	default:
		errno = syscall.EHOSTUNREACH
	}
	inner := p[wire.ICMPv4MinLen:]
	ihl := int(inner[0]&0xf) * 4
	if ihl < wire.IPv4MinLen || len(inner) < ihl+wire.UDPLen || inner[9] != wire.IPProtoUDP {
		return nil, 0
	}
	isrc, idst := [4]byte(inner[12:16]), [4]byte(inner[16:20])
	sport := binary.BigEndian.Uint16(inner[ihl:])
	dport := binary.BigEndian.Uint16(inner[ihl+2:])
	ep := &tab.eps[tab.ports[sport]]
	if ep.kind != epSocket || ep.rport == 0 || ep.rport != dport || ep.raddr != idst ||
		(ep.addr != [4]byte{} && ep.addr != isrc) {
		return nil, 0
	}
	return ep.sock, errno
}
