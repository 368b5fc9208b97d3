package neighbor

import (
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/l3/ip6"
	"net/netip"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// ip6-glean error codes.
const (
	Glean6ErrQueueFull = iota
	Glean6ErrNoSource
	Glean6ErrSolicitsSent
	Glean6ErrTimeout
	Glean6ErrNoBuffer
	Glean6ErrNotGlean
	Glean6ErrQueued
	Glean6ErrReleasedByTimer
	Glean6ErrProbesSent
	Glean6ErrThrottled
	Glean6ErrDADSent
	Glean6ErrUnsolicitedNA
)

type glean6State struct {
	q      holdQueue[[16]byte]
	nt     *NDTable
	probes []Probe6
	dad    []DADSend
}

const (
	glean6NextOutput = 1 + iota
	glean6NextLookup
)

// Glean6Node returns ip6-glean, ip4-glean's IPv6 twin (same GleanConfig
// policy): a packet whose adjacency is glean (solicit the destination) or
// incomplete (solicit the next hop) is held in a bounded per-worker queue
// while a Neighbor Solicitation goes to the target's solicited-node group
// (at most one per target per RetryNs); nd-input releases the packets when
// the advertisement comes, or this node's timer does once the FIB resolves
// the target (learned on another worker). The timer also runs the ND
// table's ageing (unicast probes) and duplicate address detection: DAD
// solicitations from ::, and an unsolicited advertisement to all-nodes for
// each address that passed.
func Glean6Node(ifs *iface.Table, table *fib.Table6, nt *NDTable, cfg GleanConfig) graph.Registration {
	cfg = cfg.WithDefaults()
	return graph.Registration{
		Name: Glean6Name,
		Next: []string{driver.OutputNodeName, ip6.LookupName},
		Errors: []graph.Error{
			Glean6ErrQueueFull:       {Name: "queue_full", Help: "no room to hold the packet while ND resolves", Severity: graph.SevWarn},
			Glean6ErrNoSource:        {Name: "no_source_address", Help: "egress interface has no IPv6 address to solicit from"},
			Glean6ErrSolicitsSent:    {Name: "solicits_sent", Help: "multicast neighbour solicitations sent", Severity: graph.SevInfo},
			Glean6ErrTimeout:         {Name: "resolution_timeout", Help: "packet dropped: ND got no answer in time", Severity: graph.SevWarn},
			Glean6ErrNoBuffer:        {Name: "no_buffer", Help: "no buffer for a solicitation"},
			Glean6ErrNotGlean:        {Name: "not_glean", Help: "adjacency is no longer glean or incomplete"},
			Glean6ErrQueued:          {Name: "queued", Help: "packets held while ND resolves", Severity: graph.SevInfo},
			Glean6ErrReleasedByTimer: {Name: "released_resolved_elsewhere", Help: "held packets released after another worker learned their next hop", Severity: graph.SevInfo},
			Glean6ErrProbesSent:      {Name: "probes_sent", Help: "unicast solicitations re-confirming aged neighbours", Severity: graph.SevInfo},
			Glean6ErrThrottled:       {Name: "solicits_throttled", Help: "solicitation for a target not held skipped (budget spent)", Severity: graph.SevInfo},
			Glean6ErrDADSent:         {Name: "dad_solicits_sent", Help: "duplicate address detection solicitations sent", Severity: graph.SevInfo},
			Glean6ErrUnsolicitedNA:   {Name: "unsolicited_adverts_sent", Help: "advertisements to all-nodes for addresses that passed DAD", Severity: graph.SevInfo},
		},
		Init: func(n *graph.Node) error {
			codes := holdCodes{timeout: Glean6ErrTimeout, released: Glean6ErrReleasedByTimer, lookup: glean6NextLookup}
			n.State = &glean6State{q: holdQueue[[16]byte]{cfg: cfg, codes: codes, gen: nt.Gen()}, nt: nt}
			return nil
		},
		Tick:  func(n *graph.Node) { glean6Tick(n, ifs.Load(), table.Load()) },
		Close: func(n *graph.Node) { n.State.(*glean6State).q.freeAll(n) },
		Func:  func(n *graph.Node, v *pkt.Vector) int { return glean6(n, v, ifs.Load(), table.Load()) },
	}
}

func glean6(n *graph.Node, v *pkt.Vector, set *iface.Set, view *fib.View6) int {
	st := n.State.(*glean6State)
	now := n.Graph().Now()
	st.refresh(n, view, now)
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

func (st *glean6State) hold(n *graph.Node, set *iface.Set, view *fib.View6, a *pkt.Arena, i pkt.Index, m *pkt.Meta, now int64) (int, bool) {
	adj := view.Adj(fib.AdjIndex(m.Adj))
	var target [16]byte
	switch adj.Kind {
	case fib.AdjGlean:
		target = wire.IPv6(a.Data(i)[m.L3:]).Dst()
	case fib.AdjIncomplete:
		target = adj.NextHop
	default:
		return Glean6ErrNotGlean, false
	}
	out := set.Get(adj.Port)
	if out == nil {
		return Glean6ErrNoSource, false
	}
	src, ok := source6For(out, target)
	if !ok {
		return Glean6ErrNoSource, false
	}
	switch st.q.hold(adj.Port, target, i, now) {
	case heldAsk:
		st.ask(n, out, src, target, now)
	case dropFull:
		return Glean6ErrQueueFull, false
	case dropTargets:
		if st.q.unheldRoom(now) {
			st.q.unheldSent++
			st.ask(n, out, src, target, now)
		} else {
			n.Count(Glean6ErrThrottled, 1)
		}
		return Glean6ErrQueueFull, false
	}
	n.Count(Glean6ErrQueued, 1)
	return 0, true
}

// ask sends a multicast solicitation for target and records it in the
// table, so the advertisement may create the entry on any worker.
func (st *glean6State) ask(n *graph.Node, out *iface.Interface, src, target [16]byte, now int64) {
	st.nt.Solicit(out.Index, target, now)
	sn := wire.SolicitedNode(target)
	if sendND(n, glean6NextOutput, out, wire.MulticastMAC(sn), src, sn, wire.ICMPv6NeighborSolicit, 0, target, wire.NDOptSourceLinkAddr) {
		n.Count(Glean6ErrSolicitsSent, 1)
	} else {
		n.Count(Glean6ErrNoBuffer, 1)
	}
}

func glean6Tick(n *graph.Node, set *iface.Set, view *fib.View6) {
	st := n.State.(*glean6State)
	now := n.Graph().Now()
	st.refresh(n, view, now)
	st.probes = st.nt.Age(now, st.probes[:0])
	for _, p := range st.probes {
		out := set.Get(p.Port)
		if out == nil {
			continue
		}
		src, ok := source6For(out, p.IP)
		if !ok {
			continue
		}
		st.nt.Solicit(p.Port, p.IP, now)
		if sendND(n, glean6NextOutput, out, p.MAC, src, p.IP, wire.ICMPv6NeighborSolicit, 0, p.IP, wire.NDOptSourceLinkAddr) {
			n.Count(Glean6ErrProbesSent, 1)
		}
	}
	st.dad = st.nt.DADDue(now, st.dad[:0])
	for _, d := range st.dad {
		out := set.Get(d.Port)
		if d.Done {
			// The table assigned the address after set was loaded: take a
			// fresh interface snapshot is not needed, only its MAC.
			if out != nil && sendND(n, glean6NextOutput, out, wire.MulticastMAC(wire.AllNodes), d.Addr, wire.AllNodes,
				wire.ICMPv6NeighborAdvert, wire.NAFlagRouter|wire.NAFlagOverride, d.Addr, wire.NDOptTargetLinkAddr) {
				n.Count(Glean6ErrUnsolicitedNA, 1)
			}
			continue
		}
		sn := wire.SolicitedNode(d.Addr)
		if out != nil && sendND(n, glean6NextOutput, out, wire.MulticastMAC(sn), [16]byte{}, sn, wire.ICMPv6NeighborSolicit, 0, d.Addr, 0) {
			n.Count(Glean6ErrDADSent, 1)
		}
	}
}

// refresh drops what waited too long and, when the ND table changed,
// releases to ip6-lookup what the FIB now resolves.
func (st *glean6State) refresh(n *graph.Node, view *fib.View6, now int64) {
	st.q.refresh(n, now, st.nt.Gen(), func(port uint16, ip [16]byte) bool {
		adj := view.Adj(view.Lookup(ip, 0))
		return adj.Kind == fib.AdjRewrite && adj.Port == port
	})
}

func addr6(ip [16]byte) netip.Addr { return netip.AddrFrom16(ip) }
