package ip4

import (
	"testing"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
)

// TestIP4InputLinkLocalMulticast: with a punt node, packets to
// 224.0.0.0/24 (OSPF's AllSPFRouters here) go to it, counted as
// multicast_punted, Ethernet padding cut; other groups are still dropped
// as multicast; without a punt node, the link-local groups are too.
func TestIP4InputLinkLocalMulticast(t *testing.T) {
	const punt = "linux-cp-punt"
	arc := graph.Arc{Name: UnicastArc, Start: InputName, End: LookupName}
	ospf := func() graphtest.Packet {
		p := ipFrame(host0, [4]byte{224, 0, 0, 5}, frames.Spec{Proto: 89, Payload: 10})
		p.Data = append(p.Data, make([]byte, 16)...) // padding
		return p
	}
	tests := []struct {
		name  string
		punt  string
		p     graphtest.Packet
		where string
		count string
	}{
		{"ospf punted", punt, ospf(), punt, "multicast_punted"},
		{"224.0.0.255 punted", punt, ipFrame(host0, [4]byte{224, 0, 0, 255}, frames.Spec{}), punt, "multicast_punted"},
		{"224.0.1.1 dropped", punt, ipFrame(host0, [4]byte{224, 0, 1, 1}, frames.Spec{}), "drop ip4-input: multicast", "multicast"},
		{"239.1.1.1 dropped", punt, ipFrame(host0, [4]byte{239, 1, 1, 1}, frames.Spec{}), "drop ip4-input: multicast", "multicast"},
		{"broadcast dropped", punt, ipFrame(host0, [4]byte{255, 255, 255, 255}, frames.Spec{}), "drop ip4-input: broadcast", "broadcast"},
		{"ospf without punt node", "", ospf(), "drop ip4-input: multicast", "multicast"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := graphtest.New(t, InputNodeConfig(newTopo(t).ifs, InputConfig{LinkLocalMulticast: tc.punt}), graphtest.Options{Arcs: []graph.Arc{arc}})
			r := h.Run(tc.p)
			o := &r.Out[0]
			if got := o.Where(); got != tc.where {
				t.Fatalf("went to %s, want %s", got, tc.where)
			}
			checkCounters(t, r, map[string]uint64{graphtest.Label(InputName, tc.count): 1})
			if tc.where == punt {
				if n := testing.AllocsPerRun(20, func() { h.Send(InputName, tc.p) }); n != 0 {
					t.Errorf("%v allocations per punted packet", n)
				}
				if ip := ipOf(o); int(o.Meta.Len) != 14+int(ip.TotalLen()) || o.Meta.L4 != 34 {
					t.Errorf("Meta.Len %d L4 %d for a %d-byte packet", o.Meta.Len, o.Meta.L4, ip.TotalLen())
				}
			}
		})
	}
}
