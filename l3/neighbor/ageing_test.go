package neighbor

import (
	"testing"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/graph/graphtest"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/wire"
)

// TestAgeing walks one entry through REACHABLE, STALE, PROBE and deletion
// with an injected clock, checking the FIB and the adjacency count at each
// step, and that a probe answer makes it REACHABLE again.
func TestAgeing(t *testing.T) {
	tp := newTopo(t)
	cfg := Config{ReachableNs: 30e9, StaleNs: 60e9, ProbeNs: 1e9, Probes: 2}
	tp.nt.SetConfig(cfg)
	base := tp.fib.AdjStats()
	state := func() State {
		t.Helper()
		e, ok := tp.nt.Get(0, host)
		if !ok {
			t.Fatalf("entry gone")
		}
		return e.State
	}
	age := func(now int64, wantProbes int) {
		t.Helper()
		if p := tp.nt.Age(now, nil); len(p) != wantProbes {
			t.Fatalf("at %v s: %d probes, want %d", float64(now)/1e9, len(p), wantProbes)
		} else if wantProbes == 1 && (p[0] != Probe{Port: 0, IP: host, MAC: peerMAC}) {
			t.Fatalf("probe %+v", p[0])
		}
	}
	tp.nt.Learn(0, host, peerMAC, 0)
	age(30e9-1e8, 0)
	if s := state(); s != StateReachable {
		t.Fatalf("before ReachableNs: %v", s)
	}
	age(30e9, 0)
	if s := state(); s != StateStale {
		t.Fatalf("after ReachableNs: %v, want stale", s)
	}
	if a := tp.fib.Load().Adj(tp.fib.Load().Lookup(host, 0)); a.Kind != fib.AdjRewrite {
		t.Fatalf("stale entry no longer forwards: %v", a.Kind)
	}
	age(90e9-1e8, 0)
	age(90e9, 1)
	if s := state(); s != StateProbe {
		t.Fatalf("after StaleNs: %v, want probe", s)
	}
	// The probe solicited a reply: it confirms the entry.
	o := []Observation{{Port: 0, IP: host, MAC: peerMAC, How: ReplyForUs}}
	tp.nt.ObserveBatch(o, 90e9+5e8)
	if o[0].Result != Confirmed || state() != StateReachable {
		t.Fatalf("probe answered: %v, %v; want confirmed, reachable", o[0].Result, state())
	}
	// Unanswered this time: two probes a second apart, then deletion.
	t0 := int64(90e9 + 5e8 + 90e9)
	age(t0-60e9, 0) // stale
	age(t0, 1)
	age(t0+1e9, 1)
	age(t0+2e9-1e8, 0)
	age(t0+2e9, 0)
	if _, ok := tp.nt.Get(0, host); ok {
		t.Fatalf("entry kept after %d unanswered probes", cfg.Probes)
	}
	if a := tp.fib.Load().Adj(tp.fib.Load().Lookup(host, 0)); a.Kind != fib.AdjGlean {
		t.Fatalf("deleted neighbour: %v, want glean", a.Kind)
	}
	s := tp.nt.Stats()
	if s.Entries != 0 || s.Expired != 1 || s.Adj.Live != base.Live {
		t.Fatalf("stats %+v, want no entry, 1 expired, adjacencies back to %d", s, base.Live)
	}
}

// TestStaticNeverAges: static entries stay through any sweep.
func TestStaticNeverAges(t *testing.T) {
	tp := newTopo(t)
	tp.nt.AddStatic(0, host, peerMAC)
	for now := int64(0); now < 1000e9; now += 10e9 {
		tp.nt.Age(now, nil)
	}
	if e, ok := tp.nt.Get(0, host); !ok || e.State != StateStatic {
		t.Fatalf("static entry: %+v %v", e, ok)
	}
}

// TestGleanTimerSendsProbes: ip4-glean's timer runs the sweep and sends
// each probe as a unicast request to the neighbour's MAC.
func TestGleanTimerSendsProbes(t *testing.T) {
	tp := newTopo(t)
	tp.nt.SetConfig(Config{ReachableNs: 1e9, StaleNs: 1e9})
	h := gleanHarness(t, tp, GleanConfig{})
	tp.nt.Learn(0, host, peerMAC, 0)
	h.SetNow(1e9)
	h.RunPoll() // stale
	h.SetNow(2e9)
	r := h.RunPoll()
	if len(r.Extra) != 1 {
		t.Fatalf("%d packets sent, want 1 probe", len(r.Extra))
	}
	want := frames.ARP(wire.ARPRequest, mac0, addr0, peerMAC, wire.MAC{}, host)
	if c := r.Extra[0]; c.Node != driver.OutputNodeName || string(c.Data) != string(want) {
		t.Errorf("probe to %s\n got % x\nwant % x", c.Node, c.Data, want)
	}
	checkCounters(t, r, map[string]uint64{label("probes_sent"): 1})
}

// TestAdjacenciesReclaimedByTimer: the sweep lets the FIB reuse the slots
// of expired neighbours, so churn does not grow the adjacency array.
func TestAdjacenciesReclaimedByTimer(t *testing.T) {
	tp := newTopo(t)
	tp.nt.SetConfig(Config{ReachableNs: 1e9, StaleNs: 1e9, ProbeNs: 1e9, Probes: 1})
	var slots int
	now := int64(0)
	for round := range 20 {
		for b := byte(10); b < 60; b++ {
			tp.nt.Learn(0, [4]byte{10, 0, 0, b + byte(round)}, peerMAC, now)
		}
		for end := now + 5e9; now < end; now += graph.TickInterval {
			tp.nt.Age(now, nil)
		}
		if s := tp.nt.Stats(); s.Entries != 0 {
			t.Fatalf("round %d: %d entries left after ageing", round, s.Entries)
		}
		s := tp.fib.AdjStats()
		if round == 2 {
			slots = s.Slots
		} else if round > 2 && s.Slots > slots {
			t.Fatalf("round %d: %d adjacency slots, was %d: freed slots are not reused", round, s.Slots, slots)
		}
	}
}

// TestGleanHeldAcrossWorkers: two workers share the tables; packets held
// by worker A's ip4-glean are released when the reply lands on worker B
// (before, they waited for a reply on A and timed out).
func TestGleanHeldAcrossWorkers(t *testing.T) {
	tp := newTopo(t)
	a := gleanHarness(t, tp, GleanConfig{TimeoutNs: 1e9})
	b := gleanHarness(t, tp, GleanConfig{TimeoutNs: 1e9})
	r := a.Run(tp.toHost(host), tp.toHost(host))
	checkRequest(t, r, host)
	// The reply reaches worker B: solicited (by A), so learned there.
	reply := arpPacket(wire.ARPReply, peerMAC, host, mac0, mac0, addr0)
	rb := b.RunNode(ARPInputName, reply)
	checkCounters(t, rb, map[string]uint64{graphtest.Label(ARPInputName, "replies_received"): 1, graphtest.Label(ARPInputName, "learned"): 1})
	// A's next timer tick releases both to ip4-lookup.
	a.Advance(graph.TickInterval)
	ra := a.RunPoll()
	if got := ra.At(ip4.LookupName); len(got) != 2 || got[0].ID != r.Out[0].ID || got[1].ID != r.Out[1].ID {
		t.Fatalf("released %d packets to %s, want both held ones", len(got), ip4.LookupName)
	}
	checkCounters(t, ra, map[string]uint64{label("released_resolved_elsewhere"): 2})
	a.Advance(2e9)
	if ra := a.RunPoll(); ra.Counters[label("resolution_timeout")] != 0 {
		t.Fatalf("held packets timed out: %v", ra.Counters)
	}
}
