package graph

// NodeInfo describes one node of a graph for drawing it: its name, its kind
// and the names of the nodes its edges lead to.
type NodeInfo struct {
	Name string
	Kind Kind
	// Next names the node at each edge, by edge index: Next[0] is always
	// DropNodeName. Edges added by Node.Edge and by feature arcs are
	// included.
	Next []string
}

// Topology returns every node with its edges, in registration order
// (error-drop first). It allocates; call it on the worker that owns g, as
// with Runtime, since Node.Edge may add an edge at run time.
func (g *Graph) Topology() []NodeInfo {
	out := make([]NodeInfo, 0, len(g.nodes))
	for _, n := range g.nodes {
		next := make([]string, len(n.edges))
		for e, t := range n.edges {
			next[e] = t.Name
		}
		out = append(out, NodeInfo{Name: n.Name, Kind: n.reg.Kind, Next: next})
	}
	return out
}
