package graph_test

import (
	"fmt"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
)

// A node that sorts packets by the parity of a number in their metadata,
// dropping zeros under a named error counter, and two sink nodes: Build
// resolves the next names to edges, Inject hands a vector to the first
// node, Dispatch runs the graph until no frame is pending.
func Example() {
	arena, err := pkt.NewArena(256)
	if err != nil {
		panic(err)
	}
	pool := pkt.NewPool(arena)
	cache := pool.NewCache()

	parity := graph.Registration{
		Name:   "parity",
		Next:   []string{"even", "odd"}, // edges 1 and 2; edge 0 is error-drop
		Errors: []graph.Error{{Name: "zero", Help: "the number is zero", Severity: graph.SevWarn}},
		Func: func(n *graph.Node, v *pkt.Vector) int {
			a := n.Arena()
			for k, i := range v.Idx[:v.Len] {
				m := a.Meta(i)
				switch {
				case m.Hash == 0:
					n.Drop(m, k, 0) // counted as parity/zero, freed by error-drop
				case m.Hash%2 == 0:
					n.Nexts[k] = 1
				default:
					n.Nexts[k] = 2
				}
			}
			k := v.Len
			n.Enqueue(v, n.Nexts[:]) // one call hands the whole vector on
			return k
		},
	}
	got := map[string][]uint32{}
	sink := func(name string) graph.Registration {
		return graph.Registration{Name: name, Func: func(n *graph.Node, v *pkt.Vector) int {
			for _, i := range v.Idx[:v.Len] {
				got[name] = append(got[name], n.Arena().Meta(i).Hash)
			}
			k := v.Len
			n.Cache().FreeN(v.Idx[:v.Len])
			v.Reset()
			return k
		}}
	}
	g, err := graph.Build(cache, []graph.Registration{parity, sink("even"), sink("odd")})
	if err != nil {
		panic(err)
	}

	var v pkt.Vector
	for x := range 7 {
		i, _ := cache.Alloc()
		arena.Meta(i).Hash = uint32(x)
		v.Append(i)
	}
	if err := g.Inject("parity", &v); err != nil {
		panic(err)
	}
	g.Dispatch()

	fmt.Println("even:", got["even"], "odd:", got["odd"])
	for _, e := range g.Errors(false) {
		fmt.Printf("%s/%s (%s): %d\n", e.Node, e.Name, e.Severity, e.Count)
	}
	for _, s := range g.Runtime() {
		fmt.Printf("%-10s calls %d packets %d\n", s.Name, s.Stats.Calls, s.Stats.Vectors)
	}

	g.Close()
	cache.Flush()
	if err := pool.Close(); err != nil {
		panic(err)
	}
	// Output:
	// even: [2 4 6] odd: [1 3 5]
	// parity/zero (warn): 1
	// error-drop calls 1 packets 1
	// parity     calls 1 packets 7
	// even       calls 1 packets 3
	// odd        calls 1 packets 3
}
