// Package linuxcp holds the data-plane half of linux-cp (VPP's linux
// control-plane plugin): each vecnet interface (a "phy") is paired with a
// TAP in the host kernel (its "host interface") carrying the same MAC and
// addresses, so that routing daemons (BIRD, FRR) and other control-plane
// software run on the kernel unchanged.
//
//   - linux-cp-punt (next of ip4-local for what no vecnet node handles:
//     TCP without the host TCP, unknown protocols, ICMP the stack ignores;
//     and of ip4-input for link-local multicast, 224.0.0.0/24: OSPF, VRRP)
//     sends the packet as received to its phy's host interface, behind the
//     phy's punt policer (a policer.Meter; red packets are dropped as
//     policed).
//   - linux-cp-arp sits between the phys' input node and ethernet-input and
//     copies every ARP reply to the phy's host interface, so that the
//     kernel resolves its neighbours (vecnet answers requests itself and
//     the whole vector moves on to ethernet-input unchanged).
//   - linux-cp-inject sends what the kernel transmits on a host interface
//     out of its phy unchanged (a cross-connect: the kernel already built
//     the Ethernet header with the phy's MAC).
//
// Host interfaces are ports of the workers' interface-output beyond the
// vecnet interfaces: Pairs maps one to the other, both ways, by slice index.
package linuxcp

import (
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l2/ethernet"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/service/policer"
	"github.com/vecnet/vecnet/wire"
)

// Node names.
const (
	PuntName   = "linux-cp-punt"
	ARPName    = "linux-cp-arp"
	InjectName = "linux-cp-inject"
	// InputName is the input node that polls the host interfaces' ports
	// (driver.InputNode) and hands their frames to linux-cp-inject.
	InputName = "linux-cp-input"
)

// NoPair marks an interface without a partner in Pairs.
const NoPair = 0xffff

// Pairs maps phys to their host interfaces and back, by interface index
// (host interfaces have indices past the vecnet interfaces'). An index
// past a slice's end has no pair.
type Pairs struct {
	HostOf []uint16 // by phy index: the host interface, or NoPair
	PhyOf  []uint16 // by host interface index: the phy, or NoPair
	// Meter is each phy's punt policer (by phy index; nil: unmetered),
	// shared by the workers. Red packets are not punted.
	Meter []*policer.Meter
}

// meter returns the punt policer of phy, or nil.
func (p *Pairs) meter(phy uint16) *policer.Meter {
	if int(phy) < len(p.Meter) {
		return p.Meter[phy]
	}
	return nil
}

// host returns the host interface of phy, or NoPair.
func (p *Pairs) host(phy uint16) uint16 {
	if int(phy) < len(p.HostOf) {
		return p.HostOf[phy]
	}
	return NoPair
}

// phy returns the phy of host interface h, or NoPair.
func (p *Pairs) phy(h uint16) uint16 {
	if int(h) < len(p.PhyOf) {
		return p.PhyOf[h]
	}
	return NoPair
}

// Error codes of linux-cp-punt and linux-cp-arp.
const (
	ErrPunted = iota
	ErrPoliced
	ErrNoHost
	ErrNoBuffer
)

var puntErrors = []graph.Error{
	ErrPunted:   {Name: "punted", Help: "packets sent to the host interface (kernel)", Severity: graph.SevInfo},
	ErrPoliced:  {Name: "policed", Help: "packets over the punt policer's rate (red): not sent to the kernel", Severity: graph.SevWarn},
	ErrNoHost:   {Name: "no_host_interface", Help: "packet for the kernel from an interface without a host interface", Severity: graph.SevWarn},
	ErrNoBuffer: {Name: "no_buffer", Help: "ARP reply not copied to the kernel: no free buffer", Severity: graph.SevWarn},
}

// Error codes of linux-cp-inject.
const (
	InjErrInjected = iota
	InjErrNoPhy
)

var injectErrors = []graph.Error{
	InjErrInjected: {Name: "injected", Help: "frames from the kernel sent out of their phy", Severity: graph.SevInfo},
	InjErrNoPhy:    {Name: "no_phy", Help: "frame from a host interface without a phy", Severity: graph.SevWarn},
}

// edge 1 of every node here.
const nextOutput = 1

// scratch is one worker's metering state.
type scratch struct {
	sizes  [pkt.VectorSize]uint32
	colors [pkt.VectorSize]policer.Color
	ports  [pkt.VectorSize]uint16
	copies [pkt.VectorSize]pkt.Index
}

// color meters the packets of s.sizes[:k], received on s.ports[:k], into
// s.colors, one Meter.Color call per run of packets from one phy (a vector
// from one port is one run).
func (s *scratch) color(pairs *Pairs, now int64, k int) {
	for start := 0; start < k; {
		port := s.ports[start]
		end := start + 1
		for end < k && s.ports[end] == port {
			end++
		}
		if m := pairs.meter(port); m != nil {
			m.Color(now, s.sizes[start:end], s.colors[start:end])
		} else {
			clear(s.colors[start:end])
		}
		start = end
	}
}

// PuntNode returns linux-cp-punt: each packet, as received (Ethernet header
// included), goes to the host interface of its receive interface, unless
// the phy's punt policer colours it red.
func PuntNode(pairs *Pairs) graph.Registration {
	return graph.Registration{
		Name:   PuntName,
		Next:   []string{driver.OutputNodeName},
		Errors: puntErrors,
		Init:   func(n *graph.Node) error { n.State = new(scratch); return nil },
		Func:   func(n *graph.Node, v *pkt.Vector) int { return punt(n, v, pairs) },
	}
}

func punt(n *graph.Node, v *pkt.Vector, pairs *Pairs) int {
	s := n.State.(*scratch)
	a := n.Arena()
	cnt := v.Len
	for k, i := range v.Idx[:cnt] {
		m := a.Meta(i)
		s.sizes[k], s.ports[k] = uint32(m.Len), m.RxPort
	}
	s.color(pairs, n.Graph().Now(), cnt)
	sent := 0
	for k, i := range v.Idx[:cnt] {
		m := a.Meta(i)
		h := pairs.host(m.RxPort)
		switch {
		case h == NoPair:
			n.Drop(m, k, ErrNoHost)
		case s.colors[k] == policer.Red:
			n.Drop(m, k, ErrPoliced)
		default:
			m.TxPort = h
			n.Nexts[k] = nextOutput
			sent++
		}
	}
	n.Count(ErrPunted, uint64(sent))
	n.Enqueue(v, n.Nexts[:cnt])
	return cnt
}

// arpReplyLen is the shortest untagged Ethernet ARP frame.
const arpReplyLen = 14 + 28

// isARPReply reports whether frame is an untagged Ethernet/IPv4 ARP reply.
func isARPReply(frame []byte) bool {
	if len(frame) < arpReplyLen || wire.EtherType(uint16(frame[12])<<8|uint16(frame[13])) != wire.EtherTypeARP {
		return false
	}
	arp, ok := wire.ParseARP(frame[14:])
	return ok && arp.Op() == wire.ARPReply
}

// ARPNode returns linux-cp-arp: the whole vector goes on to ethernet-input;
// a copy of each ARP reply received on a phy with a host interface goes to
// that host interface (metered by the phy's punt policer like punted
// packets).
func ARPNode(pairs *Pairs) graph.Registration {
	return graph.Registration{
		Name:   ARPName,
		Next:   []string{driver.OutputNodeName, ethernet.NodeName},
		Errors: puntErrors,
		Init:   func(n *graph.Node) error { n.State = new(scratch); return nil },
		Func:   func(n *graph.Node, v *pkt.Vector) int { return mirrorARP(n, v, pairs) },
	}
}

func mirrorARP(n *graph.Node, v *pkt.Vector, pairs *Pairs) int {
	s := n.State.(*scratch)
	a := n.Arena()
	c := n.Cache()
	cnt := v.Len
	copies := 0
	for _, i := range v.Idx[:cnt] {
		m := a.Meta(i)
		frame := a.Data(i)
		if !isARPReply(frame) {
			continue
		}
		h := pairs.host(m.RxPort)
		if h == NoPair {
			continue
		}
		j, ok := c.Alloc()
		if !ok {
			n.Count(ErrNoBuffer, 1)
			continue
		}
		d, _ := a.SetData(j, pkt.Headroom, len(frame)) // a frame fits a slot at Headroom
		copy(d, frame)
		mj := a.Meta(j)
		mj.RxPort, mj.TxPort, mj.Flags = m.RxPort, h, pkt.FlagLocal
		s.copies[copies], s.sizes[copies], s.ports[copies] = j, uint32(len(frame)), m.RxPort
		copies++
	}
	if copies > 0 {
		s.color(pairs, n.Graph().Now(), copies)
		sent := 0
		for k, j := range s.copies[:copies] {
			if s.colors[k] == policer.Red {
				c.Free(j)
				n.Count(ErrPoliced, 1)
				continue
			}
			n.EnqueueOne(j, nextOutput)
			sent++
		}
		n.Count(ErrPunted, uint64(sent))
	}
	n.EnqueueAll(v, nextOutput+1)
	return cnt
}

// InjectNode returns linux-cp-inject: each frame from a host interface
// leaves by its phy as it is.
func InjectNode(pairs *Pairs) graph.Registration {
	return graph.Registration{
		Name:   InjectName,
		Next:   []string{driver.OutputNodeName},
		Errors: injectErrors,
		Func:   func(n *graph.Node, v *pkt.Vector) int { return inject(n, v, pairs) },
	}
}

func inject(n *graph.Node, v *pkt.Vector, pairs *Pairs) int {
	a := n.Arena()
	cnt := v.Len
	sent := 0
	for k, i := range v.Idx[:cnt] {
		m := a.Meta(i)
		p := pairs.phy(m.RxPort)
		if p == NoPair {
			n.Drop(m, k, InjErrNoPhy)
			continue
		}
		m.TxPort = p
		m.Flags |= pkt.FlagLocal
		n.Nexts[k] = nextOutput
		sent++
	}
	n.Count(InjErrInjected, uint64(sent))
	n.Enqueue(v, n.Nexts[:cnt])
	return cnt
}

// InputNode returns linux-cp-input, polling the host interfaces' ports of
// one worker (Binding.If is the host interface's index).
func InputNode(bindings []driver.Binding) graph.Registration {
	return driver.InputNode(InputName, bindings, InjectName)
}
