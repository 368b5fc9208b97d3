package neighbor

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/fib"
)

// batchInFlight starts one batch of route changes long enough to be caught
// in progress (2^19 /24s in 11.0.0.0/5) and returns once its first route is
// in: the FIB's writer holds the table from then until after its last is.
// stillHeld reports whether the last is not in yet (so the writer has held
// the FIB since batchInFlight returned); wait waits for the batch's end.
func batchInFlight(t *testing.T, f *fib.Table) (stillHeld func() bool, wait func()) {
	t.Helper()
	const n = 1 << 19
	hops := []fib.NextHop{{Addr: netip.AddrFrom4(host), Port: -1}}
	batch := make([]fib.RouteChange, n)
	for i := range batch {
		a := uint32(11)<<24 + uint32(i)<<8
		batch[i] = fib.RouteChange{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0}), 24), Hops: hops}
	}
	none := f.Load().Lookup([4]byte{200, 0, 0, 1}, 0)
	installed := func(i int) bool { return f.Load().Lookup(batch[i].Prefix.Addr().As4(), 0) != none }
	wait = startBatch(t, func() error { return f.ApplyRoutes(batch) }, func() bool { return installed(0) })
	return func() bool { return !installed(n - 1) }, wait
}

// startBatch runs batch on a goroutine of its own and returns once caught
// reports it under way; wait waits for its end.
func startBatch(t *testing.T, batch func() error, caught func() bool) (wait func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- batch() }()
	wait = func() {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); !caught(); {
		if time.Now().After(deadline) || len(done) > 0 {
			wait()
			t.Fatal("never caught the batch in flight")
		}
	}
	return wait
}

// queuedFIB is what checkQueued reads: Table or NDTable.
type queuedFIB interface {
	PendingFIB() int
	Gen() uint64
}

// checkQueued checks that the want changes made while the FIB's writer was
// busy wait in nt's queue, then that sweep makes them and moves Gen (which
// the changes moved already: gen is Gen before them).
func checkQueued(t *testing.T, nt queuedFIB, want int, gen uint64, sweep func()) {
	t.Helper()
	if n := nt.PendingFIB(); n != want {
		t.Fatalf("%d FIB changes pending after the batch, want %d", n, want)
	}
	g := nt.Gen()
	sweep()
	if n := nt.PendingFIB(); n != 0 {
		t.Fatalf("%d FIB changes still pending after a sweep with the FIB free, want 0", n)
	}
	if nt.Gen() == g || g == gen {
		t.Fatalf("Gen %d → %d → %d: want a change at the learn and at the sweep that programmed it", gen, g, nt.Gen())
	}
}

// TestAgeNeverWaitsForFIBWriter: the ageing sweep runs on a worker's timer;
// its once-a-second FIB Reclaim must not wait for a writer holding the FIB
// (a batch of route changes holds it for as long as the batch takes: 0.1-0.3
// s for 100 000 routes, during which the worker forwarded nothing and its
// receive ring overflowed — BENCHMARKS.md 10f). The sweep that finds the
// writer busy returns at once and the next one reclaims.
func TestAgeNeverWaitsForFIBWriter(t *testing.T) {
	tp := newTopo(t)
	// An adjacency in quarantine: a learned neighbour, deleted.
	other := [4]byte{10, 0, 0, 9}
	tp.nt.Learn(0, other, peerMAC, 0)
	tp.nt.Delete(0, other)
	if q := tp.fib.AdjStats().Quarantined; q != 1 {
		t.Fatalf("%d adjacencies quarantined, want 1", q)
	}
	stillHeld, wait := batchInFlight(t, tp.fib)
	now := int64(5e9)
	tp.nt.Age(now, nil)
	if !stillHeld() {
		t.Fatal("Age returned only once the whole batch was in: it waited for the FIB's writer")
	}
	wait()

	// The next sweeps reclaim: the one right after (not a second later),
	// then one a second after that frees the slot.
	now += graph.TickInterval
	tp.nt.Age(now, nil)
	now += reclaimEvery
	tp.nt.Age(now, nil)
	if q := tp.fib.AdjStats().Quarantined; q != 0 {
		t.Fatalf("%d adjacencies still quarantined after two sweeps a second apart once the writer was done, want 0", q)
	}
}

// TestLearnAndExpireNeverWaitForFIBWriter: learning a sender (arp-input on a
// worker) and expiring an entry (the worker's ageing sweep) while a batch
// holds the FIB return at once; the FIB gets both changes, in order, at the
// first sweep after the batch, and Gen moves so glean queues look again.
func TestLearnAndExpireNeverWaitForFIBWriter(t *testing.T) {
	tp := newTopo(t)
	tp.nt.SetConfig(Config{ReachableNs: 1e9, StaleNs: 1e9, ProbeNs: 1e9, Probes: 1})
	old := [4]byte{10, 0, 0, 9}
	tp.nt.Learn(0, old, peerMAC, 0) // expires once the sweeps pass 3 s
	for now := int64(0); now < 2.5e9; now += graph.TickInterval {
		tp.nt.Age(now, nil) // REACHABLE, STALE, PROBE (one probe)
	}
	adjOf := func(ip [4]byte) *fib.Adjacency {
		v := tp.fib.Load()
		return v.Adj(v.Lookup(ip, 0))
	}
	if a := adjOf(old); a.Kind != fib.AdjRewrite {
		t.Fatalf("%v before the batch: adjacency %v, want a rewrite", old, a.Kind)
	}

	stillHeld, wait := batchInFlight(t, tp.fib)
	gen := tp.nt.Gen()
	learned := tp.nt.Learn(0, host, peerMAC, 3e9)
	tp.nt.Age(3.5e9, nil) // old's probe goes unanswered: it expires
	if !stillHeld() {
		t.Fatal("Learn and Age returned only once the whole batch was in: they waited for the FIB's writer")
	}
	wait()
	if learned != Created {
		t.Fatalf("Learn: %v, want Created", learned)
	}
	if _, ok := tp.nt.Get(0, old); ok {
		t.Fatalf("%v still in the table after its last probe", old)
	}
	// The learn and the expiry wait; the next sweep makes them.
	checkQueued(t, tp.nt, 2, gen, func() { tp.nt.Age(3.5e9+graph.TickInterval, nil) })
	if a := adjOf(host); a.Kind != fib.AdjRewrite {
		t.Fatalf("%v after the sweep: adjacency %v, want a rewrite (learned)", host, a.Kind)
	}
	if a := adjOf(old); a.Kind == fib.AdjRewrite {
		t.Fatalf("%v after the sweep: still a rewrite, want it gone (expired)", old)
	}
}

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
	// Deleting a neighbour the FIB has never heard of changes nothing: it
	// fails only while a writer holds the FIB.
	probe := netip.MustParseAddr("fe80::dead").As16()
	wait = startBatch(t, func() error { return f.AddRoutes(batch, hops) }, func() bool { return !f.TryDelNeighbor(0, probe) })
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
	// The learn, the new MAC and the expiry wait; the next sweep makes them.
	checkQueued(t, tp.nt, 3, gen, func() { tp.nt.Age(3.5e9+graph.TickInterval, nil) })
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

// TestDADNeverWaitsForFIBWriter: an address that passed duplicate address
// detection (on a worker's ip6-glean tick) is assigned on the interface at
// once, but while a batch holds fib.Table6 its connected and local routes
// wait for the next tick instead of the worker waiting for the writer; the
// address is announced (Done) only once the FIB has it.
func TestDADNeverWaitsForFIBWriter(t *testing.T) {
	tp := newGlean6Topo(t)
	pfx := netip.MustParsePrefix("2001:db8:71::1/64")
	if err := tp.nt.StartDAD(0, pfx, 0); err != nil {
		t.Fatal(err)
	}
	if d := tp.nt.DADDue(0, nil); len(d) != 1 || d[0].Done {
		t.Fatalf("DADDue at 0: %+v, want one solicitation", d)
	}
	local := func() bool {
		v := tp.fib.Load()
		return v.Adj(v.Lookup(pfx.Addr().As16(), 0)).Kind == fib.AdjLocal
	}

	stillHeld, wait := batch6InFlight(t, tp.fib)
	d := tp.nt.DADDue(DefaultDADNs+1, nil) // passed, but the FIB is busy
	if !stillHeld() {
		t.Fatal("DADDue returned only once the whole batch was in: it waited for the FIB's writer")
	}
	wait()
	if len(d) != 0 || local() || tp.nt.DADPending() != 1 {
		t.Fatalf("DADDue with the FIB busy: %+v, local route %v, %d pending; want nothing yet, 1 pending", d, local(), tp.nt.DADPending())
	}
	d = tp.nt.DADDue(DefaultDADNs+1+graph.TickInterval, nil)
	if len(d) != 1 || !d[0].Done || d[0].Addr != pfx.Addr().As16() || !local() || tp.nt.DADPending() != 0 {
		t.Fatalf("DADDue at the next tick: %+v, local route %v, %d pending; want %v done and routed, 0 pending", d, local(), tp.nt.DADPending(), pfx.Addr())
	}
}
