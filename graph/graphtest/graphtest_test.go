package graphtest

import (
	"maps"
	"slices"
	"testing"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
)

func TestMain(m *testing.M) { pkttest.Main(m) }

// toy sends packets whose first byte is even to "even", drops odd ones as
// "odd", and frees (consumes) packets starting with 0xff.
func toy() graph.Registration {
	return graph.Registration{
		Name:   "toy",
		Next:   []string{"even"},
		Errors: []graph.Error{{Name: "odd"}, {Name: "seen", Severity: graph.SevInfo}},
		Func: func(n *graph.Node, v *pkt.Vector) int {
			a := n.Arena()
			k := v.Len
			j := 0
			for _, i := range v.Idx[:k] {
				m, d := a.Packet(i)
				n.Count(1, 1)
				if d[0] == 0xff {
					n.Cache().Free(i)
					continue
				}
				v.Idx[j] = i
				if d[0]&1 != 0 {
					n.Drop(m, j, 0)
				} else {
					d[1] = 0xee
					m.TxPort = 7
					n.Nexts[j] = 1
				}
				j++
			}
			v.Len = j
			n.Enqueue(v, n.Nexts[:])
			return k
		},
	}
}

func TestRun(t *testing.T) {
	h := New(t, toy(), Options{Trace: true})
	r := h.Run(Packet{Data: []byte{2, 0}}, Packet{Data: []byte{3, 0}}, Packet{Data: []byte{0xff, 0}}, Packet{Data: []byte{4, 0}, Meta: pkt.Meta{RxPort: 3}})
	want := []string{"even", "drop toy: odd", "kept", "even"}
	for k, w := range want {
		if got := r.Out[k].Where(); got != w {
			t.Errorf("packet %d: got %q, want %q", k, got, w)
		}
	}
	if d := r.Out[3].Data; d[1] != 0xee || r.Out[3].Meta.TxPort != 7 || r.Out[3].Meta.RxPort != 3 {
		t.Errorf("packet 3 left as % x %+v", d, r.Out[3].Meta)
	}
	if wantC := map[string]uint64{"toy: odd": 1, "toy: seen": 4}; !maps.Equal(r.Counters, wantC) {
		t.Errorf("counters %v, want %v", r.Counters, wantC)
	}
	// Traced: toy's enqueues to "even" and error-drop's drop are recorded.
	var steps []string
	for _, rec := range r.Trace {
		steps = append(steps, rec.Node+">"+rec.Next+rec.Error)
	}
	wantT := []string{"toy>even", "toy>error-drop", "toy>even", "error-drop>toy: odd"}
	if !slices.Equal(steps, wantT) {
		t.Errorf("trace %q, want %q", steps, wantT)
	}
	if r.Trace[0].Packet != r.Out[0].ID {
		t.Errorf("trace packet %d, want %d", r.Trace[0].Packet, r.Out[0].ID)
	}
	// A second Run sees only its own deltas and tags.
	r2 := h.Run(Packet{Data: []byte{5, 0}})
	if r2.Out[0].Where() != "drop toy: odd" || r2.Out[0].ID != r.Out[3].ID+1 || len(r2.Counters) != 2 {
		t.Errorf("second run: %q id %d counters %v", r2.Out[0].Where(), r2.Out[0].ID, r2.Counters)
	}
}

func TestManyPackets(t *testing.T) {
	h := New(t, toy(), Options{})
	pkts := make([]Packet, 3*pkt.VectorSize+5)
	for k := range pkts {
		pkts[k].Data = []byte{byte(k % 2 * 2), 0}
	}
	r := h.Run(pkts...)
	for k, o := range r.Out {
		if o.Where() != "even" {
			t.Fatalf("packet %d: %s", k, o.Where())
		}
	}
}

func TestSendAllocs(t *testing.T) {
	h := New(t, toy(), Options{})
	pkts := []Packet{{Data: []byte{2, 0}}, {Data: []byte{3, 0}}}
	if n := testing.AllocsPerRun(100, func() { h.Send("toy", pkts...) }); n != 0 {
		t.Errorf("%v allocations per Send", n)
	}
}

func TestClock(t *testing.T) {
	h := New(t, toy(), Options{})
	h.SetNow(5)
	h.Advance(10)
	if h.Graph().Now() != 15 || h.Now() != 15 {
		t.Errorf("now %d", h.Graph().Now())
	}
}
