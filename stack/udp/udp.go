// Package udp is the host stack's UDP: the udp4-input node that ip4-local
// hands the host's UDP to, the udp4-socket-output input node that sends
// what sockets wrote, in-graph handlers (Handle, Batch) and sockets (Open,
// Socket), over the shared core of package stack (endpoint table, rings,
// buffer budgets, wake-ups). See package stack for the design.
package udp

import (
	"encoding/binary"
	"errors"
	"syscall"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/wire"
)

// Node names.
const (
	// InputName is the node ip4-local hands the host's UDP to.
	InputName = "udp4-input"
	// OutputName is the input node that sends what sockets wrote.
	OutputName = "udp4-socket-output"
)

type epKind uint8

const (
	epNone epKind = iota
	epHandler
	epSocket
)

// endpoint is what a port leads to. Endpoints are immutable once published.
type endpoint struct {
	kind    epKind
	addr    [4]byte // local address it is bound to; zero = any
	raddr   [4]byte // remote address of a connected socket
	rport   uint16  // remote port of a connected socket; 0 = not connected
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

// Registrations implements stack.Transport: udp4-input and
// udp4-socket-output.
func (u *UDP) Registrations() []graph.Registration {
	return []graph.Registration{u.inputNode(), u.outputNode()}
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
	_, _, err := u.ports.Bind(port, endpoint{kind: epHandler, handler: h})
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
	ihl := int(quote[0]&0xf) * 4
	if ihl < wire.IPv4MinLen || len(quote) < ihl+wire.UDPLen || quote[9] != wire.IPProtoUDP {
		return false
	}
	isrc, idst := [4]byte(quote[12:16]), [4]byte(quote[16:20])
	sport := binary.BigEndian.Uint16(quote[ihl:])
	dport := binary.BigEndian.Uint16(quote[ihl+2:])
	tab := u.ports.Load()
	ep := &tab.Eps[tab.Ports[sport]]
	if ep.kind != epSocket || ep.rport == 0 || ep.rport != dport || ep.raddr != idst ||
		(ep.addr != [4]byte{} && ep.addr != isrc) {
		return false
	}
	ep.sock.setError(errno)
	return true
}
