package neighbor

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/fib"
)

// batch6InFlight starts one batch of IPv6 route changes long enough to be
// caught in progress (2^18 /64s in one AddRoutes, which holds the FIB's
// writer mutex throughout and publishes once, at its end) and returns once
// the batch's writer holds the FIB. stillHeld reports whether the batch is
// not in yet (so the writer has held the FIB since batch6InFlight
// returned); wait waits for the batch's end.
func batch6InFlight(t *testing.T, f *fib.Table6) (stillHeld func() bool, wait func()) {
	t.Helper()
	const n = 1 << 18
	hops := []fib.NextHop{{Addr: netip.MustParseAddr("2001:db8:70:2::77"), Port: -1}}
	batch := make([]netip.Prefix, n)
	for i := range batch {
		a := [16]byte{0x20, 0x01, 0x0d, 0xb9, 0, 0, byte(i >> 8), byte(i)}
		a[4] = byte(i >> 16)
		batch[i] = netip.PrefixFrom(netip.AddrFrom16(a), 64)
	}
	last := batch[n-1].Addr().As16()
	none := f.Load().Lookup(last, 0)
	done := make(chan error, 1)
	go func() { done <- f.AddRoutes(batch, hops) }()
	wait = func() {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	// Deleting a neighbour the FIB has never heard of changes nothing: it
	// fails only while a writer holds the FIB.
	probe := netip.MustParseAddr("fe80::dead").As16()
	for deadline := time.Now().Add(30 * time.Second); f.TryDelNeighbor(0, probe); {
		if time.Now().After(deadline) || len(done) > 0 {
			wait()
			t.Fatal("never caught the batch's writer holding the FIB")
		}
	}
	return func() bool { return f.Load().Lookup(last, 0) == none }, wait
}

// TestNDLearnAndExpireNeverWaitForFIBWriter is
// TestLearnAndExpireNeverWaitForFIBWriter for IPv6: learning a sender
// (ndp-input on a worker), its new MAC, and expiring an entry (the worker's
// ageing sweep) while a batch holds fib.Table6 return at once; the FIB gets
// the three changes, in order, at the first sweep after the batch, and Gen
// moves so ip6-glean queues look again.
func TestNDLearnAndExpireNeverWaitForFIBWriter(t *testing.T) {
	tp := newGlean6Topo(t)
	tp.nt.SetConfig(Config{ReachableNs: 1e9, StaleNs: 1e9, ProbeNs: 1e9, Probes: 1})
	old := netip.MustParseAddr("2001:db8:70:2::8").As16()
	if r := tp.nt.Observe(0, old, peerMAC, RequestForUs, 0); r != Created { // STALE
		t.Fatalf("Observe %v: %v, want Created", old, r)
	}
	tp.nt.Age(1.5e9, nil) // PROBE (one probe); expires once the sweeps pass 2.5 s
	adjOf := func(ip [16]byte) *fib.Adjacency6 {
		v := tp.fib.Load()
		return v.Adj(v.Lookup(ip, 0))
	}
	if a := adjOf(old); a.Kind != fib.AdjRewrite {
		t.Fatalf("%v before the batch: adjacency %v, want a rewrite", old, a.Kind)
	}

	stillHeld, wait := batch6InFlight(t, tp.fib)
	gen := tp.nt.Gen()
	moved := [6]byte{2, 0, 0, 0, 0, 0x42}
	learned := tp.nt.Observe(0, host6, peerMAC, RequestForUs, 3e9)
	changed := tp.nt.Observe(0, host6, moved, RequestForUs, 3e9) // the same host, a new MAC
	tp.nt.Age(3.5e9, nil)                                        // old's probe went unanswered: it expires
	if !stillHeld() {
		t.Fatal("Observe and Age returned only once the whole batch was in: they waited for the FIB's writer")
	}
	wait()
	if learned != Created || changed != Changed {
		t.Fatalf("Observe: %v then %v, want Created then Changed", learned, changed)
	}
	if _, ok := tp.nt.Get(0, old); ok {
		t.Fatalf("%v still in the table after its last probe", netip.AddrFrom16(old))
	}
	if n := tp.nt.PendingFIB(); n != 3 {
		t.Fatalf("%d FIB changes pending after the batch, want 3 (learn, new MAC, expiry)", n)
	}
	g := tp.nt.Gen()
	tp.nt.Age(3.5e9+graph.TickInterval, nil) // the next sweep makes them
	if n := tp.nt.PendingFIB(); n != 0 {
		t.Fatalf("%d FIB changes still pending after a sweep with the FIB free, want 0", n)
	}
	if tp.nt.Gen() == g || g == gen {
		t.Fatalf("Gen %d → %d → %d: want a change at the learn and at the sweep that programmed it", gen, g, tp.nt.Gen())
	}
	if a := adjOf(host6); a.Kind != fib.AdjRewrite || a.MAC() != moved {
		t.Fatalf("%v after the sweep: adjacency %v to %v, want a rewrite to %v (learned, then moved: in order)", netip.AddrFrom16(host6), a.Kind, a.MAC(), moved)
	}
	if a := adjOf(old); a.Kind == fib.AdjRewrite {
		t.Fatalf("%v after the sweep: still a rewrite, want it gone (expired)", netip.AddrFrom16(old))
	}
}

// TestNDSyncFIB: the control plane's changes wait for the writer and come
// after the queued ones; SyncFIB empties the queue.
func TestNDSyncFIB(t *testing.T) {
	tp := newGlean6Topo(t)
	stillHeld, wait := batch6InFlight(t, tp.fib)
	tp.nt.Observe(0, host6, peerMAC, RequestForUs, 0)
	if !stillHeld() {
		t.Fatal("Observe returned only once the whole batch was in")
	}
	if n := tp.nt.PendingFIB(); n != 1 {
		t.Fatalf("%d FIB changes pending during the batch, want 1", n)
	}
	static := [6]byte{2, 0, 0, 0, 0, 0x55}
	tp.nt.AddStatic(0, host6, static) // waits for the batch, after the learn
	wait()
	if n := tp.nt.PendingFIB(); n != 0 {
		t.Fatalf("%d FIB changes pending after AddStatic, want 0", n)
	}
	v := tp.fib.Load()
	if a := v.Adj(v.Lookup(host6, 0)); a.Kind != fib.AdjRewrite || a.MAC() != static {
		t.Fatalf("after AddStatic: adjacency %v to %v, want a rewrite to %v", a.Kind, a.MAC(), static)
	}

	tp.nt.Delete(0, host6)
	stillHeld, wait = batch6InFlight(t, tp.fib)
	tp.nt.Observe(0, host6, peerMAC, RequestForUs, 1e9)
	if !stillHeld() {
		t.Fatal("Observe returned only once the whole batch was in")
	}
	wait()
	tp.nt.SyncFIB()
	if n := tp.nt.PendingFIB(); n != 0 {
		t.Fatalf("%d FIB changes pending after SyncFIB, want 0", n)
	}
	v = tp.fib.Load()
	if a := v.Adj(v.Lookup(host6, 0)); a.Kind != fib.AdjRewrite || a.MAC() != peerMAC {
		t.Fatalf("after SyncFIB: adjacency %v to %v, want a rewrite to %v", a.Kind, a.MAC(), peerMAC)
	}
}
