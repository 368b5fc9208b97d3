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
	done := make(chan error, 1)
	go func() { done <- f.ApplyRoutes(batch) }()
	wait = func() {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); !installed(0); {
		if time.Now().After(deadline) {
			wait()
			t.Fatal("the batch's first route never appeared")
		}
	}
	return func() bool { return !installed(n - 1) }, wait
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
	if n := tp.nt.PendingFIB(); n != 2 {
		t.Fatalf("%d FIB changes pending after the batch, want 2 (learn, expiry)", n)
	}
	g := tp.nt.Gen()
	tp.nt.Age(3.5e9+graph.TickInterval, nil) // the next sweep makes them
	if n := tp.nt.PendingFIB(); n != 0 {
		t.Fatalf("%d FIB changes still pending after a sweep with the FIB free, want 0", n)
	}
	if tp.nt.Gen() == g || g == gen {
		t.Fatalf("Gen %d → %d → %d: want a change at the learn and at the sweep that programmed it", gen, g, tp.nt.Gen())
	}
	if a := adjOf(host); a.Kind != fib.AdjRewrite {
		t.Fatalf("%v after the sweep: adjacency %v, want a rewrite (learned)", host, a.Kind)
	}
	if a := adjOf(old); a.Kind == fib.AdjRewrite {
		t.Fatalf("%v after the sweep: still a rewrite, want it gone (expired)", old)
	}
}
