package fib

import (
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// benchPrefixes6 returns n distinct random prefixes of length 32..64 in
// 2400::/6.
func benchPrefixes6(n int) []netip.Prefix {
	rng := rand.New(rand.NewPCG(5, 6))
	seen := make(map[netip.Prefix]bool, n)
	out := make([]netip.Prefix, 0, n)
	for len(out) < n {
		p := netip.PrefixFrom(randAddr6(rng), 32+rng.IntN(33)).Masked()
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

func randAddr6(rng *rand.Rand) netip.Addr {
	var a [16]byte
	hi, lo := rng.Uint64()&^(0xfc<<56)|0x24<<56, rng.Uint64()
	for k := range 8 {
		a[k], a[8+k] = byte(hi>>(56-8*k)), byte(lo>>(56-8*k))
	}
	return netip.AddrFrom16(a)
}

var big6 struct {
	f   *Table6
	dur time.Duration
	mb  uint64
	ps  []netip.Prefix
}

var hop6 = []NextHop{{Addr: netip.MustParseAddr("2001:db8:2::2"), Port: -1}}

// bigTable6 loads 1 M IPv6 routes with one AddRoutes (once per process).
func bigTable6(b *testing.B) *Table6 {
	if big6.f != nil {
		return big6.f
	}
	f := NewTable6()
	f.AddInterface(1, [6]byte{2, 0, 0, 0, 0, 1}, 1500)
	if err := f.AddConnected(1, netip.MustParsePrefix("2001:db8:2::1/64")); err != nil {
		b.Fatal(err)
	}
	big6.ps = benchPrefixes6(1 << 20)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	if err := f.AddRoutes(big6.ps, hop6); err != nil {
		b.Fatal(err)
	}
	big6.dur = time.Since(t0)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	big6.f, big6.mb = f, (m1.HeapAlloc-m0.HeapAlloc)>>20
	return f
}

// addrs6In returns 64 Ki destinations inside the table's prefixes (so that
// each lookup walks to a real leaf, as forwarded traffic does).
func addrs6In(ps []netip.Prefix) [][16]byte {
	rng := rand.New(rand.NewPCG(7, 8))
	out := make([][16]byte, 1<<16)
	for i := range out {
		a := ps[rng.IntN(len(ps))].Addr().As16()
		a[15] |= 1
		out[i] = a
	}
	return out
}

func benchLookup6(b *testing.B, f *Table6, addrs [][16]byte) {
	v := f.Load()
	var sink AdjIndex
	i := 0
	for b.Loop() {
		sink += v.Lookup(addrs[i&(len(addrs)-1)], uint32(i))
		i++
	}
	if sink == 0 {
		b.Fatal("every lookup missed")
	}
}

// BenchmarkLoad6_1MBatch reports the batch load of 1 M IPv6 routes.
func BenchmarkLoad6_1MBatch(b *testing.B) {
	for b.Loop() {
		big6.f = nil
		bigTable6(b)
	}
	b.ReportMetric(big6.dur.Seconds(), "s/1M-load")
	b.ReportMetric(float64(big6.mb), "MB-heap")
}

// BenchmarkLookup6_1M: 1 M IPv6 routes, 64 Ki random destinations, beside
// BenchmarkLookup1M.
func BenchmarkLookup6_1M(b *testing.B) {
	f := bigTable6(b)
	benchLookup6(b, f, addrs6In(big6.ps))
}

// BenchmarkLookup6_1MHot: 1 M IPv6 routes, 256 destinations, beside
// BenchmarkLookup1MHot.
func BenchmarkLookup6_1MHot(b *testing.B) {
	f := bigTable6(b)
	benchLookup6(b, f, addrs6In(big6.ps)[:256])
}

func TestTable6(t *testing.T) {
	f := NewTable6()
	f.AddInterface(0, [6]byte{2, 0, 0, 0, 0, 0xa}, 1500)
	f.AddInterface(1, [6]byte{2, 0, 0, 0, 0, 0xb}, 1400)
	for _, c := range []struct {
		port uint16
		p    string
	}{{0, "2001:db8:1::1/64"}, {1, "2001:db8:2::1/64"}, {1, "fe80::1/64"}} {
		if err := f.AddConnected(c.port, netip.MustParsePrefix(c.p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.AddConnected(0, netip.MustParsePrefix("10.0.0.1/24")); err == nil {
		t.Fatal("IPv4 accepted")
	}
	nh1, nh2 := netip.MustParseAddr("2001:db8:2::2"), netip.MustParseAddr("2001:db8:2::3")
	ecmp := netip.MustParsePrefix("2001:db8:77::/48")
	if err := f.AddRoute(ecmp, []NextHop{{Addr: nh1, Port: -1}, {Addr: nh2, Port: -1}}); err != nil {
		t.Fatal(err)
	}
	if err := f.AddRoute(netip.MustParsePrefix("2001:db8:99::/48"), []NextHop{{Addr: netip.MustParseAddr("2001:db8:5::1"), Port: -1}}); err == nil {
		t.Fatal("unreachable next hop accepted")
	}
	v := f.Load()
	dst := netip.MustParseAddr("2001:db8:77::5").As16()
	seen := map[[16]byte]bool{}
	for h := range uint32(64) {
		a := v.Adj(v.Lookup(dst, h))
		if a.Kind != AdjIncomplete || a.Port != 1 {
			t.Fatalf("ECMP path %+v", a)
		}
		seen[a.NextHop] = true
	}
	if len(seen) != 2 {
		t.Fatalf("ECMP used %d paths", len(seen))
	}
	if a := v.Adj(v.Lookup(netip.MustParseAddr("2001:db8:1::1").As16(), 0)); a.Kind != AdjLocal {
		t.Fatalf("local %+v", a)
	}
	if a := v.Adj(v.Lookup(netip.MustParseAddr("fe80::1").As16(), 0)); a.Kind != AdjLocal {
		t.Fatalf("link-local %+v", a)
	}
	if a := v.Adj(v.Lookup(netip.MustParseAddr("fe80::2").As16(), 0)); a.Kind != AdjDrop {
		t.Fatalf("link-local subnet routed: %+v", a)
	}
	if a := v.Adj(v.Lookup(netip.MustParseAddr("2001:db8:2::9").As16(), 0)); a.Kind != AdjGlean {
		t.Fatalf("connected %+v", a)
	}
	// Resolving a next hop: both the /128 and the ECMP path use it.
	mac := [6]byte{2, 0, 0, 0, 0, 2}
	f.SetNeighbor(1, nh1.As16(), mac)
	v = f.Load()
	if a := v.Adj(v.Lookup(nh1.As16(), 0)); a.Kind != AdjRewrite || a.MAC() != mac || a.MTU != 1400 {
		t.Fatalf("neighbour %+v", a)
	}
	if err := f.DelRoute(ecmp); err != nil {
		t.Fatal(err)
	}
	f.DelNeighbor(1, nh1.As16())
	f.Reclaim()
	f.Reclaim()
	if s := f.AdjStats(); s.Free != 2 {
		t.Fatalf("adjacencies after deleting the route and the neighbour: %+v", s)
	}
	if n := len(f.Routes()); n != 5 { // 2 connected, 3 local
		t.Fatalf("%d routes: %+v", n, f.Routes())
	}
}
