package graphtest

import (
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
)

// stub returns a node named name that records what reaches it (while a Run
// records) and frees it.
func (h *Harness) stub(name string) graph.Registration {
	return graph.Registration{
		Name: name,
		Func: func(n *graph.Node, v *pkt.Vector) int {
			k := v.Len
			if h.record {
				for _, i := range v.Idx[:k] {
					m, d := h.a.Packet(i)
					h.captures = append(h.captures, Capture{Node: name, ID: m.Seq, Data: append([]byte(nil), d...), Meta: *m})
				}
			}
			n.Cache().FreeN(v.Idx[:k])
			v.Reset()
			return k
		},
	}
}

// wrap returns r with a Func that, while a Run records, notes for each
// packet of the Run the error id its Meta holds once r's node is done with
// it: a packet that then reaches no stub was dropped with that error.
// Reading it here rather than after Dispatch keeps the answer right even
// when error-drop frees the buffer and a node allocates it again.
func (h *Harness) wrap(r graph.Registration) graph.Registration {
	f := r.Func
	if f == nil {
		return r // Build reports it
	}
	r.Func = func(n *graph.Node, v *pkt.Vector) int {
		if !h.record {
			return f(n, v)
		}
		var idx [pkt.VectorSize]pkt.Index
		in := idx[:copy(idx[:], v.Idx[:v.Len])]
		k := f(n, v)
		for _, i := range in {
			m := h.a.Meta(i)
			if j := m.Seq - h.base; m.Seq >= h.base && j < uint64(h.count) && m.Error != 0 {
				h.drops[j] = m.Error
			}
		}
		return k
	}
	return r
}
