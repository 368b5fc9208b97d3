package neighbor

import (
	"net/netip"

	"vecnet/graph"
	"vecnet/iface"
	"vecnet/l3/fib"
	"vecnet/pkt"
	"vecnet/wire"
)

// ip4-glean error codes.
const (
	GleanErrQueueFull = iota
	GleanErrNoSource
	GleanErrRequestsSent
	GleanErrTimeout
	GleanErrNoBuffer
	GleanErrNotGlean
	GleanErrQueued
)

// GleanConfig bounds the pending queue.
type GleanConfig struct {
	MaxTargets int   // distinct next hops waiting; default 64
	PerTarget  int   // packets held per next hop; default 8
	RetryNs    int64 // minimum gap between two requests for one target; default 100 ms
	TimeoutNs  int64 // how long packets wait before being dropped; default 1 s
}

type pending struct {
	port      uint16
	ip        [4]byte
	since     int64
	lastReq   int64 // when the last ARP request went out; valid if requested
	requested bool
	pkts      []pkt.Index
}

type gleanState struct {
	cfg     GleanConfig
	targets []*pending
	spare   []*pending
	out     uint16 // edge to interface-output
}

const gleanNextOutput = 1

// GleanNode returns ip4-glean. A packet arrives with Meta.Adj naming a glean
// adjacency (ARP for the destination itself) or an incomplete one (ARP for
// the next hop). The node holds it, sends at most one ARP request per target
// per RetryNs, and drops held packets after TimeoutNs. arp-input releases
// them when the reply comes.
func GleanNode(ifs *iface.Table, table *fib.Table, cfg GleanConfig) graph.Registration {
	if cfg.MaxTargets <= 0 {
		cfg.MaxTargets = 64
	}
	if cfg.PerTarget <= 0 {
		cfg.PerTarget = 8
	}
	if cfg.RetryNs <= 0 {
		cfg.RetryNs = 100e6
	}
	if cfg.TimeoutNs <= 0 {
		cfg.TimeoutNs = 1e9
	}
	return graph.Registration{
		Name: GleanName,
		Next: []string{outputName},
		Errors: []graph.Error{
			GleanErrQueueFull:    {Name: "queue_full", Help: "no room to hold the packet while ARP resolves", Severity: graph.SevWarn},
			GleanErrNoSource:     {Name: "no_source_address", Help: "egress interface has no IPv4 address to ask from"},
			GleanErrRequestsSent: {Name: "requests_sent", Help: "ARP requests sent", Severity: graph.SevInfo},
			GleanErrTimeout:      {Name: "resolution_timeout", Help: "packet dropped: ARP got no answer in time", Severity: graph.SevWarn},
			GleanErrNoBuffer:     {Name: "no_buffer", Help: "no buffer for an ARP request"},
			GleanErrNotGlean:     {Name: "not_glean", Help: "adjacency is no longer glean or incomplete"},
			GleanErrQueued:       {Name: "queued", Help: "packets held while ARP resolves", Severity: graph.SevInfo},
		},
		Init: func(n *graph.Node) error {
			n.State = &gleanState{cfg: cfg}
			return nil
		},
		// Tick expires held packets even when no new packet for an
		// unresolved next hop arrives to run the node.
		Tick: func(n *graph.Node) { n.State.(*gleanState).expire(n, n.Graph().Now()) },
		Close: func(n *graph.Node) {
			st := n.State.(*gleanState)
			for _, p := range st.targets {
				n.Cache().FreeN(p.pkts)
				p.pkts = p.pkts[:0]
			}
			st.targets = st.targets[:0]
		},
		Func: func(n *graph.Node, v *pkt.Vector) int { return glean(n, v, ifs.Load(), table.Load()) },
	}
}

// glean is ip4-glean's node function over one interface and FIB snapshot
// (named, not a closure, so that its calls inline; see ip4's input).
func glean(n *graph.Node, v *pkt.Vector, set *iface.Set, view *fib.View) int {
	st := n.State.(*gleanState)
	now := n.Graph().Now()
	st.expire(n, now)
	a := n.Arena()
	cnt := v.Len
	j := 0
	for _, i := range v.Idx[:cnt] {
		m := a.Meta(i)
		if code, held := st.hold(n, set, view, a, i, m, now); !held {
			m.Error = n.Err(code)
			v.Idx[j] = i
			n.Nexts[j] = graph.NextDrop
			j++
		}
	}
	v.Len = j
	n.Enqueue(v, n.Nexts[:])
	return cnt
}

// hold queues packet i for its target and sends an ARP request when due.
// It returns false and an error code when the packet must be dropped.
func (st *gleanState) hold(n *graph.Node, set *iface.Set, view *fib.View, a *pkt.Arena, i pkt.Index, m *pkt.Meta, now int64) (int, bool) {
	adj := view.Adj(fib.AdjIndex(m.Adj))
	var target [4]byte
	switch adj.Kind {
	case fib.AdjGlean:
		target = wire.IPv4(a.Data(i)[m.L3:]).Dst()
	case fib.AdjIncomplete:
		target = adj.NextHop
	default:
		return GleanErrNotGlean, false
	}
	out := set.Get(adj.Port)
	if out == nil {
		return GleanErrNoSource, false
	}
	src, ok := sourceFor(out, target)
	if !ok {
		return GleanErrNoSource, false
	}
	p := st.find(adj.Port, target)
	if p == nil {
		if len(st.targets) >= st.cfg.MaxTargets {
			return GleanErrQueueFull, false
		}
		p = st.add(adj.Port, target, now)
	}
	if len(p.pkts) >= st.cfg.PerTarget {
		return GleanErrQueueFull, false
	}
	p.pkts = append(p.pkts, i)
	n.Count(GleanErrQueued, 1)
	if !p.requested || now-p.lastReq >= st.cfg.RetryNs {
		p.lastReq, p.requested = now, true
		st.request(n, out, src, target)
	}
	return 0, true
}

// request builds and sends one ARP request out of out.
func (st *gleanState) request(n *graph.Node, out *iface.Interface, src, target [4]byte) {
	c := n.Cache()
	b, ok := c.Alloc()
	if !ok {
		n.Count(GleanErrNoBuffer, 1)
		return
	}
	a := n.Arena()
	d, _ := a.SetData(b, pkt.Headroom, wire.EthernetLen+wire.ARPLen)
	eth := wire.Ethernet(d)
	eth.SetDst(wire.BroadcastMAC)
	eth.SetSrc(out.MAC)
	eth.SetType(wire.EtherTypeARP)
	wire.ARP(d[wire.EthernetLen:]).Encode(&wire.ARPFields{Op: wire.ARPRequest, SenderMAC: out.MAC, SenderIP: src, TargetIP: target})
	m := a.Meta(b)
	m.TxPort = out.Index
	m.RxPort = out.Index
	m.L3 = wire.EthernetLen
	m.Flags |= pkt.FlagLocal
	n.EnqueueOne(b, gleanNextOutput)
	n.Count(GleanErrRequestsSent, 1)
}

func (st *gleanState) find(port uint16, ip [4]byte) *pending {
	for _, p := range st.targets {
		if p.port == port && p.ip == ip {
			return p
		}
	}
	return nil
}

func (st *gleanState) add(port uint16, ip [4]byte, now int64) *pending {
	var p *pending
	if k := len(st.spare); k > 0 {
		p, st.spare = st.spare[k-1], st.spare[:k-1]
	} else {
		p = &pending{pkts: make([]pkt.Index, 0, st.cfg.PerTarget)}
	}
	p.port, p.ip, p.since, p.lastReq, p.requested = port, ip, now, 0, false
	st.targets = append(st.targets, p)
	return p
}

func (st *gleanState) remove(k int) {
	p := st.targets[k]
	p.pkts = p.pkts[:0]
	st.spare = append(st.spare, p)
	st.targets[k] = st.targets[len(st.targets)-1]
	st.targets = st.targets[:len(st.targets)-1]
}

// expire drops held packets older than the timeout.
func (st *gleanState) expire(n *graph.Node, now int64) {
	for k := len(st.targets) - 1; k >= 0; k-- {
		p := st.targets[k]
		if now-p.since < st.cfg.TimeoutNs {
			continue
		}
		for _, i := range p.pkts {
			n.Arena().Meta(i).Error = 0
		}
		n.Count(GleanErrTimeout, uint64(len(p.pkts)))
		n.Cache().FreeN(p.pkts)
		st.remove(k)
	}
}

// release hands every packet held for (port, ip) to edge e of node from
// (arp-input's edge to ip4-lookup).
func (st *gleanState) release(from *graph.Node, port uint16, ip [4]byte, e uint16) {
	for k, p := range st.targets {
		if p.port == port && p.ip == ip {
			for _, i := range p.pkts {
				from.EnqueueOne(i, e)
			}
			st.remove(k)
			return
		}
	}
}

// sourceFor picks out's address on target's subnet (or its first address).
func sourceFor(out *iface.Interface, target [4]byte) ([4]byte, bool) {
	for _, p := range out.Addrs {
		if p.Contains(addr4(target)) {
			return p.Addr().As4(), true
		}
	}
	return out.Addr4, out.Addr4 != [4]byte{}
}

func addr4(ip [4]byte) netip.Addr { return netip.AddrFrom4(ip) }
