package dataplane

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"testing"

	"github.com/vecnet/vecnet/control/ctl"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/internal/tsc"
	"github.com/vecnet/vecnet/l2/ethernet"
	"github.com/vecnet/vecnet/pkt"
)

// forwardBench pushes 64-byte UDP frames in 256-packet vectors through
// ethernet-input -> ip4-input -> ip4-lookup -> ip4-rewrite ->
// interface-output on one core. Each iteration allocates the vector's
// buffers and writes the frames into them (what an input driver does),
// dispatches, and the output port frees them: the figure is the whole
// per-packet cost, driver work included.
func forwardBench(b *testing.B, routes int) {
	r := newRig(b)
	r.resolve()
	r.ports[1].discard = true
	dsts := make([][4]byte, 256)
	if routes > 0 {
		rng := rand.New(rand.NewPCG(1, 2))
		seen := make(map[netip.Prefix]bool, routes)
		for k := 0; k < routes; {
			a := rng.Uint32()
			a = a&^0xff000000 | uint32(11+rng.IntN(100))<<24 // 11.x .. 110.x: clear of the test nets
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), 16+rng.IntN(9)).Masked()
			if seen[p] {
				continue // routes distinct prefixes, not routes draws
			}
			seen[p] = true
			if err := r.dp.FIB.AddRoute(p, []fibHop{{Addr: netip.AddrFrom4(ipHB), Port: -1}}); err != nil {
				b.Fatal(err)
			}
			if k++; k <= 256 {
				d := p.Addr().As4()
				d[3] |= 1
				dsts[k-1] = d
			}
		}
		b.Logf("FIB holds %d prefixes", r.dp.FIB.Load().Len())
		if n := r.dp.FIB.Load().Len(); n < routes {
			b.Fatalf("FIB holds %d prefixes, want at least %d", n, routes)
		}
	} else {
		for k := range dsts {
			dsts[k] = ipFar
			dsts[k][3] = byte(k)
		}
	}
	frames := make([][]byte, 256)
	for k := range frames {
		frames[k] = buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: dsts[k], TTL: 64, Payload: 18})
		if len(frames[k]) != 60 {
			b.Fatalf("frame is %d bytes", len(frames[k]))
		}
	}
	a := r.dp.Arena
	var v pkt.Vector
	run := func() {
		for k := range pkt.VectorSize {
			i, _ := r.cache.Alloc()
			d, _ := a.SetData(i, pkt.Headroom, 60)
			copy(d, frames[k])
			v.Idx[k] = i
		}
		v.Len = pkt.VectorSize
		r.g.Inject(ethernet.NodeName, &v)
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
	if os.Getenv("VECNET_BENCH_RUNTIME") != "" {
		fmt.Fprintf(os.Stderr, "\n%s (%d routes):\n", b.Name(), routes)
		ctl.WriteNodes(os.Stderr, ctl.NodeRows([][]graph.NodeStats{r.g.Runtime()}, tsc.TicksPerNanosecond()), tsc.TicksPerNanosecond())
	}
}

// BenchmarkForwardIP4 forwards through a small FIB.
func BenchmarkForwardIP4(b *testing.B) { forwardBench(b, 0) }

// BenchmarkForwardIP4FullTable forwards through a FIB of 1 M routes.
func BenchmarkForwardIP4FullTable(b *testing.B) {
	if testing.Short() {
		b.Skip("1 M routes take a while to load")
	}
	forwardBench(b, 1_000_000)
}

func TestForwardingAllocatesNothing(t *testing.T) {
	r := newRig(t)
	r.resolve()
	r.ports[1].discard = true
	frame := buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipFar, Payload: 18})
	a := r.dp.Arena
	var v pkt.Vector
	run := func() {
		for k := range pkt.VectorSize {
			i, _ := r.cache.Alloc()
			d, _ := a.SetData(i, pkt.Headroom, len(frame))
			copy(d, frame)
			v.Idx[k] = i
		}
		v.Len = pkt.VectorSize
		r.g.Inject(ethernet.NodeName, &v)
		r.g.Dispatch()
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Fatalf("%v allocations per 256-packet vector, want 0", n)
	}
	// The same holds for ping replies and ICMP errors (the in-place paths).
	ping := buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipRA, Proto: 1, Payload: 56})
	ttl := buildFrame(frameSpec{SrcMAC: hostA, DstMAC: macA, Src: ipHA, Dst: ipHB, TTL: 1})
	r.ports[0].discard = true
	for _, f := range [][]byte{ping, ttl} {
		frame = f
		run()
		if n := testing.AllocsPerRun(20, run); n != 0 {
			t.Fatalf("%v allocations per vector on the local/ICMP path", n)
		}
	}
}
