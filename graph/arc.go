package graph

import (
	"fmt"

	"github.com/vecnet/vecnet/pkt"
)

// Arc declares a feature arc: an ordered set of optional feature nodes that
// packets pass between Start and End, enabled per interface (VPP's vnet
// feature arcs). Start calls Node.ArcStart to pick the first enabled feature
// for the packet's receive interface (or End when none is enabled); each
// feature calls Node.ArcNext to move on. The forwarding nodes never change
// when a feature is added.
type Arc struct {
	Name  string // e.g. "ip4-unicast"
	Start string // node that enters the arc, e.g. "ip4-input"
	// AlsoStart are further nodes that may enter the arc (ArcStart), e.g.
	// ip4-frag for the fragments it makes on the ip4-output arc.
	AlsoStart []string
	End       string    // node after the last feature, e.g. "ip4-lookup"
	Features  []Feature // in any order; RunsBefore/RunsAfter order them
	// ByTxPort enables features per transmit interface (Meta.TxPort, set
	// before Start hands the packet to the arc), as an output arc needs;
	// otherwise they are enabled per receive interface (Meta.RxPort).
	ByTxPort bool
}

// Feature is one node on an arc.
type Feature struct {
	Node       string
	RunsBefore []string // features this one must precede
	RunsAfter  []string // features this one must follow
}

type arcRuntime struct {
	name     string
	byTx     bool      // enabled is indexed by Meta.TxPort, not RxPort
	features []*Node   // ordered
	enabled  [][]uint8 // per rx interface: positions in features, ascending
	active   int       // interfaces with at least one feature enabled
}

// ArcID returns the id of the arc named name, for ArcStart and ArcNext.
func (g *Graph) ArcID(name string) (int, error) {
	for id, a := range g.arcs {
		if a.name == name {
			return id, nil
		}
	}
	return 0, fmt.Errorf("graph: no feature arc %q", name)
}

func (g *Graph) addArc(a Arc) error {
	start, end := g.byName[a.Start], g.byName[a.End]
	if start == nil || end == nil {
		return fmt.Errorf("graph: arc %q: start %q or end %q is not a node", a.Name, a.Start, a.End)
	}
	starts := []*Node{start}
	for _, name := range a.AlsoStart {
		n := g.byName[name]
		if n == nil {
			return fmt.Errorf("graph: arc %q: start %q is not a node", a.Name, name)
		}
		starts = append(starts, n)
	}
	order, err := orderFeatures(a)
	if err != nil {
		return err
	}
	rt := &arcRuntime{name: a.Name, byTx: a.ByTxPort}
	for _, name := range order {
		n := g.byName[name]
		if n == nil {
			return fmt.Errorf("graph: arc %q: feature %q is not a node", a.Name, name)
		}
		rt.features = append(rt.features, n)
	}
	id := len(g.arcs)
	g.arcs = append(g.arcs, rt)
	// The starts and every feature get an edge to every feature and to End.
	for _, from := range append(starts, rt.features...) {
		edges := make([]uint16, len(rt.features)+1)
		for pos, f := range rt.features {
			e, err := from.addEdge(f.Name)
			if err != nil {
				return err
			}
			edges[pos] = e
		}
		e, err := from.addEdge(end.Name)
		if err != nil {
			return err
		}
		edges[len(rt.features)] = e
		for len(from.arcEdges) <= id {
			from.arcEdges = append(from.arcEdges, nil)
		}
		from.arcEdges[id] = edges
	}
	return nil
}

// orderFeatures sorts a's features so every RunsBefore/RunsAfter holds,
// keeping the declared order where the constraints leave a choice.
func orderFeatures(a Arc) ([]string, error) {
	idx := map[string]int{}
	for i, f := range a.Features {
		if _, dup := idx[f.Node]; dup {
			return nil, fmt.Errorf("graph: arc %q lists feature %q twice", a.Name, f.Node)
		}
		idx[f.Node] = i
	}
	before := make([][]int, len(a.Features)) // before[i]: features that must come after i
	indeg := make([]int, len(a.Features))
	link := func(x, y string) {
		i, ok1 := idx[x]
		j, ok2 := idx[y]
		if ok1 && ok2 {
			before[i] = append(before[i], j)
			indeg[j]++
		}
	}
	for _, f := range a.Features {
		for _, b := range f.RunsBefore {
			link(f.Node, b)
		}
		for _, b := range f.RunsAfter {
			link(b, f.Node)
		}
	}
	var out []string
	done := make([]bool, len(a.Features))
	for len(out) < len(a.Features) {
		picked := -1
		for i := range a.Features {
			if !done[i] && indeg[i] == 0 {
				picked = i
				break
			}
		}
		if picked < 0 {
			return nil, fmt.Errorf("graph: arc %q: features' runs-before/after constraints form a cycle", a.Name)
		}
		done[picked] = true
		out = append(out, a.Features[picked].Node)
		for _, j := range before[picked] {
			indeg[j]--
		}
	}
	return out, nil
}

// EnableFeature turns feature node on or off on arc for packets received on
// port (sent on port, for an arc ByTxPort). Call it on the worker that owns the graph.
func (g *Graph) EnableFeature(arc, node string, port uint16, on bool) error {
	id, err := g.ArcID(arc)
	if err != nil {
		return err
	}
	rt := g.arcs[id]
	pos := -1
	for p, f := range rt.features {
		if f.Name == node {
			pos = p
		}
	}
	if pos < 0 {
		return fmt.Errorf("graph: %q is not a feature of arc %q", node, arc)
	}
	for len(rt.enabled) <= int(port) {
		rt.enabled = append(rt.enabled, nil)
	}
	var list []uint8
	for p := range rt.features {
		has := false
		for _, q := range rt.enabled[port] {
			has = has || int(q) == p
		}
		if p == pos {
			has = on
		}
		if has {
			list = append(list, uint8(p))
		}
	}
	rt.enabled[port] = list
	rt.active = 0
	for _, l := range rt.enabled {
		if len(l) > 0 {
			rt.active++
		}
	}
	return nil
}

// ArcActive reports whether any interface has a feature enabled on arc: a
// Start node may ask it once per vector and skip ArcStart for every packet
// while it is false.
func (n *Node) ArcActive(arc int) bool { return n.g.arcs[arc].active > 0 }

// ArcStart returns the edge to the first feature enabled on m.RxPort (on
// m.TxPort, for an arc ByTxPort) for arc, or to the arc's end, and records
// the position in m.Arc. Only the arc's Start (or AlsoStart) nodes may
// call it.
func (n *Node) ArcStart(arc int, m *pkt.Meta) uint16 {
	edges := n.arcEdges[arc]
	rt := n.g.arcs[arc]
	port := m.RxPort
	if rt.byTx {
		port = m.TxPort
	}
	en := rt.enabled
	if int(port) >= len(en) || len(en[port]) == 0 {
		return edges[len(edges)-1]
	}
	m.Arc = 0
	return edges[en[port][0]]
}

// ArcNext returns the edge to the next enabled feature after the current
// one (m.Arc), or to the arc's end. Only a feature of the arc may call it.
func (n *Node) ArcNext(arc int, m *pkt.Meta) uint16 {
	edges := n.arcEdges[arc]
	rt := n.g.arcs[arc]
	port := m.RxPort
	if rt.byTx {
		port = m.TxPort
	}
	list := rt.enabled[port]
	k := int(m.Arc) + 1
	if k >= len(list) {
		return edges[len(edges)-1]
	}
	m.Arc = uint16(k)
	return edges[list[k]]
}
