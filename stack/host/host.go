// Package host composes the host stack: the shared core of package stack
// with the UDP and ICMP transports and, with Config.TCP, TCP. The data
// plane (dataplane.NewStack) and the test rig (stacktest) make their
// stacks here; a program that wants other transports composes its own.
package host

import (
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/icmp"
	"github.com/vecnet/vecnet/stack/tcp/tcpnode"
	"github.com/vecnet/vecnet/stack/udp"
	"github.com/vecnet/vecnet/wire"
)

// New returns a stack over pool with UDP (udp.Of), ICMP error delivery
// to UDP sockets and, when cfg.TCP is set, TCP (tcpnode.Of) attached, with
// ICMP errors and path MTU to its connections.
func New(pool *pkt.Pool, cfg stack.Config) *stack.Stack {
	s := stack.New(pool, cfg)
	u := udp.New(s)
	ic := icmp.New(s)
	ic.Register(wire.IPProtoUDP, u)
	if cfg.TCP != nil {
		ic.Register(wire.IPProtoTCP, tcpnode.New(s))
	}
	return s
}
