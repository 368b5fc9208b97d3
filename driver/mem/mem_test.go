package mem

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/pkt"
)

var _ driver.Port = (*Port)(nil)

// frame returns a frame of n bytes (n >= 4) that starts with seq.
func frame(seq uint32, n int) []byte {
	f := make([]byte, n)
	binary.BigEndian.PutUint32(f, seq)
	for k := 4; k < n; k++ {
		f[k] = byte(int(seq)*7 + k)
	}
	return f
}

// load fills v with copies of frames allocated from c.
func load(t testing.TB, c *pkt.Cache, v *pkt.Vector, frames [][]byte) {
	t.Helper()
	for _, f := range frames {
		i, ok := c.Alloc()
		if !ok {
			t.Fatal("pool ran dry")
		}
		d, ok := c.Arena().SetData(i, pkt.Headroom, len(f))
		if !ok {
			t.Fatalf("frame of %d bytes does not fit", len(f))
		}
		copy(d, f)
		v.Append(i)
	}
}

// drain receives everything waiting on p, returns copies and frees the buffers.
func drain(p *Port, c *pkt.Cache) [][]byte {
	var out [][]byte
	var v pkt.Vector
	for p.Recv(c, &v) > 0 {
		for _, i := range v.Slice() {
			out = append(out, bytes.Clone(c.Arena().Data(i)))
		}
		c.FreeN(v.Slice())
		v.Reset()
	}
	return out
}

func TestPairDeliversIntact(t *testing.T) {
	pool := newPool(t, 1024)
	c := pool.NewCache()
	a, b := NewPair(Config{Name: "a"}, Config{Name: "b"})
	tests := []struct {
		name  string
		sizes []int
	}{
		{"one small", []int{60}},
		{"mixed", []int{4, 60, 1514, 9000 % pkt.DataCap, pkt.DataCap}},
		{"full vector", func() []int {
			s := make([]int, pkt.VectorSize)
			for k := range s {
				s[k] = 64 + k
			}
			return s
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, dir := range []struct{ tx, rx *Port }{{a, b}, {b, a}} {
				var want [][]byte
				for k, n := range tc.sizes {
					want = append(want, frame(uint32(k), n))
				}
				before := dir.rx.Stats()
				var v pkt.Vector
				load(t, c, &v, want)
				if n := dir.tx.Send(c, &v); n != len(want) || v.Len != 0 {
					t.Fatalf("Send = %d, v.Len = %d; want %d, 0", n, v.Len, len(want))
				}
				got := drain(dir.rx, c)
				if len(got) != len(want) {
					t.Fatalf("%s received %d frames, want %d", dir.rx.Name(), len(got), len(want))
				}
				for k := range want {
					if !bytes.Equal(got[k], want[k]) {
						t.Fatalf("frame %d differs: got %d bytes, want %d", k, len(got[k]), len(want[k]))
					}
				}
				st := dir.rx.Stats()
				if st.RxPackets-before.RxPackets != uint64(len(want)) {
					t.Errorf("RxPackets grew by %d, want %d", st.RxPackets-before.RxPackets, len(want))
				}
			}
		})
	}
	if a.Stats().TxBytes != b.Stats().RxBytes || b.Stats().TxBytes != a.Stats().RxBytes {
		t.Errorf("byte counters disagree: a %+v b %+v", a.Stats(), b.Stats())
	}
}

// TestPairAcrossGoroutines runs the two ends on two goroutines with their
// own pools, as two workers would; run it with -race.
func TestPairAcrossGoroutines(t *testing.T) {
	const total = 50000
	pa, pb := newPool(t, 1024), newPool(t, 1024)
	a, b := NewPair(Config{Name: "a", QueueLen: 512}, Config{Name: "b"})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := pa.NewCache()
		defer c.Flush()
		var v pkt.Vector
		// A full link refuses the tail of a vector: Send transmits a
		// prefix, so resending from the first refused frame keeps order.
		for seq := uint32(0); seq < total; {
			start := seq
			for k := seq; !v.Full() && k < total; k++ {
				i, _ := c.Alloc()
				d, _ := c.Arena().SetData(i, pkt.Headroom, 64)
				copy(d, frame(k, 64))
				v.Append(i)
			}
			seq = start + uint32(a.Send(c, &v))
		}
	}()
	c := pb.NewCache()
	var v pkt.Vector
	next := uint32(0)
	for next < total {
		b.Recv(c, &v)
		for _, i := range v.Slice() {
			d := c.Arena().Data(i)
			if !bytes.Equal(d, frame(next, 64)) {
				t.Fatalf("frame %d: got seq %d", next, binary.BigEndian.Uint32(d))
			}
			next++
		}
		c.FreeN(v.Slice())
		v.Reset()
	}
	<-done
	c.Flush()
}
