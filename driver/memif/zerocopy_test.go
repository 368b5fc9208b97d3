package memif

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
)

// TestZeroCopyInPlace: a zero-copy client's rings carry its arena slots.
// The server reads a sent frame from the packet's own slot (a byte changed
// in the slot after Send arrives), and a received frame is a slot the
// client stocked the ring with, at pkt.Headroom.
func TestZeroCopyInPlace(t *testing.T) {
	pool := pkttest.NewSharedPool(t, 4096)
	c := pool.NewCache()
	defer c.Flush()
	srv, cli := pair(t, Config{}, Config{Log2RingSize: 6, Pool: pool})
	sp, cp := srv.Ports()[0], cli.Ports()[0]
	a := c.Arena()
	s := cp.q.state.Load()
	if len(s.regions) != 2 || &s.regions[1].mem[0] != &a.Memory()[0] {
		t.Fatal("the client's region 1 is not the arena")
	}
	posted := map[pkt.Index]bool{}
	for _, i := range s.zc.rxSlots {
		posted[i] = true
	}
	if len(posted) != 64 || posted[noSlot] {
		t.Fatalf("receive ring stocked with %d distinct slots, want 64", len(posted))
	}

	var v pkt.Vector
	i, _ := c.Alloc()
	d, _ := a.SetData(i, pkt.Headroom+10, 100)
	copy(d, testFrame(1, 100))
	v.Append(i)
	if cp.Send(c, &v) != 1 {
		t.Fatal("send failed")
	}
	d[50] ^= 0xff // the ring holds slot i itself: the server sees this
	v.Reset()
	if sp.Recv(c, &v) != 1 {
		t.Fatal("server received nothing")
	}
	want := testFrame(1, 100)
	want[50] ^= 0xff
	if got := a.Data(v.Idx[0]); string(got) != string(want) {
		t.Fatalf("server got %x…, want the slot's bytes as changed after Send", got[:8])
	}
	if sp.Send(c, &v) != 1 {
		t.Fatal("server send failed")
	}
	v.Reset()
	if cp.Recv(c, &v) != 1 {
		t.Fatal("client received nothing")
	}
	r := v.Idx[0]
	if !posted[r] {
		t.Errorf("client received slot %d, not one it stocked the ring with", r)
	}
	if m := a.Meta(r); m.Off != pkt.Headroom || string(a.Data(r)) != string(want) {
		t.Errorf("client frame at offset %d: %x…", m.Off, a.Data(r)[:8])
	}
	c.FreeN(v.Slice())

	// The copy API moves nothing on a zero-copy queue.
	if n := cp.Queue().Send([][]byte{want}); n != 0 {
		t.Errorf("Queue.Send on a zero-copy queue sent %d", n)
	}
}

// TestZeroCopyReturnsBuffers: the slots a zero-copy client's rings hold
// (stocked receive buffers, sent frames the server has not consumed) go
// back to the pool when the connection ends, while the client lives on.
func TestZeroCopyReturnsBuffers(t *testing.T) {
	pool := pkttest.NewSharedPool(t, 1024)
	c := pool.NewCache()
	defer c.Flush()
	srv, cli := pair(t, Config{}, Config{Log2RingSize: 7, Pool: pool})
	cp := cli.Ports()[0]
	var v pkt.Vector
	for k := range 10 {
		i, _ := c.Alloc()
		d, _ := c.Arena().SetData(i, pkt.Headroom, 60)
		copy(d, testFrame(uint32(k), 60))
		v.Append(i)
	}
	if cp.Send(c, &v) != 10 {
		t.Fatal("send failed")
	}
	c.Flush()
	if n := pool.InUse(); n != 128+10 {
		t.Fatalf("%d buffers in use while connected, want 138 (128 stocked, 10 queued)", n)
	}
	srv.Close()
	testutil.Eventually(t, 5*time.Second, "client sees the server leave", func() bool { return cli.State() == Disconnected })
	if n := pool.InUse(); n != 0 {
		t.Fatalf("%d buffers still held after the disconnect", n)
	}
	if err := pool.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestZeroCopyNeedsSharedArena: a zero-copy client over a private arena is
// refused at Open; a server given a pool copies (and says so).
func TestZeroCopyNeedsSharedArena(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	if _, err := Open(Config{Socket: sock, Role: Client, Pool: pkttest.NewPool(t, 16)}); err == nil || !strings.Contains(err.Error(), "shared arena") {
		t.Fatalf("Open with a private arena: %v", err)
	}
	srv := open(t, Config{Socket: sock, Pool: pkttest.NewSharedPool(t, 16)})
	if srv.ZeroCopy() || !strings.HasPrefix(srv.Info(), "server copy ") {
		t.Errorf("server with a pool: zero-copy %v, info %q", srv.ZeroCopy(), srv.Info())
	}
}

// TestZeroCopyRefusedFramesKeepTheRingStocked: frames the zero-copy client
// refuses (a length past an arena buffer) keep their slots on the ring, and
// every later refill still posts a slot at every free position: over many
// rounds the server can always send a full ring, and the client holds
// exactly a ring's worth of slots.
func TestZeroCopyRefusedFramesKeepTheRingStocked(t *testing.T) {
	const ringSize = 16
	pool := pkttest.NewSharedPool(t, 1024)
	c := pool.NewCache()
	defer c.Flush()
	srv, cli := pair(t, Config{}, Config{Log2RingSize: 4, Pool: pool})
	sq, cp := srv.Ports()[0].Queue(), cli.Ports()[0]
	s := cli.queues[0].state.Load()
	frames := make([][]byte, ringSize)
	for k := range frames {
		frames[k] = testFrame(uint32(k), 60)
	}
	var v pkt.Vector
	refused := uint64(0)
	for round := range 20 {
		if n := sq.Send(frames); n != ringSize {
			t.Fatalf("round %d: the server sent %d of a %d-slot ring (the client did not restock it)", round, n, ringSize)
		}
		bad := 0
		if round%3 == 1 { // the server overstates two lengths after publishing
			for _, k := range []uint16{3, 9} {
				s.rx.desc(s.rxPos + k).Length = pkt.DataCap + 1
			}
			bad = 2
		}
		v.Reset()
		if n := cp.Recv(c, &v); n != ringSize-bad {
			t.Fatalf("round %d: received %d, want %d", round, n, ringSize-bad)
		}
		c.FreeN(v.Slice())
		refused += uint64(bad)
		c.Flush()
		if n := pool.InUse(); n != ringSize {
			t.Fatalf("round %d: %d slots in use, want the ring's %d", round, n, ringSize)
		}
	}
	if got := cp.Stats().RxErrors; got != refused {
		t.Errorf("RxErrors %d, want %d", got, refused)
	}
}
