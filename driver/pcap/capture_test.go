package pcap

import (
	"bytes"
	"testing"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/driver/mem"
	"github.com/vecnet/vecnet/pkt"
)

// waitPort is a mem port that also says it can be waited on.
type waitPort struct {
	*mem.Port
	prepared int
}

func (w *waitPort) PollFD() int  { return 42 }
func (w *waitPort) PrepareWait() { w.prepared++ }

func TestCaptureForwardsWaiter(t *testing.T) {
	plain := Capture(mem.NewPort(mem.Config{}), nil, nil)
	if _, ok := plain.(driver.Waiter); ok {
		t.Error("capture of a port that is not a Waiter is a Waiter")
	}
	inner := &waitPort{Port: mem.NewPort(mem.Config{})}
	wrapped := Capture(inner, nil, nil)
	w, ok := wrapped.(driver.Waiter)
	if !ok {
		t.Fatal("capture of a Waiter is not a Waiter")
	}
	w.PrepareWait()
	if w.PollFD() != 42 || inner.prepared != 1 {
		t.Errorf("PollFD = %d, PrepareWait calls %d; want 42, 1", w.PollFD(), inner.prepared)
	}
}

func TestCaptureRecords(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rx, tx bool
	}{{"both", true, true}, {"rx only", true, false}, {"tx only", false, true}, {"neither", false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			pool := newPool(t, 64)
			c := pool.NewCache()
			var rxFile, txFile bytes.Buffer
			var rx, tx *Writer
			if tc.rx {
				rx, _ = NewWriter(&rxFile, 0)
			}
			if tc.tx {
				tx, _ = NewWriter(&txFile, 0)
			}
			inner := mem.NewPort(mem.Config{})
			p := Capture(inner, rx, tx)
			in := [][]byte{bytes.Repeat([]byte{1}, 60), bytes.Repeat([]byte{2}, 1500)}
			inner.Inject(in...)
			var v pkt.Vector
			// A packet already in the vector is not recorded as received.
			i, _ := c.Alloc()
			c.Arena().SetData(i, pkt.Headroom, 10)
			v.Append(i)
			if n := p.Recv(c, &v); n != 2 || v.Len != 3 {
				t.Fatalf("Recv = %d, v.Len = %d", n, v.Len)
			}
			if n := p.Send(c, &v); n != 3 {
				t.Fatalf("Send = %d", n)
			}
			if sent := inner.TakeSent(); len(sent) != 3 || !bytes.Equal(sent[2], in[1]) {
				t.Fatalf("inner sent %d frames", len(sent))
			}
			if tc.rx {
				got := readAll(t, rxFile.Bytes())
				if len(got) != 2 || !bytes.Equal(got[0], in[0]) || !bytes.Equal(got[1], in[1]) {
					t.Errorf("rx capture holds %d records", len(got))
				}
			}
			if tc.tx {
				got := readAll(t, txFile.Bytes())
				if len(got) != 3 || len(got[0]) != 10 || !bytes.Equal(got[2], in[1]) {
					t.Errorf("tx capture holds %d records", len(got))
				}
			}
			if p.Stats() != inner.Stats() {
				t.Error("Stats not passed through")
			}
			if err := p.Close(c); err != nil {
				t.Fatal(err)
			}
			if n := p.Recv(c, &v); n != 0 {
				t.Error("Close did not reach inner")
			}
		})
	}
}

func TestCaptureNoAllocs(t *testing.T) {
	pool := newPool(t, 1024)
	c := pool.NewCache()
	a, b := mem.NewPair(mem.Config{}, mem.Config{})
	rxw, _ := NewWriter(discard{}, 0)
	txw, _ := NewWriter(discard{}, 0)
	ca, cb := Capture(a, nil, txw), Capture(b, rxw, nil)
	var tx, rx pkt.Vector
	n := testing.AllocsPerRun(100, func() {
		k := c.AllocN(tx.Idx[:])
		for _, i := range tx.Idx[:k] {
			c.Arena().SetData(i, pkt.Headroom, 64)
		}
		tx.Len = k
		ca.Send(c, &tx)
		for cb.Recv(c, &rx) > 0 {
			c.FreeN(rx.Slice())
			rx.Reset()
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per vector through two captures", n)
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
