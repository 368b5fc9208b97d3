package fib

import (
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/gaissmai/bart"
	"golang.org/x/sys/unix"
)

// benchPrefixes returns n random prefixes of length 16..24 in
// 11.0.0.0-110.255.255.255 plus a few /8s, as dataplane's forwardBench does.
func benchPrefixes(n int) []netip.Prefix {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]netip.Prefix, 0, n+4)
	for _, p := range []string{"11.0.0.0/8", "40.0.0.0/8", "77.0.0.0/8", "100.0.0.0/8"} {
		out = append(out, pfx(p))
	}
	for range n {
		a := rng.Uint32()&^0xff000000 | uint32(11+rng.IntN(100))<<24
		out = append(out, netip.PrefixFrom(netip.AddrFrom4(u32ip(a)), 16+rng.IntN(9)).Masked())
	}
	return out
}

// benchAddrs returns 64 Ki random destinations in the routed range.
func benchAddrs() [][4]byte {
	rng := rand.New(rand.NewPCG(3, 4))
	out := make([][4]byte, 1<<16)
	for i := range out {
		out[i] = u32ip(rng.Uint32()&^0xff000000 | uint32(11+rng.IntN(100))<<24)
	}
	return out
}

var hopB = []NextHop{{Addr: netip.MustParseAddr("10.0.2.2"), Port: -1}}

var big struct {
	f   *Table
	dur time.Duration
	mb  uint64
}

// bigTable loads 1 M routes one AddRoute at a time (once per process).
func bigTable(b *testing.B) *Table {
	if big.f != nil {
		return big.f
	}
	f := newTestTable(b)
	ps := benchPrefixes(1 << 20)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	for _, p := range ps {
		if err := f.AddRoute(p, hopB); err != nil {
			b.Fatal(err)
		}
	}
	big.dur = time.Since(t0)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	runtime.KeepAlive(ps) // measured in m0: keep it out of the difference
	big.f, big.mb = f, (m1.HeapAlloc-m0.HeapAlloc)>>20
	return f
}

// BenchmarkLoad1M reports the one-by-one load of 1 M routes: time and the
// heap the table holds afterwards.
func BenchmarkLoad1M(b *testing.B) {
	for b.Loop() {
		big.f = nil
		bigTable(b)
	}
	b.ReportMetric(big.dur.Seconds(), "s/1M-load")
	b.ReportMetric(float64(big.mb), "MB-heap")
	b.Logf("1M AddRoute: %v, heap %d MB, %d prefixes", big.dur, big.mb, big.f.Load().Len())
}

// BenchmarkLoad1MBatch loads 1 M routes with one AddRoutes call.
func BenchmarkLoad1MBatch(b *testing.B) {
	ps := benchPrefixes(1 << 20)
	for b.Loop() {
		f := newTestTable(b)
		if err := f.AddRoutes(ps, hopB); err != nil {
			b.Fatal(err)
		}
	}
}

func benchLookup(b *testing.B, f *Table, addrs [][4]byte) {
	v := f.Load()
	var sink AdjIndex
	i := 0
	for b.Loop() {
		sink += v.Lookup(addrs[i&(len(addrs)-1)], uint32(i))
		i++
	}
	_ = sink
}

// BenchmarkLookup: a small table (connected, local, a few statics).
func BenchmarkLookup(b *testing.B) {
	f := newTestTable(b)
	for _, p := range []string{"0.0.0.0/0", "192.168.0.0/16", "192.168.1.0/24", "172.16.0.0/12"} {
		if err := f.AddRoute(pfx(p), hopB); err != nil {
			b.Fatal(err)
		}
	}
	addrs := make([][4]byte, 256)
	for i := range addrs {
		addrs[i] = [4]byte{192, 168, byte(i % 3), byte(i)}
	}
	benchLookup(b, f, addrs)
}

// BenchmarkLookup1M: 1 M routes, 64 Ki random destinations (mostly cache
// misses: the level-3 nodes hold ~35 MB).
func BenchmarkLookup1M(b *testing.B) {
	benchLookup(b, bigTable(b), benchAddrs())
}

// BenchmarkLookup1MHot: 1 M routes, 256 destinations (a vector's worth,
// cache-resident), as dataplane's forwarding benchmark sends.
func BenchmarkLookup1MHot(b *testing.B) {
	benchLookup(b, bigTable(b), benchAddrs()[:256])
}

// BenchmarkLookupBart measures bart.Fast (the best bart variant for lookup)
// on the same 1 M prefixes and addresses, for comparison.
func BenchmarkLookupBart(b *testing.B) {
	ft := new(bart.Fast[uint32])
	for i, p := range benchPrefixes(1 << 20) {
		ft.Insert(p, uint32(i))
	}
	addrs := benchAddrs()
	for _, n := range []int{len(addrs), 256} {
		b.Run(map[int]string{256: "hot"}[n]+"1M", func(b *testing.B) {
			var sink uint32
			i := 0
			for b.Loop() {
				v, _ := ft.Lookup(netip.AddrFrom4(addrs[i&(n-1)]))
				sink += v
				i++
			}
			_ = sink
		})
	}
}

// BenchmarkLookupBatchChurn1M is BenchmarkLookupChurn1M through
// View.LookupBatch, one vector of 256 destinations per op (as
// dpdk-test-fib times rte_fib_lookup_bulk); it reports ns per lookup, wall
// and on the thread's CPU clock (steadier on a shared machine: the time
// the thread waited for a CPU is left out); /vec256 looks up ip4-lookup's
// vectors, /vec64 rte_fib's bulk in dpdk-test-fib.
func BenchmarkLookupBatchChurn1M(b *testing.B) {
	f, addrs := churnTable(b)
	v := f.Load()
	dst := make([]uint32, len(addrs))
	for i, a := range addrs {
		dst[i] = uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	}
	run := func(b *testing.B, vec int) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var hash [256]uint32
		var out [256]AdjIndex
		var sink AdjIndex
		i := 0
		c0, t0 := threadCPU(), time.Now()
		for b.Loop() {
			v.LookupBatch(dst[i&(len(dst)-1):][:vec], hash[:vec], out[:vec])
			sink += out[i&(vec-1)]
			i += vec
		}
		el, cpu := time.Since(t0), threadCPU()-c0
		b.ReportMetric(float64(el.Nanoseconds())/float64(b.N*vec), "ns/lookup")
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*vec), "cpu-ns/lookup")
		b.ReportMetric(float64(b.N*vec)/el.Seconds()/1e6, "Mlookups/s")
		_ = sink
	}
	b.Run("vec256", func(b *testing.B) { run(b, 256) })
	b.Run("vec64", func(b *testing.B) { run(b, 64) })
}

// threadCPU returns the calling thread's CPU time.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
