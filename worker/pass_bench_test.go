package worker

import (
	"runtime"
	"testing"
	"time"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
)

// passWorker is a busy-polling worker whose graph has one input node that
// produces batch packets a pass (0: every pass is idle), freed by a sink,
// and a node with a timer, as a router's graph has; the worker stops
// itself after passes passes. It measures the loop's own cost per pass.
func passWorker(tb testing.TB, passes, batch int) *Worker {
	pool := pkttest.NewPool(tb, 1024)
	c := pool.NewCache()
	tb.Cleanup(func() { c.Flush() })
	var w *Worker
	made := 0
	in := graph.Registration{Name: "bench-input", Kind: graph.Input, Next: []string{"sink"},
		Func: func(n *graph.Node, v *pkt.Vector) int {
			made++
			if made >= passes {
				w.stop.Store(true)
			}
			if batch == 0 {
				return 0
			}
			k := c.AllocN(v.Idx[:batch])
			v.Len = k
			n.EnqueueAll(v, 1)
			return k
		}}
	sink := graph.Registration{Name: "sink", Func: func(n *graph.Node, v *pkt.Vector) int {
		k := v.Len
		n.Cache().FreeN(v.Idx[:k])
		v.Reset()
		return k
	}}
	ticks := graph.Registration{Name: "ticker", Func: func(*graph.Node, *pkt.Vector) int { return 0 },
		Tick: func(*graph.Node) {}}
	g, err := graph.Build(c, []graph.Registration{in, sink, ticks})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(g.Close)
	w, err = New(0, g, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(w.Stop)
	w.BusyPoll = true
	return w
}

// BenchmarkIdlePass: one worker pass that finds nothing (the fixed cost of
// polling between bursts). Under callgrind, instructions per pass are
// (Ir(300x) - Ir(100x)) / 200.
func BenchmarkIdlePass(b *testing.B) {
	w := passWorker(b, b.N, 0)
	b.ReportAllocs()
	b.ResetTimer()
	w.Run()
	if got := w.stats.Loops; got != uint64(b.N) {
		b.Fatalf("%d passes, want %d", got, b.N)
	}
}

// BenchmarkBusyPass: one worker pass that moves one packet from the input
// node to the sink (the loop's cost per busy pass, the graph's included).
func BenchmarkBusyPass(b *testing.B) {
	w := passWorker(b, b.N, 1)
	b.ReportAllocs()
	b.ResetTimer()
	w.Run()
	if got := w.stats.Packets; got != uint64(b.N) {
		b.Fatalf("%d packets, want %d", got, b.N)
	}
}

// TestPassAllocs: neither an idle nor a busy pass allocates (the loop of
// 10 000 passes allocates less than once in 100 passes, whatever the
// runtime does around it).
func TestPassAllocs(t *testing.T) {
	for _, batch := range []int{0, 1} {
		const passes = 10000
		w := passWorker(t, passes, batch)
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		w.Run()
		runtime.ReadMemStats(&m1)
		if n := m1.Mallocs - m0.Mallocs; n > passes/100 {
			t.Errorf("batch %d: %d allocations in %d passes", batch, n, passes)
		}
		if w.stats.Loops != passes {
			t.Errorf("batch %d: %d passes, want %d", batch, w.stats.Loops, passes)
		}
	}
}

// TestOneClockReadPerPass: the worker reads the graph's clock once per
// pass, and a pass that moved packets once more after its flush, for
// BusyNs; the graph's timers and the worker's bookkeeping share those
// reads (a clock advancing 1 µs a read makes every busy pass last 1 µs).
func TestOneClockReadPerPass(t *testing.T) {
	for _, batch := range []int{0, 1} {
		const passes = 1000
		w := passWorker(t, passes, batch)
		var reads, now int64
		w.Graph.SetClock(func() int64 { reads++; now += 1000; return now })
		reads = 0
		w.Run()
		want := int64(passes)
		if batch > 0 {
			want *= 2
		}
		if reads != want {
			t.Errorf("batch %d: %d clock reads in %d passes, want %d", batch, reads, passes, want)
		}
		if batch > 0 && w.stats.BusyNs != passes*1000 {
			t.Errorf("busy passes took %d ns on the graph's clock, want %d", w.stats.BusyNs, passes*1000)
		}
		if batch > 0 && w.stats.BusyPassHist[passBucket(time.Microsecond)] != passes {
			t.Errorf("pass histogram %v, want all %d in the 1 µs bucket", w.stats.BusyPassHist, passes)
		}
	}
}
