package mem

import (
	"bytes"
	"testing"

	"github.com/vecnet/vecnet/pkt"
)

func TestOverflowCountsTxDrops(t *testing.T) {
	pool := newPool(t, 256)
	c := pool.NewCache()
	a, b := NewPair(Config{QueueLen: 6}, Config{}) // rounds up to 8
	var frames [][]byte
	for k := range 20 {
		frames = append(frames, frame(uint32(k), 60))
	}
	var v pkt.Vector
	load(t, c, &v, frames)
	if n := a.Send(c, &v); n != 8 {
		t.Fatalf("Send = %d, want 8 (the link's capacity)", n)
	}
	if st := a.Stats(); st.TxPackets != 8 || st.TxDrops != 12 {
		t.Fatalf("stats %+v, want 8 sent and 12 dropped", st)
	}
	got := drain(b, c)
	if len(got) != 8 || !bytes.Equal(got[7], frames[7]) {
		t.Fatalf("received %d frames, want the first 8", len(got))
	}
	// The link drained: it takes traffic again.
	load(t, c, &v, frames[:3])
	if n := a.Send(c, &v); n != 3 {
		t.Fatalf("Send after drain = %d, want 3", n)
	}
	drain(b, c)
}

func TestOversizeFrameDropped(t *testing.T) {
	pool := newPool(t, 16)
	c := pool.NewCache()
	a, b := NewPair(Config{}, Config{})
	i, _ := c.Alloc()
	if _, ok := c.Arena().SetData(i, 0, pkt.SlotSize); !ok {
		t.Fatal("SetData")
	}
	var v pkt.Vector
	v.Append(i)
	if n := a.Send(c, &v); n != 0 || a.Stats().TxDrops != 1 {
		t.Fatalf("Send = %d, stats %+v; want 0 and one drop", n, a.Stats())
	}
	if got := drain(b, c); len(got) != 0 {
		t.Fatalf("received %d frames", len(got))
	}
}

func TestRecvKeepsFramesWhenPoolIsDry(t *testing.T) {
	src, dst := newPool(t, 64), newPool(t, 4)
	cs, cd := src.NewCache(), dst.NewCache()
	a, b := NewPair(Config{}, Config{})
	var frames [][]byte
	for k := range 10 {
		frames = append(frames, frame(uint32(k), 100))
	}
	var v pkt.Vector
	load(t, cs, &v, frames)
	a.Send(cs, &v)
	if n := b.Recv(cd, &v); n != 4 || v.Len != 4 {
		t.Fatalf("Recv = %d with a pool of 4", n)
	}
	cd.FreeN(v.Slice())
	v.Reset()
	got := drain(b, cd)
	if len(got) != 6 || !bytes.Equal(got[0], frames[4]) {
		t.Fatalf("after refill got %d frames, want the remaining 6 in order", len(got))
	}
}

func TestRecvAppends(t *testing.T) {
	pool := newPool(t, 300)
	c := pool.NewCache()
	p := NewPort(Config{})
	for k := range 300 {
		p.Inject(frame(uint32(k), 64))
	}
	var v pkt.Vector
	load(t, c, &v, [][]byte{frame(999, 64)})
	if n := p.Recv(c, &v); n != pkt.VectorSize-1 || !v.Full() {
		t.Fatalf("Recv = %d into a vector holding 1, want %d", n, pkt.VectorSize-1)
	}
	if !bytes.Equal(c.Arena().Data(v.Idx[0]), frame(999, 64)) || !bytes.Equal(c.Arena().Data(v.Idx[1]), frame(0, 64)) {
		t.Fatal("Recv overwrote what the vector held")
	}
	c.FreeN(v.Slice())
	if got := drain(p, c); len(got) != 300-255 {
		t.Fatalf("%d frames left, want %d", len(got), 300-255)
	}
}

func TestTestSide(t *testing.T) {
	pool := newPool(t, 64)
	c := pool.NewCache()
	p := NewPort(Config{Name: "t", QueueLen: 4})
	in := [][]byte{frame(1, 60), frame(2, 1500)}
	if n := p.Inject(in...); n != 2 {
		t.Fatalf("Inject = %d", n)
	}
	if n := p.Inject(make([]byte, pkt.DataCap+1)); n != 0 {
		t.Fatalf("Inject of an oversize frame = %d, want 0", n)
	}
	if n := p.Inject(frame(3, 60), frame(4, 60), frame(5, 60)); n != 2 {
		t.Fatalf("Inject into a link with 2 free slots = %d", n)
	}
	got := drain(p, c)
	if len(got) != 4 || !bytes.Equal(got[1], in[1]) {
		t.Fatalf("received %d frames", len(got))
	}
	var v pkt.Vector
	load(t, c, &v, in)
	p.Send(c, &v)
	sent := p.Sent()
	if len(sent) != 2 || !bytes.Equal(sent[0], in[0]) || !bytes.Equal(sent[1], in[1]) {
		t.Fatalf("Sent returned %d frames", len(sent))
	}
	sent[0][0] ^= 0xff // the caller's copy
	load(t, c, &v, in[:1])
	p.Send(c, &v)
	taken := p.TakeSent()
	if len(taken) != 3 || !bytes.Equal(taken[0], in[0]) {
		t.Fatalf("TakeSent returned %d frames, want 3 intact", len(taken))
	}
	if n := len(p.Sent()); n != 0 {
		t.Fatalf("Sent after TakeSent has %d frames", n)
	}
	a, _ := NewPair(Config{Name: "a"}, Config{})
	for name, f := range map[string]func(){"Inject": func() { a.Inject(in[0]) }, "Sent": func() { a.Sent() }} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s on a paired port did not panic", name)
				}
			}()
			f()
		}()
	}
}

func TestClose(t *testing.T) {
	pool := newPool(t, 64)
	c := pool.NewCache()
	a, b := NewPair(Config{}, Config{})
	var v pkt.Vector
	load(t, c, &v, [][]byte{frame(1, 60)})
	a.Send(c, &v)
	if err := b.Close(c); err != nil {
		t.Fatal(err)
	}
	if n := b.Recv(c, &v); n != 0 {
		t.Fatalf("Recv on a closed port = %d", n)
	}
	load(t, c, &v, [][]byte{frame(2, 60)})
	if n := b.Send(c, &v); n != 0 || b.Stats().TxDrops != 1 || v.Len != 0 {
		t.Fatalf("Send on a closed port = %d, stats %+v", n, b.Stats())
	}
	a.Close(c)
	c.Flush()
	if n := pool.InUse(); n != 0 {
		t.Fatalf("%d buffers in use after close", n)
	}
}

// TestNoAllocs proves that Send and Recv of a full vector allocate nothing,
// with and without faults.
func TestNoAllocs(t *testing.T) {
	for _, cfg := range []Config{{}, {Loss: 0.01, Duplicate: 0.01, Reorder: 0.01, Corrupt: 0.01, Truncate: 0.01}} {
		pool := newPool(t, 1024)
		c := pool.NewCache()
		a, b := NewPair(cfg, Config{})
		var tx, rx pkt.Vector
		frames := make([][]byte, pkt.VectorSize)
		for k := range frames {
			frames[k] = frame(uint32(k), 64)
		}
		allocs := testing.AllocsPerRun(100, func() {
			n := c.AllocN(tx.Idx[:])
			for _, i := range tx.Idx[:n] {
				c.Arena().SetData(i, pkt.Headroom, 64)
			}
			tx.Len = n
			a.Send(c, &tx)
			for b.Recv(c, &rx) > 0 {
				c.FreeN(rx.Slice())
				rx.Reset()
			}
		})
		if allocs != 0 {
			t.Errorf("%+v: %v allocations per vector, want 0", cfg, allocs)
		}
	}
}

func BenchmarkPair(b *testing.B) {
	pool := newPool(b, 1024)
	c := pool.NewCache()
	x, y := NewPair(Config{}, Config{})
	var tx, rx pkt.Vector
	b.ReportAllocs()
	for b.Loop() {
		n := c.AllocN(tx.Idx[:])
		for _, i := range tx.Idx[:n] {
			c.Arena().SetData(i, pkt.Headroom, 64)
		}
		tx.Len = n
		x.Send(c, &tx)
		for y.Recv(c, &rx) > 0 {
			c.FreeN(rx.Slice())
			rx.Reset()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pkt.VectorSize), "ns/pkt")
}
