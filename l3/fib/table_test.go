package fib

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

var (
	mac0 = [6]byte{2, 0, 0, 0, 0xa, 1}
	mac1 = [6]byte{2, 0, 0, 0, 0xb, 1}
	nbr  = [6]byte{2, 0, 0, 0, 0xb, 2}
	ip   = netip.MustParseAddr
	pfx  = netip.MustParsePrefix
)

// newTestTable: eth0 (port 0) 10.0.1.1/24 MTU 1500, eth1 (port 1)
// 10.0.2.1/24 MTU 1400.
func newTestTable(t testing.TB) *Table {
	t.Helper()
	f := New()
	f.AddInterface(0, mac0, 1500)
	f.AddInterface(1, mac1, 1400)
	if err := f.AddConnected(0, pfx("10.0.1.1/24")); err != nil {
		t.Fatal(err)
	}
	if err := f.AddConnected(1, pfx("10.0.2.1/24")); err != nil {
		t.Fatal(err)
	}
	return f
}

func look(f *Table, a string) *Adjacency {
	v := f.Load()
	return v.Adj(v.Lookup(ip(a).As4(), 0))
}

func TestLookup(t *testing.T) {
	f := newTestTable(t)
	hop := []NextHop{{Addr: ip("10.0.2.2"), Port: -1}}
	for _, p := range []string{"192.168.0.0/16", "192.168.1.0/24", "0.0.0.0/0"} {
		if err := f.AddRoute(pfx(p), hop); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.AddRoute(pfx("192.168.1.128/25"), []NextHop{{Addr: ip("10.0.1.9"), Port: 0}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dst string
		kind      AdjKind
		port      uint16
		nh        string
	}{
		{"connected glean", "10.0.1.7", AdjGlean, 0, "0.0.0.0"},
		{"connected other port", "10.0.2.99", AdjGlean, 1, "0.0.0.0"},
		{"local", "10.0.2.1", AdjLocal, 1, "10.0.2.1"},
		{"static /16", "192.168.7.7", AdjIncomplete, 1, "10.0.2.2"},
		{"static /24", "192.168.1.1", AdjIncomplete, 1, "10.0.2.2"},
		{"longest /25", "192.168.1.200", AdjIncomplete, 0, "10.0.1.9"},
		{"default", "8.8.8.8", AdjIncomplete, 1, "10.0.2.2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := look(f, tc.dst)
			if a.Kind != tc.kind || a.Port != tc.port || netip.AddrFrom4(a.NextHop) != ip(tc.nh) {
				t.Errorf("lookup %s = %+v, want kind %v port %d nh %s", tc.dst, *a, tc.kind, tc.port, tc.nh)
			}
		})
	}
	if a := look(f, "10.0.2.5"); a.MTU != 1400 {
		t.Errorf("MTU = %d, want 1400", a.MTU)
	}
	if got := f.Load().Len(); got != 8 {
		t.Errorf("Len = %d, want 8", got)
	}
}

func TestAddRouteErrors(t *testing.T) {
	f := newTestTable(t)
	tests := []struct {
		name string
		p    string
		hops []NextHop
		want error
	}{
		{"no hops", "1.0.0.0/8", nil, ErrNoNextHop},
		{"ipv6 hop", "1.0.0.0/8", []NextHop{{Addr: ip("fe80::1"), Port: -1}}, ErrNotIPv4},
		{"ipv6 prefix", "2001:db8::/32", []NextHop{{Addr: ip("10.0.2.2"), Port: -1}}, ErrNotIPv4},
		{"unreachable", "1.0.0.0/8", []NextHop{{Addr: ip("10.9.9.9"), Port: -1}}, ErrUnreachable},
		{"unknown port", "1.0.0.0/8", []NextHop{{Addr: ip("10.9.9.9"), Port: 7}}, ErrNoInterface},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.AddRoute(pfx(tc.p), tc.hops); !errors.Is(err, tc.want) {
				t.Errorf("AddRoute = %v, want %v", err, tc.want)
			}
		})
	}
	if err := f.DelRoute(pfx("1.0.0.0/8")); !errors.Is(err, ErrNoRoute) {
		t.Errorf("DelRoute absent = %v, want ErrNoRoute", err)
	}
	if err := f.DelRoute(pfx("10.0.1.0/24")); !errors.Is(err, ErrNoRoute) {
		t.Errorf("DelRoute connected = %v, want ErrNoRoute", err)
	}
}

func TestNeighborCompletion(t *testing.T) {
	f := newTestTable(t)
	if err := f.AddRoute(pfx("192.168.0.0/16"), []NextHop{{Addr: ip("10.0.2.2"), Port: -1}}); err != nil {
		t.Fatal(err)
	}
	before := f.Load()
	if a := look(f, "192.168.3.3"); a.Kind != AdjIncomplete {
		t.Fatalf("before ARP: %v, want incomplete", a.Kind)
	}
	f.SetNeighbor(1, ip("10.0.2.2").As4(), nbr)
	want := [14]byte{2, 0, 0, 0, 0xb, 2, 2, 0, 0, 0, 0xb, 1, 0x08, 0x00}
	for _, dst := range []string{"192.168.3.3", "10.0.2.2"} {
		a := look(f, dst)
		if a.Kind != AdjRewrite || [14]byte(a.Rewrite[:14]) != want || a.RewriteLen != 14 || a.Port != 1 || a.MTU != 1400 {
			t.Errorf("after ARP %s: %+v, want rewrite %x", dst, *a, want)
		}
	}
	if a := look(f, "10.0.2.3"); a.Kind != AdjGlean {
		t.Errorf("other host on the subnet: %v, want glean", a.Kind)
	}
	// Adjacencies are shared by snapshots and completed in place: a
	// reader still on the old snapshot forwards with the new rewrite.
	if a := before.Adj(before.Lookup(ip("192.168.3.3").As4(), 0)); a.Kind != AdjRewrite {
		t.Errorf("old snapshot's adjacency: %v, want rewrite", a.Kind)
	}
	rs := f.Routes()
	var host *Route
	for i := range rs {
		if rs[i].Prefix == pfx("10.0.2.2/32") {
			host = &rs[i]
		}
	}
	if host == nil || host.Kind != KindNeighbor || host.Paths[0].MAC != nbr {
		t.Fatalf("host route = %+v", host)
	}
	// A neighbour off every connected subnet completes adjacencies only.
	f.SetNeighbor(0, ip("10.7.7.7").As4(), nbr)
	if n := f.Load().Len(); n != 6 {
		t.Errorf("Len = %d, want 6", n)
	}
	f.DelNeighbor(1, ip("10.0.2.2").As4())
	if a := look(f, "192.168.3.3"); a.Kind != AdjIncomplete {
		t.Errorf("after DelNeighbor: %v, want incomplete", a.Kind)
	}
	if a := look(f, "10.0.2.2"); a.Kind != AdjGlean {
		t.Errorf("after DelNeighbor host: %v, want glean", a.Kind)
	}
}

func TestStaticShadowsNeighbor(t *testing.T) {
	f := newTestTable(t)
	f.SetNeighbor(1, ip("10.0.2.2").As4(), nbr)
	if err := f.AddRoute(pfx("10.0.2.2/32"), []NextHop{{Addr: ip("10.0.1.5"), Port: -1}}); err != nil {
		t.Fatal(err)
	}
	if a := look(f, "10.0.2.2"); a.Port != 0 {
		t.Errorf("static not installed: %+v", *a)
	}
	if err := f.DelRoute(pfx("10.0.2.2/32")); err != nil {
		t.Fatal(err)
	}
	if a := look(f, "10.0.2.2"); a.Kind != AdjRewrite || a.Port != 1 {
		t.Errorf("neighbour route not restored: %+v", *a)
	}
}

func TestDelete(t *testing.T) {
	f := newTestTable(t)
	hop := []NextHop{{Addr: ip("10.0.2.2"), Port: -1}}
	for _, p := range []string{"20.0.0.0/8", "20.1.0.0/16", "20.1.2.0/24", "20.1.2.3/32"} {
		if err := f.AddRoute(pfx(p), hop); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		del  string
		dst  string
		kind AdjKind
	}{
		{"20.1.2.3/32", "20.1.2.3", AdjIncomplete},
		{"20.1.0.0/16", "20.1.9.9", AdjIncomplete},
		{"20.1.2.0/24", "20.1.2.3", AdjIncomplete},
		{"20.0.0.0/8", "20.1.2.3", AdjDrop},
	}
	for _, s := range steps {
		if err := f.DelRoute(pfx(s.del)); err != nil {
			t.Fatal(err)
		}
		if a := look(f, s.dst); a.Kind != s.kind {
			t.Errorf("after del %s: %s -> %v, want %v", s.del, s.dst, a.Kind, s.kind)
		}
	}
	if n := f.Load().Len(); n != 4 {
		t.Errorf("Len = %d, want 4 (connected and local only)", n)
	}
}

func TestECMPSpread(t *testing.T) {
	f := newTestTable(t)
	var hops []NextHop
	for i := 2; i < 5; i++ {
		hops = append(hops, NextHop{Addr: netip.AddrFrom4([4]byte{10, 0, 2, byte(i)}), Port: -1})
	}
	if err := f.AddRoute(pfx("0.0.0.0/0"), hops); err != nil {
		t.Fatal(err)
	}
	v := f.Load()
	count := map[[4]byte]int{}
	const n = 30000
	rng := rand.New(rand.NewPCG(5, 6))
	for range n {
		h := rng.Uint32()
		a := v.Adj(v.Lookup([4]byte{8, 8, 8, 8}, h))
		if v.Lookup([4]byte{8, 8, 8, 8}, h) != v.Lookup([4]byte{8, 8, 8, 8}, h) {
			t.Fatal("same hash, different path")
		}
		count[a.NextHop]++
	}
	if len(count) != 3 {
		t.Fatalf("paths used: %v, want 3", count)
	}
	for nh, c := range count {
		if c < n/3*9/10 || c > n/3*11/10 {
			t.Errorf("next hop %v got %d of %d", nh, c, n)
		}
	}
	// A second route with the same hops shares the group; deleting one
	// keeps the other working.
	if err := f.AddRoute(pfx("1.0.0.0/8"), hops); err != nil {
		t.Fatal(err)
	}
	if len(f.Load().groups) != 1 {
		t.Errorf("groups = %d, want 1 shared", len(f.Load().groups))
	}
	if err := f.DelRoute(pfx("0.0.0.0/0")); err != nil {
		t.Fatal(err)
	}
	if a := look(f, "1.2.3.4"); a.Kind != AdjIncomplete {
		t.Errorf("shared group lost: %v", a.Kind)
	}
	rs := f.Routes()
	if got := len(rs[0].Paths); rs[0].Prefix != pfx("1.0.0.0/8") || got != 3 {
		t.Errorf("Routes()[0] = %+v", rs[0])
	}
}

func TestAdjOutOfRange(t *testing.T) {
	v := New().Load()
	for _, i := range []AdjIndex{0, 1, 1 << 20, ^AdjIndex(0)} {
		if a := v.Adj(i); a.Kind != AdjDrop {
			t.Errorf("Adj(%d) = %v, want drop", i, a.Kind)
		}
	}
	if got := v.Lookup([4]byte{1, 2, 3, 4}, 7); got != AdjDropIndex {
		t.Errorf("miss = %d, want drop", got)
	}
}

func TestRouteString(t *testing.T) {
	f := newTestTable(t)
	if err := f.AddRoute(pfx("192.168.0.0/16"), []NextHop{{Addr: ip("10.0.2.2"), Port: -1}}); err != nil {
		t.Fatal(err)
	}
	f.SetNeighbor(1, ip("10.0.2.2").As4(), nbr)
	name := func(p uint16) string { return fmt.Sprintf("eth%d", p) }
	var lines []string
	for _, r := range f.Routes() {
		lines = append(lines, r.String(name))
	}
	want := []string{
		"10.0.1.0/24        connected via eth0 glean",
		"10.0.1.1/32        local     via eth0 local",
		"10.0.2.0/24        connected via eth1 glean",
		"10.0.2.1/32        local     via eth1 local",
		"10.0.2.2/32        neighbor  via 10.0.2.2 eth1 rewrite 02:00:00:00:0b:02",
		"192.168.0.0/16     static    via 10.0.2.2 eth1 rewrite 02:00:00:00:0b:02",
	}
	if got := strings.Join(lines, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("show fib:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// TestRandomAgainstReference checks Table lookups against the linear scan
// on random tables (through AddRoute/DelRoute, so RIB replacement is
// covered too).
func TestRandomAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	f := New()
	f.AddInterface(0, mac0, 1500)
	// ref holds the next hop's last byte: adjacency indices of next hops
	// no route uses any more are freed, so a later route may get another.
	ref := refTable{}
	for range 3000 {
		p := randPrefix(rng)
		if _, ok := ref[p]; ok && rng.IntN(3) == 0 {
			if err := f.DelRoute(p); err != nil {
				t.Fatal(err)
			}
			delete(ref, p)
			continue
		}
		i := rng.IntN(8)
		if err := f.AddRoute(p, []NextHop{{Addr: netip.AddrFrom4([4]byte{172, 16, 0, byte(i + 1)}), Port: 0}}); err != nil {
			t.Fatal(err)
		}
		ref[p] = uint32(i + 1)
	}
	v := f.Load()
	if v.Len() != len(ref) {
		t.Errorf("Len = %d, want %d", v.Len(), len(ref))
	}
	for _, d := range probes(rng, ref) {
		got, want := v.Adj(v.Lookup(d, 0)), ref.lookup(d)
		if want == 0 && got.Kind != AdjDrop || want != 0 && got.NextHop != [4]byte{172, 16, 0, byte(want)} {
			t.Fatalf("Lookup(%v) = %+v, want next hop .%d", netip.AddrFrom4(d), *got, want)
		}
	}
}

// TestConcurrentReaders runs lookups while another goroutine adds and
// deletes routes and toggles a neighbour; run it with -race. The probe
// address is always covered by a /8 to one adjacency or a /24 to another,
// so any other result is a torn read.
func TestConcurrentReaders(t *testing.T) {
	f := newTestTable(t)
	if err := f.AddRoute(pfx("30.0.0.0/8"), []NextHop{{Addr: ip("10.0.2.2"), Port: -1}}); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var bad atomic.Int64
	var reads atomic.Int64
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				v := f.Load()
				a := v.Adj(v.Lookup([4]byte{30, 1, 2, 3}, 0))
				if nh := a.NextHop; nh != [4]byte{10, 0, 2, 2} && nh != [4]byte{10, 0, 1, 2} {
					bad.Add(1)
				}
				reads.Add(1)
			}
		})
	}
	for i := range 2000 {
		if err := f.AddRoute(pfx("30.1.2.0/24"), []NextHop{{Addr: ip("10.0.1.2"), Port: -1}}); err != nil {
			t.Error(err)
		}
		if err := f.AddRoute(netip.PrefixFrom(netip.AddrFrom4([4]byte{40, byte(i >> 8), byte(i), 0}), 24), []NextHop{{Addr: ip("10.0.1.2"), Port: -1}}); err != nil {
			t.Error(err)
		}
		f.SetNeighbor(1, ip("10.0.2.2").As4(), nbr)
		if err := f.DelRoute(pfx("30.1.2.0/24")); err != nil {
			t.Error(err)
		}
		f.DelNeighbor(1, ip("10.0.2.2").As4())
	}
	for reads.Load() == 0 {
	}
	stop.Store(true)
	wg.Wait()
	if bad.Load() != 0 {
		t.Errorf("%d torn lookups", bad.Load())
	}
}

func TestLookupNoAllocs(t *testing.T) {
	f := newTestTable(t)
	if err := f.AddRoute(pfx("0.0.0.0/0"), []NextHop{{Addr: ip("10.0.2.2"), Port: -1}, {Addr: ip("10.0.2.3"), Port: -1}}); err != nil {
		t.Fatal(err)
	}
	if err := f.AddRoute(pfx("50.1.2.3/32"), []NextHop{{Addr: ip("10.0.2.2"), Port: -1}}); err != nil {
		t.Fatal(err)
	}
	var sink AdjKind
	n := testing.AllocsPerRun(1000, func() {
		v := f.Load()
		for h := range uint32(8) {
			sink += v.Adj(v.Lookup([4]byte{50, 1, 2, byte(h)}, h)).Kind
		}
	})
	if n != 0 {
		t.Errorf("Lookup allocates %v times", n)
	}
	_ = sink
}

// TestDelRoutes: a batch removes its static routes in one publication,
// brings back the connected route a static one shadowed, and counts the
// prefixes it had nothing to delete for.
func TestDelRoutes(t *testing.T) {
	f := newTestTable(t)
	hop := []NextHop{{Addr: ip("10.0.2.2"), Port: -1}}
	ps := []netip.Prefix{pfx("192.168.0.0/24"), pfx("192.168.1.0/24"), pfx("10.0.1.0/24")}
	if err := f.AddRoutes(ps, hop); err != nil {
		t.Fatal(err)
	}
	err := f.DelRoutes(append(ps, pfx("172.16.0.0/12")))
	if !errors.Is(err, ErrNoRoute) || !strings.Contains(err.Error(), "1 of 4") {
		t.Errorf("DelRoutes with one absent = %v, want ErrNoRoute for 1 of 4", err)
	}
	if a := look(f, "192.168.1.7"); a.Kind != AdjDrop {
		t.Errorf("192.168.1.7 after delete: %v, want drop", a.Kind)
	}
	if a := look(f, "10.0.1.7"); a.Kind != AdjGlean {
		t.Errorf("10.0.1.7 after delete: %v, want the connected glean back", a.Kind)
	}
	if n := len(f.Routes()); n != 4 { // two connected, two local
		t.Errorf("%d routes left, want the 4 of the interfaces: %v", n, f.Routes())
	}
}
