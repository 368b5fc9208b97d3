package memif

import (
	"encoding/binary"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
)

// FuzzHostileRings: the peer shares the rings, so it can write anything
// into them at any time. The fuzzer overwrites the rings' headers and
// descriptors with arbitrary bytes; then both sides receive and send. They
// must not panic, never touch memory outside the regions (Go's bounds
// checks would panic), return every buffer to the pool, and count what
// they refused in RxErrors.
func FuzzHostileRings(f *testing.F) { fuzzHostileRings(f, false) }

// FuzzHostileRingsZeroCopy is FuzzHostileRings with a zero-copy client,
// whose rings hold its arena slots: whatever the server writes into them,
// every slot stays accounted for (the leak gate checks the pool at the end).
func FuzzHostileRingsZeroCopy(f *testing.F) { fuzzHostileRings(f, true) }

func fuzzHostileRings(f *testing.F, zc bool) {
	pool := newPool(f, 1024, zc)
	srv, cli := pair(f, Config{}, mode(Config{Log2RingSize: 4}, pool, zc))
	f.Add(uint16(6), []byte{8, 0}) // the s2m ring's head moves 8 on
	desc := make([]byte, 16)
	binary.LittleEndian.PutUint32(desc[4:], 1<<20)     // a huge length
	binary.LittleEndian.PutUint32(desc[8:], 1<<31)     // an offset past the region
	f.Add(uint16(128), append(desc, desc...))          // two bad descriptors on s2m
	f.Add(uint16(ringBytes(4)+6), []byte{0xff, 0xff})  // m2s head far ahead
	f.Add(uint16(ringBytes(4)+64), []byte{0x34, 0x12}) // m2s tail far ahead
	f.Fuzz(func(t *testing.T, off uint16, data []byte) {
		c := pool.NewCache()
		defer c.Flush()
		s := cli.queues[0].state.Load()
		if s == nil {
			t.Fatal("the pair is not connected")
		}
		mem := s.regions[0].mem[:2*ringBytes(4)] // both rings, headers and descriptors
		if int(off) < len(mem) {
			copy(mem[off:], data)
		}
		for _, p := range []*Port{srv.Ports()[0], cli.Ports()[0]} {
			var v pkt.Vector
			for range 4 {
				i, ok := c.Alloc()
				if !ok {
					t.Fatal("pool dry")
				}
				c.Arena().SetData(i, pkt.Headroom, 60)
				v.Append(i)
			}
			p.Send(c, &v)
			v.Reset()
			p.Recv(c, &v)
			for _, i := range v.Slice() {
				if n := len(c.Arena().Data(i)); n > pkt.DataCap {
					t.Fatalf("received a %d-byte frame", n)
				}
			}
			c.FreeN(v.Slice())
			p.Close(c) // a zero-copy port's recycled slots go back to the pool
		}
	})
}

// TestHostileDescriptors: descriptors that point outside the shared
// memory, or hold more than a buffer, are refused one by one and counted;
// the frames around them arrive.
func TestHostileDescriptors(t *testing.T) {
	pool := pkttest.NewPool(t, 256)
	c := pool.NewCache()
	defer c.Flush()
	srv, cli := pair(t, Config{}, Config{})
	sp := srv.Ports()[0]
	s := cli.queues[0].state.Load()
	good := testFrame(1, 60)
	frames := [][]byte{good, good, good, good, good}
	if n := cli.queues[0].Send(frames); n != 5 {
		t.Fatalf("sent %d", n)
	}
	// The client's s2m descriptors 1..3 go bad after it published them.
	s.tx.desc(1).Offset = 1 << 31         // outside the region
	s.tx.desc(2).Region = 9               // no such region
	s.tx.desc(3).Length = pkt.DataCap + 1 // more than an arena buffer
	var v pkt.Vector
	n := sp.Recv(c, &v)
	c.FreeN(v.Slice())
	if n != 2 || sp.Stats().RxErrors != 3 {
		t.Fatalf("received %d, RxErrors %d; want 2 and 3", n, sp.Stats().RxErrors)
	}
}
