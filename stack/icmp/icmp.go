// Package icmp is the host stack's ICMP error delivery: the icmp4-input
// node, fed by ip4-local with the host's ICMP messages other than echo
// requests (checksum verified; ip4-local answers echo itself), hands a
// destination unreachable to the transport of the datagram it quotes
// (Register), which turns it into a socket's pending error as Linux does
// (ECONNREFUSED for port unreachable, ENETUNREACH, EHOSTUNREACH,
// ENOPROTOOPT; time exceeded is not reported), and a fragmentation needed
// to the transports that do path MTU discovery (MTUReceiver: TCP).
// icmp6-input does the same for ICMPv6 destination unreachable and packet
// too big, fed by ip6-local with the host's ICMPv6 error messages.
package icmp

import (
	"encoding/binary"
	"syscall"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/l3/ip6"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/wire"
)

// InputName is the node ip4-local hands the host's ICMP messages other
// than echo requests to.
const InputName = "icmp4-input"

// Input6Name is the node ip6-local hands the host's ICMPv6 error messages
// to.
const Input6Name = "icmp6-input"

// icmp4-input counters.
const (
	InSocketErrors = iota
	InIgnored
)

// ErrorReceiver is a transport that takes the ICMP errors about its
// packets (udp.UDP). ICMPError runs on a worker inside icmp4-input's grace
// period (stack.Worker.Enter/Leave), with quote the original IP header and
// the bytes after it that the error quotes (at least 20, or for IPv6, whose
// version nibble says so, at least 40); it reports whether a socket took
// the error.
type ErrorReceiver interface {
	ICMPError(quote []byte, errno syscall.Errno) bool
}

// MTUReceiver is an ErrorReceiver that also takes the path MTU errors
// about its packets: an ICMPv4 fragmentation needed (RFC 1191; mtu is the
// next-hop MTU, 0 from a router that does not say) or an ICMPv6 packet too
// big (RFC 8201). quote is as for ICMPError. It reports whether a
// connection took the error.
type MTUReceiver interface {
	ErrorReceiver
	ICMPPacketTooBig(quote []byte, mtu int) bool
}

// ICMP is the ICMP error delivery of one Stack.
type ICMP struct {
	s    *stack.Stack
	recv [256]ErrorReceiver // by the quoted packet's IP protocol
	mtu  [256]MTUReceiver   // the receivers that do path MTU discovery
}

// New makes the ICMP transport of s and attaches it.
func New(s *stack.Stack) *ICMP {
	c := &ICMP{s: s}
	s.Attach(c)
	return c
}

// Register sends the errors about packets of IP protocol proto to r, and
// the path MTU errors too when r is an MTUReceiver. Call before the
// workers start.
func (c *ICMP) Register(proto uint8, r ErrorReceiver) {
	c.recv[proto] = r
	c.mtu[proto], _ = r.(MTUReceiver)
}

// Registrations implements stack.Transport: icmp4-input and icmp6-input.
func (c *ICMP) Registrations() []graph.Registration {
	return []graph.Registration{c.node(InputName, c.deliver), c.node(Input6Name, c.deliver6)}
}

// Protocols6 implements stack.Transport6: ICMPv6 errors go to icmp6-input.
func (c *ICMP) Protocols6() []ip6.ProtocolNode {
	return []ip6.ProtocolNode{{Protocol: wire.IPProtoICMPv6, Node: Input6Name}}
}

// Protocols implements stack.Transport: ICMP goes to icmp4-input.
func (c *ICMP) Protocols() []ip4.ProtocolNode {
	return []ip4.ProtocolNode{{Protocol: wire.IPProtoICMP, Node: InputName}}
}

// Flush implements stack.Transport (nothing held).
func (c *ICMP) Flush() {}

// node returns icmp4-input (or icmp6-input, with deliver6). It consumes
// every packet.
func (c *ICMP) node(name string, deliver func(*pkt.Arena, pkt.Index) bool) graph.Registration {
	return graph.Registration{
		Name: name,
		Errors: []graph.Error{
			InSocketErrors: {Name: "socket_errors", Help: "ICMP errors reported to a connected socket", Severity: graph.SevInfo},
			InIgnored:      {Name: "ignored", Help: "ICMP messages for the host not about a connected socket", Severity: graph.SevInfo},
		},
		Init: func(n *graph.Node) error {
			w, err := c.s.WorkerOf(n.Graph())
			if err != nil {
				return err
			}
			n.State = c.s.Worker(w)
			return nil
		},
		Func: func(n *graph.Node, v *pkt.Vector) int {
			ws := n.State.(*stack.Worker)
			ws.Enter()
			a := n.Arena()
			reported := 0
			for _, i := range v.Idx[:v.Len] {
				if deliver(a, i) {
					reported++
				}
			}
			ws.Leave()
			cnt := v.Len
			n.Count(InSocketErrors, uint64(reported))
			n.Count(InIgnored, uint64(cnt-reported))
			n.Cache().FreeN(v.Idx[:cnt])
			v.Reset()
			return cnt
		},
	}
}

// deliver hands the ICMP error in packet i to the transport of the packet
// it quotes, and reports whether a socket took it.
func (c *ICMP) deliver(a *pkt.Arena, i pkt.Index) bool {
	m := a.Meta(i)
	d := a.Data(i)
	if int(m.L3)+wire.IPv4MinLen > len(d) {
		return false
	}
	p := wire.IPv4(d[m.L3:]).Payload()
	if len(p) < wire.ICMPv4MinLen+wire.IPv4MinLen || p[0] != wire.ICMPv4DestUnreachable {
		return false
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
		quote := p[wire.ICMPv4MinLen:]
		if r := c.mtu[quote[9]]; r != nil {
			return r.ICMPPacketTooBig(quote, int(binary.BigEndian.Uint16(p[6:8])))
		}
		return false
	default:
		errno = syscall.EHOSTUNREACH
	}
	quote := p[wire.ICMPv4MinLen:]
	r := c.recv[quote[9]]
	if r == nil {
		return false
	}
	return r.ICMPError(quote, errno)
}

// deliver6 is deliver for an ICMPv6 error (Meta.L4 at the ICMPv6 header, as
// ip6-local leaves it): destination unreachable becomes ECONNREFUSED (port
// unreachable), ENETUNREACH (no route), EACCES (administratively
// prohibited) or EHOSTUNREACH; packet too big goes to the MTUReceiver; the
// quoted packet must carry its upper layer right after the IPv6 header.
func (c *ICMP) deliver6(a *pkt.Arena, i pkt.Index) bool {
	m := a.Meta(i)
	d := a.Data(i)
	l4 := int(m.L4)
	if l4 < int(m.L3)+wire.IPv6Len || l4+wire.ICMPv6MinLen+wire.IPv6Len > len(d) {
		return false
	}
	p := d[l4:]
	if p[0] == wire.ICMPv6PacketTooBig {
		quote := p[wire.ICMPv6MinLen:]
		r := c.mtu[quote[6]]
		if quote[0]>>4 != 6 || r == nil {
			return false
		}
		mtu := binary.BigEndian.Uint32(p[4:8])
		return r.ICMPPacketTooBig(quote, int(min(mtu, 1<<20)))
	}
	if p[0] != wire.ICMPv6DestUnreachable {
		return false
	}
	var errno syscall.Errno
	switch p[1] {
	case wire.ICMPv6PortUnreachable:
		errno = syscall.ECONNREFUSED
	case wire.ICMPv6NoRoute:
		errno = syscall.ENETUNREACH
	case 1: // communication administratively prohibited
		errno = syscall.EACCES
	default:
		errno = syscall.EHOSTUNREACH
	}
	quote := p[wire.ICMPv6MinLen:]
	if quote[0]>>4 != 6 {
		return false
	}
	r := c.recv[quote[6]]
	if r == nil {
		return false
	}
	return r.ICMPError(quote, errno)
}
