package dataplane

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// forwardBench6 is forwardBench for IPv6: 62-byte UDP frames (the smallest
// IPv6/UDP frame) in 256-packet vectors through ethernet-input ->
// ip6-input -> ip6-lookup -> ip6-rewrite -> interface-output, buffers
// allocated and written each iteration, freed by the output port. With
// routes > 0 the FIB holds that many random /32../64 prefixes and each
// packet goes to a different one.
func forwardBench6(b *testing.B, routes int) {
	r := newRig6(b)
	r.resolve6()
	r.ports[1].discard = true
	dsts := make([][16]byte, 256)
	if routes > 0 {
		ps := benchPrefixes6(routes)
		if err := r.dp.FIB6.AddRoutes(ps, []fib.NextHop{{Addr: netip.AddrFrom16(ip6HB), Port: -1}}); err != nil {
			b.Fatal(err)
		}
		for k := range dsts {
			d := ps[k*(len(ps)/256)].Addr().As16()
			d[15] |= 1
			dsts[k] = d
		}
		b.Logf("FIB6 holds %d prefixes", r.dp.FIB6.Load().Len())
	} else {
		for k := range dsts {
			dsts[k] = ip6Far
			dsts[k][15] = byte(k)
		}
	}
	fs := make([][]byte, 256)
	for k := range fs {
		fs[k] = frames.IPv6(frames.Spec6{SrcMAC: hostA, DstMAC: macA, Src: ip6HA, Dst: dsts[k], HopLimit: 64})
		if len(fs[k]) != wire.EthernetLen+wire.IPv6Len+wire.UDPLen {
			b.Fatalf("frame is %d bytes", len(fs[k]))
		}
	}
	size := len(fs[0])
	a := r.dp.Arena
	var v pkt.Vector
	run := func() {
		for k := range pkt.VectorSize {
			i, _ := r.cache.Alloc()
			d, _ := a.SetData(i, pkt.Headroom, size)
			copy(d, fs[k])
			v.Idx[k] = i
		}
		v.Len = pkt.VectorSize
		r.g.Inject("ethernet-input", &v)
		r.g.Dispatch()
	}
	run()
	r.g.ClearRuntime()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.StopTimer()
	sent := r.ports[1].stats.TxPackets
	if want := uint64(b.N+1) * pkt.VectorSize; sent != want {
		b.Fatalf("forwarded %d of %d (errors %+v)", sent, want, r.g.Errors(false))
	}
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*pkt.VectorSize)
	b.ReportMetric(ns, "ns/pkt")
	b.ReportMetric(1e3/ns, "Mpps")
}

// benchPrefixes6 returns n distinct random prefixes of length 32..64 in
// 2400::/6 (clear of the rig's 2001:db8::/32).
func benchPrefixes6(n int) []netip.Prefix {
	rng := rand.New(rand.NewPCG(5, 6))
	seen := make(map[netip.Prefix]bool, n)
	out := make([]netip.Prefix, 0, n)
	for len(out) < n {
		var a [16]byte
		hi := rng.Uint64()&^(0xfc<<56) | 0x24<<56
		for k := range 8 {
			a[k] = byte(hi >> (56 - 8*k))
		}
		p := netip.PrefixFrom(netip.AddrFrom16(a), 32+rng.IntN(33)).Masked()
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// BenchmarkForwardIP6 forwards IPv6 through a small FIB, beside
// BenchmarkForwardIP4.
func BenchmarkForwardIP6(b *testing.B) { forwardBench6(b, 0) }

// BenchmarkForwardIP6FullTable forwards IPv6 through a FIB of 1 M routes.
func BenchmarkForwardIP6FullTable(b *testing.B) {
	if testing.Short() {
		b.Skip("1 M routes take a while to load")
	}
	forwardBench6(b, 1_000_000)
}
