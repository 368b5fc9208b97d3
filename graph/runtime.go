package graph

// NodeStats is one row of "show runtime".
type NodeStats struct {
	Name  string
	Kind  Kind
	Stats Stats
}

// Runtime returns every node's counters, in registration order.
func (g *Graph) Runtime() []NodeStats {
	out := make([]NodeStats, 0, len(g.nodes))
	for _, n := range g.nodes {
		out = append(out, NodeStats{Name: n.Name, Kind: n.reg.Kind, Stats: n.stats})
	}
	return out
}

// ClearRuntime zeroes every node's counters.
func (g *Graph) ClearRuntime() {
	for _, n := range g.nodes {
		n.stats = Stats{}
	}
}
