package ip4

import (
	"testing"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

func inputHarness(t *testing.T) *graphtest.Harness {
	arc := graph.Arc{Name: UnicastArc, Start: InputName, End: LookupName, Features: []graph.Feature{{Node: "acl"}}}
	return graphtest.New(t, InputNode(newTopo(t).ifs), graphtest.Options{Arcs: []graph.Arc{arc}})
}

func TestIP4Input(t *testing.T) {
	good := func() graphtest.Packet { return ipFrame(host0, remote, frames.Spec{Payload: 10}) }
	padded := good()
	padded.Data = append(padded.Data, make([]byte, 20)...)
	tests := []struct {
		name string
		p    graphtest.Packet
		want string // next node, or the drop counter of ip4-input
	}{
		{"valid", good(), LookupName},
		{"ethernet padding cut", padded, LookupName},
		{"too short", func() graphtest.Packet { p := good(); p.Data = p.Data[:14+19]; return p }(), "too_short"},
		{"bad version", edit(good(), func(ip wire.IPv4) { ip[0] = 0x65 }), "bad_version"},
		{"ihl below 5", edit(good(), func(ip wire.IPv4) { ip[0] = 0x44 }), "bad_ihl"},
		{"ihl past the frame", edit(good(), func(ip wire.IPv4) { ip[0] = 0x4f }), "bad_ihl"},
		{"total length past the frame", edit(good(), func(ip wire.IPv4) { ip.SetTotalLen(ip.TotalLen() + 1) }), "bad_length"},
		{"total length below header", edit(good(), func(ip wire.IPv4) { ip.SetTotalLen(19) }), "bad_length"},
		{"bad checksum", func() graphtest.Packet { p := good(); p.Data[14+10] ^= 1; return p }(), "bad_checksum"},
		{"source 0.x", ipFrame([4]byte{0, 1, 2, 3}, remote, frames.Spec{}), "bad_source"},
		{"source multicast", ipFrame([4]byte{224, 0, 0, 1}, remote, frames.Spec{}), "bad_source"},
		{"source broadcast", ipFrame([4]byte{255, 255, 255, 255}, remote, frames.Spec{}), "bad_source"},
		{"destination multicast", ipFrame(host0, [4]byte{239, 1, 1, 1}, frames.Spec{}), "multicast"},
		{"destination class E", ipFrame(host0, [4]byte{240, 1, 1, 1}, frames.Spec{}), "multicast"},
		{"source loopback", ipFrame([4]byte{127, 0, 0, 1}, remote, frames.Spec{}), "loopback_source"},
		{"source loopback 127/8", ipFrame([4]byte{127, 200, 1, 2}, addr0, frames.Spec{}), "loopback_source"},
		{"source is our address", ipFrame(addr0, remote, frames.Spec{}), "own_source"},
		{"source is our other address", ipFrame(addr1, addr0, frames.Spec{}), "own_source"},
		{"source next to ours", ipFrame([4]byte{10, 0, 0, 3}, remote, frames.Spec{}), LookupName},
		{"limited broadcast", ipFrame(host0, [4]byte{255, 255, 255, 255}, frames.Spec{}), "broadcast"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := inputHarness(t)
			tc.p.Meta.L4 = 0
			r := h.Run(tc.p)
			o := &r.Out[0]
			if tc.want == LookupName {
				if o.Next != LookupName {
					t.Fatalf("got %s, want %s", o.Where(), LookupName)
				}
				checkCounters(t, r, nil)
				ip := ipOf(o)
				if int(o.Meta.Len) != 14+int(ip.TotalLen()) || o.Meta.L4 != 34 {
					t.Errorf("Len %d L4 %d, want %d 34", o.Meta.Len, o.Meta.L4, 14+int(ip.TotalLen()))
				}
				return
			}
			if got, want := o.Where(), "drop "+graphtest.Label(InputName, tc.want); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
			checkCounters(t, r, one(InputName, tc.want))
		})
	}
}

// TestIP4InputArc checks that ip4-input enters the ip4-unicast arc: a
// feature enabled on a port gets that port's packets, others go straight to
// ip4-lookup, in one vector.
func TestIP4InputArc(t *testing.T) {
	h := inputHarness(t)
	if err := h.Graph().EnableFeature(UnicastArc, "acl", 1, true); err != nil {
		t.Fatal(err)
	}
	var pkts []graphtest.Packet
	for _, port := range []uint16{0, 1, 1, 0, 2} {
		p := ipFrame(host0, remote, frames.Spec{})
		p.Meta.RxPort = port
		pkts = append(pkts, p)
	}
	r := h.Run(pkts...)
	for k, want := range []string{LookupName, "acl", "acl", LookupName, LookupName} {
		if got := r.Out[k].Where(); got != want {
			t.Errorf("packet %d (port %d): %s, want %s", k, pkts[k].Meta.RxPort, got, want)
		}
	}
	checkCounters(t, r, nil)
}

func TestIP4InputAllocs(t *testing.T) {
	h := inputHarness(t)
	pkts := make([]graphtest.Packet, 64)
	for k := range pkts {
		pkts[k] = ipFrame(host0, remote, frames.Spec{Payload: 64})
	}
	pkts[5].Data[14+10] ^= 1 // one bad checksum: the vector splits
	if n := testing.AllocsPerRun(100, func() { h.Send(InputName, pkts...) }); n != 0 {
		t.Errorf("%v allocations per vector", n)
	}
	_ = pkt.Meta{}
}
