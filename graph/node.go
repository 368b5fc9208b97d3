package graph

import (
	"fmt"
	"strings"

	"github.com/vecnet/vecnet/internal/tsc"
	"github.com/vecnet/vecnet/pkt"
)

// Node is one node's runtime in one worker's graph. Its node function gets it
// as the first argument. Not safe for concurrent use.
type Node struct {
	g       *Graph
	Index   int    // position in Graph.Nodes
	Name    string // registration name
	reg     *Registration
	edges   []*Node // edge index -> next node
	errBase uint16  // error id of this node's code 0

	// Nexts is scratch for the node function: one edge per packet of the
	// vector being processed, passed to Enqueue.
	Nexts [pkt.VectorSize]uint16
	// State is the node's private per-worker state, set by Registration.Init.
	State any

	frames    []*pkt.Vector // pending input frames (FIFO from head)
	head      int
	onPending bool

	stats    Stats
	arcEdges [][]uint16 // per arc id: feature position -> edge; last = arc end
}

// Stats are a node's per-worker runtime counters (VPP's "show runtime").
type Stats struct {
	Calls                   uint64 // node function calls that processed at least one packet
	Vectors                 uint64 // packets processed
	Clocks                  uint64 // TSC ticks spent in those calls
	MaxClocks, VectorsAtMax uint64
}

// Add accumulates o into s (summing over workers).
func (s *Stats) Add(o Stats) {
	s.Calls += o.Calls
	s.Vectors += o.Vectors
	s.Clocks += o.Clocks
	if o.MaxClocks > s.MaxClocks {
		s.MaxClocks, s.VectorsAtMax = o.MaxClocks, o.VectorsAtMax
	}
}

// Graph returns the graph the node belongs to.
func (n *Node) Graph() *Graph { return n.g }

// Arena returns the packet arena.
func (n *Node) Arena() *pkt.Arena { return n.g.arena }

// Cache returns the worker's buffer cache.
func (n *Node) Cache() *pkt.Cache { return n.g.cache }

// Stats returns the node's counters.
func (n *Node) Stats() Stats { return n.stats }

// ResetStats zeroes the node's counters.
func (n *Node) ResetStats() { n.stats = Stats{} }

// Err returns the error id of the node's error code code, for Meta.Error.
func (n *Node) Err(code int) uint16 { return n.errBase + uint16(code) }

// Count adds k to the node's error counter code without dropping anything
// (for SevInfo counters such as "replies sent").
func (n *Node) Count(code int, k uint64) { n.g.errCounts[n.errBase+uint16(code)] += k }

// ErrorCount returns the counter of the node's error code code.
func (n *Node) ErrorCount(code int) uint64 { return n.g.errCounts[n.errBase+uint16(code)] }

// Edge returns the edge index that leads to the node named name, adding the
// edge if the node exists but is not yet a next of n (as VPP's
// vlib_node_add_next). It is for start-up code (Init), not the hot path.
func (n *Node) Edge(name string) (uint16, error) { return n.addEdge(name) }

// NextNode returns the node at edge e.
func (n *Node) NextNode(e uint16) *Node { return n.edges[e] }

func (n *Node) addEdge(name string) (uint16, error) {
	t := n.g.byName[name]
	if t == nil {
		return 0, fmt.Errorf("graph: node %q names next node %q, which does not exist (nodes: %s)",
			n.Name, name, strings.Join(n.g.nodeNames(), ", "))
	}
	for e, x := range n.edges {
		if x == t {
			return uint16(e), nil
		}
	}
	if len(n.edges) >= 1<<16 {
		return 0, fmt.Errorf("graph: node %q has too many edges", n.Name)
	}
	n.edges = append(n.edges, t)
	return uint16(len(n.edges) - 1), nil
}

func (n *Node) call(v *pkt.Vector) int {
	t0 := tsc.Now()
	k := n.reg.Func(n, v)
	if k == 0 {
		return 0
	}
	dt := tsc.Now() - t0
	s := &n.stats
	s.Calls++
	s.Vectors += uint64(k)
	s.Clocks += dt
	if dt > s.MaxClocks {
		s.MaxClocks, s.VectorsAtMax = dt, uint64(k)
	}
	return k
}

// pushFrame queues f for n.
func (n *Node) pushFrame(f *pkt.Vector) {
	n.frames = append(n.frames, f)
	if !n.onPending {
		n.onPending = true
		n.g.pending = append(n.g.pending, n)
	}
}

// tail returns n's last pending frame with room, or a new one.
func (n *Node) tail() *pkt.Vector {
	if k := len(n.frames); k > n.head {
		if f := n.frames[k-1]; !f.Full() {
			return f
		}
	}
	f := n.g.newFrame()
	n.pushFrame(f)
	return f
}

// EnqueueAll hands every packet of v to edge e. When v is the frame being
// dispatched (or the input node's vector) and the next node has no partly
// filled frame, v itself moves: no index is copied, and v then belongs to
// the next node. Either way the caller must not use v afterwards.
func (n *Node) EnqueueAll(v *pkt.Vector, e uint16) {
	if v.Len == 0 {
		return
	}
	if v.Traced {
		n.traceEnqueueAll(v, e)
	}
	t := n.edges[e]
	if v == n.g.current {
		if k := len(t.frames); k == t.head || t.frames[k-1].Free() < v.Len {
			n.g.current = nil
			t.pushFrame(v)
			return
		}
	}
	t.appendIdx(v.Idx[:v.Len], v.Traced)
	v.Reset()
}

// Enqueue hands packet k of v to edge nexts[k], for every k < v.Len. Runs of
// equal nexts are copied together; when all are equal the vector moves whole
// (EnqueueAll). The caller must not use v afterwards.
func (n *Node) Enqueue(v *pkt.Vector, nexts []uint16) {
	cnt := v.Len
	if cnt == 0 {
		return
	}
	nexts = nexts[:cnt]
	if allEqual(nexts) {
		n.EnqueueAll(v, nexts[0])
		return
	}
	if v.Traced {
		n.traceEnqueue(v, nexts)
	}
	idx := v.Idx[:cnt]
	for start := 0; start < cnt; {
		e := nexts[start]
		end := start + 1
		for end < cnt && nexts[end] == e {
			end++
		}
		n.edges[e].appendIdx(idx[start:end], v.Traced)
		start = end
	}
	v.Reset()
}

// allEqual reports whether every element of s (not empty) equals s[0]. It
// tests four at a time: this scan runs once per node call over the whole
// vector.
func allEqual(s []uint16) bool {
	e := s[0]
	for len(s) >= 4 {
		if (s[0]^e)|(s[1]^e)|(s[2]^e)|(s[3]^e) != 0 {
			return false
		}
		s = s[4:]
	}
	for _, x := range s {
		if x != e {
			return false
		}
	}
	return true
}

// EnqueueOne hands a single packet to edge e (for nodes that split a packet
// off a vector, such as glean). Prefer Enqueue for whole vectors.
func (n *Node) EnqueueOne(i pkt.Index, e uint16) {
	t := n.edges[e]
	f := t.tail()
	f.Idx[f.Len] = i
	f.Len++
	if n.g.arena.Meta(i).Flags&pkt.FlagTraced != 0 {
		f.Traced = true
		n.traceOne(i, e)
	}
}

// appendIdx copies idx into n's frames, opening new frames as they fill.
func (n *Node) appendIdx(idx []pkt.Index, traced bool) {
	for len(idx) > 0 {
		f := n.tail()
		k := copy(f.Idx[f.Len:], idx)
		f.Len += k
		f.Traced = f.Traced || traced
		idx = idx[k:]
	}
}

// Drop sends packet k of the vector being processed to error-drop with the
// node's error code: it sets Meta.Error and Nexts[k].
func (n *Node) Drop(m *pkt.Meta, k int, code int) {
	m.Error = n.errBase + uint16(code)
	n.Nexts[k] = NextDrop
}

// Free frees every packet in v and empties it, counting them under the
// node's error code code (for nodes that consume packets themselves).
func (n *Node) Free(v *pkt.Vector, code int) {
	if v.Traced {
		n.traceFree(v, code)
	}
	n.g.errCounts[n.errBase+uint16(code)] += uint64(v.Len)
	if t := n.g.tap; t != nil {
		t.Record(n.g.arena, v.Idx[:v.Len], TapDrop, n.errBase+uint16(code))
	}
	n.g.cache.FreeN(v.Idx[:v.Len])
	v.Reset()
}
