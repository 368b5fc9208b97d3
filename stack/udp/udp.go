// Package udp is the host stack's UDP: the udp4-input node that ip4-local
// hands the host's UDP to, the udp4-socket-output input node that sends
// what sockets wrote, in-graph handlers (Handle, Batch) and sockets (Open,
// Socket), over the shared core of package stack (endpoint table, rings,
// buffer budgets, wake-ups). See package stack for the design.
package udp

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"syscall"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/l3/ip6"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/wire"
)

// Node names.
const (
	// InputName is the node ip4-local hands the host's UDP to.
	InputName = "udp4-input"
	// Input6Name is the node ip6-local hands the host's UDP to.
	Input6Name = "udp6-input"
	// OutputName is the input node that sends what sockets wrote.
	OutputName = "udp4-socket-output"
)

type epKind uint8

const (
	epNone epKind = iota
	epHandler
	epSocket
)

// Address families an endpoint takes (endpoint.fam).
const (
	fam4 uint8 = 1 << iota
	fam6
)

// famOf returns the families an endpoint bound to a takes: an IPv4 address
// or 0.0.0.0 IPv4 only, an IPv6 address IPv6 only, :: or no address both
// (Linux's dual-stack default, bindv6only=0).
func famOf(a netip.Addr) uint8 {
	switch {
	case !a.IsValid():
		return fam4 | fam6
	case a.Is4():
		return fam4
	case a.IsUnspecified():
		return fam4 | fam6
	}
	return fam6
}

// endpoint is what a port leads to. Endpoints are immutable once published.
// One table of ports serves both families: an endpoint says which it takes.
type endpoint struct {
	kind    epKind
	fam     uint8      // families it takes (fam4, fam6); 0 for epNone
	addr    netip.Addr // local address it is bound to; invalid = any of fam
	raddr   netip.Addr // remote address of a connected socket
	rport   uint16     // remote port of a connected socket; 0 = not connected
	handler Handler
	sock    *Socket
}

// UDP is the UDP transport of one Stack.
type UDP struct {
	s     *stack.Stack
	cfg   stack.Config
	ports *stack.Ports[endpoint]
}

// New makes the UDP transport of s and attaches it.
func New(s *stack.Stack) *UDP {
	u := &UDP{s: s, cfg: s.Config(), ports: stack.NewPorts[endpoint](s)}
	s.Attach(u)
	return u
}

// Of returns the UDP transport attached to s, or nil.
func Of(s *stack.Stack) *UDP {
	for _, t := range s.Transports() {
		if u, ok := t.(*UDP); ok {
			return u
		}
	}
	return nil
}

// Stack returns the stack u is attached to.
func (u *UDP) Stack() *stack.Stack { return u.s }

// Registrations implements stack.Transport: udp4-input, udp6-input and
// udp4-socket-output (which sends both families).
func (u *UDP) Registrations() []graph.Registration {
	return []graph.Registration{u.inputNode(false), u.inputNode(true), u.outputNode()}
}

// Protocols6 implements stack.Transport6: UDP over IPv6 goes to udp6-input.
func (u *UDP) Protocols6() []ip6.ProtocolNode {
	return []ip6.ProtocolNode{{Protocol: wire.IPProtoUDP, Node: Input6Name}}
}

// Protocols implements stack.Transport: UDP goes to udp4-input.
func (u *UDP) Protocols() []ip4.ProtocolNode {
	return []ip4.ProtocolNode{{Protocol: wire.IPProtoUDP, Node: InputName}}
}

// Flush implements stack.Transport (sockets use the stack's cache).
func (u *UDP) Flush() {}

// Handle installs h for datagrams to port on any local address. It fails
// if the port is taken. h runs on worker threads, on several at once when
// there are several workers (each with its own batch), and must not block,
// keep the batch, or call RemoveHandler or Socket.Close.
func (u *UDP) Handle(port uint16, h Handler) error {
	if port == 0 || h == nil {
		return errors.New("udp: Handle needs a port and a handler")
	}
	_, _, err := u.ports.Bind(port, endpoint{kind: epHandler, fam: fam4 | fam6, handler: h})
	return err
}

// RemoveHandler removes the handler of port. When it returns, no worker
// runs the handler any more. It waits for the workers, so it must not be
// called on a worker (from a handler).
func (u *UDP) RemoveHandler(port uint16) {
	tab := u.ports.Load()
	if id := tab.Ports[port]; id != 0 && tab.Eps[id].kind == epHandler {
		u.ports.Unbind(port, id, nil)
	}
}

// released accounts for k buffers taken out of so's receive queues.
func (u *UDP) released(so *Socket, k int) {
	so.rxHeld.Add(-int32(k))
	u.s.HeldBuffers().Add(-int64(k))
}

// ICMPError is the UDP receiver of package icmp's error delivery (on a
// worker, inside the icmp node's grace period): when quote (the IP header
// and first bytes an ICMP error quotes) is a datagram a connected socket
// sent to its peer, the socket's pending error becomes errno and
// ICMPError reports true.
func (u *UDP) ICMPError(quote []byte, errno syscall.Errno) bool {
	if quote[0]>>4 == 6 {
		return u.icmpError6(quote, errno)
	}
	ihl := int(quote[0]&0xf) * 4
	if ihl < wire.IPv4MinLen || len(quote) < ihl+wire.UDPLen || quote[9] != wire.IPProtoUDP {
		return false
	}
	isrc, idst := netip.AddrFrom4([4]byte(quote[12:16])), netip.AddrFrom4([4]byte(quote[16:20]))
	sport := binary.BigEndian.Uint16(quote[ihl:])
	dport := binary.BigEndian.Uint16(quote[ihl+2:])
	tab := u.ports.Load()
	ep := &tab.Eps[tab.Ports[sport]]
	if ep.kind != epSocket || ep.rport == 0 || ep.rport != dport || ep.raddr != idst ||
		(ep.addr.IsValid() && ep.addr != isrc) {
		return false
	}
	ep.sock.setError(errno)
	return true
}

// icmpError6 is ICMPError for a quoted IPv6 datagram (UDP right after the
// IPv6 header).
func (u *UDP) icmpError6(quote []byte, errno syscall.Errno) bool {
	if len(quote) < wire.IPv6Len+wire.UDPLen || quote[6] != wire.IPProtoUDP {
		return false
	}
	ip := wire.IPv6(quote)
	isrc, idst := netip.AddrFrom16(ip.Src()), netip.AddrFrom16(ip.Dst())
	sport := binary.BigEndian.Uint16(quote[wire.IPv6Len:])
	dport := binary.BigEndian.Uint16(quote[wire.IPv6Len+2:])
	tab := u.ports.Load()
	ep := &tab.Eps[tab.Ports[sport]]
	if ep.kind != epSocket || ep.rport == 0 || ep.rport != dport || ep.raddr != idst ||
		(ep.addr.IsValid() && ep.addr != isrc) {
		return false
	}
	ep.sock.setError(errno)
	return true
}
