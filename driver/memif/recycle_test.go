package memif

import (
	"slices"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
)

// TestZeroCopyRecycle: the slots of frames a zero-copy port transmitted,
// once its peer consumed them, restock another zero-copy port's receive
// ring on the same cache — the very slots, not fresh ones from the cache —
// and when the last of the cache's ports closes, those still held go back
// to the pool (the first close keeps them: the other port may still run).
func TestZeroCopyRecycle(t *testing.T) {
	pool := pkttest.NewSharedPool(t, 4096)
	c := pool.NewCache()
	defer c.Flush()
	srvA, cliA := pair(t, Config{}, Config{Log2RingSize: 6, Pool: pool})
	srvB, cliB := pair(t, Config{}, Config{Log2RingSize: 6, Pool: pool})
	spA, cpA := srvA.Ports()[0], cliA.Ports()[0]
	spB, cpB := srvB.Ports()[0], cliB.Ports()[0]
	a := c.Arena()
	send := func(p *Port, n int) []pkt.Index {
		t.Helper()
		var v pkt.Vector
		for k := range n {
			i, ok := c.Alloc()
			if !ok {
				t.Fatal("pool dry")
			}
			d, _ := a.SetData(i, pkt.Headroom, 60)
			copy(d, testFrame(uint32(k), 60))
			v.Append(i)
		}
		sent := slices.Clone(v.Slice())
		if got := p.Send(c, &v); got != n {
			t.Fatalf("sent %d of %d", got, n)
		}
		return sent
	}
	recv := func(p *Port, n int) {
		t.Helper()
		var v pkt.Vector
		if got := p.Recv(c, &v); got != n {
			t.Fatalf("received %d, want %d", got, n)
		}
		c.FreeN(v.Slice())
	}

	transmitted := send(cpB, 32)
	recv(spB, 32)  // the server consumes them: the tail moves past
	send(cpB, 1)   // the next send reclaims the 32
	rec := cpB.rec // cpA's, too, once it meets c
	if got := slices.Sorted(slices.Values(rec.slots)); !slices.Equal(got, slices.Sorted(slices.Values(transmitted))) {
		t.Fatalf("recycler holds %v, want the transmitted slots %v", got, transmitted)
	}
	cached := c.Len()
	send(spA, 16) // to cpA, whose refill takes 16 recycled slots
	recv(cpA, 16)
	if cpA.rec != rec || len(rec.slots) != 16 {
		t.Fatalf("after a refill of 16 the recycler holds %d (shared: %v)", len(rec.slots), cpA.rec == rec)
	}
	s := cpA.q.state.Load()
	reposted := 0
	for _, i := range s.zc.rxSlots {
		if slices.Contains(transmitted, i) {
			reposted++
		}
	}
	if reposted != 16 {
		t.Errorf("%d transmitted slots restock the receive ring, want 16", reposted)
	}
	if c.Len() < cached {
		t.Errorf("the refill allocated from the cache (%d -> %d buffers)", cached, c.Len())
	}

	inUse := pool.InUse()
	cpA.Close(c)
	if len(rec.slots) != 16 || pool.InUse() != inUse {
		t.Fatalf("the first close released the shared recycler (%d held, in use %d -> %d)", len(rec.slots), inUse, pool.InUse())
	}
	cpB.Close(c)
	if len(rec.slots) != 0 || pool.InUse() != inUse-16 {
		t.Fatalf("the last close left %d slots held (in use %d -> %d)", len(rec.slots), inUse, pool.InUse())
	}
}
