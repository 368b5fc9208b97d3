package driver_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/driver/mem"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/pkt/pkttest"
)

// fill allocates n packets from c into v, each a 60-byte frame whose first
// byte is tag.
func fill(t *testing.T, c *pkt.Cache, v *pkt.Vector, n int, tag byte) {
	t.Helper()
	for range n {
		i, ok := c.Alloc()
		if !ok {
			t.Fatal("pool empty")
		}
		m := c.Arena().Meta(i)
		*m = pkt.Meta{Off: pkt.Headroom, Len: 60}
		c.Arena().Data(i)[0] = tag
		v.Append(i)
	}
}

// TestShareTXDeliversWhatWorkerOneRoutes: two workers, an interface with one
// queue. What worker 1 sends on it leaves through worker 0's queue, in order,
// once worker 0 polls; a sleeping owner is woken.
func TestShareTXDeliversWhatWorkerOneRoutes(t *testing.T) {
	pool := pkttest.NewPool(t, 16384)
	c0, c1 := pool.NewCache(), pool.NewCache()
	q := mem.NewPort(mem.Config{Name: "q0", QueueLen: 8192})
	ports, waiters, err := driver.ShareTX([]driver.Port{q}, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for w := len(ports) - 1; w >= 0; w-- {
			ports[w].Close(c0)
		}
		c0.Flush()
		c1.Flush()
	})
	if len(ports) != 2 || waiters[0] == nil || waiters[1] != nil {
		t.Fatalf("ports %d, waiters %v", len(ports), waiters)
	}
	owner, sender := ports[0], ports[1]
	if _, ok := owner.(driver.Waiter); !ok {
		t.Fatal("the owner is no Waiter")
	}

	// The owner announces a sleep; a handoff must make its eventfd readable.
	waiters[0].PrepareWait()
	var v pkt.Vector
	fill(t, c1, &v, 200, 1)
	if got := sender.Send(c1, &v); got != 200 || v.Len != 0 {
		t.Fatalf("Send took %d, left %d", got, v.Len)
	}
	pfd := []unix.PollFd{{Fd: int32(waiters[0].PollFD()), Events: unix.POLLIN}}
	if n, _ := unix.Poll(pfd, 0); n != 1 {
		t.Fatal("the owner's wake-up is not readable after a handoff")
	}
	if len(q.Sent()) != 0 {
		t.Fatal("sent before the owner polled")
	}
	var rx pkt.Vector
	owner.Recv(c0, &rx)
	sent := q.TakeSent()
	if len(sent) != 200 {
		t.Fatalf("owner sent %d of 200 handed-over packets", len(sent))
	}
	for k, f := range sent {
		if f[0] != 1 || len(f) != 60 {
			t.Fatalf("frame %d: tag %d len %d", k, f[0], len(f))
		}
	}
	if st := owner.Stats(); st.TxPackets != 200 {
		t.Errorf("owner TxPackets = %d, want 200", st.TxPackets)
	}

	// A burst beyond the ring is dropped and counted, not lost silently.
	total := 0
	for range 20 {
		fill(t, c1, &v, pkt.VectorSize, 2)
		total += sender.Send(c1, &v)
	}
	if st := sender.Stats(); st.TxDrops != uint64(20*pkt.VectorSize-total) || st.TxDrops == 0 {
		t.Errorf("sender TxDrops = %d, handed %d of %d", st.TxDrops, total, 20*pkt.VectorSize)
	}
	owner.Recv(c0, &rx)
	if got := len(q.TakeSent()); got != total {
		t.Errorf("owner sent %d of %d", got, total)
	}
}

// TestShareTXSameQueuesUnwrapped: with a queue per worker nothing changes.
func TestShareTXSameQueuesUnwrapped(t *testing.T) {
	a, b := mem.NewPort(mem.Config{}), mem.NewPort(mem.Config{})
	ports, waiters, err := driver.ShareTX([]driver.Port{a, b}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if ports[0] != driver.Port(a) || ports[1] != driver.Port(b) || waiters[0] != nil || waiters[1] != nil {
		t.Fatalf("ports changed: %v %v", ports, waiters)
	}
}

// TestShareTXNoAllocs: a handoff and the owner's drain allocate nothing.
func TestShareTXNoAllocs(t *testing.T) {
	pool := pkttest.NewPool(t, 4096)
	c0, c1 := pool.NewCache(), pool.NewCache()
	q := &discardPort{}
	ports, _, err := driver.ShareTX([]driver.Port{q}, 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for w := len(ports) - 1; w >= 0; w-- {
			ports[w].Close(c0)
		}
		c0.Flush()
		c1.Flush()
	})
	var v, rx pkt.Vector
	allocs := testing.AllocsPerRun(100, func() {
		for k := 0; k < 64; k++ {
			i, _ := c1.Alloc()
			*c1.Arena().Meta(i) = pkt.Meta{Off: pkt.Headroom, Len: 60}
			v.Append(i)
		}
		ports[2].Send(c1, &v)
		ports[0].Recv(c0, &rx)
	})
	if allocs != 0 || q.sent != 101*64 {
		t.Errorf("%.1f allocations per handoff and drain; %d of %d sent", allocs, q.sent, 101*64)
	}
}

// discardPort sends by freeing, and counts.
type discardPort struct{ sent int }

func (p *discardPort) Recv(*pkt.Cache, *pkt.Vector) int { return 0 }
func (p *discardPort) Send(c *pkt.Cache, v *pkt.Vector) int {
	n := v.Len
	c.FreeN(v.Idx[:n])
	v.Reset()
	p.sent += n
	return n
}
func (p *discardPort) Stats() driver.Stats    { return driver.Stats{} }
func (p *discardPort) Close(*pkt.Cache) error { return nil }

// TestShareTXAcrossGoroutines runs a sender and the owner on their own
// goroutines, as two workers do: every packet handed over is sent once
// (run it with -race).
func TestShareTXAcrossGoroutines(t *testing.T) {
	pool := pkttest.NewPool(t, 8192)
	c0, c1 := pool.NewCache(), pool.NewCache()
	q := &discardPort{}
	ports, _, err := driver.ShareTX([]driver.Port{q}, 2)
	if err != nil {
		t.Fatal(err)
	}
	const total = 200000
	handed := make(chan int, 1)
	go func() {
		var v pkt.Vector
		n := 0
		for k := 0; k < total; k += 64 {
			for j := 0; j < 64; j++ {
				i, ok := c1.Alloc()
				if !ok {
					break
				}
				*c1.Arena().Meta(i) = pkt.Meta{Off: pkt.Headroom, Len: 60}
				v.Append(i)
			}
			n += ports[1].Send(c1, &v)
		}
		c1.Flush()
		handed <- n
	}()
	var rx pkt.Vector
	n := -1
	for n < 0 || q.sent < n {
		ports[0].Recv(c0, &rx)
		select {
		case n = <-handed:
		default:
		}
	}
	ports[0].Recv(c0, &rx)
	drops := int(ports[1].Stats().TxDrops)
	if q.sent != n || n+drops > total || n == 0 {
		t.Fatalf("handed %d, sent %d, dropped %d of %d", n, q.sent, drops, total)
	}
	for w := len(ports) - 1; w >= 0; w-- {
		ports[w].Close(c0)
	}
	c0.Flush()
}
