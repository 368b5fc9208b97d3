package graph

import (
	"sync/atomic"
	"testing"

	"github.com/vecnet/vecnet/pkt"
)

// tapRig is a graph split → even/odd sinks, error-drop for multiples of
// five, with a tap over two buffers.
type tapRig struct {
	g          *Graph
	c          *pkt.Cache
	free, full chan *TapBuffer
	budget     atomic.Int64
}

func newTapRig(t *testing.T, bufs, recs int) *tapRig {
	p, c := testCache(t, 1024)
	leakGate(t, p)
	var even, odd sink
	g, err := Build(c, []Registration{splitterReg(), sinkReg("even", &even), sinkReg("odd", &odd)})
	if err != nil {
		t.Fatal(err)
	}
	r := &tapRig{g: g, c: c, free: make(chan *TapBuffer, bufs), full: make(chan *TapBuffer, bufs)}
	for range bufs {
		r.free <- NewTapBuffer(recs, recs*64)
	}
	t.Cleanup(func() { g.Close(); c.Flush() })
	return r
}

// run injects packets with aux 1..n into split and dispatches.
func (r *tapRig) run(t testing.TB, n int) {
	var v pkt.Vector
	for k := 1; k <= n; k++ {
		i, ok := r.c.Alloc()
		if !ok {
			t.Fatal("pool empty")
		}
		m := r.c.Arena().Meta(i)
		m.Hash = uint32(k)
		m.RxPort = uint16(k % 2)
		r.c.Arena().SetData(i, 0, 60)
		v.Append(i)
	}
	if err := r.g.Inject("split", &v); err != nil {
		t.Fatal(err)
	}
	r.g.Dispatch()
}

// TestTapDrops: error-drop records every dropped packet with its error id
// and receive interface; the interface filter and the shared budget hold.
func TestTapDrops(t *testing.T) {
	r := newTapRig(t, 2, 64)
	r.budget.Store(3)
	tap := NewTap(0, TapDrop, 1, 64, &r.budget, r.free, r.full)
	r.g.SetTap(tap)
	r.run(t, 40) // drops 5 10 15 20 25 30 35 40; on interface 1: 5 15 25 35
	tap.Flush()
	b := <-r.full
	if len(b.Recs) != 3 {
		t.Fatalf("recorded %d drops, want 3 (the budget)", len(b.Recs))
	}
	want := r.g.Node("split").Err(0)
	for _, rec := range b.Recs {
		if rec.Dir != TapDrop || rec.Iface != 1 || rec.Err != want || rec.CapLen != 60 || rec.OrigLen != 60 {
			t.Errorf("record %+v: want a drop on interface 1 with error %d, 60 bytes", rec, want)
		}
	}
	if got := r.g.ErrorLabel(b.Recs[0].Err); got != "split: fives" {
		t.Errorf("ErrorLabel = %q, want split: fives", got)
	}
	if tap.Recorded != 3 || tap.Lost != 0 {
		t.Errorf("Recorded %d Lost %d, want 3 and 0", tap.Recorded, tap.Lost)
	}
	r.run(t, 40) // the budget is spent: nothing more
	tap.Flush()
	select {
	case b := <-r.full:
		t.Errorf("a buffer of %d records after the budget was spent", len(b.Recs))
	default:
	}
	r.g.SetTap(nil)
}

// TestTapLost: with every buffer full and not handed back, packets are
// counted as lost, never waited for.
func TestTapLost(t *testing.T) {
	r := newTapRig(t, 1, 2)
	r.budget.Store(100)
	tap := NewTap(0, TapDrop, -1, 64, &r.budget, r.free, r.full)
	r.g.SetTap(tap)
	r.run(t, 40) // 8 drops: 2 fit in the one buffer, which goes to full; 6 lost
	if tap.Recorded != 2 || tap.Lost != 6 {
		t.Errorf("Recorded %d Lost %d, want 2 and 6", tap.Recorded, tap.Lost)
	}
	r.g.SetTap(nil)
}

// TestTapAllocs: recording allocates nothing, and neither does a graph
// without a tap.
func TestTapAllocs(t *testing.T) {
	r := newTapRig(t, 2, 4096)
	r.budget.Store(1 << 40)
	tap := NewTap(0, TapDrop|TapRx, -1, 64, &r.budget, r.free, r.full)
	r.run(t, 200) // warm the frame pool
	for _, on := range []bool{false, true} {
		if on {
			r.g.SetTap(tap)
		}
		allocs := testing.AllocsPerRun(50, func() {
			r.run(t, 200)
			if b := tap.cur; b != nil && len(b.Recs) > 3000 {
				b.Recs, b.Data = b.Recs[:0], b.Data[:0]
			}
		})
		if allocs != 0 {
			t.Errorf("tap %v: %.1f allocations per run, want 0", on, allocs)
		}
	}
	r.g.SetTap(nil)
}

// TestTapBudgetAcrossWorkers: two workers' taps share one budget; together
// they record exactly max packets, whichever records first.
func TestTapBudgetAcrossWorkers(t *testing.T) {
	r0, r1 := newTapRig(t, 2, 64), newTapRig(t, 2, 64)
	var budget atomic.Int64
	budget.Store(11)
	t0 := NewTap(0, TapDrop, -1, 64, &budget, r0.free, r0.full)
	t1 := NewTap(1, TapDrop, -1, 64, &budget, r1.free, r1.full)
	r0.g.SetTap(t0)
	r1.g.SetTap(t1)
	for range 3 {
		r0.run(t, 20) // 4 drops each
		r1.run(t, 20)
	}
	if got := t0.Recorded + t1.Recorded; got != 11 {
		t.Errorf("recorded %d + %d = %d drops, want max 11", t0.Recorded, t1.Recorded, got)
	}
	for _, tap := range []*Tap{t0, t1} {
		tap.Flush()
	}
	n := 0
	for _, ch := range []chan *TapBuffer{r0.full, r1.full} {
		for len(ch) > 0 {
			n += len((<-ch).Recs)
		}
	}
	if n != 11 {
		t.Errorf("%d records handed to the writer, want 11", n)
	}
	r0.g.SetTap(nil)
	r1.g.SetTap(nil)
}
