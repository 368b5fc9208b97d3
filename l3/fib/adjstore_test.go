package fib

import (
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/wire"
)

// TestAdjacencyFreedAndReused: a neighbour's adjacency is freed when its
// /32 goes and nothing else uses it, its index is quarantined for two
// Reclaims, and then reused; one a static route uses survives as
// incomplete. Before, adjacencies were never freed (Slots grew forever).
func TestAdjacencyFreedAndReused(t *testing.T) {
	f := newTestTable(t)
	base := f.AdjStats()
	n := func(b byte) [4]byte { return [4]byte{10, 0, 2, b} }
	f.SetNeighbor(1, n(9), nbr)
	if s := f.AdjStats(); s.Live != base.Live+1 || s.Free != 0 {
		t.Fatalf("after learning: %+v (base %+v)", s, base)
	}
	f.DelNeighbor(1, n(9))
	if s := f.AdjStats(); s.Live != base.Live || s.Free != 1 || s.Quarantined != 1 {
		t.Fatalf("after deleting: %+v, want the adjacency freed and quarantined", s)
	}
	if a := look(f, "10.0.2.9"); a.Kind != AdjGlean {
		t.Fatalf("deleted neighbour: %v, want glean", a.Kind)
	}
	f.SetNeighbor(1, n(10), nbr) // the quarantined slot is not reused
	if s := f.AdjStats(); s.Slots != base.Slots+2 {
		t.Fatalf("quarantined slot reused too early: %+v", s)
	}
	f.DelNeighbor(1, n(10))
	f.Reclaim()
	f.Reclaim()
	for b := byte(11); b < 13; b++ {
		f.SetNeighbor(1, n(b), nbr)
		if a := look(f, netip.AddrFrom4(n(b)).String()); a.Kind != AdjRewrite || a.NextHop != n(b) {
			t.Fatalf("neighbour %v on a reused slot: %+v", n(b), *a)
		}
	}
	if s := f.AdjStats(); s.Slots != base.Slots+2 || s.Free != 0 {
		t.Fatalf("after reuse: %+v, want the two freed slots reused", s)
	}

	// A next hop a static route uses keeps its adjacency.
	if err := f.AddRoute(pfx("192.168.0.0/16"), []NextHop{{Addr: ip("10.0.2.11"), Port: -1}}); err != nil {
		t.Fatal(err)
	}
	f.DelNeighbor(1, n(11))
	if a := look(f, "192.168.1.1"); a.Kind != AdjIncomplete || a.NextHop != n(11) {
		t.Fatalf("route's next hop after DelNeighbor: %+v, want incomplete", *a)
	}
	if err := f.DelRoute(pfx("192.168.0.0/16")); err != nil {
		t.Fatal(err)
	}
	if s := f.AdjStats(); s.Live != base.Live+1 || s.Free != 1 {
		t.Fatalf("after the route went: %+v, want its adjacency freed", s)
	}
}

// TestNeighborFlapIsInPlace: a resolved neighbour whose MAC changes keeps
// its adjacency index and the same view (no copy, no publication).
func TestNeighborFlapIsInPlace(t *testing.T) {
	f := newTestTable(t)
	f.SetNeighbor(1, [4]byte{10, 0, 2, 2}, nbr)
	v := f.Load()
	i := v.Lookup([4]byte{10, 0, 2, 2}, 0)
	other := [6]byte{2, 0, 0, 0, 0xb, 3}
	f.SetNeighbor(1, [4]byte{10, 0, 2, 2}, other)
	if f.Load() != v {
		t.Errorf("a MAC change published a new view")
	}
	if a := v.Adj(i); a.MAC() != other {
		t.Errorf("MAC %x, want %x", a.MAC(), other)
	}
}

// TestFailedRouteFreesItsAdjacencies: a route whose second next hop is
// unreachable leaves no adjacency behind for its first.
func TestFailedRouteFreesItsAdjacencies(t *testing.T) {
	f := newTestTable(t)
	base := f.AdjStats()
	err := f.AddRoute(pfx("192.168.0.0/16"), []NextHop{{Addr: ip("10.0.2.7"), Port: -1}, {Addr: ip("10.9.9.9"), Port: -1}})
	if err == nil {
		t.Fatal("route via an unreachable next hop accepted")
	}
	if s := f.AdjStats(); s.Live != base.Live {
		t.Fatalf("after the failed route: %+v, base %+v: an adjacency leaked", s, base)
	}
}

// TestTryReclaimNeverWaits: TryReclaim (what a worker's sweep calls) does
// nothing and says so while a writer holds the table, and ages the
// quarantine like Reclaim once it is free.
func TestTryReclaimNeverWaits(t *testing.T) {
	tb := New()
	tb.AddInterface(0, [6]byte{2, 0, 0, 0, 0, 1}, 1500)
	if err := tb.AddConnected(0, netip.MustParsePrefix("10.0.0.1/24")); err != nil {
		t.Fatal(err)
	}
	tb.SetNeighbor(0, [4]byte{10, 0, 0, 5}, [6]byte{2, 0, 0, 0, 0, 2})
	tb.DelNeighbor(0, [4]byte{10, 0, 0, 5})
	if q := tb.AdjStats().Quarantined; q != 1 {
		t.Fatalf("%d quarantined, want 1", q)
	}
	tb.mu.Lock() // a writer, mid-batch
	if tb.TryReclaim() {
		t.Fatal("TryReclaim ran while a writer held the table")
	}
	tb.mu.Unlock()
	for i := range 2 {
		if !tb.TryReclaim() {
			t.Fatalf("TryReclaim %d refused with no writer", i)
		}
	}
	if q := tb.AdjStats().Quarantined; q != 0 {
		t.Fatalf("%d quarantined after two TryReclaims, want 0", q)
	}
	t6 := NewTable6()
	t6.mu.Lock()
	if t6.TryReclaim() {
		t.Fatal("Table6.TryReclaim ran while a writer held the table")
	}
	t6.mu.Unlock()
	if !t6.TryReclaim() {
		t.Fatal("Table6.TryReclaim refused with no writer")
	}
}

// TestTable6TryNeighborNeverWaits: Table6.TrySetNeighbor and TryDelNeighbor
// (what a worker's ND table calls) change nothing and say so while a writer
// holds the table, and are SetNeighbor and DelNeighbor once it is free (the
// rewrite to the neighbour's MAC from the port's).
func TestTable6TryNeighborNeverWaits(t *testing.T) {
	t6 := NewTable6()
	ours, theirs := [6]byte{2, 0, 0, 0, 0, 1}, [6]byte{2, 0, 0, 0, 0, 2}
	t6.AddInterface(0, ours, 1500)
	if err := t6.AddConnected(0, netip.MustParsePrefix("2001:db8::1/64")); err != nil {
		t.Fatal(err)
	}
	nb := netip.MustParseAddr("2001:db8::5").As16()
	kind := func() AdjKind { v := t6.Load(); return v.Adj(v.Lookup(nb, 0)).Kind }
	t6.mu.Lock() // a writer, mid-batch
	if t6.TrySetNeighbor(0, nb, theirs) {
		t.Fatal("TrySetNeighbor ran while a writer held the table")
	}
	t6.mu.Unlock()
	if k := kind(); k != AdjGlean {
		t.Fatalf("after a refused TrySetNeighbor: %v, want glean", k)
	}
	if !t6.TrySetNeighbor(0, nb, theirs) {
		t.Fatal("TrySetNeighbor refused with no writer")
	}
	v := t6.Load()
	a := v.Adj(v.Lookup(nb, 0))
	if want := wire.EthernetHeader(theirs, ours, wire.EtherTypeIPv6); a.Kind != AdjRewrite || [14]byte(a.Rewrite[:14]) != want {
		t.Fatalf("after TrySetNeighbor: %v rewrite % x, want a rewrite % x", a.Kind, a.Rewrite[:14], want)
	}
	t6.mu.Lock()
	if t6.TryDelNeighbor(0, nb) {
		t.Fatal("TryDelNeighbor ran while a writer held the table")
	}
	t6.mu.Unlock()
	if k := kind(); k != AdjRewrite {
		t.Fatalf("after a refused TryDelNeighbor: %v, want the rewrite still", k)
	}
	if !t6.TryDelNeighbor(0, nb) {
		t.Fatal("TryDelNeighbor refused with no writer")
	}
	if k := kind(); k != AdjGlean {
		t.Fatalf("after TryDelNeighbor: %v, want glean", k)
	}
}
