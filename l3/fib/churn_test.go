package fib

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// churnPrefixes returns n distinct prefixes of length 24..32 in
// 11.0.0.0-110.255.255.255, a mix like a large table with host routes:
// 70 % random /24s, 30 % /25../32 clustered in n/64 /24 blocks (more-specifics
// and host routes sit in few subnets). Hops alternate between two next hops
// so the batches exercise adjacency references.
func churnPrefixes(n int) []netip.Prefix {
	rng := rand.New(rand.NewPCG(5, 6))
	seen := make(map[netip.Prefix]bool, n)
	out := make([]netip.Prefix, 0, n)
	blocks := make([]uint32, n/64+1)
	for i := range blocks {
		blocks[i] = (rng.Uint32()&0x00ffff00 | uint32(11+rng.IntN(100))<<24)
	}
	for len(out) < n {
		var p netip.Prefix
		if rng.IntN(10) < 7 {
			a := rng.Uint32()&0x00ffff00 | uint32(11+rng.IntN(100))<<24
			p = netip.PrefixFrom(netip.AddrFrom4(u32ip(a)), 24)
		} else {
			a := blocks[rng.IntN(len(blocks))] | rng.Uint32()&0xff
			p = netip.PrefixFrom(netip.AddrFrom4(u32ip(a)), 25+rng.IntN(8)).Masked()
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

var hopsAB = [2][]NextHop{
	{{Addr: netip.MustParseAddr("10.0.2.2"), Port: -1}},
	{{Addr: netip.MustParseAddr("10.0.1.2"), Port: -1}},
}

// churnBatches turns ps into add batches and delete batches of size n.
func churnBatches(ps []netip.Prefix, n int) (add, del [][]RouteChange) {
	for lo := 0; lo < len(ps); lo += n {
		hi := min(lo+n, len(ps))
		a := make([]RouteChange, 0, hi-lo)
		d := make([]RouteChange, 0, hi-lo)
		for i, p := range ps[lo:hi] {
			a = append(a, RouteChange{Prefix: p, Hops: hopsAB[i&1]})
			d = append(d, RouteChange{Prefix: p})
		}
		add, del = append(add, a), append(del, d)
	}
	return add, del
}

func applyAll(tb testing.TB, f *Table, batches [][]RouteChange) {
	for _, b := range batches {
		if err := f.ApplyRoutes(b); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkChurn1M adds 1 M prefixes (churnPrefixes) with ApplyRoutes in
// batches of 1k, 10k, 100k and all of them at once, then withdraws them in batches of the same
// size, and reports route updates a second for each phase.
func BenchmarkChurn1M(b *testing.B) {
	ps := churnPrefixes(1 << 20)
	for _, n := range []int{1_000, 10_000, 100_000, 1 << 20} {
		b.Run("batch="+strconv.Itoa(n), func(b *testing.B) {
			add, del := churnBatches(ps, n)
			f := newTestTable(b)
			var tAdd, tDel time.Duration
			cpu0 := cpuTime()
			for b.Loop() {
				t0 := time.Now()
				applyAll(b, f, add)
				t1 := time.Now()
				applyAll(b, f, del)
				tAdd += t1.Sub(t0)
				tDel += time.Since(t1)
			}
			runs := float64(b.N)
			b.ReportMetric(2*runs*float64(len(ps))/(cpuTime()-cpu0).Seconds()/1e6, "Mupd/cpu-s")
			b.ReportMetric(runs*float64(len(ps))/tAdd.Seconds()/1e6, "Madd/s")
			b.ReportMetric(runs*float64(len(ps))/tDel.Seconds()/1e6, "Mdel/s")
			b.ReportMetric(2*runs*float64(len(ps))/(tAdd+tDel).Seconds()/1e6, "Mupd/s")
			runtime.KeepAlive(f)
		})
	}
}

// cpuTime returns the process's user and system CPU time: on a shared,
// loaded machine updates per CPU-second are steadier than per wall second.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapInuse returns HeapInuse after a full collection.
func heapInuse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestChurnNoGrowth adds 1 Mi routes in batches of 100 000 and withdraws
// them, twice, with two Reclaims after each withdrawal (two neighbour
// sweeps): after them the table's own counts are back to the baseline, so
// are the pages of its off-heap tables that hold memory (first-level pages
// emptied and pages of second-level groups out of quarantine go back to
// the kernel at Reclaim). The second cycle allocates next to nothing: the
// RIB map is kept across a withdrawal followed soon by a refill, and so is
// ApplyRoutes's scratch space. Once the map has stayed drained for
// ribShrinkAfter Reclaims it is rebuilt, and the heap in use is back within
// 4 MiB of the baseline.
func TestChurnNoGrowth(t *testing.T) {
	ps := churnPrefixes(1 << 20)
	add, del := churnBatches(ps, 100_000)
	f := newTestTable(t)
	base := f.Stats()
	heap0 := heapInuse()
	res0 := residentPages(t, f.fib)
	const slack = 4 << 20
	slots0 := 0
	for cycle := range 2 {
		alloc0 := totalAlloc()
		applyAll(t, f, add)
		full := f.Stats()
		if full.Prefixes != base.Prefixes+len(ps) {
			t.Fatalf("cycle %d: %d prefixes after adding %d, baseline %d", cycle, full.Prefixes, len(ps), base.Prefixes)
		}
		applyAll(t, f, del)
		alloc := totalAlloc() - alloc0
		heapFull := heapInuse()
		resFull := residentPages(t, f.fib)
		if got := f.Stats(); got.Prefixes != base.Prefixes || got.Groups != base.Groups || got.Adjacencies != base.Adjacencies {
			t.Fatalf("cycle %d: after withdrawing every route the table counts %+v, baseline %+v (full: %+v)", cycle, got, base, full)
		}
		f.Reclaim() // the neighbour table's sweep: freed next-hop slots and groups become reusable
		f.Reclaim()
		if got := f.Stats(); got != base {
			t.Fatalf("cycle %d: after two reclaims the table counts %+v, baseline %+v (pages or blocks of groups kept)", cycle, got, base)
		}
		if slots := f.AdjStats().Slots; cycle == 0 {
			slots0 = slots
		} else if slots != slots0 {
			t.Fatalf("cycle %d: %d adjacency slots, %d after the first cycle", cycle, slots, slots0)
		}
		res := residentPages(t, f.fib)
		t.Logf("cycle %d: full %+v, %d MiB allocated, heap %d MiB before the reclaims, %d table pages resident before, %d after (baseline %d MiB, %d pages)",
			cycle, full, alloc>>20, heapFull>>20, resFull, res, heap0>>20, res0)
		if res > res0 {
			t.Fatalf("cycle %d: %d pages of the table resident after the withdrawal, baseline %d (before the reclaims: %d)", cycle, res, res0, resFull)
		}
		if cycle > 0 && alloc > 8<<20 {
			t.Fatalf("cycle %d allocated %d MiB: the RIB map or the batch scratch was rebuilt", cycle, alloc>>20)
		}
	}
	for range ribShrinkAfter {
		f.Reclaim()
	}
	if h := heapInuse(); h > heap0+slack {
		t.Fatalf("heap in use %d MiB after %d more Reclaims, baseline %d MiB: the table keeps memory", h>>20, ribShrinkAfter, heap0>>20)
	}
	runtime.KeepAlive(add)
	runtime.KeepAlive(del)
}

// totalAlloc returns the bytes allocated so far.
func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// TestApplyRoutesAgreesWithReference applies random batches of adds and
// deletes of nested prefixes (covers at every length, across the /24 line included) and
// checks every probe against the linear-scan reference.
func TestApplyRoutesAgreesWithReference(t *testing.T) {
	for seed := range uint64(8) {
		rng := rand.New(rand.NewPCG(seed, 7))
		f := newTestTable(t)
		ref := refTable{} // prefix -> hop index + 1
		for range 40 {
			var batch []RouteChange
			seen := map[netip.Prefix]bool{}
			for range 1 + rng.IntN(30) {
				a := 0xac100000 | rng.Uint32()&0x0000ffff // 172.16.0.0/16: nests, off the connected subnets
				p := netip.PrefixFrom(netip.AddrFrom4(u32ip(a)), 12+rng.IntN(21)).Masked()
				if seen[p] {
					continue
				}
				seen[p] = true
				if _, ok := ref[p]; ok && rng.IntN(2) == 0 {
					batch = append(batch, RouteChange{Prefix: p})
					delete(ref, p)
				} else {
					h := rng.IntN(2)
					batch = append(batch, RouteChange{Prefix: p, Hops: hopsAB[h]})
					ref[p] = uint32(h + 1)
				}
			}
			if err := f.ApplyRoutes(batch); err != nil {
				t.Fatal(err)
			}
			for _, d := range probes(rng, ref) {
				want := ref.lookup(d)
				a := look(f, netip.AddrFrom4(d).String())
				if netip.AddrFrom4(d).Is4() && d[0] == 10 {
					continue // the connected subnets
				}
				switch {
				case want == 0 && a.Kind != AdjDrop:
					t.Fatalf("seed %d: %v: %v via %v, want drop", seed, netip.AddrFrom4(d), a.Kind, a.NextHop)
				case want != 0 && netip.AddrFrom4(a.NextHop) != hopsAB[want-1][0].Addr:
					t.Fatalf("seed %d: %v: %v via %v, want via %v", seed, netip.AddrFrom4(d), a.Kind, netip.AddrFrom4(a.NextHop), hopsAB[want-1][0].Addr)
				}
			}
		}
	}
}

// churnAddrs returns n destinations, each inside a random prefix of ps
// (every lookup hits a route, as dpdk-test-fib's lookups do by default).
func churnAddrs(ps []netip.Prefix, n int) [][4]byte {
	rng := rand.New(rand.NewPCG(7, 8))
	out := make([][4]byte, n)
	for i := range out {
		p := ps[rng.IntN(len(ps))]
		host := uint32(uint64(rng.Uint32()) & (uint64(1)<<(32-p.Bits()) - 1))
		out[i] = u32ip(addr32(p) | host)
	}
	return out
}

var churnBig struct {
	f     *Table
	ps    []netip.Prefix
	addrs [][4]byte
}

// churnTable loads churnPrefixes(1 M) with one ApplyRoutes (once).
func churnTable(b testing.TB) (*Table, [][4]byte) {
	if churnBig.f == nil {
		ps := churnPrefixes(1 << 20)
		add, _ := churnBatches(ps, len(ps))
		f := newTestTable(b)
		applyAll(b, f, add)
		churnBig.f, churnBig.ps, churnBig.addrs = f, ps, churnAddrs(ps, 1<<20)
	}
	return churnBig.f, churnBig.addrs
}

// BenchmarkLookupChurn1M: the 1 M-route churn table, 1 Mi destinations
// inside its prefixes (mostly cache misses), one View.Lookup per op, for
// comparison with dpdk-test-fib's DIR24_8 on the same routes and
// addresses (TestWriteChurnTables).
func BenchmarkLookupChurn1M(b *testing.B) {
	f, addrs := churnTable(b)
	v := f.Load()
	var sink AdjIndex
	i := 0
	t0 := time.Now()
	for b.Loop() {
		sink += v.Lookup(addrs[i&(len(addrs)-1)], uint32(i))
		i++
	}
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds()/1e6, "Mlookups/s")
	_ = sink
}

// TestWriteChurnTables writes the churn routes and lookup addresses in
// dpdk-test-fib's formats (-f routes, -t addresses): 1 M of each to the
// directory $VECNET_FIB_DUMP, for BENCHMARKS.md section 10; without it, 4 Ki
// of each to a temporary directory, checked line by line.
func TestWriteChurnTables(t *testing.T) {
	dir, n := os.Getenv("VECNET_FIB_DUMP"), 1<<20
	if dir == "" {
		dir, n = t.TempDir(), 1<<12
	}
	ps := churnPrefixes(n)
	var rb, ab strings.Builder
	for i, p := range ps {
		fmt.Fprintf(&rb, "%v %d\n", p, 1+i&1)
	}
	addrs := churnAddrs(ps, n)
	for _, a := range addrs {
		fmt.Fprintf(&ab, "%v\n", netip.AddrFrom4(a))
	}
	for _, f := range []struct {
		name, text string
		lines      int
	}{{"routes.txt", rb.String(), len(ps)}, {"ips.txt", ab.String(), len(addrs)}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.text), 0o644); err != nil {
			t.Fatal(err)
		}
		back, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(back), "\n"), "\n")
		if len(lines) != f.lines || f.lines == 0 {
			t.Fatalf("%s: %d lines, want %d", f.name, len(lines), f.lines)
		}
		for _, l := range lines {
			field, _, _ := strings.Cut(l, " ")
			if _, err := netip.ParsePrefix(field); err != nil && f.name == "routes.txt" {
				t.Fatalf("%s: %q: %v", f.name, l, err)
			}
			if _, err := netip.ParseAddr(field); err != nil && f.name == "ips.txt" {
				t.Fatalf("%s: %q: %v", f.name, l, err)
			}
		}
	}
}
