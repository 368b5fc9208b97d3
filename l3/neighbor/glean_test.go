package neighbor

import (
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// gleanHarness builds ip4-glean with arp-input next to it (for releases).
func gleanHarness(t *testing.T, tp *topo, cfg GleanConfig) *graphtest.Harness {
	return graphtest.New(t, GleanNode(tp.ifs, tp.fib, tp.nt, cfg), graphtest.Options{Also: []graph.Registration{ARPNode(tp.ifs, tp.nt)}})
}

// toHost is a packet for dst as ip4-lookup hands it to ip4-glean.
func (tp *topo) toHost(dst [4]byte) graphtest.Packet {
	d := frames.IPv4(frames.Spec{SrcMAC: peerMAC, DstMAC: mac0, Src: [4]byte{10, 9, 0, 1}, Dst: dst, Payload: 8})
	return graphtest.Packet{Data: d, Meta: pkt.Meta{L3: 14, L4: 34, Adj: uint32(tp.fib.Load().Lookup(dst, 0))}}
}

func label(err string) string { return graphtest.Label(GleanName, err) }

// checkRequest checks one ARP request for target went out of port 0.
func checkRequest(t *testing.T, r *graphtest.Result, target [4]byte) {
	t.Helper()
	reqs := r.At(driver.OutputNodeName)
	if len(reqs) != 1 {
		t.Fatalf("%d ARP requests, want 1", len(reqs))
	}
	want := frames.ARP(wire.ARPRequest, mac0, addr0, wire.BroadcastMAC, wire.MAC{}, target)
	if c := reqs[0]; string(c.Data) != string(want) || c.Meta.TxPort != 0 || c.Meta.Flags&pkt.FlagLocal == 0 {
		t.Errorf("request\n got % x (tx %d)\nwant % x", c.Data, c.Meta.TxPort, want)
	}
}

func TestGleanRequestAndRelease(t *testing.T) {
	tp := newTopo(t)
	h := gleanHarness(t, tp, GleanConfig{RetryNs: 100e6, TimeoutNs: 1e9})
	r1 := h.Run(tp.toHost(host), tp.toHost(host))
	if r1.Out[0].Where() != "kept" || r1.Out[1].Where() != "kept" {
		t.Fatalf("got %s, %s; want both kept", r1.Out[0].Where(), r1.Out[1].Where())
	}
	checkRequest(t, r1, host)
	checkCounters(t, r1, map[string]uint64{label("queued"): 2, label("requests_sent"): 1})

	// Within the retry interval: held, no request.
	h.Advance(99e6)
	r2 := h.Run(tp.toHost(host))
	if r2.Out[0].Where() != "kept" || len(r2.Extra) != 0 {
		t.Fatalf("second: %s, %d extra", r2.Out[0].Where(), len(r2.Extra))
	}
	checkCounters(t, r2, map[string]uint64{label("queued"): 1})

	// At the retry interval: one more request.
	h.Advance(1e6)
	r3 := h.Run(tp.toHost(host))
	checkRequest(t, r3, host)
	checkCounters(t, r3, map[string]uint64{label("queued"): 1, label("requests_sent"): 1})

	// The reply releases all four, in order, to ip4-lookup.
	reply := arpPacket(wire.ARPReply, peerMAC, host, mac0, mac0, addr0)
	r4 := h.RunNode(ARPInputName, reply)
	got := r4.At(ip4.LookupName)
	want := []uint64{r1.Out[0].ID, r1.Out[1].ID, r2.Out[0].ID, r3.Out[0].ID}
	if len(got) != len(want) {
		t.Fatalf("%d released, want %d", len(got), len(want))
	}
	for k, c := range got {
		if c.ID != want[k] || string(c.Data) != string(tp.toHost(host).Data) {
			t.Errorf("released %d: id %d, want %d", k, c.ID, want[k])
		}
	}
	checkCounters(t, r4, map[string]uint64{graphtest.Label(ARPInputName, "replies_received"): 1, graphtest.Label(ARPInputName, "learned"): 1})

	// Resolved: a new packet for the host is not glean any more.
	r5 := h.Run(tp.toHost(host))
	if r5.Out[0].Where() == "kept" {
		t.Errorf("lookup still gleans after the reply")
	}
}

func TestGleanBounds(t *testing.T) {
	tp := newTopo(t)
	h := gleanHarness(t, tp, GleanConfig{MaxTargets: 1, PerTarget: 2})
	r := h.Run(tp.toHost(host), tp.toHost(host), tp.toHost(host), tp.toHost([4]byte{10, 0, 0, 6}))
	wants := []string{"kept", "kept", "drop " + label("queue_full"), "drop " + label("queue_full")}
	for k, w := range wants {
		if got := r.Out[k].Where(); got != w {
			t.Errorf("packet %d: %s, want %s", k, got, w)
		}
	}
	// The new target is not held but still asked for (see GleanConfig).
	checkCounters(t, r, map[string]uint64{label("queued"): 2, label("requests_sent"): 2, label("queue_full"): 2})
}

func TestGleanTimeout(t *testing.T) {
	tp := newTopo(t)
	h := gleanHarness(t, tp, GleanConfig{TimeoutNs: 1e9, RetryNs: 10e9})
	h.Run(tp.toHost(host), tp.toHost(host))
	h.Advance(1e9)
	// The next call expires both; the new packet starts a fresh wait with
	// a request of its own.
	r := h.Run(tp.toHost(host))
	if r.Out[0].Where() != "kept" {
		t.Fatalf("got %s", r.Out[0].Where())
	}
	checkRequest(t, r, host)
	checkCounters(t, r, map[string]uint64{label("resolution_timeout"): 2, label("queued"): 1, label("requests_sent"): 1})
}

// TestGleanExpiresWithoutTraffic: held packets are dropped at their
// timeout by the node's timer, with no later packet to run the node.
func TestGleanExpiresWithoutTraffic(t *testing.T) {
	tp := newTopo(t)
	h := gleanHarness(t, tp, GleanConfig{TimeoutNs: 1e9, RetryNs: 10e9})
	h.Run(tp.toHost(host), tp.toHost(host))
	g := h.Graph()
	count := func() uint64 { return g.ErrorByName(GleanName, "resolution_timeout") }
	h.Advance(5e8)
	g.Poll()
	if n := count(); n != 0 {
		t.Fatalf("expired %d packets before their timeout", n)
	}
	h.Advance(5e8 + graph.TickInterval)
	g.Poll()
	if n := count(); n != 2 {
		t.Fatalf("resolution_timeout = %d after the timeout with no traffic, want 2", n)
	}
}

func TestGleanNotGlean(t *testing.T) {
	tp := newTopo(t)
	h := gleanHarness(t, tp, GleanConfig{})
	p := tp.toHost(addr0) // a local adjacency
	r := h.Run(p)
	if got, want := r.Out[0].Where(), "drop "+label("not_glean"); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	checkCounters(t, r, map[string]uint64{label("not_glean"): 1})
}

// TestGleanAllocs holds a vector and releases it with a reply, per run:
// the queue reuses its slots and the request buffer comes from the pool.
func TestGleanAllocs(t *testing.T) {
	tp := newTopo(t)
	h := gleanHarness(t, tp, GleanConfig{PerTarget: 8})
	pkts := make([]graphtest.Packet, 8)
	for k := range pkts {
		pkts[k] = tp.toHost(host)
	}
	reply := []graphtest.Packet{arpPacket(wire.ARPReply, peerMAC, host, mac0, mac0, addr0)}
	round := func() {
		h.Send(GleanName, pkts...)
		h.Send(ARPInputName, reply...)
	}
	round() // the first reply learns the neighbour (the table allocates); later ones change nothing
	if n := testing.AllocsPerRun(100, round); n != 0 {
		t.Errorf("%v allocations per round", n)
	}
}

// TestGleanNoSourceAddress: a route out of an interface with no IPv4
// address leaves the node no address to ask from (an interface with one, on
// another subnet, asks from it, as Linux does); the packet is dropped and
// counted, and no request goes out.
func TestGleanNoSourceAddress(t *testing.T) {
	tp := newTopo(t)
	eth1, err := tp.ifs.Add("eth1", wire.MAC{0x02, 0, 0, 0, 0, 0x11}, 1500)
	if err != nil {
		t.Fatal(err)
	}
	tp.fib.AddInterface(eth1, wire.MAC{0x02, 0, 0, 0, 0, 0x11}, 1500)
	if err := tp.fib.AddRoute(netip.MustParsePrefix("10.50.0.0/16"), []fib.NextHop{{Addr: netip.MustParseAddr("10.60.0.1"), Port: int(eth1)}}); err != nil {
		t.Fatal(err)
	}
	h := gleanHarness(t, tp, GleanConfig{})
	r := h.Run(tp.toHost([4]byte{10, 50, 1, 1}))
	if got, want := r.Out[0].Where(), "drop "+label("no_source_address"); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if len(r.At(driver.OutputNodeName)) != 0 {
		t.Errorf("an ARP request went out without a source address")
	}
	checkCounters(t, r, map[string]uint64{label("no_source_address"): 1})
}

// TestGleanNoBuffer: with the pool empty the packet is still held (it may
// be resolved by a later request) and the missing request is counted.
func TestGleanNoBuffer(t *testing.T) {
	tp := newTopo(t)
	h := graphtest.New(t, GleanNode(tp.ifs, tp.fib, tp.nt, GleanConfig{RetryNs: 100e6, TimeoutNs: 1e9}), graphtest.Options{Slots: 1})
	r := h.Run(tp.toHost(host)) // the packet takes the only buffer
	if r.Out[0].Where() != "kept" || len(r.At(driver.OutputNodeName)) != 0 {
		t.Fatalf("got %s and %d requests, want kept and none", r.Out[0].Where(), len(r.At(driver.OutputNodeName)))
	}
	checkCounters(t, r, map[string]uint64{label("queued"): 1, label("no_buffer"): 1})
}

// TestGleanSubnetBroadcast: a packet for the connected subnet's broadcast
// (or network) address is dropped and counted, never held or asked for.
func TestGleanSubnetBroadcast(t *testing.T) {
	tp := newTopo(t)
	h := gleanHarness(t, tp, GleanConfig{})
	for _, dst := range [][4]byte{{10, 0, 0, 255}, {10, 0, 0, 0}} {
		r := h.Run(tp.toHost(dst))
		if got, want := r.Out[0].Where(), "drop "+label("subnet_broadcast"); got != want {
			t.Fatalf("%v: got %s, want %s", dst, got, want)
		}
		if len(r.At(driver.OutputNodeName)) != 0 {
			t.Errorf("%v: an ARP request went out", dst)
		}
		checkCounters(t, r, map[string]uint64{label("subnet_broadcast"): 1})
	}
}

// TestGleanScanDoesNotStarveResolution: a scan of the connected /24 fills
// the 64 held targets and spends the worker's budget of 64 requests for
// targets it cannot hold (the rest are throttled, not broadcast). A real
// host's packet in the next interval is dropped but its request goes out
// (once per target per interval), its reply is accepted as solicited, and
// its next packet forwards; a scanned target that answers still gets its
// held packet released.
func TestGleanScanDoesNotStarveResolution(t *testing.T) {
	tp := newTopo(t)
	h := gleanHarness(t, tp, GleanConfig{MaxTargets: 64, RetryNs: 100e6, TimeoutNs: 1e9})
	var scan []graphtest.Packet
	for b := 1; b < 255; b++ {
		if b != 1 && b != 250 {
			scan = append(scan, tp.toHost([4]byte{10, 0, 0, byte(b)}))
		}
	}
	rs := h.Run(scan...)
	r := rs
	if c := r.Counters; c[label("queued")] != 64 || c[label("queue_full")] != 188 || c[label("requests_sent")] != 128 || c[label("requests_throttled")] != 124 {
		t.Fatalf("scan: %v, want 64 held, 188 dropped, 128 requests, 124 throttled", c)
	}
	h.Advance(100e6)
	real := [4]byte{10, 0, 0, 250}
	r = h.Run(tp.toHost(real), tp.toHost(real))
	checkCounters(t, r, map[string]uint64{label("queue_full"): 2, label("requests_sent"): 1, label("requests_throttled"): 1})
	checkRequest(t, r, real)
	reply := func(ip [4]byte) graphtest.Packet { return arpPacket(wire.ARPReply, peerMAC, ip, mac0, mac0, addr0) }
	r = h.RunNode(ARPInputName, reply(real), reply([4]byte{10, 0, 0, 2}))
	if got := r.At(ip4.LookupName); len(got) != 1 || got[0].ID != rs.Out[0].ID {
		t.Fatalf("released %d packets, want the scanned target's one", len(got))
	}
	checkCounters(t, r, map[string]uint64{graphtest.Label(ARPInputName, "replies_received"): 2, graphtest.Label(ARPInputName, "learned"): 2})
	if a := tp.fib.Load().Adj(tp.fib.Load().Lookup(real, 0)); a.Kind != fib.AdjRewrite {
		t.Fatalf("real host after its reply: %v, want rewrite", a.Kind)
	}
}
