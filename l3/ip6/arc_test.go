package ip6

import (
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/fib"
)

// TestIP6InputArc: a routed packet enters the ip6-unicast arc's feature
// where it is enabled for the receive port and goes straight to ip6-lookup
// elsewhere; a packet for ip6-local never enters the arc.
func TestIP6InputArc(t *testing.T) {
	arc := graph.Arc{Name: UnicastArc, Start: InputName, End: LookupName, Features: []graph.Feature{{Node: "f6-in"}}}
	h := graphtest.New(t, InputNode(ifaces(t)), graphtest.Options{Arcs: []graph.Arc{arc}})
	if err := h.Graph().EnableFeature(UnicastArc, "f6-in", 0, true); err != nil {
		t.Fatal(err)
	}
	ll := netip.MustParseAddr("fe80::10").As16()
	routed := func(port uint16) graphtest.Packet {
		p := packet(frames.IPv6(spec(host, remote)))
		p.Meta.RxPort = port
		return p
	}
	local := packet(frames.IPv6(spec(netip.MustParseAddr("fe80::2").As16(), ll)))
	r := h.Run(routed(0), routed(1), routed(0), local, routed(1))
	for i, want := range []string{"f6-in", LookupName, "f6-in", LocalName, LookupName} {
		if got := r.Out[i].Next; got != want {
			t.Errorf("packet %d: %s, want %s", i, r.Out[i].Where(), want)
		}
	}
	pkts := []graphtest.Packet{routed(1), routed(1), routed(0), routed(1)}
	if n := testing.AllocsPerRun(100, func() { h.Send(InputName, pkts...) }); n != 0 {
		t.Errorf("%v allocations per vector", n)
	}
}

// TestIP6RewriteArc: a rewritten packet enters the ip6-output arc's
// feature enabled for its transmit port, and goes to interface-output once
// the feature is off.
func TestIP6RewriteArc(t *testing.T) {
	tb := fib.NewTable6()
	tb.AddInterface(1, [6]byte{2, 0, 0, 0, 0, 0x11}, 1500)
	if err := tb.AddConnected(1, netip.MustParsePrefix("2001:db8:9::1/64")); err != nil {
		t.Fatal(err)
	}
	tb.SetNeighbor(1, remote, [6]byte{})
	adj := uint32(tb.Load().Lookup(remote, 0))
	arc := graph.Arc{Name: OutputArc, Start: RewriteName, End: OutputName, Features: []graph.Feature{{Node: "f6-out"}}, ByTxPort: true}
	h := graphtest.New(t, RewriteNode(tb), graphtest.Options{Arcs: []graph.Arc{arc}})
	fwd := func() graphtest.Packet {
		f := frames.IPv6(spec(host, remote))
		p := packet(f)
		p.Meta.Adj, p.Meta.Len = adj, uint16(len(f))
		return p
	}
	if err := h.Graph().EnableFeature(OutputArc, "f6-out", 1, true); err != nil {
		t.Fatal(err)
	}
	if got := h.Run(fwd()).Out[0]; got.Next != "f6-out" || got.Meta.TxPort != 1 {
		t.Fatalf("with the feature on port 1: %s tx %d", got.Where(), got.Meta.TxPort)
	}
	if err := h.Graph().EnableFeature(OutputArc, "f6-out", 1, false); err != nil {
		t.Fatal(err)
	}
	if got := h.Run(fwd(), fwd()).Out; got[0].Next != OutputName || got[1].Next != OutputName {
		t.Fatalf("with the feature off: %s, %s", got[0].Where(), got[1].Where())
	}
}
