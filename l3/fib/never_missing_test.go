package fib

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestNeverMissing runs lookups on three goroutines (one a vector at a
// time) while a writer replaces,
// withdraws and re-adds the routes holding their addresses with
// ApplyRoutes: a /24 and a /25 inside it (a second-level group created and
// collapsed), over a /8 that stays, through next hops whose adjacencies are
// freed and created again, and an ECMP route; Reclaim runs as the
// neighbour sweep would. Every lookup must find one of the routes'
// next hops: never the drop adjacency (a route missing while it is
// replaced) nor anything else. Run it with -race too.
func TestNeverMissing(t *testing.T) {
	f := newTestTable(t)
	hop := func(b byte) []NextHop { return []NextHop{{Addr: netip.AddrFrom4([4]byte{10, 0, 2, b}), Port: -1}} }
	if err := f.AddRoute(pfx("30.0.0.0/8"), hop(2)); err != nil {
		t.Fatal(err)
	}
	probes := [][4]byte{{30, 1, 2, 3}, {30, 1, 2, 200}, {30, 1, 2, 255}}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var bad, reads atomic.Int64
	var badAdj atomic.Pointer[Adjacency]
	check := func(a *Adjacency) {
		if a.Kind != AdjIncomplete || a.NextHop[0] != 10 || a.NextHop[3] < 2 || a.NextHop[3] > 40 {
			bad.Add(1)
			badAdj.Store(a)
		}
		reads.Add(1)
	}
	for r := range 2 {
		wg.Go(func() {
			for k := 0; !stop.Load(); k++ {
				v := f.Load()
				check(v.Adj(v.Lookup(probes[(k+r)%len(probes)], uint32(k))))
			}
		})
	}
	wg.Go(func() { // ip4-lookup's way: a vector at a time
		var dst, hash [6]uint32
		var out [6]AdjIndex
		for k := range dst {
			p := probes[k%len(probes)]
			dst[k], hash[k] = uint32(p[0])<<24|uint32(p[1])<<16|uint32(p[2])<<8|uint32(p[3]), uint32(k)
		}
		for !stop.Load() {
			v := f.Load()
			v.LookupBatch(dst[:], hash[:], out[:])
			for _, ai := range out {
				check(v.Adj(ai))
			}
		}
	})
	apply := func(cs ...RouteChange) {
		if err := f.ApplyRoutes(cs); err != nil {
			t.Error(err)
		}
	}
	p24, p25 := pfx("30.1.2.0/24"), pfx("30.1.2.128/25")
	ecmp := append(hop(30), hop(31)...)
	last := time.Now()
	start := last
	for i := 0; i < 20000 && (i < 2000 || time.Since(start) < 2*time.Second); i++ {
		h := byte(3 + i%20) // a next hop nothing else uses: freed when replaced
		apply(RouteChange{Prefix: p24, Hops: hop(h)})
		apply(RouteChange{Prefix: p24, Hops: hop(h + 1)})                     // replaced: h's adjacency is freed
		apply(RouteChange{Prefix: p25, Hops: hop(h)})                         // a group for 30.1.2.0/24
		apply(RouteChange{Prefix: p25, Hops: ecmp})                           // ECMP inside the group
		apply(RouteChange{Prefix: p25}, RouteChange{Prefix: p24})             // the group collapses, the /8 takes over
		apply(RouteChange{Prefix: p25, Hops: hop(h + 2)})                     // a group under the /8
		apply(RouteChange{Prefix: p24, Hops: ecmp}, RouteChange{Prefix: p25}) // ECMP /24, group gone
		apply(RouteChange{Prefix: p24})
		if time.Since(last) > 250*time.Millisecond { // the neighbour sweep
			f.Reclaim()
			last = time.Now()
		}
	}
	for reads.Load() < 1000 { // the readers ran during the churn
	}
	stop.Store(true)
	wg.Wait()
	if n := bad.Load(); n != 0 {
		t.Fatalf("%d of %d lookups found no route or a wrong one (last %+v)", n, reads.Load(), *badAdj.Load())
	}
	if s := f.Stats(); s.Groups != 2 || s.Prefixes != 5 {
		t.Fatalf("after the churn: %+v", s)
	}
	t.Logf("%d lookups", reads.Load())
}

// TestGroupQuarantine checks that a freed second-level group, a freed ECMP
// bucket table and an emptied first-level chunk are reused or released only
// after two Reclaim calls, and that the blocks of groups go when they are
// all free.
func TestGroupQuarantine(t *testing.T) {
	f := newTestTable(t)
	hop := []NextHop{{Addr: ip("10.0.2.2"), Port: -1}}
	ecmp := []NextHop{{Addr: ip("10.0.2.2"), Port: -1}, {Addr: ip("10.0.2.3"), Port: -1}}
	base := f.Stats()
	groupOf := func(p string) uint32 {
		a := addr32(pfx(p))
		e := f.fib.tbl[a>>8]
		if e&entExt == 0 {
			t.Fatalf("%s: no group", p)
		}
		return e >> entShift
	}
	add := func(p string, h []NextHop) {
		if err := f.AddRoute(pfx(p), h); err != nil {
			t.Fatal(err)
		}
	}
	del := func(p string) {
		if err := f.DelRoute(pfx(p)); err != nil {
			t.Fatal(err)
		}
	}
	add("20.1.1.128/25", hop)
	g0 := groupOf("20.1.1.128/25")
	if s := f.Stats(); s.Groups != base.Groups+1 || s.Pages != base.Pages+1 {
		t.Fatalf("one /25: %+v", s)
	}
	del("20.1.1.128/25")
	if s := f.Stats(); s.Groups != base.Groups || s.GroupBlocks != 1 {
		t.Fatalf("withdrawn: %+v", s)
	}
	add("20.1.2.128/25", hop)
	g1 := groupOf("20.1.2.128/25")
	if g := g1; g == g0 {
		t.Fatalf("group %d reused at once", g)
	}
	del("20.1.2.128/25")
	f.Reclaim()
	add("20.1.3.128/25", hop)
	if g := groupOf("20.1.3.128/25"); g == g0 {
		t.Fatalf("group %d reused after one Reclaim", g)
	}
	del("20.1.3.128/25")
	f.Reclaim()
	add("20.1.4.128/25", hop)
	if g := groupOf("20.1.4.128/25"); g != g0 && g != g1 {
		t.Fatalf("group %d after two Reclaims, want %d or %d back", g, g0, g1)
	}
	del("20.1.4.128/25")

	add("20.2.0.0/16", ecmp)
	e0 := f.rib.m[ribKey(pfx("20.2.0.0/16"))].res
	del("20.2.0.0/16")
	add("20.3.0.0/16", ecmp)
	e1 := f.rib.m[ribKey(pfx("20.3.0.0/16"))].res
	if e1 == e0 || e1&grpBit == 0 {
		t.Fatalf("ECMP group %#x reused at once (was %#x)", e1, e0)
	}
	del("20.3.0.0/16")
	f.Reclaim()
	f.Reclaim()
	add("20.4.0.0/16", ecmp)
	if e := f.rib.m[ribKey(pfx("20.4.0.0/16"))].res; e != e0 && e != e1 {
		t.Fatalf("ECMP group %#x after two Reclaims, want %#x or %#x back", e, e0, e1)
	}
	del("20.4.0.0/16")
	if s := f.Stats(); s.Pages != base.Pages {
		t.Fatalf("withdrawn, the pages holding routes are not back to the baseline: %+v", s)
	}
	f.Reclaim()
	f.Reclaim()
	f.Reclaim()
	if s := f.Stats(); s != base {
		t.Fatalf("after withdrawing everything and reclaiming: %+v, baseline %+v", s, base)
	}
}

// TestLookupBatchAgrees checks View.LookupBatch against View.Lookup on a
// table with a default route, ECMP routes, /8s, /24s and host routes, and
// that it does not allocate.
func TestLookupBatchAgrees(t *testing.T) {
	f := newTestTable(t)
	ecmp := []NextHop{{Addr: ip("10.0.2.2"), Port: -1}, {Addr: ip("10.0.2.3"), Port: -1}}
	var cs []RouteChange
	for i, p := range churnPrefixes(4096) {
		cs = append(cs, RouteChange{Prefix: p, Hops: hopsAB[i&1]})
		if i%7 == 0 {
			cs[len(cs)-1].Hops = ecmp
		}
	}
	cs = append(cs, RouteChange{Prefix: pfx("0.0.0.0/0"), Hops: ecmp}, RouteChange{Prefix: pfx("20.0.0.0/8"), Hops: hopsAB[1]})
	if err := f.ApplyRoutes(cs); err != nil {
		t.Fatal(err)
	}
	addrs := churnAddrs(churnPrefixes(4096), 4096)
	dst := make([]uint32, 0, len(addrs)+3)
	for _, a := range addrs {
		dst = append(dst, addr32(netip.PrefixFrom(netip.AddrFrom4(a), 32)))
	}
	dst = append(dst, 0x14010203, 0x01020304, 0x0a000101) // 20/8, the default, connected
	hash := make([]uint32, len(dst))
	for k := range hash {
		hash[k] = uint32(k) * 0x9e3779b1
	}
	out := make([]AdjIndex, len(dst))
	v := f.Load()
	for lo := 0; lo < len(dst); lo += 256 { // vectors, the last one short
		hi := min(lo+256, len(dst))
		v.LookupBatch(dst[lo:hi], hash[lo:hi], out[lo:hi])
	}
	all := make([]AdjIndex, len(dst)) // longer than a vector: one by one
	v.LookupBatch(dst, hash, all)
	for k, a := range dst {
		if all[k] != out[k] {
			t.Fatalf("%v: LookupBatch of %d gives %d, of a vector %d", netip.AddrFrom4(u32ip(a)), len(dst), all[k], out[k])
		}
		if want := v.Lookup(u32ip(a), hash[k]); out[k] != want {
			t.Fatalf("%v: LookupBatch %d, Lookup %d", netip.AddrFrom4(u32ip(a)), out[k], want)
		}
	}
	var full []uint32 // a vector whose every entry names a group
	for _, a := range dst {
		if f.fib.tbl[a>>8]&entExt != 0 && len(full) < 256 {
			full = append(full, a)
		}
	}
	if len(full) < 256 {
		t.Fatalf("only %d addresses under a group", len(full))
	}
	v.LookupBatch(full, hash, out)
	for k, a := range full {
		if want := v.Lookup(u32ip(a), hash[k]); out[k] != want {
			t.Fatalf("a vector all under groups: %v gives %d, Lookup %d", netip.AddrFrom4(u32ip(a)), out[k], want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { v.LookupBatch(dst[:256], hash, out) }); n != 0 {
		t.Errorf("LookupBatch allocates %v times", n)
	}
}

// TestBatchKeepsNextHopItReuses: a batch that withdraws the last route via
// a next hop and then installs another via the same hop must leave the new
// route on a live adjacency (the batch holds what it resolved), also after
// the quarantine has passed.
func TestBatchKeepsNextHopItReuses(t *testing.T) {
	f := newTestTable(t)
	hop := []NextHop{{Addr: ip("10.0.2.7"), Port: -1}}
	if err := f.AddRoute(pfx("40.0.0.0/16"), hop); err != nil {
		t.Fatal(err)
	}
	if err := f.ApplyRoutes([]RouteChange{{Prefix: pfx("40.0.0.0/16")}, {Prefix: pfx("40.1.0.0/16"), Hops: hop}}); err != nil {
		t.Fatal(err)
	}
	f.Reclaim()
	f.Reclaim()
	if a := look(f, "40.1.2.3"); a.Kind != AdjIncomplete || a.NextHop != ip("10.0.2.7").As4() {
		t.Fatalf("40.1.2.3: %v via %v, want incomplete via 10.0.2.7", a.Kind, netip.AddrFrom4(a.NextHop))
	}
	if err := f.AddRoute(pfx("40.2.0.0/16"), []NextHop{{Addr: ip("10.0.2.8"), Port: -1}}); err != nil {
		t.Fatal(err)
	}
	if a := look(f, "40.1.2.3"); a.NextHop != ip("10.0.2.7").As4() {
		t.Fatalf("after another next hop was added, 40.1.2.3 goes via %v", netip.AddrFrom4(a.NextHop))
	}
}

// TestLookupBatchFirstECMP: a view loaded before the table held any ECMP
// route still resolves, a vector at a time, the ECMP route added after it
// to one of its paths (the batch looks for ECMP results once the table has
// held one, whatever the view).
func TestLookupBatchFirstECMP(t *testing.T) {
	f := newTestTable(t)
	if err := f.AddRoute(pfx("20.0.0.0/8"), hopsAB[0]); err != nil {
		t.Fatal(err)
	}
	old := f.Load()
	ecmp := []NextHop{{Addr: ip("10.0.2.2"), Port: -1}, {Addr: ip("10.0.2.3"), Port: -1}}
	for _, p := range []string{"20.1.0.0/16", "20.2.3.128/25"} {
		if err := f.AddRoute(pfx(p), ecmp); err != nil {
			t.Fatal(err)
		}
	}
	dst := []uint32{0x14010203, 0x14020381, 0x14030303}
	hash := []uint32{1, 2, 3}
	out := make([]AdjIndex, len(dst))
	old.LookupBatch(dst, hash, out)
	for k, a := range dst {
		if want := f.Load().Lookup(u32ip(a), hash[k]); out[k] != want {
			t.Errorf("%v: %d through the view loaded before, want %d", netip.AddrFrom4(u32ip(a)), out[k], want)
		}
		if adj := old.Adj(out[k]); adj.Kind != AdjIncomplete || adj.NextHop[0] != 10 {
			t.Errorf("%v: %+v, want one of the paths", netip.AddrFrom4(u32ip(a)), adj)
		}
	}
}
