package graph

import (
	"fmt"
	"slices"
	"time"

	"github.com/vecnet/vecnet/internal/tsc"
	"github.com/vecnet/vecnet/pkt"
)

// DropNodeName is the node every Registration reaches by edge 0.
const DropNodeName = "error-drop"

// Graph is one worker's instance of the node graph. It is not safe for
// concurrent use: only its worker touches it.
type Graph struct {
	nodes  []*Node
	byName map[string]*Node
	inputs []*Node

	cache *pkt.Cache
	arena *pkt.Arena

	pending   []*Node       // nodes with frames waiting, in the order they got them
	frames    []*pkt.Vector // recycled frames
	current   *pkt.Vector   // the frame being dispatched, until moved on
	inFrame   *pkt.Vector   // the empty frame the input nodes fill, kept across passes
	errNames  []errName     // by error id; id 0 is "none"
	errCounts []uint64      // by error id
	arcs      []*arcRuntime
	tickers   []*Node // nodes with a Tick, in registration order
	nextTick  int64   // when Poll runs the tickers next
	trace     traceState
	tap       *Tap // runtime capture (SetTap), nil when off
	now       int64
	clock     func() int64 // nil: monotonic, called directly
}

type errName struct {
	node *Node
	err  Error
}

// Build instantiates regs (plus the built-in error-drop) for one worker that
// allocates and frees through cache. Next names resolve to edges here: an
// unknown name or a duplicate node is an error. Arcs declare feature arcs.
func Build(cache *pkt.Cache, regs []Registration, arcs ...Arc) (*Graph, error) {
	g := &Graph{byName: map[string]*Node{}, cache: cache, arena: cache.Arena()}
	all := append([]Registration{dropRegistration()}, regs...)
	g.errNames = []errName{{}} // id 0 = none
	for i := range all {
		r := &all[i]
		if r.Name == "" || r.Func == nil {
			return nil, fmt.Errorf("graph: registration %d (%q) needs a name and a Func", i, r.Name)
		}
		if _, dup := g.byName[r.Name]; dup {
			return nil, fmt.Errorf("graph: node %q registered twice", r.Name)
		}
		n := &Node{g: g, Index: len(g.nodes), Name: r.Name, reg: r, errBase: uint16(len(g.errNames))}
		for _, e := range r.Errors {
			g.errNames = append(g.errNames, errName{node: n, err: e})
		}
		if len(g.errNames) > 1<<16 {
			return nil, fmt.Errorf("graph: more than 65536 error counters")
		}
		g.nodes = append(g.nodes, n)
		g.byName[r.Name] = n
		if r.Kind == Input {
			g.inputs = append(g.inputs, n)
		}
		if r.Tick != nil {
			g.tickers = append(g.tickers, n)
		}
	}
	g.errCounts = make([]uint64, len(g.errNames))
	for _, n := range g.nodes {
		names := append([]string{DropNodeName}, n.reg.Next...)
		for _, name := range names {
			if _, err := n.addEdge(name); err != nil {
				return nil, err
			}
		}
	}
	for _, a := range arcs {
		if err := g.addArc(a); err != nil {
			return nil, err
		}
	}
	for _, n := range g.nodes {
		if n.reg.Init != nil {
			if err := n.reg.Init(n); err != nil {
				return nil, fmt.Errorf("graph: init %s: %w", n.Name, err)
			}
		}
	}
	tsc.TicksPerNanosecond()
	g.now = monotonic()
	return g, nil
}

// Node returns the node named name, or nil.
func (g *Graph) Node(name string) *Node { return g.byName[name] }

// Nodes returns every node in registration order (error-drop first).
func (g *Graph) Nodes() []*Node { return g.nodes }

// Cache returns the worker's buffer cache.
func (g *Graph) Cache() *pkt.Cache { return g.cache }

// Arena returns the packet arena.
func (g *Graph) Arena() *pkt.Arena { return g.arena }

// Poll runs the nodes' timers when due (Registration.Tick), every input
// node once, and then dispatches until no frame is pending. It returns how
// many packets the input nodes produced. It reads the graph's clock once;
// a loop that reads the clock itself calls PollAt instead.
func (g *Graph) Poll() int { return g.PollAt(g.Clock()) }

// Clock reads the graph's clock (the monotonic clock, or SetClock's): the
// value a worker hands to PollAt, so that one read per pass serves the
// graph's timers and the worker's own bookkeeping.
func (g *Graph) Clock() int64 {
	if g.clock == nil {
		return monotonic()
	}
	return g.clock()
}

// PollAt is Poll with the pass's time already read (from Clock): Now
// returns now until the next pass.
func (g *Graph) PollAt(now int64) int {
	g.now = now
	if len(g.tickers) > 0 && now >= g.nextTick {
		g.nextTick = now + TickInterval
		for _, n := range g.tickers {
			n.reg.Tick(n)
		}
	}
	got := 0
	// A frame an input left empty serves the next input, and the next pass.
	for _, n := range g.inputs {
		v := g.inFrame
		if v == nil {
			v = g.newFrame()
			g.inFrame = v
		}
		g.current = v
		got += n.call(v)
		if g.current == nil {
			g.inFrame = nil // enqueued: the frame moved on
			continue
		}
		if v.Len != 0 {
			panic("graph: input node " + n.Name + " kept packets it did not enqueue")
		}
		v.Traced = false
		g.current = nil
	}
	if len(g.pending) != 0 {
		g.Dispatch()
	}
	return got
}

// Inject hands v's packets to the node named name as if a node had enqueued
// them; Dispatch then runs them. It is for drivers outside the input nodes,
// for tests and for the control plane running on the worker.
func (g *Graph) Inject(name string, v *pkt.Vector) error {
	n := g.byName[name]
	if n == nil {
		return fmt.Errorf("graph: no node %q", name)
	}
	if v.Len == 0 {
		return nil // nodes never see an empty frame
	}
	f := g.newFrame()
	f.Len = copy(f.Idx[:], v.Idx[:v.Len])
	f.Traced = v.Traced
	v.Reset()
	n.pushFrame(f)
	return nil
}

// Dispatch runs pending frames, input to output, until none remain.
func (g *Graph) Dispatch() {
	for k := 0; k < len(g.pending); k++ {
		n := g.pending[k]
		n.onPending = false
		for n.head < len(n.frames) {
			f := n.frames[n.head]
			n.frames[n.head] = nil
			n.head++
			if n.head == len(n.frames) {
				n.frames, n.head = n.frames[:0], 0
			}
			g.current = f
			n.call(f)
			if g.current != nil {
				if g.current.Len != 0 {
					panic("graph: node " + n.Name + " kept packets it did not enqueue or free")
				}
				g.freeFrame(g.current)
				g.current = nil
			}
		}
	}
	clear(g.pending)
	g.pending = g.pending[:0]
}

var epoch = time.Now()

func monotonic() int64 { return int64(time.Since(epoch)) }

// Monotonic is the clock graphs read (Graph.Now) by default, for the
// control plane's updates of tables the workers age on graph time.
func Monotonic() int64 { return monotonic() }

func (g *Graph) newFrame() *pkt.Vector {
	if k := len(g.frames); k > 0 {
		f := g.frames[k-1]
		g.frames = g.frames[:k-1]
		return f
	}
	return new(pkt.Vector)
}

func (g *Graph) freeFrame(f *pkt.Vector) {
	f.Reset()
	g.frames = append(g.frames, f)
}

// Close runs every node's Close hook and frees packets still pending in
// frames, so that every buffer returns to the cache.
func (g *Graph) Close() {
	for _, n := range g.nodes {
		if n.reg.Close != nil {
			n.reg.Close(n)
		}
		for _, f := range n.frames[n.head:] {
			g.cache.FreeN(f.Idx[:f.Len])
			g.freeFrame(f)
		}
		n.frames, n.head, n.onPending = n.frames[:0], 0, false
	}
	g.pending = g.pending[:0]
}

// Now returns the monotonic time in nanoseconds, read once per Poll; nodes
// use it for timers and rate limits without reading the clock per packet.
func (g *Graph) Now() int64 { return g.now }

// SetClock replaces the clock Poll reads (for tests).
func (g *Graph) SetClock(f func() int64) { g.clock = f; g.now = f() }

// Pending reports whether any frame waits for dispatch.
func (g *Graph) Pending() bool { return len(g.pending) > 0 }

// nodeNames lists node names sorted, for error messages.
func (g *Graph) nodeNames() []string {
	var s []string
	for name := range g.byName {
		s = append(s, name)
	}
	slices.Sort(s)
	return s
}
