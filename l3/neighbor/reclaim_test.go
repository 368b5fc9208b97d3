package neighbor

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/fib"
)

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

	// One batch long enough to be caught in progress: 2^19 /24s.
	const n = 1 << 19
	hops := []fib.NextHop{{Addr: netip.AddrFrom4(host), Port: -1}}
	batch := make([]fib.RouteChange, n)
	for i := range batch {
		a := uint32(11)<<24 + uint32(i)<<8
		batch[i] = fib.RouteChange{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0}), 24), Hops: hops}
	}
	addrOf := func(i int) [4]byte { return batch[i].Prefix.Addr().As4() }
	none := tp.fib.Load().Lookup([4]byte{200, 0, 0, 1}, 0)
	installed := func(i int) bool { return tp.fib.Load().Lookup(addrOf(i), 0) != none }

	done := make(chan error, 1)
	go func() { done <- tp.fib.ApplyRoutes(batch) }()
	// The writer holds the FIB from before its first route is in until
	// after its last is.
	for deadline := time.Now().Add(30 * time.Second); !installed(0); {
		if time.Now().After(deadline) {
			t.Fatal("the batch's first route never appeared")
		}
	}
	now := int64(5e9)
	tp.nt.Age(now, nil)
	if installed(n - 1) {
		t.Fatal("Age returned only once the whole batch was in: it waited for the FIB's writer")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

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
