package main

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"

	"vecnet/examples/dnsserver/dnszone"
	"vecnet/sock"
	"vecnet/stack"
)

// errNotWired is returned by the vecnet modes until the daemon start-up
// (interfaces, AF_XDP port, workers) is wired around serveIngraph and
// serveSock.
var errNotWired = errors.New("dnsserver: vecnet start-up (interfaces, AF_XDP) is not wired yet; use -kernel")

// runVecnet would build a stack on the configured interface and call
// serveIngraph or serveSock; the lead wires the start-up.
func runVecnet(ctx context.Context, cfg config, z *dnszone.Zone) error {
	return errNotWired
}

// sharedStats sums per-batch counters from any worker with atomics, once
// per vector rather than per packet.
type sharedStats struct {
	v [len(dnszone.StatInfos)]atomic.Uint64
}

func (s *sharedStats) add(st *dnszone.Stats) {
	for i, x := range st.Values() {
		if x != 0 {
			s.v[i].Add(x)
		}
	}
}

// serveIngraph installs z as the UDP handler of port on s: every datagram
// of a vector is answered in its own packet buffer (Payload(k) grown to
// MaxReply(k)) and sent back by the stack, or dropped. The handler runs on
// the stack's workers; counters are accumulated per vector on the stack
// and added atomically to the returned totals.
func serveIngraph(s *stack.Stack, z *dnszone.Zone, port uint16) error {
	_, err := serveIngraphStats(s, z, port)
	return err
}

func serveIngraphStats(s *stack.Stack, z *dnszone.Zone, port uint16) (*sharedStats, error) {
	total := new(sharedStats)
	err := s.HandleUDP(port, func(b *stack.UDPBatch) {
		var st dnszone.Stats
		for k := range b.Len() {
			p := b.Payload(k)
			n := z.Answer(p, p[:b.MaxReply(k)], &st)
			if n == 0 {
				b.Drop(k)
				continue
			}
			b.Reply(k, n)
		}
		total.add(&st)
	})
	return total, err
}

// serveSock answers on vecnet's net.PacketConn bound to addr until the
// connection fails or is closed; one datagram at a time, answered in place.
func serveSock(s *stack.Stack, z *dnszone.Zone, addr netip.AddrPort) error {
	c, err := sock.ListenUDP(s, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	var st dnszone.Stats
	buf := make([]byte, bufSize)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return err
		}
		if m := z.Answer(buf[:n], buf, &st); m > 0 {
			if _, err := c.WriteToUDPAddrPort(buf[:m], from); err != nil {
				return err
			}
		}
	}
}
