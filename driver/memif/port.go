package memif

import (
	"slices"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/pkt"
)

// Port is one queue of an Endpoint as a driver.Port for a vecnet worker:
// Recv copies frames from the peer's ring into arena buffers, Send copies
// packets onto the ring; on a zero-copy endpoint (Config.Pool) the ring's
// buffers are the arena's slots and nothing is copied. Neither allocates nor locks; one call per vector
// crosses into the shared rings, and each descriptor is bounds-checked
// once against the shared regions.
type Port struct {
	e    *Endpoint
	q    *Queue
	bufs [pkt.VectorSize][]byte
	lens [pkt.VectorSize]int
	// rc is the cache of the last zero-copy call and rec its recycler
	// (recycle.go), looked up when the cache changes, not per vector.
	rc  *pkt.Cache
	rec *recycler
}

// recycler returns c's recycler; pool is c's.
func (p *Port) recycler(c *pkt.Cache, pool *pkt.Pool) *recycler {
	if c != p.rc {
		p.dropRecycler()
		p.rc, p.rec = c, useRecycler(c, pool)
	}
	return p.rec
}

// Ports returns the endpoint's queues as ports, port q for worker q: the
// same ports at every call.
func (e *Endpoint) Ports() []*Port {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ports == nil {
		e.ports = make([]*Port, len(e.queues))
		for i, q := range e.queues {
			e.ports[i] = &Port{e: e, q: q}
		}
	}
	return slices.Clone(e.ports)
}

// Info describes the port's endpoint now: role, socket, state and peer.
func (p *Port) Info() string { return p.e.Info() }

// ChecksumsComplete reports true: a memif descriptor carries no offload
// metadata, so a peer cannot leave a TCP or UDP checksum partial for vecnet
// to finish (driver.ChecksumsCompleter).
func (p *Port) ChecksumsComplete() bool { return true }

// Endpoint returns the endpoint the port belongs to (for its state and
// peer).
func (p *Port) Endpoint() *Endpoint { return p.e }

// Queue returns the queue the port drives.
func (p *Port) Queue() *Queue { return p.q }

// Recv appends up to v.Free() received frames to v, each copied into a
// buffer from c at pkt.Headroom. Frames stay on the ring when c runs dry.
func (p *Port) Recv(c *pkt.Cache, v *pkt.Vector) int {
	q := p.q
	s := q.enter()
	if s == nil {
		return 0
	}
	if s.zc != nil {
		got := 0
		if c.Arena() == s.zc.arena { // else a caller's bug: the ring's slots are another pool's
			got = q.recvZC(s, c, p.recycler(c, s.zc.pool), v.Idx[v.Len:v.Len+v.Free()])
		}
		q.leave()
		v.Len += got
		return got
	}
	n := min(int(q.rxPending(s)), v.Free())
	if n == 0 {
		if s.client {
			q.refill(s) // the server may have reset the ring (DPDK does on connect)
		}
		q.leave()
		return 0
	}
	a := c.Arena()
	dst := v.Idx[v.Len : v.Len+n]
	n = c.AllocN(dst)
	if n == 0 {
		q.stats.RxDrops++ // counted once per starved call; frames wait on the ring
		q.leave()
		return 0
	}
	for k, i := range dst[:n] {
		p.bufs[k] = a.Slot(i)[pkt.Headroom:]
	}
	got := q.recv(s, p.bufs[:n], p.lens[:n])
	q.leave()
	for k, i := range dst[:got] {
		a.Meta(i).Len = uint16(p.lens[k])
	}
	if got < n {
		c.FreeN(dst[got:n])
	}
	v.Len += got
	return got
}

// Send copies every packet of v onto the transmit ring, frees them to c and
// empties v. Packets that find the ring full, or no peer, are counted in
// Stats.TxDrops.
func (p *Port) Send(c *pkt.Cache, v *pkt.Vector) int {
	idx := v.Idx[:v.Len]
	if s := p.q.enter(); s != nil {
		if s.zc != nil && c.Arena() == s.zc.arena {
			sent := p.q.sendZC(s, c, p.recycler(c, s.zc.pool), idx)
			p.q.leave()
			p.q.stats.TxDrops += uint64(len(idx) - sent)
			c.FreeN(idx[sent:])
			v.Reset()
			return sent
		}
		p.q.leave()
	}
	a := c.Arena()
	for k, i := range idx {
		p.bufs[k] = a.Data(i)
	}
	sent := p.q.Send(p.bufs[:len(idx)])
	p.q.stats.TxDrops += uint64(len(idx) - sent)
	clear(p.bufs[:len(idx)])
	c.FreeN(idx)
	v.Reset()
	return sent
}

// Stats returns the port's counters. Call it on the owning worker.
func (p *Port) Stats() driver.Stats { return p.q.Stats() }

// PollFD returns the queue's wake-up descriptor (see Queue.PollFD).
func (p *Port) PollFD() int { return p.q.PollFD() }

// PrepareWait unmasks the receive interrupt before the worker sleeps.
func (p *Port) PrepareWait() { p.q.PrepareWait() }

// Close drops the port; when it is the last of its worker's zero-copy
// ports, the slots they passed from transmit to receive rings and hold now
// go back to the pool (recycle.go). The endpoint's Close releases the
// rings (and returns the arena slots a zero-copy ring held to the pool).
func (p *Port) Close(c *pkt.Cache) error {
	p.dropRecycler()
	return nil
}

var (
	_ driver.Port   = (*Port)(nil)
	_ driver.Waiter = (*Port)(nil)
)
