package graph

import (
	"sort"

	"github.com/vecnet/vecnet/pkt"
)

func dropRegistration() Registration {
	return Registration{
		Name: DropNodeName,
		Func: func(n *Node, v *pkt.Vector) int {
			g := n.g
			a := g.arena
			counts := g.errCounts
			idx := v.Idx[:v.Len]
			for _, i := range idx {
				e := a.Meta(i).Error
				if int(e) < len(counts) {
					counts[e]++
				}
			}
			if v.Traced {
				for _, i := range idx {
					if m := a.Meta(i); m.Flags&pkt.FlagTraced != 0 {
						g.trace.add(n, i, nil, g.errLabel(m.Error))
					}
				}
			}
			if t := g.tap; t != nil {
				t.Record(a, idx, TapDrop, 0)
			}
			g.cache.FreeN(idx)
			k := v.Len
			v.Reset()
			return k
		},
	}
}

// ErrorCount is one row of "show errors".
type ErrorCount struct {
	Node     string
	Name     string
	Help     string
	Severity Severity
	Count    uint64
}

// Errors returns every error counter with a non-zero count, sorted by node
// then error name. all includes zero counters too.
func (g *Graph) Errors(all bool) []ErrorCount {
	var out []ErrorCount
	for id := 1; id < len(g.errNames); id++ {
		c := g.errCounts[id]
		if c == 0 && !all {
			continue
		}
		e := g.errNames[id]
		out = append(out, ErrorCount{Node: e.node.Name, Name: e.err.Name, Help: e.err.Help, Severity: e.err.Severity, Count: c})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Node != out[j].Node {
			return out[i].Node < out[j].Node
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// ErrorByName returns the count of node's error name, for tests and tools.
func (g *Graph) ErrorByName(node, name string) uint64 {
	for id := 1; id < len(g.errNames); id++ {
		if e := g.errNames[id]; e.node.Name == node && e.err.Name == name {
			return g.errCounts[id]
		}
	}
	return 0
}

// ClearErrors zeroes every error counter.
func (g *Graph) ClearErrors() { clear(g.errCounts) }

func (g *Graph) errLabel(id uint16) string {
	if id == 0 || int(id) >= len(g.errNames) {
		return "unknown error"
	}
	e := g.errNames[id]
	return e.node.Name + ": " + e.err.Name
}
