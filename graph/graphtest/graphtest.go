// Package graphtest runs one graph node on hand-built packets, for unit
// tests. It builds a graph holding the node's real Registration (plus any
// other real nodes a test names) and a stub node for every next name no
// real node provides. A stub records what reaches it (bytes, Meta) and
// frees it. Run injects packets into the node, dispatches, and reports per
// packet where it went — a stub by name, error-drop with the (node, error)
// counter, or kept by a node (a glean queue) — plus the error counter
// deltas and, optionally, the trace records.
//
// Packets are tagged through Meta.Seq (the trace number a traced packet
// carries anyway), so a packet is recognised even when a buffer is reused
// or released by a later Run. Buffers come from pkttest.NewPool: a buffer
// still in flight when the test ends fails it.
//
// A Harness belongs to one test goroutine; it is not safe for concurrent
// use. It is for tests only.
package graphtest

import (
	"testing"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
)

// Options configure a Harness. The zero value is usable.
type Options struct {
	// Also are further real nodes to build next to the node under test (for
	// example ip4-glean next to arp-input). Packets can be sent to them
	// with RunNode.
	Also []graph.Registration
	// Arcs are feature arcs to declare; nodes they name that no
	// registration provides become stubs.
	Arcs []graph.Arc
	// Slots is the number of packet buffers; default 1024.
	Slots int
	// Trace marks every injected packet traced; Result.Trace then holds the
	// records the graph made for them.
	Trace bool
}

// Packet is a packet to inject: its bytes and its metadata as the previous
// node would have left them (RxPort, L3, L4, Adj, ICMP, MTU, Flags...). Meta.Len
// is taken from Data and Meta.Seq is the harness's tag. Meta.Off, when not
// zero, places Data at that offset of the slot (to test headroom);
// otherwise Data starts at pkt.Headroom.
type Packet struct {
	Data []byte
	Meta pkt.Meta
}

// Harness is a graph built around one node under test. See the package doc.
type Harness struct {
	t     testing.TB
	name  string
	g     *graph.Graph
	pool  *pkt.Pool
	cache *pkt.Cache
	a     *pkt.Arena
	regs  []graph.Registration
	trace bool

	now   int64
	clock func() int64

	seq      uint64     // last tag handed out
	base     uint64     // first tag of the current Run
	count    int        // packets in the current Run
	record   bool       // stubs and wrappers record (false in Send)
	captures []Capture  // what stubs saw during the current Run
	drops    []uint16   // per packet of the current Run: Meta.Error after the last real node saw it
	vec      pkt.Vector // injection scratch
}

// New builds the graph around reg (the node under test) and opts.Also, with
// a stub for every other node named by their Next lists or opts.Arcs. The
// graph's clock is manual and starts at 0 (see SetNow). Everything is
// closed and audited when t ends.
func New(t testing.TB, reg graph.Registration, opts Options) *Harness {
	t.Helper()
	if opts.Slots <= 0 {
		opts.Slots = 1024
	}
	h := &Harness{t: t, name: reg.Name, trace: opts.Trace}
	h.pool = pkttest.NewPool(t, opts.Slots)
	h.cache = h.pool.NewCache()
	h.a = h.pool.Arena()
	real := append([]graph.Registration{reg}, opts.Also...)
	have := map[string]bool{graph.DropNodeName: true}
	for _, r := range real {
		have[r.Name] = true
	}
	var regs []graph.Registration
	for _, r := range real {
		regs = append(regs, h.wrap(r))
	}
	addStub := func(name string) {
		if name != "" && !have[name] {
			have[name] = true
			regs = append(regs, h.stub(name))
		}
	}
	for _, r := range real {
		for _, name := range r.Next {
			addStub(name)
		}
	}
	for _, arc := range opts.Arcs {
		addStub(arc.Start)
		for _, name := range arc.AlsoStart {
			addStub(name)
		}
		addStub(arc.End)
		for _, f := range arc.Features {
			addStub(f.Node)
		}
	}
	h.regs = regs
	g, err := graph.Build(h.cache, regs, opts.Arcs...)
	if err != nil {
		t.Fatal(err)
	}
	h.g = g
	h.clock = func() int64 { return h.now }
	g.SetClock(h.clock)
	t.Cleanup(func() {
		h.cache.FreeN(h.vec.Slice()) // left by a Fatal during inject
		h.vec.Reset()
		g.Close()
		h.cache.Flush()
	})
	return h
}

// Graph returns the graph, for what the harness does not wrap (features,
// runtime statistics, FormatTrace).
func (h *Harness) Graph() *graph.Graph { return h.g }

// Node returns the node under test.
func (h *Harness) Node() *graph.Node { return h.g.Node(h.name) }

// Now returns the graph's clock in nanoseconds.
func (h *Harness) Now() int64 { return h.now }

// SetNow sets the graph's clock (what nodes read with Graph.Now).
func (h *Harness) SetNow(ns int64) {
	h.now = ns
	h.g.SetClock(h.clock)
}

// Advance moves the graph's clock forward by ns nanoseconds.
func (h *Harness) Advance(ns int64) { h.SetNow(h.now + ns) }

// Run injects pkts, in order, into the node under test, dispatches until
// nothing is pending and reports what happened.
func (h *Harness) Run(pkts ...Packet) *Result { return h.RunNode(h.name, pkts...) }

// RunNode is Run into the real node named node.
func (h *Harness) RunNode(node string, pkts ...Packet) *Result {
	h.t.Helper()
	return h.runWith(func() {
		h.inject(node, pkts)
		h.g.Dispatch()
	}, pkts...)
}

// runWith records what run does to pkts (already injected by run).
func (h *Harness) runWith(run func(), pkts ...Packet) *Result {
	before := h.counters()
	h.base, h.count, h.record = h.seq+1, len(pkts), true
	h.captures = h.captures[:0]
	h.drops = append(h.drops[:0], make([]uint16, len(pkts))...)
	run()
	h.record = false

	r := &Result{Out: make([]Outcome, len(pkts)), Counters: map[string]uint64{}}
	for k := range r.Out {
		r.Out[k].ID = h.base + uint64(k)
		if e := h.drops[k]; e != 0 {
			r.Out[k].Drop = h.errLabel(e)
		}
	}
	for _, c := range h.captures {
		if k := c.ID - h.base; c.ID >= h.base && k < uint64(len(pkts)) && r.Out[k].Next == "" {
			o := &r.Out[k]
			o.Next, o.Data, o.Meta, o.Drop = c.Node, c.Data, c.Meta, ""
			continue
		}
		r.Extra = append(r.Extra, c)
	}
	for key, n := range h.counters() {
		if d := n - before[key]; d != 0 {
			r.Counters[key] = d
		}
	}
	if h.trace {
		r.Trace = append(r.Trace, h.g.TraceRecords()...)
		h.g.TraceClear()
	}
	return r
}

// RunPoll runs one graph Poll (the nodes' timers, when due, and what they
// enqueue) and reports it like Run: what the timers sent is in
// Result.Extra, the counter deltas in Result.Counters.
func (h *Harness) RunPoll() *Result {
	h.t.Helper()
	return h.runWith(func() { h.g.Poll() })
}

// Send injects pkts into node and dispatches without recording anything:
// stubs free what reaches them. It does not allocate once the graph is
// warm, so it is what a testing.AllocsPerRun check of a node calls.
func (h *Harness) Send(node string, pkts ...Packet) {
	h.inject(node, pkts)
	h.g.Dispatch()
}

// inject builds pkts in fresh buffers and hands them to node.
func (h *Harness) inject(node string, pkts []Packet) {
	v := &h.vec
	for _, p := range pkts {
		i, ok := h.cache.Alloc()
		if !ok {
			h.t.Fatal("graphtest: pool exhausted")
		}
		off := int(p.Meta.Off)
		if off == 0 {
			off = pkt.Headroom
		}
		m := h.a.Meta(i)
		*m = p.Meta
		d, ok := h.a.SetData(i, off, len(p.Data))
		if !ok {
			h.t.Fatalf("graphtest: %d bytes at offset %d do not fit a slot", len(p.Data), off)
		}
		copy(d, p.Data)
		h.seq++
		m.Seq = h.seq
		if h.trace {
			m.Flags |= pkt.FlagTraced
			v.Traced = true
		}
		v.Append(i)
		if v.Full() {
			h.push(node, v)
		}
	}
	h.push(node, v)
}

func (h *Harness) push(node string, v *pkt.Vector) {
	if v.Len == 0 {
		return
	}
	if err := h.g.Inject(node, v); err != nil {
		h.t.Fatal(err)
	}
}
