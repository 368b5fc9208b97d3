package neighbor

import (
	"net/netip"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/iface"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
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
	GleanErrBroadcast
	GleanErrReleasedByTimer
	GleanErrProbesSent
	GleanErrThrottled
)

// GleanConfig bounds the pending queue.
//
// Policy: a worker holds packets for at most MaxTargets next hops,
// PerTarget packets each. A packet for a new next hop beyond MaxTargets is
// dropped (queue_full) but its next hop is still asked for, at most once
// per RetryNs (a per-worker throttle, like VPP's ip4-glean) and within a
// budget of MaxTargets such requests per RetryNs on the worker, so a scan of a
// connected subnet cannot starve real resolution: targets already held keep
// resolving, and a real host whose first packets were dropped is resolved
// by the time its retransmission arrives. Packets for a subnet's broadcast
// or network address are never held or asked for (dropped as
// subnet_broadcast).
type GleanConfig struct {
	MaxTargets int   // distinct next hops waiting; default 64
	PerTarget  int   // packets held per next hop; default 8
	RetryNs    int64 // minimum gap between two requests for one target; default 100 ms
	TimeoutNs  int64 // how long packets wait before being dropped; default 1 s
}

// Defaults of GleanConfig.
const (
	DefaultGleanMaxTargets = 64
	DefaultGleanPerTarget  = 8
	DefaultGleanRetryNs    = 100e6
	DefaultGleanTimeoutNs  = 1e9
)

// WithDefaults returns c with zero fields set to the defaults.
func (c GleanConfig) WithDefaults() GleanConfig {
	orDefault(&c.MaxTargets, DefaultGleanMaxTargets)
	orDefault(&c.PerTarget, DefaultGleanPerTarget)
	orDefault(&c.RetryNs, DefaultGleanRetryNs)
	orDefault(&c.TimeoutNs, DefaultGleanTimeoutNs)
	return c
}

const throttleSlots = 256

// throttle remembers, per hashed target, when a request last went out for
// a target that is not held (the queue was full).
type throttle struct {
	k    key
	last int64
}

type gleanState struct {
	q      holdQueue[[4]byte]
	nt     *Table
	probes []Probe
	thr    [throttleSlots]throttle
}

const (
	gleanNextOutput = 1 + iota
	gleanNextLookup
)

// GleanNode returns ip4-glean. A packet arrives with Meta.Adj naming a glean
// adjacency (ARP for the destination itself) or an incomplete one (ARP for
// the next hop). The node holds it, sends at most one ARP request per target
// per RetryNs (recording it in nt, so that the reply may create the entry
// on whichever worker it lands), and drops held packets after TimeoutNs.
// arp-input on the same worker releases them when the reply comes; when it
// lands on another worker, this node releases them on its next vector or
// timer tick, once nt's generation moved and the FIB resolves the target.
// The timer also runs nt's ageing sweep and sends the probes it asks for.
// See GleanConfig for the queueing policy.
func GleanNode(ifs *iface.Table, table *fib.Table, nt *Table, cfg GleanConfig) graph.Registration {
	cfg = cfg.WithDefaults()
	return graph.Registration{
		Name: GleanName,
		Next: []string{driver.OutputNodeName, ip4.LookupName},
		Errors: []graph.Error{
			GleanErrQueueFull:       {Name: "queue_full", Help: "no room to hold the packet while ARP resolves", Severity: graph.SevWarn},
			GleanErrNoSource:        {Name: "no_source_address", Help: "egress interface has no IPv4 address to ask from"},
			GleanErrRequestsSent:    {Name: "requests_sent", Help: "ARP requests sent", Severity: graph.SevInfo},
			GleanErrTimeout:         {Name: "resolution_timeout", Help: "packet dropped: ARP got no answer in time", Severity: graph.SevWarn},
			GleanErrNoBuffer:        {Name: "no_buffer", Help: "no buffer for an ARP request"},
			GleanErrNotGlean:        {Name: "not_glean", Help: "adjacency is no longer glean or incomplete"},
			GleanErrQueued:          {Name: "queued", Help: "packets held while ARP resolves", Severity: graph.SevInfo},
			GleanErrBroadcast:       {Name: "subnet_broadcast", Help: "destination is a connected subnet's broadcast or network address: not resolved"},
			GleanErrReleasedByTimer: {Name: "released_resolved_elsewhere", Help: "held packets released after another worker learned their next hop", Severity: graph.SevInfo},
			GleanErrProbesSent:      {Name: "probes_sent", Help: "unicast ARP requests re-confirming aged neighbours", Severity: graph.SevInfo},
			GleanErrThrottled:       {Name: "requests_throttled", Help: "ARP request for a target not held skipped: one went out less than RetryNs ago", Severity: graph.SevInfo},
		},
		Init: func(n *graph.Node) error {
			codes := holdCodes{timeout: GleanErrTimeout, released: GleanErrReleasedByTimer, lookup: gleanNextLookup}
			n.State = &gleanState{q: holdQueue[[4]byte]{cfg: cfg, codes: codes, gen: nt.Gen()}, nt: nt}
			return nil
		},
		// Tick expires held packets even when no new packet for an
		// unresolved next hop arrives to run the node, releases those
		// another worker resolved, and ages the neighbour table.
		Tick:  func(n *graph.Node) { gleanTick(n, ifs.Load(), table.Load()) },
		Close: func(n *graph.Node) { n.State.(*gleanState).q.freeAll(n) },
		Func:  func(n *graph.Node, v *pkt.Vector) int { return glean(n, v, ifs.Load(), table.Load()) },
	}
}

// glean is ip4-glean's node function over one interface and FIB snapshot
// (named, not a closure, so that its calls inline; see ip4's input).
func glean(n *graph.Node, v *pkt.Vector, set *iface.Set, view *fib.View) int {
	st := n.State.(*gleanState)
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
	if adj.Kind == fib.AdjGlean && subnetBroadcast(out, target) {
		return GleanErrBroadcast, false
	}
	src, ok := sourceFor(out, target)
	if !ok {
		return GleanErrNoSource, false
	}
	switch st.q.hold(adj.Port, target, i, now) {
	case heldAsk:
		st.ask(n, out, src, target, now)
	case dropFull:
		return GleanErrQueueFull, false
	case dropTargets:
		// Not held, but still asked for (throttled): see GleanConfig.
		st.askUnheld(n, out, src, adj.Port, target, now)
		return GleanErrQueueFull, false
	}
	n.Count(GleanErrQueued, 1)
	return 0, true
}

// askUnheld asks for a target whose packet could not be held: at most
// once per target per RetryNs, and at most MaxTargets such requests per
// RetryNs window on this worker.
func (st *gleanState) askUnheld(n *graph.Node, out *iface.Interface, src [4]byte, port uint16, target [4]byte, now int64) {
	room := st.q.unheldRoom(now)
	k := key{port, target}
	th := &st.thr[solSlot(k)&(throttleSlots-1)]
	if th.k == k && now-th.last < st.q.cfg.RetryNs || !room {
		n.Count(GleanErrThrottled, 1)
		return
	}
	th.k, th.last = k, now
	st.q.unheldSent++
	st.ask(n, out, src, target, now)
}

// ask broadcasts a request for target and records it in the table, so the
// reply may create the entry on any worker.
func (st *gleanState) ask(n *graph.Node, out *iface.Interface, src, target [4]byte, now int64) {
	st.nt.Solicit(out.Index, target, now)
	if st.request(n, out, src, target, wire.BroadcastMAC) {
		n.Count(GleanErrRequestsSent, 1)
	}
}

// gleanTick is ip4-glean's timer: expiry, releases of what other workers
// resolved, and the neighbour table's ageing with its probes.
func gleanTick(n *graph.Node, set *iface.Set, view *fib.View) {
	st := n.State.(*gleanState)
	now := n.Graph().Now()
	st.refresh(n, view, now)
	st.probes = st.nt.Age(now, st.probes[:0])
	for _, p := range st.probes {
		out := set.Get(p.Port)
		if out == nil {
			continue
		}
		src, ok := sourceFor(out, p.IP)
		if !ok {
			continue
		}
		if st.request(n, out, src, p.IP, p.MAC) {
			n.Count(GleanErrProbesSent, 1)
		}
	}
}

// refresh drops what waited too long and, when the neighbour table
// changed, releases to ip4-lookup what the FIB now resolves.
func (st *gleanState) refresh(n *graph.Node, view *fib.View, now int64) {
	st.q.refresh(n, now, st.nt.Gen(), func(port uint16, ip [4]byte) bool {
		adj := view.Adj(view.Lookup(ip, 0))
		return adj.Kind == fib.AdjRewrite && adj.Port == port
	})
}

// request builds and sends one ARP request for target out of out, to dst
// (broadcast, or the neighbour's MAC for a probe). It reports whether a
// buffer was available.
func (st *gleanState) request(n *graph.Node, out *iface.Interface, src, target [4]byte, dst wire.MAC) bool {
	c := n.Cache()
	b, ok := c.Alloc()
	if !ok {
		n.Count(GleanErrNoBuffer, 1)
		return false
	}
	a := n.Arena()
	d, _ := a.SetData(b, pkt.Headroom, wire.EthernetLen+wire.ARPLen)
	eth := wire.Ethernet(d)
	eth.SetDst(dst)
	eth.SetSrc(out.MAC)
	eth.SetType(wire.EtherTypeARP)
	wire.ARP(d[wire.EthernetLen:]).Encode(&wire.ARPFields{Op: wire.ARPRequest, SenderMAC: out.MAC, SenderIP: src, TargetIP: target})
	m := a.Meta(b)
	m.TxPort = out.Index
	m.RxPort = out.Index
	m.L3 = wire.EthernetLen
	m.Flags |= pkt.FlagLocal
	pushTags(a, b, out) // into pkt.Headroom: always room
	n.EnqueueOne(b, gleanNextOutput)
	return true
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
